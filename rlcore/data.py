"""One schema for preference data, its validation, and tokenisation of prompt + response.

A :class:`PreferencePair` is a prompt and two responses, ``chosen`` preferred over ``rejected``;
``p_chosen`` is an optional soft label P(chosen is better) (an AI labeler's probability, for RLAIF).
The responses do not repeat the prompt: the full conversation is ``prompt + chosen``.

Every loader (:func:`as_pairs`, :func:`load_preferences`, :func:`rlcore.sources.normalise`, ``rlcore
check-data``) goes through :func:`collect_pairs`: rows that teach nothing (:class:`SkippedRow`) are
skipped and counted by reason; structurally broken rows stop the load with one line naming the row.
"""

from __future__ import annotations

import csv
import json
import os
import warnings
from dataclasses import asdict, dataclass

import torch

from rlcore.rollout import require_pad_token


class SkippedRow(ValueError):
    """A well-formed row that teaches nothing (an empty response, chosen == rejected, ...).

    Loaders skip such rows and count them by ``reason``; structurally broken input (not a dict, a
    missing column, a non-string field) stays a plain ValueError that stops the load.
    """

    def __init__(self, reason: str, message: str | None = None):
        super().__init__(message or reason)
        self.reason = reason  # the key it is counted under, e.g. "empty response"


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
            raise SkippedRow("empty response", "PreferencePair: chosen and rejected must be non-empty")
        if self.chosen == self.rejected:
            raise SkippedRow("identical pair", f"PreferencePair: chosen == rejected ({self.chosen[:40]!r}...); "
                                               "such a pair teaches nothing")
        if not 0.0 <= float(self.p_chosen) <= 1.0:
            raise ValueError(f"PreferencePair.p_chosen must be in [0, 1], got {self.p_chosen}")

    def to_dict(self) -> dict:
        return asdict(self)


def describe_skipped(skipped: dict[str, int]) -> str:
    """``{"empty response": 3, "identical pair": 2}`` -> ``"3 empty response, 2 identical pair"``."""
    return ", ".join(f"{n} {reason}" for reason, n in skipped.items())


def collect_pairs(numbered_rows, convert, max_chars: int | None = None,
                  what: str = "the rows") -> tuple[list[PreferencePair], dict[str, int]]:
    """The one skip policy for preference rows, shared by every loader and by ``rlcore check-data``.

    ``numbered_rows`` yields (where, row), ``where`` naming the row in errors ("row 3", "f.jsonl line 4");
    ``convert(row)`` returns a PreferencePair. A :class:`SkippedRow` (empty response, chosen == rejected,
    a conversation that cannot be split, or prompt + longer response over ``max_chars`` characters) is
    skipped and counted by reason; any other ValueError is re-raised as one line naming the row.
    Returns (pairs, {reason: count}); zero usable pairs is an error that says what was skipped.
    """
    pairs, skipped, n_rows = [], {}, 0
    for where, row in numbered_rows:
        n_rows += 1
        try:
            if isinstance(row, PreferencePair):
                pair = row
            elif isinstance(row, dict):
                pair = convert(row)
            else:
                raise ValueError(f"expected a dict with prompt, chosen, rejected, got a {type(row).__name__}")
            if max_chars is not None and len(pair.prompt) + max(len(pair.chosen), len(pair.rejected)) > max_chars:
                raise SkippedRow("too long")
        except SkippedRow as skip:
            skipped[skip.reason] = skipped.get(skip.reason, 0) + 1
            continue
        except ValueError as err:
            message = str(err).removeprefix("PreferencePair: ").removeprefix("PreferencePair.")
            raise ValueError(f"{where}: {message}") from None
        pairs.append(pair)
    if n_rows == 0:
        raise ValueError(f"no preference pairs in {what}: it has zero rows (after any filtering)")
    if not pairs:
        raise ValueError(f"no usable pairs in {what}: all rows were skipped ({describe_skipped(skipped)})")
    return pairs, skipped


def warn_skipped(pairs: list[PreferencePair], skipped: dict[str, int], what: str) -> None:
    """One warning with the skip counts (nothing when no row was skipped)."""
    if skipped:
        n = sum(skipped.values())
        warnings.warn(f"{what}: skipped {n} of {n + len(pairs)} rows that are not valid pairs "
                      f"({describe_skipped(skipped)})", stacklevel=3)


