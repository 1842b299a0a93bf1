"""Rollouts: generation, per-token log-probs, masks after EOS, and the masked helpers used everywhere.

Shapes: B = batch, P = prompt length (left-padded), T = response length, V = vocabulary.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from rlcore.precision import autocast


# --------------------------------------------------------------------------- masked statistics
def _check_same_shape(values: torch.Tensor, mask: torch.Tensor, what: str) -> None:
    if values.shape != mask.shape:
        raise ValueError(f"{what}: values {tuple(values.shape)} and mask {tuple(mask.shape)} must have the same shape")


def masked_sum(values: torch.Tensor, mask: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """Sum of ``values`` where ``mask`` is 1. values, mask: same shape."""
    _check_same_shape(values, mask, "masked_sum")
    masked = values * mask
    return masked.sum() if dim is None else masked.sum(dim)


def masked_mean(values: torch.Tensor, mask: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """Mean of ``values`` over the positions where ``mask`` is 1 (over all, or along ``dim``).

    An all-zero mask gives 0 rather than NaN.
    """
    _check_same_shape(values, mask, "masked_mean")
    mask = mask.to(values.dtype)
    total = (values * mask).sum() if dim is None else (values * mask).sum(dim)
    count = mask.sum() if dim is None else mask.sum(dim)
    return total / count.clamp(min=1.0)


def masked_var(values: torch.Tensor, mask: torch.Tensor, unbiased: bool = True) -> torch.Tensor:
    """Variance of ``values`` over the positions where ``mask`` is 1 (a scalar)."""
    mean = masked_mean(values, mask)
    variance = masked_mean((values - mean) ** 2, mask)
    if unbiased:
        count = mask.sum()
        if count < 2:
            return torch.zeros((), dtype=values.dtype, device=values.device)
        variance = variance * count / (count - 1)
    return variance


def masked_whiten(values: torch.Tensor, mask: torch.Tensor, shift_mean: bool = True, eps: float = 1e-8) -> torch.Tensor:
    """(values - mean) / std over masked positions; masked-out positions come back as 0.

    ``shift_mean=False`` keeps the mean (only rescales), as used for rewards in some PPO variants.
    """
    mean, var = masked_mean(values, mask), masked_var(values, mask)
    whitened = (values - mean) * torch.rsqrt(var + eps)
    if not shift_mean:
        whitened = whitened + mean
    return whitened * mask


def check_prefix_mask(mask: torch.Tensor, what: str = "mask") -> None:
    """Raise ValueError unless every row of ``mask`` (B, T) is 1...1 0...0 (a contiguous prefix)."""
    if mask.dim() != 2:
        raise ValueError(f"{what} must be 2-D (batch, seq_len), got shape {tuple(mask.shape)}")
    if mask.shape[0] == 0:
        raise ValueError(f"{what} is an empty batch")
    m = mask.to(torch.float32)
    if not torch.all((m == 0) | (m == 1)):
        raise ValueError(f"{what} must contain only 0 and 1")
    # A prefix never goes 0 -> 1 when read left to right.
    if torch.any(m[:, 1:] > m[:, :-1]):
        rows = torch.nonzero(torch.any(m[:, 1:] > m[:, :-1], dim=1)).flatten().tolist()
        raise ValueError(f"{what} must be a contiguous prefix of ones in every row (1..1 0..0); rows {rows[:5]} are not")


# --------------------------------------------------------------------------- log-probs and masks
def logprobs_from_logits(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """log p(token) for each position: logits (B, T, V), tokens (B, T) -> (B, T).

    log_softmax then gather: never softmax then log (underflows for unlikely tokens).
    """
    if logits.shape[:-1] != tokens.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and tokens {tuple(tokens.shape)} do not match (B, T, V) / (B, T)")
    logp = F.log_softmax(logits.float(), dim=-1)
    return torch.gather(logp, 2, tokens.unsqueeze(-1)).squeeze(-1)


def entropy_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """Entropy of the next-token distribution at each position: (B, T, V) -> (B, T)."""
    logp = F.log_softmax(logits.float(), dim=-1)
    return -(logp.exp() * logp).sum(-1)


def response_mask_from_eos(responses: torch.Tensor, eos_token_id: int) -> torch.Tensor:
    """1 on every response token up to and including the first EOS, 0 after it. (B, T) -> (B, T) long.

    A response without EOS (truncated at ``max_new_tokens``) keeps all its tokens.
    """
    is_eos = (responses == eos_token_id).long()
    # eos_seen_before[t] = number of EOS strictly before position t
    eos_seen_before = torch.cumsum(is_eos, dim=1) - is_eos
    return (eos_seen_before == 0).long()


def position_ids_from_mask(attention_mask: torch.Tensor) -> torch.Tensor:
    """Positions 0, 1, 2, ... counted over real tokens only, so left padding does not shift them. (B, L)."""
    return (torch.cumsum(attention_mask, dim=1) - 1).clamp(min=0)


def require_pad_token(tokenizer) -> None:
    """Raise a ValueError that says how to fix a tokenizer with no pad token."""
    if tokenizer.pad_token_id is None:
        raise ValueError(
            "the tokenizer has no pad token; set one before batching, e.g. "
            "`tokenizer.pad_token = tokenizer.eos_token`"
        )


def forward_logits(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, logits_to_keep: int = 0) -> torch.Tensor:
    """Logits (B, L, V) of a causal LM, with positions computed from the attention mask.

    ``logits_to_keep=k`` returns only the last k positions (B, k, V): the LM head and every softmax
    after it then skip the prompt, which is most of the sequence in PPO and all but one position for
    the labeler. (Models whose ``forward`` lacks the argument compute all positions, then slice.)
    """
    inputs = dict(input_ids=input_ids, attention_mask=attention_mask,
                  position_ids=position_ids_from_mask(attention_mask), use_cache=False)
    with autocast(model):  # mixed precision if the profile asked for it (rlcore.precision)
        if not logits_to_keep:
            return model(**inputs).logits
        try:
            logits = model(**inputs, logits_to_keep=logits_to_keep).logits
        except TypeError:  # an older architecture without logits_to_keep
            logits = model(**inputs).logits
    return logits[:, -logits_to_keep:]


def response_logprobs(model, input_ids: torch.Tensor, attention_mask: torch.Tensor, prompt_len: int,
                      return_entropy: bool = False):
    """Log-probs of the response tokens of ``input_ids`` = [prompt (P) | response (T)].

    input_ids, attention_mask: (B, P + T). The logit at position i predicts token i + 1, so the
    response tokens at P .. P+T-1 are scored by the logits at P-1 .. P+T-2: the last T + 1 positions
    but the very last. Returns logprobs (B, T), and with ``return_entropy`` the entropy (B, T) of each
    next-token distribution, for logging (computed without gradient).
    """
    T = input_ids.shape[1] - prompt_len
    logits = forward_logits(model, input_ids, attention_mask, logits_to_keep=T + 1)[:, :-1]  # (B, T, V)
    logprobs = logprobs_from_logits(logits, input_ids[:, prompt_len:])
    if return_entropy:
        with torch.no_grad():
            return logprobs, entropy_from_logits(logits.detach())
    return logprobs


# --------------------------------------------------------------------------- generation
@dataclass
class Rollout:
    """A batch of prompts and sampled responses.

    prompt_ids, prompt_mask: (B, P), left-padded. response_ids, response_mask: (B, T); tokens after
    the first EOS are replaced by the pad token and masked out.
    """

    prompts: list[str]
    responses: list[str]
    prompt_ids: torch.Tensor
    prompt_mask: torch.Tensor
    response_ids: torch.Tensor
    response_mask: torch.Tensor
    eos_token_id: int | None = None
    logprobs: torch.Tensor | None = None  # (B, T) log p(token) under the sampling model, if asked for

    @property
    def input_ids(self) -> torch.Tensor:  # (B, P + T)
        return torch.cat([self.prompt_ids, self.response_ids], dim=1)

    @property
    def attention_mask(self) -> torch.Tensor:  # (B, P + T)
        return torch.cat([self.prompt_mask, self.response_mask], dim=1)

    @property
    def prompt_len(self) -> int:
        return self.prompt_ids.shape[1]

    @property
    def ended_with_eos(self) -> torch.Tensor:
        """(B,) bool: the response ended with EOS (it was not cut by max_new_tokens).

        The last kept token is looked at, so an EOS in the very last slot counts. Without an
        ``eos_token_id`` only the mask is used (a response shorter than T must have stopped at EOS).
        """
        n_kept = self.response_mask.sum(1)
        if self.eos_token_id is None:
            return n_kept < self.response_ids.shape[1]
        last = self.response_ids.gather(1, (n_kept - 1).clamp(min=0).unsqueeze(1)).squeeze(1)
        return (last == self.eos_token_id) & (n_kept > 0)


@contextmanager
def left_padding(tokenizer):
    """Pad and truncate on the left inside the block (so the last token is always the newest one);
    the tokenizer's own settings come back afterwards."""
    side, trunc_side = tokenizer.padding_side, tokenizer.truncation_side
    tokenizer.padding_side, tokenizer.truncation_side = "left", "left"
    try:
        yield tokenizer
    finally:
        tokenizer.padding_side, tokenizer.truncation_side = side, trunc_side


