# %% [markdown]
# # 00 · RL and RLHF in one picture
#
# **Learning goals**
# - Name the RL pieces in a language model: state, action, policy, reward, episode.
# - Say what the three steps of RLHF are: SFT → reward model → RL (PPO).
# - See why RLHF keeps the policy on a *leash*: a KL penalty to the model it started from.
#
# *Time: ~10 minutes on a CPU.*

# %%
from rlcore.course import start
from rlcore.models import load_frozen

# the profile: RLCORE_PROFILE, else "tiny" on a CPU and "gpt-neo-125m" on a GPU (every random generator seeded by it);
# its data: the synthetic world, or preference data (HH-RLHF on the GPU track, or your file)
profile, data = start()
model, tokenizer = load_frozen(profile.policy_model, profile)  # the pretrained (base) model
print(f"profile {profile.name} | policy {profile.policy_model} | data {data.name}")

# %% [markdown]
# ## A language model is a policy
#
# | RL word | in a language model |
# | --- | --- |
# | **state** $s_t$ | the prompt plus the tokens written so far |
# | **action** $a_t$ | the next token |
# | **policy** $\pi_\theta(a_t \mid s_t)$ | the model's next-token distribution |
# | **episode** | one response, ending at EOS (or when we stop it) |
# | **reward** | a score for the whole response, given at its last token |
#
# The tiny track of this course lives in a small synthetic *assistant world* whose true preference is a
# program, the **gold judge** (see `course/world.md`): every response has a true score. On preference data
# (HH-RLHF on the GPU track, or your own file) there is no such program: what we know is which of two
# responses people chose. Here is one state and two possible episodes, with what we know about them:

# %%
import random

if data.is_world:  # the difference this lesson teaches: the world scores every answer; a dataset ranks two
    from rlcore import world
    from rlcore.world.corpus import WEB_MIX

    world_prompt = world.sample_prompts("train", 1, seed=3, families=("harmful",))[0]
    prompt = world_prompt.text
    rng = random.Random(0)
    # every way the world's web answers a harmful request, how often it does, and the gold score of each
    answers = {style: world.respond(world_prompt, style, rng) for style in WEB_MIX["harmful"]}
    pi_ref = [WEB_MIX["harmful"][style] for style in answers]
    reward = [world.gold_score(prompt, a) for a in answers.values()]
    for style in ("compliance", "refusal_alternative"):
        print(f"{style:>20}: gold = {world.gold_score(prompt, answers[style]):+.2f} |{answers[style]}")
else:
    pair = min(data.test_pairs(20), key=lambda p: len(p.prompt))  # a short held-out conversation
    prompt = pair.prompt
    answers = {"chosen": pair.chosen, "rejected": pair.rejected}
    reward = [1.0, -1.0]  # all a preference dataset says: people chose one response over the other
    for name, text in answers.items():
        print(f"{name:>9}: |{text}")
print("\nprompt:", repr(prompt))

# %% [markdown]
# The base model is a policy too. Below it writes one episode for that prompt, one action (token) at a
# time; each action is drawn from $\pi_\theta(\cdot \mid s_t)$ and changes the state.

# %%
from rlcore.rollout import generate

rollout = generate(model, tokenizer, [prompt], max_new_tokens=profile.lengths.max_new_tokens, seed=profile.seed,
                   max_prompt_tokens=profile.lengths.max_prompt_tokens, return_logprobs=True)
n_actions = int(rollout.response_mask[0].sum())
for t in range(min(n_actions, 8)):
    token = tokenizer.decode([int(rollout.response_ids[0, t])])
    print(f"a_{t} = {token!r:<14} log pi(a_{t} | s_{t}) = {rollout.logprobs[0, t].item():6.2f}")
print(f"... {n_actions} actions in all; the episode: |{rollout.responses[0]}")

# %%
# An episode is the response tokens up to and including EOS: the mask covers a prefix of the row.
mask = rollout.response_mask[0]
assert 1 <= n_actions <= profile.lengths.max_new_tokens and mask[:n_actions].all() and not mask[n_actions:].any()

