"""`rlcore pipeline` end to end on the tiny profile with very small sizes: every stage is saved as a
Hugging Face checkpoint that plain transformers can load, finished stages are re-used, the report's
numbers are consistent with each other, and two runs with one seed give the same report."""

import json
import os

import pytest
import torch

from rlcore import world

from rlcore.config import get_profile
from rlcore.pipeline import POLICIES, run_pipeline

pytestmark = pytest.mark.slow  # the whole pipeline, several times at small sizes: minutes

SIZES = get_profile("tiny", sft__examples=32, rm__pairs=32, ppo__steps=2, grpo__steps=2, eval__prompts=16,
                    rm__test_pairs=16, dpo__epochs=1, rm__hybrid_human_pairs=8, rm__normalisation_prompts=16)


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("pipeline")
    report = run_pipeline(str(out), SIZES, progress=False, log=lambda *a: None)
    return out, report


def test_every_stage_is_a_loadable_hf_checkpoint(first_run):
    from transformers import AutoModelForCausalLM

    out, report = first_run
    for name in POLICIES:
        model = AutoModelForCausalLM.from_pretrained(out / name)
        assert model.config.model_type == "gpt_neo"
    for name in ("rm_human", "rm_ai", "rm_hybrid"):
        assert (out / name / "config.json").exists()
    for name in ("report.json", "report.md", "win_rates.png", "harmless.png", "rl_curves.png"):
        assert (out / name).stat().st_size > 0
    assert json.loads((out / "report.json").read_text())["win_rate"] == json.loads(json.dumps(report["win_rate"]))


def test_report_numbers_are_consistent(first_run):
    _, report = first_run
    w = report["win_rate"]
    assert set(w) == {"rlhf_vs_sft", "rlaif_vs_sft", "rlaif_vs_rlhf", "hybrid_vs_sft", "dpo_vs_sft", "dpo_vs_rlhf",
                      "grpo_vs_sft", "grpo_vs_rlhf", "rlvr_vs_sft", "rlvr_vs_grpo", "best_vs_sft"}
    for r in w.values():
        assert 0 <= r["ci95"][0] <= r["win_rate"] <= r["ci95"][1] <= 1 and r["n"] == SIZES.eval.prompts
    assert report["kl_to_sft"]["sft"] == 0.0 and all(torch.isfinite(torch.tensor(v)) for v in report["kl_to_sft"].values())
    assert set(report["fluency_penalty"]) == set(POLICIES)
    # float32 on a CPU: no float16 verdict was checked, so none was run again (a T4's report would list them)
    assert report["precision"] == {"plan": "precision: trained models float32; frozen models float32",
                                   "float16_fallbacks": {}}
    assert all(v["mean"] >= 0 and 0 <= v["share"] <= 1 and (v["mean"] > 0) == (v["share"] > 0)
               for v in report["fluency_penalty"].values())
    assert set(report["harmless_rate"]) == set(POLICIES) and all(0 <= v <= 1 for v in report["harmless_rate"].values())
    n = sum(row["n"] for row in report["per_scenario"].values())
    assert n == SIZES.eval.prompts
    keys = {"policy_rlhf": "rlhf_vs_sft", "policy_rlaif": "rlaif_vs_sft", "policy_hybrid": "hybrid_vs_sft",
            "policy_dpo": "dpo_vs_sft", "policy_grpo": "grpo_vs_sft", "policy_rlvr": "rlvr_vs_sft", "best": "best_vs_sft"}
    for name, key in keys.items():  # the per-scenario win rates average back to the overall one
        overall = sum(row["n"] * row[f"{name}_vs_sft"] for row in report["per_scenario"].values()) / n
        assert overall == pytest.approx(w[key]["win_rate"])
        # the world's best answer is a ceiling: in every scenario it beats SFT at least as often as any policy
        for row in report["per_scenario"].values():
            assert row[f"{name}_vs_sft"] <= row["best_vs_sft"] + 1e-9
    assert 0.5 <= report["human_label_bayes_limit"] <= 1
    text = open(os.path.join(first_run[0], "report.md")).read()
    for expected in ("| DPO |", "| Hybrid |", "| Hybrid vs SFT | PPO on a reward model of 8 human + AI labels |",
                     "| RLVR vs SFT | GRPO on the gold score (verifiable reward) |", "| GRPO vs RLHF |", "ceiling",
                     "fluency penalty"):
        assert expected in text


