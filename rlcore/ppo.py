"""PPO with a KL penalty to a frozen reference model, as used for RLHF.

Papers: Schulman et al. 2017 (PPO, clipped surrogate); Ziegler et al. 2019 ("Fine-Tuning Language
Models from Human Preferences": per-token KL penalty, adaptive KL controller); Ouyang et al. 2022
(InstructGPT). One iteration, read top to bottom in :meth:`PPOTrainer.step`:

prompts (B) -> rlcore.rollout.collect: responses (B, T), cut after the first EOS, mask, log-probs under the
   sampling policy and the reference, the score (a reward model reads the text as it was trained)
-> values
-> per-token reward = -beta * KL_t, plus the score on the last token (missing-EOS penalty optional)
-> GAE (gamma, lambda) -> advantages (whitened), returns
-> K epochs x minibatches: clipped policy loss + clipped value loss
-> stats -> adaptive KL controller updates beta
"""

from __future__ import annotations

from typing import Callable

import torch

from rlcore.config import Lengths, PPOConfig
from rlcore.gae import compute_gae
from rlcore.precision import scaled_step
from rlcore.rollout import check_prefix_mask, kl_penalty, masked_mean, masked_whiten, response_logprobs, sequence_kl
from rlcore.training import RLTrainer


# --------------------------------------------------------------------------- KL controllers
class FixedKLController:
    """A constant KL coefficient beta."""

    def __init__(self, kl_coef: float):
        if kl_coef < 0:
            raise ValueError(f"kl_coef must be >= 0, got {kl_coef}")
        self.value = float(kl_coef)

    def update(self, current_kl: float, n_steps: int) -> None:
        pass


class AdaptiveKLController:
    """Ziegler et al. 2019, eq. 2: move beta so the observed KL tracks a target.

    e = clip(KL / target - 1, -0.2, 0.2);  beta <- beta * (1 + e * n_steps / horizon)
    """

    def __init__(self, init_kl_coef: float, target: float, horizon: int = 10000):
        if init_kl_coef < 0 or target <= 0 or horizon <= 0:
            raise ValueError("AdaptiveKLController needs init_kl_coef >= 0, target > 0, horizon > 0")
        self.value, self.target, self.horizon = float(init_kl_coef), float(target), int(horizon)

    def update(self, current_kl: float, n_steps: int) -> None:
        proportional_error = min(max(current_kl / self.target - 1.0, -0.2), 0.2)
        self.value *= 1.0 + proportional_error * n_steps / self.horizon


