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
# **Exercise (15 min, ★★).** Write `compute_gae` yourself for a *batch* with a `mask` (1 on the real
# tokens of each response, 0 on padding after EOS). The checker compares it with the reference on
# random cases, ragged masks included.

# %%
# EXERCISE: compute_gae
def my_compute_gae(rewards, values, mask, gamma, lam):
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
    ax.axvspan(0.8, 1.2, color="grey", alpha=0.15)
    ax.set_title(f"advantage {adv:+.0f}")
    ax.set_xlabel("ratio π/π_old")
axes[0].set_ylabel("loss")
axes[0].legend()
plt.show()

# Past 1 + epsilon with a positive advantage the loss is flat: no gradient pushes the ratio further.
log_ratio = torch.tensor([[1.3]]).log().requires_grad_()
policy_loss(log_ratio, torch.zeros(1, 1), torch.tensor([[1.0]]), torch.ones(1, 1)).backward()
assert log_ratio.grad.item() == 0.0, "the clipped loss gives no gradient past the clip"

# %% [markdown]
# **Exercise (10 min, ★★).** Write the clipped loss with a mask (mean over valid tokens only).

# %%
# EXERCISE: policy_loss
def my_policy_loss(logprobs, old_logprobs, advantages, mask, clip_range):
    ratio = torch.exp(logprobs - old_logprobs)
    per_token = torch.maximum(-advantages * ratio, -advantages * ratio.clamp(1 - clip_range, 1 + clip_range))
    return (per_token * mask).sum() / mask.sum()
# END EXERCISE

# %%
from rlcore.exercises import check_policy_loss

assert check_policy_loss(my_policy_loss)

# %% [markdown]
# ## Two ways to estimate KL from samples
#
# With $x = \log\pi(a) - \log\pi_\text{ref}(a)$ for a sampled token: **k1** $= x$ and
# **k3** $= (e^{-x} - 1) + x$ (Schulman 2020). Both average to the true KL. k3 is never negative, and
# when the policy is close to the reference — the RLHF regime — it varies much less than k1; far from
# the reference that advantage shrinks, and where $e^{-x}$ gets large k3 can even vary more (Schulman 2020). Computing $e^{-x} - 1$ as `expm1(-x)` keeps it exact when $x$ is tiny.

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

x = torch.tensor([1e-4], dtype=torch.float32)
print("k3 with exp - 1 :", ((torch.exp(-x) - 1) + x).item())
k3_tiny = kl_penalty(x, torch.zeros(1), "k3").item()
print("k3 with expm1   :", k3_tiny, " exact ~ x^2/2 =", 0.5e-8)
assert abs(k3_tiny - 0.5e-8) < 1e-10, "expm1 keeps k3 exact"

# %% [markdown]
# **Exercise (5 min, ★).** Write k3 so that it survives tiny log-ratios.

# %%
# EXERCISE: kl_k3
def my_kl_k3(logprobs, ref_logprobs):
    log_ratio = logprobs - ref_logprobs
    return torch.expm1(-log_ratio) + log_ratio
# END EXERCISE

# %%
from rlcore.exercises import check_kl_k3

assert check_kl_k3(my_kl_k3)

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
ax.legend(loc="upper right")
ax2.legend(loc="center right")
plt.show()
late = sum(kls[-50:]) / 50
print(f"KL over the last 50 steps: {late:.2f} (target 6.0), beta {betas[-1]:.3f}")
assert abs(late - 6.0) < 1.0, "the controller should bring KL near its target"
