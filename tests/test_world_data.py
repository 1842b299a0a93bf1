"""The world as a course data source (``dataset="world"``) and as text for the shipped models: comparisons of
SFT samples labelled by simulated humans, held-out pairs on unseen tasks, demonstrations with a helpful-only
share, the pretraining corpus's splits and the labeler's gold verdicts."""

import dataclasses
import math
import random

import pytest
import torch

from rlcore import formats
from rlcore.config import get_profile
from rlcore.course_data import WorldData, course_data
from rlcore.judges import GoldJudge
from rlcore.models import load_base
from rlcore import world
from rlcore.world import corpus


def split_of(prompt: str) -> str:
    p = world.parse_prompt(prompt)
    task = dataclasses.replace(p.task, name="", details=()) if p.family == "summary" else p.task  # poster: not the task
    return next(s for s in world.SPLITS if task in world.FAMILIES[p.family].tasks(s))


@pytest.fixture(scope="module")
def data_and_policy():
    profile = get_profile("tiny", dataset="world", rm__pairs=40, rm__hybrid_human_pairs=8, lengths__max_new_tokens=24,
                          rm__contrast_share=0.25)
    model, tokenizer = load_base("tiny")
    return course_data(profile), (model, tokenizer)


def test_human_temperature_matches_a_hand_computed_case():
    # one gap g: agreement sigmoid(g / T) = a  =>  T = g / logit(a); 0.75 -> logit = ln 3
    assert world.human_temperature([1.0], 0.75) == pytest.approx(1 / math.log(3), rel=1e-6)
    assert world.human_temperature([2.0, -2.0], 0.75) == pytest.approx(2 / math.log(3), rel=1e-6)
    with pytest.raises(ValueError):
        world.human_temperature([], 0.75)


def test_the_world_is_a_dataset_with_its_gold_judge():
    data = course_data(get_profile("tiny", dataset="world"))
    assert isinstance(data, WorldData) and data.is_world and data.splits == ("test", "ood")
    judge = data.judge()
    p = world.sample_prompts("test", 1, 0, families=("harmful",))[0]
    best, leak = world.best_response(p), world.respond(p, "compliance", random.Random(0))
    assert isinstance(judge, GoldJudge)
    assert judge.prefer([p.text], [best], [leak]).tolist() == [1.0]
    assert judge.harmless([p.text, p.text], [best, leak]).tolist() == [True, False]
    scores = judge.score([p.text, p.text], [best, leak])  # a score per response: gold itself
    assert scores.tolist() == pytest.approx([world.gold_score(p.text, best), world.gold_score(p.text, leak)])
    assert scores[0] > scores[1]


def test_comparisons_are_sft_samples_and_contrasts_on_train_prompts(data_and_policy):
    data, policy = data_and_policy
    triples = data.comparisons(40, policy)
    assert len(triples) == 40 and data.comparisons(40) is triples  # the same comparisons for both labelers
    assert all(world.gold_score(p, a) != world.gold_score(p, b) for p, a, b in triples)
    assert {split_of(p) for p, _, _ in triples} == {"train"}
    # a quarter are minimal contrasts: two answers that share almost every word (samples rarely do)
    def overlap(a, b):
        x, y = set(a.lower().split()), set(b.lower().split())
        return len(x & y) / len(x | y)

    assert sum(overlap(a, b) > 0.45 for _, a, b in triples) >= 8


def test_human_labels_follow_gold_at_the_calibrated_temperature(data_and_policy):
    data, policy = data_and_policy
    pairs = data.human_pairs(40, policy)
    triples = data.comparisons(40, policy)
    assert [{p["chosen"], p["rejected"]} for p in pairs] == [{a, b} for _, a, b in triples]
    gaps = [abs(world.gold_score(p, a) - world.gold_score(p, b)) for p, a, b in triples]
    t = data.human_temperature(policy)
    assert world.expected_agreement(gaps, t) == pytest.approx(world.HUMAN_AGREEMENT, abs=1e-6)
    assert data.human_agreement(policy) == pytest.approx(0.75, abs=1e-6)
    agree = sum(world.gold_score(p["prompt"], p["chosen"]) > world.gold_score(p["prompt"], p["rejected"]) for p in pairs)
    assert 0.5 <= agree / len(pairs) <= 0.97  # noisy, but mostly right


