"""Rollouts: generation, per-token log-probs, masks after EOS, and the masked helpers used everywhere.

Shapes: B = batch, P = prompt length (left-padded), T = response length, V = vocabulary.
"""

from __future__ import annotations

import inspect
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from transformers import DynamicCache

from rlcore.config import Lengths
from rlcore.phases import timed
from rlcore.precision import autocast
from rlcore.progress import progress_bar


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


# The version of the sampling code (generate + sample_tokens): samples kept beside a checkpoint (the world's
# comparisons, rlcore.checkpoint.kept_with_weights) are keyed on it, so a change of sampler re-samples them.
SAMPLER = "rlcore-inverse-cdf-1"


def sample_tokens(logits: torch.Tensor, temperature: float = 1.0, top_k: int = 0) -> torch.Tensor:
    """One token per row of ``logits`` (B, V), drawn from softmax(logits / temperature), kept to the ``top_k``
    most likely tokens when ``top_k`` > 0. Returns (B,).

    Drawn by inverse transform: one uniform number per row, placed on the cumulative distribution. Equivalent
    to ``torch.multinomial(probs, 1)``, which draws V random numbers per row (most of a small model's sampling
    time on a CPU). ``right=True`` with ``u`` scaled by the total makes a token of probability 0 unreachable.
    """
    logits = logits / temperature
    if top_k:
        kth = torch.topk(logits, min(top_k, logits.shape[-1]), dim=-1).values[:, -1:]  # (B, 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))
    cdf = torch.softmax(logits, dim=-1).cumsum(dim=-1)  # (B, V), rises to ~1
    u = torch.rand(cdf.shape[0], 1, device=cdf.device) * cdf[:, -1:]  # (B, 1) uniform in [0, total)
    return torch.searchsorted(cdf, u, right=True).squeeze(1).clamp(max=cdf.shape[-1] - 1)


def _cache_options(model) -> tuple[dict, dict]:
    """Keyword arguments for a cached forward pass: a fresh KV cache under the name ``model.forward`` takes
    (transformers 5 renamed ``past_key_values`` to ``cache``), and ``logits_to_keep=1`` for the prompt where the
    model knows it (the prompt's other positions need no (P, V) logits)."""
    params = inspect.signature(model.forward).parameters
    cache = {"cache" if "cache" in params else "past_key_values": DynamicCache()}
    return cache, ({"logits_to_keep": 1} if "logits_to_keep" in params else {})


