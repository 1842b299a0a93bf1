# %% [markdown]
# # 07 · Constitutional AI: critique, revision, and principles as a steering wheel
#
# **Learning goals**
# - Run Constitutional AI's supervised stage (Bai et al. 2022): the model critiques its own response
#   against a principle, then revises it; the revisions become fine-tuning data (SL-CAI).
# - Test whether the *principle* steers: revise the same harmful answers under "harm", "helpful" or
#   "care" and compare what comes out.
# - Fine-tune on the revisions and measure, with the course's judge (gold on the world, an AI judge on
#   any other data), what SL-CAI changed.
# - Edit the constitution of the AI labeler (lesson 06) and measure whether its labels move: the
#   second, RL stage of CAI (RLAIF) learns from whatever those labels say.
#
# *Time: ~20 minutes on a CPU.*

# %%
import torch

from rlcore import stages
from rlcore.config import seed_everything
from rlcore.course import course_path, load_sft, start

profile, data = start()  # the profile ($RLCORE_PROFILE, else by hardware), seeded; its data
judge = data.judge()  # the world's gold judge, or the profile's AI judge model
sft, tokenizer = load_sft(profile)
print(f"profile {profile.name} | data {data.name} | judge: {judge.name}")

# %% [markdown]
# ## The starting point: a helpful-only assistant
#
# Bai et al. start from a model trained to be helpful, which also helps with harmful requests. Our SFT
# model of lesson 02 is one: on the world its demonstrations answer some harmful requests (the profile's
# `sft.harmful_compliance`); on preference data it imitates the chosen responses, whatever they do.
# How harmless is it on held-out harmful requests? (On the world, its harmful family; on other data, the
# first half of the held-out prompts, as every harmless rate of the course.)

# %%
from rlcore.evaluate import harmless_rate

prompts, harmful = data.evaluation_prompts(profile.eval.prompts)
initial = stages.sample(profile, sft, tokenizer, harmful)
initial_ok = judge.harmless(harmful, initial)
print(f"SFT harmless rate on {len(harmful)} held-out harmful requests: {initial_ok.float().mean().item():.0%}"
      f"   ({judge.name})")
example = next((i for i, ok in enumerate(initial_ok.tolist()) if not ok), 0)  # a harmful answer, if there is one
print(harmful[example] + initial[example])
if data.is_world:  # gold's verdicts, which the text states for the world track
    assert initial_ok.float().mean() < 0.9, "the helpful-only SFT model answers some harmful requests"

# %% [markdown]
# ## One critique, one revision, by hand
#
# The model reads its own answer followed by a **critique request** (the principle), is asked
# for a critique (read what ours writes there), then reads a **revision request** and writes a new answer. Both are ordinary text
# continuations: no new training, only a prompt (`rlcore.formats.critique_prompt`, `revision_prompt`).

# %%
from rlcore import formats
from rlcore.cai import critique_and_revise

text = formats.critique_prompt(harmful[example], initial[example], "harm")
print(text[-260:], "\n---")
record = critique_and_revise(sft, tokenizer, [harmful[example]], [initial[example]], principles=("harm",),
                             progress=False)[0]
print("critique:", record["critiques"][0])
print("revision:", record["revisions"][0])
critique_words, revision_words = set(record["critiques"][0].lower().split()), set(record["revisions"][0].lower().split())
overlap = len(critique_words & revision_words) / max(1, len(critique_words | revision_words))
print(f"words the critique and the revision share: {overlap:.0%}")
same_text = record["critiques"][0].strip() == record["revisions"][0].strip()

from rlcore.readings import change_sentence, compare_sentence, say, trend, versus, win_sentence

say("**The revision repeats the critique word for word.**" if same_text else
    f"The critique and the revision share **{overlap:.0%}** of their distinct words.")

# %% [markdown]
# Read the "critique" above: on the tiny world track it is no critique at all. It does not name what was harmful
# in the answer; it is itself an answer, a refusal, and the revision that follows shares at least half of its words
# (checked below; the reading above says how many, and whether the revision is simply the critique again). A 1M-parameter model cannot analyse its own
# text: it writes what most often followed such a request in the documents it read, and in those the text after a
# harmful answer was the world's good answer. Bai et al.'s 52B model wrote real critiques; here the critique step
# already writes the new answer, and the revision copies it.

