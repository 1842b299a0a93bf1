"""REINFORCE with a baseline (Williams 1992) and RLOO (Ahmadian et al. 2024, "Back to Basics"): the plain policy
gradient, one pass over each batch, no value model and no clipping.

The whole response is one action: its log-probability is the sum of its tokens' log-probs, and its reward is the
score minus beta times its KL to the reference (the KL inside the reward, as in RLHF's PPO, but per sequence):

    loss = -mean_i [ A_i * sum_t log pi(y_i,t | ...) ],   A_i = r_i - b_i

with the baseline b_i the mean reward of the batch (``baseline="mean"``) or the mean of the *other* samples of
the same prompt (``baseline="rloo"``, G samples per prompt: unbiased, and no value model to train).
"""

from __future__ import annotations

import torch

from rlcore.precision import scaled_step
from rlcore.rollout import by_group, masked_sum, response_logprobs, sequence_kl
from rlcore.training import RLTrainer


def rloo_advantages(rewards: torch.Tensor, group_size: int) -> torch.Tensor:
    """RLOO's advantages (Ahmadian et al. 2024): each reward minus the mean of the *other* G - 1 rewards of its
    group, a baseline that does not depend on the sample it judges (so the gradient stays unbiased).
    Equal to G / (G - 1) times the reward minus the group mean. rewards: (N,) group by group -> (N,)."""
    if group_size < 2:
        raise ValueError(f"RLOO needs at least two samples per prompt (group_size >= 2), got {group_size}")
    r = by_group(rewards.float(), group_size)  # (P, G)
    others = (r.sum(dim=1, keepdim=True) - r) / (group_size - 1)  # (P, G): mean of the other samples
    return (r - others).flatten()


class ReinforceTrainer(RLTrainer):
    """REINFORCE / RLOO: a policy, its frozen reference, and a reward model *or* a reward function. The set-up,
    guards and outer loop are :class:`rlcore.training.RLTrainer`'s; the algorithm is :meth:`step`."""

    hint = "lower the learning rate or raise beta"

    @property
    def name(self) -> str:
        return "RLOO" if self.config.baseline == "rloo" else "REINFORCE"

    def step(self, prompts: list[str]) -> dict:
        """One iteration on a batch of prompts; returns statistics."""
        cfg = self.config

        # 1. Experience: group_size samples of every prompt, group by group, scored (rlcore.rollout.collect).
        exp = self.experience(prompts, group_size=cfg.group_size)
        ids, attn, P = exp.rollout.input_ids, exp.rollout.attention_mask, exp.rollout.prompt_len  # (N, P+T)

        # 2. Sequence rewards with the KL inside, and the baseline.
        kl = sequence_kl(exp.logprobs, exp.ref_logprobs, exp.mask)  # (N,) nats per response
        rewards = exp.scores - cfg.beta * kl  # (N,)
        self.run.check_finite(score=exp.scores, kl=kl)
        if cfg.baseline == "rloo":
            advantages = rloo_advantages(rewards, cfg.group_size)  # (N,)
        else:
            advantages = rewards - rewards.mean()  # (N,)

        # 3. One pass over shuffled minibatches: the policy gradient of the whole response's log-probability.
        n = len(advantages)
        mb_size = n // cfg.num_minibatches
        scaler = self.run.scalers["policy"]  # loss scaling under float16 (rlcore.precision), else disabled
        losses, grad_norms = [], []
        for mb in self.minibatches(n, mb_size):
            logprobs = response_logprobs(self.policy, ids[mb], attn[mb], P)  # (mb, T)
            loss = -(advantages[mb] * masked_sum(logprobs, exp.mask[mb], dim=1)).mean()
            self.run.check_finite(loss=loss)  # stop before a NaN update
            self.optimizer.zero_grad()
            scaler.scale(loss).backward()  # float16 (a T4): scaled so small gradients survive; else the identity
            scaler.unscale_(self.optimizer)  # true gradients again, for the clip
            norm = torch.nn.utils.clip_grad_norm_(self.policy.parameters(), cfg.max_grad_norm)  # before the clip
            self.run.skipped_steps += scaled_step(scaler, self.optimizer)  # skips a step that overflowed
            losses.append(loss.item())
            grad_norms.append(norm.item())  # the policy gradient's size: how noisy each estimate is

        # 4. Statistics.
        stats = {"iteration": self.iteration, "loss": sum(losses) / len(losses), "score": exp.scores.mean().item(),
                 "kl": kl.mean().item(), "reward": rewards.mean().item(), "grad_norm": sum(grad_norms) / len(grad_norms),
                 "response_length": exp.mask.sum(1).mean().item()}
        return self.finish(stats, exp)  # counts the step, keeps the stats; a checkpoint when one is due