def tokenize_prompts(tokenizer, prompts: list[str], max_prompt_tokens: int, device=None):
    """Left-padded prompt ids and mask (B, P). Long prompts keep their *last* tokens (the question)."""
    if len(prompts) == 0:
        raise ValueError("empty batch: no prompts given")
    require_pad_token(tokenizer)
    with left_padding(tokenizer):
        enc = tokenizer(list(prompts), return_tensors="pt", padding=True, truncation=True,
                        max_length=max_prompt_tokens)
    return enc["input_ids"].to(device), enc["attention_mask"].to(device)


@torch.no_grad()
def generate(model, tokenizer, prompts: list[str], max_new_tokens: int = 24, do_sample: bool = True,
             temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0, max_prompt_tokens: int = 64,
             seed: int | None = None, return_logprobs: bool = False) -> Rollout:
    """Sample one response per prompt with the KV cache, left padding, and a cut after the first EOS.

    ``return_logprobs=True`` also keeps the log-probs of the sampled tokens under the model's *raw*
    logits (before temperature, top-k or any other processing), read from the logits ``generate``
    computed anyway: PPO's "old" log-probs without another forward pass (TRL does the same).
    """
    if temperature <= 0 and do_sample:
        raise ValueError(f"temperature must be > 0 when sampling, got {temperature}")
    device = next(model.parameters()).device
    prompt_ids, prompt_mask = tokenize_prompts(tokenizer, prompts, max_prompt_tokens, device)
    was_training = model.training
    model.eval()
    sampling = dict(do_sample=True, temperature=temperature, top_k=top_k, top_p=top_p) if do_sample else dict(do_sample=False)
    # generate() samples from torch's global RNG; with a seed we fork it so the caller's stream is untouched.
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, enabled=seed is not None), autocast(model):
        if seed is not None:
            torch.manual_seed(seed)
        out = model.generate(input_ids=prompt_ids, attention_mask=prompt_mask, max_new_tokens=max_new_tokens,
                             min_new_tokens=1, pad_token_id=tokenizer.pad_token_id,
                             eos_token_id=tokenizer.eos_token_id, output_logits=return_logprobs,
                             return_dict_in_generate=True, **sampling)
    model.train(was_training)
    response_ids = out.sequences[:, prompt_ids.shape[1]:]
    logprobs = None
    if return_logprobs:  # out.logits: one (B, V) tensor per generated position
        logprobs = logprobs_from_logits(torch.stack(out.logits, dim=1), response_ids)  # (B, T')
    if response_ids.shape[1] < max_new_tokens:  # every row stopped early: pad to a fixed width
        width = max_new_tokens - response_ids.shape[1]
        response_ids = torch.cat([response_ids, response_ids.new_full((response_ids.shape[0], width), tokenizer.pad_token_id)], 1)
        if logprobs is not None:
            logprobs = torch.cat([logprobs, logprobs.new_zeros((logprobs.shape[0], width))], 1)
    mask = response_mask_from_eos(response_ids, tokenizer.eos_token_id)
    if logprobs is not None:
        logprobs = logprobs * mask
    response_ids = torch.where(mask.bool(), response_ids, torch.full_like(response_ids, tokenizer.pad_token_id))
    texts = decode_responses(tokenizer, response_ids, mask)
    return Rollout(list(prompts), texts, prompt_ids, prompt_mask, response_ids, mask, tokenizer.eos_token_id, logprobs)


