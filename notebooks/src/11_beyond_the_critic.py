# %% [markdown]
# # 11 · Beyond the critic: REINFORCE, RLOO, GRPO and RL from a verifiable reward
#
# **Learning goals**
# - Build the critic-free policy gradients up one baseline at a time: REINFORCE with a mean baseline
#   (Williams 1992), RLOO's leave-one-out baseline (Ahmadian et al. 2024), GRPO's group-relative advantage with
#   the KL to the reference as a loss term (Shao et al. 2024). All three read the same batch of experience as
#   PPO (`rlcore.rollout.collect`); only the step differs.
# - Measure what PPO's value model costs (time and memory per iteration) and what dropping it loses: GRPO and
#   PPO at an equal number of sampled responses, judged against SFT.
# - Train on the *true* reward: on the world the gold score itself can be the reward, the control that no reward
#   model's mistakes can fool (no Goodhart), beside the same GRPO on the learned reward model. (RL from verifiable
#   rewards proper, RLVR, uses a binary, programmatic check of correctness: a maths answer against its solution,
#   code against its tests, as in Tülu 3 or DeepSeek-R1's rule rewards. The world's gold score is dense, not
#   binary: this is RL on the true reward, the idea RLVR builds on.)
# - See what GRPO's leash (β, the KL term) is for, by pulling it ten times tighter.
#
# *Time: ~15 minutes on a CPU.*

# %%
import itertools
import math
import statistics
import time

import matplotlib.pyplot as plt
import torch

from rlcore import stages
from rlcore.course import course_path, load_human_reward_model, load_sft, start

profile, data = start()  # the profile ($RLCORE_PROFILE, else by hardware), seeded; its data
judge = data.judge()  # the world's gold judge, or the profile's AI judge model
load_sft(profile)  # lesson 02's model (made now if missing): every run here starts from it
reward_model = load_human_reward_model(profile)  # lesson 03's reward model, human labels (made now if missing)
gold = data.verifiable_reward  # the world's gold score as a reward function; None on preference data
STEPS = profile.grpo.steps
print(f"profile {profile.name} | data {data.name} | judge: {judge.name} | "
      f"GRPO: {profile.grpo.batch_size} prompts x {profile.grpo.group_size} samples, {STEPS} steps")

# %% [markdown]
# ## One batch of experience, several samples per prompt
#
# PPO's value model answers one question: *how good is this state, so that I can tell whether this response
# did better than expected?* Critic-free methods answer it without a second network: sample **G** responses to
# the same prompt and compare each with the others. `rlcore.rollout.collect` gathers what every algorithm
# here reads, the prompts repeated G times in a row: ids and masks, the sampling log-probs, the reference's
# log-probs, and the scores (here: lesson 03's reward model).

# %%
from rlcore.rollout import collect

trainer = stages.rl_trainer(profile, "grpo", course_path("sft"), reward_model=reward_model)
prompts = next(data.prompt_batches(2))
G = profile.grpo.group_size
exp = collect(trainer.policy, trainer.ref_policy, trainer.tokenizer, prompts, trainer.score, profile.lengths.max_new_tokens,
              profile.lengths.max_prompt_tokens, seed=0, group_size=G)  # (2 x G) responses, prompt by prompt
print(f"scores {tuple(exp.scores.shape)}, log-probs {tuple(exp.logprobs.shape)}, mask {tuple(exp.mask.shape)}")
for i in range(G):
    print(f"  prompt 0, sample {i}: score {exp.scores[i]:+.2f} | {exp.rollout.responses[i][:90]!r}")

# %% [markdown]
# ## Three baselines on the same rewards
#
# The policy gradient pushes up the log-probability of each response in proportion to its **advantage**
# $A_i = r_i - b_i$. A baseline leaves the gradient's expectation unchanged when it does not depend on response $i$
# itself, $E[b\,\nabla\log\pi(y_i)] = b\,\nabla \sum_y \pi(y) = 0$, and it decides the gradient's variance.
# Of the three below only RLOO's passes that test:
#
# | method | baseline $b_i$ | advantage | unbiased? |
# | --- | --- | --- | --- |
# | REINFORCE (Williams 1992) | the mean reward of the whole batch | $r_i - \bar r$ | no: $\bar r$ holds $r_i$ (a bias of order $1/N$) |
# | RLOO (Kool et al. 2019; Ahmadian et al. 2024) | the mean of the *other* $G-1$ samples of the same prompt | $r_i - \frac{1}{G-1}\sum_{j \ne i} r_j$ | **yes** |
# | GRPO (Shao et al. 2024) | the group's mean, then divided by the group's std | $\frac{r_i - \text{mean}_g(r)}{\text{std}_g(r)}$ | no |
#
# RLOO's leave-one-out baseline comes from Kool et al. 2019 (*Buy 4 REINFORCE samples, get a baseline for free!*),
# brought to RLHF by Ahmadian et al. 2024. GRPO's group mean holds $r_i$, as the batch mean does; its division by
# the group's std is no baseline at all: it rescales the whole gradient of each prompt, so prompts whose samples
# agree (a small std: nearly all right, or nearly all wrong) weigh more than the rest, a bias of its own that Dr.
# GRPO removes (Liu et al. 2025). A prompt that is easy gets high rewards for every sample: against the batch mean
# all its samples look good; against their own group, only the better ones do. `rlcore.grpo.group_advantages` and
# `rlcore.reinforce.rloo_advantages` take the flat rewards `(N,)`, group by group.

