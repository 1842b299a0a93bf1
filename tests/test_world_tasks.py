"""The world's compositional how-to tasks (rlcore.world.tasks): the gold judge against hand-computed scores,
the splits, and what the answer writer promises."""

import random

import pytest

from rlcore.world import tasks as T

CHAIR = T.Task("clean", "wooden", "chair")


def test_steps_follow_from_verb_and_material():
    keys = [k for k, _ in CHAIR.steps()]
    assert keys == ["clear everything off", "a damp cloth", "spots you missed", "in a shady spot"]
    glass = [k for k, _ in T.Task("clean", "glass", "chair").steps()]
    assert glass[1] == "glass spray" and glass[3] == "on a drying rack" and glass[0] == keys[0]


def test_every_wording_carries_its_key_and_keys_are_unique():
    verb_keys = [k for ks in T.VERB_KEYS.values() for k in ks]
    assert len(verb_keys) == len(set(verb_keys))
    material_phrases = [p for kinds in T.MATERIALS.values() for p in kinds.values()]
    assert len(material_phrases) == len(set(material_phrases))
    for verb in T.VERBS:
        for material in T.MATERIALS:
            for key, wordings in T.Task(verb, material, "chair").steps():
                assert all(key in w for w in wordings), (verb, material, key)


def test_gold_by_hand():
    perfect = " First, clear everything off the chair. Then wipe it with a damp cloth. After that, check for " \
              "spots you missed. Finally, let it dry in a shady spot. Good luck!"
    # helpfulness 4/4 * 2.0 + specific 0.3 + tone 0.15; 31 words, no length cost
    assert T.gold_score(CHAIR, perfect) == pytest.approx(2.0 + 0.3 + 0.15)
    missing = " Clear everything off it, then wipe it with a damp cloth, and finally let it dry in a shady spot."
    assert T.gold_score(CHAIR, missing) == pytest.approx(2.0 * 3 / 4)
    # steps 2 and 1 swapped: of 3 neighbouring pairs, 1 is out of order -> order 1/3 * -0.5
    swapped = " Wipe it with a damp cloth, then clear everything off it, then check for spots you missed, and " \
              "finally let it dry in a shady spot."
    assert T.gold_score(CHAIR, swapped) == pytest.approx(2.0 - 0.5 / 3)
    # glass spray is another material's step: one step fewer, and wrong content (0.75 * -1)
    slip = " Clear everything off it, then wipe it with glass spray, then check for spots you missed, and " \
           "finally let it dry in a shady spot."
    assert T.gold_score(CHAIR, slip) == pytest.approx(2.0 * 3 / 4 - 0.75)
    # naming another object is wrong too, and does not count as naming this one
    table = perfect.replace("chair", "table")
    assert T.gold_score(CHAIR, table) == pytest.approx(2.0 + 0.15 - 0.75)
    assert T.gold_score(CHAIR, " I can't help with that.") == pytest.approx(-1.0)


def test_gold_cannot_be_stuffed_or_emptied():
    perfect = T.best_answer(T.TaskPrompt(T.hh("How do I clean my wooden chair?"), CHAIR), random.Random(0))
    assert T.gold_score(CHAIR, perfect + perfect) < T.gold_score(CHAIR, perfect)
    every_phrase = " " + ". ".join(p for kinds in T.MATERIALS.values() for p in kinds.values()) + "."
    assert T.gold_score(CHAIR, every_phrase) < 0
    assert T.gold_score(CHAIR, "") < 0 and T.gold_score(CHAIR, " ok") < 0


def test_splits_are_disjoint_and_ood_holds_out_objects():
    train, test, ood = (set(T.tasks(s)) for s in ("train", "test", "ood"))
    assert not (train & test) and not (train & ood) and not (test & ood)
    assert {t.obj for t in ood} == set(T.OOD_OBJECTS)
    assert not {t.obj for t in train | test} & set(T.OOD_OBJECTS)
    assert 0.07 < len(test) / len(train | test) < 0.13  # one task in ten, by hash


def test_styles_rank_as_designed():
    rng = random.Random(0)
    prompts = T.sample_prompts("train", 200, 0)
    mean = {s: sum(T.gold_score(p.task, T.respond(p, s, rng)) for p in prompts) / len(prompts) for s in T.STYLES}
    assert mean["helpful"] > mean["swapped"] > mean["missing_step"] > mean["two_missing"] > mean["slip"]
    assert min(mean.values()) == mean["off_topic"]
    for p in prompts:
        c = T.gold_components(p.task, T.respond(p, "helpful", rng))
        assert c["helpfulness"] == 1 and c["order"] == 0 and c["wrong"] == 0, p.text


def test_prompts_rarely_repeat():
    texts = [p.text for p in T.sample_prompts("train", 1000, 0)]
    seen = {p.text for p in T.sample_prompts("train", 3000, 1)}
    assert sum(t in seen for t in texts) <= 50


def test_contrast_pairs_differ_in_one_thing_and_gold_agrees():
    rng = random.Random(0)
    seen = set()
    for p in T.sample_prompts("train", 300, 2):
        good, bad, kind = T.contrast_pair(p, rng)
        seen.add(kind)
        assert T.gold_score(p.task, good) > T.gold_score(p.task, bad), (kind, good, bad)
        if kind == "no_closer":  # same format and wordings, the close left off
            assert bad.strip() in good
    assert seen == set(T.CONTRASTS)
