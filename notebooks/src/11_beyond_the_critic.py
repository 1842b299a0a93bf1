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
# - Train on a *verifiable* reward: on the world the gold score itself can be the reward (RLVR), so we can watch
#   whether the exact reward keeps rising where the learned reward model of lesson 09 stops paying.
# - See what GRPO's leash (β, the KL term) is for, by taking it away.
#
# *Time: ~5 minutes on a CPU.*

# %%
import math
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
# $A_i = r_i - b_i$. The baseline $b_i$ does not change the gradient's expectation (as long as it does not
# depend on response $i$ itself) but it decides its variance:
#
# | method | baseline $b_i$ | advantage |
# | --- | --- | --- |
# | REINFORCE (Williams 1992) | the mean reward of the whole batch | $r_i - \bar r$ |
# | RLOO (Ahmadian et al. 2024) | the mean of the *other* $G-1$ samples of the same prompt | $r_i - \frac{1}{G-1}\sum_{j \ne i} r_j$ |
# | GRPO (Shao et al. 2024) | the group's mean, then divided by the group's std | $\frac{r_i - \text{mean}_g(r)}{\text{std}_g(r)}$ |
#
# A prompt that is easy gets high rewards for every sample: against the batch mean all its samples look good;
# against their own group, only the better ones do. `rlcore.grpo.group_advantages` and
# `rlcore.grpo.rloo_advantages` take the flat rewards `(N,)`, group by group.

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
# `r = rewards.view(-1, G)`; `(r - (r.sum(1, keepdim=True) - r) / (G - 1)).flatten()`.
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
# `r = rewards.view(-1, G)`, then `(r - mean) / (std + 1e-6)` with both along `dim=1`, then `.flatten()`.
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
from rlcore.grpo import group_advantages, rloo_advantages

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
# ## REINFORCE -> RLOO -> GRPO, trained
#
# Each trainer's `step` is the whole algorithm in about fifty lines (`rlcore/reinforce.py`,
# `rlcore/grpo.py`): collect, advantages, then `zero_grad / backward / clip_grad_norm_ / step` in view.
# REINFORCE and RLOO put the KL to the reference inside each response's reward, as PPO does; GRPO keeps the
# reward clean and adds β·KL (the k3 estimator) to the loss. GRPO runs `profile.grpo.steps` iterations, and
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
for name, tr in runs.items():
    k = max(1, len(tr.history) // 4)  # the first and the last quarter of each run
    start, end = (sum(h["score"] for h in part) / len(part) for part in (tr.history[:k], tr.history[-k:]))
    print(f"{name.upper():9s} {len(tr.history)} steps: score {start:+.2f} -> {end:+.2f} (first / last {k} steps), "
          f"KL {tr.history[-1]['kl']:.2f}, {tr.seconds / len(tr.history):.2f} s per iteration")

# %% [markdown]
# On the tiny world all three raise the reward model's score from the first quarter of the run to the last,
# and the gold score of their samples with it (checked below), with no value model.

# %%
for name, tr in runs.items():
    assert all(math.isfinite(h["score"]) and math.isfinite(h["kl"]) for h in tr.history)
    k = max(1, len(tr.history) // 4)
    if data.is_world:  # gold's verdicts, which the text states for the world track
        first, last = tr.history[:k], tr.history[-k:]
        assert sum(h["score"] for h in last) > sum(h["score"] for h in first), f"{name} should raise the score"
        assert sum(tr.gold_curve[-k:]) > sum(tr.gold_curve[:k]), f"{name} should raise the gold of its samples"

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
    optimizers = [getattr(trainer, n) for n in ("optimizer", "policy_optimizer", "value_optimizer") if hasattr(trainer, n)]
    tensors.update({id(v): v for o in optimizers for s in o.state.values() for v in s.values() if torch.is_tensor(v)})
    return sum(t.numel() * t.element_size() for t in tensors.values())


cost = {}
for name in ("ppo", "grpo"):
    tr = stages.rl_trainer(profile, name, course_path("sft"), reward_model=reward_model)
    batch = next(data.prompt_batches(tr.config.batch_size))
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    tr.step(batch)  # a first step allocates the optimizer states
    t = time.perf_counter()
    tr.step(next(data.prompt_batches(tr.config.batch_size)))
    cost[name] = {"seconds": time.perf_counter() - t, "held_MiB": held_bytes(tr) / 2**20,
                  "responses": tr.config.batch_size * getattr(tr.config, "group_size", 1),
                  "peak_GiB": torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None}
    del tr
for name, c in cost.items():
    peak = f", GPU peak {c['peak_GiB']:.2f} GiB" if c["peak_GiB"] is not None else ""
    print(f"{name.upper():5s} {c['responses']} responses per iteration: {c['seconds']:.2f} s, "
          f"holds {c['held_MiB']:.1f} MiB{peak}")
print(f"without the value model: {cost['ppo']['seconds'] / cost['grpo']['seconds']:.1f}x faster per iteration, "
      f"{1 - cost['grpo']['held_MiB'] / cost['ppo']['held_MiB']:.0%} less memory held")

# %% [markdown]
# At the same number of responses, an iteration without the value model is faster and holds less memory
# (checked below): no second network to run, train and keep optimizer states for, and one pass over the batch
# instead of `profile.ppo.epochs`. Sampling, the part both share, is what remains.

# %%
assert cost["ppo"]["responses"] == cost["grpo"]["responses"]
assert cost["grpo"]["seconds"] < cost["ppo"]["seconds"], "GRPO's iteration should be faster than PPO's"
assert cost["grpo"]["held_MiB"] < cost["ppo"]["held_MiB"], "GRPO should hold less memory than PPO"

# %% [markdown]
# ## GRPO against PPO, judged
#
# GRPO above saw `grpo.steps x grpo.batch_size x grpo.group_size` sampled responses; lesson 05's PPO policy saw
# `ppo.steps x ppo.batch_size`. On held-out prompts the course's judge compares both with SFT and with each
# other (`rlcore.stages.evaluate`: win rates with 95% intervals, harmless rate, KL to SFT). If lesson 05 has not
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
results = stages.evaluate(profile, judge, policies, tokenizer, eval_prompts, harmful, reference="SFT",
                          comparisons={"PPO vs SFT": ("PPO", "SFT"), "GRPO vs SFT": ("GRPO", "SFT"),
                                       "GRPO vs PPO": ("GRPO", "PPO")})
print(f"judge: {results['judge']} | {len(eval_prompts)} prompts | responses sampled in training: {samples}")
for key, w in results["win_rate"].items():
    print(f"  {key:12s} {w['win_rate']:4.0%}  (95% interval {w['ci95'][0]:.0%} to {w['ci95'][1]:.0%})")
seconds = {"PPO": cost["ppo"]["seconds"] * profile.ppo.steps, "GRPO": runs["grpo"].seconds}
for name in ("PPO", "GRPO"):
    print(f"{name:5s} harmless {results['harmless_rate'][name]:4.0%}, KL to SFT {results['kl_to_SFT'][name]:.2f} nats, "
          f"training ~{seconds[name]:.0f} s")

# %% [markdown]
# At the same number of sampled responses, read the intervals: both beat SFT on the tiny world (checked below),
# and GRPO's head-to-head with PPO says whether dropping the value model cost anything here, for a fraction of
# PPO's training time.

# %%
assert samples["PPO"] == samples["GRPO"], "the profile gives PPO and GRPO the same number of sampled responses"
assert all(0 <= w["ci95"][0] <= w["win_rate"] <= w["ci95"][1] <= 1 for w in results["win_rate"].values())
if data.is_world:  # gold's verdicts, which the text states for the world track
    assert results["win_rate"]["GRPO vs SFT"]["ci95"][0] > 0.5, "GRPO should beat SFT"
    assert results["win_rate"]["PPO vs SFT"]["ci95"][0] > 0.5, "PPO should beat SFT"
    assert seconds["GRPO"] < seconds["PPO"], "GRPO trains faster than PPO at the same number of responses"

# %% [markdown]
# ## RL from a verifiable reward
#
# A reward model is a learned guess of the labels, and lesson 09 showed a policy exploiting its mistakes. Where
# the reward can be *computed* (a maths answer checked against the solution, code against its tests), train on
# it directly: RL from verifiable rewards (RLVR; DeepSeek-R1, Tülu 3). The world's gold score is such a reward.
# Two GRPO runs, identical but for the reward, for twice the profile's steps: the learned reward model (the run
# above, continued) and gold itself; for both we plot the gold of their training samples.

# %%
q = max(1, STEPS // 2)  # a half-budget window at the end of each half of the run
runs["grpo"] = run("grpo", 2 * STEPS, trainer=runs["grpo"])  # continue the reward-model run to 2 x STEPS
if gold is None:
    print(f"{data.name}: {data.no_verifiable_reward}. RLVR needs a reward that can be computed (only the world "
          "has one here), so this section and its checks are skipped.")
else:
    runs["rlvr"] = run("grpo", 2 * STEPS, reward={"reward_fn": gold})
    fig, ax = plt.subplots(figsize=(6, 3))
    for name, label in (("grpo", "GRPO on the reward model"), ("rlvr", "GRPO on gold (RLVR)")):
        ax.plot(runs[name].gold_curve, alpha=0.25)
        ax.plot(smooth(runs[name].gold_curve, 10), color=ax.lines[-1].get_color(), label=label)
    ax.axvline(STEPS, color="grey", ls=":", lw=1)
    ax.set_xlabel("iteration")
    ax.set_ylabel("mean gold of the samples")
    ax.legend()
    plt.tight_layout()
    plt.show()
    halves = {name: [sum(runs[name].gold_curve[a:a + q]) / q for a in (STEPS - q, 2 * STEPS - q)]
              for name in ("grpo", "rlvr")}
    for name, (mid, end) in halves.items():
        print(f"{name.upper():4s} mean gold of the samples: steps {STEPS - q}-{STEPS} {mid:+.2f} -> "
              f"steps {2 * STEPS - q}-{2 * STEPS} {end:+.2f}")

# %% [markdown]
# Read the two curves after the dotted line (the profile's budget): on the world, gold keeps rising past the
# budget when it is the reward itself, and that run ends higher than the one on the learned reward model (both
# checked below); compare the two gains printed above. The reward model is right on average but wrong in places,
# and more optimisation finds those places; gold has none.

# %%
if gold is not None:
    assert halves["rlvr"][1] > halves["rlvr"][0], "on the verifiable reward, gold should keep rising past the budget"
    assert halves["rlvr"][1] > halves["grpo"][1], "the verifiable reward should reach a higher gold"

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
axes[1].set_ylabel("KL to the reference (nats)")
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

# %% [markdown]
# On the tiny world the tight leash holds the policy near SFT (over the last quarter of the run the loose run's KL
# is several times the tight one's, at least 1.3 times, checked below), and it costs reward-model score, with no
# better gold in its samples (both checked below): within this budget the reward model is still right about most
# of what the loose run found. β trades reward for staying close. Lesson 09 showed the other side: with no leash
# and a longer run the policy finds the reward model's errors (over-optimisation, Gao et al. 2022), reached by GRPO
# as by PPO. With an exact reward (RLVR) the leash matters less for the honesty of the reward, and several recipes
# drop it (DAPO; Dr. GRPO keeps β small); with a learned one it is what keeps the reward model on ground it knows.

# %%
assert len(tight.history) == len(loose.history) == 2 * STEPS
if data.is_world:  # gold's verdicts, which the text states for the world track
    late = {label: (sum(h["score"] for h in tr.history[-q:]) / q, sum(tr.gold_curve[-q:]) / q)
            for tr, label in ((loose, "loose"), (tight, "tight"))}
    assert late_kl[f"beta {profile.grpo.beta}"] > 1.3 * late_kl[f"beta {tight_beta:g}"], "the loose leash goes further"
    assert late["tight"][0] < late["loose"][0], "the tight leash costs reward-model score"
    assert late["tight"][1] < late["loose"][1] + 0.1, "and buys no gold"

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
# **Reading**: Williams 1992 (REINFORCE); Ahmadian et al. 2024, *Back to Basics: Revisiting REINFORCE Style
# Optimization for Learning from Human Feedback in LLMs* (RLOO); Shao et al. 2024, *DeepSeekMath* section 4
# (GRPO); Liu et al. 2025, *Understanding R1-Zero-Like Training* (Dr. GRPO); DeepSeek-AI 2025, *DeepSeek-R1*
# (RL from verifiable rewards); Gao et al. 2022, *Scaling Laws for Reward Model Overoptimization*.