# %% [markdown]
# ### Exercise: leave-one-out advantages
#
# Write RLOO's advantage: `rewards` flat, `(N,)`, group by group; return `(N,)`, each reward minus the mean of the
# *other* `group_size - 1` rewards of its group. The checker tries G = 2, groups of equal rewards, groups on very
# different scales, then runs `ReinforceTrainer` (baseline "rloo") with your function in place of the library's.
#
# <details><summary>Hint 1</summary>
#
# As for GRPO below: `view` the flat rewards as `(prompts, G)`.
# </details>
# <details><summary>Hint 2</summary>
#
# The sum of the others is the group's sum minus your own reward.
# </details>
# <details><summary>Hint 3</summary>
#
# `r = rewards.view(-1, group_size)`; `(r - (r.sum(1, keepdim=True) - r) / (group_size - 1)).flatten()`.
# </details>

# %%
# EXERCISE: rloo_advantages
def my_rloo_advantages(rewards, group_size):
    """rewards (N,) group by group -> (N,): each reward minus the mean of the other samples of its prompt."""
    r = rewards.view(-1, group_size)  # (prompts, G)
    others = (r.sum(1, keepdim=True) - r) / (group_size - 1)  # (prompts, G): leave-one-out means
    return (r - others).flatten()
# END EXERCISE

# %%
from rlcore.exercises import check_rloo_advantages

assert check_rloo_advantages(my_rloo_advantages)

# %% [markdown]
# ### Exercise: group-relative advantages
#
# Write GRPO's advantage: `rewards` is flat, `(N,)`, group by group (N = prompts x `group_size`); return `(N,)`,
# each reward minus the mean of its own group, divided by that group's standard deviation (torch's default
# `std`) plus `1e-6`. The checker tries the cases this idea is about, then runs `GRPOTrainer` with your function
# in place of the library's and compares their statistics.
#
# <details><summary>Hint 1</summary>
#
# A flat tensor whose rows of G belong together is a `(prompts, G)` matrix in disguise: `view` it.
# </details>
# <details><summary>Hint 2</summary>
#
# Reduce along the group's dimension and keep it (`keepdim=True`) so the result broadcasts back; what does a
# group of equal rewards divide by?
# </details>
# <details><summary>Hint 3</summary>
#
# `r = rewards.view(-1, group_size)`, then `(r - mean) / (std + 1e-6)` with both along `dim=1`, then `.flatten()`.
# Do not change `rewards` itself: the trainer still reads it.
# </details>

# %%
# EXERCISE: group_advantages
def my_group_advantages(rewards, group_size):
    """rewards (N,) group by group -> (N,): each reward minus its group's mean, over its group's std + 1e-6."""
    r = rewards.view(-1, group_size)  # (prompts, G)
    return ((r - r.mean(1, keepdim=True)) / (r.std(1, keepdim=True) + 1e-6)).flatten()
# END EXERCISE

# %%
from rlcore.exercises import check_group_advantages

assert check_group_advantages(my_group_advantages)

# %%
from rlcore.grpo import group_advantages
from rlcore.reinforce import rloo_advantages

rewards = exp.scores  # (N,) = (prompts x G,)
table = {"REINFORCE": rewards - rewards.mean(), "RLOO": rloo_advantages(rewards, G),
         "GRPO": group_advantages(rewards, G)}
print("reward   " + "  ".join(f"{name:>9s}" for name in table))
for i in range(len(rewards)):
    print(f"{rewards[i]:+7.2f}  " + "  ".join(f"{a[i]:+9.2f}" for a in table.values())
          + ("   <- prompt 1" if i == G else ""))

# %% [markdown]
# Two properties hold for any rewards (checked below against a second formula): RLOO's advantage is the
# group-centred reward scaled by $G/(G-1)$, and every group's advantages sum to zero, so a group whose samples
# all score alike gives no gradient at all (GRPO counts those groups: `zero_advantage_groups`).

# %%
by_group = rewards.view(-1, G)
centred = (by_group - by_group.mean(1, keepdim=True)).flatten()
assert torch.allclose(table["RLOO"], centred * G / (G - 1), atol=1e-5)
assert torch.allclose(table["GRPO"].view(-1, G).sum(1), torch.zeros(len(prompts)), atol=1e-4)
assert torch.equal(group_advantages(torch.ones(2 * G), G), torch.zeros(2 * G)), "equal rewards: no NaN, no push"

# %% [markdown]
# ### Measured: the bias and the variance of each baseline
#
# "Unbiased" is a claim about an expectation, so measure it. Take the batch above as a whole small world: each
# prompt's G sampled responses are all the responses it has, each with the reward the reward model gave it, and a
# policy that picks among them uniformly. For that policy the exact gradient of the mean reward is known in closed
# form, $\nabla_{\theta_k} = \pi_k (r_k - \bar r_\pi)$ per prompt. Now draw G responses per prompt with replacement,
# many thousands of times, and average each method's gradient estimate $\frac{1}{N}\sum_i A_i \nabla\log\pi(y_i)$:
# its mean against the exact gradient is its bias (its size, and its direction by the cosine), its spread around
# that mean, relative to the mean's own size, is its variance (relative, because GRPO's std division rescales the
# whole gradient, and a learning rate would undo a scale). "No baseline" ($A_i = r_i$) is the plain REINFORCE estimate, unbiased and noisy.

# %%
import torch.nn.functional as F

RESAMPLES, OFFSET = 20000, 5.0
P, K = len(prompts), G  # each prompt's K = G responses of the batch above are its whole response space
pi = torch.full((P, K), 1.0 / K)  # (P, K) a uniform policy over them
draws = torch.multinomial(pi, RESAMPLES * G, replacement=True, generator=torch.Generator().manual_seed(0))
draws = draws.view(P, RESAMPLES, G).transpose(0, 1)  # (R, P, G): G responses per prompt, R times over
grad_logp = F.one_hot(draws, K).float() - pi[None, :, None, :]  # (R, P, G, K): d log pi(y) / d logits