@timed("generation")
@torch.no_grad()
def generate(model, tokenizer, prompts: list[str], max_new_tokens: int = 24, do_sample: bool = True,
             temperature: float = 1.0, top_k: int = 0, max_prompt_tokens: int = 64,
             seed: int | None = None, return_logprobs: bool = False) -> Rollout:
    """Sample one response per prompt, token by token with a KV cache: left-padded prompts, at least one new
    token, the tokens after each row's first EOS replaced by padding, and a stop once every row has ended.
    Tokens listed in the model's ``generation_config.suppress_tokens`` are never sampled.

    ``return_logprobs=True`` also keeps the log-probs of the sampled tokens under the model's *raw* logits
    (before temperature or top-k), read from the logits the loop computes anyway: PPO's "old" log-probs without
    another forward pass (TRL does the same). ``do_sample=False`` takes the most likely token (greedy).
    """
    if temperature <= 0 and do_sample:
        raise ValueError(f"temperature must be > 0 when sampling, got {temperature}")
    device = next(model.parameters()).device
    prompt_ids, prompt_mask = tokenize_prompts(tokenizer, prompts, max_prompt_tokens, device)  # (B, P) each
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    never = list(getattr(getattr(model, "generation_config", None), "suppress_tokens", None) or [])
    B = prompt_ids.shape[0]
    cache, keep_last = _cache_options(model)  # the KV cache: keys and values of every past token, grown in place
    inputs, mask, positions = prompt_ids, prompt_mask, position_ids_from_mask(prompt_mask)  # the prompt first
    tokens, logprobs = [], []  # one (B,) tensor per new token
    ended = torch.zeros(B, dtype=torch.bool, device=device)
    was_training = model.training
    model.eval()
    # We sample from torch's global RNG; with a seed we fork it so the caller's stream is untouched.
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, enabled=seed is not None), autocast(model):
        if seed is not None:
            torch.manual_seed(seed)
        for t in range(max_new_tokens):
            out = model(input_ids=inputs, attention_mask=mask, position_ids=positions, use_cache=True, **cache,
                        **(keep_last if t == 0 else {}))
            logits = out.logits[:, -1].float()  # (B, V): the next token's logits
            allowed = logits.clone()
            allowed[:, never] = float("-inf")  # tokens the model's generation_config suppresses
            if t == 0:
                allowed[:, eos] = float("-inf")  # at least one new token: no empty response
            token = sample_tokens(allowed, temperature, top_k) if do_sample else allowed.argmax(-1)  # (B,)
            token = torch.where(ended, torch.full_like(token, pad), token)  # after EOS: padding
            tokens.append(token)
            if return_logprobs:
                logprobs.append(logprobs_from_logits(logits[:, None], token[:, None])[:, 0])  # (B,)
            ended |= token == eos
            if ended.all():
                break
            inputs, positions = token[:, None], positions[:, -1:] + 1  # (B, 1) each
            mask = torch.cat([mask, mask.new_ones(B, 1)], dim=1)  # (B, P + t + 1)
    model.train(was_training)
    response_ids = torch.stack(tokens, dim=1)  # (B, T'), T' <= max_new_tokens
    logprobs = torch.stack(logprobs, dim=1) if return_logprobs else None  # (B, T')
    width = max_new_tokens - response_ids.shape[1]  # > 0 when every row ended early: pad to a fixed width
    response_ids = F.pad(response_ids, (0, width), value=pad)  # (B, T)
    mask = response_mask_from_eos(response_ids, eos)  # (B, T): 1 up to and including the first EOS
    if return_logprobs:
        logprobs = F.pad(logprobs, (0, width)) * mask
    texts = decode_responses(tokenizer, response_ids, mask)
    return Rollout(list(prompts), texts, prompt_ids, prompt_mask, response_ids, mask, eos, logprobs)


def decode_responses(tokenizer, response_ids: torch.Tensor, response_mask: torch.Tensor) -> list[str]:
    """Text of each response without its EOS and padding."""
    texts = []
    for ids, m in zip(response_ids.tolist(), response_mask.tolist()):
        kept = [t for t, keep in zip(ids, m) if keep and t != tokenizer.eos_token_id]
        texts.append(tokenizer.decode(kept, skip_special_tokens=True))
    return texts


# --------------------------------------------------------------------------- the KL to the reference, and groups
def kl_penalty(logprobs: torch.Tensor, ref_logprobs: torch.Tensor, estimator: str = "k1") -> torch.Tensor:
    """Per-token estimate of KL(pi || pi_ref) on the sampled tokens. (B, T), (B, T) -> (B, T).

    With log_ratio = log pi(a) - log pi_ref(a) and a sampled from pi (Schulman 2020, "Approximating
    KL Divergence"):
      k1 = log_ratio                      unbiased, can be negative per token
      k3 = (r - 1) - log r, r = pi_ref/pi  unbiased, always >= 0, lower variance
    k3 is computed as expm1(-log_ratio) + log_ratio: for a tiny log_ratio, exp(x) - 1 in float32
    rounds to 0 or worse, while expm1 keeps full precision.
    """
    if logprobs.shape != ref_logprobs.shape:
        raise ValueError(f"logprobs {tuple(logprobs.shape)} and ref_logprobs {tuple(ref_logprobs.shape)} differ")
    log_ratio = logprobs - ref_logprobs
    if estimator == "k1":
        return log_ratio
    if estimator == "k3":
        return torch.expm1(-log_ratio) + log_ratio
    raise ValueError(f"unknown KL estimator {estimator!r}; use 'k1' or 'k3'")