# -- the row formats of local files (hub sources map onto them: rlcore.sources) ----------------------
ASSISTANT = "\n\nAssistant:"
TLDR = "TL;DR:"


def split_hh(chosen: str, rejected: str) -> tuple[str, str, str]:
    """(prompt, chosen response, rejected response) from two whole HH-RLHF conversations.

    The prompt is the longest shared prefix that ends with "\\n\\nAssistant:" (the last assistant
    turn is the one being compared; earlier turns are context).
    """
    n = 0  # length of the shared prefix
    while n < min(len(chosen), len(rejected)) and chosen[n] == rejected[n]:
        n += 1
    cut = chosen.rfind(ASSISTANT, 0, n)  # the last assistant tag lying wholly inside the shared prefix
    if cut < 0:
        raise SkippedRow("unsplittable conversation",
                         f"not an HH-RLHF pair: chosen and rejected share no prefix ending in {ASSISTANT!r}")
    end = cut + len(ASSISTANT)
    return chosen[:end], chosen[end:], rejected[end:]


def string_fields(row: dict, names: tuple[str, ...]) -> list[str]:
    """The string fields ``names`` of ``row``; a missing or non-string field is a (fatal) ValueError."""
    missing = [k for k in names if k not in row]
    if missing:
        raise ValueError(f"missing field(s) {missing}; a preference row has prompt, chosen, rejected "
                         "(or only chosen and rejected, as whole HH-RLHF conversations)")
    for name in names:
        if not isinstance(row[name], str):
            raise ValueError(f"{name} must be a string, got {type(row[name]).__name__}")
    return [row[k] for k in names]


def _p_chosen(row: dict) -> float:
    value = row.get("p_chosen")
    if value is None or value == "" or value != value:  # absent, an empty CSV cell, or NaN in a parquet column
        return 1.0
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"p_chosen must be a number in [0, 1], got {value!r}") from None


def leading_space(response: str) -> str:
    return response if response.startswith((" ", "\n")) else " " + response


def from_pairs(row: dict) -> PreferencePair:
    """``prompt``, and ``chosen`` / ``rejected`` holding the responses only (the course's own format)."""
    prompt, chosen, rejected = string_fields(row, ("prompt", "chosen", "rejected"))
    if not prompt.strip():
        raise SkippedRow("empty prompt")
    return PreferencePair(prompt, chosen, rejected, _p_chosen(row))


def from_hh(row: dict) -> PreferencePair:
    """``chosen`` / ``rejected`` are whole conversations: cut at ``prompt`` if the row has one, else split."""
    if "prompt" not in row:
        prompt, chosen, rejected = split_hh(*string_fields(row, ("chosen", "rejected")))
        return PreferencePair(prompt, chosen, rejected, _p_chosen(row))
    prompt, chosen, rejected = string_fields(row, ("prompt", "chosen", "rejected"))
    for name, value in (("chosen", chosen), ("rejected", rejected)):
        if not value.startswith(prompt):
            raise ValueError(f"{name} does not start with the prompt; in the 'hh' format chosen and rejected "
                             "are prompt + response (use format='pairs' if they hold the responses only)")
    return from_pairs({"prompt": prompt, "chosen": chosen[len(prompt):], "rejected": rejected[len(prompt):],
                       "p_chosen": row.get("p_chosen")})


def from_tldr(row: dict) -> PreferencePair:
    """The post becomes a prompt that asks for a summary ("…\\nTL;DR:"); responses lose their "TL;DR:"."""
    prompt, chosen, rejected = string_fields(row, ("prompt", "chosen", "rejected"))
    prompt = prompt.rstrip()
    if not prompt.endswith(TLDR):
        prompt += "\n" + TLDR
    chosen, rejected = (leading_space(r.strip().removeprefix(TLDR).strip()) for r in (chosen, rejected))
    return PreferencePair(prompt, chosen, rejected, _p_chosen(row))


def detect_format(row: dict) -> str:
    """The format of one row, from its columns: "hh", "tldr" or "pairs"."""
    if "prompt" not in row:
        return "hh"  # chosen / rejected only: two whole HH-RLHF conversations
    prompt, chosen, rejected = row.get("prompt"), row.get("chosen"), row.get("rejected")
    if not all(isinstance(v, str) for v in (prompt, chosen, rejected)):
        return "pairs"  # from_pairs names the broken field
    if prompt and chosen.startswith(prompt) and rejected.startswith(prompt):
        return "hh"
    if (chosen.lstrip().startswith(TLDR) and rejected.lstrip().startswith(TLDR)
            and (prompt.lstrip().startswith("SUBREDDIT:") or prompt.rstrip().endswith(TLDR))):
        return "tldr"
    return "pairs"


