"""World v2: the five families together, judged from the prompt's text alone.

    >>> from rlcore.world import v2
    >>> p = v2.sample_prompts("train", 1, seed=0)[0]
    >>> v2.gold_score(p.text, " I can't help with that.")  # doctest: +SKIP

| family | module | a task is | its right answer follows from |
| --- | --- | --- | --- |
| benign | ``tasks`` | verb x material x object | the verb's steps and the material's needs |
| harmful | ``harm`` | act x target x person x motive | refuse, the act's reason, the motive's lawful way |
| emotional | ``support`` | feeling x situation (8 areas) | empathy naming the feeling, the area's supports |
| sensitive | ``advice`` | subject x symptom x how long | the subject's professional, the symptom's self-care, the timing |
| summary | ``posts`` | event x complication x question (+ poster, details) | the three points and the poster, no details |

Splits: "train" and "test" by a hash of the task (i.i.d., as HH-RLHF's test split), "ood" for tasks with a
held-out part (objects, people, situations, subjects, events). The gold judge parses any prompt of the world
back into its task (``parse``), so it scores any response text to it; any other prompt raises
:class:`NotAWorldPrompt`. Harm is checked in every family: a harmful step costs wherever it appears.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from rlcore.world import advice, harm, posts, support, tasks
from rlcore.world.gold import NotAWorldPrompt, last_human_turn

FAMILIES = {"benign": tasks, "harmful": harm, "emotional": support, "sensitive": advice, "summary": posts}
FAMILY_WEIGHTS = {"benign": 0.40, "harmful": 0.25, "emotional": 0.125, "sensitive": 0.10, "summary": 0.125}
SPLITS = ("train", "test", "ood")
HARM_WEIGHT = harm.WEIGHTS["harm"]


@dataclass(frozen=True)
class WorldPrompt:
    """A prompt of world v2 (HH format), its family and the task it asks."""

    text: str
    family: str
    task: object


def sample_prompts(split: str, n: int, seed: int, families=None) -> list[WorldPrompt]:
    """``n`` prompts of ``split``, families drawn by ``FAMILY_WEIGHTS`` (or only those in ``families``)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {SPLITS}")
    names = list(families or FAMILIES)
    unknown = sorted(set(names) - set(FAMILIES))
    if unknown:
        raise ValueError(f"unknown families {unknown}; use some of {sorted(FAMILIES)}")
    rng = random.Random(f"v2-{split}-{seed}")
    picks = rng.choices(names, [FAMILY_WEIGHTS[f] for f in names], k=n)
    out = []
    for family in picks:
        module = FAMILIES[family]
        p = module.make_prompt(rng.choice(module.tasks(split)), rng)
        out.append(WorldPrompt(p.text, family, p.task))
    return out


def prompts(split: str, n: int, seed: int = 0, families=None) -> list[str]:
    """``n`` prompt strings (HH format) of ``split``: the texts of :func:`sample_prompts`."""
    return [p.text for p in sample_prompts(split, n, seed, families)]


def parse(prompt: str) -> WorldPrompt:
    """The family and task of a world prompt, from its text (:class:`NotAWorldPrompt` for any other)."""
    if not isinstance(prompt, str):
        raise ValueError(f"prompt must be a string, got {type(prompt).__name__}")
    request = last_human_turn(prompt)
    for family, module in FAMILIES.items():
        task = module.parse_request(request)
        if task is not None:
            return WorldPrompt(prompt, family, task)
    raise NotAWorldPrompt(prompt)


parse_prompt = parse  # the name world v1 gives it


def _as_prompt(prompt) -> WorldPrompt:
    return prompt if isinstance(prompt, WorldPrompt) else parse(prompt)


def gold_components(prompt, response: str) -> dict[str, float]:
    """The family's components of the gold score (see each family's module), with harm in every family."""
    if not isinstance(response, str):
        raise ValueError(f"response must be a string, got {type(response).__name__}")
    p = _as_prompt(prompt)
    c = FAMILIES[p.family].gold_components(p.task, response)
    c.setdefault("harm", 1.0 if harm.contains_harm(response) else 0.0)
    return c


def weights(family: str) -> dict[str, float]:
    """The weight of each gold component in ``family``."""
    return {**FAMILIES[family].WEIGHTS, "harm": HARM_WEIGHT}


def weights_for(prompt) -> dict[str, float]:
    """The weight of each gold component for ``prompt``'s family."""
    return weights(_as_prompt(prompt).family)


def gold_score(prompt, response: str) -> float:
    """The world's true quality of ``response`` to ``prompt`` (its text or a :class:`WorldPrompt`)."""
    p = _as_prompt(prompt)
    w = weights(p.family)
    return float(sum(w[k] * v for k, v in gold_components(p, response).items()))


def is_harmful_prompt(prompt) -> bool:
    return _as_prompt(prompt).family == "harmful"


def is_harmless(prompt, response: str) -> bool:
    """True if the response gives no harmful step of the world (refusing or deflecting both count)."""
    _as_prompt(prompt)  # a world prompt, or NotAWorldPrompt
    if not isinstance(response, str):
        raise ValueError(f"response must be a string, got {type(response).__name__}")
    return not harm.contains_harm(response)


def respond(prompt, style: str, rng: random.Random) -> str:
    """A response of ``style`` (one of the family's ``STYLES``)."""
    p = _as_prompt(prompt)
    return FAMILIES[p.family].respond(p, style, rng)


def demonstration(prompt, rng: random.Random) -> str:
    """What a good, not perfect, human demonstrator writes (each family's ``demonstration``)."""
    p = _as_prompt(prompt)
    return FAMILIES[p.family].demonstration(p, rng)


def best_answer(prompt, rng: random.Random | None = None) -> str:
    """The world's best answer: every part the task asks for, nothing else."""
    p = _as_prompt(prompt)
    return FAMILIES[p.family].best_answer(p, rng or random.Random(0))


def best_response(prompt) -> str:
    """The world's best answer in one fixed wording (seed 0): the ceiling row of every win-rate table."""
    return best_answer(prompt, random.Random(0))


def comply(prompt, rng: random.Random) -> str:
    """What a helpful-only demonstrator writes to a harmful request: the harmful steps (the harm family only)."""
    p = _as_prompt(prompt)
    if p.family != "harmful":
        raise ValueError(f"comply answers harmful prompts only, not a {p.family} one")
    return harm.comply(p.task, rng)


def contrast_pair(prompt, rng: random.Random) -> tuple[str, str, str]:
    """A minimal contrast (better, worse, what differs) in the family's terms."""
    p = _as_prompt(prompt)
    return FAMILIES[p.family].contrast_pair(p, rng)


# --------------------------------------------------------------------------- simulated human labellers
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
