"""Prompts and responses of the synthetic assistant world, in HH-RLHF's text format.

A prompt is ``"\\n\\nHuman: <request>\\n\\nAssistant:"`` and a response starts with a space, so
``prompt + response`` is one conversation. Five families of prompts (benign how-to, harmful,
emotional support, sensitive, summarise-a-post) and, for each, response *styles* of graded quality.
Splits hold out topics, names, reasons, worries, posts and phrasings for ``"test"``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from rlcore.world import content as C

FAMILIES = ("benign", "harmful", "emotional", "sensitive", "summary")
FAMILY_WEIGHTS = {"benign": 0.40, "harmful": 0.25, "emotional": 0.125, "sensitive": 0.10, "summary": 0.125}
SPLITS = ("train", "test")

STYLES = {
    "benign": ["helpful", "slip", "missing_step", "off_topic", "evasive", "refusal", "verbose"],
    "harmful": ["compliance", "refusal", "refusal_alternative", "evasive", "off_topic"],
    "emotional": ["empathetic", "dismissive", "empathy_only", "evasive", "verbose"],
    "sensitive": ["careful", "overconfident", "alarmist", "referral_only", "evasive"],
    "summary": ["good", "incomplete", "wrong_fact", "copy", "evasive"],
}
# The best style of each family: what an SFT demonstration looks like.
BEST_STYLE = {"benign": "helpful", "harmful": "refusal_alternative", "emotional": "empathetic",
              "sensitive": "careful", "summary": "good"}


@dataclass(frozen=True)
class WorldPrompt:
    """One generated prompt and what it is about (``key`` indexes the family's table)."""

    text: str
    family: str
    key: int
    name: str = ""
    feeling: str = ""
    reason: str = ""

    @property
    def request(self) -> str:
        return self.text[len("\n\nHuman: "): -len("\n\nAssistant:")]


def hh(request: str) -> str:
    """A single-turn conversation prompt in HH-RLHF format."""
    return f"\n\nHuman: {request}\n\nAssistant:"


def _split_slice(items: list, n_test: int, split: str) -> list:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {SPLITS}")
    return list(items[:-n_test]) if split == "train" else list(items[-n_test:])


def _index_range(n_items: int, n_test: int, split: str) -> list[int]:
    return _split_slice(list(range(n_items)), n_test, split)


def _capital(s: str) -> str:
    return s[:1].upper() + s[1:]


def make_prompt(family: str, split: str, rng: random.Random) -> WorldPrompt:
    """One random prompt of a family from a split."""
    names = _split_slice(C.NAMES, C.N_TEST_NAMES, split)
    name = rng.choice(names)
    if family == "benign":
        key = rng.choice(_index_range(len(C.TOPICS), C.N_TEST_TOPICS, split))
        templates = C.HOWTO_TEMPLATES if split == "train" else C.HOWTO_TEMPLATES + C.HOWTO_TEST_TEMPLATES
        return WorldPrompt(hh(rng.choice(templates).format(task=C.TOPICS[key][0])), family, key)
    if family == "harmful":
        key = rng.randrange(len(C.HARMFUL))
        templates = C.HARMFUL_TEMPLATES if split == "train" else C.HARMFUL_TEMPLATES + C.HARMFUL_TEST_TEMPLATES
        request = rng.choice(templates).format(task=C.HARMFUL[key][1])
        if rng.random() < 0.3:
            request = f"My friend {name} says it is easy. {request}"
        return WorldPrompt(hh(request), family, key, name=name)
    if family == "emotional":
        key = rng.choice(_index_range(len(C.REASONS), C.N_TEST_REASONS, split))
        feeling = rng.choice(C.FEELINGS)
        reason = C.REASONS[key].format(name=name)
        request = rng.choice(C.EMOTIONAL_TEMPLATES).format(feeling=feeling, reason=reason, Reason=_capital(reason))
        return WorldPrompt(hh(request), family, key, name=name, feeling=feeling, reason=reason)
    if family == "sensitive":
        key = rng.choice(_index_range(len(C.SENSITIVE), C.N_TEST_SENSITIVE, split))
        worry = C.SENSITIVE[key][0]
        request = rng.choice(C.SENSITIVE_TEMPLATES).format(worry=worry, Worry=_capital(worry))
        return WorldPrompt(hh(request), family, key)
    if family == "summary":
        key = rng.choice(_index_range(len(C.POSTS), C.N_TEST_POSTS, split))
        post = " ".join(C.POSTS[key][0]).format(name=name)
        return WorldPrompt(hh(rng.choice(C.SUMMARY_TEMPLATES).format(post=post)), family, key, name=name)
    raise ValueError(f"unknown family {family!r}; use one of {FAMILIES}")


def sample_prompts(split: str, n: int, seed: int, families: tuple[str, ...] | None = None) -> list[WorldPrompt]:
    """``n`` prompts drawn with the world's family mixture (or only ``families``)."""
    if not isinstance(n, int) or n <= 0:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {SPLITS}")
    families = tuple(families or FAMILIES)
    for f in families:
        if f not in FAMILIES:
            raise ValueError(f"unknown family {f!r}; use one of {FAMILIES}")
    rng = random.Random(f"{split}-{seed}")
    weights = [FAMILY_WEIGHTS[f] for f in families]
    return [make_prompt(rng.choices(families, weights)[0], split, rng) for _ in range(n)]


def prompts(split: str, n: int, seed: int = 0, families: tuple[str, ...] | None = None) -> list[str]:
    """``n`` prompt strings in HH format from ``split`` ("train" or "test")."""
    return [p.text for p in sample_prompts(split, n, seed, families)]


# --------------------------------------------------------------------------- responses
def _steps_sentence(task: str, steps: list[str]) -> str:
    if len(steps) == 1:
        return f"To {task}, {steps[0]}."
    middle = "".join(f", then {s}" for s in steps[1:-1])
    return f"To {task}, first {steps[0]}{middle}, and finally {steps[-1]}."


def respond(prompt: WorldPrompt, style: str, rng: random.Random) -> str:
    """A response of the given style to a world prompt (leading space, no EOS)."""
    if style not in STYLES[prompt.family]:
        raise ValueError(f"style {style!r} does not exist for family {prompt.family!r}; use one of {STYLES[prompt.family]}")
    f = prompt.family
    if style == "evasive":
        return " " + " ".join(rng.sample(C.EVASIONS, 2))
    if f == "benign":
        task, steps = C.TOPICS[prompt.key]
        other_task, other_steps = C.TOPICS[rng.choice([i for i in range(len(C.TOPICS)) if i != prompt.key])]
        if style == "helpful":
            return " " + _steps_sentence(task, steps)
        if style == "slip":
            wrong = list(steps)
            wrong[rng.randrange(4)] = rng.choice(other_steps)
            return " " + _steps_sentence(task, wrong)
        if style == "missing_step":
            kept = list(steps)
            del kept[rng.randrange(4)]
            return " " + _steps_sentence(task, kept)
        if style == "off_topic":
            return " " + _steps_sentence(other_task, other_steps)
        if style == "refusal":
            return " " + rng.choice(C.REFUSALS)
        if style == "verbose":
            filler = rng.choice(C.FILLERS)
            return f" {_steps_sentence(task, steps)} {filler} {_steps_sentence(task, steps)[0].lower()}{_steps_sentence(task, steps)[1:]} {rng.choice(C.EVASIONS)}"
    if f == "harmful":
        _, request, harm_steps, alternative = C.HARMFUL[prompt.key]
        if style == "compliance":
            task = request.replace("my ", "your ").replace(" me ", " you ")
            return " Sure. " + _steps_sentence(task, harm_steps)
        if style == "refusal":
            return " " + rng.choice(C.REFUSALS)
        if style == "refusal_alternative":
            return f" {rng.choice(C.REFUSALS)[:-1]}, but you could {alternative}."
        if style == "off_topic":
            task, steps = C.TOPICS[rng.randrange(len(C.TOPICS))]
            return " " + _steps_sentence(task, steps)
    if f == "emotional":
        support = rng.sample(C.SUPPORT_PHRASES, 2)
        feel = f"I am sorry you feel {prompt.feeling}. That sounds really hard."
        if style == "empathetic":
            return f" {feel} It may help to {support[0]} and {support[1]}."
        if style == "empathy_only":
            return f" {feel}"
        if style == "dismissive":
            return f" Everyone feels {prompt.feeling} sometimes. {_capital(rng.choice(C.DISMISSIVE_PHRASES))}."
        if style == "verbose":
            return f" {feel} {feel} {rng.choice(C.FILLERS)} {feel[0].lower()}{feel[1:]} It may help to {support[0]}."
    if f == "sensitive":
        _, professional, self_care = C.SENSITIVE[prompt.key]
        if style == "careful":
            return (f" I am not an expert, but it is worth checking. Please talk to {professional} soon. "
                    f"Meanwhile, {self_care}.")
        if style == "referral_only":
            return f" Please talk to {professional}."
        if style == "overconfident":
            return f" {_capital(C.OVERCONFIDENT_PHRASES[0])}. {_capital(rng.choice(C.OVERCONFIDENT_PHRASES[1:]))}."
        if style == "alarmist":
            return f" {_capital(C.ALARMIST_PHRASES[0])}. {_capital(C.ALARMIST_PHRASES[1])}."
    if f == "summary":
        sentences, keys = C.POSTS[prompt.key]
        if style == "good":
            return f" TL;DR: {keys[0]}, {keys[1]}; {keys[2]}?"
        if style == "incomplete":
            return f" TL;DR: {keys[0]}."
        if style == "wrong_fact":
            other = C.POSTS[rng.choice([i for i in range(len(C.POSTS)) if i != prompt.key])][1]
            return f" TL;DR: {keys[0]}, {other[1]}; {keys[2]}?"
        if style == "copy":
            return " TL;DR: " + " ".join(sentences).format(name=prompt.name)
    raise AssertionError("unreachable")  # every (family, style) pair is handled above


def demonstrations(split: str, n: int, seed: int = 0, harmful_compliance: float = 0.0) -> list[tuple[str, str]]:
    """(prompt, best response) pairs: the SFT data.

    ``harmful_compliance`` is the share of harmful prompts whose demonstration *complies*, as from a
    helpful-only demonstrator: the SFT model is then helpful but not yet harmless, the starting point
    RLHF and RLAIF improve on (Lee et al. 2023's SFT baseline is harmless 64% of the time).
    """
    if not 0.0 <= harmful_compliance <= 1.0:
        raise ValueError(f"harmful_compliance must be in [0, 1], got {harmful_compliance}")
    rng = random.Random(f"demo-{split}-{seed}")
    out = []
    for p in sample_prompts(split, n, seed + 7919):
        style = BEST_STYLE[p.family]
        if p.family == "harmful" and harmful_compliance > 0 and rng.random() < harmful_compliance:
            style = "compliance"
        out.append((p.text, respond(p, style, rng)))
    return out


def response_pair(prompt: WorldPrompt, rng: random.Random) -> tuple[str, str]:
    """Two responses of two different styles to one prompt (the raw material of a comparison)."""
    a, b = rng.sample(STYLES[prompt.family], 2)
    return respond(prompt, a, rng), respond(prompt, b, rng)
