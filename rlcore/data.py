"""One schema for preference data, its validation, and tokenisation of prompt + response.

A :class:`PreferencePair` is a prompt and two responses, ``chosen`` preferred over ``rejected``;
``p_chosen`` is an optional soft label P(chosen is better) (an AI labeler's probability, for RLAIF).
The responses do not repeat the prompt: the full conversation is ``prompt + chosen``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from rlcore.rollout import require_pad_token


@dataclass(frozen=True)
class PreferencePair:
    prompt: str
    chosen: str
    rejected: str
    p_chosen: float = 1.0  # soft label: probability that `chosen` is the better response

    def __post_init__(self) -> None:
        for name in ("prompt", "chosen", "rejected"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise ValueError(f"PreferencePair.{name} must be a string, got {type(value).__name__}")
        if not self.chosen.strip() or not self.rejected.strip():
            raise ValueError("PreferencePair: chosen and rejected must be non-empty")
        if self.chosen == self.rejected:
            raise ValueError(f"PreferencePair: chosen == rejected ({self.chosen[:40]!r}...); such a pair teaches nothing")
        if not 0.0 <= float(self.p_chosen) <= 1.0:
            raise ValueError(f"PreferencePair.p_chosen must be in [0, 1], got {self.p_chosen}")

    def to_dict(self) -> dict:
        return asdict(self)


def as_pairs(rows) -> list[PreferencePair]:
    """Accept PreferencePair objects or dicts with prompt / chosen / rejected (/ p_chosen)."""
    pairs = []
    for i, row in enumerate(rows):
        if isinstance(row, PreferencePair):
            pairs.append(row)
            continue
        missing = [k for k in ("prompt", "chosen", "rejected") if k not in row]
        if missing:
            raise ValueError(f"preference row {i} is missing field(s) {missing}; each row needs prompt, chosen, rejected")
        pairs.append(PreferencePair(row["prompt"], row["chosen"], row["rejected"], float(row.get("p_chosen", 1.0))))
    if not pairs:
        raise ValueError("no preference pairs: the dataset has zero rows")
    return pairs


def tokenize_prompt_response(tokenizer, prompts: list[str], responses: list[str], max_length: int,
                             add_eos: bool = True, device=None):
    """Tokenise prompt and response separately (as generation sees them), join, right-pad.

    Returns input_ids, attention_mask, response_mask: each (B, L). response_mask is 1 on the response
    tokens (and the EOS) only. If a pair is longer than ``max_length`` the prompt loses tokens from its
    *left* (oldest turns first); the response is kept whole when it fits.
    """
    if len(prompts) != len(responses):
        raise ValueError(f"{len(prompts)} prompts but {len(responses)} responses")
    if len(prompts) == 0:
        raise ValueError("empty batch")
    require_pad_token(tokenizer)
    rows, response_lens = [], []
    for prompt, response in zip(prompts, responses):
        p = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        r = tokenizer(response, add_special_tokens=False)["input_ids"]
        if add_eos:
            r = r + [tokenizer.eos_token_id]
        r = r[: max_length - 1]  # keep at least one prompt token
        p = p[max(0, len(p) - (max_length - len(r))):]
        rows.append(p + r)
        response_lens.append(len(r))
    L = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), L), tokenizer.pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), L), dtype=torch.long)
    response_mask = torch.zeros((len(rows), L), dtype=torch.long)
    for i, (row, n_resp) in enumerate(zip(rows, response_lens)):
        input_ids[i, : len(row)] = torch.tensor(row)
        attention_mask[i, : len(row)] = 1
        response_mask[i, len(row) - n_resp: len(row)] = 1
    return input_ids.to(device), attention_mask.to(device), response_mask.to(device)


def tokenize_pairs(tokenizer, pairs: list[PreferencePair], max_length: int, device=None):
    """Chosen and rejected conversations stacked into one batch: rows 0..B-1 chosen, B..2B-1 rejected.

    Returns input_ids, attention_mask, response_mask, each (2B, L), as :func:`tokenize_prompt_response`.
    """
    prompts = [p.prompt for p in pairs] * 2
    responses = [p.chosen for p in pairs] + [p.rejected for p in pairs]
    return tokenize_prompt_response(tokenizer, prompts, responses, max_length, device=device)
