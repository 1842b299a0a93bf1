# %% [markdown]
# # 04 · GAE and the pieces of PPO
#
# **Learning goals**
# - Compute advantages with GAE by hand, then as the 10-line backward loop in `rlcore.gae`.
# - See what PPO's clipping does to the loss and its gradient.
# - Compare the k1 and k3 KL estimators, and watch the adaptive KL controller steer β.
#
# *Time: ~25 minutes on a CPU. Everything here runs on small tensors.*

# %%
import torch

from rlcore.config import get_profile, seed_everything

profile = get_profile()
seed_everything(profile.seed)
print("profile:", profile.name)

# %% [markdown]
# ## Rewards in RLHF: mostly zero, one score at the end
#
# The reward model scores the whole response, so the score lands on the **last** response token;
# every token also pays $-\beta \cdot \mathrm{KL}_t$ (`rlcore.ppo.compute_rewards`). A response of 4
# tokens, a KL coefficient of 0.1:

# %%
from rlcore.ppo import compute_rewards

logprobs = torch.tensor([[-1.0, -0.5, -2.0, -0.3]])  # log pi(token) under the policy
ref_logprobs = torch.tensor([[-1.2, -0.5, -1.0, -0.4]])  # ... and under the frozen reference
mask = torch.ones(1, 4)
rewards, kl = compute_rewards(torch.tensor([1.5]), logprobs, ref_logprobs, mask, kl_coef=0.1)
print("per-token KL (k1):", kl.tolist())
print("per-token reward: ", [round(x, 3) for x in rewards[0].tolist()])

# %% [markdown]
# Look at the third token: the policy gives it *less* probability than the reference does (log-probs -2.0 against
# -1.0), so its k1, $\log\pi - \log\pi_\text{ref} = -1$, is negative, and $-\beta \cdot \mathrm{KL}_t = +0.1$ is a
# *positive* reward. k1 is an estimate of the KL from one sampled token, and a single token can fall on either side:
# the KL itself, an expectation over the policy's tokens, is never negative, and k1 averages to it. A token the
# policy has made rarer than the reference did earns a little reward, which pulls the policy back towards the
# reference there: the leash works in both directions. (The k3 estimator below is never negative, token by token.)

# %%
assert kl[0, 2] < 0 and rewards[0, 2] > 0, "a token the policy made rarer: a negative k1, a positive reward"

# %% [markdown]
# ## GAE by hand
#
# $\delta_t = r_t + \gamma V(s_{t+1}) - V(s_t)$ (with $V$ after the last token $= 0$), and
# $A_t = \delta_t + \gamma\lambda A_{t+1}$ — read backwards from the end (Schulman et al. 2016).

# %%
values = torch.tensor([[0.2, 0.4, 0.1, 0.9]])
gamma, lam = 1.0, 0.95
T = rewards.shape[1]
by_hand = [0.0] * T
next_advantage = 0.0
for t in reversed(range(T)):
    next_value = values[0, t + 1].item() if t + 1 < T else 0.0
    delta = rewards[0, t].item() + gamma * next_value - values[0, t].item()
    next_advantage = delta + gamma * lam * next_advantage
    by_hand[t] = next_advantage
print("advantages by hand:", [round(a, 4) for a in by_hand])

from rlcore.gae import compute_gae

advantages, returns = compute_gae(rewards, values, mask, gamma, lam)
print("rlcore.gae:        ", [round(a, 4) for a in advantages[0].tolist()])
torch.testing.assert_close(advantages[0], torch.tensor(by_hand))

# %% [markdown]
# **Exercise (15 min, ★★).** `my_compute_gae(rewards, values, mask, gamma, lam)` → `(advantages, returns)`, for a
# *batch* with a `mask` (1 on the real tokens of each response, 0 on the padding after EOS); returns are advantages
# plus values, and both are 0 on padding. The checker puts values of 1000 on the padding (they must not leak into
# the last real token), tries λ = 0 and γ = λ = 1, and then runs PPO with your advantages.

