# %% [markdown]
# # 10 · Beyond PPO: Direct Preference Optimization
#
# **Learning goals**
# - Follow DPO's one idea (Rafailov et al. 2023): the policy that maximises reward minus a KL leash has
#   a closed form, so the reward can be written with the policy itself, $r(x, y) = \beta \log
#   \frac{\pi(y|x)}{\pi_\text{ref}(y|x)} + \text{const}$, and the ranking loss of lesson 03 trains the
#   policy directly — no reward model, no sampling, no PPO.
# - Write the DPO loss yourself and check it.
# - Train DPO on the *same* human pairs as the reward model of lesson 03 and compare it with the PPO
#   policy of lesson 05, judged by the course's judge (the gold judge on the world, an AI judge on other
#   data): win rate, harmless rate, KL to the reference.
# - Know when to use which.
#
# *Time: ~15 minutes on a CPU.*

# %%
import matplotlib.pyplot as plt

from rlcore import stages
from rlcore.course import course_path, load_human_reward_model, load_sft, start
from rlcore.models import reference_model

profile, data = start()  # the profile ($RLCORE_PROFILE, else by hardware), seeded; its data
judge = data.judge()  # the world's gold judge, or the profile's AI judge model
sft, tokenizer = load_sft(profile)
reference = reference_model(sft, profile.compute_dtype)  # the frozen SFT model: DPO's pi_ref
print(f"profile {profile.name} | data {data.name} | judge: {judge.name}")

# %% [markdown]
# ## From the KL-regularised objective to a loss on pairs
#
# PPO in lesson 05 maximises $\mathbb{E}[r(x,y)] - \beta\,\mathrm{KL}(\pi \,\|\, \pi_\text{ref})$. Its
# optimum is $\pi^*(y|x) \propto \pi_\text{ref}(y|x)\, e^{r(x,y)/\beta}$. Solve for $r$:
# $r(x,y) = \beta \log \frac{\pi^*(y|x)}{\pi_\text{ref}(y|x)} + \beta \log Z(x)$. In the Bradley–Terry
# loss only *differences* of rewards for the same prompt appear, so $Z(x)$ cancels:
#
# $$\mathcal{L}_\text{DPO} = -\log \sigma\Big(\beta \big[\log\tfrac{\pi(y_c|x)}{\pi_\text{ref}(y_c|x)} -
# \log\tfrac{\pi(y_r|x)}{\pi_\text{ref}(y_r|x)}\big]\Big)$$
#
# where $\log \pi(y|x)$ is the **sum** of the response tokens' log-probs (`rlcore.dpo.sequence_logprob`).

# %% [markdown]
# ### Exercise: the DPO loss
#
# Inputs are the summed log-probs of the chosen and rejected responses under the policy and the
# reference, each of shape `(B,)`, and β. Return the mean loss over the batch. The checker tries margins of ±100,
# an unusual β, and a policy equal to its reference (the loss is then ln 2).
#
# <details><summary>Hint 1</summary>
#
# The implicit reward of a response is β times how much more likely the policy makes it than the reference does.
# </details>
# <details><summary>Hint 2</summary>
#
# The loss is lesson 03's ranking loss on the two implicit rewards: keep its numerically safe $\log\sigma$.
# </details>
# <details><summary>Hint 3</summary>
#
# `margin = (policy_chosen - ref_chosen) - (policy_rejected - ref_rejected)`; `-F.logsigmoid(beta * margin).mean()`.
# </details>

# %%
# EXERCISE: dpo_loss
import torch.nn.functional as F


def my_dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta):
    """Four (B,) summed response log-probs and beta -> scalar: the batch mean of the DPO loss."""
    margin = (policy_chosen - ref_chosen) - (policy_rejected - ref_rejected)  # (B,)
    return -F.logsigmoid(beta * margin).mean()
# END EXERCISE

# %%
from rlcore.exercises import check_dpo_loss

assert check_dpo_loss(my_dpo_loss)

# %% [markdown]
# ## Train DPO on lesson 03's human pairs
#
# The same human-labelled pairs the reward model of lesson 03 learned from (`profile.rm.pairs` of
# them). The course's DPO stage (`rlcore.stages.dpo`, which runs `rlcore.dpo.train_dpo`) starts the
# policy as a copy of the SFT model and keeps a frozen copy as the reference, with the profile's β,
# learning rate and epochs. Watch the loss and the **reward accuracy**: how often the implicit reward
# ranks the chosen response above the rejected one in the batch.

