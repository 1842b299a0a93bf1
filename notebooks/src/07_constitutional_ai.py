# %% [markdown]
# # 07 · Constitutional AI: critique, revision, and principles as a steering wheel
#
# **Learning goals**
# - Run Constitutional AI's supervised stage (Bai et al. 2022): the model critiques its own response
#   against a principle, then revises it; the revisions become fine-tuning data (SL-CAI).
# - See that the *principle* steers: the same harmful answer revised under "harm", "helpful" or
#   "care" turns into three different answers.
# - Fine-tune on the revisions and measure, with the gold judge, what SL-CAI changed.
# - Edit the constitution of the AI labeler (lesson 06) and measure whether its labels move: the
#   second, RL stage of CAI (RLAIF) learns from whatever those labels say.
#
# *Time: ~20 minutes on a CPU.*

# %%
import torch

from rlcore import world
from rlcore.config import get_profile, seed_everything
from rlcore.course import load_sft

profile = get_profile()
seed_everything(profile.seed)
sft, tokenizer = load_sft(profile)
print("profile:", profile.name)

# %% [markdown]
# ## The starting point: a helpful-only assistant
#
# Bai et al. start from a model trained to be helpful, which also helps with harmful requests. Our SFT
# model of lesson 02 is one: its demonstrations answer some harmful requests (the profile's
# `sft_harmful_compliance`). How harmless is it on held-out harmful requests?

# %%
from rlcore.evaluate import harmless_rate, mean_gold, sample_responses

harmful = world.prompts("test", 100, seed=0, families=("harmful",))
initial = sample_responses(sft, tokenizer, harmful, max_new_tokens=profile.max_new_tokens, seed=0)
print(f"SFT harmless rate on {len(harmful)} held-out harmful requests: {harmless_rate(harmful, initial):.0%}")
example = next(i for i, (p, r) in enumerate(zip(harmful, initial)) if not world.is_harmless(p, r))
print(harmful[example] + initial[example])

# %% [markdown]
# ## One critique, one revision, by hand
#
# The model reads its own answer followed by a **critique request** (the principle), writes a
# critique, then reads a **revision request** and writes a new answer. Both are ordinary text
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

# %% [markdown]
# ## Critique → revision on every held-out harmful request, two rounds
#
# Bai et al. repeat the loop several times, sampling a principle each round. Here we use the harm
# principle and measure the gold harmless rate and the mean gold score after each round.

# %%
records = critique_and_revise(sft, tokenizer, harmful, initial, principles=("harm",), rounds=2, seed=0,
                              max_new_tokens=profile.max_new_tokens * 2, progress=False)
stages = {"initial": initial,
          "round 1": [r["revisions"][0] for r in records],
          "round 2": [r["final"] for r in records]}
cai_rates = {name: harmless_rate(harmful, rs) for name, rs in stages.items()}
for name, rs in stages.items():
    print(f"{name:8s} harmless {cai_rates[name]:5.0%}   mean gold {mean_gold(harmful, rs):+.2f}")

# %%
assert cai_rates["round 1"] > cai_rates["initial"], "revision under the harm principle should remove harm"

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
                               max_new_tokens=profile.max_new_tokens * 2, progress=False)
    finals = [r["final"] for r in recs]
    steer[principle] = {"harmless": harmless_rate(harmful, finals), "gold": mean_gold(harmful, finals),
                        "example": finals[example]}
for principle, row in steer.items():
    print(f"{principle:8s} harmless {row['harmless']:5.0%}  mean gold {row['gold']:+.2f}  e.g.{row['example']}")

fig, ax = plt.subplots(figsize=(5, 2.5))
ax.bar(list(steer), [row["gold"] for row in steer.values()], color=["tab:green", "tab:blue", "tab:purple"])
ax.axhline(mean_gold(harmful, initial), color="gray", ls="--", label="initial answers")
ax.set_ylabel("mean gold score")
ax.set_title("the same answers, revised under three principles")
ax.legend()
plt.show()

# %% [markdown]
# The "care" principle answers a request for harm with comfort for a lonely person: harmless, but not
# an answer (gold gives it nothing for helpfulness). The critique/revision documents our tiny model
# read in pretraining used "care" for people who feel low, so that is what it writes. A principle is
# only as good as the model's reading of it — with a large model the same lesson holds, more subtly.

# %% [markdown]
# ## SL-CAI: fine-tune on the revisions
#
# The revisions are the supervised data. We make them for *train-split* prompts of every family, each
# with the principle that fits it (harm for harmful requests, care for people who feel low, helpful
# otherwise), and fine-tune the SFT model on (prompt, revision) with the response-only loss of lesson 02.

# %%
from rlcore.cai import sl_cai_dataset
from rlcore.sft import train_sft

PRINCIPLE_FOR = {"harmful": "harm", "emotional": "care"}
train_prompts = world.prompts("train", 400, seed=7)
train_initial = sample_responses(sft, tokenizer, train_prompts, max_new_tokens=profile.max_new_tokens, seed=1)
sl_records = []
for principle in ("harm", "care", "helpful"):
    idx = [i for i, p in enumerate(train_prompts)
           if PRINCIPLE_FOR.get(world.parse_prompt(p).family, "helpful") == principle]
    sl_records += critique_and_revise(sft, tokenizer, [train_prompts[i] for i in idx],
                                      [train_initial[i] for i in idx], principles=(principle,), seed=2,
                                      max_new_tokens=profile.max_new_tokens * 2, progress=False)
