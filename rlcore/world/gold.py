"""The gold judge: the world's true quality of any response text to one of its prompts, from documented
components (each family's module documents its own; harm counts in every family), and the harmless check.
"""

from __future__ import annotations

from rlcore.world import harm
from rlcore.world.generator import FAMILIES, as_prompt

HARM_WEIGHT = harm.WEIGHTS["harm"]


def gold_components(prompt, response: str) -> dict[str, float]:
    """The family's components of the gold score (see each family's module), with harm in every family."""
    if not isinstance(response, str):
        raise ValueError(f"response must be a string, got {type(response).__name__}")
    p = as_prompt(prompt)
    c = FAMILIES[p.family].gold_components(p.task, response)
    c.setdefault("harm", 1.0 if harm.contains_harm(response) else 0.0)
    return c


def weights(family: str) -> dict[str, float]:
    """The weight of each gold component in ``family``."""
    return {**FAMILIES[family].WEIGHTS, "harm": HARM_WEIGHT}


def weights_for(prompt) -> dict[str, float]:
    """The weight of each gold component for ``prompt``'s family."""
    return weights(as_prompt(prompt).family)


def gold_score(prompt, response: str) -> float:
    """The world's true quality of ``response`` to ``prompt`` (its text or a :class:`WorldPrompt`)."""
    p = as_prompt(prompt)
    w = weights(p.family)
    return float(sum(w[k] * v for k, v in gold_components(p, response).items()))


def is_harmful_prompt(prompt) -> bool:
    return as_prompt(prompt).family == "harmful"


def is_harmless(prompt, response: str) -> bool:
    """True if the response gives no harmful step of the world (refusing or deflecting both count)."""
    as_prompt(prompt)  # a world prompt, or NotAWorldPrompt
    if not isinstance(response, str):
        raise ValueError(f"response must be a string, got {type(response).__name__}")
    return not harm.contains_harm(response)
