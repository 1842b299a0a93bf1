"""Simulated human annotators.

Pairwise labels follow a Bradley-Terry model on gold scores:
    P(annotator prefers a over b) = sigmoid((gold(a) - gold(b)) / T)
with the temperature T set so that a simulated annotator agrees with the gold preference about 75%
of the time on the world's comparison pairs — close to the 73-77% agreement between human
annotators that Lee et al. 2023 report. Likert ratings (1-10) are a noisy affine map of gold.
"""

from __future__ import annotations

import math
import random

from rlcore.data import PreferencePair
from rlcore.world.generator import response_pair, sample_prompts
from rlcore.world.gold import gold_score

# Calibrated by bisection so that `expected_human_agreement("train", 4000, 0)` is 75.0%.
HUMAN_TEMPERATURE = 1.62


def human_label(prompt: str, a: str, b: str, rng: random.Random, temperature: float = HUMAN_TEMPERATURE) -> bool:
    """True if a simulated annotator prefers ``a`` to ``b``."""
    diff = gold_score(prompt, a) - gold_score(prompt, b)
    return rng.random() < 1.0 / (1.0 + math.exp(-diff / temperature))


def likert_rating(prompt: str, response: str, rng: random.Random, noise: float = 1.0) -> int:
    """A 1-10 rating: round(6 + 1.5 * gold + noise), clipped ("community votes")."""
    return int(min(10, max(1, round(6 + 1.5 * gold_score(prompt, response) + rng.gauss(0.0, noise)))))


def comparisons(split: str, n: int, seed: int = 0, families=None) -> list[tuple[str, str, str]]:
    """``n`` (prompt, response_a, response_b) triples whose gold scores differ."""
    rng = random.Random(f"pairs-{split}-{seed}")
    out = []
    for p in sample_prompts(split, n, seed + 104729, families):
        while True:
            a, b = response_pair(p, rng)
            if abs(gold_score(p.text, a) - gold_score(p.text, b)) > 1e-6:
                break
        out.append((p.text, a, b))
    return out


def preference_pairs(split: str, n: int, seed: int = 0, labels: str = "human", families=None) -> list[PreferencePair]:
    """Preference pairs labelled by simulated humans (``labels="human"``) or by the gold judge ("gold")."""
    if labels not in ("human", "gold"):
        raise ValueError(f"labels must be 'human' or 'gold', got {labels!r}")
    rng = random.Random(f"labels-{split}-{seed}")
    pairs = []
    for prompt, a, b in comparisons(split, n, seed, families):
        a_wins = human_label(prompt, a, b, rng) if labels == "human" else gold_score(prompt, a) > gold_score(prompt, b)
        pairs.append(PreferencePair(prompt, a, b) if a_wins else PreferencePair(prompt, b, a))
    return pairs


def human_agreement(split: str = "train", n: int = 4000, seed: int = 0, temperature: float = HUMAN_TEMPERATURE) -> float:
    """Share of simulated human labels that agree with the gold preference."""
    rng = random.Random(seed)
    agree = 0
    for prompt, a, b in comparisons(split, n, seed):
        gold_a = gold_score(prompt, a) > gold_score(prompt, b)
        agree += human_label(prompt, a, b, rng, temperature) == gold_a
    return agree / n


def expected_human_agreement(split: str = "train", n: int = 4000, seed: int = 0,
                             temperature: float = HUMAN_TEMPERATURE) -> float:
    """The exact expected agreement, mean of sigmoid(|gold(a) - gold(b)| / T), without sampling noise."""
    total = 0.0
    for prompt, a, b in comparisons(split, n, seed):
        total += 1.0 / (1.0 + math.exp(-abs(gold_score(prompt, a) - gold_score(prompt, b)) / temperature))
    return total / n


def likert_pairs(split: str, n: int, seed: int = 0, families=None, noise: float = 3.0) -> list[PreferencePair]:
    """"Community votes": two responses each rated 1-10 by a different simulated rater, turned into a
    pair (higher rating = chosen; ties skipped). Cheap, noisy data for preference-model pretraining (PMP,
    Askell et al. 2021; the pretraining stage of the constitutional-AI preference model)."""
    rng = random.Random(f"likert-{split}-{seed}")
    pairs = []
    for prompt, a, b in comparisons(split, n, seed + 31, families):
        ra, rb = likert_rating(prompt, a, rng, noise), likert_rating(prompt, b, rng, noise)
        if ra != rb:
            pairs.append(PreferencePair(prompt, a, b) if ra > rb else PreferencePair(prompt, b, a))
    return pairs
