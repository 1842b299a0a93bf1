# %% [markdown]
# # 08 · RLAIF vs RLHF: the Lee et al. table in miniature
#
# **Learning goals**
# - Replace the human labels of lesson 03 with AI labels from the labeler of lesson 06, and run the
#   same PPO as lesson 05: that is RLAIF (Lee et al. 2023).
# - Compare SFT, RLHF and RLAIF on held-out prompts with the course's judge (gold on the world, an AI
#   judge on any other data): win rates with 95% intervals, head to head, harmless rates, and on the
#   world per scenario (benign, harmful, emotional support, sensitive, summaries).
# - Read the result next to the paper's: RLAIF vs SFT 71%, RLHF vs SFT 73%, RLAIF vs RLHF 50%;
#   harmless rate SFT 64%, RLHF 76%, RLAIF 88%.
#
# *Time: ~20 minutes on a CPU.*

# %%
import math

from rlcore import stages
from rlcore.course import course_path, load_human_reward_model, load_sft, start

profile, data = start()  # the profile ($RLCORE_PROFILE, else by hardware), seeded; its data
judge = data.judge()  # the world's gold judge, or the profile's AI judge model
sft, tokenizer = load_sft(profile)
print(f"profile {profile.name} | data {data.name} | judge: {judge.name}")

# %% [markdown]
# ## AI labels for the pairs the humans labelled
#
# Lesson 03's reward model learned from `profile.rm.pairs` human labels (simulated humans on the world,
# the dataset's own labels elsewhere). Here the AI labeler labels the very same comparisons: soft
# labels, both orders averaged (lesson 06). First by hand on three of them, then all of them with the
# course's AI-label stage (`rlcore.stages.ai_labels`, which the pipeline runs too).

# %%
from rlcore.labeler import AILabeler
from rlcore.models import load_frozen

labeler_model, labeler_tokenizer = load_frozen(profile.labeler_model, profile)
labeler = AILabeler(labeler_model, labeler_tokenizer, swap=True, seed=profile.seed)
for prompt, a, b in data.comparisons(profile.rm.pairs, policy=course_path("sft"))[:3]:
    print(f"...{prompt.strip()[-70:]!r}\n   a: {a.strip()[:70]!r}\n   b: {b.strip()[:70]!r}\n"
          f"   P(a is better) = {labeler.prefer(prompt, a, b):.2f}")

# %%
ai_pairs = stages.ai_labels(profile, data, course_path("ai_labels.json"), reuse=False, policy=course_path("sft"))
human_pairs = data.human_pairs(profile.rm.pairs, policy=course_path("sft"))  # the same comparisons, in the same order
same = sum(h["chosen"] == a["chosen"] for h, a in zip(human_pairs, ai_pairs, strict=True)) / len(ai_pairs)
print(f"{len(ai_pairs)} comparisons: the AI labeler and the humans pick the same response in {same:.0%}")
print("an AI label:", {k: (v[-40:] if isinstance(v, str) else v) for k, v in ai_pairs[0].items()})

# %%
if data.is_world:  # the world's gold judge says which label is right
    from rlcore import world

    def gold_agreement(pairs):
        return sum(world.gold_score(r["prompt"], r["chosen"]) > world.gold_score(r["prompt"], r["rejected"])
                   for r in pairs) / len(pairs)

    label_gold = {"simulated humans": gold_agreement(human_pairs), "AI labeler": gold_agreement(ai_pairs)}
    print(f"labels that agree with gold: simulated humans {label_gold['simulated humans']:.0%}, "
          f"AI labeler {label_gold['AI labeler']:.0%}")
else:  # no gold: the labeler against the dataset's held-out human labels
    held_out = data.test_pairs(profile.rm.test_pairs, policy=course_path("sft"))
    p = labeler.prefer_batch([x.prompt for x in held_out], [x.chosen for x in held_out],
                             [x.rejected for x in held_out])["p"]
    print(f"the AI labeler agrees with the human label on {(p > 0.5).float().mean().item():.0%} of "
          f"{len(held_out)} held-out pairs")