# %% [markdown]
# ## The three steps
#
# 1. **SFT**: fine-tune the pretrained model on demonstrations of good answers.
# 2. **Reward model**: people (RLHF) or an AI labeler (RLAIF) compare pairs of answers; a model learns
#    to give the preferred one a higher score (Bradley–Terry ranking loss).
# 3. **RL**: PPO makes the SFT model write answers the reward model scores highly, while a KL penalty
#    keeps it close to the SFT model.

# %%
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(10, 1.8))
steps = ["pretrained\nmodel", "SFT\n(demonstrations)", "reward model\n(human or AI labels)", "PPO\n(reward − β·KL)"]
for i, label in enumerate(steps):
    ax.add_patch(plt.Rectangle((i * 2.6, 0), 2.0, 1.0, fc="#dde6f3", ec="#4c72b0"))
    ax.text(i * 2.6 + 1.0, 0.5, label, ha="center", va="center", fontsize=10)
    if i:
        ax.annotate("", xy=(i * 2.6, 0.5), xytext=(i * 2.6 - 0.6, 0.5), arrowprops=dict(arrowstyle="->"))
ax.set_xlim(-0.1, 10.5)
ax.set_ylim(-0.1, 1.1)
ax.axis("off")
plt.show()

# %% [markdown]
# ## KL as the leash
#
# RLHF maximises $\;\mathbb{E}_{y\sim\pi}[r(y)] - \beta\,\mathrm{KL}(\pi \,\|\, \pi_\text{ref})$. For a
# single choice among a few answers this has a closed form (e.g. Rafailov et al. 2023, eq. 4):
# $\pi^*(y) \propto \pi_\text{ref}(y)\, e^{r(y)/\beta}$.
# A large β keeps the reference's habits; a small β chases the reward. Below, the "answers" are those of
# the state above. On the world track they are the world's response styles to a harmful request,
# $\pi_\text{ref}$ is how often the web writes each, and $r$ is the gold score. On preference data they
# are the chosen and the rejected response, $\pi_\text{ref}$ is the base model's probability of each
# (renormalised over the two), and $r$ is +1 for the response people chose and −1 for the other.

# %%
import math

import torch

from rlcore.data import tokenize_prompt_response
from rlcore.rollout import forward_logits, logprobs_from_logits, masked_sum

if not data.is_world:  # no web mix to read pi_ref from: log pi_ref(y | prompt), the sum of its token log-probs
    ids, attention, response_mask = tokenize_prompt_response(tokenizer, [prompt] * len(answers), list(answers.values()),
                                                             device=model.device,
                                                             max_length=profile.lengths.max_length,
                                                             max_prompt_tokens=profile.lengths.max_prompt_tokens)
    with torch.no_grad():
        token_logprobs = logprobs_from_logits(forward_logits(model, ids, attention)[:, :-1], ids[:, 1:])  # (B, L-1)
    log_pi = masked_sum(token_logprobs, response_mask[:, 1:].to(token_logprobs.dtype), dim=1)  # (B,)
    pi_ref = torch.softmax(log_pi, 0).tolist()
    print("log pi_ref of each answer:", {k: round(v, 1) for k, v in zip(answers, log_pi.tolist())})
names = list(answers)

# %% [markdown]
# ### Exercise: the optimal policy of the leash
#
# Write $\pi^*$: given $\pi_\text{ref}$ `(K,)` (probabilities that sum to 1), the rewards `(K,)` and β > 0, return
# `(K,)` with $\pi^*(y) \propto \pi_\text{ref}(y)\,e^{r(y)/\beta}$, summing to 1. The checker tries a hand-worked
# case, a β so small that $e^{r/\beta}$ overflows, a β so large that nothing moves, equal rewards, and an answer the
# reference never writes.
#
# <details><summary>Hint 1</summary>
#
# Multiply, then divide by the sum. But at β = 0.001 a reward of 5 gives $e^{5000}$: infinity in any float.
# </details>
# <details><summary>Hint 2</summary>
#
# Work with logarithms: $\log\pi^*(y) = \log\pi_\text{ref}(y) + r(y)/\beta + \text{const}$, and a softmax
# subtracts the largest logit before it exponentiates.
# </details>
# <details><summary>Hint 3</summary>
#
# `torch.softmax(torch.log(pi_ref) + reward / beta, dim=0)` (the log of a 0 probability is -inf, and a softmax
# gives it exactly 0).
# </details>

