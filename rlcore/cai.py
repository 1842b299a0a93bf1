"""Constitutional AI, supervised stage (Bai et al. 2022): critique -> revision -> SL-CAI data.

For each (prompt, response): ask the model to critique its response against a principle, then to
revise it in the light of the critique; repeat for ``rounds`` rounds (a principle sampled per round).
The final revisions, paired with their prompts, are the SL-CAI fine-tuning data.
The text format is ``rlcore.formats.critique_prompt`` / ``revision_prompt``, the same as the
critique/revision documents of the world's pretraining corpus.
"""

from __future__ import annotations

import random

from rlcore.progress import progress_bar

from rlcore import formats
from rlcore.rollout import generate


def _continue(model, tokenizer, texts: list[str], max_new_tokens: int, do_sample: bool, seed: int,
              batch_size: int) -> list[str]:
    """Continue each text; keep the continuation up to the first blank line."""
    max_prompt = getattr(model.config, "max_position_embeddings", 2048) - max_new_tokens
    out = []
    for i in range(0, len(texts), batch_size):
        rollout = generate(model, tokenizer, texts[i:i + batch_size], max_new_tokens=max_new_tokens,
                           do_sample=do_sample, max_prompt_tokens=max_prompt, seed=seed + i)
        out += [r.split("\n\n")[0] for r in rollout.responses]
    return out


def critique_and_revise(model, tokenizer, prompts: list[str], responses: list[str], principles=("harm",),
                        rounds: int = 1, max_new_tokens: int = 48, do_sample: bool = False, seed: int = 0,
                        batch_size: int = 16, progress: bool = True) -> list[dict]:
    """Run ``rounds`` of critique -> revision on each response.

    Returns one dict per prompt: prompt, initial, critiques (list), revisions (list), principles
    (list), final (the last revision).
    """
    if len(prompts) != len(responses) or not prompts:
        raise ValueError("critique_and_revise needs equally long, non-empty lists of prompts and responses")
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    principles = tuple(principles)
    unknown = [p for p in principles if p not in formats.CRITIQUE_REQUESTS]
    if not principles or unknown:
        raise ValueError(f"principles must be a non-empty subset of {sorted(formats.CRITIQUE_REQUESTS)}, got {principles}")
    rng = random.Random(seed)
    records = [{"prompt": p, "initial": r, "critiques": [], "revisions": [], "principles": []}
               for p, r in zip(prompts, responses)]
    current = list(responses)
    for k in progress_bar(range(rounds), desc="critique -> revision", disable=not progress):
        chosen = [rng.choice(principles) for _ in prompts]
        critiques = _continue(model, tokenizer, [formats.critique_prompt(p, r, c) for p, r, c in
                                                 zip(prompts, current, chosen)],
                              max_new_tokens, do_sample, seed + 1000 * k, batch_size)
        critiques = [" " + c.strip() for c in critiques]
        revisions = _continue(model, tokenizer, [formats.revision_prompt(p, r, crit, c) for p, r, crit, c in
                                                 zip(prompts, current, critiques, chosen)],
                              max_new_tokens, do_sample, seed + 1000 * k + 500, batch_size)
        revisions = [" " + r.strip() for r in revisions]
        for rec, c, crit, rev in zip(records, chosen, critiques, revisions):
            rec["principles"].append(c)
            rec["critiques"].append(crit)
            rec["revisions"].append(rev)
        current = revisions
    for rec in records:
        rec["final"] = rec["revisions"][-1]
    return records


def sl_cai_dataset(records: list[dict]):
    """The SL-CAI fine-tuning set: (prompt, final revision), as a ``datasets.Dataset``."""
    from datasets import Dataset

    return Dataset.from_dict({"prompt": [r["prompt"] for r in records], "response": [r["final"] for r in records],
                              "initial": [r["initial"] for r in records]})