def measure(r):
    """Bias, cosine and variance of each method's gradient estimate, for fixed rewards r (P, K)."""
    exact = pi * (r - (pi * r).sum(1, keepdim=True)) / P  # (P, K) the exact gradient of mean_p E_pi[r]
    drawn = torch.gather(r.expand(RESAMPLES, P, K), 2, draws)  # (R, P, G) the rewards of the drawn responses
    flat = drawn.reshape(-1)  # (R * P * G,): groups of G in a row, as the library's functions read them
    advantages = {"no baseline": drawn, "REINFORCE (batch mean)": drawn - drawn.mean((1, 2), keepdim=True),
                  "RLOO (leave one out)": rloo_advantages(flat, G).view(RESAMPLES, P, G),
                  "GRPO (group mean, / std)": group_advantages(flat, G).view(RESAMPLES, P, G)}
    norm2, out = exact.pow(2).sum(), {}
    for name, A in advantages.items():
        estimates = (A.unsqueeze(-1) * grad_logp).sum(2) / (P * G)  # (R, P, K) one gradient estimate per resample
        mean = estimates.mean(0)
        spread = (estimates - mean).pow(2).sum((1, 2)).mean()  # E|g_hat - E[g_hat]|^2
        out[name] = {"bias": ((mean - exact).pow(2).sum() / norm2).sqrt().item(),
                     "cosine": F.cosine_similarity(mean.flatten(), exact.flatten(), dim=0).item(),
                     "variance": (spread / mean.pow(2).sum()).item(),  # noise over its own signal: scale-free
                     "se": (spread / norm2 / RESAMPLES).sqrt().item()}  # the Monte-Carlo error of the bias
    return out


r = exp.scores.view(P, K).float()  # (P, K) the reward model's scores of the batch, fixed
measured, shifted = measure(r), measure(r + OFFSET)
print(f"{P} prompts x G = {G}, {RESAMPLES:,} resamples; bias relative to the exact gradient, variance relative to "
      f"the estimate's own mean; the last column with {OFFSET:+g} added to every reward")
print(f"{'method':26s} {'bias':>7s} {'3 x MC error':>13s} {'cosine':>7s} {'variance':>9s} {'variance, shifted':>18s}")
for name, m in measured.items():
    print(f"{name:26s} {m['bias']:7.3f} {3 * m['se']:13.3f} {m['cosine']:7.3f} {m['variance']:9.2f} "
          f"{shifted[name]['variance']:18.2f}")
fig, axes = plt.subplots(1, 2, figsize=(11, 2.8))
names = [n.split(" (")[0] for n in measured]
axes[0].bar(names, [m["bias"] for m in measured.values()], color="#4c72b0")
axes[0].set_ylabel("relative bias |E[ĝ] − g| / |g|", fontsize=9)
for i, (label, table) in enumerate((("rewards as scored", measured), (f"rewards {OFFSET:+g}", shifted))):
    # markers, not bars: on a log axis a bar's height depends on where the axis happens to start
    axes[1].plot([j + 0.2 * i for j in range(len(names))], [m["variance"] for m in table.values()], "os"[i], ms=8,
                 label=label)
axes[1].set_xticks([j + 0.1 for j in range(len(names))], names)
axes[1].set_ylabel("relative variance E|ĝ − E[ĝ]|² / |E[ĝ]|²", fontsize=9)
axes[1].set_yscale("log")
axes[1].legend(fontsize=8)
for ax in axes:
    ax.set_xlabel("advantage")
plt.tight_layout()
plt.show()
from rlcore.readings import say

plain = measured["no baseline"]["variance"]
say("On the rewards as scored, against no baseline's relative variance of " + f"{plain:.2f}: " + ", ".join(
    f"{name.split(' (')[0]} {m['variance']:.2f} ({m['variance'] / plain - 1:+.0%})" for name, m in measured.items()
    if name != "no baseline") + f". With {OFFSET:+g} on every reward, no baseline's becomes "
    f"{shifted['no baseline']['variance']:.2f} ({shifted['no baseline']['variance'] / plain:.0f} times).")

# %% [markdown]
# Read the table against the claims above (checked below, on either track). No baseline and RLOO are unbiased: their
# bias is within the Monte-Carlo error of zero. The batch mean is biased by exactly the share of itself that each
# reward subtracts, $1/N$ of the gradient with $N = P \cdot G$ samples in the batch (a shorter gradient, pointing
# the right way: cosine 1). GRPO's group mean shrinks each prompt's gradient by $1 - 1/G$, and its division by each
# group's std rescales every prompt differently: its mean gradient is off in size and, when the prompts' spreads
# differ, in direction too (its cosine).
#
# The variance column holds a surprise: on the rewards as scored, how much a baseline changes the variance depends on
# the batch (the reading under the figure gives each change in this run), and
# GRPO's can even be the largest (how the four compare there depends on the batch). The reward model was normalised to mean 0 on SFT's samples (lesson 05), so "no baseline" already centres
# its rewards on average, and a leave-one-out mean of only G − 1 = 3 others is itself noisy. Shift every reward by
# a constant, as any un-normalised reward would be, and the picture turns: the estimate without a baseline drowns in
# noise, while the three baselines do not move at all, since subtracting any mean of the rewards cancels a
# constant (checked below). That invariance, more than a smaller variance on well-centred rewards, is what a
# baseline buys.

