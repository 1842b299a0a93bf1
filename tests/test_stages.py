"""The stage API on the two tracks' code paths, on CPU: bfloat16 mixed precision (what a GPU runs), and
the whole pipeline on a raw HH-RLHF-format file judged by an AI judge."""

import json

import pytest
import torch

from rlcore import stages
from rlcore.config import get_profile
from rlcore.course_data import course_data, split_by_prompt
from rlcore.data import PreferencePair

from hh_data import write_hh_file

SMALL = dict(sft__examples=16, rm__pairs=16, rm__test_pairs=8, ppo__steps=1, ppo__batch_size=8,
             ppo__num_minibatches=2, ppo__epochs=1, grpo__steps=1, grpo__batch_size=4, eval__prompts=8,
             rm__hybrid_human_pairs=4, lengths__max_new_tokens=8, rm__normalisation_prompts=8)


def test_a_stage_in_bfloat16_on_cpu_keeps_every_model_and_tensor_where_the_profile_says(tmp_path):
    profile = get_profile("tiny", dtype="bfloat16", device="cpu", **SMALL)
    data = course_data(profile)
    sft, tokenizer = stages.sft(profile, data, str(tmp_path / "sft"), progress=False)
    assert sft.dtype == torch.bfloat16 and sft.device.type == "cpu" and not sft.training  # frozen: stored in bf16
    rm = stages.reward_model(profile, data, data.human_pairs(16, policy=(sft, tokenizer)), str(tmp_path / "sft"), str(tmp_path / "rm"),
                             progress=False)
    assert {p.dtype for p in rm.parameters()} == {torch.bfloat16} and not any(p.requires_grad for p in rm.parameters())
    seen = {}

    def inspect(trainer, stats):
        seen["policy"] = {p.dtype for p in trainer.policy.parameters()}
        seen["value"] = {p.dtype for p in trainer.value_model.parameters()}
        seen["reference"] = {p.dtype for p in trainer.ref_policy.parameters()}
        seen["devices"] = {p.device.type for m in (trainer.policy, trainer.value_model, trainer.ref_policy)
                           for p in m.parameters()}
        r = trainer.last_experience.rollout
        seen["rollout"] = {(t.device.type, t.dtype) for t in (r.prompt_ids, r.response_ids, r.response_mask)}
        seen["logprobs"] = r.logprobs.dtype
        with torch.no_grad():
            from rlcore.rollout import forward_logits

            seen["logits"] = forward_logits(trainer.policy, r.input_ids, r.attention_mask, logits_to_keep=1).dtype
            seen["values"] = trainer.value_model(r.input_ids, r.attention_mask).dtype
            seen["scores"] = rm(r.input_ids, r.attention_mask).dtype
        seen["finite"] = all(torch.isfinite(torch.tensor(v)) for v in stats.values())

    stages.ppo(profile, data, str(tmp_path / "sft"), rm, None, progress=False, callback=inspect)
    # trained models keep float32 master weights but compute in bfloat16 (autocast); the reference is stored in bf16
    assert seen["policy"] == seen["value"] == {torch.float32} and seen["reference"] == {torch.bfloat16}
    assert seen["devices"] == {"cpu"} and seen["rollout"] == {("cpu", torch.long)}
    assert seen["logits"] == torch.bfloat16  # autocast is on for the policy's forward passes
    assert seen["logprobs"] == seen["values"] == seen["scores"] == torch.float32  # losses read float32
    assert seen["finite"]


def test_float32_profile_runs_without_autocast(tmp_path):
    from rlcore.models import load_trainable
    from rlcore.precision import autocast_dtype

    profile = get_profile("tiny", dtype="float32")
    model, _ = load_trainable("tiny", profile)
    assert autocast_dtype(model) is None and profile.compute_dtype == torch.float32
    assert get_profile("tiny", dtype="auto").compute_dtype == (torch.float32 if not torch.cuda.is_available()
                                                                else get_profile("tiny", dtype="auto").compute_dtype)


def test_a_preference_file_splits_by_prompt_and_every_stage_reads_the_same_pairs(tmp_path):
    path = write_hh_file(tmp_path / "hh.jsonl", 300, bad_every=50)
    data = course_data(get_profile("tiny", dataset=path))
    assert data.skipped == {"empty response": 3, "identical pair": 3}  # rows 49, 149, 249 / 99, 199, 299
    assert not {p.prompt for p in data.train} & {p.prompt for p in data.test}  # no prompt on both sides
    assert 0 < len(data.test) < len(data.train) and len(data.train) + len(data.test) == 294
    demos_prompts, demos = data.demonstrations(10)
    pairs = data.human_pairs(10)
    assert demos == [p["chosen"] for p in pairs] and demos_prompts == [p["prompt"] for p in pairs]
    # the labeler sees the same comparisons, in both orders (not always chosen first)
    triples = data.comparisons(10)
    assert [{a, b} for _, a, b in triples] == [{p["chosen"], p["rejected"]} for p in pairs]
    assert 0 < sum(a == p["chosen"] for (_, a, _), p in zip(triples, pairs)) < 10
    batch = next(data.prompt_batches(8))
    assert len(batch) == 8 and set(batch) <= set(data.train_prompts)
    prompts, harmful = data.evaluation_prompts(6)
    assert set(prompts) <= set(data.test_prompts) and harmful == prompts[:3]