def sequence_kl(logprobs: torch.Tensor, ref_logprobs: torch.Tensor, mask: torch.Tensor,
                estimator: str = "k1") -> torch.Tensor:
    """KL(pi || pi_ref) of each response: its tokens' estimates summed over the mask. (N, T) x 3 -> (N,) nats."""
    return masked_sum(kl_penalty(logprobs, ref_logprobs, estimator), mask, dim=1)


def by_group(rewards: torch.Tensor, group_size: int) -> torch.Tensor:
    """(N,) -> (N // G, G), with one clear error when the shapes do not fit."""
    if rewards.dim() != 1:
        raise ValueError(f"rewards must be flat (N,), ordered group by group; got shape {tuple(rewards.shape)}")
    if group_size < 1 or rewards.numel() % group_size:
        raise ValueError(f"group_size {group_size} does not divide the {rewards.numel()} rewards "
                         "(N = prompts x group_size)")
    return rewards.view(-1, group_size)


# --------------------------------------------------------------------------- one batch of experience
SAMPLE_BATCH = 32  # prompts per generate() call; batch i is seeded seed + i, so it decides which samples come out


def sample_rollouts(model, tokenizer, prompts: list[str], max_new_tokens: int = 48, batch_size: int = SAMPLE_BATCH,
                    seed: int = 0, do_sample: bool = True, temperature: float = 1.0, progress: bool = True,
                    max_prompt_tokens: int = 64) -> list:
    """One response per prompt, as a list of ``Rollout`` batches; batch ``i`` (its first prompt's index) is
    seeded ``seed + i``, so the same prompts and seed give the same samples everywhere in the course. A prompt
    keeps its last ``max_prompt_tokens`` tokens (the profile's, as PPO samples: ``rlcore.stages.sample``)."""
    return [generate(model, tokenizer, prompts[i:i + batch_size], max_new_tokens=max_new_tokens, do_sample=do_sample,
                     temperature=temperature, seed=seed + i, max_prompt_tokens=max_prompt_tokens)
            for i in progress_bar(range(0, len(prompts), batch_size), desc="sampling", disable=not progress)]


def responses_of(rollouts: list) -> list[str]:
    """The response texts of ``sample_rollouts``' batches, in prompt order."""
    return [r for rollout in rollouts for r in rollout.responses]


def sample_responses(model, tokenizer, prompts: list[str], max_new_tokens: int = 48, batch_size: int = SAMPLE_BATCH,
                     seed: int = 0, do_sample: bool = True, temperature: float = 1.0, progress: bool = True,
                     max_prompt_tokens: int = 64) -> list[str]:
    """One response per prompt, in batches (seeded as ``sample_rollouts``)."""
    return responses_of(sample_rollouts(model, tokenizer, prompts, max_new_tokens, batch_size, seed, do_sample,
                                        temperature, progress, max_prompt_tokens))


def scorer(tokenizer, reward_model=None, reward_fn=None, lengths: Lengths = Lengths()):
    """``score(rollout) -> (B,)`` float32 on the rollout's device, from exactly one of a reward model (a
    ``RewardModel``, which reads each prompt + response as it was trained: ``RewardModel.score``, so it must share
    the policy's tokenizer) or a reward function ``reward_fn(prompts, responses) -> (B,)`` on the text."""
    if (reward_model is None) == (reward_fn is None):
        raise ValueError("give exactly one of reward_model or reward_fn")

    @torch.no_grad()
    def score(rollout: Rollout) -> torch.Tensor:
        device = rollout.response_ids.device
        if reward_model is not None:
            return reward_model.score(tokenizer, rollout.prompts, rollout.responses, lengths).float().to(device)
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


@timed("scoring")  # the reference's log-probs and the scores (its sampling counts as generation)
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