# --------------------------------------------------------------------------- rewards and losses
def compute_rewards(scores: torch.Tensor, logprobs: torch.Tensor, ref_logprobs: torch.Tensor, mask: torch.Tensor,
                    kl_coef: float, estimator: str = "k1", ended_with_eos: torch.Tensor | None = None,
                    missing_eos_penalty: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token rewards: -kl_coef * KL_t on every response token, plus the score on the last one.

    scores: (B,); logprobs, ref_logprobs, mask: (B, T); ended_with_eos: (B,) bool.
    A response that never produced EOS loses ``missing_eos_penalty`` from its score (if given).
    Returns rewards (B, T) and the per-token KL (B, T), both 0 where mask is 0.
    """
    check_prefix_mask(mask, "response mask")
    if scores.shape != (mask.shape[0],):
        raise ValueError(f"scores must be (batch,) = ({mask.shape[0]},), got {tuple(scores.shape)}")
    if torch.any(mask.sum(1) == 0):
        raise ValueError("a response has no tokens: the mask row is all zeros")
    mask = mask.to(logprobs.dtype)
    kl = kl_penalty(logprobs, ref_logprobs, estimator) * mask
    rewards = -kl_coef * kl
    scores = scores.to(rewards.dtype)
    if missing_eos_penalty is not None:
        if ended_with_eos is None:
            raise ValueError("missing_eos_penalty needs ended_with_eos")
        scores = scores - missing_eos_penalty * (~ended_with_eos.bool()).to(scores.dtype)
    last = mask.sum(1).long() - 1  # index of the last response token (mask is a prefix)
    rewards[torch.arange(rewards.shape[0], device=rewards.device), last] += scores
    return rewards, kl


def policy_loss(logprobs: torch.Tensor, old_logprobs: torch.Tensor, advantages: torch.Tensor,
                mask: torch.Tensor, clip_range: float = 0.2) -> torch.Tensor:
    """PPO clipped surrogate (Schulman et al. 2017, eq. 7), as a loss to minimise. All inputs (B, T).

    ratio = pi / pi_old;  loss = masked mean of max(-A * ratio, -A * clip(ratio, 1 - eps, 1 + eps)).
    """
    if not (logprobs.shape == old_logprobs.shape == advantages.shape == mask.shape):
        raise ValueError("policy_loss: logprobs, old_logprobs, advantages and mask must have one shape (B, T)")
    ratio = torch.exp(logprobs - old_logprobs)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1.0 - clip_range, 1.0 + clip_range)
    return masked_mean(torch.maximum(unclipped, clipped), mask.to(logprobs.dtype))


def clip_fraction(logprobs: torch.Tensor, old_logprobs: torch.Tensor, mask: torch.Tensor, clip_range: float) -> float:
    """Share of valid tokens whose ratio left [1 - eps, 1 + eps]."""
    ratio = torch.exp(logprobs - old_logprobs)
    return masked_mean(((ratio - 1.0).abs() > clip_range).float(), mask.float()).item()


def value_loss(values: torch.Tensor, old_values: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor,
               clip_range_value: float = 0.2) -> torch.Tensor:
    """Clipped value loss: 0.5 * masked mean of max((V - R)^2, (V_clip - R)^2). All inputs (B, T).

    V_clip = V_old + clip(V - V_old, -eps_v, eps_v) keeps the value function from jumping far from
    the values the advantages were computed with.
    """
    if not (values.shape == old_values.shape == returns.shape == mask.shape):
        raise ValueError("value_loss: values, old_values, returns and mask must have one shape (B, T)")
    clipped_values = old_values + torch.clamp(values - old_values, -clip_range_value, clip_range_value)
    loss = torch.maximum((values - returns) ** 2, (clipped_values - returns) ** 2)
    return 0.5 * masked_mean(loss, mask.to(values.dtype))


# --------------------------------------------------------------------------- trainer
RewardFn = Callable[[list[str], list[str]], "torch.Tensor | list[float]"]


class PPOTrainer(RLTrainer):
    """Policy, frozen reference, value model, and a reward model *or* a reward function.

    ``reward_fn(prompts, responses) -> (B,)`` scores text; a ``reward_model`` (RewardModel) scores each
    prompt + response exactly as it was trained and normalised (``RewardModel.score``: the same lengths, EOS
    appended), so it must share the policy's tokenizer. The set-up, guards and outer loop are
    :class:`rlcore.training.RLTrainer`'s; PPO adds the value model and the KL controller.
    """

    hint = "lower the learning rate or raise the KL coefficient (init_kl_coef)"

    def __init__(self, policy, ref_policy, value_model, tokenizer, config: PPOConfig, lengths: Lengths = Lengths(),
                 seed: int = 0, reward_model=None, reward_fn: RewardFn | None = None):
        super().__init__(policy, ref_policy, tokenizer, config, lengths, seed, reward_model, reward_fn,
                         trained={"value": (value_model, config.value_lr or config.lr)})
        self.value_model, self.value_optimizer = value_model, self.optimizers["value"]
        self.kl_controller = (AdaptiveKLController(config.init_kl_coef, config.target_kl, config.kl_horizon)
                              if config.target_kl is not None else FixedKLController(config.init_kl_coef))

    def _extra_state(self) -> dict:
        return {**super()._extra_state(), "kl_coef": self.kl_controller.value}

    def _load_extra(self, extra: dict) -> None:
        super()._load_extra(extra)
        self.kl_controller.value = extra["kl_coef"]

    def step(self, prompts: list[str]) -> dict:
        """One PPO iteration on a batch of prompts; returns statistics."""
        cfg = self.config

        # 1. Experience (rlcore.rollout.collect): responses cut after the first EOS, their log-probs under the
        #    sampling policy ("old", from generate's own logits) and the reference, and the score. No gradients.
        exp = self.experience(prompts, top_k=cfg.top_k)
        rollout, mask = exp.rollout, exp.mask  # mask: (B, T)
        ids, attn, P = rollout.input_ids, rollout.attention_mask, rollout.prompt_len  # (B, P+T)
        old_logprobs, ref_logprobs, scores = exp.logprobs, exp.ref_logprobs, exp.scores  # (B, T), (B, T), (B,)

        # 2. Values: V(s_t) before each response token t, from the value model. No gradients.
        with torch.no_grad():
            old_values = self.value_model(ids, attn)[:, P - 1:-1] * mask  # (B, T)

        # 3. Per-token rewards: KL leash on every token, the score on the last one.
        rewards, kl = compute_rewards(scores, old_logprobs, ref_logprobs, mask, self.kl_controller.value,
                                      cfg.kl_estimator, rollout.ended_with_eos, cfg.missing_eos_penalty)
        self.run.check_finite(score=scores, kl=kl)  # stop before any update if the rollout is broken

        # 4. Advantages and returns with GAE (gamma, lambda), from the per-token rewards and the values.
        advantages, returns = compute_gae(rewards, old_values, mask, cfg.gamma, cfg.lam)
        if cfg.whiten_advantages:
            advantages = masked_whiten(advantages, mask)

        # 5. Optimise: K epochs over shuffled minibatches.
        mb_size = cfg.batch_size // cfg.num_minibatches
        scalers = self.run.scalers  # loss scaling under float16 (rlcore.precision), else disabled
        logs = {"policy_loss": [], "value_loss": [], "entropy": [], "clip_fraction": [], "approx_kl": []}
        for mb in self.minibatches(cfg.batch_size, mb_size, cfg.epochs):
            logprobs, entropy = response_logprobs(self.policy, ids[mb], attn[mb], P, return_entropy=True)
            pg_loss = policy_loss(logprobs, old_logprobs[mb], advantages[mb], mask[mb], cfg.clip_range)
            self.run.check_finite(policy_loss=pg_loss)  # stop before a NaN update
            self.optimizer.zero_grad()
            scalers["policy"].scale(pg_loss).backward()  # float16 (a T4): scaled so small gradients survive
            scalers["policy"].unscale_(self.optimizer)  # true gradients again, for the clip
            torch.nn.utils.clip_grad_norm_(self.policy.parameters(), cfg.max_grad_norm)
            self.run.skipped_steps += scaled_step(scalers["policy"], self.optimizer)  # skips an overflow

            values = self.value_model(ids[mb], attn[mb])[:, P - 1:-1]
            vf_loss = value_loss(values, old_values[mb], returns[mb], mask[mb], cfg.clip_range_value)
            self.run.check_finite(value_loss=vf_loss)
            self.value_optimizer.zero_grad()
            scalers["value"].scale(vf_loss).backward()
            scalers["value"].unscale_(self.value_optimizer)
            torch.nn.utils.clip_grad_norm_(self.value_model.parameters(), cfg.max_grad_norm)
            self.run.skipped_steps += scaled_step(scalers["value"], self.value_optimizer)

            with torch.no_grad():
                logs["policy_loss"].append(pg_loss.item())
                logs["value_loss"].append(vf_loss.item())
                logs["entropy"].append(masked_mean(entropy, mask[mb]).item())
                logs["clip_fraction"].append(clip_fraction(logprobs, old_logprobs[mb], mask[mb], cfg.clip_range))
                logs["approx_kl"].append(masked_mean(0.5 * (logprobs - old_logprobs[mb]) ** 2, mask[mb]).item())

        # 6. Statistics, then let the KL controller move beta.
        kl_per_sequence = sequence_kl(old_logprobs, ref_logprobs, mask, cfg.kl_estimator).mean().item()  # nats
        stats = {k: sum(v) / len(v) for k, v in logs.items()}
        stats.update(iteration=self.iteration, score=scores.mean().item(), kl=kl_per_sequence,
                     kl_coef=self.kl_controller.value, response_length=mask.sum(1).mean().item(),
                     eos_rate=rollout.ended_with_eos.float().mean().item(),
                     mean_return=masked_mean(returns, mask).item())
        self.kl_controller.update(kl_per_sequence, cfg.batch_size)
        return self.finish(stats, exp)  # counts the step, keeps the stats; a checkpoint when one is due