def test_split_by_prompt_is_a_function_of_the_prompt_alone():
    pairs = [PreferencePair(f"\n\nHuman: q{i}\n\nAssistant:", " a", " b") for i in range(200)]
    train, test = split_by_prompt(pairs)
    train_r, test_r = split_by_prompt(pairs[::-1])
    assert {p.prompt for p in test} == {p.prompt for p in test_r} and 5 <= len(test) <= 40


@pytest.fixture(scope="module")
def hh_run(tmp_path_factory):
    from rlcore.pipeline import run_pipeline

    folder = tmp_path_factory.mktemp("hh")
    path = write_hh_file(folder / "hh.jsonl", 240, bad_every=40)
    profile = get_profile("tiny", dataset=path, **SMALL)
    return folder, profile, run_pipeline(str(folder / "run"), profile, progress=False, log=lambda *a: None)


def test_pipeline_on_a_raw_hh_file_is_judged_by_an_ai_judge_and_counts_bad_rows(hh_run):
    folder, profile, report = hh_run
    assert report["judge"] == "AI judge (tiny, both orders averaged)" and not report["judge_is_labeler"]
    assert report["skipped_rows"] == {"empty response": 3, "identical pair": 3}
    assert set(report["win_rate"]) == {"rlhf_vs_sft", "rlaif_vs_sft", "rlaif_vs_rlhf", "hybrid_vs_sft", "dpo_vs_sft",
                                       "dpo_vs_rlhf", "grpo_vs_sft", "grpo_vs_rlhf"}  # no gold ceiling off the world
    # no verifiable reward in preference data: RL from one is skipped, and the report says why
    assert set(report["runs_skipped"]) == {"policy_rlvr"} and "policy_rlvr" not in report["harmless_rate"]
    data = course_data(profile)
    for r in report["win_rate"].values():
        assert 0 <= r["ci95"][0] <= r["win_rate"] <= r["ci95"][1] <= 1 and r["n"] == len(data.evaluation_prompts(8)[0])
    assert all(0 <= v <= 1 for v in report["harmless_rate"].values()) and 0 <= report["judge_agreement_with_held_out_labels"] <= 1
    assert "per_scenario" not in report and "mean_gold" not in report
    text = (folder / "run" / "report.md").read_text()
    assert "**Judge: AI judge (tiny, both orders averaged)**" in text and "3 empty response, 3 identical pair" in text
    assert "Warning" not in text
    assert "| *policy_rlvr skipped* | preference data hold labels, not a reward" in text


def test_the_report_flags_a_judge_that_labelled_rlaifs_data(hh_run):
    from rlcore.pipeline import run_pipeline

    folder, profile, report = hh_run
    again = run_pipeline(str(folder / "run"), profile.replace(judge_model=profile.labeler_model), progress=False,
                         log=lambda *a: None)  # every stage re-used: only the evaluation runs again
    assert again["judge_is_labeler"] and again["judge"].startswith("AI judge (tiny-labeler")
    assert "the judge is the model that labelled RLAIF's data" in (folder / "run" / "report.md").read_text()
    assert json.loads((folder / "run" / "report.json").read_text())["judge_is_labeler"] is True


def test_a_hub_source_keeps_its_own_split_and_its_subset(monkeypatch):
    """Offline, `datasets.load_dataset` is replaced by hand-written rows in HH-RLHF's raw shape: the data
    object asks for the subset (data_dir) and both real splits, and keeps them apart."""
    import datasets

    calls = []

    def fake_load_dataset(name, data_dir=None, split=None):
        calls.append((name, data_dir, split))
        rows = [{"chosen": f"\n\nHuman: {split} question {i}?\n\nAssistant: A careful answer {i}.",
                 "rejected": f"\n\nHuman: {split} question {i}?\n\nAssistant: No."} for i in range(4)]
        return datasets.Dataset.from_list(rows)

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    data = course_data(get_profile("tiny", dataset="Anthropic/hh-rlhf/harmless-base"))
    assert calls == [("Anthropic/hh-rlhf", "harmless-base", "train"), ("Anthropic/hh-rlhf", "harmless-base", "test")]
    assert not data.is_world and data.name == "Anthropic/hh-rlhf/harmless-base"
    assert [p.prompt for p in data.test] == [f"\n\nHuman: test question {i}?\n\nAssistant:" for i in range(4)]
    assert data.train[0].chosen == " A careful answer 0." and data.train[0].rejected == " No."


def test_unknown_dataset_is_one_clear_error():
    with pytest.raises(ValueError, match="unknown dataset 'nowhere.jsonl'"):
        course_data(get_profile("tiny", dataset="nowhere.jsonl"))