# %% [markdown]
# <details><summary>Hint 1</summary>
#
# The loop by hand above, with every scalar replaced by a column `[:, t]` of the batch.
# </details>
# <details><summary>Hint 2</summary>
#
# After a row's last real token the next value is 0: zero the rewards and values on the padding first, and use
# `values[:, t + 1] * mask[:, t + 1]` as the next value.
# </details>
# <details><summary>Hint 3</summary>
#
# `delta = rewards[:, t] + gamma * next_value - values[:, t]`;
# `next_advantage = (delta + gamma * lam * next_advantage) * mask[:, t]`.
# </details>

# %%
# EXERCISE: compute_gae
def my_compute_gae(rewards, values, mask, gamma, lam):
    """rewards, values, mask (B, T) -> (advantages, returns), both (B, T) and 0 on padding."""
    mask = mask.to(rewards.dtype)
    rewards, values = rewards * mask, values * mask
    advantages = torch.zeros_like(rewards)
    next_advantage = torch.zeros(rewards.shape[0])
    for t in reversed(range(rewards.shape[1])):
        next_value = values[:, t + 1] * mask[:, t + 1] if t + 1 < rewards.shape[1] else torch.zeros_like(next_advantage)
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        next_advantage = (delta + gamma * lam * next_advantage) * mask[:, t]
        advantages[:, t] = next_advantage
    return advantages, (advantages + values) * mask
# END EXERCISE

# %%
from rlcore.exercises import check_compute_gae

assert check_compute_gae(my_compute_gae)

# %% [markdown]
# PPO then *whitens* the batch's advantages: it subtracts their mean and divides by their standard deviation, so the
# step size does not depend on the reward's scale. Only real tokens count: padding must move neither statistic.
#
# **Exercise (5 min, ★).** `my_masked_whiten(values, mask)` → `(values - mean) / sqrt(var + 1e-8)` with the mean
# and the unbiased variance (divide by n - 1) over the masked positions, 0 on padding. The checker puts 100 on the
# padding, then runs PPO with your whitening.

# %% [markdown]
# <details><summary>Hint 1</summary>
#
# A masked mean is a sum of `values * mask` over the sum of the mask; the variance is a masked mean too.
# </details>
# <details><summary>Hint 2</summary>
#
# Unbiased: the sum of squared deviations (masked) over `mask.sum() - 1`.
# </details>
# <details><summary>Hint 3</summary>
#
# `n = mask.sum()`; `mean = (values * mask).sum() / n`; `var = ((values - mean) ** 2 * mask).sum() / (n - 1)`;
# `(values - mean) / torch.sqrt(var + 1e-8) * mask`.
# </details>

# %%
# EXERCISE: masked_whiten
def my_masked_whiten(values, mask):
    """values, mask (B, T) -> (B, T): whitened over the masked positions, 0 on padding."""
    n = mask.sum()
    mean = (values * mask).sum() / n
    var = ((values - mean) ** 2 * mask).sum() / (n - 1)
    return (values - mean) * torch.rsqrt(var + 1e-8) * mask
# END EXERCISE

# %%
from rlcore.exercises import check_masked_whiten

assert check_masked_whiten(my_masked_whiten)

# %% [markdown]
# ## Clipping: a trust region on the cheap
#
# PPO's loss per token is $\max(-A\,\rho,\; -A\,\mathrm{clip}(\rho, 1-\epsilon, 1+\epsilon))$ with
# $\rho = \pi/\pi_\text{old}$ (Schulman et al. 2017). Once the ratio has moved far enough in the
# direction the advantage likes, the loss goes flat and the gradient is zero.

# %%
import matplotlib.pyplot as plt

from rlcore.ppo import policy_loss

ratios = torch.linspace(0.5, 1.5, 201)
fig, axes = plt.subplots(1, 2, figsize=(9, 3))
for ax, adv in zip(axes, (1.0, -1.0)):
    losses = [policy_loss(torch.log(r).view(1, 1), torch.zeros(1, 1), torch.tensor([[adv]]), torch.ones(1, 1)).item()
              for r in ratios]
    ax.plot(ratios, losses, label="clipped (PPO)")
    ax.plot(ratios, (-adv * ratios).tolist(), "--", label="unclipped")
    ax.axvspan(0.8, 1.2, color="grey", alpha=0.15, label="1 ± ε (ε = 0.2): inside it the ratio is never clipped")
    ax.set_title(f"advantage {adv:+.0f}")
    ax.set_xlabel("ratio π/π_old")
    ax.set_ylabel("loss (one token)")
