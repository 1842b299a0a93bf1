"""Critic-free policy gradients over groups of samples: RLOO and GRPO (the trainers come next, issue #29).

Papers: Williams 1992 (REINFORCE); Ahmadian et al. 2024, "Back to Basics" (RLOO: the leave-one-out baseline);
Shao et al. 2024, DeepSeekMath (GRPO: group-relative advantages, the KL to the reference as a loss term);
Liu et al. 2025, "Understanding R1-Zero-Like Training" (Dr. GRPO: no std scaling, one constant normaliser).

Without a value model the baseline comes from the other samples of the same prompt: sample G responses per
prompt, and compare each response's reward with its group's. Rewards come flat, ``(N,)``, ordered group by group:
N = prompts x G, and rows ``g*G .. g*G + G - 1`` are the G responses to prompt g.
"""

from __future__ import annotations

import torch

from rlcore.ppo import kl_penalty

SCALES = ("group", "batch", "none")
LOSS_TYPES = ("grpo", "dr_grpo")


def _by_group(rewards: torch.Tensor, group_size: int) -> torch.Tensor:
    """(N,) -> (N // G, G), with one clear error when the shapes do not fit."""
    if rewards.dim() != 1:
        raise ValueError(f"rewards must be flat (N,), ordered group by group; got shape {tuple(rewards.shape)}")
    if group_size < 1 or rewards.numel() % group_size:
        raise ValueError(f"group_size {group_size} does not divide the {rewards.numel()} rewards "
                         "(N = prompts x group_size)")
    return rewards.view(-1, group_size)


def group_advantages(rewards: torch.Tensor, group_size: int, scale: str = "group", eps: float = 1e-6) -> torch.Tensor:
    """GRPO's advantages (Shao et al. 2024): each reward minus its group's mean, divided by the group's std
    (``scale="group"``), by the whole batch's std (``"batch"``), or not at all (``"none"``: Dr. GRPO, Liu et
    al. 2025, since dividing by a small std over-weights the prompts that are too easy or too hard).

    rewards: (N,) group by group -> (N,). A group whose rewards are all equal teaches nothing: its advantages are 0.
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    r = _by_group(rewards.float(), group_size)  # (P, G)
    centred = r - r.mean(dim=1, keepdim=True)  # (P, G)
    if scale == "group":
        std = r.std(dim=1, keepdim=True) if group_size > 1 else torch.zeros_like(centred)
        centred = centred / (std + eps)
    elif scale == "batch":
        centred = centred / (rewards.float().std() + eps)
    return centred.flatten()


def rloo_advantages(rewards: torch.Tensor, group_size: int) -> torch.Tensor:
    """RLOO's advantages (Ahmadian et al. 2024): each reward minus the mean of the *other* G - 1 rewards of its
    group, a baseline that does not depend on the sample it judges (so the gradient stays unbiased).
    Equal to G / (G - 1) times the reward minus the group mean. rewards: (N,) group by group -> (N,)."""
    if group_size < 2:
        raise ValueError(f"RLOO needs at least two samples per prompt (group_size >= 2), got {group_size}")
    r = _by_group(rewards.float(), group_size)  # (P, G)
    others = (r.sum(dim=1, keepdim=True) - r) / (group_size - 1)  # (P, G): mean of the other samples
    return (r - others).flatten()


def grpo_loss(logprobs: torch.Tensor, old_logprobs: torch.Tensor, ref_logprobs: torch.Tensor,
              advantages: torch.Tensor, mask: torch.Tensor, clip_range: float = 0.2, beta: float = 0.04,
              loss_type: str = "grpo", max_tokens: int | None = None) -> torch.Tensor:
    """GRPO's objective as a loss (Shao et al. 2024, eq. 3): per token, the clipped surrogate of PPO with the
    sequence's advantage, plus ``beta`` times the k3 estimate of KL(pi || pi_ref) (no KL inside the reward).

    logprobs, old_logprobs, ref_logprobs, mask: (N, T); advantages: (N,). Aggregation:
    ``"grpo"``: each sequence's mean over its tokens, then the mean over sequences (a long response's tokens
    count less each); ``"dr_grpo"``: the sum over every token divided by one constant, N x ``max_tokens``
    (default T), so every token counts the same (Liu et al. 2025).
    """
    if loss_type not in LOSS_TYPES:
        raise ValueError(f"loss_type must be one of {LOSS_TYPES}, got {loss_type!r}")
    if not (logprobs.shape == old_logprobs.shape == ref_logprobs.shape == mask.shape):
        raise ValueError("grpo_loss: logprobs, old_logprobs, ref_logprobs and mask must have one shape (N, T)")
    if advantages.shape != (logprobs.shape[0],):
        raise ValueError(f"advantages must be (N,) = ({logprobs.shape[0]},), got {tuple(advantages.shape)}")
    mask = mask.to(logprobs.dtype)
    ratio = torch.exp(logprobs - old_logprobs)  # (N, T)
    a = advantages.to(logprobs.dtype).unsqueeze(1)  # (N, 1): one advantage for every token of a response
    surrogate = torch.minimum(ratio * a, torch.clamp(ratio, 1.0 - clip_range, 1.0 + clip_range) * a)
    per_token = -surrogate + beta * kl_penalty(logprobs, ref_logprobs, "k3")  # (N, T)
    if loss_type == "grpo":
        return ((per_token * mask).sum(1) / mask.sum(1).clamp(min=1.0)).mean()
    return (per_token * mask).sum() / (mask.shape[0] * (max_tokens or mask.shape[1]))