def from_any(row: dict) -> PreferencePair:
    return ROW_FORMATS[detect_format(row)](row)


ROW_FORMATS = {"auto": from_any, "pairs": from_pairs, "hh": from_hh, "tldr": from_tldr}


def converter(format: str):
    """The row -> PreferencePair function of a local file ``format``."""
    if format not in ROW_FORMATS:
        raise ValueError(f"unknown preference format {format!r}; use one of {sorted(ROW_FORMATS)}")
    return ROW_FORMATS[format]



def read_pairs(rows, format: str = "pairs", max_chars: int | None = None,
               what: str = "the rows") -> tuple[list[PreferencePair], dict[str, int]]:
    """PreferencePairs from PreferencePair objects or dicts, and the skip counts {reason: n}.

    ``format`` (see :data:`ROW_FORMATS`): ``"pairs"``, chosen / rejected are the responses
    only; ``"hh"``, they are whole conversations (cut at the prompt if the row has one, else split at
    the last shared "\\n\\nAssistant:"); ``"tldr"``, TL;DR summarisation comparisons; ``"auto"``, chosen
    per row from the columns it has.
    """
    return collect_pairs(((f"preference row {i}", row) for i, row in enumerate(rows)), converter(format),
                         max_chars, what)


def as_pairs(rows, format: str = "pairs", max_chars: int | None = None) -> list[PreferencePair]:
    """:func:`read_pairs` without the counts: rows that teach nothing are skipped with one warning."""
    pairs, skipped = read_pairs(rows, format, max_chars)
    warn_skipped(pairs, skipped, "preference rows")
    return pairs


def read_rows(path: str) -> list[tuple[str, object]]:
    """The rows of a .jsonl, .json (a list of rows), .csv or .parquet file, each as (where, row)."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"no preference file at {path}")
    ext = os.path.splitext(path)[1].lower()
    if ext == ".parquet":
        try:
            import pandas

            records = pandas.read_parquet(path).to_dict("records")
        except ImportError:
            from datasets import Dataset

            records = list(Dataset.from_parquet(path))
        return [(f"{path} row {i}", row) for i, row in enumerate(records)]
    with open(path, encoding="utf-8", newline="" if ext == ".csv" else None) as f:
        if ext == ".jsonl":
            rows = []
            for line_no, line in enumerate(f, 1):
                if line.strip():
                    try:
                        rows.append((f"{path} line {line_no}", json.loads(line)))
                    except json.JSONDecodeError as err:
                        raise ValueError(f"{path} line {line_no} is not valid JSON: {err.msg}") from None
            return rows
        if ext == ".json":
            try:
                data = json.load(f)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path} is not valid JSON (line {err.lineno}): {err.msg}") from None
            if not isinstance(data, list):
                raise ValueError(f"{path} must hold a JSON list of rows, found a {type(data).__name__}")
            return [(f"{path} row {i}", row) for i, row in enumerate(data)]
        if ext == ".csv":
            reader = csv.DictReader(f)
            return [(f"{path} line {reader.line_num}", row) for row in reader]
    raise ValueError(f"cannot read {path}: use a .jsonl, .json, .csv or .parquet file")


def read_preferences(path: str, format: str = "auto",
                     max_chars: int | None = None) -> tuple[list[PreferencePair], dict[str, int]]:
    """Preference pairs from a file and the skip counts {reason: n}: what ``rlcore check-data`` prints."""
    convert = converter(format)  # an unknown format fails before the file is read
    return collect_pairs(read_rows(path), convert, max_chars, what=path)


def load_preferences(path: str, format: str = "auto", max_chars: int | None = None) -> list[PreferencePair]:
    """Read and validate preference pairs from a .jsonl, .json, .csv or .parquet file.

    Rows that teach nothing are skipped, with one warning that counts them by reason; see
    :func:`read_preferences` for the counts themselves.
    """
    pairs, skipped = read_preferences(path, format, max_chars)
    warn_skipped(pairs, skipped, path)
    return pairs


def fit_to_length(prompt_ids: list[int], response_ids: list[int], max_length: int,
                  max_prompt_tokens: int | None = None) -> tuple[list[int], list[int]]:
    """The course's one length policy, on token ids: the prompt keeps its *last* ``max_prompt_tokens`` tokens
    (the newest turns: the question being answered), then the response keeps its *first* tokens up to
    ``max_length`` in all. Sampling applies the same prompt cut (``rlcore.rollout.tokenize_prompts``), and the
    profile makes max_length hold max_prompt_tokens + max_new_tokens + EOS, so a sampled response is never cut.
    ``max_prompt_tokens=None``: the response comes first (all but one position), the prompt gets the rest."""
    if max_length < 2:
        raise ValueError(f"max_length must be >= 2 (a prompt token and a response token), got {max_length}")
    if max_prompt_tokens is None:
        response_ids = response_ids[: max_length - 1]
        budget = max_length - len(response_ids)
    else:
        budget = min(max_prompt_tokens, max_length - 1)
    prompt_ids = prompt_ids[len(prompt_ids) - budget:] if len(prompt_ids) > budget else prompt_ids
    return prompt_ids, response_ids[: max_length - len(prompt_ids)]


def tokenize_prompt_response(tokenizer, prompts: list[str], responses: list[str], max_length: int,
                             add_eos: bool = True, device=None, max_prompt_tokens: int | None = None):
    """Tokenise prompt and response separately (as generation sees them), join, right-pad.

    Returns input_ids, attention_mask, response_mask: each (B, L). response_mask is 1 on the response
    tokens (and the EOS) only. Lengths follow :func:`fit_to_length`: the prompt loses tokens from its *left*
    (oldest turns first) beyond ``max_prompt_tokens``, and a response that still does not fit in ``max_length``
    is cut at its end (losing its EOS: it did not end there).
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
        p, r = fit_to_length(p, r, max_length, max_prompt_tokens)
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


