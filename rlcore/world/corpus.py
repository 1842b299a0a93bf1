"""The pretraining corpus of the world: simulated "web text" the tiny models learn language from.

Three kinds of documents, each ending with the EOS text ``<|endoftext|>``:

* dialogues whose responses follow a realistic *mixture* of styles — mostly mediocre, often
  harmful on harmful requests — so the pretrained base model is not yet aligned;
* judgement documents in the AI labeler's format (``rlcore.formats.labeler_prompt``), written by
  noisy commenters, some of them with a habit of picking the first response; some give a short
  rationale before the verdict;
* critique / revision documents in the constitutional-AI format;
* rating documents: one response and a 1-10 rating by a noisy rater (the direct-scoring format).

Judgement and critique documents use train-split prompts only, so held-out pairs stay unseen.
"""

from __future__ import annotations

import math
import random

from rlcore import formats as F
from rlcore.world import content as C
from rlcore.world.generator import BEST_STYLE, FAMILIES, STYLES, make_prompt, respond
from rlcore.world.gold import gold_components, gold_score, WEIGHTS

EOS = C.EOT

# How the "web" answers each family: mostly not the best style (base model harmless rate well < 50%).
WEB_STYLE_MIX = {
    "benign": {"helpful": 0.30, "slip": 0.15, "missing_step": 0.15, "off_topic": 0.10, "evasive": 0.10,
               "refusal": 0.05, "verbose": 0.15},
    "harmful": {"compliance": 0.65, "refusal": 0.10, "refusal_alternative": 0.08, "evasive": 0.10, "off_topic": 0.07},
    "emotional": {"empathetic": 0.25, "dismissive": 0.30, "empathy_only": 0.15, "evasive": 0.15, "verbose": 0.15},
    "sensitive": {"careful": 0.20, "overconfident": 0.35, "alarmist": 0.15, "referral_only": 0.15, "evasive": 0.15},
    "summary": {"good": 0.30, "incomplete": 0.20, "wrong_fact": 0.15, "copy": 0.25, "evasive": 0.10},
}

# Commenters who write judgement documents: (share, Bradley-Terry temperature, first-position habit).
COMMENTERS = [(0.45, 0.4, 0.0), (0.30, 1.0, 0.0), (0.25, 1.0, 0.45)]

_REASONS = {
    "harm": ("gives no harmful instructions", "gives harmful instructions"),
    "helpfulness": ("answers the request better", "leaves out what was asked"),
    "wrong": ("stays accurate", "includes wrong or made up content"),
    "empathy": ("is more caring", "is dismissive"),
    "over_refusal": ("answers a harmless request", "refuses a harmless request"),
    "length": ("is concise", "is too long"),
    "repetition": ("does not repeat itself", "repeats itself"),
    "oov": ("is clearly written", "is garbled"),
    "degenerate": ("is a real answer", "is not a real answer"),
}


def web_response(prompt, rng: random.Random) -> str:
    mix = WEB_STYLE_MIX[prompt.family]
    style = rng.choices(list(mix), list(mix.values()))[0]
    return respond(prompt, style, rng)


def rationale(prompt: str, response_1: str, response_2: str) -> tuple[str, int]:
    """A one-sentence reason naming the component that decides the gold preference, and the winner."""
    c1, c2 = gold_components(prompt, response_1), gold_components(prompt, response_2)
    diffs = {k: WEIGHTS[k] * (c1[k] - c2[k]) for k in WEIGHTS}
    winner = 1 if gold_score(prompt, response_1) >= gold_score(prompt, response_2) else 2
    sign = 1 if winner == 1 else -1
    component = max(diffs, key=lambda k: sign * diffs[k])
    loser = 3 - winner
    good, bad = _REASONS[component]
    # Say something about the winner when it scores *high* on a good thing, else about the loser.
    if component in ("helpfulness", "empathy"):
        return f"Response {winner} {good}.", winner
    return f"Response {loser} {bad}.", winner


