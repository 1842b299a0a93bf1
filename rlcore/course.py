"""A lesson's first lines, where a course run keeps its checkpoints, and how a later lesson gets what an earlier
one made.

Every lesson starts with ``profile, data = start()``. Every lesson that needs the SFT model or the reward model of
an earlier lesson asks for it here: it is loaded from ``COURSE_DIR`` if that lesson ran on this machine, and made
now by the stage API (:mod:`rlcore.stages`, with a message) if not.
"""

from __future__ import annotations

import os

from rlcore import memory, stages
from rlcore.config import Profile, get_profile, seed_everything
from rlcore.course_data import CourseData, course_data
from rlcore.models import load_trainable

COURSE_DIR = os.environ.get("RLCORE_COURSE_DIR", os.path.join("runs", "course"))


def start(**overrides) -> tuple[Profile, CourseData]:
    """(profile, data): the profile (``$RLCORE_PROFILE``, else by hardware; ``overrides`` as in ``get_profile``),
    every random generator seeded by it, and its data (``course_data``: the world, or preference data)."""
    profile = get_profile(**overrides)
    seed_everything(profile.seed)
    if profile.torch_device.type == "cuda":  # the card, its precision, and whether the heaviest stage fits
        print("\n".join(memory.device_report(profile)))
    return profile, course_data(profile)


def course_path(name: str) -> str:
    """The folder of one course checkpoint, e.g. ``course_path("sft")``."""
    return os.path.join(COURSE_DIR, name)


def make_sft(profile: Profile, progress: bool = True):
    """Lesson 02: SFT of the profile's base model (the ``sft`` stage, trained again); returns
    (model, tokenizer, losses)."""
    model, tokenizer = stages.sft(profile, course_data(profile), course_path("sft"), reuse=False, progress=progress)
    return model, tokenizer, stages.training_log(course_path("sft"))


def _ensure_sft(profile: Profile) -> None:
    if not stages.is_done(course_path("sft")):
        print(f"No SFT model in {course_path('sft')}: making it now, as in notebook 02.")
        stages.sft(profile, course_data(profile), course_path("sft"), progress=False)


def load_sft(profile: Profile):
    """The SFT model of lesson 02, trainable (float32 weights), made now (with a message) if missing."""
    _ensure_sft(profile)
    return load_trainable(course_path("sft"), profile)


def load_human_reward_model(profile: Profile):
    """The reward model of lesson 03 (human labels), frozen, made now (with a message) if missing. (Not
    ``rlcore.models.load_reward_model(path, profile)``, which loads any reward model from its folder.)"""
    if not stages.is_done(course_path("rm_human")):
        print(f"No reward model in {course_path('rm_human')}: training it now, as in notebook 03.")
        _ensure_sft(profile)  # the body it starts from
    data = course_data(profile)

    def human_pairs():  # the world's comparisons are samples of the SFT policy; other data ignore it
        return data.human_pairs(profile.rm.pairs, policy=course_path("sft"))

    return stages.reward_model(profile, data, human_pairs, course_path("sft"), course_path("rm_human"),
                               progress=False, say=lambda *a: None)
