"""The world's text for the shipped models: the "web" they are pretrained on, and the judgement documents
that tune the labeler into a judge.

Pretraining corpus (:func:`corpus`), each document ending with ``<|endoftext|>``:

* dialogues (most of it): a prompt of any split — the web has seen every kind of request, test and
  held-out ones included, as a real base model has — answered in a style drawn from the family's
  ``WEB_MIX``: mostly not the best style, and harmful requests mostly complied with, so the base model is
  neither helpful nor harmless yet;
* judgement documents in the AI labeler's format (``rlcore.formats.labeler_prompt``), written by noisy
  commenters, some of whom habitually pick the first response;
* rating documents (one response, a 1-10 rating) and critique / revision documents (Bai et al. 2022).

Judgement, rating and critique documents use train tasks only, so no held-out task is ever judged in
training. :func:`judgements` makes the labeler's tuning data: comparisons of two answers on one train prompt
— minimal contrasts (one part differs) and pairs of two demonstrations (good, not perfect, as an SFT
policy writes) — with gold's verdict; an instruction-tuned LLM is what RLAIF uses as a labeler, and this
tuning is ours.
"""

from __future__ import annotations

import math
import random

from rlcore import formats as F
from rlcore.world.generator import WorldPrompt, best_answer, contrast_pair, demonstration, respond, sample_prompts
from rlcore.world.gold import gold_components, gold_score

EOS = "<|endoftext|>"
# How the "web" answers each family: mostly not the best style (harmful requests mostly complied with).
WEB_MIX = {
    "benign": {"helpful": 0.25, "missing_step": 0.15, "two_missing": 0.10, "swapped": 0.10, "slip": 0.15,
               "off_topic": 0.08, "refusal": 0.04, "evasive": 0.05, "verbose": 0.08},
    "harmful": {"compliance": 0.45, "partial_compliance": 0.15, "refusal": 0.10, "refusal_reason": 0.05,
                "refusal_alternative": 0.04, "wrong_alternative": 0.04, "lecture": 0.04, "evasive": 0.08,
                "off_topic": 0.05},
    "emotional": {"empathetic": 0.20, "empathy_only": 0.15, "advice_only": 0.15, "one_support": 0.10,
                  "wrong_support": 0.10, "dismissive": 0.15, "refusal": 0.03, "evasive": 0.07, "verbose": 0.05},
    "sensitive": {"careful": 0.20, "referral_only": 0.15, "self_care_only": 0.15, "wrong_professional": 0.10,
                  "wrong_timing": 0.10, "overconfident": 0.15, "alarmist": 0.07, "refusal": 0.03, "evasive": 0.05},
    "summary": {"good": 0.25, "missing_point": 0.20, "wrong_fact": 0.12, "copy": 0.20, "padded": 0.10,
                "no_name": 0.08, "evasive": 0.03, "refusal": 0.02},
}
SPLIT_SHARES = {"train": 0.8, "test": 0.1, "ood": 0.1}  # of the web's dialogues
CORPUS_MIX = {"dialogue": 0.80, "judgement": 0.10, "rating": 0.05, "critique": 0.05}
# Commenters who write judgement documents on the web: (share, Bradley-Terry temperature, first-slot habit).
COMMENTERS = [(0.4, 0.5, 0.0), (0.3, 1.5, 0.0), (0.3, 1.0, 0.5)]


def principles(family: str) -> list[str]:
    return F.SUMMARY_PRINCIPLES if family == "summary" else F.HH_PRINCIPLES


def web_response(p: WorldPrompt, rng: random.Random) -> str:
    mix = WEB_MIX[p.family]
    return respond(p, rng.choices(list(mix), list(mix.values()))[0], rng)


def comparison(p: WorldPrompt, rng: random.Random) -> tuple[str, str]:
    """Two answers to ``p`` whose gold scores differ, in a random order: a minimal contrast half the time,
    else two demonstrations (or a demonstration and a web answer when the two tie)."""
    if rng.random() < 0.5:
        good, bad, _ = contrast_pair(p, rng)
        pair = [good, bad]
    else:
        pair = [demonstration(p, rng), demonstration(p, rng)]
        while gold_score(p, pair[0]) == gold_score(p, pair[1]):
            pair[1] = web_response(p, rng) if rng.random() < 0.5 else demonstration(p, rng)
    rng.shuffle(pair)
    return pair[0], pair[1]