# %%
# EXERCISE: optimal_policy
def my_optimal_policy(pi_ref, reward, beta):
    """pi_ref (K,) probabilities, reward (K,), beta > 0 -> (K,): pi*(y) proportional to pi_ref(y) exp(r(y) / beta)."""
    logits = torch.log(pi_ref) + reward / beta  # (K,): log pi* up to a constant
    return torch.softmax(logits, dim=0)
# END EXERCISE

# %%
from rlcore.exercises import check_optimal_policy

assert check_optimal_policy(my_optimal_policy)

# %%
pi_ref_t, reward_t = torch.tensor(pi_ref), torch.tensor(reward)  # (K,), (K,)


def optimal_policy(beta):
    return my_optimal_policy(pi_ref_t, reward_t, beta).tolist()


fig, ax = plt.subplots(figsize=(8, 3))
betas = [10.0, 1.0, 0.3]
width = 0.2
ax.bar([i - width for i in range(len(names))], pi_ref, width, label="π_ref")
for k, beta in enumerate(betas):
    ax.bar([i + k * width for i in range(len(names))], optimal_policy(beta), width, label=f"π*, β={beta}")
ax.set_xticks(range(len(names)), [n.replace("_", "\n") for n in names], fontsize=8)  # a word a line: no overlap
ax.set_xlabel("response")
ax.set_ylabel("probability")
ax.legend()
plt.show()
for beta in betas:
    pi = optimal_policy(beta)
    kl = sum(p * math.log(p / q) for p, q in zip(pi, pi_ref) if p > 0)
    print(f"beta={beta:>4}: expected reward {sum(p * r for p, r in zip(pi, reward)):+.2f}, KL to reference {kl:.2f} nats")

# %%
# The leash at work: a smaller beta buys at least as much reward and pays in KL.
pis = [optimal_policy(b) for b in betas]
gains = [sum(p * r for p, r in zip(pi, reward)) for pi in pis]
kls = [sum(p * math.log(p / q) for p, q in zip(pi, pi_ref) if p > 0) for pi in pis]
assert all(a <= b + 1e-9 for a, b in zip(gains, gains[1:])), "lower beta must give at least as much expected reward"
assert all(a <= b + 1e-9 for a, b in zip(kls, kls[1:])), "lower beta must move at least as far from the reference"

# %% [markdown]
# **Exercise (5 min).** Which β makes the policy choose the answer with the highest reward at least 90% of the time
# (on the world track, the best of the world's answers to a harmful request; on preference data, the chosen
# response)? Guess first from the chart, then let your `my_optimal_policy` answer on a grid of β from 0.001 to 100.
# The share of the best answer only grows as β shrinks, so one β divides the grid.

# %%
best = max(range(len(names)), key=reward.__getitem__)  # the answer with the highest reward
grid = [10 ** (k / 20) for k in range(-60, 41)]  # beta from 0.001 to 100, 20 steps a decade
share = [my_optimal_policy(pi_ref_t, reward_t, beta)[best].item() for beta in grid]
largest = max(beta for beta, s in zip(grid, share) if s >= 0.9)
print(f"the best answer is {names[best]!r} (reward {reward[best]:+.2f}, pi_ref {pi_ref[best]:.2f}); pi* gives it at "
      f"least 90% for every beta up to {largest:.3g}, and less above it")

# %%
# A second formula for the same share:
# pi*(best) = 1 / (1 + sum over the others of pi_ref(y) / pi_ref(best) * exp((r(y) - r(best)) / beta))
def share_of_best(beta):
    return 1 / (1 + sum(p / pi_ref[best] * math.exp((r - reward[best]) / beta)
                        for i, (p, r) in enumerate(zip(pi_ref, reward)) if i != best))


assert share_of_best(largest) >= 0.9 - 1e-6 and all(share_of_best(b) < 0.9 for b in grid if b > largest)
