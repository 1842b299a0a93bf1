"""Critic-free policy gradients over groups of samples: RLOO's and GRPO's advantages, GRPO's loss and trainer.

Papers: Williams 1992 (REINFORCE); Ahmadian et al. 2024, "Back to Basics" (RLOO: the leave-one-out baseline);
Shao et al. 2024, DeepSeekMath (GRPO: group-relative advantages, the KL to the reference as a loss term);
Liu et al. 2025, "Understanding R1-Zero-Like Training" (Dr. GRPO: no std scaling, one constant normaliser).

Without a value model the baseline comes from the other samples of the same prompt: sample G responses per
prompt, and compare each response's reward with its group's. Rewards come flat, ``(N,)``, ordered group by group:
N = prompts x G, and rows ``g*G .. g*G + G - 1`` are the G responses to prompt g.
"""

from __future__ import annotations

import torch

from rlcore.config import LOSS_TYPES, SCALES, GroupConfig, Lengths
from rlcore.precision import scaled_step
from rlcore.ppo import kl_penalty
from rlcore.rollout import collect, masked_mean, require_pad_token, response_logprobs, scorer
from rlcore.training import TrainingRun, make_optimizer, train_steps


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


# --------------------------------------------------------------------------- trainer
class GroupTrainer:
    """What the critic-free trainers share, none of it the algorithm: the frozen reference and reward, the optimizer,
    the seeded sampling generator, guards and checkpoints (rlcore.training.TrainingRun), the outer loop.
    A subclass writes ``step(prompts) -> stats``."""

    hint = "lower the learning rate or raise beta"

    def __init__(self, policy, ref_policy, tokenizer, config: GroupConfig, lengths: Lengths = Lengths(), seed: int = 0,
                 reward_model=None, reward_fn=None):
        require_pad_token(tokenizer)
        self.policy, self.ref_policy, self.tokenizer, self.config = policy, ref_policy, tokenizer, config
        self.lengths = lengths
        self.score = scorer(tokenizer, reward_model, reward_fn, lengths)
        for frozen in (ref_policy, reward_model):
            if frozen is not None:
                frozen.eval().requires_grad_(False)
        self.optimizer = make_optimizer(policy, config.lr)
        self.generator = torch.Generator().manual_seed(seed)
        self.iteration, self.history = 0, []
        self.run = TrainingRun(self.name, {"policy": policy}, {"policy": self.optimizer},
                               generators={"rollout": self.generator}, extra_state=self._extra_state,
                               load_extra=self._load_extra, distributed=False, hint=self.hint)

    @property
    def name(self) -> str:
        return type(self).__name__.removesuffix("Trainer").upper()

    def _extra_state(self) -> dict:
        return {"iteration": self.iteration, "history": list(self.history)}

    def _load_extra(self, extra: dict) -> None:
        self.iteration, self.history = extra["iteration"], list(extra["history"])

    def train(self, prompt_batches, steps: int, progress: bool = True, callback=None, checkpoint_dir=None,
              checkpoint_every: int = 0, resume: bool = False) -> list[dict]:
        """Up to ``steps`` iterations, one batch of prompts each (``rlcore.training.train_steps``)."""
        return train_steps(self, prompt_batches, steps, self.name, progress, callback, checkpoint_dir,
                           checkpoint_every, resume)


class GRPOTrainer(GroupTrainer):
    """GRPO (Shao et al. 2024): a policy, its frozen reference, and a reward model *or* a reward function; no value
    model. One iteration, top to bottom in :meth:`step`: G samples per prompt -> scores -> group-relative
    advantages -> minibatches of the clipped loss with the KL term -> zero_grad, backward, clip, step."""

    def step(self, prompts: list[str]) -> dict:
        """One GRPO iteration on a batch of prompts; returns statistics."""
        cfg = self.config
        if len(prompts) != cfg.batch_size:
            raise ValueError(f"step() got {len(prompts)} prompts; the config's batch_size is {cfg.batch_size}")
        self.policy.eval()  # no dropout: the same forward pass for old and new log-probs

        # 1. Experience: group_size samples of every prompt, group by group, scored (rlcore.rollout.collect).
        sample_seed = int(torch.randint(0, 2**31 - 1, (1,), generator=self.generator))
        exp = collect(self.policy, self.ref_policy, self.tokenizer, prompts, self.score, self.lengths.max_new_tokens,
                      self.lengths.max_prompt_tokens, temperature=cfg.temperature, seed=sample_seed,
                      group_size=cfg.group_size)
        ids, attn, P = exp.rollout.input_ids, exp.rollout.attention_mask, exp.rollout.prompt_len  # (N, P+T)
        self.run.check_finite(score=exp.scores)

        # 2. Advantages: each sample against the other samples of its prompt; no value model.
        advantages = group_advantages(exp.scores, cfg.group_size, cfg.scale)  # (N,)

        # 3. Optimise: epochs x shuffled minibatches of the clipped surrogate + beta * KL(pi || pi_ref).
        n = len(advantages)
        mb_size = n // cfg.num_minibatches
        scaler = self.run.scalers["policy"]  # loss scaling under float16 (rlcore.precision), else disabled
        losses = []
        for _ in range(cfg.epochs):
            order = torch.randperm(n, generator=self.generator)
            for start in range(0, n, mb_size):
                mb = order[start:start + mb_size]
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
        kl = kl_penalty(exp.logprobs, exp.ref_logprobs, "k1") * exp.mask  # (N, T)
        stats = {"iteration": self.iteration, "loss": sum(losses) / len(losses), "score": exp.scores.mean().item(),
                 "kl": kl.sum(1).mean().item(), "response_length": exp.mask.sum(1).mean().item(),
                 "zero_advantage_groups": (exp.scores.view(-1, cfg.group_size).std(1) == 0).float().mean().item(),
                 "entropy_proxy": -masked_mean(exp.logprobs, exp.mask).item(),
                 "skipped_steps": self.run.skipped_steps}  # so far: float16 updates that overflowed (rlcore.precision)
        self.iteration += 1
        self.history.append(stats)
        self.last_experience = exp
        self.run.end_step()  # counts the step; writes a checkpoint when one is due
        return stats
