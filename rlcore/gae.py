"""Generalised Advantage Estimation (Schulman et al. 2016, "High-Dimensional Continuous Control
Using Generalized Advantage Estimation"), written as the explicit backward loop it is.

    delta_t = r_t + gamma * V(s_{t+1}) - V(s_t)          (TD error; V after the last token = 0)
    A_t     = delta_t + gamma * lam * A_{t+1}
    R_t     = A_t + V(s_t)                                (the value target, "returns")

In RLHF one episode is one response: a state is the prompt plus the tokens so far, an action is the
next token, and the episode ends at EOS or when max_new_tokens cuts it.
"""

from __future__ import annotations

import torch

from rlcore.rollout import check_prefix_mask


def compute_gae(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor,
                gamma: float = 1.0, lam: float = 0.95) -> tuple[torch.Tensor, torch.Tensor]:
    """Advantages and returns for a batch of responses.

    Args:
        rewards: (B, T) per-token rewards.
        values:  (B, T) value estimates V(s_t) before each token.
        mask:    (B, T) 1 on a contiguous prefix of real response tokens, 0 after.
        gamma:   discount in [0, 1]; lam: GAE lambda in [0, 1].
    Returns:
        advantages, returns: (B, T), both 0 where mask is 0; returns = advantages + values on valid tokens.
    """
    if rewards.shape != values.shape or rewards.shape != mask.shape:
        raise ValueError(f"rewards {tuple(rewards.shape)}, values {tuple(values.shape)} and mask "
                         f"{tuple(mask.shape)} must all have the same shape (batch, T)")
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must be in [0, 1], got {gamma}")
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lam must be in [0, 1], got {lam}")
    check_prefix_mask(mask, "compute_gae mask")

    mask = mask.to(rewards.dtype)
    rewards, values = rewards * mask, values * mask  # nothing leaks in from padding
    batch, T = rewards.shape
    advantages = torch.zeros_like(rewards)
    next_advantage = torch.zeros(batch, dtype=rewards.dtype, device=rewards.device)
    for t in reversed(range(T)):
        # V(s_{t+1}) is 0 when t is the last valid token (mask[t+1] = 0) or the last column.
        next_value = values[:, t + 1] * mask[:, t + 1] if t + 1 < T else torch.zeros_like(next_advantage)
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        next_advantage = (delta + gamma * lam * next_advantage) * mask[:, t]
        advantages[:, t] = next_advantage
    returns = (advantages + values) * mask
    return advantages, returns