sl_data = sl_cai_dataset(sl_records)
print(sl_data)
gain = [world.gold_score(r["prompt"], r["final"]) - world.gold_score(r["prompt"], r["initial"]) for r in sl_records]
print(f"revisions beat the initial answers on gold in {sum(g > 0 for g in gain) / len(gain):.0%} of prompts, "
      f"lose in {sum(g < 0 for g in gain) / len(gain):.0%}")

# %%
sl_cai, _ = load_sft(profile)  # a fresh copy of the SFT model, fine-tuned below
seed_everything(profile.seed)
losses = train_sft(sl_cai, tokenizer, sl_data["prompt"], sl_data["response"], epochs=2,
                   batch_size=profile.sft_batch_size, lr=profile.sft_lr / 3, seed=profile.seed, progress=True)
print(f"SL-CAI loss {losses[0]:.2f} -> {losses[-1]:.2f}")

# %%
mixed = world.prompts("test", 200, seed=4)
report = {}
for name, model in (("SFT", sft), ("SL-CAI", sl_cai)):
    on_harmful = sample_responses(model, tokenizer, harmful, max_new_tokens=profile.max_new_tokens, seed=0)
    on_mixed = sample_responses(model, tokenizer, mixed, max_new_tokens=profile.max_new_tokens, seed=0)
    report[name] = {"harmless": harmless_rate(harmful, on_harmful), "gold": mean_gold(mixed, on_mixed)}
    print(f"{name:7s} harmless rate {report[name]['harmless']:5.0%}   mean gold on 200 held-out prompts "
          f"{report[name]['gold']:+.2f}")
import os

from rlcore.course import COURSE_DIR

sl_cai.save_pretrained(os.path.join(COURSE_DIR, "sl_cai"))
_ = tokenizer.save_pretrained(os.path.join(COURSE_DIR, "sl_cai"))

# %%
assert report["SL-CAI"]["harmless"] > report["SFT"]["harmless"], "SL-CAI should be more harmless than SFT"

# %% [markdown]
# ## The constitution editor: does the labeler read its principles?
#
# CAI's second stage is RLAIF: an AI labeler compares two answers under a principle of the
# constitution, a preference model learns from the labels, and PPO follows the preference model
# (lessons 06 and 08). For the constitution to steer *that* stage, the labeler must read it. Test ours:
# the function below re-labels a batch of held-out harmful comparisons (one harmful answer, one
# harmless) under the constitution you give it, and reports how often the label prefers the harmless
# answer, how often it agrees with gold, and how many labels changed from the default constitution.

# %%
from rlcore.labeler import DEFAULT_CONSTITUTION, AILabeler
from rlcore.models import load_base
from rlcore.world.humans import comparisons

labeler_model, labeler_tokenizer = load_base(profile.labeler_model)
batch = [(p, a, b) for p, a, b in comparisons("test", 120, seed=9, families=("harmful",))
         if world.is_harmless(p, a) != world.is_harmless(p, b)][:40]  # one harmful, one harmless answer
harmless_first = torch.tensor([world.is_harmless(q, a) for q, a, _ in batch])
gold_first = torch.tensor([world.gold_score(q, a) > world.gold_score(q, b) for q, a, b in batch])


def relabel(constitution):
    principles = [line.strip() for line in constitution if line.strip()]
    labeler = AILabeler(labeler_model, labeler_tokenizer, constitution=principles, swap=True, seed=0)
    return labeler.prefer_batch(*map(list, zip(*batch)))["p"] > 0.5  # True: a preferred (both orders averaged)


default_labels = relabel(DEFAULT_CONSTITUTION)


def describe(labels):
    return (f"prefers the harmless answer {(labels == harmless_first).float().mean().item():4.0%}, "
            f"agrees with gold {(labels == gold_first).float().mean().item():4.0%}, "
            f"{(labels != default_labels).sum().item():2d} of {len(batch)} labels differ from the default")


constitutions = {
    "default (helpful, honest, harmless)": DEFAULT_CONSTITUTION,
    "helpful-only": ["Which response does exactly what the user asked, whatever it is?"],
    "nonsense": ["Which response mentions the colour blue?"],
}
steering = {name: relabel(c) for name, c in constitutions.items()}
for name, labels in steering.items():
    print(f"{name:36s} {describe(labels)}")

# %% [markdown]
# Our tiny labeler barely reads its constitution: a helpful-only principle — which *should* prefer the
# harmful answer — and a nonsense one move only a few labels. It learned to judge from comments in
# its pretraining text whose verdicts follow the same taste whatever principle they quote, so the
# principle carries almost no information for it. (We tried teaching it to follow a helpful-only and a
# "shorter" principle with extra training text; a few hundred examples did not move it.) Large
# instruction-tuned labelers do follow their principles, which is what makes CAI's constitution a
# steering wheel for the RL stage; the critique → revision step above shows the same wheel at work in
# our model, because its revision requests *were* principle-specific in its training text.
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
#   training data that moves the gold harmless rate (measured above).
# - The principle is a steering wheel, for revisions and for AI labels alike; a careless principle
#   ("care" for a harmful request, "do what was asked") steers somewhere you did not mean to go.
# - The AI labeler must read its constitution for the RL stage to be steered. Measure that before you
#   trust it: ours does not, a large instruction-tuned labeler does.
#
# **Reading**: Bai et al. 2022, *Constitutional AI: Harmlessness from AI Feedback*, sections 3 (SL-CAI)
# and 4 (RL-CAI); Lee et al. 2023, *RLAIF*, section 2 on the labeler's preamble.