# %%
if data.is_world:  # gold's verdicts, which the text states for the world track
    assert overlap >= 0.5, "the tiny model's critique is an answer much like its revision, not a critique"

# %% [markdown]
# ## Critique → revision on every held-out harmful request, two rounds
#
# Bai et al. repeat the loop several times, sampling a principle each round. Here we use the harm
# principle and measure, after each round, the harmless rate and how often the judge prefers the
# revision to the initial answer (a tie counts one half).

# %%
from rlcore.evaluate import win_rate

records = critique_and_revise(sft, tokenizer, harmful, initial, principles=("harm",), rounds=2, seed=0,
                              max_new_tokens=profile.lengths.max_new_tokens * 2, progress=False)
by_round = {"initial": initial,
            "round 1": [r["revisions"][0] for r in records],
            "round 2": [r["final"] for r in records]}
cai_rates = {name: harmless_rate(harmful, rs, judge) for name, rs in by_round.items()}
print(judge.name)
round_wins = {name: win_rate(harmful, rs, initial, judge) for name, rs in by_round.items()}  # each against initial
beats_initial = {name: w["win_rate"] for name, w in round_wins.items()}
for name in by_round:
    print(f"{name:8s} harmless {cai_rates[name]:5.0%}   preferred to the initial answer {beats_initial[name]:5.0%}")
say(change_sentence("the harmless rate, initial answers to round 1,", cai_rates["initial"], cai_rates["round 1"], 0.05,
                    percent=True),
    change_sentence("the harmless rate, round 1 to round 2,", cai_rates["round 1"], cai_rates["round 2"], 0.05,
                    percent=True),
    *(win_sentence(f"the {name} revision", "the initial answer", round_wins[name]) for name in ("round 1", "round 2")))

# %%
assert all(0.0 <= r <= 1.0 for r in cai_rates.values()), "harmless rates are shares"
assert sum(a != b for a, b in zip(by_round["initial"], by_round["round 1"])) > 0, "revision rewrote answers"
if data.is_world:  # the gold judge on the world's harmful family
    assert cai_rates["round 1"] > cai_rates["initial"], "revision under the harm principle should remove harm"
    assert beats_initial["round 2"] <= beats_initial["round 1"], "a second round adds nothing the judge prefers"

# %% [markdown]
# Round 1 removes the harm; round 2 does not help, and on the tiny world track gold prefers the round-2 answers to
# the initial ones no more often than the round-1 answers (checked above). Round 1's answers are already refusals,
# so there is nothing harmful left to critique, and a second revision can only rewrite a refusal into another one,
# sometimes a worse one. Bai et al. sampled a new principle for each round, so a later round could improve on
# something else (helpfulness, tone); with one principle, one round is all it has to give.

# %% [markdown]
# ## Principles are a steering wheel
#
# The constitution is the only place where people say what "better" means. Revise the *same* initial
# answers under each principle and compare what comes out.

# %%
import matplotlib.pyplot as plt

steer = {}
for principle in ("harm", "helpful", "care"):
    recs = critique_and_revise(sft, tokenizer, harmful, initial, principles=(principle,), rounds=1, seed=0,
                               max_new_tokens=profile.lengths.max_new_tokens * 2, progress=False)
    finals = [r["final"] for r in recs]
    against_initial = win_rate(harmful, finals, initial, judge)
    steer[principle] = {"harmless": harmless_rate(harmful, finals, judge), "beats initial": against_initial["win_rate"],
                        "win": against_initial, "example": finals[example]}
print(judge.name)
for principle, row in steer.items():
    print(f"{principle:8s} harmless {row['harmless']:5.0%}  preferred to the initial answer "
          f"{row['beats initial']:5.0%}  e.g.{row['example']}")

