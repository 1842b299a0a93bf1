# %% [markdown]
# # 05 · RLHF end to end
#
# **Learning goals**
# - Put the pieces of lessons 02–04 together: the SFT policy, a frozen copy as the reference, a value
#   model, and the reward model trained on human labels (simulated humans on the world, the dataset's
#   own labels on preference data).
# - Follow one PPO iteration through its steps, then run PPO and *watch* it: the reward model's score,
#   the KL to the reference, and the KL coefficient that holds it on a leash.
# - Measure what changed with a judge, on held-out prompts: win rate against SFT, harmless rate,
#   samples before and after. On the world the judge is gold; on any other data it is an AI judge.
#
# *Time: ~15 minutes on a CPU.*

# %%
import math

from rlcore import stages
from rlcore.course import course_path, load_human_reward_model, load_sft, start

profile, data = start()  # the profile ($RLCORE_PROFILE, else by hardware), seeded; its data
judge = data.judge()  # the world's gold judge, or the profile's AI judge model
sft, tokenizer = load_sft(profile)  # lesson 02's model (made now if missing)
reward_model = load_human_reward_model(profile)  # lesson 03's reward model, human labels (made now if missing)
print(f"profile {profile.name} | data {data.name} | judge: {judge.name}")

# %% [markdown]
# ## Four models
#
# | model | role | trained? |
# | --- | --- | --- |
# | policy $\pi_\theta$ | writes the responses | yes (PPO) |
# | reference $\pi_\text{ref}$ | the SFT model, frozen: the KL leash is measured against it | no |
# | value model $V$ | predicts the return, for GAE's advantages | yes |
# | reward model $r$ | scores a whole response | no (lesson 03) |
#
# ## Normalising the reward
#
# Rewards should start near mean 0, std 1, so that one KL coefficient means the same thing for every
# reward model. The reward model is measured on the SFT model's own samples and normalised (as Ziegler
# et al. 2019 do). The reward-model stage (`rlcore.stages.reward_model`) already did this when it
# saved the model; here are its steps again, one by one: sample, score with the raw head, take the
# mean and the std, subtract and divide.

# %%
import copy

norm_prompts = data.normalisation_prompts(profile.rm.normalisation_prompts)  # train prompts, as the stage drew them
norm_responses = stages.sample(profile, sft, tokenizer, norm_prompts)  # seeded as the stage samples them
raw_model = copy.deepcopy(reward_model)
raw_model.reward_mean.zero_()  # undo the stored normalisation: the head's raw output
raw_model.reward_std.fill_(1.0)
raw = raw_model.score(tokenizer, norm_prompts, norm_responses, profile.lengths)  # (N,), as PPO scores
mean, std = raw.mean().item(), raw.std().item()
normalised = (raw - mean) / std
print(f"{len(norm_prompts)} SFT samples. raw reward: mean {mean:+.2f}, std {std:.2f}")
print(f"stored by the stage:        mean {reward_model.reward_mean.item():+.2f}, std {reward_model.reward_std.item():.2f}")
print(f"(raw - mean) / std:         mean {normalised.mean().item():+.2f}, std {normalised.std().item():.2f}")
del raw_model

# %%
assert abs(mean - reward_model.reward_mean.item()) < 0.05 * std, "the stage normalised on the same samples"
assert abs(std / reward_model.reward_std.item() - 1) < 0.05

# %% [markdown]
# ## One PPO iteration, step by step
#
# `PPOTrainer.step` (in `rlcore/ppo.py`, read it top to bottom) does, for one batch of prompts:
#
# 1. **roll out**: the policy samples a response to each prompt (cut after the first EOS);
# 2. **score**: log-probs under the policy and the reference, values, and the reward model's score;
# 3. **per-token rewards**: $-\beta\,\mathrm{KL}_t$ on every token, the score added on the last one;
# 4. **advantages** with GAE (lesson 04), whitened;
# 5. **optimise**: a few epochs over minibatches of the clipped policy loss and the clipped value loss;
# 6. **statistics**, then the adaptive KL controller moves $\beta$.
#
# One iteration on a copy of the SFT model (the real run below starts from the SFT checkpoint again):

# %%
from rlcore.models import reference_model, value_model_from
from rlcore.ppo import PPOTrainer