# %% [markdown]
# ## A reward model on AI labels
#
# Same body, same head, same training as lesson 03 (the course's reward-model stage), but the loss uses
# the *soft* label: $-[p \log\sigma(r_a - r_b) + (1-p)\log\sigma(r_b - r_a)]$
# (`rlcore.reward.soft_ranking_loss`, `soft_labels=True`). The stage then normalises the reward on the
# SFT model's own samples, as lesson 05 did step by step, so one KL coefficient fits both reward models.
# Both are measured on held-out pairs: labelled by gold on the world, by the dataset's humans elsewhere.

# %%
from rlcore.reward import pair_rewards, preference_accuracy

rm_human = load_human_reward_model(profile)  # lesson 03's, made now if missing

# %%
rm_ai = stages.reward_model(profile, data, ai_pairs, course_path("sft"), course_path("rm_ai"), soft_labels=True,
                            reuse=False)

# %%
test_pairs = data.test_pairs(profile.rm.test_pairs, policy=course_path("sft"))
rm_accuracy = {name: preference_accuracy(*pair_rewards(rm, tokenizer, test_pairs, profile.lengths))
               for name, rm in (("human labels", rm_human), ("AI labels", rm_ai))}
print(f"reward-model accuracy on {len(test_pairs)} held-out pairs "
      f"({data.test_labels}):", ", ".join(f"{k} {v:.0%}" for k, v in rm_accuracy.items()))

# %% [markdown]
# ## PPO on each reward model
#
# The RLHF policy is the one lesson 05 trained (trained now, by the same stage call, if it is missing).
# The RLAIF policy gets exactly the same PPO stage: same SFT start, same prompts, same settings; only the
# reward model differs.

# %%
import matplotlib.pyplot as plt

from rlcore.plots import ppo_curves

if not stages.is_done(course_path("policy_rlhf")):
    print(f"No RLHF policy in {course_path('policy_rlhf')}: training it now, as in notebook 05.")
rlhf, rlhf_history = stages.ppo(profile, data, course_path("sft"), rm_human, course_path("policy_rlhf"))

# %%
rlaif, rlaif_history = stages.ppo(profile, data, course_path("sft"), rm_ai, course_path("policy_rlaif"),
                                  reuse=False)
_ = ppo_curves({"RLHF": rlhf_history, "RLAIF": rlaif_history}, keys=("score", "kl", "entropy", "response_length"))
plt.show()  # the figure first, its readings under it

from rlcore.readings import change_sentence, noise_tolerance, say