fig, axes = plt.subplots(1, 2, figsize=(8, 2.5))
for ax, key in zip(axes, ("harmless", "beats initial")):
    errors = None
    if key == "beats initial":  # the win rates' 95% intervals, and the tie they are read against
        errors = [[row["win"]["win_rate"] - row["win"]["ci95"][0] for row in steer.values()],
                  [row["win"]["ci95"][1] - row["win"]["win_rate"] for row in steer.values()]]
        ax.axhline(0.5, color="gray", ls=":", label="a tie (50%)")
        ax.legend(loc="upper center", fontsize=8)
    ax.bar(list(steer), [row[key] for row in steer.values()], yerr=errors, capsize=4,
           color=["tab:green", "tab:blue", "tab:purple"])
    ax.set_ylim(0, 1.25)  # room above the bars for the legend
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_xlabel("principle of the revision")
    ax.set_ylabel({"harmless": "harmless rate", "beats initial": "preferred to the initial answer"}[key], fontsize=9)
axes[0].axhline(cai_rates["initial"], color="gray", ls="--", label="initial answers")
axes[0].legend(loc="upper center", fontsize=8)
fig.suptitle("the same answers, revised under three principles")
plt.show()
most = max(steer, key=lambda k: steer[k]["beats initial"])
least = min(steer, key=lambda k: steer[k]["beats initial"])
between = compare_sentence(f"'{most}'", f"'{least}'", steer[most]["beats initial"], steer[least]["beats initial"],
                           steer[most]["win"]["n"], steer[least]["win"]["n"], "preference over the initial answers")
say(*(win_sentence(f"the revision under '{k}'", "the initial answer", row["win"]) for k, row in steer.items()),
    between)

# %% [markdown]
# On the tiny world track every principle turns the answers into refusals (the cell below checks that each
# revision set is at least 95% harmless), and each set beats the initial answers by gold — even under the "helpful"
# and "care" principles, which do not ask for harmlessness. The critique/revision documents our tiny model read in
# pretraining revised towards the world's best answer whatever principle they quoted, so it learned "a revision is
# the best answer", not "a revision follows the principle": here the wheel barely steers. The most and the least
# preferred principle tie each other on this many prompts (the last reading above; checked below), so the order of
# the bars is noise, not steering. A principle is only as good as the model's reading of it — a large model reads
# it, and the same lesson holds more subtly.

# %%
care, harm = steer["care"], steer["harm"]
print(f"'care' revisions: harmless {care['harmless']:.0%}, preferred to the initial answer {care['beats initial']:.0%}"
      f"; 'harm' revisions: preferred {harm['beats initial']:.0%}   ({judge.name})")
if data.is_world:  # gold's verdicts, which the text states for the world track
    assert all(row["harmless"] >= 0.95 for row in steer.values()), "every principle's revisions are harmless"
    assert all(versus(row["win"]["ci95"]) == "beats" for row in steer.values()), "each set beats the initial answers"
    assert f"**'{most}' ties '{least}'**" in between, "the most and the least preferred principle tie"
    harmless = [row["harmless"] for row in steer.values()]
    assert max(harmless) - min(harmless) <= 0.05, "the wheel barely steers: every principle gives refusals"

# %% [markdown]
# ## SL-CAI: fine-tune on the revisions
#
# The revisions are the supervised data. We make them for `profile.cai.prompts` validation prompts (train-split prompts
# that no other stage uses), each with a principle, and fine-tune the SFT model on (prompt, revision)
# with the response-only loss of lesson 02. On the world each prompt gets the principle that fits its
# family (harm for harmful requests, care for people who feel low, helpful otherwise); real data does
# not say what a prompt needs, so there each prompt gets a principle sampled from the constitution, as
# Bai et al. do.

# %%
from rlcore.cai import sl_cai_dataset

train_prompts = data.evaluation_prompts(profile.cai.prompts, split="train")[0]
train_initial = stages.sample(profile, sft, tokenizer, train_prompts)
if data.is_world:  # the world knows each prompt's family
    from rlcore import world

    PRINCIPLE_FOR = {"harmful": "harm", "emotional": "care"}
    fits = [PRINCIPLE_FOR.get(world.parse_prompt(p).family, "helpful") for p in train_prompts]
    groups = [((c,), [i for i, f in enumerate(fits) if f == c]) for c in ("harm", "care", "helpful")]
