"""One schema for preference data, its validation, and tokenisation of prompt + response.

A :class:`PreferencePair` is a prompt and two responses, ``chosen`` preferred over ``rejected``;
``p_chosen`` is an optional soft label P(chosen is better) (an AI labeler's probability, for RLAIF).
The responses do not repeat the prompt: the full conversation is ``prompt + chosen``.
"""

from __future__ import annotations

import warnings
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


def as_pairs(rows, format: str = "pairs") -> list[PreferencePair]:
    """Accept PreferencePair objects or dicts with prompt / chosen / rejected (/ p_chosen).

    ``format="pairs"``: chosen and rejected are the responses only. ``format="hh"``: they are whole
    conversations that start with the prompt (as in HH-RLHF), and the prompt is cut off them.
    """
    if format not in ("pairs", "hh"):
        raise ValueError(f"unknown preference format {format!r}; use 'pairs' or 'hh'")
    pairs = []
    for i, row in enumerate(rows):
        if isinstance(row, PreferencePair):
            pairs.append(row)
            continue
        if not isinstance(row, dict):
            raise ValueError(f"preference row {i} is a {type(row).__name__}, not a dict with prompt, chosen, rejected")
        missing = [k for k in ("prompt", "chosen", "rejected") if k not in row]
        if missing:
            raise ValueError(f"preference row {i} is missing field(s) {missing}; each row needs prompt, chosen, rejected")
        prompt, chosen, rejected = row["prompt"], row["chosen"], row["rejected"]
        for name, value in (("prompt", prompt), ("chosen", chosen), ("rejected", rejected)):
            if not isinstance(value, str):
                raise ValueError(f"preference row {i}: {name} must be a string, got {type(value).__name__}")
            if not value.strip():
                raise ValueError(f"preference row {i}: {name} is empty")
        if format == "hh":
            for name, value in (("chosen", chosen), ("rejected", rejected)):
                if not value.startswith(prompt):
                    raise ValueError(f"preference row {i}: {name} does not start with the prompt; in the 'hh' "
                                     "format chosen and rejected are prompt + response (use format='pairs' "
                                     "if they hold the responses only)")
            chosen, rejected = chosen[len(prompt):], rejected[len(prompt):]
        try:
            pairs.append(PreferencePair(prompt, chosen, rejected, float(row.get("p_chosen", 1.0))))
        except ValueError as err:
            raise ValueError(f"preference row {i}: {str(err).removeprefix('PreferencePair: ')}") from None
    if not pairs:
        raise ValueError("no preference pairs: the dataset has zero rows (after any filtering)")
    return pairs


def load_preferences(path: str, format: str = "pairs") -> list[PreferencePair]:
    """Read preference pairs from a .jsonl, .json (a list of rows) or .csv file and validate them."""
    import csv
    import json
    import os

    if not os.path.exists(path):
        raise FileNotFoundError(f"no preference file at {path}")
    ext = os.path.splitext(path)[1].lower()
    with open(path, encoding="utf-8") as f:
        if ext == ".jsonl":
            rows = []
            for line_no, line in enumerate(f, 1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as err:
                        raise ValueError(f"{path} line {line_no} is not valid JSON: {err.msg}") from None
        elif ext == ".json":
            rows = json.load(f)
            if not isinstance(rows, list):
                raise ValueError(f"{path} must hold a JSON list of rows, found a {type(rows).__name__}")
        elif ext == ".csv":
            rows = list(csv.DictReader(f))
        else:
            raise ValueError(f"cannot read {path}: use a .jsonl, .json or .csv file")
    return as_pairs(rows, format=format)


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


def check_model_tokenizer(model, tokenizer, max_length: int | None = None) -> None:
    """Clear errors for a model and tokenizer that do not fit together (before any training)."""
    require_pad_token(tokenizer)
    vocab = model.get_input_embeddings().num_embeddings  # every token id needs an embedding row
    if len(tokenizer) > vocab:
        raise ValueError(f"the tokenizer has {len(tokenizer)} tokens but the model's vocabulary has {vocab}: "
                         "they do not belong together; load both from the same checkpoint "
                         "(or call model.resize_token_embeddings(len(tokenizer)) after adding tokens)")
    context = getattr(getattr(model, "config", None), "max_position_embeddings", None)
    if max_length is not None and context is not None and max_length > context:
        raise ValueError(f"max_length={max_length} is longer than the model's context ({context} tokens); "
                         f"use max_length <= {context}")


def count_truncated(tokenizer, prompts: list[str], responses: list[str], max_length: int) -> int:
    """How many prompt + response (+ EOS) sequences are longer than ``max_length`` tokens."""
    n = 0
    for prompt, response in zip(prompts, responses):
        length = len(tokenizer(prompt + response, add_special_tokens=False)["input_ids"]) + 1
        n += length > max_length
    return n


def warn_truncated(tokenizer, prompts: list[str], responses: list[str], max_length: int, what: str) -> int:
    """Count the sequences :func:`tokenize_prompt_response` will truncate and warn once if any."""
    n = count_truncated(tokenizer, prompts, responses, max_length)
    if n:
        warnings.warn(f"{what}: {n} of {len(prompts)} sequences are longer than max_length={max_length} tokens; "
                      "truncation policy: the prompt loses its oldest tokens first, the response is kept whole "
                      "(raise max_length to keep them)", stacklevel=3)
    return n