def judgement(p: WorldPrompt, rng: random.Random) -> tuple[str, str]:
    """(labeler text ending in "Preferred Response=", gold's verdict "1" or "2") for a comparison on ``p``."""
    a, b = comparison(p, rng)
    text = F.labeler_prompt(rng.choice(principles(p.family)), p.text, a, b) + F.VERDICT_ENDING
    return text, "1" if gold_score(p, a) > gold_score(p, b) else "2"


def web_judgement(p: WorldPrompt, rng: random.Random) -> str:
    """A judgement document by a web commenter: Bradley-Terry on gold, some with a first-slot habit."""
    a, b = comparison(p, rng)
    _, temperature, habit = rng.choices(COMMENTERS, [c[0] for c in COMMENTERS])[0]
    gap = gold_score(p, a) - gold_score(p, b)
    first = rng.random() < habit or rng.random() < 1.0 / (1.0 + math.exp(-gap / temperature))
    text = F.labeler_prompt(rng.choice(principles(p.family)), p.text, a, b)
    return f"{text}{F.VERDICT_ENDING}{1 if first else 2}{EOS}"


def rating(p: WorldPrompt, rng: random.Random, noise: float = 1.0) -> str:
    """A rating document: one web answer and a noisy 1-10 rating, round(6 + 1.5 x gold + noise)."""
    response = web_response(p, rng)
    score = int(min(10, max(1, round(6 + 1.5 * gold_score(p, response) + rng.gauss(0.0, noise)))))
    return f"{F.rating_prompt(rng.choice(principles(p.family)), p.text, response)}{score}{EOS}"


def critique_text(p: WorldPrompt, response: str, principle: str) -> str:
    """What a critic says of ``response`` under ``principle`` ("harm", "care" or "helpful"), from gold."""
    c = gold_components(p, response)
    if principle == "harm":
        return "The response gives harmful instructions." if c["harm"] else "The response is safe."
    if principle == "care":
        return "The response is dismissive." if c.get("empathy", 0.0) <= 0 else "The response is kind enough."
    return "The response leaves out what was asked." if c["helpfulness"] < 1 else "The response answers the question."


def critique(p: WorldPrompt, rng: random.Random) -> str:
    """A critique / revision document: a web answer, a critique from gold, and a revision that is the best
    answer 85% of the time (revisers are not perfect)."""
    principle = {"harmful": "harm", "emotional": "care"}.get(p.family, "helpful")
    initial = web_response(p, rng)
    revision = best_answer(p, rng) if rng.random() < 0.85 else web_response(p, rng)
    return (f"{F.revision_prompt(p.text, initial, ' ' + critique_text(p, initial, principle), principle)}"
            f"{revision}{EOS}")


def corpus(n_documents: int, seed: int = 0) -> list[str]:
    """``n_documents`` documents of the world's web text (deterministic under ``seed``)."""
    if n_documents <= 0:
        raise ValueError(f"n_documents must be > 0, got {n_documents}")
    rng = random.Random(f"v2-corpus-{seed}")
    kinds, shares = list(CORPUS_MIX), list(CORPUS_MIX.values())
    splits, split_shares = list(SPLIT_SHARES), list(SPLIT_SHARES.values())
    docs = []
    for k in range(n_documents):
        kind = rng.choices(kinds, shares)[0]
        split = rng.choices(splits, split_shares)[0] if kind == "dialogue" else "train"
        p = sample_prompts(split, 1, seed * 1000003 + k)[0]
        if kind == "dialogue":
            docs.append(p.text + web_response(p, rng) + EOS)
        elif kind == "judgement":
            docs.append(web_judgement(p, rng))
        elif kind == "rating":
            docs.append(rating(p, rng))
        else:
            docs.append(critique(p, rng))
    return docs


def judgements(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """The labeler's tuning data: ``n`` (text, verdict) comparisons on train prompts, verdicts by gold."""
    rng = random.Random(f"v2-judgements-{seed}")
    rows = [judgement(p, rng) for p in sample_prompts("train", n, seed + 50021)]
    return [t for t, _ in rows], [v for _, v in rows]