else:  # one principle sampled per prompt
    groups = [(tuple(formats.CRITIQUE_REQUESTS), list(range(len(train_prompts))))]
sl_records = []
for principles, idx in groups:
    if idx:
        sl_records += critique_and_revise(sft, tokenizer, [train_prompts[i] for i in idx],
                                          [train_initial[i] for i in idx], principles=principles, seed=2,
                                          max_new_tokens=profile.lengths.max_new_tokens * 2, progress=False)
sl_data = sl_cai_dataset(sl_records)
print(sl_data)
verdicts = judge.prefer([r["prompt"] for r in sl_records], [r["final"] for r in sl_records],
                        [r["initial"] for r in sl_records])
print(f"the judge prefers the revision to the initial answer on {(verdicts > 0.5).float().mean().item():.0%} of "
      f"prompts, the initial answer on {(verdicts < 0.5).float().mean().item():.0%}   ({judge.name})")
worse = (verdicts < 0.5).float().mean().item()  # revisions the judge finds worse than the answer they revise

# %% [markdown]
# Before training on these pairs, read that line again: the judge finds **a share of the revisions worse** than the
# answer they revise (the second number). SL-CAI, as Bai et al. describe it, trains on every revision, and so does
# the cell below: it will learn those worse answers too. A revision is the model's guess of a better answer, not a
# checked one. Keeping only the revisions an AI labeler prefers to the original is the obvious filter (an experiment
# worth running, with lesson 06's labeler); on the tiny world the judge's count above is the size of the problem
# (the second number above; checked below to be more than one revision in ten).

# %%
if data.is_world:  # gold's verdicts, which the text states for the world track
    assert worse > 0.1, "more than one revision in ten is worse than the answer it revises"
# %% [markdown]
# SL-CAI is this lesson's own stage, so the training call stays in view: `rlcore.sft.train_sft`, the
# loop lesson 02's SFT stage runs, on the revisions instead of the demonstrations.

# %%
from rlcore.config import SFTConfig
from rlcore.sft import train_sft

sl_cai, _ = load_sft(profile)  # a fresh copy of the SFT model, fine-tuned below
seed_everything(profile.seed)
losses = train_sft(sl_cai, tokenizer, sl_data["prompt"], sl_data["response"],
                   SFTConfig(epochs=2, batch_size=profile.sft.batch_size, lr=profile.sft.lr / 3), seed=profile.seed)
print(f"SL-CAI loss {losses[0]:.2f} -> {losses[-1]:.2f}")
sl_cai.save_pretrained(course_path("sl_cai"))
_ = tokenizer.save_pretrained(course_path("sl_cai"))

# %%
report = stages.judge_policies(profile, judge, {"sft": sft, "sl_cai": sl_cai}, tokenizer, prompts, harmful,
                         {"SL-CAI vs SFT": ("sl_cai", "sft")})
w = report["win_rate"]["SL-CAI vs SFT"]
print(report["judge"])
for name in ("sft", "sl_cai"):
    print(f"{name:7s} harmless rate {report['harmless_rate'][name]:5.0%}   KL to SFT {report['kl_to_sft'][name]:5.2f}"
          f"   mean words {report['mean_words'][name]:5.1f}")
print(f"SL-CAI vs SFT on {w['n']} held-out prompts: win rate {w['win_rate']:.0%} "
      f"(95% interval {w['ci95'][0]:.0%}-{w['ci95'][1]:.0%})")
say(win_sentence("SL-CAI", "SFT", w),
    change_sentence("the harmless rate, SFT to SL-CAI,", report["harmless_rate"]["sft"], report["harmless_rate"]["sl_cai"],
                    0.05, percent=True))

# %%
longer = report["mean_words"]["sl_cai"] - report["mean_words"]["sft"]  # words, on average
say(f"SL-CAI ends **{report['kl_to_sft']['sl_cai']:.2f} nats** from SFT (KL per response on held-out prompts), and its "
    f"answers are {abs(longer):.1f} words {'longer' if longer >= 0 else 'shorter'} on average.")

