"""Simulated human labellers: Bradley-Terry on the gold gap, at the temperature that makes them agree with gold
as often as Lee et al. 2023's annotators agree with each other."""

from __future__ import annotations

import math
import random

from rlcore.data import PreferencePair
from rlcore.world.corpus import comparison
from rlcore.world.generator import sample_prompts
from rlcore.world.gold import gold_score

HUMAN_AGREEMENT = 0.75  # Lee et al. 2023: human annotators agree with each other 73-77% of the time


def expected_agreement(gold_gaps: list[float], temperature: float) -> float:
    """Mean of sigmoid(|gap| / T): how often a Bradley-Terry labeller at ``temperature`` picks gold's winner."""
    return sum(1.0 / (1.0 + math.exp(-abs(g) / temperature)) for g in gold_gaps) / len(gold_gaps)


def human_temperature(gold_gaps: list[float], agreement: float = HUMAN_AGREEMENT) -> float:
    """The Bradley-Terry temperature at which simulated humans agree with gold ``agreement`` of the time on
    pairs with these gold gaps (bisection: agreement falls as the temperature rises)."""
    if not gold_gaps or not 0.5 < agreement < 1.0:
        raise ValueError("human_temperature needs some gold gaps and an agreement between 0.5 and 1")
    lo, hi = 1e-3, 100.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if expected_agreement(gold_gaps, mid) > agreement else (lo, mid)
    return (lo + hi) / 2


def human_label(prompt, a: str, b: str, rng: random.Random, temperature: float) -> bool:
    """True if a simulated annotator prefers ``a``: P = sigmoid((gold(a) - gold(b)) / T)."""
    gap = gold_score(prompt, a) - gold_score(prompt, b)
    return rng.random() < 1.0 / (1.0 + math.exp(-gap / temperature))


# --------------------------------------------------------------------------- pairs the world writes itself
def comparisons(split: str, n: int, seed: int, families=None) -> list[tuple[str, str, str]]:
    """``n`` (prompt, a, b) on ``split`` prompts, written by the world itself — a minimal contrast or two
    demonstrations, gold differing, in a random order (``corpus.comparison``). For lessons and tests that need
    pairs without a policy; the course's reward models train on comparisons of SFT samples
    (``rlcore.course_data.WorldData``)."""
    rng = random.Random(f"world-comparisons-{split}-{seed}")
    return [(p.text, *comparison(p, rng)) for p in sample_prompts(split, n, seed, families)]


def preference_pairs(split: str, n: int, seed: int, labels: str = "gold", families=None) -> list:
    """``comparisons`` as ``PreferencePair``s, the chosen one picked by ``labels``: "gold" (always gold's
    winner) or "human" (simulated annotators, at the temperature that makes them agree with gold
    ``HUMAN_AGREEMENT`` of the time on these pairs)."""
    if labels not in ("gold", "human"):
        raise ValueError(f"labels must be 'gold' or 'human', got {labels!r}")
    triples = comparisons(split, n, seed, families)
    gaps = [gold_score(p, a) - gold_score(p, b) for p, a, b in triples]
    temperature = human_temperature(gaps) if labels == "human" else None
    rng = random.Random(f"world-labels-{split}-{seed}")
    out = []
    for (p, a, b), gap in zip(triples, gaps):
        a_wins = gap > 0 if temperature is None else human_label(p, a, b, rng, temperature)
        out.append(PreferencePair(p, a, b) if a_wins else PreferencePair(p, b, a))
    return out
