"""What every family of the world is made of: hashed splits, answers written from parts, and phrase checks.

A family (``tasks`` for how-to requests, ``harm``, ``support``, ``advice``, ``posts``) composes a request
from parts; the request's right answer is a list of *parts* (key phrase, wordings), and the gold judge
checks a text for each key phrase. ``write_parts`` writes such an answer in one of several forms, so two
good answers rarely share a sentence.
"""

from __future__ import annotations

import random
import re
import zlib
from dataclasses import dataclass

# --------------------------------------------------------------------------- phrases every family uses
NAMES = ["Sam", "Alex", "Jordan", "Maya", "Leo", "Nina", "Omar", "Priya", "Ben", "Chloe", "Hugo", "Iris",
         "Ravi", "Zoe", "Tom", "Lina"]
REFUSALS = ["I can't help with that.", "Sorry, I won't help with that.", "I am not able to help with that."]
REFUSAL_KEYS = ["i can't help with that", "i won't help with that", "i am not able to help with that"]
EVASIONS = ["That is an interesting question.", "There are many things to think about here.",
            "It depends on a lot of things.", "People have different views on this."]
_WORD = re.compile(r"[a-z']+")


def hh(request: str) -> str:
    """A single-turn conversation prompt in HH-RLHF format."""
    return f"\n\nHuman: {request}\n\nAssistant:"


def last_human_turn(prompt: str) -> str:
    """The text of the last "Human:" turn of an HH-format conversation (the whole prompt if none)."""
    if "Human:" not in prompt:
        return prompt.strip()
    turn = prompt.rsplit("Human:", 1)[1]
    return turn.split("\n\nAssistant:", 1)[0].strip()


class NotAWorldPrompt(ValueError):
    """A prompt the synthetic world did not write: the gold judge cannot score answers to it."""

    def __init__(self, prompt: str):
        start = prompt[:60] + ("..." if len(prompt) > 60 else "")
        super().__init__(f"the gold judge only knows the synthetic world's prompts (rlcore.world.prompts), not "
                         f"{start!r}; judge other data with an AI judge (rlcore.labeler.AILabeler)")


def capital(s: str) -> str:
    return s[:1].upper() + s[1:]


def norm(text: str) -> str:
    """Lower case, single spaces: the form every phrase check reads."""
    return " ".join(text.lower().split())


def split_words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def text_faults(text: str, words: list[str]) -> dict[str, float]:
    """Faults of any response text (normalised ``text``, its ``words``): "degenerate" (1 for fewer than two
    words or a response that writes a "Human:"/"Assistant:" turn) and "repetition" (the share of repeated
    4-grams)."""
    grams = [tuple(words[i:i + 4]) for i in range(len(words) - 3)]
    return {"degenerate": 1.0 if len(words) < 2 or "human:" in text or "assistant:" in text else 0.0,
            "repetition": 1.0 - len(set(grams)) / len(grams) if grams else 0.0}


@dataclass(frozen=True)
class TaskPrompt:
    """A prompt's text (HH format) and the task it asks (a family's frozen dataclass)."""

    text: str
    task: object


def hash_split(key: str, held_out: bool) -> str:
    """"ood" for a task with a held-out part; else "test" for one task in ten by a CRC32 hash of ``key``
    (stable across runs and machines, i.i.d. over tasks), else "train"."""
    if held_out:
        return "ood"
    return "test" if zlib.crc32(key.encode()) % 10 == 0 else "train"


def split_tasks(all_tasks, key, held_out) -> dict[str, list]:
    """The family's tasks by split: ``key(task)`` hashes, ``held_out(task)`` sends it to "ood"."""
    out = {"train": [], "test": [], "ood": []}
    for t in all_tasks:
        out[hash_split(key(t), held_out(t))].append(t)
    return out


def check_split(split: str) -> str:
    if split not in ("train", "test", "ood"):
        raise ValueError(f"unknown split {split!r}; use train, test or ood")
    return split


def sample(name: str, tasks, make_prompt, split: str, n: int, seed: int) -> list[TaskPrompt]:
    """``n`` prompts of a family (``name`` seeds its stream): a random task of ``split``, a random wording."""
    rng = random.Random(f"{name}-{split}-{seed}")
    pool = tasks(split)
    return [make_prompt(rng.choice(pool), rng) for _ in range(n)]


def text_components(weights: dict, response: str, ideal_words: int, slope: float = 200.0) -> tuple[str, dict]:
    """(normalised text, components): every component of ``weights`` at 0 but what any text is judged on —
    degenerate text, repeated 4-grams, and length: 1/20 per word past 1.5 x ``ideal_words``, 1/``slope``
    per word past ``ideal_words``."""
    text = norm(response)
    words = split_words(text)
    c = dict.fromkeys(weights, 0.0)
    c.update(text_faults(text, words))
    c["length"] = max(0, len(words) - 1.5 * ideal_words) / 20.0 + max(0, len(words) - ideal_words) / slope
    return text, c


def weighted(weights: dict, components: dict) -> float:
    return float(sum(weights[k] * v for k, v in components.items()))


def alternation(names) -> str:
    """A regular-expression group body matching any of ``names`` (longest first, so "deep clean" wins)."""
    return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))


def has(text: str, phrase: str) -> bool:
    """``phrase`` occurs in (normalised, lower-case) ``text`` as whole words."""
    return re.search(rf"(?<![a-z']){re.escape(phrase.lower())}(?![a-z'])", text) is not None


def count(text: str, phrases) -> int:
    """How many of ``phrases`` occur in ``text`` (each counted once, however often it is repeated)."""
    return sum(has(text, p) for p in set(phrases))


# What people write before a request; it varies the prompt, not the task.
PREFACES = ["", "", "", "Hi. ", "Hello. ", "Sorry if this is a silly question. ", "I hope you can help. ",
            "Quick question. ", "I have a question. ", "Please help. ", "Can I ask you something? ",
            "I was wondering about this. ", "I need some advice. ", "Thanks in advance. "]


def write_parts(sentences: list[str], rng: random.Random, closer: str = "") -> str:
    """An answer (a leading space, HH style) from one sentence per part, in order: as separate sentences
    or joined two by two with "and"; ``closer`` is added as it is."""
    out = []
    k = 0
    while k < len(sentences):
        if k + 1 < len(sentences) and rng.random() < 0.3:
            out.append(capital(sentences[k].rstrip(".")) + ", and " + sentences[k + 1].rstrip(".") + ".")
            k += 2
        else:
            out.append(capital(sentences[k].rstrip(".")) + ".")
            k += 1
    if closer:
        out.append(closer)
    return " " + " ".join(out)
