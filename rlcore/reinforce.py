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

from rlcore.grpo import GroupTrainer, rloo_advantages
from rlcore.ppo import kl_penalty
from rlcore.precision import scaled_step
from rlcore.rollout import collect, masked_sum, response_logprobs

class ReinforceTrainer(GroupTrainer):
    """REINFORCE / RLOO: a policy, its frozen reference, and a reward model *or* a reward function. The set-up,
    guards and outer loop are ``rlcore.grpo.GroupTrainer``'s; the algorithm is :meth:`step`."""

    @property
    def name(self) -> str:
        return "RLOO" if self.config.baseline == "rloo" else "REINFORCE"

    def step(self, prompts: list[str]) -> dict:
        """One iteration on a batch of prompts; returns statistics."""
        cfg = self.config
        if len(prompts) != cfg.batch_size:
            raise ValueError(f"step() got {len(prompts)} prompts; the config's batch_size is {cfg.batch_size}")
        self.policy.eval()  # no dropout

        # 1. Experience: group_size samples of every prompt, group by group, scored (rlcore.rollout.collect).
        sample_seed = int(torch.randint(0, 2**31 - 1, (1,), generator=self.generator))
        exp = collect(self.policy, self.ref_policy, self.tokenizer, prompts, self.score, self.lengths.max_new_tokens,
                      self.lengths.max_prompt_tokens, temperature=cfg.temperature, seed=sample_seed,
                      group_size=cfg.group_size)
        ids, attn, P = exp.rollout.input_ids, exp.rollout.attention_mask, exp.rollout.prompt_len  # (N, P+T)

        # 2. Sequence rewards with the KL inside, and the baseline.
        kl = masked_sum(kl_penalty(exp.logprobs, exp.ref_logprobs, "k1"), exp.mask, dim=1)  # (N,) nats per response
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
        losses = []
        order = torch.randperm(n, generator=self.generator)
        for start in range(0, n, mb_size):
            mb = order[start:start + mb_size]
            logprobs = response_logprobs(self.policy, ids[mb], attn[mb], P)  # (mb, T)
            loss = -(advantages[mb] * masked_sum(logprobs, exp.mask[mb], dim=1)).mean()
            self.run.check_finite(loss=loss)  # stop before a NaN update
            self.optimizer.zero_grad()
            scaler.scale(loss).backward()  # float16 (a T4): scaled so small gradients survive; else the identity
            scaler.unscale_(self.optimizer)  # true gradients again, for the clip
            torch.nn.utils.clip_grad_norm_(self.policy.parameters(), cfg.max_grad_norm)
            self.run.skipped_steps += scaled_step(scaler, self.optimizer)  # skips a step that overflowed
            losses.append(loss.item())

        # 4. Statistics.
        stats = {"iteration": self.iteration, "loss": sum(losses) / len(losses), "score": exp.scores.mean().item(),
                 "kl": kl.mean().item(), "reward": rewards.mean().item(),
                 "response_length": exp.mask.sum(1).mean().item(),
                 "skipped_steps": self.run.skipped_steps}  # so far: float16 updates that overflowed (rlcore.precision)
        self.iteration += 1
        self.history.append(stats)
        self.last_experience = exp
        self.run.end_step()  # counts the step; writes a checkpoint when one is due
        return stats