def decode_responses(tokenizer, response_ids: torch.Tensor, response_mask: torch.Tensor) -> list[str]:
    """Text of each response without its EOS and padding."""
    texts = []
    for ids, m in zip(response_ids.tolist(), response_mask.tolist()):
        kept = [t for t, keep in zip(ids, m) if keep and t != tokenizer.eos_token_id]
        texts.append(tokenizer.decode(kept, skip_special_tokens=True))
    return texts


# --------------------------------------------------------------------------- one batch of experience
def scorer(tokenizer, reward_model=None, reward_fn=None, max_length: int = 256, max_prompt_tokens: int | None = None):
    """``score(rollout) -> (B,)`` float32 on the rollout's device, from exactly one of a reward model (a
    ``RewardModel``, which reads each prompt + response as it was trained: ``RewardModel.score``, so it must share
    the policy's tokenizer) or a reward function ``reward_fn(prompts, responses) -> (B,)`` on the text."""
    if (reward_model is None) == (reward_fn is None):
        raise ValueError("give exactly one of reward_model or reward_fn")

    @torch.no_grad()
    def score(rollout: Rollout) -> torch.Tensor:
        device = rollout.response_ids.device
        if reward_model is not None:
            return reward_model.score(tokenizer, rollout.prompts, rollout.responses, max_length,
                                      max_prompt_tokens=max_prompt_tokens).float().to(device)
        scores = torch.as_tensor(reward_fn(rollout.prompts, rollout.responses), dtype=torch.float32, device=device)
        if scores.shape != (len(rollout.prompts),):
            raise ValueError(f"reward_fn must return one score per prompt ({len(rollout.prompts)}), "
                             f"got shape {tuple(scores.shape)}")
        return scores

    return score


