"""Direct Preference Optimization (Rafailov et al. 2023): learn from preference pairs without a reward
model or RL. The policy's implicit reward is beta * log(pi(y|x) / pi_ref(y|x)), and the loss is the
Bradley-Terry ranking loss on those implicit rewards:

    loss = -log sigma( beta * [(log pi(y_c) - log pi_ref(y_c)) - (log pi(y_r) - log pi_ref(y_r))] )

where log pi(y) is the summed log-probability of the response tokens given the prompt.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from rlcore.progress import progress_bar

from rlcore.config import DPOConfig, Lengths
from rlcore.data import as_pairs, check_model_tokenizer, tokenize_pairs, warn_truncated
from rlcore.reward import preference_accuracy
from rlcore.rollout import forward_logits, logprobs_from_logits
from rlcore.training import TrainingRun, make_optimizer, n_batches


def sequence_logprob(model, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                     response_mask: torch.Tensor) -> torch.Tensor:
    """Sum of log p(token) over the response tokens of each sequence: (B, L) inputs -> (B,)."""
    logits = forward_logits(model, input_ids, attention_mask)  # (B, L, V)
    logprobs = logprobs_from_logits(logits[:, :-1], input_ids[:, 1:])  # (B, L-1): token i+1
    return (logprobs * response_mask[:, 1:].to(logprobs.dtype)).sum(1)


def dpo_loss(policy_chosen: torch.Tensor, policy_rejected: torch.Tensor, ref_chosen: torch.Tensor,
             ref_rejected: torch.Tensor, beta: float = 0.1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """DPO loss (Rafailov et al. 2023, eq. 7) from summed response log-probs, each (B,).

    Returns (loss, chosen_rewards, rejected_rewards); the implicit rewards are beta * log-ratios.
    """
    if not (policy_chosen.shape == policy_rejected.shape == ref_chosen.shape == ref_rejected.shape):
        raise ValueError("dpo_loss: the four log-prob tensors must have one shape (batch,)")
    if beta <= 0:
        raise ValueError(f"beta must be > 0, got {beta}")
    chosen_rewards = beta * (policy_chosen - ref_chosen)
    rejected_rewards = beta * (policy_rejected - ref_rejected)
    loss = -F.logsigmoid(chosen_rewards - rejected_rewards).mean()
    return loss, chosen_rewards.detach(), rejected_rewards.detach()


def train_dpo(policy, reference, tokenizer, pairs, config: DPOConfig = DPOConfig(), lengths: Lengths = Lengths(),
              seed: int = 0, progress: bool = True, checkpoint_dir: str | None = None, checkpoint_every: int = 0,
              resume: bool = False) -> list[dict]:
    """Train ``policy`` in place with DPO against a frozen ``reference`` (``config``: beta, learning rate, batch
    size, epochs); returns per-step stats. Sequences follow the course's length policy (``lengths``:
    ``rlcore.data.fit_to_length``), what it cuts counted in one warning."""
    pairs = as_pairs(pairs)
    max_length, max_prompt_tokens, batch_size = lengths.max_length, lengths.max_prompt_tokens, config.batch_size
    check_model_tokenizer(policy, tokenizer, max_length)
    warn_truncated(tokenizer, [p.prompt for p in pairs] * 2, [p.chosen for p in pairs] + [p.rejected for p in pairs],
                   max_length, "DPO", max_prompt_tokens)
    device = next(policy.parameters()).device
    reference.eval()
    run = TrainingRun("DPO", {"policy": policy}, {"policy": make_optimizer(policy, config.lr)}, checkpoint_dir,
                      checkpoint_every, resume)
    net = run.wrapped("policy")
    bar = progress_bar(total=n_batches(len(pairs), batch_size, config.epochs), initial=run.step, desc="DPO",
                       disable=not progress)
    for idx in run.batches(len(pairs), batch_size, config.epochs, seed):
        batch = [pairs[j] for j in idx]
        n = len(batch)
        ids, attn, resp = tokenize_pairs(tokenizer, batch, max_length, device, max_prompt_tokens)  # (2B, L)
        with torch.no_grad():
            ref = sequence_logprob(reference, ids, attn, resp)
        pol = sequence_logprob(net, ids, attn, resp)
        loss, rc, rr = dpo_loss(pol[:n], pol[n:], ref[:n], ref[n:], config.beta)
        run.update("policy", loss)
        run.end_step({"loss": loss.item(), "reward_accuracy": preference_accuracy(rc, rr),  # a tie counts one half
                      "reward_margin": (rc - rr).mean().item()})
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
    bar.close()
    policy.eval()
    return run.losses


@torch.no_grad()
def pair_logprobs(model, tokenizer, pairs, lengths: Lengths = Lengths(),
                  batch_size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """log p(response | prompt) of the chosen and the rejected response of each pair under ``model``:
    (chosen (N,), rejected (N,)), summed over the response tokens (:func:`sequence_logprob`)."""
    pairs = as_pairs(pairs)
    device = next(model.parameters()).device
    chosen, rejected = [], []
    for i in range(0, len(pairs), batch_size):
        batch = pairs[i:i + batch_size]
        ids, attn, resp = tokenize_pairs(tokenizer, batch, lengths.max_length, device, lengths.max_prompt_tokens)
        lp = sequence_logprob(model, ids, attn, resp)  # (2B,)
        chosen.append(lp[:len(batch)].cpu())
        rejected.append(lp[len(batch):].cpu())
    return torch.cat(chosen), torch.cat(rejected)


def implicit_rewards(policy, reference, tokenizer, pairs, beta: float = 0.1, lengths: Lengths = Lengths(),
                     batch_size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """DPO's implicit reward beta * log(pi(y|x) / pi_ref(y|x)) of the chosen and the rejected response of
    each pair: (chosen (N,), rejected (N,)). A DPO policy *is* a reward model; this reads it."""
    policy_c, policy_r = pair_logprobs(policy, tokenizer, pairs, lengths, batch_size)
    ref_c, ref_r = pair_logprobs(reference, tokenizer, pairs, lengths, batch_size)
    return beta * (policy_c - ref_c), beta * (policy_r - ref_r)