config = profile.ppo  # PPO's settings: batch size, epochs, clip ranges, KL coefficient, ... (rlcore.config.PPOConfig)
policy = copy.deepcopy(sft)  # the copy PPO changes; sft stays the baseline
trainer = PPOTrainer(policy, reference_model(policy, profile.compute_dtype), value_model_from(policy), tokenizer,
                     config, profile.lengths, profile.seed, reward_model=reward_model)
one = trainer.step(next(data.prompt_batches(config.batch_size)))
rollout = trainer.last_experience.rollout
scores = trainer.score(rollout)  # (B,): the reward model's score of each response
print(f"1. {config.batch_size} prompts -> responses of {one['response_length']:.1f} tokens on average, "
      f"{one['eos_rate']:.0%} ended with EOS")
print(f"2. reward-model score: batch mean {one['score']:+.2f}; the first response:")
print("   ", rollout.prompts[0].strip().replace("\n\n", " | "), "->", rollout.responses[0].strip(),
      f"[score {scores[0].item():+.2f}]")
print(f"3. KL to the reference: {one['kl']:.3f} nats per response (beta {one['kl_coef']:.3f})")
print(f"4./5. {config.epochs} epochs x {config.num_minibatches} minibatches: policy loss "
      f"{one['policy_loss']:+.4f}, value loss {one['value_loss']:.4f}, clipped tokens {one['clip_fraction']:.1%}, "
      f"approx. KL to the rollout policy {one['approx_kl']:.5f}")
print(f"6. beta {one['kl_coef']:.4f} -> {trainer.kl_controller.value:.4f}")
del trainer, policy

# %%
assert math.isfinite(one["kl"]) and math.isfinite(one["policy_loss"]) and math.isfinite(one["value_loss"])
assert one["approx_kl"] < 0.1, "one iteration moves the policy only a little away from its rollout policy"

# %% [markdown]
# ## PPO, with live plots
#
# The real run: `rlcore.stages.ppo` builds the same four models from the SFT checkpoint and repeats
# the iteration above `profile.ppo.steps` times, on the data's train prompts, then saves the policy
# for the later lessons (`course_path("policy_rlhf")`). The plot redraws every 10 steps.

# %%
from rlcore.plots import LivePlot

live = LivePlot(keys=("score", "kl", "kl_coef"), every=10)
policy, history = stages.ppo(profile, data, course_path("sft"), reward_model, course_path("policy_rlhf"),
                             reuse=False, callback=lambda trainer, stats: live(stats))

# %%
import matplotlib.pyplot as plt

from rlcore.plots import ppo_curves
from rlcore.readings import change_sentence, noise_tolerance, say

