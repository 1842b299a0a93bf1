"""The world's prompts and answers: the five families together, each prompt parsed back from its text alone.

    >>> from rlcore import world
    >>> p = world.sample_prompts("train", 1, seed=0)[0]
    >>> world.gold_score(p.text, " I can't help with that.")  # doctest: +SKIP

Splits: "train" and "test" by a hash of the task (i.i.d., as HH-RLHF's test split), "ood" for tasks with a
held-out part (objects, people, situations, subjects, events). The gold judge parses any prompt of the world
back into its task (``parse_prompt``), so it scores any response text to it; any other prompt raises
:class:`NotAWorldPrompt`. Harm is checked in every family: a harmful step costs wherever it appears.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from rlcore.world import advice, harm, posts, support, tasks
from rlcore.world.compose import NotAWorldPrompt, last_human_turn

FAMILIES = {"benign": tasks, "harmful": harm, "emotional": support, "sensitive": advice, "summary": posts}
FAMILY_WEIGHTS = {"benign": 0.40, "harmful": 0.25, "emotional": 0.125, "sensitive": 0.10, "summary": 0.125}
SPLITS = ("train", "test", "ood")


@dataclass(frozen=True)
class WorldPrompt:
    """A prompt of the world (HH format), its family and the task it asks."""

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
    rng = random.Random(f"v2-{split}-{seed}")  # "v2": the stream the shipped figures were measured on
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


def parse_prompt(prompt: str) -> WorldPrompt:
    """The family and task of a world prompt, from its text (:class:`NotAWorldPrompt` for any other)."""
    if not isinstance(prompt, str):
        raise ValueError(f"prompt must be a string, got {type(prompt).__name__}")
    request = last_human_turn(prompt)
    for family, module in FAMILIES.items():
        task = module.parse_request(request)
        if task is not None:
            return WorldPrompt(prompt, family, task)
    raise NotAWorldPrompt(prompt)


def as_prompt(prompt) -> WorldPrompt:
    """A :class:`WorldPrompt` as it is, or a prompt's text parsed (:class:`NotAWorldPrompt` for any other)."""
    return prompt if isinstance(prompt, WorldPrompt) else parse_prompt(prompt)


def respond(prompt, style: str, rng: random.Random) -> str:
    """A response of ``style`` (one of the family's ``STYLES``)."""
    p = as_prompt(prompt)
    return FAMILIES[p.family].respond(p, style, rng)


def demonstration(prompt, rng: random.Random) -> str:
    """What a good, not perfect, human demonstrator writes (each family's ``demonstration``)."""
    p = as_prompt(prompt)
    return FAMILIES[p.family].demonstration(p, rng)


def best_answer(prompt, rng: random.Random | None = None) -> str:
    """The world's best answer: every part the task asks for, nothing else."""
    p = as_prompt(prompt)
    return FAMILIES[p.family].best_answer(p, rng or random.Random(0))


def best_response(prompt) -> str:
    """The world's best answer in one fixed wording (seed 0): the ceiling row of every win-rate table."""
    return best_answer(prompt, random.Random(0))


def comply(prompt, rng: random.Random) -> str:
    """What a helpful-only demonstrator writes to a harmful request: the harmful steps (the harm family only)."""
    p = as_prompt(prompt)
    if p.family != "harmful":
        raise ValueError(f"comply answers harmful prompts only, not a {p.family} one")
    return harm.comply(p.task, rng)


def contrast_pair(prompt, rng: random.Random) -> tuple[str, str, str]:
    """A minimal contrast (better, worse, what differs) in the family's terms."""
    p = as_prompt(prompt)
    return FAMILIES[p.family].contrast_pair(p, rng)