axes[0].legend(fontsize=7)
plt.show()

# Past 1 + epsilon with a positive advantage the loss is flat: no gradient pushes the ratio further.
log_ratio = torch.tensor([[1.3]]).log().requires_grad_()
policy_loss(log_ratio, torch.zeros(1, 1), torch.tensor([[1.0]]), torch.ones(1, 1)).backward()
assert log_ratio.grad.item() == 0.0, "the clipped loss gives no gradient past the clip"

# %% [markdown]
# **Exercise (10 min, ★★).** `my_policy_loss(logprobs, old_logprobs, advantages, mask, clip_range)` → the clipped
# loss above as a scalar, averaged over the real tokens only. The checker uses clip ranges other than 0.2, puts huge
# ratios on the padding, and then runs PPO with your loss.

# %% [markdown]
# <details><summary>Hint 1</summary>
#
# The ratio comes from log-probs: exponentiate their difference.
# </details>
# <details><summary>Hint 2</summary>
#
# Both terms are *losses* (minus the advantage times a ratio); the pessimistic one is the larger.
# </details>
# <details><summary>Hint 3</summary>
#
# `torch.maximum(-A * ratio, -A * ratio.clamp(1 - clip_range, 1 + clip_range))`, then a masked mean.
# </details>

# %%
# EXERCISE: policy_loss
def my_policy_loss(logprobs, old_logprobs, advantages, mask, clip_range):
    """All (B, T) but clip_range -> scalar: the clipped surrogate loss, averaged over the real tokens."""
    ratio = torch.exp(logprobs - old_logprobs)
    per_token = torch.maximum(-advantages * ratio, -advantages * ratio.clamp(1 - clip_range, 1 + clip_range))
    return (per_token * mask).sum() / mask.sum()
# END EXERCISE

# %%
from rlcore.exercises import check_policy_loss

assert check_policy_loss(my_policy_loss)

# %% [markdown]
# The value model learns the returns, with a clip of its own: a clipped copy of each new value stays within
# `clip_range_value` of the value the advantages were computed with, and the loss keeps the *larger* of the two
# squared errors, the same pessimism as the policy's loss.
#
# **Exercise (10 min, ★★).** `my_value_loss(values, old_values, returns, mask, clip_range_value)` → 0.5 × the masked
# mean of the larger of the squared errors of the new value and of the clipped value. The checker tries unusual clip
# ranges, padding far from the returns, a batch of one, and then runs PPO with your value loss.

# %% [markdown]
# <details><summary>Hint 1</summary>
#
# The clipped value starts from the old value and moves by the new value's change, clamped to ±`clip_range_value`.
# </details>
# <details><summary>Hint 2</summary>
#
# `torch.maximum` of the two squared errors, then a masked mean, then the factor 0.5.
# </details>
# <details><summary>Hint 3</summary>
#
# `clipped = old_values + (values - old_values).clamp(-eps, eps)`;
# `0.5 * (torch.maximum((values - returns) ** 2, (clipped - returns) ** 2) * mask).sum() / mask.sum()`.
# </details>

# %%
# EXERCISE: value_loss
def my_value_loss(values, old_values, returns, mask, clip_range_value):
    """All (B, T) -> scalar: 0.5 * masked mean of max((V - R)^2, (V_clip - R)^2)."""
    clipped = old_values + (values - old_values).clamp(-clip_range_value, clip_range_value)
    per_token = torch.maximum((values - returns) ** 2, (clipped - returns) ** 2)
    return 0.5 * (per_token * mask).sum() / mask.sum()
# END EXERCISE

# %%
from rlcore.exercises import check_value_loss

assert check_value_loss(my_value_loss)

