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

The row formats shared with local files (``from_hh``, ``from_tldr``, :data:`rlcore.data.ROW_FORMATS`) live in
:mod:`rlcore.data`; this module adds the hub: which dataset is in which format, and the download.
"""

from __future__ import annotations

from rlcore.data import (PreferencePair, string_fields, leading_space, collect_pairs, from_hh, from_tldr,
                         warn_skipped)


class HubUnreachableError(RuntimeError):
    """A hub id (a dataset here, a model in :mod:`rlcore.models`) was asked for but the hub cannot be reached."""

from_hh_rlhf = from_hh  # Anthropic/hh-rlhf rows have no prompt column


def from_dahoas(row: dict) -> PreferencePair:
    prompt, chosen, rejected = string_fields(row, ("prompt", "chosen", "rejected"))
    if not prompt.startswith("\n\n"):
        prompt = "\n\n" + prompt.lstrip()  # rm-static prompts sometimes drop the leading blank line
    return PreferencePair(prompt.rstrip(" "), leading_space(chosen), leading_space(rejected))


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
    from datasets import load_dataset  # imported only when a dataset is downloaded: it is slow to import

    try:
        data = load_dataset(source, data_dir=data_dir, split=split if n is None else f"{split}[:{n}]")
    except Exception as err:  # datasets raises ConnectionError, OSError or its own errors offline
        raise HubUnreachableError(
            f"could not load the dataset {source!r}: the Hugging Face hub is unreachable or the dataset is not "
            f"cached ({type(err).__name__}). Offline, use the tiny profile (RLCORE_PROFILE=tiny), whose data "
            "is the built-in world, or rlcore.data.load_preferences on a local file.") from None
    return normalise(source, data, max_chars)