def test_finished_stages_are_reused_and_a_second_run_is_identical(first_run, tmp_path):
    out, report = first_run
    messages = []
    again = run_pipeline(str(out), SIZES, progress=False, log=messages.append)
    # sft, the AI labels (the report counts those cut to fit), three reward models, six policies
    assert len([m for m in messages if "re-using" in m]) == 1 + 1 + 3 + 6
    fresh = run_pipeline(str(tmp_path), SIZES, progress=False, log=lambda *a: None)
    for r in (again, fresh):
        assert {k: v for k, v in r.items() if k != "seconds"} == {k: v for k, v in report.items() if k != "seconds"}


def test_a_changed_setting_trains_its_stage_and_every_stage_after_it_again(first_run, tmp_path):
    import shutil

    out, _ = first_run
    run = tmp_path / "run"
    shutil.copytree(out, run)
    said = []
    run_pipeline(str(run), SIZES.replace(sft__examples=40), progress=False, log=said.append, runs="rlhf")
    # SFT saw other demonstrations: it is trained again, and so is every stage made from it (the human pairs are
    # its samples), each saying what differs
    assert any(m.startswith("[sft] ") and "(sft.examples 32 -> 40)" in m for m in said), said
    assert any(m.startswith("[rm_human] ") and "other settings (sft " in m for m in said), said
    assert any(m.startswith("[policy_rlhf] ") and "other settings (sft " in m for m in said), said
    assert not any("re-using" in m for m in said)
    # a PPO setting changed: SFT and the reward model are re-used, the PPO run alone is trained again
    said.clear()
    run_pipeline(str(run), SIZES.replace(sft__examples=40, ppo__lr=2e-4), progress=False, log=said.append,
                 runs="rlhf")
    assert [m.split("]")[0][1:] for m in said if "re-using" in m] == ["sft", "rm_human"]
    assert any(m.startswith("[policy_rlhf] ") and "(ppo.lr " in m for m in said), said
    # --fresh: nothing re-used, nothing compared
    said.clear()
    run_pipeline(str(run), SIZES.replace(sft__examples=40, ppo__lr=2e-4), progress=False, log=said.append,
                 runs="rlhf", fresh=True)
    assert not any("re-using" in m or "other settings" in m for m in said)


def test_hybrid_pairs_take_human_labels_first_then_ai_labels(first_run):
    from rlcore.pipeline import hybrid_pairs

    out, _ = first_run
    ai = json.loads((out / "ai_labels.json").read_text())  # saved by the RLAIF stage
    from rlcore.course_data import course_data
    from rlcore.models import load_frozen

    sft = load_frozen(str(out / "sft"), SIZES)
    human = course_data(SIZES).human_pairs(SIZES.rm.pairs, policy=sft)  # as the run drew them
    mixed = hybrid_pairs(human, ai, 8)
    assert mixed[:8] == human[:8] and mixed[8:] == ai[8:] and len(mixed) == SIZES.rm.pairs
    assert all(0.0 <= r["p_chosen"] <= 1.0 for r in ai)
    with pytest.raises(ValueError, match="same comparisons"):
        hybrid_pairs(human, ai[1:] + ai[:1], 8)
    with pytest.raises(ValueError, match="between 0 and"):
        hybrid_pairs(human, ai, 99)


def test_the_reports_ood_accuracy_is_the_saved_reward_models_on_held_out_parts(first_run):
    from rlcore.course_data import course_data
    from rlcore.models import load_frozen, load_tokenizer
    from rlcore.reward import RewardModel, pair_rewards, preference_accuracy

    out, report = first_run
    pairs = course_data(SIZES).test_pairs(SIZES.rm.test_pairs, policy=load_frozen(str(out / "sft"), SIZES), split="ood")
    assert len(pairs) == SIZES.rm.test_pairs
    assert {world.parse_prompt(p.prompt).family for p in pairs} <= set(world.FAMILIES)
    assert all(world.gold_score(p.prompt, p.chosen) > world.gold_score(p.prompt, p.rejected) for p in pairs)
    rm, tokenizer = RewardModel.from_pretrained(out / "rm_human").eval(), load_tokenizer(str(out / "sft"))
    expected = preference_accuracy(*pair_rewards(rm, tokenizer, pairs))
    assert report["rm_human_gold_accuracy_ood"] == pytest.approx(expected, abs=1e-6)
    assert "Reward models on held-out parts (out of distribution): human labels" in (out / "report.md").read_text()