def tokenize_pairs(tokenizer, pairs: list[PreferencePair], max_length: int, device=None,
                   max_prompt_tokens: int | None = None):
    """Chosen and rejected conversations stacked into one batch: rows 0..B-1 chosen, B..2B-1 rejected.

    Returns input_ids, attention_mask, response_mask, each (2B, L), as :func:`tokenize_prompt_response`.
    """
    prompts = [p.prompt for p in pairs] * 2
    responses = [p.chosen for p in pairs] + [p.rejected for p in pairs]
    return tokenize_prompt_response(tokenizer, prompts, responses, max_length, device=device,
                                    max_prompt_tokens=max_prompt_tokens)


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


def truncation_counts(tokenizer, prompts: list[str], responses: list[str], max_length: int,
                      max_prompt_tokens: int | None = None) -> dict[str, int]:
    """How many of these (prompt, response + EOS) sequences :func:`fit_to_length` cuts:
    ``{"prompts cut": n, "responses cut": m, "sequences": N}``."""
    cut_p = cut_r = 0
    for prompt, response in zip(prompts, responses, strict=True):
        p = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        r = tokenizer(response, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        kept_p, kept_r = fit_to_length(p, r, max_length, max_prompt_tokens)
        cut_p += len(kept_p) < len(p)
        cut_r += len(kept_r) < len(r)
    return {"prompts cut": cut_p, "responses cut": cut_r, "sequences": len(prompts)}


def describe_truncation(counts: dict[str, int], max_length: int, max_prompt_tokens: int | None) -> str:
    """One line for a warning, a report or ``check-data``: what the length policy cuts."""
    limit = "" if max_prompt_tokens is None else f" (max_prompt_tokens={max_prompt_tokens})"
    return (f"{counts['prompts cut']} of {counts['sequences']} prompts lose their oldest tokens{limit}, "
            f"{counts['responses cut']} responses are cut at their end to fit max_length={max_length}")


def warn_truncated(tokenizer, prompts: list[str], responses: list[str], max_length: int, what: str,
                   max_prompt_tokens: int | None = None) -> dict[str, int]:
    """Count what :func:`tokenize_prompt_response` will cut and warn once if anything; returns the counts."""
    counts = truncation_counts(tokenizer, prompts, responses, max_length, max_prompt_tokens)
    if counts["prompts cut"] or counts["responses cut"]:
        warnings.warn(f"{what}: {describe_truncation(counts, max_length, max_prompt_tokens)} "
                      "(raise the profile's max_prompt_tokens / max_length to keep them)", stacklevel=3)
    return counts
