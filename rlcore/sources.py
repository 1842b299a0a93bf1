"""Real preference datasets and local files, normalised to one schema: :class:`rlcore.data.PreferencePair`.

Every source stores its pairs differently; the course needs one shape (prompt, chosen, rejected, where
chosen / rejected are the *responses only*). The normalisers below are plain functions of one row,
tested offline on small hand-written rows in each source's format. A row that teaches nothing raises
:class:`rlcore.data.SkippedRow` and is skipped and counted; a broken row raises ValueError.

| source | row format | normalisation |
| --- | --- | --- |
| ``Anthropic/hh-rlhf`` | only ``chosen`` and ``rejected``: whole conversations "\\n\\nHuman: … \\n\\nAssistant: …", possibly several turns | split at the last "\\n\\nAssistant:" of their shared prefix |
| ``Dahoas/rm-static``, ``Dahoas/full-hh-rlhf`` | ``prompt`` (the conversation so far, ending in "\\n\\nAssistant:"), ``response``, ``chosen`` / ``rejected`` responses | kept; a missing space after "Assistant:" is added |
| ``CarperAI/openai_summarize_comparisons`` | ``prompt`` "SUBREDDIT: r/… TITLE: … POST: …" ending with the post text; ``chosen`` / ``rejected`` starting with "TL;DR: " | "\\nTL;DR:" is appended to the prompt and cut off the responses |

Local files use :data:`FORMATS`: ``"pairs"`` (prompt + responses), ``"hh"`` (whole conversations, with
or without a ``prompt`` column), ``"tldr"`` and ``"auto"``, which picks one of them per row.
"""

from __future__ import annotations

from rlcore.data import PreferencePair, SkippedRow, collect_pairs, warn_skipped

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


def _fields(row: dict, names: tuple[str, ...]) -> list[str]:
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


def _leading_space(response: str) -> str:
    return response if response.startswith((" ", "\n")) else " " + response


def from_pairs(row: dict) -> PreferencePair:
    """``prompt``, and ``chosen`` / ``rejected`` holding the responses only (the course's own format)."""
    prompt, chosen, rejected = _fields(row, ("prompt", "chosen", "rejected"))
    if not prompt.strip():
        raise SkippedRow("empty prompt")
    return PreferencePair(prompt, chosen, rejected, _p_chosen(row))


def from_hh(row: dict) -> PreferencePair:
    """``chosen`` / ``rejected`` are whole conversations: cut at ``prompt`` if the row has one, else split."""
    if "prompt" not in row:
        prompt, chosen, rejected = split_hh(*_fields(row, ("chosen", "rejected")))
        return PreferencePair(prompt, chosen, rejected, _p_chosen(row))
    prompt, chosen, rejected = _fields(row, ("prompt", "chosen", "rejected"))
    for name, value in (("chosen", chosen), ("rejected", rejected)):
        if not value.startswith(prompt):
            raise ValueError(f"{name} does not start with the prompt; in the 'hh' format chosen and rejected "
                             "are prompt + response (use format='pairs' if they hold the responses only)")
    return from_pairs({"prompt": prompt, "chosen": chosen[len(prompt):], "rejected": rejected[len(prompt):],
                       "p_chosen": row.get("p_chosen")})


from_hh_rlhf = from_hh  # Anthropic/hh-rlhf rows have no prompt column


def from_dahoas(row: dict) -> PreferencePair:
    prompt, chosen, rejected = _fields(row, ("prompt", "chosen", "rejected"))
    if not prompt.startswith("\n\n"):
        prompt = "\n\n" + prompt.lstrip()  # rm-static prompts sometimes drop the leading blank line
    return PreferencePair(prompt.rstrip(" "), _leading_space(chosen), _leading_space(rejected))


def from_tldr(row: dict) -> PreferencePair:
    """The post becomes a prompt that asks for a summary ("…\\nTL;DR:"); responses lose their "TL;DR:"."""
    prompt, chosen, rejected = _fields(row, ("prompt", "chosen", "rejected"))
    prompt = prompt.rstrip()
    if not prompt.endswith(TLDR):
        prompt += "\n" + TLDR
    chosen, rejected = (_leading_space(r.strip().removeprefix(TLDR).strip()) for r in (chosen, rejected))
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
    return FORMATS[detect_format(row)](row)


FORMATS = {"auto": from_any, "pairs": from_pairs, "hh": from_hh, "tldr": from_tldr}


def converter(format: str):
    """The row -> PreferencePair function of a local file ``format``."""
    if format not in FORMATS:
        raise ValueError(f"unknown preference format {format!r}; use one of {sorted(FORMATS)}")
    return FORMATS[format]


SOURCES = {
    "Anthropic/hh-rlhf": from_hh_rlhf,
    "Dahoas/rm-static": from_dahoas,
    "Dahoas/full-hh-rlhf": from_dahoas,
    "CarperAI/openai_summarize_comparisons": from_tldr,
}


def read_source(source: str, rows, max_chars: int | None = None) -> tuple[list[PreferencePair], dict[str, int]]:
    """Rows of ``source`` as PreferencePairs, and the skip counts {reason: n} (the policy of
    :func:`rlcore.data.collect_pairs`, as for local files)."""
    if source not in SOURCES:
        raise ValueError(f"unknown preference source {source!r}; known: {sorted(SOURCES)}")
    return collect_pairs(((f"{source} row {i}", row) for i, row in enumerate(rows)), SOURCES[source],
                         max_chars, what=source)


def normalise(source: str, rows, max_chars: int | None = None) -> list[PreferencePair]:
    """Rows of ``source`` as PreferencePairs; rows that teach nothing are skipped with one warning."""
    pairs, skipped = read_source(source, rows, max_chars)
    warn_skipped(pairs, skipped, source)
    return pairs


def load_preference_source(source: str, split: str = "train", n: int | None = None,
                           max_chars: int | None = None, data_dir: str | None = None) -> list[PreferencePair]:
    """Download (or read from the local cache) ``source`` and normalise its first ``n`` rows. ``data_dir``
    picks a subset, e.g. "harmless-base" or "helpful-base" of Anthropic/hh-rlhf."""
    if source not in SOURCES:
        raise ValueError(f"unknown preference source {source!r}; known: {sorted(SOURCES)}")
    from datasets import load_dataset

    from rlcore.models import HubUnreachableError

    try:
        data = load_dataset(source, data_dir=data_dir, split=split if n is None else f"{split}[:{n}]")
    except Exception as err:  # datasets raises ConnectionError, OSError or its own errors offline
        raise HubUnreachableError(
            f"could not load the dataset {source!r}: the Hugging Face hub is unreachable or the dataset is not "
            f"cached ({type(err).__name__}). Offline, use the tiny profile (RLCORE_PROFILE=tiny), whose data "
            "is the built-in world, or rlcore.data.load_preferences on a local file.") from None
    return normalise(source, data, max_chars)
