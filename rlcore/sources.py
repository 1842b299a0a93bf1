"""Real preference datasets, normalised to one schema: :class:`rlcore.data.PreferencePair`.

Every source stores its pairs differently; the course needs one shape (prompt, chosen, rejected, where
chosen / rejected are the *responses only*). The normalisers below are plain functions of one row,
tested offline on small samples written in each source's format.

| source | row format | normalisation |
| --- | --- | --- |
| ``Anthropic/hh-rlhf`` | ``chosen`` and ``rejected``: whole conversations "\\n\\nHuman: … \\n\\nAssistant: …" | split at the last "\\n\\nAssistant:" of their shared prefix |
| ``Dahoas/rm-static``, ``Dahoas/full-hh-rlhf`` | ``prompt`` ending in "Assistant:", ``chosen`` / ``rejected`` responses | kept; a missing space after "Assistant:" is added |
| ``CarperAI/openai_summarize_comparisons`` | ``prompt`` ending in "TL;DR:", ``chosen`` / ``rejected`` starting with "TL;DR:" | the repeated "TL;DR:" is cut off the responses |
"""

from __future__ import annotations

from rlcore.data import PreferencePair

ASSISTANT = "\n\nAssistant:"


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
        raise ValueError(f"not an HH-RLHF pair: chosen and rejected share no prefix ending in {ASSISTANT!r}")
    end = cut + len(ASSISTANT)
    return chosen[:end], chosen[end:], rejected[end:]


def from_hh_rlhf(row: dict) -> PreferencePair:
    prompt, chosen, rejected = split_hh(row["chosen"], row["rejected"])
    return PreferencePair(prompt, chosen, rejected)


def _leading_space(response: str) -> str:
    return response if response.startswith((" ", "\n")) else " " + response


def from_dahoas(row: dict) -> PreferencePair:
    prompt = row["prompt"]
    if not prompt.startswith("\n\n"):
        prompt = "\n\n" + prompt.lstrip()  # rm-static prompts sometimes drop the leading blank line
    return PreferencePair(prompt.rstrip(" "), _leading_space(row["chosen"]), _leading_space(row["rejected"]))


def from_tldr(row: dict) -> PreferencePair:
    prompt = row["prompt"].rstrip()
    chosen, rejected = row["chosen"].strip(), row["rejected"].strip()
    if prompt.endswith("TL;DR:"):
        chosen, rejected = chosen.removeprefix("TL;DR:"), rejected.removeprefix("TL;DR:")
    return PreferencePair(prompt, _leading_space(chosen.strip()), _leading_space(rejected.strip()))


SOURCES = {
    "Anthropic/hh-rlhf": from_hh_rlhf,
    "Dahoas/rm-static": from_dahoas,
    "Dahoas/full-hh-rlhf": from_dahoas,
    "CarperAI/openai_summarize_comparisons": from_tldr,
}


def normalise(source: str, rows) -> list[PreferencePair]:
    """Rows of ``source`` as PreferencePairs; rows that cannot be normalised are skipped and counted."""
    if source not in SOURCES:
        raise ValueError(f"unknown preference source {source!r}; known: {sorted(SOURCES)}")
    pairs, skipped = [], 0
    for row in rows:
        try:
            pairs.append(SOURCES[source](row))
        except (ValueError, KeyError):
            skipped += 1  # e.g. HH-RLHF rows whose two conversations are identical
    if not pairs:
        raise ValueError(f"no usable pairs from {source} ({skipped} rows skipped)")
    if skipped:
        import warnings

        warnings.warn(f"{source}: skipped {skipped} of {skipped + len(pairs)} rows that are not valid pairs")
    return pairs


def load_preference_source(source: str, split: str = "train", n: int | None = None) -> list[PreferencePair]:
    """Download (or read from the local cache) ``source`` and normalise its first ``n`` rows."""
    if source not in SOURCES:
        raise ValueError(f"unknown preference source {source!r}; known: {sorted(SOURCES)}")
    from datasets import load_dataset

    from rlcore.models import HubUnreachableError

    try:
        data = load_dataset(source, split=split if n is None else f"{split}[:{n}]")
    except Exception as err:  # datasets raises ConnectionError, OSError or its own errors offline
        raise HubUnreachableError(
            f"could not load the dataset {source!r}: the Hugging Face hub is unreachable or the dataset is not "
            f"cached ({type(err).__name__}). Offline, use the tiny profile (RLCORE_PROFILE=tiny), whose data "
            "is the built-in world, or rlcore.data.load_preferences on a local file.") from None
    return normalise(source, data)