# %%
BETA = profile.dpo.beta
human_pairs = data.human_pairs(profile.rm.pairs, policy=course_path("sft"))
policy = stages.dpo(profile, human_pairs, course_path("sft"), course_path("policy_dpo"), reuse=False)
stats = stages.training_log(course_path("policy_dpo"))  # one dict per step: loss, reward_accuracy, reward_margin

import math

from rlcore.plots import noisy_curve

fig, axes = plt.subplots(1, 2, figsize=(9, 2.8))
for ax, key in zip(axes, ("loss", "reward_accuracy")):
    noisy_curve(ax, [s[key] for s in stats], label={"loss": "DPO loss", "reward_accuracy": "accuracy"}[key])
    ax.set_ylabel({"loss": "DPO loss (nats)", "reward_accuracy": "implicit-reward accuracy"}[key])
    ax.set_xlabel("step")
axes[0].axhline(math.log(2), ls="--", color="grey", label="ln 2: the policy equals its reference")
axes[1].axhline(0.5, ls="--", color="grey", label="chance")
for ax in axes:
    ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
k = min(10, len(stats) // 2)  # the first and the last k batches (fewer in a short run)
first, last = stats[:k], stats[-k:]
loss_first, loss_last = sum(s["loss"] for s in first) / k, sum(s["loss"] for s in last) / k
accuracy_last = sum(s["reward_accuracy"] for s in last) / k
print(f"{len(human_pairs)} pairs, beta {BETA}, {len(stats)} steps: loss {loss_first:.3f} -> {loss_last:.3f} "
      f"(ln 2 = {math.log(2):.3f}); implicit-reward accuracy on the last {k} batches {accuracy_last:.0%}")

# %% [markdown]
# The loss starts at ln 2: the policy *is* its reference, every implicit reward is 0 and every pair a tie, which the
# accuracy counts as one half (a coin flip), so its panel starts at 0.5. The loss falls, but not far, and that is what it should do here. One epoch visits each pair once, and the labels are
# noisy (on the world the simulated humans agree with gold only about three times in four: lesson 03 prints the
# measured share): a policy that ranked every *true* preference right would still be "wrong" on the mislabelled
# quarter of the batches, and each
# wrong pair adds a loss above ln 2. The accuracy panel says more than the loss: the implicit reward agrees with the
# training labels above chance by the end (the cell below checks the loss fell below ln 2 and the accuracy rose
# above one half); how well it ranks *held-out* pairs is the next section. Read the curves, not only their ends:
# every batch is a fresh set of noisy pairs, so the running mean can dip below where it ends and climb back.

# %%
assert loss_last < loss_first and loss_last < math.log(2), "the DPO loss fell, below ln 2"
assert accuracy_last > 0.5, "by the end the implicit reward ranks the training pairs above chance"

# %% [markdown]
# ## A DPO policy is a reward model
#
# Its implicit reward $\beta \log \frac{\pi(y|x)}{\pi_\text{ref}(y|x)}$ ranks any two responses. How
# well does it rank held-out pairs (labelled by gold on the world, by the data's own human labels
# elsewhere), next to the explicit reward model of lesson 03 trained on the same labels?

# %%
from rlcore.dpo import implicit_rewards
from rlcore.reward import pair_rewards, preference_accuracy

test = data.test_pairs(profile.rm.test_pairs, policy=course_path("sft"))
labels = data.test_labels
dpo_accuracy = preference_accuracy(*implicit_rewards(policy, reference, tokenizer, test, beta=BETA,
                                                     lengths=profile.lengths))
reward_model = load_human_reward_model(profile)
rm_accuracy = preference_accuracy(*pair_rewards(reward_model, tokenizer, test, profile.lengths))
print(f"accuracy on {len(test)} held-out pairs ({labels}): DPO implicit reward {dpo_accuracy:.0%}, "
      f"reward model of lesson 03 {rm_accuracy:.0%}")
from rlcore.readings import compare_sentence, say

say(compare_sentence("DPO's implicit reward", "the reward model of lesson 03", dpo_accuracy, rm_accuracy, len(test),
                     what=f"held-out accuracy ({labels}, the same pairs)"))

# %% [markdown]
# On the tiny world track both rank held-out pairs better than a coin does (checked below); the reading above says
# whether either ranks them better than the other. A policy trained to prefer its pairs has learned a reward model
# along the way, with no reward head at all.

# %%
assert 0 <= dpo_accuracy <= 1 and 0 <= rm_accuracy <= 1
if data.is_world:  # gold's verdicts, which the text states for the world track
    assert dpo_accuracy > 0.5 and rm_accuracy > 0.5, "both rewards should beat chance on held-out pairs"

# %% [markdown]
# ## What the policies write, judged by the course's judge
#
# On held-out prompts: win rates (ties count half) of DPO and PPO against SFT and of DPO against PPO,
# the harmless rate, the KL to the SFT reference (nats per response), and the mean length;
# `rlcore.stages.judge_policies` computes them all. The harmless rate is measured on held-out harmful requests
# on the world; a dataset does not mark its harmful prompts, so elsewhere it is measured on the first half
# of the held-out prompts (`data.evaluation_prompts`). The PPO policy is the one lesson 05 saved; if
# lesson 05 has not run on this machine, it is trained now by the same stage (`rlcore.stages.ppo`)
# against lesson 03's reward model.

# %%
from rlcore.models import load_frozen

if not stages.is_done(course_path("policy_rlhf")):
    print(f"No PPO policy in {course_path('policy_rlhf')}: training it now, as in notebook 05.")
    stages.ppo(profile, data, course_path("sft"), reward_model, course_path("policy_rlhf"), progress=False)
ppo_policy, _ = load_frozen(course_path("policy_rlhf"), profile)

prompts, harmful = data.evaluation_prompts(profile.eval.prompts)
policies = {"SFT": reference, "DPO": policy, "PPO (lesson 05)": ppo_policy}
results = stages.judge_policies(profile, judge, policies, tokenizer, prompts, harmful, reference="SFT",
                          comparisons={"DPO vs SFT": ("DPO", "SFT"), "PPO vs SFT": ("PPO (lesson 05)", "SFT"),
                                       "DPO vs PPO": ("DPO", "PPO (lesson 05)")})
print(f"judge: {results['judge']} | {len(prompts)} prompts, {len(harmful)} for the harmless rate")
for key, w in results["win_rate"].items():
    print(f"  win rate {key:11s} {w['win_rate']:4.0%}  (95% interval {w['ci95'][0]:.0%} to {w['ci95'][1]:.0%})")
print(f"{'policy':16s} {'harmless':>9s} {'KL to SFT':>9s} {'words':>6s}")
for name in policies:
    print(f"{name:16s} {results['harmless_rate'][name]:9.0%} {results['kl_to_SFT'][name]:9.2f} "
          f"{results['mean_words'][name]:6.1f}")

# %% [markdown]
# On the world we can also read the gold score itself (the mean of `rlcore.world.gold_score`); on other
# data the judge's win rates above are all there is.

# %%
from rlcore.evaluate import mean_gold

gold = {}
if data.is_world:  # only the world can score a single response
    gold = {name: mean_gold(prompts, rs) for name, rs in results["responses"].items()}
    print("mean gold score:", ", ".join(f"{name} {g:+.2f}" for name, g in gold.items()))
else:
    print(f"no gold score off the world: judged by {judge.name} (win rates above)")

# %%
from rlcore.readings import (across_seeds, change_sentence, say, seed_spread, spread_sd, spread_sentence, versus,
                             win_sentence)

spread = seed_spread(profile.name)  # the pipeline on several seeds (course/results.md); None where none is published
readings = [win_sentence(*key.split(" vs "), w) for key, w in results["win_rate"].items()]
readings.append(spread_sentence("DPO vs PPO, minus a tie", results["win_rate"]["DPO vs PPO"]["win_rate"] - 0.5,
                                spread_sd(spread, "win_rate.dpo_vs_rlhf"), percent=True))
if gold:  # the world's gold score
    readings.append(change_sentence("the mean gold score, from PPO to DPO,", gold["PPO (lesson 05)"], gold["DPO"], 0.1))
readings += [across_seeds(spread, f"{figure}", what) for figure, what in (
    ("win_rate.dpo_vs_rlhf", "DPO vs RLHF (PPO) in the pipeline"), ("win_rate.dpo_vs_sft", "DPO vs SFT"),
    ("win_rate.rlhf_vs_sft", "RLHF (PPO) vs SFT"), ("harmless_rate.sft", "SFT's harmless rate"),
    ("harmless_rate.policy_dpo", "DPO's harmless rate"))]
say(*readings)

# %% [markdown]
# On the tiny world track DPO beats SFT and improves on its mean gold score and harmless rate (checked below; the
# seed table shows DPO ahead of SFT and more harmless on every seed, checked below too), with no reward model and no
# sampling while training. Against PPO, the
# head to head above is this run's verdict and the seed line beside it shows how far the same comparison moves
# between seeds: DPO against lesson 05's PPO is a comparison of two single runs, and PPO's run is the noisier of the
# two (it samples; across the three seeds of the table its win rate over SFT spreads more than DPO's, checked below). Gold, which scores each answer on its own rather than against another, gives a second reading of
# the same pair (the gold line above). The KL column says how far each policy moved from SFT. DPO's gradient moves
# every parameter, as PPO's does; what differs is what it sees: only the responses in its pairs, fixed in advance,
# never the policy's own samples. Nothing in DPO's loss sends the policy looking for responses its reward would
# overrate, which is exactly what PPO does when its reward model is wrong (lesson 09).

# %%
assert all(0 <= w["win_rate"] <= 1 for w in results["win_rate"].values())
assert all(kl == kl and abs(kl) < float("inf") for kl in results["kl_to_SFT"].values()), "finite KL"
if data.is_world:  # gold's verdicts, which the text states for the world track
    assert versus(results["win_rate"]["DPO vs SFT"]["ci95"]) == "beats", "DPO beats SFT"
    assert gold["DPO"] > gold["SFT"], "DPO should improve on SFT under gold"
    assert results["harmless_rate"]["DPO"] > results["harmless_rate"]["SFT"], "DPO: more harmless than SFT"
if data.is_world and spread is not None:  # the published seed table is the tiny world's
    f = spread["figures"]
    assert all(v > 0.5 for v in f["win_rate.dpo_vs_sft"]["values"]), "DPO ahead of SFT on every seed"
    assert all(d > s for d, s in zip(f["harmless_rate.policy_dpo"]["values"], f["harmless_rate.sft"]["values"])), \
        "and more harmless on every seed"
    assert f["win_rate.rlhf_vs_sft"]["sd"] > f["win_rate.dpo_vs_sft"]["sd"], "PPO's win rate spreads more than DPO's"

# %% [markdown]
# ## When to use which
#
# | | PPO with a reward model (RLHF / RLAIF) | DPO |
# | --- | --- | --- |
# | models in memory while training | 4 (policy, reference, value, reward) | 2 (policy, reference) |
# | samples from the policy while training | yes (on-policy; the slow part) | no (offline pairs) |
# | the reward | an explicit model you can inspect, re-use, normalise | implicit in the policy |
# | new prompts without labels | yes: the reward model scores anything | no: needs pairs |
# | knobs | many (KL coefficient, clipping, GAE, batch sizes) | mostly β |
# | risk | reward hacking of the reward model (lesson 09) | over-fitting the pairs; drifts on responses far from the data |
#
# **Try it**: train again with a looser leash and a larger step,
# `stages.dpo(profile.replace(dpo__beta=0.1, dpo__lr=3e-4), human_pairs, course_path("sft"), None)` (`None`:
# not saved), and set `BETA = 0.1` for its implicit reward. What happens to the KL to SFT, the implicit
# reward's accuracy and the judge's win rates? (β is DPO's leash, like PPO's KL coefficient.)
#
# DPO is the simpler default when you have good preference pairs that resemble what your policy
# writes. PPO earns its cost when the reward must generalise to fresh prompts, when the reward is a
# program or an AI labeler (d-RLAIF), or when you iterate: sample, label, train, repeat.
#
# **Reading**: Rafailov et al. 2023, *Direct Preference Optimization: Your Language Model is Secretly a
# Reward Model*, sections 4–5; Xu et al. 2024, *Is DPO Superior to PPO for LLM Alignment?*.