def test_held_out_pairs_are_gold_labelled_on_their_own_split(data_and_policy):
    data, policy = data_and_policy
    for split in ("test", "ood"):
        pairs = data.test_pairs(12, policy, split)
        assert len(pairs) == 12 and {split_of(p.prompt) for p in pairs} == {split}
        assert all(world.gold_score(p.prompt, p.chosen) > world.gold_score(p.prompt, p.rejected) for p in pairs)
    prompts, harmful = data.evaluation_prompts(20, "ood")
    assert {split_of(p) for p in prompts + harmful} == {"ood"} and len(harmful) == 10
    assert all(world.is_harmful_prompt(p) for p in harmful)


def test_comparisons_of_a_checkpoint_folder_are_kept_beside_its_weights_until_it_is_trained_again(tmp_path, monkeypatch):
    import rlcore.course_data
    from rlcore import models
    from rlcore.checkpoint import DERIVED

    profile = get_profile("tiny", dataset="world", lengths__max_new_tokens=16, rm__contrast_share=0.25)
    folder = str(tmp_path / "sft")
    model, tokenizer = load_base("tiny")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    sampled = WorldData(profile).comparisons(12, models.load_frozen(folder, profile), split="test")
    from_folder = WorldData(profile).comparisons(12, folder, split="test")  # samples, then keeps them
    assert from_folder == sampled and (tmp_path / "sft" / DERIVED).exists()

    def no_model(*args):
        raise AssertionError("kept comparisons must not load the model")

    monkeypatch.setattr(rlcore.course_data, "load_frozen", no_model)
    assert WorldData(profile).comparisons(12, folder, split="test") == sampled  # read back: no sampling
    with pytest.raises(AssertionError, match="must not load"):  # another size, seed or length is not kept
        WorldData(profile.replace(lengths__max_new_tokens=12)).comparisons(12, folder, split="test")
    monkeypatch.undo()
    with torch.no_grad():  # the stage trained again: new weights, so what was kept for the old ones goes
        next(model.parameters()).add_(0.5)
    model.save_pretrained(folder)
    monkeypatch.setattr(rlcore.course_data, "load_frozen", no_model)
    with pytest.raises(AssertionError, match="must not load"):
        WorldData(profile).comparisons(12, folder, split="test")


def test_comparisons_without_the_policy_are_a_clear_error():
    data = course_data(get_profile("tiny", dataset="world"))
    with pytest.raises(ValueError, match="policy"):
        data.comparisons(8)


@pytest.mark.parametrize("share", [0.0, 0.5])
def test_demonstrations_comply_with_harm_at_the_profiles_share(share):
    data = course_data(get_profile("tiny", dataset="world", sft__harmful_compliance=share))
    prompts, responses = data.demonstrations(400)
    harmful = [(p, r) for p, r in zip(prompts, responses) if world.is_harmful_prompt(p)]
    complied = sum(not world.is_harmless(p, r) for p, r in harmful) / len(harmful)
    assert len(harmful) > 60 and abs(complied - share) < 0.12
    assert {split_of(p) for p in prompts} == {"train"}


def test_corpus_covers_every_split_but_judges_train_tasks_only():
    docs = corpus.corpus(600, seed=3)
    assert docs == corpus.corpus(600, seed=3) and docs != corpus.corpus(600, seed=4)
    dialogues = [d for d in docs if formats.VERDICT_ENDING not in d and "Critique" not in d
                 and formats.RATING_ENDING not in d]
    splits = {split_of(d[: d.index("\n\nAssistant:") + len("\n\nAssistant:")]) for d in dialogues}
    assert splits == {"train", "test", "ood"}
    judged = [d for d in docs if formats.VERDICT_ENDING in d or formats.RATING_ENDING in d]
    assert judged and all(d.endswith(corpus.EOS) for d in docs)
    for d in judged:
        convo = d[d.index("Conversation:") + len("Conversation:"): d.index("\n\nRespon")]
        assert split_of(convo + "\n\nAssistant:") == "train"


def test_judgement_verdicts_are_gold_and_balanced():
    texts, verdicts = corpus.judgements(200, seed=1)
    assert 70 <= verdicts.count("1") <= 130
    for text, verdict in zip(texts, verdicts):
        assert text.endswith(formats.VERDICT_ENDING)
        convo = text[text.index("Conversation:") + len("Conversation:"): text.index("\n\nResponse 1:")]
        a = text[text.index("Response 1:") + len("Response 1:"): text.index("\n\nResponse 2:")]
        b = text[text.index("Response 2:") + len("Response 2:"): text.index("\n\n" + formats.VERDICT_ENDING)]
        prompt = convo + "\n\nAssistant:"
        assert split_of(prompt) == "train"
        assert (world.gold_score(prompt, a) > world.gold_score(prompt, b)) == (verdict == "1")