@dataclass
class Experience:
    """One batch of experience, what every RL algorithm of the course reads (PPO, REINFORCE, GRPO).

    B = prompts x group_size, group by group (rows g*G .. g*G+G-1 answer prompt g); T = response length.
    """

    rollout: Rollout  # prompts, responses, ids and masks: prompt (B, P) left-padded, response (B, T)
    logprobs: torch.Tensor  # (B, T) under the policy that sampled them (PPO's "old" log-probs), 0 after EOS
    ref_logprobs: torch.Tensor  # (B, T) under the frozen reference
    scores: torch.Tensor  # (B,) the reward model's or the reward function's score of each response
    mask: torch.Tensor  # (B, T) float: 1 on the response tokens up to and including the first EOS


@torch.no_grad()
def collect(policy, ref_policy, tokenizer, prompts: list[str], score, max_new_tokens: int, max_prompt_tokens: int,
            temperature: float = 1.0, top_k: int = 0, seed: int | None = None, group_size: int = 1) -> Experience:
    """Sample one response per prompt (``group_size`` per prompt for group methods, group by group), and read what
    any algorithm needs: the sampling log-probs (from ``generate``'s own logits: no extra forward pass), the
    reference's log-probs, and ``score(rollout) -> (B,)`` (:func:`scorer`). No gradients."""
    if group_size < 1:
        raise ValueError(f"group_size must be >= 1, got {group_size}")
    prompts = [p for p in prompts for _ in range(group_size)]  # (B,) each prompt group_size times in a row
    rollout = generate(policy, tokenizer, prompts, max_new_tokens=max_new_tokens, temperature=temperature,
                       top_k=top_k, max_prompt_tokens=max_prompt_tokens, seed=seed, return_logprobs=True)
    ids, attn, P = rollout.input_ids, rollout.attention_mask, rollout.prompt_len  # (B, P + T)
    ref_logprobs = response_logprobs(ref_policy, ids, attn, P)  # (B, T)
    return Experience(rollout, rollout.logprobs, ref_logprobs, score(rollout), rollout.response_mask.float())