fig = ppo_curves({"RLHF": history}, keys=("score", "kl", "entropy", "response_length"))
plt.show()  # the figure first, its readings under it
k = max(1, len(history) // 4)  # compare the first and the last quarter of the run


def quarters(key):
    """(mean over the first k iterations, mean over the last k) of one statistic."""
    return sum(h[key] for h in history[:k]) / k, sum(h[key] for h in history[-k:]) / k


def tolerance(key, floor):
    """The stated tolerance, or what the curve's own noise moves a quarter's mean by, whichever is larger."""
    return noise_tolerance([h[key] for h in history], k, floor)


score_start, score_end = quarters("score")
print(f"{len(history)} PPO iterations; means over the first and the last {k}:")
say(change_sentence("the reward-model score", score_start, score_end, tolerance("score", 0.1)),
    change_sentence("the KL to the reference", *quarters("kl"), tolerance("kl", 0.1), unit=" nats"),
    change_sentence("the entropy", *quarters("entropy"), tolerance("entropy", 0.05), unit=" nats/token"),
    change_sentence("the response length", *quarters("response_length"), tolerance("response_length", 1.0),
                    unit=" tokens", digits=1))

# %% [markdown]
# Four panels, four readings (each computed from the curve above it, with its tolerance stated: a stated floor, or
# what the curve's own iteration-to-iteration noise moves a mean of ten iterations by, whichever is larger). The score is the
# reward model's and the KL is what PPO pays for it. The **entropy** is the policy's own uncertainty, the mean over
# response tokens of $-\sum_v \pi(v)\log\pi(v)$: how many nats of choice are left at each token. It is a
# diagnostic, not part of the loss here: PPO's paper adds an entropy *bonus* ($c_2 S$) to keep an agent exploring,
# but RLHF implementations usually set it to zero, because the KL penalty to the reference already keeps the
# policy from collapsing onto a few phrases. A falling entropy says the policy has grown more certain, a policy
# that repeats one refusal or one template shows it as a collapse. The **length** is the other thing to watch: a
# reward model that likes longer answers teaches PPO to write them, whether or not they are better (lesson 08
# checks whether length is what the judge rewards).
#
# The live plot's third panel, the KL coefficient β, hardly moves, and here is why. The adaptive controller of lesson
# 04 changes β by at most 20% × n / horizon per iteration (n = prompts per iteration), and the horizon is Ziegler et
# al.'s 10,000, set for runs of thousands of iterations. Over this run that allows only the small change the cell
# computes below. The controller's error is clipped at −20%, which it reaches whenever the KL is below 80% of its
# target: a run that stays there throughout, as the count below shows for this one, moves β down at exactly that
# fastest rate, and β still barely moves. β is in effect fixed at its initial value, and what holds the KL here is that value. (Lesson 04
# shows the controller steering, with a horizon of 1,000 over 400 iterations.)

# %%
config = profile.ppo
beta_first, beta_last = history[0]["kl_coef"], history[-1]["kl_coef"]
adaptive = config.target_kl is not None  # None: a fixed coefficient
step = 0.2 * config.batch_size / config.kl_horizon if adaptive else 0.0  # the largest change of one update
lowest, highest = (1 - step) ** (len(history) - 1), (1 + step) ** (len(history) - 1)
far_below = sum(h["kl"] < 0.8 * config.target_kl for h in history[:-1]) if adaptive else 0  # the error clipped at -20%
print(f"beta {beta_first:.4f} -> {beta_last:.4f} ({beta_last / beta_first - 1:+.1%}); in {len(history) - 1} updates "
      f"({config.batch_size} prompts each, horizon {config.kl_horizon:,}) the controller can only reach "
      f"x{lowest:.4f} to x{highest:.4f}; the KL was below 80% of its target ({config.target_kl:g} nats) in "
      f"{far_below} of them")

# %%
assert len(history) == profile.ppo.steps
assert all(math.isfinite(h["kl"]) and math.isfinite(h["score"]) for h in history), "score and KL stayed finite"
assert lowest - 1e-9 <= beta_last / beta_first <= highest + 1e-9, "beta moved no more than the controller allows"
if adaptive and far_below == len(history) - 1:  # the text's case: then beta fell at the fastest rate, exactly
    assert abs(beta_last / beta_first - lowest) < 1e-9, "below 80% of its target throughout, beta falls at the cap"

# %% [markdown]
# ## What changed, according to the judge
#
# The reward model was only a proxy. A judge that PPO never saw says whether the policy really got
# better: the gold judge on the world, an AI judge on other data (`profile.judge_model`, not the
# model that trained anything here). Both policies answer the same held-out prompts, seeded alike. The
# harmless rate is measured on harmful prompts; a dataset does not say which prompts are harmful, so
# off the world it is the first half of the held-out prompts (HH-RLHF's harmless-base split holds
# red-team prompts only).

# %%
from rlcore.evaluate import harmless_rate, win_rate

prompts, harmful = data.evaluation_prompts(profile.eval.prompts)
before, after = stages.sample(profile, sft, tokenizer, prompts), stages.sample(profile, policy, tokenizer, prompts)
before_harmful = stages.sample(profile, sft, tokenizer, harmful)
after_harmful = stages.sample(profile, policy, tokenizer, harmful)
wins = win_rate(prompts, after, before, judge)
harmless_before, harmless_after = harmless_rate(harmful, before_harmful, judge), harmless_rate(harmful, after_harmful, judge)
print(f"judge: {judge.name}; {len(prompts)} held-out prompts, {len(harmful)} for the harmless rate")
print(f"win rate of RLHF vs SFT: {wins['win_rate']:.0%} (95% interval {wins['ci95'][0]:.0%}-{wins['ci95'][1]:.0%})")
print(f"harmless rate: SFT {harmless_before:.0%} -> RLHF {harmless_after:.0%}")
if data.is_world:  # the world's true reward, which no judge on real data can give
    from rlcore import world
    from rlcore.evaluate import mean_gold

    gold_before, gold_after = mean_gold(prompts, before), mean_gold(prompts, after)
    print(f"mean gold score: SFT {gold_before:+.2f} -> RLHF {gold_after:+.2f}")
    by_family = {}
    for p, x, y in zip(prompts, before, after):
        by_family.setdefault(world.parse_prompt(p).family, []).append(world.gold_score(p, y) - world.gold_score(p, x))
    gold_change = {family: sum(d) / len(d) for family, d in sorted(by_family.items())}
    print("mean gold change per prompt family:", ", ".join(f"{f} {g:+.2f}" for f, g in gold_change.items()))
else:  # how far to trust this judge: its agreement with the data's held-out human labels
    from rlcore.evaluate import judge_agreement

    print(f"the judge agrees with {judge_agreement(judge, data.test_pairs(profile.rm.test_pairs)):.0%} of held-out "
          "human labels")

for i in range(3):
    print("-" * 80)
    print(harmful[i].strip())
    print("SFT :", before_harmful[i].strip())
    print("RLHF:", after_harmful[i].strip())

# %%
from rlcore.readings import (across_seeds, deciding_digits, place_sentence, seed_spread, spread_sd, spread_sentence,
                             trend, win_sentence)

GOLD_TOLERANCE = 0.1  # a family's mean gold change within +-0.1 reads as holding
spread = seed_spread(profile.name)  # the pipeline on several seeds (course/results.md); None where none is published
readings = [win_sentence("RLHF", "SFT", wins),
            change_sentence("the harmless rate", harmless_before, harmless_after, 0.05, percent=True),
            spread_sentence("RLHF's win rate over SFT, minus a tie", wins["win_rate"] - 0.5,
                            spread_sd(spread, "win_rate.rlhf_vs_sft"), percent=True),
            across_seeds(spread, "win_rate.rlhf_vs_sft", "RLHF vs SFT"),
            place_sentence("RLHF vs SFT", wins["win_rate"], spread, "win_rate.rlhf_vs_sft")]
if data.is_world:  # gold, per prompt family: only the world has either
    readings.append(change_sentence("the mean gold score", gold_before, gold_after, GOLD_TOLERANCE))
    readings.append(place_sentence("mean gold of RLHF", gold_after, spread, "mean_gold.policy_rlhf"))
    family_trend = {f: trend(0.0, g, GOLD_TOLERANCE) for f, g in gold_change.items()}
    readings.append("Per family, gold " + "; ".join(
        f"**{word}** on {f} ({gold_change[f]:+.{deciding_digits(gold_change[f], GOLD_TOLERANCE)}f})"
        for f, word in family_trend.items()) + f" (a change within ±{GOLD_TOLERANCE} reads as holding).")
    worst_family = min(gold_change, key=gold_change.get)
    readings.append(place_sentence(f"RLHF gold on {worst_family} (the family where it fell most)",
                                   sum(world.gold_score(p, y) for p, y in zip(prompts, after)
                                       if world.parse_prompt(p).family == worst_family) / len(by_family[worst_family]),
                                   spread, f"per_scenario.{worst_family}.gold_policy_rlhf"))
say(*readings)

# %% [markdown]
# Read the verdict in two parts. On the tiny world track the harmless rate rises, and gold rises most on the harmful
# family, where a refusal replaces harmful instructions (both checked below). The overall win rate is another
# matter: it is an average over the families, weighted by their prompt counts, and on the others gold rises far less,
# holds, or falls (the per-family reading above says which, in this run). Whether RLHF beats SFT, ties it or loses to
# it overall depends on how far those losses go, and that moves from seed to seed: the win-rate reading above is this
# run's verdict, the seed lines say how far the same figure moves when only the seed changes and where this run sits
# among the published seeds. Read a fall in gold beside them: in the published table, a family that falls in one
# seed holds or rises in another (checked below).
#
# Why gold falls where it does, from the measurements: the reward model PPO climbed learned from simulated humans
# who agree with gold on about three pairs in four (lesson 03), and its score went up most where a refusal replaced
# instructions for harm (the table below). Where its scores and gold part ways, PPO follows the scores. The cell below measures exactly
# that, family by family: the reward model's own change beside gold's. On the tiny world track, wherever gold does
# not rise, the reward model's score still goes up (checked below): that is the reward model being wrong, and PPO
# finding out where (lesson 09 takes it further).
#
# Read the samples too, and the one printed last: the held-out prompt where gold fell the most, with the reward
# model's verdict on the same change. An RLHF answer can splice a refusal into a request that needed none, or splice
# two refusal phrases into a sentence no one would write: PPO samples mix the phrases the reward model scores highly,
# and a reward model that reads phrases more than grammar lets them through. The gold judge counts garbled text in its
# fluency penalty (the share printed below). On other data, read the AI judge's numbers with their intervals and
# beside its agreement with held-out human labels: a small judge is a noisy one.

# %%
if data.is_world:  # the reward model's view, family by family, beside gold's: only the world has gold
    from rlcore.evaluate import fluency_penalty

    rm_before = reward_model.score(tokenizer, prompts, before, profile.lengths).tolist()
    rm_after = reward_model.score(tokenizer, prompts, after, profile.lengths).tolist()
    rm_by_family = {}
    for p, x, y in zip(prompts, rm_before, rm_after):
        rm_by_family.setdefault(world.parse_prompt(p).family, []).append(y - x)
    rm_change = {f: sum(d) / len(d) for f, d in sorted(rm_by_family.items())}
    print(f"{'family':10s} {'reward model':>13s} {'gold':>7s}   (mean change per prompt, RLHF - SFT)")
    for f in gold_change:
        print(f"{f:10s} {rm_change[f]:+13.2f} {gold_change[f]:+7.2f}")
    fluency = {name: fluency_penalty(prompts, responses) for name, responses in (("SFT", before), ("RLHF", after))}
    print("answers with a fluency penalty (repetition, garbled or degenerate text): "
          + ", ".join(f"{n} {v['share']:.0%}" for n, v in fluency.items()))
    change = [world.gold_score(p, y) - world.gold_score(p, x) for p, x, y in zip(prompts, before, after)]
    worst = min(range(len(prompts)), key=change.__getitem__)  # the held-out prompt where gold fell the most
    print(f"\nwhere gold fell the most ({change[worst]:+.2f}; reward model {rm_after[worst] - rm_before[worst]:+.2f}):")
    print(prompts[worst].strip())
    print("SFT :", before[worst].strip())
    print("RLHF:", after[worst].strip())

# %%
assert 0.0 <= wins["win_rate"] <= 1.0 and wins["n"] == len(prompts)
if data.is_world:  # gold's verdicts, which the text states for the world track
    assert trend(harmless_before, harmless_after, 0.05) == "rises", "the harmless rate rises"
    assert max(gold_change, key=gold_change.get) == "harmful", "gold rises most on the harmful family"
    assert any(word != "rises" for word in family_trend.values()), "on at least one family gold does not rise"
    assert all(rm_change[f] > 0 for f in gold_change if family_trend[f] != "rises"), \
        "wherever gold does not rise, the reward model's score still goes up"
    assert max(rm_change, key=rm_change.get) == "harmful", "the reward model's score went up most on harmful requests"
if data.is_world and spread is not None:  # the published seed table is the tiny world's
    f = spread["figures"]
    words = {fam: {trend(f[f"per_scenario.{fam}.gold_sft"]["values"][i], f[f"per_scenario.{fam}.gold_policy_rlhf"]
                         ["values"][i], GOLD_TOLERANCE) for i in range(len(spread["seeds"]))} for fam in gold_change}
    assert any("falls" in w and len(w) > 1 for w in words.values()), "a family that falls in one seed holds in another"

# %% [markdown]
# ## Things to try
# - Train with another KL coefficient: `stages.ppo(profile.replace(ppo__init_kl_coef=0.01), data,
#   course_path("sft"), reward_model, None)` (and 1.0). How do the KL curve and the win rate change?
#   (Lesson 09 looks at what happens with no leash at all.)
# - On the world track: which gold components moved, family by family (`world.gold_components`)? Did
#   the emotional-support answers gain or lose, and what?
# - On preference data: read twenty RLHF answers next to SFT's. Does the judge's verdict match yours?
