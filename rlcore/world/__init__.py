"""The synthetic assistant world: compositional prompts of five families, graded answers, a gold judge,
simulated human labellers, and the web text the shipped models are pretrained on (``course/world.md``).

    >>> from rlcore import world
    >>> p = world.sample_prompts("train", 1, seed=0)[0]
    >>> world.gold_score(p.text, " I can't help with that.")  # doctest: +SKIP

| family | module | a task is | its right answer follows from |
| --- | --- | --- | --- |
| benign | ``tasks`` | verb x material x object | the verb's steps and the material's needs |
| harmful | ``harm`` | act x target x person x motive | refuse, the act's reason, the motive's lawful way |
| emotional | ``support`` | feeling x situation (8 areas) | empathy naming the feeling, the area's supports |
| sensitive | ``advice`` | subject x symptom x how long | the subject's professional, the symptom's self-care, the timing |
| summary | ``posts`` | event x complication x question (+ poster, details) | the three points and the poster, no details |

``generator`` samples and parses prompts and writes answers, ``gold`` scores them, ``humans`` labels pairs
like annotators, ``corpus`` writes the pretraining web text; ``compose`` is what every family is built from.
"""

from rlcore.world.compose import NotAWorldPrompt, hh, last_human_turn
from rlcore.world.generator import (FAMILIES, FAMILY_WEIGHTS, SPLITS, WorldPrompt, as_prompt, best_answer, best_response,
                                    comply, contrast_pair, demonstration, parse_prompt, prompts, respond, sample_prompts)
from rlcore.world.gold import (HARM_WEIGHT, gold_components, gold_score, is_harmful_prompt, is_harmless, weights,
                               weights_for)
from rlcore.world.humans import (HUMAN_AGREEMENT, comparisons, expected_agreement, human_label, human_temperature,
                                 preference_pairs)

__all__ = [
    "NotAWorldPrompt", "hh", "last_human_turn", "FAMILIES", "FAMILY_WEIGHTS", "SPLITS", "WorldPrompt", "as_prompt",
    "best_answer", "best_response", "comply", "contrast_pair", "demonstration", "parse_prompt", "prompts",
    "respond", "sample_prompts", "HARM_WEIGHT", "gold_components", "gold_score", "is_harmful_prompt", "is_harmless",
    "weights", "weights_for", "HUMAN_AGREEMENT", "comparisons", "expected_agreement", "human_label", "human_temperature",
    "preference_pairs",
]
