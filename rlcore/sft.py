"""Supervised fine-tuning on demonstrations: next-token loss on the *response* tokens only.

The prompt is context, not something the model should learn to write, so its tokens get no loss
(as in InstructGPT's SFT stage, Ouyang et al. 2022).
"""

from __future__ import annotations

import torch
from rlcore.progress import progress_bar

from rlcore.config import Lengths, SFTConfig
from rlcore.data import check_model_tokenizer, tokenize_prompt_response, warn_truncated
from rlcore.rollout import forward_logits, logprobs_from_logits, masked_mean
from rlcore.training import TrainingRun, make_optimizer, n_batches


def sft_loss(logits: torch.Tensor, input_ids: torch.Tensor, response_mask: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood of the response tokens.

    logits: (B, L, V) from the model on input_ids (B, L). response_mask: (B, L), 1 on the tokens to
    learn (response + EOS), 0 on prompt and padding. The logit at i predicts token i + 1.
    """
    if logits.shape[:2] != input_ids.shape or input_ids.shape != response_mask.shape:
        raise ValueError(f"logits {tuple(logits.shape)}, input_ids {tuple(input_ids.shape)} and response_mask "
                         f"{tuple(response_mask.shape)} do not line up as (B, L, V), (B, L), (B, L)")
    logprobs = logprobs_from_logits(logits[:, :-1], input_ids[:, 1:])  # (B, L-1): log p(token i+1)
    return -masked_mean(logprobs, response_mask[:, 1:].to(logprobs.dtype))


def train_sft(model, tokenizer, prompts: list[str], responses: list[str], config: SFTConfig = SFTConfig(),
              lengths: Lengths = Lengths(), seed: int = 0, progress: bool = True, checkpoint_dir: str | None = None,
              checkpoint_every: int = 0, resume: bool = False) -> list[float]:
    """Fine-tune ``model`` in place on (prompt, response) demonstrations with ``config``'s learning rate, batch
    size and epochs; returns the loss per step.

    Sequences follow the course's length policy (``lengths``: ``rlcore.data.fit_to_length``); what it cuts is
    counted in one warning.

    ``checkpoint_dir`` / ``checkpoint_every`` / ``resume``: see :class:`rlcore.training.TrainingRun`.
    """
    if len(prompts) != len(responses):
        raise ValueError(f"{len(prompts)} prompts but {len(responses)} responses")
    if len(prompts) == 0:
        raise ValueError("no demonstrations given")
    max_length, max_prompt_tokens, batch_size = lengths.max_length, lengths.max_prompt_tokens, config.batch_size
    check_model_tokenizer(model, tokenizer, max_length)
    warn_truncated(tokenizer, prompts, responses, max_length, "SFT", max_prompt_tokens)
    device = next(model.parameters()).device
    run = TrainingRun("SFT", {"model": model}, {"model": make_optimizer(model, config.lr)}, checkpoint_dir,
                      checkpoint_every, resume)
    net = run.wrapped("model")
    model.train()
    bar = progress_bar(total=n_batches(len(prompts), batch_size, config.epochs), initial=run.step, desc="SFT",
                       disable=not progress)
    for idx in run.batches(len(prompts), batch_size, config.epochs, seed):
        ids, attn, resp = tokenize_prompt_response(tokenizer, [prompts[j] for j in idx],
                                                   [responses[j] for j in idx], max_length, device=device,
                                                   max_prompt_tokens=max_prompt_tokens)
        loss = sft_loss(forward_logits(net, ids, attn), ids, resp)
        run.update("model", loss)
        run.end_step(loss.item())
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
    bar.close()
    model.eval()
    return run.losses