# %%
se = 3 * max(m["se"] for m in measured.values())  # three Monte-Carlo standard errors
assert measured["no baseline"]["bias"] < se and measured["RLOO (leave one out)"]["bias"] < se, "unbiased"
assert abs(measured["REINFORCE (batch mean)"]["bias"] - 1 / (P * G)) < se, "the batch mean: biased by 1/N"
assert measured["REINFORCE (batch mean)"]["cosine"] > 0.999, "a shorter gradient, pointing the right way"
assert measured["GRPO (group mean, / std)"]["bias"] > measured["RLOO (leave one out)"]["bias"] + se, "GRPO: biased"
for name in ("REINFORCE (batch mean)", "RLOO (leave one out)", "GRPO (group mean, / std)"):
    assert abs(shifted[name]["variance"] - measured[name]["variance"]) < 1e-3 * measured[name]["variance"], \
        f"{name}: a constant added to every reward changes nothing"
    assert shifted["no baseline"]["variance"] > 10 * shifted[name]["variance"], "without a baseline, the noise drowns it"

# %% [markdown]
# ## REINFORCE -> RLOO -> GRPO, trained
#
# Each trainer's `step` is the whole algorithm in about fifty lines (`rlcore/reinforce.py`,
# `rlcore/grpo.py`): collect, advantages, then `zero_grad / backward / clip_grad_norm_ / step` in view.
# REINFORCE and RLOO put the KL to the reference inside each response's reward, as PPO does; GRPO keeps the
# reward clean and adds β·KL (the k3 estimator) to the loss. A caveat on that term (Tang & Munos 2025): k3 is an
# unbiased estimate of KL(π‖π_ref) as a *value*, but differentiated as a loss on π's own samples its expected
# gradient is that of the *other* KL, KL(π_ref‖π): $\nabla k_3 = (1 - \pi_\text{ref}/\pi)\nabla\log\pi$, whose
# mean under π is $-\sum_y \pi_\text{ref}(y)\nabla\log\pi(y)$. GRPO's leash, as written, pulls towards covering
# what the reference does rather than staying where it is likely. GRPO runs `profile.grpo.steps` iterations, and
# REINFORCE and RLOO half as many (to keep the lesson short), on the same stream of train prompts; the callback records, at every step, the reward model's mean score and, on the
# world, the **gold** score of the very responses it trained on (free: no extra sampling).

# %%
def run(algorithm, steps=STEPS, reward=None, profile=profile, trainer=None):
    """Train (or continue) a critic-free run; returns the trainer and the gold of its samples at every step."""
    trainer = trainer or stages.rl_trainer(profile, algorithm, course_path("sft"),
                                           **(reward or {"reward_model": reward_model}))
    gold_curve = getattr(trainer, "gold_curve", [])

    def record(stats):
        e = trainer.last_experience
        if gold is not None:
            gold_curve.append(sum(gold(e.rollout.prompts, e.rollout.responses)) / len(e.rollout.prompts))

    t = time.perf_counter()
    trainer.train(data.prompt_batches(trainer.config.batch_size), steps=steps, progress=False, callback=record)
    trainer.seconds = getattr(trainer, "seconds", 0.0) + time.perf_counter() - t
    trainer.gold_curve = gold_curve
    return trainer


def smooth(values, k=5):
    return [sum(values[max(0, i - k + 1):i + 1]) / len(values[max(0, i - k + 1):i + 1]) for i in range(len(values))]


