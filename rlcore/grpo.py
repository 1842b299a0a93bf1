"""GRPO: critic-free policy gradients over groups of samples: group-relative advantages, GRPO's loss and trainer.

Papers: Williams 1992 (REINFORCE); Ahmadian et al. 2024, "Back to Basics" (RLOO: the leave-one-out baseline);
Shao et al. 2024, DeepSeekMath (GRPO: group-relative advantages, the KL to the reference as a loss term);
Liu et al. 2025, "Understanding R1-Zero-Like Training" (Dr. GRPO: no std scaling, one constant normaliser).

Without a value model the baseline comes from the other samples of the same prompt: sample G responses per
prompt, and compare each response's reward with its group's. Rewards come flat, ``(N,)``, ordered group by group:
N = prompts x G, and rows ``g*G .. g*G + G - 1`` are the G responses to prompt g.
"""

from __future__ import annotations

import torch

from rlcore.config import LOSS_TYPES, SCALES
from rlcore.precision import scaled_step
from rlcore.rollout import by_group, kl_penalty, masked_mean, response_logprobs, sequence_kl
from rlcore.training import RLTrainer


def group_advantages(rewards: torch.Tensor, group_size: int, scale: str = "group", eps: float = 1e-6) -> torch.Tensor:
    """GRPO's advantages (Shao et al. 2024): each reward minus its group's mean, divided by the group's std
    (``scale="group"``), by the whole batch's std (``"batch"``), or not at all (``"none"``: Dr. GRPO, Liu et
    al. 2025, since dividing by a small std over-weights the prompts that are too easy or too hard).

    rewards: (N,) group by group -> (N,). A group whose rewards are all equal teaches nothing: its advantages are 0.
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    r = by_group(rewards.float(), group_size)  # (P, G)
    centred = r - r.mean(dim=1, keepdim=True)  # (P, G)
    if scale == "group":
        std = r.std(dim=1, keepdim=True) if group_size > 1 else torch.zeros_like(centred)
        centred = centred / (std + eps)
    elif scale == "batch":
        centred = centred / (rewards.float().std() + eps)
    return centred.flatten()


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


# --------------------------------------------------------------------------- trainer
class GRPOTrainer(RLTrainer):
    """GRPO (Shao et al. 2024): a policy, its frozen reference, and a reward model *or* a reward function; no value
    model. One iteration, top to bottom in :meth:`step`: G samples per prompt -> scores -> group-relative
    advantages -> minibatches of the clipped loss with the KL term -> zero_grad, backward, clip, step. The set-up,
    guards and outer loop are :class:`rlcore.training.RLTrainer`'s."""

    hint = "lower the learning rate or raise beta"

    def step(self, prompts: list[str]) -> dict:
        """One GRPO iteration on a batch of prompts; returns statistics."""
        cfg = self.config

        # 1. Experience: group_size samples of every prompt, group by group, scored (rlcore.rollout.collect).
        exp = self.experience(prompts, group_size=cfg.group_size)
        ids, attn, P = exp.rollout.input_ids, exp.rollout.attention_mask, exp.rollout.prompt_len  # (N, P+T)
        self.run.check_finite(score=exp.scores)

        # 2. Advantages: each sample against the other samples of its prompt; no value model.
        advantages = group_advantages(exp.scores, cfg.group_size, cfg.scale)  # (N,)

        # 3. Optimise: epochs x shuffled minibatches of the clipped surrogate + beta * KL(pi || pi_ref).
        n = len(advantages)
        mb_size = n // cfg.num_minibatches
        scaler = self.run.scalers["policy"]  # loss scaling under float16 (rlcore.precision), else disabled
        losses = []
        for mb in self.minibatches(n, mb_size, cfg.epochs):
            logprobs = response_logprobs(self.policy, ids[mb], attn[mb], P)  # (mb, T)
            loss = grpo_loss(logprobs, exp.logprobs[mb], exp.ref_logprobs[mb], advantages[mb], exp.mask[mb],
                             cfg.clip_range, cfg.beta, cfg.loss_type, self.lengths.max_new_tokens)
            self.run.check_finite(loss=loss)  # stop before a NaN update
            self.optimizer.zero_grad()
            scaler.scale(loss).backward()  # float16 (a T4): scaled so small gradients survive; else the identity
            scaler.unscale_(self.optimizer)  # true gradients again, for the clip
            torch.nn.utils.clip_grad_norm_(self.policy.parameters(), cfg.max_grad_norm)
            self.run.skipped_steps += scaled_step(scaler, self.optimizer)  # skips a step that overflowed
            losses.append(loss.item())

        # 4. Statistics.
        stats = {"iteration": self.iteration, "loss": sum(losses) / len(losses), "score": exp.scores.mean().item(),
                 "kl": sequence_kl(exp.logprobs, exp.ref_logprobs, exp.mask).mean().item(),
                 "response_length": exp.mask.sum(1).mean().item(),
                 "zero_advantage_groups": (by_group(exp.scores, cfg.group_size).std(1) == 0).float().mean().item(),
                 "entropy_proxy": -masked_mean(exp.logprobs, exp.mask).item()}
        return self.finish(stats, exp)  # counts the step, keeps the stats; a checkpoint when one is due