# %% [markdown]
# ## Two ways to estimate KL from samples
#
# With $x = \log\pi(a) - \log\pi_\text{ref}(a)$ for a sampled token: **k1** $= x$ and
# **k3** $= (e^{-x} - 1) + x$ (Schulman 2020). Both average to the true KL. k3 is never negative, and
# when the policy is close to the reference — the RLHF regime — it varies much less than k1; far from
# the reference that advantage shrinks (compare the two cases below), and where $e^{-x}$ gets very large k3 can even
# vary more (Schulman 2020).

# %%
from rlcore.ppo import kl_penalty

g = torch.Generator().manual_seed(0)
logits = torch.randn(8, generator=g)
p = torch.softmax(logits, 0)
std, error, negative = {}, {}, {}
for name, shift in (("close", 0.2), ("far", 1.5)):
    q = torch.softmax(logits + shift * torch.randn(8, generator=g), 0)
    exact = (p * (p / q).log()).sum().item()
    samples = torch.multinomial(p, 100_000, replacement=True, generator=g)
    for est in ("k1", "k3"):
        k = kl_penalty(p.log()[samples], q.log()[samples], est)
        std[name, est] = k.std().item()
        error[name, est] = abs(k.mean().item() - exact) / exact  # relative error of the estimate
        negative[name, est] = (k < 0).float().mean().item()
        print(f"{name:>5} {est}: mean {k.mean():.4f} (exact {exact:.4f}), std {k.std():.3f}, "
              f"share negative {negative[name, est]:.2f}")
assert max(error.values()) < 0.05, "both estimators average to the true KL"
assert negative["close", "k3"] == negative["far", "k3"] == 0, "k3 is never negative"
assert std["close", "k3"] < 0.2 * std["close", "k1"], "close to the reference k3 varies much less"
assert std["far", "k3"] / std["far", "k1"] > std["close", "k3"] / std["close", "k1"], "far from it, less so"


# %% [markdown]
# **Exercise (5 min, ★).** `my_kl_k3(logprobs, ref_logprobs)` → k3 per token. Close to the reference the log-ratios
# are tiny, and the checker tries log-ratios of $10^{-6}$ with a *relative* tolerance; then GRPO's trainer uses
# your k3 in its loss.

# %% [markdown]
# <details><summary>Hint 1</summary>
#
# At $x = 10^{-6}$ the true k3 is about $x^2/2 = 5 \cdot 10^{-13}$, while float32 holds about 7 significant digits
# of $e^{-x} \approx 0.999999$: subtracting 1 keeps almost none of them.
# </details>
# <details><summary>Hint 2</summary>
#
# `torch.expm1(y)` computes $e^y - 1$ without forming $e^y$ first.
# </details>
# <details><summary>Hint 3</summary>
#
# `log_ratio = logprobs - ref_logprobs`; `torch.expm1(-log_ratio) + log_ratio`.
# </details>

# %%
# EXERCISE: kl_k3
def my_kl_k3(logprobs, ref_logprobs):
    """logprobs, ref_logprobs (B, T) -> (B, T): the k3 estimate of KL(pi || pi_ref) per token."""
    log_ratio = logprobs - ref_logprobs
    return torch.expm1(-log_ratio) + log_ratio
# END EXERCISE

# %%
from rlcore.exercises import check_kl_k3

assert check_kl_k3(my_kl_k3)

# %% [markdown]
# Why the checker insists (it goes down to $x = 10^{-6}$): already at $x = 10^{-4}$ the naive $e^{-x} - 1$ gives
# a **negative** k3 below, which k3 can never be ($e^{-x} - 1 + x \geq 0$ for every $x$), while `expm1` stays exact.

# %%
x = torch.tensor([1e-4], dtype=torch.float32)
print("k3 with exp - 1 :", ((torch.exp(-x) - 1) + x).item())
k3_tiny = my_kl_k3(x, torch.zeros(1)).item()
print("k3 with expm1   :", k3_tiny, " exact ~ x^2/2 =", 0.5e-8)
assert abs(k3_tiny - 0.5e-8) < 1e-10, "expm1 keeps k3 exact"
assert ((torch.exp(-x) - 1) + x).item() < 0, "the naive formula gives a negative k3 here"