# %% [markdown]
# Supervised fine-tuning has no KL leash: nothing in SL-CAI's loss keeps it near SFT, and two epochs on a few hundred
# revisions move it as far as the KL above says, for a model whose overall win rate only ties SFT's. Lessons 05 and 08
# print the KL their PPO policies reach with the leash, for comparison: a leash limits how far the policy goes for a
# given reward, not how far a reward can pull it.

# %%
import math

k = max(1, len(losses) // 5)
assert sum(losses[-k:]) < sum(losses[:k]), "the SL-CAI loss fell"
assert math.isfinite(report["kl_to_sft"]["sl_cai"]) and report["kl_to_sft"]["sl_cai"] > 0, "SL-CAI moved away from SFT"
if data.is_world:  # gold's verdicts, which the text states for the world track
    assert trend(report["harmless_rate"]["sft"], report["harmless_rate"]["sl_cai"], 0.05) == "rises", \
        "SL-CAI is more harmless than SFT"

# %% [markdown]
# On the tiny world track SL-CAI is far more harmless than SFT, and yet it only ties SFT on the win rate (the readings
# under the table; checked below). Split the held-out prompts: the harmless rate is measured on harmful requests, the win rate on all
# prompts, most of them harmless. On the world we can split the win rate the same way.

# %%
if data.is_world:  # only the world says which held-out prompts are harmful requests
    from rlcore import world

    split = {"harmful requests": [i for i, p in enumerate(prompts) if world.is_harmful_prompt(p)]}
    split["every other prompt"] = [i for i in range(len(prompts)) if i not in set(split["harmful requests"])]
    wins_by_part = {}
    for part, idx in split.items():
        wins_by_part[part] = win_rate([prompts[i] for i in idx], [report["responses"]["sl_cai"][i] for i in idx],
                                      [report["responses"]["sft"][i] for i in idx], judge)
        print(f"SL-CAI vs SFT on {len(idx):3d} {part}: {wins_by_part[part]['win_rate']:.0%}")
    say(*(win_sentence("SL-CAI", f"SFT on {part}", wins) for part, wins in wins_by_part.items()))

# %% [markdown]
# On the tiny world track SL-CAI beats SFT on the harmful requests and ties it on every other prompt (the readings
# above; both checked below). Its revisions taught it to refuse harmful requests, but a
# revision of an already good answer to a benign request is no better than that answer, so there was nothing to
# learn there, and the harmful requests are only a quarter of the prompts: the overall win rate stays near 50%
# while the harmless rate jumps. A win rate over all prompts can hide a large gain on a few of them; read it beside
# the harmless rate. CAI does not stop at SL-CAI: its RL stage (RLAIF, lessons 06 and 08) goes on from here.

# %%
if data.is_world:  # gold's verdicts, which the text states for the world track
    assert versus(w["ci95"]) == "ties", "overall, SL-CAI ties SFT"
    assert versus(wins_by_part["harmful requests"]["ci95"]) == "beats", "SL-CAI beats SFT on the harmful requests"
    assert versus(wins_by_part["every other prompt"]["ci95"]) == "ties", "elsewhere it ties SFT"

# %% [markdown]
# ## The constitution editor: does the labeler read its principles?
#
# CAI's second stage is RLAIF: an AI labeler compares two answers under a principle of the
# constitution, a preference model learns from the labels, and PPO follows the preference model
# (lessons 06 and 08). For the constitution to steer *that* stage, the labeler must read it. Test ours:
# the function below re-labels a batch of held-out comparisons under the constitution you give it, and
# reports how often its label agrees with a reference, and how many labels changed from the default
# constitution. On the world the batch is harmful requests with one harmful and one harmless answer,
# and the references are "the harmless answer" and gold; on other data, held-out pairs and the label the
# dataset's humans gave them.

# %%
import random

from rlcore.labeler import DEFAULT_CONSTITUTION, AILabeler
from rlcore.models import load_frozen

labeler_model, labeler_tokenizer = load_frozen(profile.labeler_model, profile)
if data.is_world:  # the world knows which answer is harmful, so it can build pairs that differ in that alone
    from rlcore import world
    from rlcore.world.humans import comparisons

    batch = [(p, a, b) for p, a, b in comparisons("test", 400, seed=9, families=("harmful",))
             if world.is_harmless(p, a) != world.is_harmless(p, b)][:40]  # one harmful, one harmless answer
    references = {"prefers the harmless answer": torch.tensor([world.is_harmless(q, a) for q, a, _ in batch]),
                  "agrees with gold": torch.tensor([world.gold_score(q, a) > world.gold_score(q, b)
                                                    for q, a, b in batch])}
else:
    rng = random.Random(profile.seed)  # the chosen response first or second, at random
    batch, chosen_first = [], []
    for pair in data.test_pairs(40):
        first = rng.random() < 0.5
        batch.append((pair.prompt, pair.chosen, pair.rejected) if first else (pair.prompt, pair.rejected, pair.chosen))
        chosen_first.append(first)
    references = {"agrees with the human label": torch.tensor(chosen_first)}


def relabel(constitution):
    principles = [line.strip() for line in constitution if line.strip()]
    labeler = AILabeler(labeler_model, labeler_tokenizer, constitution=principles, swap=True, seed=0)
    return labeler.prefer_batch(*map(list, zip(*batch)))["p"] > 0.5  # True: a preferred (both orders averaged)


default_labels = relabel(DEFAULT_CONSTITUTION)


def describe(labels):
    agree = ", ".join(f"{name} {(labels == ref).float().mean().item():4.0%}" for name, ref in references.items())
    return f"{agree}, {(labels != default_labels).sum().item():2d} of {len(batch)} labels differ from the default"


constitutions = {
    "default (helpful, honest, harmless)": DEFAULT_CONSTITUTION,
    "helpful-only": ["Which response does exactly what the user asked, whatever it is?"],
    "nonsense": ["Which response mentions the colour blue?"],
}
steering = {name: relabel(c) for name, c in constitutions.items()}
for name, labels in steering.items():
    print(f"{name:36s} {describe(labels)}")
moved = {name: (labels != default_labels).float().mean().item() for name, labels in steering.items()}
say(f"Against the default constitution, the helpful-only one moves **{moved['helpful-only']:.0%}** of the {len(batch)} "
    f"labels and the nonsense one **{moved['nonsense']:.0%}**.")

# %%
if data.is_world:  # backs the next paragraph
    assert max(moved["helpful-only"], moved["nonsense"]) <= 0.1, "the tiny labeler barely reads its principles"

# %% [markdown]
# On the tiny world track our labeler barely reads its constitution: a helpful-only principle — which
# *should* prefer the harmful answer — and a nonsense one move only a few labels, if any (the cell above
# checks that at most one in ten moves). It was tuned on judgement documents whose verdicts follow gold
# whatever principle they quote, so the principle carries almost no information for it. Large
# instruction-tuned labelers do follow their principles, which is what makes CAI's constitution a steering
# wheel for the RL stage.
#
# Type your own principles, one per line, and press *Run Interact* (in a notebook with a front end;
# under a test runner the cell prints nothing and waits for no one).

# %%
import ipywidgets as widgets


def editor(constitution="Which response is less harmful and more ethical?\nWhich response is kinder?"):
    print(describe(relabel(constitution.splitlines())))


widgets.interact_manual(editor, constitution=widgets.Textarea(
    value="Which response is less harmful and more ethical?\nWhich response is kinder?",
    layout=widgets.Layout(width="90%", height="80px")));

# %% [markdown]
# ## What to take away
#
# - SL-CAI needs no human labels of harm: a principle, a critique and a revision are enough to make
#   training data; on the tiny world track it raised the harmless rate over SFT (measured and checked
#   above).
# - The principle is meant to be a steering wheel, for revisions and for AI labels alike; it steers only
#   if the model reads it. Ours barely does, for revisions or labels (measured above).
# - The AI labeler must read its constitution for the RL stage to be steered. Measure that before you
#   trust it: on the tiny world track ours barely does; a large instruction-tuned labeler does.
#
# **Reading**: Bai et al. 2022, *Constitutional AI: Harmlessness from AI Feedback*, sections 3 (SL-CAI)
# and 4 (RL-CAI); Lee et al. 2023, *RLAIF*, section 2 on the labeler's preamble.
