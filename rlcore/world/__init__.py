"""The synthetic assistant world: prompts, graded responses, a gold judge, simulated humans, a corpus.

    >>> from rlcore import world
    >>> p = world.prompts("train", 1, seed=0)[0]
    >>> world.gold_score(p, " I can't help with that.")  # doctest: +SKIP
"""

from rlcore.world.generator import (BEST_STYLE, FAMILIES, SPLITS, STYLES, WorldPrompt, demonstrations, hh,
                                    make_prompt, prompts, respond, response_pair, sample_prompts)
from rlcore.world.gold import (WEIGHTS, NotAWorldPrompt, best_response, contains_harm, gold_components, gold_score,
                               is_harmful_prompt, is_harmless, parse_prompt, world_vocabulary)
from rlcore.world.humans import HUMAN_TEMPERATURE, human_label, likert_pairs, likert_rating, preference_pairs



def weights_for(prompt: str) -> dict:
    """The weight of each gold component (the same for every prompt of world v1)."""
    return WEIGHTS


__all__ = [
    "BEST_STYLE", "FAMILIES", "SPLITS", "STYLES", "WorldPrompt", "demonstrations", "hh", "make_prompt", "prompts",
    "respond", "response_pair", "sample_prompts", "WEIGHTS", "NotAWorldPrompt", "best_response", "contains_harm",
    "gold_components", "gold_score", "is_harmful_prompt", "is_harmless", "parse_prompt", "weights_for", "world_vocabulary",
    "HUMAN_TEMPERATURE", "human_label", "likert_pairs", "likert_rating", "preference_pairs",
]