def judgement_document(prompt_obj, rng: random.Random, with_rationale: bool | None = None) -> str:
    prompt = prompt_obj.text
    while True:
        s1, s2 = rng.sample(STYLES[prompt_obj.family], 2)
        r1, r2 = respond(prompt_obj, s1, rng), respond(prompt_obj, s2, rng)
        diff = gold_score(prompt, r1) - gold_score(prompt, r2)
        if abs(diff) > 1e-6:
            break
    principles = F.SUMMARY_PRINCIPLES if prompt_obj.family == "summary" else F.HH_PRINCIPLES
    text = F.labeler_prompt(rng.choice(principles), prompt, r1, r2)
    if with_rationale is None:
        with_rationale = rng.random() < 0.3
    if with_rationale:  # careful commenters: the verdict follows the rationale, which follows gold
        reason, verdict = rationale(prompt, r1, r2)
        return f"{text}{F.RATIONALE_START} {reason}\n{F.VERDICT_ENDING}{verdict}{EOS}"
    _, temperature, first_habit = rng.choices(COMMENTERS, [c[0] for c in COMMENTERS])[0]
    if rng.random() < first_habit:
        verdict = 1
    else:
        verdict = 1 if rng.random() < 1.0 / (1.0 + math.exp(-diff / temperature)) else 2
    return f"{text}{F.VERDICT_ENDING}{verdict}{EOS}"


def critique_text(prompt: str, response: str, principle: str) -> str:
    c = gold_components(prompt, response)
    if principle == "harm":
        return "The response gives harmful instructions." if c["harm"] else "The response is safe."
    if principle == "care":
        return "The response is dismissive." if c["empathy"] < 0 else "The response is kind enough."
    return "The response leaves out what was asked." if c["helpfulness"] < 1 else "The response answers the question."


def critique_document(prompt_obj, rng: random.Random) -> str:
    principle = {"harmful": "harm", "emotional": "care"}.get(prompt_obj.family, "helpful")
    initial = web_response(prompt_obj, rng)
    critique = " " + critique_text(prompt_obj.text, initial, principle)
    best = respond(prompt_obj, BEST_STYLE[prompt_obj.family], rng)
    revision = best if rng.random() < 0.85 else web_response(prompt_obj, rng)  # revisers are not perfect
    return f"{F.revision_prompt(prompt_obj.text, initial, critique, principle)}{revision}{EOS}"


def rating_document(prompt_obj, rng: random.Random) -> str:
    from rlcore.world.humans import likert_rating

    response = respond(prompt_obj, rng.choice(STYLES[prompt_obj.family]), rng)
    principles = F.SUMMARY_PRINCIPLES if prompt_obj.family == "summary" else F.HH_PRINCIPLES
    rating = likert_rating(prompt_obj.text, response, rng)
    return f"{F.rating_prompt(rng.choice(principles), prompt_obj.text, response)}{rating}{EOS}"


CORPUS_MIX = {"dialogue": 0.50, "judgement": 0.32, "critique": 0.10, "rating": 0.08}


def corpus(n_documents: int, seed: int = 0) -> list[str]:
    """``n_documents`` documents of the world's web text (deterministic under ``seed``)."""
    if n_documents <= 0:
        raise ValueError(f"n_documents must be > 0, got {n_documents}")
    rng = random.Random(f"corpus-{seed}")
    docs = []
    kinds, weights = list(CORPUS_MIX), list(CORPUS_MIX.values())
    families = list(FAMILIES)
    for _ in range(n_documents):
        kind = rng.choices(kinds, weights)[0]
        if kind == "dialogue":  # the web talks about every topic, test topics included
            split = "train" if rng.random() < 0.8 else "test"
            p = make_prompt(rng.choice(families), split, rng)
            docs.append(f"{p.text}{web_response(p, rng)}{EOS}")
        elif kind == "judgement":
            docs.append(judgement_document(make_prompt(rng.choice(families), "train", rng), rng))
        elif kind == "critique":
            docs.append(critique_document(make_prompt(rng.choice(families), "train", rng), rng))
        else:
            docs.append(rating_document(make_prompt(rng.choice(families), "train", rng), rng))
    return docs


def judgement_corpus(n_documents: int, seed: int = 0) -> list[str]:
    """Only judgement and rating documents (train-split prompts): the "instruction tuning" that makes
    the labeler model an off-the-shelf judge, like the instruction-tuned LLMs RLAIF uses as labelers."""
    if n_documents <= 0:
        raise ValueError(f"n_documents must be > 0, got {n_documents}")
    rng = random.Random(f"judgements-{seed}")
    docs = []
    for _ in range(n_documents):
        p = make_prompt(rng.choice(list(FAMILIES)), "train", rng)
        docs.append(judgement_document(p, rng) if rng.random() < 0.85 else rating_document(p, rng))
    return docs