def quarters(history, key):
    """(mean over the first quarter of the run, mean over the last quarter) of one statistic."""
    k = max(1, len(history) // 4)
    return sum(h[key] for h in history[:k]) / k, sum(h[key] for h in history[-k:]) / k


# each tolerance: at least the stated one, and at least what the curve's own noise moves a quarter's mean by
say(*(change_sentence(f"{name}'s {what}", *quarters(history, key),
                      noise_tolerance([h[key] for h in history], max(1, len(history) // 4), tol), unit=unit,
                      digits=digits)
      for name, history in (("RLHF", rlhf_history), ("RLAIF", rlaif_history))
      for key, what, tol, unit, digits in (("entropy", "entropy", 0.05, " nats/token", 2),
                                           ("response_length", "response length", 1.0, " tokens", 1))))

# %% [markdown]
# The entropy panel is the diagnostic of lesson 05: how much choice each policy has left per token. Neither run has
# an entropy bonus; the KL to the reference is what keeps them from collapsing. The length panel is worth a second
# look: the reward model trained on AI labels may like longer answers more than the one trained on human labels, and
# PPO would follow. The section "Is it just length?" below asks whether length is what the judge rewards.

# %% [markdown]
# ## The table
#
# All three policies answer the same `profile.eval.prompts` held-out prompts (and half as many harmful
# requests), and the judge compares every pair: `rlcore.stages.evaluation`, the very stage that computes every
# number of the pipeline's report (here on the test split only). A win rate counts ties as one half.

# %%
from rlcore.plots import harmless_rates, win_rates

prompts, harmful = data.evaluation_prompts(profile.eval.prompts)  # the prompts the stage judges on
policies = {"sft": sft, "policy_rlhf": rlhf, "policy_rlaif": rlaif}
comparisons = {"RLHF vs SFT": ("policy_rlhf", "sft"), "RLAIF vs SFT": ("policy_rlaif", "sft"),
               "RLAIF vs RLHF": ("policy_rlaif", "policy_rlhf")}
table, by_split = stages.evaluation(profile, data, policies, tokenizer, comparisons, test_pairs, ("test",), judge)
responses, harmless = by_split["test"], table["harmless_rate"]
wins = {name: table["win_rate"][name] for name in comparisons}  # (the world adds its ceiling, "best_vs_sft")
print(f"judged by {table['judge']} on {len(prompts)} held-out prompts ({len(harmful)} for the harmless rate)\n")
# Lee et al. 2023's figures, each from its own task: win rates on Reddit TL;DR summaries (their Table 1, judged by
# people), harmless rates on Anthropic's harmless dialogues (their harmless-dialogue results).
paper = {"RLHF vs SFT": 0.73, "RLAIF vs SFT": 0.71, "RLAIF vs RLHF": 0.50}
print(f"{'comparison':14s} {'win rate':>9s} {'95% interval':>14s} {'Lee et al., TL;DR summaries':>28s}")
for name, w in wins.items():
    print(f"{name:14s} {w['win_rate']:9.0%} {w['ci95'][0]:7.0%}-{w['ci95'][1]:.0%} {paper[name]:28.0%}")
print()
paper_harmless = {"sft": 0.64, "policy_rlhf": 0.76, "policy_rlaif": 0.88}
print(f"{'policy':13s} {'harmless':>8s} {'Lee et al., harmless dialogue':>30s} {'KL to SFT':>9s} {'words':>6s}")
for n in policies:
    print(f"{n:13s} {harmless[n]:8.0%} {paper_harmless[n]:30.0%} {table['kl_to_sft'][n]:9.2f} "
          f"{table['mean_words'][n]:6.1f}")
_ = win_rates(wins)
_ = harmless_rates({"SFT": harmless["sft"], "RLHF": harmless["policy_rlhf"], "RLAIF": harmless["policy_rlaif"]},
                   n=len(harmful))

# %%
from rlcore.readings import across_seeds, say, seed_spread, spread_sd, spread_sentence, trend, versus, win_sentence

KL_TOLERANCE = 0.25  # nats: two KLs closer than this read as equal
spread = seed_spread(profile.name)  # the pipeline on several seeds (course/results.md); None where none is published
kl_word = {"rises": "further from SFT than RLHF", "falls": "closer to SFT than RLHF", "holds": "as far from SFT as RLHF"}[
    trend(table["kl_to_sft"]["policy_rlhf"], table["kl_to_sft"]["policy_rlaif"], KL_TOLERANCE)]
say(*(win_sentence(*name.split(" vs "), w) for name, w in wins.items()),
    spread_sentence("RLAIF vs RLHF, minus a tie", wins["RLAIF vs RLHF"]["win_rate"] - 0.5,
                    spread_sd(spread, "win_rate.rlaif_vs_rlhf"), percent=True),
    f"RLAIF ends **{kl_word}**: KL {table['kl_to_sft']['policy_rlaif']:.2f} against "
    f"{table['kl_to_sft']['policy_rlhf']:.2f} nats (within ±{KL_TOLERANCE} reads as equal).")
say(*(across_seeds(spread, f"win_rate.{key}", name) for key, name in (
    ("rlhf_vs_sft", "RLHF vs SFT"), ("rlaif_vs_sft", "RLAIF vs SFT"), ("rlaif_vs_rlhf", "RLAIF vs RLHF"))))

# %%
assert all(math.isfinite(h["kl"]) for h in rlhf_history + rlaif_history), "the KL stayed finite"
assert all(0 <= w["ci95"][0] <= w["win_rate"] <= w["ci95"][1] <= 1 for w in wins.values()), "rates and intervals"
if data.is_world:  # the gold judge on the tiny world track
    assert harmless["policy_rlaif"] > harmless["sft"], "RLAIF is more harmless than SFT"
    assert harmless["policy_rlhf"] > harmless["sft"], "RLHF is more harmless than SFT"
    assert versus(wins["RLAIF vs SFT"]["ci95"]) == "beats", "RLAIF beats SFT"
    assert versus(wins["RLAIF vs RLHF"]["ci95"]) != "loses to", "RLAIF does not lose to RLHF"
    assert abs(label_gold["AI labeler"] - label_gold["simulated humans"]) < 0.05, "the labels agree with gold alike"
if data.is_world and spread is not None:  # the published seed table is the tiny world's
    f = spread["figures"]
    assert all(v > 0.5 for v in f["win_rate.rlaif_vs_rlhf"]["values"]), "RLAIF ahead of RLHF on every seed"
    assert all(v > 0.5 for v in f["win_rate.rlaif_vs_sft"]["values"]), "RLAIF ahead of SFT on every seed"
    assert all(min(f[f"harmless_rate.{n}"]["values"][i] for n in ("policy_rlhf", "policy_rlaif"))
               > f["harmless_rate.sft"]["values"][i] + 0.3 for i in range(len(spread["seeds"]))), \
        "both far more harmless than SFT on every seed"
    assert all(a > h for a, h in zip(f["rm_ai_test_accuracy"]["values"], f["rm_human_test_accuracy"]["values"])), \
        "the AI-label reward model ranks held-out pairs better on every seed"

# %% [markdown]
# Reading the table beside the paper's columns, which come from two different tasks of Lee et al. (win rates on
# Reddit summaries judged by people, harmless rates on Anthropic's harmless dialogues). On the tiny world track both
# policies are far more harmless than SFT, and RLAIF beats SFT (checked above; on every seed of the table both
# policies are far more harmless than SFT and RLAIF is ahead of SFT, checked above too). RLHF's win rate over SFT moves with the seed (its reading and its seed line). Head to head, this course's RLAIF comes
# out ahead of RLHF on every seed of the table, where the paper found about 50% (checked above): a finding of this
# world, and the measurements before the table say why. The two sets of labels agree with gold about equally often
# (checked above), but the reward model trained on the AI labeler's *soft* labels ranks held-out pairs better than
# the one trained on the humans' hard choices, on every seed (checked above). A likely reason, which this lesson does
# not isolate (a reward model trained on the AI labels rounded to hard choices would): a soft label carries the
# labeler's confidence, and a pair it is unsure about pulls the reward model only a little, where a coin-flip human
# label pulls it all the way. PPO then exploits whatever its reward model gets wrong, and the worse reward model has more to
# exploit; the refusals section below shows the shape that takes. Read the two KLs as well: the policies were trained
# with the same leash but end at different distances from SFT (the KL reading), so the head to head compares
# policies that moved different amounts, not two labelings at one budget.
# The trained policies' harmless rates run higher than the paper's (checked below) because the world's harmful
# requests are plain ones, easy to recognise and to refuse; the paper's red-team prompts are not. SFT's runs lower
# than the paper's SFT (checked below too): ours imitated helpful demonstrations only, and on the world's harmful
# requests a helpful answer is a harmful one.

# %%
if data.is_world:  # the gold judge on the tiny world track, against the paper's column
    assert all(harmless[n] > paper_harmless[n] for n in ("policy_rlhf", "policy_rlaif")), "trained: above the paper's"
    assert harmless["sft"] < paper_harmless["sft"], "SFT: below the paper's"

# %% [markdown]
# ## Per scenario
#
# Lee et al. break results down by task. On the world our families play that role: where does each
# kind of feedback help, and where not? Real data names no scenarios; the split the course can make
# there is the prompts the harmless rate uses (the first half) against the rest.

# %%
from rlcore.evaluate import win_rate
from rlcore.readings import share_interval

if data.is_world:  # the stage's per-scenario table: only the world names scenarios
    rows = table["per_scenario"]
    print(f"{'scenario':10s} {'n':>4s} {'RLHF vs SFT':>12s} {'RLAIF vs SFT':>13s} {'gold SFT':>9s} {'RLHF':>6s} "
          f"{'RLAIF':>6s}   (gold judge)")
    for family, row in rows.items():
        print(f"{family:10s} {row['n']:4d} {row['policy_rlhf_vs_sft']:12.0%} {row['policy_rlaif_vs_sft']:13.0%} "
              f"{row['gold_sft']:+9.2f} {row['gold_policy_rlhf']:+6.2f} {row['gold_policy_rlaif']:+6.2f}")
    half_widths = [(hi - lo) / 2 for row in rows.values() for key in ("policy_rlhf_vs_sft", "policy_rlaif_vs_sft")
                   for lo, hi in [share_interval(row[key], row["n"])]]
    say(f"Rows of {min(r['n'] for r in rows.values())} to {max(r['n'] for r in rows.values())} prompts: their win "
        f"rates carry 95% intervals of ±{100 * min(half_widths):.0f} to ±{100 * max(half_widths):.0f} points.")
else:
    print(f"{'prompts':20s} {'n':>4s} {'RLHF vs SFT':>12s} {'RLAIF vs SFT':>13s}   ({judge.name})")
    for part, idx in (("harmless-rate half", range(len(harmful))), ("the rest", range(len(harmful), len(prompts)))):
        if idx:
            sub = [prompts[i] for i in idx]
            rates = [win_rate(sub, [responses[n][i] for i in idx], [responses["sft"][i] for i in idx], judge)
                     for n in ("policy_rlhf", "policy_rlaif")]
            print(f"{part:20s} {len(idx):4d} {rates[0]['win_rate']:12.0%} {rates[1]['win_rate']:13.0%}")

# %%
from rlcore.readings import deciding_digits, spread_sd_of_difference

GOLD_TOLERANCE = 0.1  # a family's mean gold change within +-0.1 reads as holding
if data.is_world:  # gold per family, and the labels' agreement with gold per family: only the world has either
    gains = {n: {f: row[f"gold_{n}"] - row["gold_sft"] for f, row in rows.items()} for n in ("policy_rlhf", "policy_rlaif")}
    family_words = {n: {f: trend(0.0, g, GOLD_TOLERANCE) for f, g in gains[n].items()} for n in gains}
    say(*(f"{label}'s gold, per family (within ±{GOLD_TOLERANCE} reads as holding): "
          + "; ".join(f"**{family_words[n][f]}** on {f} ({gains[n][f]:+.{deciding_digits(gains[n][f], GOLD_TOLERANCE)}f})"
                      for f in rows) + "."
          for n, label in (("policy_rlhf", "RLHF"), ("policy_rlaif", "RLAIF"))),
        spread_sentence("RLHF's gold change on emotional support", gains["policy_rlhf"]["emotional"],
                        spread_sd_of_difference(spread, "per_scenario.emotional.gold_policy_rlhf",
                                                "per_scenario.emotional.gold_sft")))

    def family_agreement(pairs):  # per family: how often a set of labels picks the response gold prefers
        right = {}
        for r in pairs:
            ok = world.gold_score(r["prompt"], r["chosen"]) > world.gold_score(r["prompt"], r["rejected"])
            right.setdefault(world.parse_prompt(r["prompt"]).family, []).append(ok)
        return {f: sum(v) / len(v) for f, v in sorted(right.items())}

    agreement = {"simulated humans": family_agreement(human_pairs), "AI labeler": family_agreement(ai_pairs)}
    print(f"{'labels agree with gold':24s} " + " ".join(f"{f:>9s}" for f in agreement["AI labeler"]))
    for who, by_family in agreement.items():
        print(f"{who:24s} " + " ".join(f"{v:9.0%}" for v in by_family.values()))

# %% [markdown]
# The largest gains, for both policies, are on harmful requests, where a refusal replaces instructions (the table's
# gold columns; the largest gain checked below, for this run and for every seed of the published table). Elsewhere,
# in this run, the two part ways, and the per-family readings above say where gold rose, held and fell; other seeds
# differ. When one policy's gold falls on a family, look at two things. The last table: how often each set of labels
# picks the answer gold prefers, family by family (a reward model learns the labels' mistakes along with their
# signal, and PPO finds them); where the two sets agree with gold about equally often, as they do here, the labels
# alone do not explain a fall. And refusals: a policy can lose a family it was never rewarded for, by refusing
# requests there that needed no refusal (the next section counts them). A row's win rate carries a wide interval (the line under the
# table), so read the rows' win rates as questions; the spread line above says whether RLHF's gold
# change on emotional support is larger than the seed alone moves it.

# %%
if data.is_world:  # gold's verdicts, which the text states for the world track
    assert all(max(g, key=g.get) == "harmful" for g in gains.values()), "both gain most on harmful requests"
if data.is_world and spread is not None:  # the published seed table is the tiny world's
    f, seeds = spread["figures"], range(len(spread["seeds"]))
    for n in ("policy_rlhf", "policy_rlaif"):
        per_seed = [{fam: f[f"per_scenario.{fam}.gold_{n}"]["values"][i] - f[f"per_scenario.{fam}.gold_sft"]["values"][i]
                     for fam in rows} for i in seeds]
        assert all(max(g, key=g.get) == "harmful" for g in per_seed), "and so on every seed of the table"

# %% [markdown]
# ## Where does a policy lose? Refusals
#
# A policy can become "harmless" by refusing everything. The gold judge penalises refusing a harmless
# request (its over-refusal component); a labeler or a reward model that leans towards caution would teach
# PPO to refuse more, and PPO finds such leanings in a reward model. Count how often each policy refuses: on the world, the requests that are not harmful; on real
# data, which does not say which requests are harmful, every held-out prompt.

# %%
REFUSALS = ("can't help", "cannot help", "won't help", "not able to help", "can't assist", "cannot assist")


def refuses(response):
    return any(marker in response.lower() for marker in REFUSALS)


if data.is_world:  # only the world says which held-out prompts are harmless requests
    asked, what = [i for i, p in enumerate(prompts) if not world.is_harmful_prompt(p)], "harmless requests"
else:
    asked, what = list(range(len(prompts))), "held-out prompts"
refusal_rate = {n: sum(refuses(responses[n][i]) for i in asked) / len(asked) for n in policies}
for n in policies:
    print(f"{n:13s} refuses {refusal_rate[n]:5.0%} of {len(asked)} {what}")
say(*(change_sentence(f"{label}'s refusal rate on {what}, from SFT's,", refusal_rate["sft"], refusal_rate[n], 0.05,
                      percent=True) for n, label in (("policy_rlhf", "RLHF"), ("policy_rlaif", "RLAIF"))))

# %% [markdown]
# Read the two refusal readings beside the per-family table. A policy whose refusal rate on harmless requests holds
# near SFT's found the harmful family's refusal and little else to refuse. A policy whose refusal rate rises has
# learned the lesson too well: its reward model scores a refusal highly wherever it appears, and PPO spends it on
# requests that needed an answer. That is where such a policy's win rate goes, family by family (the benign family
# holds most of the harmless requests), and it is the over-refusal the gold judge penalises. Lesson 09 shows the
# same mechanism with no leash at all.

# %% [markdown]
# ## Is it just length?
#
# Lee et al. check that RLAIF does not win by writing longer answers. Compare the length of the
# winning and the losing response in the RLAIF-vs-RLHF comparison, as the judge decides it.

# %%
verdict = judge.prefer(prompts, responses["policy_rlaif"], responses["policy_rlhf"])  # P(RLAIF's is better)
pairs = list(zip(responses["policy_rlaif"], responses["policy_rlhf"]))
print(judge.name)
words = {}
for name, group in (("RLAIF wins", [ab for ab, v in zip(pairs, verdict.tolist()) if v > 0.5]),
                    ("RLHF wins", [ab for ab, v in zip(pairs, verdict.tolist()) if v < 0.5])):
    if group:
        words[name] = (sum(len(a.split()) for a, _ in group) / len(group), sum(len(b.split()) for _, b in group) / len(group))
        print(f"{name}: {len(group):3d} prompts, words RLAIF {words[name][0]:.1f}, RLHF {words[name][1]:.1f}")
if len(words) == 2:
    shown = {k: (round(a, 1), round(b, 1)) for k, (a, b) in words.items()}  # the figures printed above

    def longer(x, y):  # "8.6 words longer" / "1.2 words shorter", from the printed figures
        return f"{abs(x - y):.1f} words {'longer' if x >= y else 'shorter'}"

    say(f"RLAIF's answer is **{longer(*shown['RLAIF wins'])}** than RLHF's where RLAIF wins and "
        f"**{longer(*shown['RLHF wins'])}** where RLHF wins; RLAIF's winning answers are "
        f"{longer(shown['RLAIF wins'][0], shown['RLHF wins'][0])} than its losing ones.")

# %% [markdown]
# On the tiny world track RLAIF writes longer answers than RLHF on average (the table's words column), and it does so
# where it loses as well as where it wins (both checked below): a longer answer does not by itself win, so length
# alone does not explain RLAIF's wins. Its winning answers are a few words longer than its losing ones (the reading
# above), so length may go with what gold rewards without being it: the gold judge scores content, with a penalty
# only for rambling.

# %%
if data.is_world and len(words) == 2:  # gold's verdicts, which the text states for the world track
    assert all(rlaif > rlhf for rlaif, rlhf in words.values()), "RLAIF's answer is longer where it wins and loses alike"
    assert words["RLAIF wins"][0] > words["RLHF wins"][0], "RLAIF's winning answers are longer than its losing ones"
    assert table["mean_words"]["policy_rlaif"] > table["mean_words"]["policy_rlhf"], "RLAIF writes longer answers"

# %% [markdown]
# ## Reading the numbers
#
# - Compare the label agreements and the two reward-model accuracies: if they are close, that is the
#   miniature version of Lee et al.'s finding that AI labels can stand in for human ones. Close
#   accuracy is not the same reward, though: *which* pairs each reward model gets wrong decides what
#   PPO learns (the per-scenario table above).
# - Win rates move run to run; look at the intervals before reading a difference. The head-to-head
#   is the comparison the paper cares about: is it inside the interval around 50%?
# - Off the world the judge is a language model: it has its own tastes, and must not be the labeler
#   whose labels trained RLAIF's reward model (it would flatter RLAIF).
# - The whole experiment is one command: `rlcore pipeline --profile tiny --out runs/pipeline` (add
#   `--data FILE` for your own preference data) writes this table, with a hybrid reward model and DPO
#   beside it, and PNG plots to `report.md`.
#
# **Reading**: Lee et al. 2023, *RLAIF: Scaling Reinforcement Learning from Human Feedback with AI
# Feedback*, sections 4–5 (results, position bias, length).