runs = {name: run(name, steps) for name, steps in (("reinforce", STEPS // 2), ("rloo", STEPS // 2), ("grpo", STEPS))}
fig, axes = plt.subplots(1, 3 if gold else 2, figsize=(13 if gold else 9, 3))
for name, tr in runs.items():
    line, = axes[0].plot(smooth([h["score"] for h in tr.history]), label=name.upper())
    axes[1].plot([h["kl"] for h in tr.history], color=line.get_color())
    if gold:
        axes[2].plot(smooth(tr.gold_curve), color=line.get_color())
axes[0].set_ylabel("reward-model score (5-step mean)")
axes[1].set_ylabel("KL to the reference (nats / response)")
if gold:
    axes[2].set_ylabel("gold of the samples (5-step mean)")
for ax in axes:
    ax.set_xlabel("iteration")
axes[0].axhline(0, color="grey", lw=0.5)  # the reward model was normalised to mean 0 on SFT's samples
axes[0].legend()
plt.tight_layout()
plt.show()
from rlcore.readings import change_sentence, noise_tolerance, say, trend

GOLD_TOLERANCE = 0.1  # a change of mean gold within +-0.1 reads as holding
readings, gold_words = [], {}
for name, tr in runs.items():
    k = max(1, len(tr.history) // 4)  # the first and the last quarter of each run
    start, end = (sum(h["score"] for h in part) / len(part) for part in (tr.history[:k], tr.history[-k:]))
    print(f"{name.upper():9s} {len(tr.history)} steps: score {start:+.2f} -> {end:+.2f} (first / last {k} steps), "
          f"KL {tr.history[-1]['kl']:.2f}, {tr.seconds / len(tr.history):.2f} s per iteration")
    readings.append(change_sentence(f"{name.upper()}'s reward-model score", start, end, 0.1))
    if gold:  # the gold of its own samples: its best 5-step stretch, and where it ended
        curve, score = smooth(tr.gold_curve), smooth([h["score"] for h in tr.history])
        peak_at = max(range(len(curve)), key=curve.__getitem__)
        noise = noise_tolerance(tr.gold_curve, 5, GOLD_TOLERANCE)  # how far two 5-step means differ by chance
        gold_words[name] = trend(curve[peak_at], curve[-1], noise)
        if peak_at == len(curve) - 1:
            after_peak = "Its best 5-step mean is its last one: gold was still rising when the run ended."
        elif gold_words[name] == "holds":
            after_peak = (f"Its best 5-step mean, {curve[peak_at]:+.2f} at iteration {peak_at}, is within the noise of "
                          f"where it ends (±{noise:.2f}: two 5-step means of this curve differ by that much by chance).")
        else:
            after_peak = (f"Its best 5-step mean, {curve[peak_at]:+.2f} at iteration {peak_at}, is **beyond the noise of "
                          f"where it ends** (±{noise:.2f}): gold fell after it, while the reward-model score "
                          f"{ {'rises': 'rose', 'holds': 'held', 'falls': 'fell'}[trend(score[peak_at], score[-1], 0.1)]}"
                          f" ({score[peak_at]:+.2f} -> {score[-1]:+.2f}).")
        readings.append(change_sentence(f"{name.upper()}'s gold, from its first quarter to its end,", curve[k - 1],
                                        curve[-1], GOLD_TOLERANCE) + " " + after_peak)
say(*readings)

# %% [markdown]
# On the tiny world all three raise the reward model's score from the first quarter of the run to the last, with no
# value model (checked below). Gold, measured on the very samples each run trained on, can tell a second story: if a
# run's gold peaks inside the budget and then falls while the reward model's score and the KL go on rising, that is
# over-optimisation (Gao et al. 2022) inside the profile's budget, as in lesson 09: past some KL the reward model's
# mistakes pay more than real improvement. The readings above say, run by run, where gold peaked and whether it
# fell after; the longest run, GRPO's, is the one with the most room for such a turn.

# %%
for name, tr in runs.items():
    assert all(math.isfinite(h["score"]) and math.isfinite(h["kl"]) for h in tr.history)
    k = max(1, len(tr.history) // 4)
    if data.is_world:  # gold's verdicts, which the text states for the world track
        first, last = tr.history[:k], tr.history[-k:]
        assert trend(sum(h["score"] for h in first) / k, sum(h["score"] for h in last) / k, 0.1) == "rises", \
            f"{name}'s reward-model score rises"

# %% [markdown]
# ## What the value model costs
#
# PPO trains a second network as large as the policy (its value head on a copy of the body), with its own
# optimizer, and runs `profile.ppo.epochs` passes over every batch. One iteration of each, on the same number of
# responses (PPO: `ppo.batch_size` prompts; GRPO: `grpo.batch_size` x `grpo.group_size`), timed, and the memory
# each trainer *holds*: the weights of all its models, the gradients and the optimizer states (on a GPU, the
# peak the device saw as well).

# %%
def held_bytes(trainer):
    """Bytes of every weight, gradient and optimizer state a trainer holds (its models and optimizers)."""
    models = [trainer.policy, trainer.ref_policy, getattr(trainer, "value_model", None), reward_model]
    tensors = {id(t): t for m in models if m is not None for t in list(m.parameters()) + list(m.buffers())}
    tensors.update({id(p.grad): p.grad for m in models if m is not None for p in m.parameters() if p.grad is not None})
    optimizers = list(trainer.optimizers.values())
    tensors.update({id(v): v for o in optimizers for s in o.state.values() for v in s.values() if torch.is_tensor(v)})
    return sum(t.numel() * t.element_size() for t in tensors.values())


cost, TIMED = {}, 3
# PPO as configured; PPO at GRPO's passes (one epoch over as many minibatches), to split the value model's cost from
# the extra passes; GRPO
one_epoch = profile.replace(ppo__epochs=profile.grpo.epochs, ppo__num_minibatches=profile.grpo.num_minibatches)
for name, algorithm, settings in (("ppo", "ppo", profile), ("ppo, 1 epoch", "ppo", one_epoch),
                                  ("grpo", "grpo", profile)):
    tr = stages.rl_trainer(settings, algorithm, course_path("sft"), reward_model=reward_model)
    batch = next(data.prompt_batches(tr.config.batch_size))
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    tr.step(batch)  # a first step allocates the optimizer states
    times = []
    for batch in itertools.islice(data.prompt_batches(tr.config.batch_size), TIMED):  # TIMED iterations, each timed
        t = time.perf_counter()
        tr.step(batch)
        times.append(time.perf_counter() - t)
    cost[name] = {"seconds": statistics.median(times), "range": (min(times), max(times)),
                  "held_MiB": held_bytes(tr) / 2**20,
                  "responses": tr.config.batch_size * getattr(tr.config, "group_size", 1),
                  "peak_GiB": torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None}
    del tr
for name, c in cost.items():
    peak = f", GPU peak {c['peak_GiB']:.2f} GiB" if c["peak_GiB"] is not None else ""
    print(f"{name.upper():13s} {c['responses']} responses per iteration: {c['seconds']:.2f} s (median of {TIMED}; "
          f"{c['range'][0]:.2f}-{c['range'][1]:.2f}), holds {c['held_MiB']:.1f} MiB{peak}")
print(f"GRPO vs PPO as configured: {cost['ppo']['seconds'] / cost['grpo']['seconds']:.1f}x faster per iteration, "
      f"{1 - cost['grpo']['held_MiB'] / cost['ppo']['held_MiB']:.0%} less memory held")
passes = cost["ppo"]["seconds"] - cost["ppo, 1 epoch"]["seconds"]  # PPO's extra epochs and minibatches
critic = cost["ppo, 1 epoch"]["seconds"] - cost["grpo"]["seconds"]  # the value model, at equal passes
noise = max(c["range"][1] - c["range"][0] for c in cost.values())  # the widest spread of one trainer's timings
say(f"Of PPO's extra {cost['ppo']['seconds'] - cost['grpo']['seconds']:.2f} s per iteration (medians), "
    f"**{passes:.2f} s** are its extra optimizer steps ({profile.ppo.epochs} epochs x {profile.ppo.num_minibatches} "
    f"minibatches against {profile.grpo.epochs} x {profile.grpo.num_minibatches}) and **{critic:.2f} s** the value "
    f"model at equal steps; one trainer's {TIMED} timings spread by up to {noise:.2f} s, so the value model's share "
    + ("**stands out of the timing noise**." if critic > noise else "**is within the timing noise** on this run."))

# %% [markdown]
# At the same number of responses, an iteration without the value model is faster and holds less memory
# (checked below). Read the speed-up as two savings at once, not the value model's cost alone: PPO runs a second
# network (forward, backward, optimizer), *and* it makes `profile.ppo.epochs` x `profile.ppo.num_minibatches`
# optimizer steps over its batch where GRPO makes `profile.grpo.num_minibatches` (1 epoch). The middle row splits
# the two: PPO at GRPO's steps still trains and holds its value model (its memory is checked below), and the reading
# says how the time divides, beside the timings' own spread: a timing is not deterministic (another program on the
# machine moves it), so no time is asserted but GRPO's against PPO's as configured, several times apart. Sampling,
# the part all three share, is what remains.

# %%
assert cost["ppo"]["responses"] == cost["grpo"]["responses"]
assert cost["grpo"]["seconds"] < cost["ppo"]["seconds"], "GRPO's iteration should be faster than PPO's"
assert cost["grpo"]["held_MiB"] < cost["ppo, 1 epoch"]["held_MiB"], "at equal steps, the value model still holds memory"
assert cost["grpo"]["held_MiB"] < cost["ppo"]["held_MiB"], "GRPO should hold less memory than PPO"

# %% [markdown]
# ## GRPO against PPO, judged
#
# GRPO above saw `grpo.steps x grpo.batch_size x grpo.group_size` sampled responses; lesson 05's PPO policy saw
# `ppo.steps x ppo.batch_size`. On held-out prompts the course's judge compares both with SFT and with each
# other (`rlcore.stages.judge_policies`: win rates with 95% intervals, harmless rate, KL to SFT). If lesson 05 has not
# run on this machine its PPO policy is trained now, by the same stage.

# %%
from rlcore.models import load_frozen

if not stages.is_done(course_path("policy_rlhf")):
    print(f"No PPO policy in {course_path('policy_rlhf')}: training it now, as in notebook 05.")
    stages.ppo(profile, data, course_path("sft"), reward_model, course_path("policy_rlhf"), progress=False)
sft, tokenizer = load_frozen(course_path("sft"), profile)
ppo_policy, _ = load_frozen(course_path("policy_rlhf"), profile)
samples = {"PPO": profile.ppo.steps * profile.ppo.batch_size,
           "GRPO": STEPS * profile.grpo.batch_size * profile.grpo.group_size}
eval_prompts, harmful = data.evaluation_prompts(max(1, profile.eval.prompts * 2 // 3))  # 200 on the tiny profile
policies = {"SFT": sft, "PPO": ppo_policy, "GRPO": runs["grpo"].policy.eval()}
results = stages.judge_policies(profile, judge, policies, tokenizer, eval_prompts, harmful, reference="SFT",
                          comparisons={"PPO vs SFT": ("PPO", "SFT"), "GRPO vs SFT": ("GRPO", "SFT"),
                                       "GRPO vs PPO": ("GRPO", "PPO")})
print(f"judge: {results['judge']} | {len(eval_prompts)} prompts | responses sampled in training: {samples}")
for key, w in results["win_rate"].items():
    print(f"  {key:12s} {w['win_rate']:4.0%}  (95% interval {w['ci95'][0]:.0%} to {w['ci95'][1]:.0%})")
seconds = {"PPO": cost["ppo"]["seconds"] * profile.ppo.steps, "GRPO": runs["grpo"].seconds}
how = {"PPO": f"estimated: {profile.ppo.steps} x the median iteration above", "GRPO": "measured above"}
for name in ("PPO", "GRPO"):
    print(f"{name:5s} harmless {results['harmless_rate'][name]:4.0%}, KL to SFT {results['kl_to_SFT'][name]:.2f} nats, "
          f"training ~{seconds[name]:.0f} s ({how[name]})")

# %%
from rlcore.readings import across_seeds, seed_spread, spread_sd, spread_sentence, versus, win_sentence

spread = seed_spread(profile.name)  # the pipeline on several seeds (course/results.md); None where none is published
say(*(win_sentence(*key.split(" vs "), w) for key, w in results["win_rate"].items()),
    change_sentence("the harmless rate, from PPO to GRPO,", results["harmless_rate"]["PPO"],
                    results["harmless_rate"]["GRPO"], 0.05, percent=True),
    spread_sentence("GRPO vs PPO, minus a tie", results["win_rate"]["GRPO vs PPO"]["win_rate"] - 0.5,
                    spread_sd(spread, "win_rate.grpo_vs_rlhf"), percent=True),
    across_seeds(spread, "win_rate.grpo_vs_rlhf", "the pipeline's GRPO vs PPO"))

# %% [markdown]
# At the same number of sampled responses, on the tiny world GRPO beats SFT (checked below; the pipeline's GRPO is
# ahead of SFT on every seed of the published table, checked below too), for a fraction of PPO's training time. The rest is this run's, and
# the readings say it: PPO against SFT, the head to head, and the harmless rates. The seed line shows how far the
# head to head moves between seeds; a policy's single run can land anywhere in that range, so read "GRPO beats PPO"
# or "PPO beats GRPO" here as a statement about two runs, and the seed table as the one about the methods. Two
# things to read besides the win rates: the harmless rate, where refusing harmful requests is the largest gain a
# policy made on the world in lesson 08 (its harmful family), and the KL column, how far each moved from SFT to get
# there.

# %%
assert samples["PPO"] == samples["GRPO"], "the profile gives PPO and GRPO the same number of sampled responses"
assert all(0 <= w["ci95"][0] <= w["win_rate"] <= w["ci95"][1] <= 1 for w in results["win_rate"].values())
if data.is_world:  # gold's verdicts, which the text states for the world track
    assert versus(results["win_rate"]["GRPO vs SFT"]["ci95"]) == "beats", "GRPO beats SFT"
    if spread is not None:  # the published seed table is the tiny world's
        assert all(v > 0.5 for v in spread["figures"]["win_rate.grpo_vs_sft"]["values"]), "ahead on every seed"
    assert seconds["GRPO"] < seconds["PPO"], "GRPO trains faster than PPO at the same number of responses"

# %% [markdown]
# ## RL on the true reward: the no-Goodhart control
#
# A reward model is a learned guess of the labels, and lesson 09 showed a policy exploiting its mistakes. Where
# the reward can be *computed* (a maths answer checked against the solution, code against its tests), one trains on
# it directly: RL from verifiable rewards (RLVR; DeepSeek-R1, Tülu 3), whose rewards are binary checks of
# correctness. The world has something no real task has, its dense gold score, the very thing every judge here
# measures: training on it is RL on the true reward, the control run that no reward-model mistake can fool. (The
# pipeline calls this row "RLVR"; it is its dense cousin.) Two GRPO runs, identical but for the reward, for twice
# the profile's steps: the learned reward model (the run above, continued) and gold itself; for both we plot the
# gold of their training samples.

# %%
q = max(1, STEPS // 2)  # a half-budget window at the end of each half of the run
runs["grpo"] = run("grpo", 2 * STEPS, trainer=runs["grpo"])  # continue the reward-model run to 2 x STEPS
if gold is None:
    print(f"{data.name}: {data.no_verifiable_reward}. RLVR needs a reward that can be computed (only the world "
          "has one here), so this section and its checks are skipped.")
else:
    runs["rlvr"] = run("grpo", 2 * STEPS, reward={"reward_fn": gold})
    fig, ax = plt.subplots(figsize=(6, 3))
    for name, label in (("grpo", "GRPO on the reward model"), ("rlvr", "GRPO on gold (the true reward)")):
        ax.plot(runs[name].gold_curve, alpha=0.25)
        ax.plot(smooth(runs[name].gold_curve, 10), color=ax.lines[-1].get_color(), label=label)
    ax.axvline(STEPS, color="grey", ls=":", lw=1, label="the profile's budget")
    ax.set_xlabel("iteration")
    ax.set_ylabel("mean gold of the samples")
    ax.set_title("faint: each step; bold: the mean of the last 10", fontsize=9)
    ax.legend()
    plt.tight_layout()
    plt.show()
    halves = {name: [sum(runs[name].gold_curve[a:a + q]) / q for a in (STEPS - q, 2 * STEPS - q)]
              for name in ("grpo", "rlvr")}
    for name, (mid, end) in halves.items():
        print(f"{name.upper():4s} mean gold of the samples: steps {STEPS - q}-{STEPS} {mid:+.2f} -> "
              f"steps {2 * STEPS - q}-{2 * STEPS} {end:+.2f}")

# %%
if gold is not None:
    say(*(change_sentence(f"{name.upper()}'s gold of its samples, past the budget,", mid, end, GOLD_TOLERANCE)
          for name, (mid, end) in halves.items()),
        f"At the end, the true-reward run's samples score "
        f"{round(halves['rlvr'][1], 2) - round(halves['grpo'][1], 2):+.2f} gold against "
        "the reward-model run's, on the training stream both shared (not held-out prompts).")
    say(across_seeds(spread, "win_rate.rlvr_vs_grpo", "the pipeline's held-out head to head of the same two rows "
                                                         "(gold reward vs reward model, at the profile's budget)"))
    held_out = stages.judge_policies(profile, judge, {"SFT": sft, "reward model": runs["grpo"].policy.eval(),
                                                "gold": runs["rlvr"].policy.eval()}, tokenizer, eval_prompts, harmful,
                               reference="SFT", comparisons={"gold vs reward model": ("gold", "reward model")})
    true_vs_proxy = held_out["win_rate"]["gold vs reward model"]
    say(f"Held out ({len(eval_prompts)} prompts, both runs at {2 * STEPS} steps, judged by {held_out['judge']}): "
        + win_sentence("the run on gold", "the run on the reward model", true_vs_proxy))

# %% [markdown]
# Read the two curves after the dotted line (the profile's budget), and the readings. If gold goes on rising past the
# budget in *both* runs, this lesson cannot claim that the learned reward model stops paying by twice the budget; if
# the reward-model run's gold holds or falls while the gold run's rises, the reward model's mistakes have begun to
# cost. Either way these are in-sample numbers, the gold of the very responses each run trained on, from one shared
# prompt stream. The held-out head to head (the last reading, at twice the budget, on prompts neither run trained on)
# and the pipeline's seed table are the numbers to trust. In this run, held out, the run on gold beats the run on
# the reward model (the last reading; checked below), while in sample the reward-model run's gold did not fall: the
# learned reward still leads somewhere good, only less far than the true one. What the control is for is that
# comparison: the reward model is right on average but wrong in places, and gold, which has no such places, shows
# what the mistakes cost.

# %%
if data.is_world and gold is not None:  # gold's verdicts, which the text states for the world track
    assert versus(true_vs_proxy["ci95"]) == "beats", "held out, the run on gold beats the run on the reward model"
    assert trend(*halves["grpo"], GOLD_TOLERANCE) != "falls", "in sample, the reward-model run's gold did not fall"

# %% [markdown]
# ## β: the leash
#
# GRPO's loss adds β times the KL to the reference. The usual β = 0.04 is a loose leash; pull it ten times tighter
# and train on the learned reward model again for twice the budget, beside the run above (β = 0.04, continued).

# %%
tight_beta = 10 * profile.grpo.beta
tight = run("grpo", 2 * STEPS, profile=profile.replace(grpo__beta=tight_beta))
loose = runs["grpo"]
fig, axes = plt.subplots(1, 3 if gold else 2, figsize=(13 if gold else 9, 3))
for tr, label in ((loose, f"β = {profile.grpo.beta}"), (tight, f"β = {tight_beta:g}")):
    axes[0].plot(smooth([h["score"] for h in tr.history]), label=label)
    axes[1].plot([h["kl"] for h in tr.history])
    if gold:
        axes[2].plot(smooth(tr.gold_curve, 10))
axes[0].set_ylabel("reward-model score (5-step mean)")
axes[1].set_ylabel("KL to the reference (nats / response)")
if gold:
    axes[2].set_ylabel("mean gold of the samples (10-step mean)")
for ax in axes:
    ax.set_xlabel("iteration")
axes[0].legend()
plt.tight_layout()
plt.show()
late_kl = {}
for tr, label in ((loose, f"beta {profile.grpo.beta}"), (tight, f"beta {tight_beta:g}")):
    late_kl[label] = sum(h["kl"] for h in tr.history[-q:]) / q
    print(f"{label:9s} last {q} steps: KL {late_kl[label]:6.2f} nats, score "
          f"{sum(h['score'] for h in tr.history[-q:]) / q:+.2f}"
          + (f", gold of the samples {sum(tr.gold_curve[-q:]) / q:+.2f}" if gold else ""))
last_q = lambda values: sum(values[-q:]) / q  # noqa: E731  (the mean over the last q steps)
say(change_sentence(f"the KL, from β = {profile.grpo.beta} to β = {tight_beta:g},",
                    last_q([h["kl"] for h in loose.history]), last_q([h["kl"] for h in tight.history]), 0.1,
                    unit=" nats"),
    change_sentence("the reward-model score", last_q([h["score"] for h in loose.history]),
                    last_q([h["score"] for h in tight.history]), 0.1),
    *([change_sentence("the gold of the samples", last_q(loose.gold_curve), last_q(tight.gold_curve), GOLD_TOLERANCE)]
      if gold else []))

# %% [markdown]
# On the tiny world the tight leash holds the policy near SFT (over the last quarter of the run the loose run's KL
# is more than 1.3 times the tight one's, checked below; the reading gives both), and it costs reward-model score and
# the gold of its samples falls too (both checked below): within this budget the reward model is still right about
# most of what the loose run found. β trades reward for staying close. Lesson 09 showed the other side: with no leash
# and a longer run the policy finds the reward model's errors (over-optimisation, Gao et al. 2022), reached by GRPO
# as by PPO. With an exact reward (RLVR) the leash matters less for the honesty of the reward, and several recipes
# drop it (DAPO and Dr. GRPO set β = 0); with a learned one it is what keeps the reward model on ground it knows.

# %%
assert len(tight.history) == len(loose.history) == 2 * STEPS
if data.is_world:  # gold's verdicts, which the text states for the world track
    late = {label: (sum(h["score"] for h in tr.history[-q:]) / q, sum(tr.gold_curve[-q:]) / q)
            for tr, label in ((loose, "loose"), (tight, "tight"))}
    assert late_kl[f"beta {profile.grpo.beta}"] > 1.3 * late_kl[f"beta {tight_beta:g}"], "the loose leash goes further"
    assert late["tight"][0] < late["loose"][0], "the tight leash costs reward-model score"
    assert trend(late["loose"][1], late["tight"][1], GOLD_TOLERANCE) == "falls", "and the gold of its samples falls"

# %% [markdown]
# ## Things to try
#
# - `profile.replace(grpo__scale="none", grpo__loss_type="dr_grpo")`: Dr. GRPO (Liu et al. 2025), no std scaling
#   and one constant normaliser. Does response length drift less?
# - `profile.replace(grpo__group_size=8, grpo__batch_size=4)`: the same responses per step, fewer prompts. Watch
#   `zero_advantage_groups` in the history.
# - β = 0 (`profile.replace(grpo__beta=0.0)`), as DAPO does: at 0.04 the leash is already loose. How much further does
#   the KL go over 80 steps, and does the reward model's score follow it?
# - REINFORCE with `group_size=1` (`profile.replace(rloo__group_size=1)`, `"reinforce"`): one sample per prompt,
#   a batch-mean baseline. How noisy is the score curve?
# - The whole table of runs: `rlcore pipeline --runs rlhf,grpo,rlvr` trains and judges them side by side.
#
# **Reading**: Williams 1992 (REINFORCE); Kool et al. 2019, *Buy 4 REINFORCE Samples, Get a Baseline for Free!*
# (the leave-one-out baseline); Ahmadian et al. 2024, *Back to Basics: Revisiting REINFORCE Style
# Optimization for Learning from Human Feedback in LLMs* (RLOO); Shao et al. 2024, *DeepSeekMath* section 4
# (GRPO); Liu et al. 2025, *Understanding R1-Zero-Like Training* (Dr. GRPO); DeepSeek-AI 2025, *DeepSeek-R1*
# (RL from verifiable rewards); Tang & Munos 2025, *On a few pitfalls in KL divergence gradient estimation for RL*
# (k3 as a loss); Gao et al. 2022, *Scaling Laws for Reward Model Overoptimization*. More in `course/reading.md`.