# %% [markdown]
# **Exercise (10 min, ★★).** Now PPO's reward, as the first cell of this lesson showed it:
# `my_per_token_rewards(scores, logprobs, ref_logprobs, mask, kl_coef, estimator)` → `(B, T)`, the KL penalty
# ($-\beta \cdot$ k1 or k3) on every response token, plus the reward model's score on each response's *last* token
# (responses end at different lengths), 0 on padding. The checker tries ragged responses, EOS in the last slot, an
# unusual β, β = 0, log-ratios of $10^{-6}$, and then runs PPO with your rewards.

# %% [markdown]
# <details><summary>Hint 1</summary>
#
# Two parts: a penalty on every masked token, and one addition per row at the index of its last masked token.
# </details>
# <details><summary>Hint 2</summary>
#
# The mask is 1 on a prefix, so the last response token of a row is at `mask.sum(1) - 1`; reuse your k3.
# </details>
# <details><summary>Hint 3</summary>
#
# `rewards = -kl_coef * kl * mask`, then `rewards[torch.arange(B), mask.sum(1).long() - 1] += scores`.
# </details>

# %%
# EXERCISE: per_token_rewards
def my_per_token_rewards(scores, logprobs, ref_logprobs, mask, kl_coef, estimator):
    """scores (B,), logprobs / ref_logprobs / mask (B, T) -> (B, T) rewards: -kl_coef * KL_t, plus the score last."""
    kl = logprobs - ref_logprobs if estimator == "k1" else my_kl_k3(logprobs, ref_logprobs)  # (B, T)
    rewards = -kl_coef * kl * mask
    last = mask.sum(1).long() - 1  # (B,) index of each response's last token
    rewards[torch.arange(rewards.shape[0]), last] += scores
    return rewards
# END EXERCISE

# %%
from rlcore.exercises import check_per_token_rewards

assert check_per_token_rewards(my_per_token_rewards)

# %% [markdown]
# ## The adaptive KL controller (Ziegler et al. 2019)
#
# $e = \mathrm{clip}(\mathrm{KL}/\mathrm{target} - 1, -0.2, 0.2)$, then
# $\beta \leftarrow \beta\,(1 + e \cdot n/\text{horizon})$. If KL runs above target β grows, and the
# leash tightens. A simulated run: as in the closed form of notebook 00, the KL the policy settles at
# shrinks as β grows (here KL ≈ 0.6/β, with noise), and β starts far too small.

# %%
from rlcore.ppo import AdaptiveKLController

ctl = AdaptiveKLController(init_kl_coef=0.03, target=6.0, horizon=1000)
noise = torch.Generator().manual_seed(0)
betas, kls = [], []
for step in range(400):
    kl = 0.6 / ctl.value * (1 + 0.1 * torch.randn(1, generator=noise).item())
    ctl.update(kl, n_steps=32)
    betas.append(ctl.value)
    kls.append(kl)
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(kls, label="KL")
ax.axhline(6.0, ls="--", color="grey", label="target")
ax2 = ax.twinx()
ax2.plot(betas, color="C1", label="β")
ax.set_xlabel("step")
ax.set_ylabel("KL (nats)")
ax2.set_ylabel("KL coefficient β")
lines = ax.get_lines() + ax2.get_lines()  # one legend for both axes, where the curves are not (KL low, β high)
ax.legend(lines, [line.get_label() for line in lines], loc="center right", fontsize=8)
plt.show()
late = sum(kls[-50:]) / 50
print(f"KL over the last 50 steps: {late:.2f} (target 6.0), beta {betas[-1]:.3f}")
assert abs(late - 6.0) < 1.0, "the controller should bring KL near its target"

# %% [markdown]
# ## Things to try
# - Run your `my_compute_gae` with λ = 0 and λ = 1 on the 4-token example at the top. Which one sums every reward to
#   come, and which one only looks one step ahead?
# - Set `horizon=100` in the controller above: does the KL reach its target faster, and does β overshoot?
# - Whiten the advantages of a batch of one response of one token with your `my_masked_whiten`. What comes back,
#   and why does the library add `1e-8` under the square root?