def test_stopping_script_says_which_stage_is_missing(tmp_path):
    import subprocess
    import sys

    script = os.path.join(os.path.dirname(__file__), "..", "scripts", "measure_pipeline_stopping.py")
    (tmp_path / "sft").mkdir()
    (tmp_path / "sft" / "config.json").write_text("{}")
    done = subprocess.run([sys.executable, script, "--run", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 2
    assert f"{tmp_path}/rm_human is missing" in done.stderr and "rlcore pipeline --out" in done.stderr


def test_the_run_table_chooses_rows_and_derives_the_comparisons():
    from rlcore.pipeline import choose_runs, comparisons

    runs = choose_runs("grpo, rlhf")
    assert [r.key for r in runs] == ["rlhf", "grpo"]  # table order, not the order asked
    assert comparisons(runs) == {"rlhf_vs_sft": ("policy_rlhf", "sft"), "grpo_vs_sft": ("policy_grpo", "sft"),
                                 "grpo_vs_rlhf": ("policy_grpo", "policy_rlhf")}
    assert "rlvr_vs_grpo" not in comparisons(choose_runs(["rlvr", "rlhf"]))  # a head-to-head needs both rows
    with pytest.raises(ValueError, match=r"unknown run\(s\) \['ppo'\]; choose from \['rlhf', 'rlaif'"):
        choose_runs("rlhf,ppo")


def test_the_cli_passes_the_chosen_rows_and_rejects_an_unknown_one(tmp_path, capsys):
    from rlcore.cli import main

    assert main(["pipeline", "--out", str(tmp_path), "--runs", "rlhf,sft"]) == 2
    assert "unknown run(s) ['sft']" in capsys.readouterr().err


def test_the_cli_takes_its_profile_and_seed_from_the_environment(tmp_path, monkeypatch, capsys):
    from rlcore import cli

    seen = []
    monkeypatch.setattr(cli, "run_pipeline", lambda out, profile, **kw: seen.append(profile) or
                        (tmp_path / "report.md").write_text("done"))
    monkeypatch.setenv("RLCORE_SEED", "3")
    assert cli.main(["pipeline", "--out", str(tmp_path)]) == 0
    assert (seen[-1].name, seen[-1].seed) == ("tiny", 3)  # no GPU here: get_profile's own choice, the tiny profile
    assert cli.main(["pipeline", "--out", str(tmp_path), "--seed", "5"]) == 0 and seen[-1].seed == 5  # a flag wins
    # every section's setting through --set, converted to its type; the top-level ones are flags of their own
    assert cli.main(["pipeline", "--out", str(tmp_path), "--set", "ppo.steps=5", "--set", "lengths.max_new_tokens=9",
                     "--policy-model", "tiny-labeler", "--fresh"]) == 0
    assert (seen[-1].ppo.steps, seen[-1].lengths.max_new_tokens, seen[-1].policy_model) == (5, 9, "tiny-labeler")
    capsys.readouterr()
    assert cli.main(["pipeline", "--out", str(tmp_path), "--set", "ppo.step=5"]) == 2 and len(seen) == 3
    assert "'ppo.step' names no profile setting; did you mean ['ppo.steps'" in capsys.readouterr().err
    monkeypatch.setenv("RLCORE_PROFILE", "nosuch")
    assert cli.main(["pipeline", "--out", str(tmp_path)]) == 2 and len(seen) == 3  # one error, before any stage
    assert capsys.readouterr().err.strip() == ("rlcore: error: ValueError: unknown profile 'nosuch'; choose one of "
                                               "['gpt-neo-125m', 'tiny']")


def test_the_pipeline_judges_the_world_on_test_and_ood_prompts(first_run):
    from test_world_data import split_of

    out, report = first_run
    assert report["data"] == "world" and report["judge"].startswith("gold judge")
    for split in (report, report["ood"]):
        assert split["win_rate"].keys() == report["win_rate"].keys() and "best_vs_sft" in split["win_rate"]
        assert set(split["harmless_rate"]) == set(POLICIES)
        assert set(split["per_scenario"]) <= set(world.FAMILIES)
        n = sum(row["n"] for row in split["per_scenario"].values())
        overall = sum(row["n"] * row["policy_rlhf_vs_sft"] for row in split["per_scenario"].values()) / n
        assert n == SIZES.eval.prompts and overall == pytest.approx(split["win_rate"]["rlhf_vs_sft"]["win_rate"])
        for name, row in split["per_scenario"].items():
            assert row["gold_best"] > row["gold_sft"] - 1e-9
    assert {k for k in report if k.startswith("rm_") and "gold_accuracy" in k} == \
        {f"rm_{n}_gold_accuracy_ood" for n in ("human", "ai", "hybrid")}
    assert report["human_label_bayes_limit"] == pytest.approx(0.75, abs=1e-6)
    ai = json.loads((out / "ai_labels.json").read_text())
    assert len(ai) == SIZES.rm.pairs and {split_of(r["prompt"]) for r in ai} == {"train"}  # train prompts only
