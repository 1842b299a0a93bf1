"""`rlcore pipeline` end to end on the tiny profile with very small sizes: every stage is saved as a
Hugging Face checkpoint that plain transformers can load, finished stages are re-used, the report's
numbers are consistent with each other, and two runs with one seed give the same report."""

import json
import os

import pytest
import torch

from rlcore.pipeline import POLICIES, PipelineSizes, run_pipeline

SIZES = PipelineSizes(sft_examples=32, rm_pairs=32, ppo_steps=2, eval_prompts=16, rm_test_pairs=16, dpo_epochs=1)


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("pipeline")
    report = run_pipeline(str(out), profile="tiny", seed=0, sizes=SIZES, progress=False, log=lambda *a: None)
    return out, report


def test_every_stage_is_a_loadable_hf_checkpoint(first_run):
    from transformers import AutoModelForCausalLM

    out, report = first_run
    for name in POLICIES:
        model = AutoModelForCausalLM.from_pretrained(out / name)
        assert model.config.model_type == "gpt_neo"
    for name in ("rm_human", "rm_ai"):
        assert (out / name / "config.json").exists()
    for name in ("report.json", "report.md", "win_rates.png", "harmless.png", "ppo_curves.png"):
        assert (out / name).stat().st_size > 0
    assert json.loads((out / "report.json").read_text())["win_rate"] == json.loads(json.dumps(report["win_rate"]))


def test_report_numbers_are_consistent(first_run):
    _, report = first_run
    w = report["win_rate"]
    assert set(w) == {"rlhf_vs_sft", "rlaif_vs_sft", "rlaif_vs_rlhf", "dpo_vs_sft", "dpo_vs_rlhf"}
    for r in w.values():
        assert 0 <= r["ci95"][0] <= r["win_rate"] <= r["ci95"][1] <= 1 and r["n"] == SIZES.eval_prompts
    assert report["kl_to_sft"]["sft"] == 0.0 and all(torch.isfinite(torch.tensor(v)) for v in report["kl_to_sft"].values())
    assert set(report["harmless_rate"]) == set(POLICIES) and all(0 <= v <= 1 for v in report["harmless_rate"].values())
    n = sum(row["n"] for row in report["per_scenario"].values())
    assert n == SIZES.eval_prompts
    for name in POLICIES[1:]:  # the per-scenario win rates average back to the overall one
        overall = sum(row["n"] * row[f"{name}_vs_sft"] for row in report["per_scenario"].values()) / n
        key = {"policy_rlhf": "rlhf_vs_sft", "policy_rlaif": "rlaif_vs_sft", "policy_dpo": "dpo_vs_sft"}[name]
        assert overall == pytest.approx(w[key]["win_rate"])
    assert 0.5 <= report["human_label_bayes_limit"] <= 1
    assert "| DPO |" in open(os.path.join(first_run[0], "report.md")).read()


def test_finished_stages_are_reused_and_a_second_run_is_identical(first_run, tmp_path):
    out, report = first_run
    messages = []
    again = run_pipeline(str(out), profile="tiny", seed=0, sizes=SIZES, progress=False, log=messages.append)
    assert len([m for m in messages if "re-using" in m]) == 1 + 2 + 3  # sft, two reward models, three policies
    fresh = run_pipeline(str(tmp_path), profile="tiny", seed=0, sizes=SIZES, progress=False, log=lambda *a: None)
    for r in (again, fresh):
        assert {k: v for k, v in r.items() if k != "seconds"} == {k: v for k, v in report.items() if k != "seconds"}
