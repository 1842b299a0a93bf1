"""Every lesson on the GPU track's code path and architectures, on CPU: ``scripts/gpu_check.py --device cpu --toy``.

The GPU profile (``gpt-neo-125m``: its token lengths, its dtype policy, an AI judge) with its architectures at toy
width: a GPT-Neo with global and local attention in turn as the policy, Qwen2 causal LMs with a chat template as
the AI labeler and judge, on a raw HH-RLHF-format file whose conversations run past max_prompt_tokens. This is the
lesson pass of the GPU track in CI (the committed notebooks are checked on the tiny track by nbval), and it keeps
the GPU check itself from going stale. It runs the student copies with every exercise unfilled (``--edition
student``): a student's "Run All" must reach the last cell, on rlcore's answers, whatever is left to write. ``RLCORE_NOTEBOOKS`` (lesson prefixes, e.g. "03,05") limits it while developing.
"""

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # every lesson, on the GPU profile's architectures: minutes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LESSONS = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "notebooks", "src")) if f.endswith(".py"))
ONLY = os.environ.get("RLCORE_NOTEBOOKS", "")


@pytest.fixture(scope="module")
def check(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu_check")
    command = [sys.executable, os.path.join(ROOT, "scripts", "gpu_check.py"), "--device", "cpu", "--toy",
               "--edition", "student", "--out", str(out)] + (["--lessons", ONLY] if ONLY else [])
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    return out, done


def test_every_lesson_runs_on_the_gpu_profiles_architectures(check):
    out, done = check
    assert (out / "gpu_check.md").exists() and (out / "gpu_check.json").exists(), done.stdout[-3000:]
    report = json.loads((out / "gpu_check.json").read_text())
    failed = {r["lesson"]: r["error"] for r in report["lessons"] if not r["ok"]}
    assert not failed, f"lessons failed (logs in {out}/lessons): {failed}"
    assert done.returncode == 0
    expected = [n for n in LESSONS if not ONLY or n[:2] in ONLY.split(",")]
    assert [r["lesson"] for r in report["lessons"]] == expected
    for name in expected:  # off the world, no number may come from the gold judge
        assert "gold judge (the world" not in (out / "lessons" / f"{name}.log").read_text()


def test_run_all_reaches_the_end_of_every_unfilled_student_copy(check):
    # the pass runs the student copies (--edition student): each unfilled exercise prints FAIL and its fallback
    # line, and the lesson goes on to its last cell on rlcore's answer (a lesson that stopped is a failed lesson)
    import nbformat

    out, _ = check
    report = json.loads((out / "gpu_check.json").read_text())
    assert report["edition"] == "student"
    for row in report["lessons"]:
        name = row["lesson"]
        nb = nbformat.read(os.path.join(ROOT, "notebooks", "student", f"{name}.ipynb"), as_version=4)
        exercises = [c.source.split("\n")[0].split(":")[1].strip() for c in nb.cells
                     if c.cell_type == "code" and c.source.startswith("# EXERCISE:")]
        log = (out / "lessons" / f"{name}.log").read_text()
        assert row["ok"], f"{name}: {row.get('error')}"
        for exercise in exercises:
            assert f"FAIL  {exercise}:" in log and f"using rlcore's {exercise} until yours passes" in log, name


def test_the_lessons_ran_the_gpu_profiles_models_lengths_and_a_chat_template(check):
    from transformers import AutoConfig, AutoTokenizer

    out, _ = check
    report = json.loads((out / "gpu_check.json").read_text())
    policy = AutoConfig.from_pretrained(report["models"]["policy"])
    assert policy.model_type == "gpt_neo" and policy.attention_layers[:2] == ["global", "local"]
    assert policy.max_position_embeddings >= 256 + 64 + 1  # the profile's prompt + response + EOS
    for role in ("labeler", "judge"):
        assert AutoConfig.from_pretrained(report["models"][role]).model_type == "qwen2"
        assert AutoTokenizer.from_pretrained(report["models"][role]).chat_template
    if not ONLY or "05" in ONLY:
        (lesson,) = [r for r in report["lessons"] if r["lesson"] == "05_rlhf_end_to_end"]
        ppo = [r for r in lesson["training_runs"] if r["run"] == "PPO"]
        assert ppo and ppo[-1]["steps"] == report["ppo_steps_run"] and ppo[-1]["step_seconds"] > 0
        # the projection adds the steps the run was cut short of, at its median step time
        extra = sum((report["ppo_steps_full"] - r["steps"]) * r["step_seconds"] for r in ppo
                    if r["steps"] == report["ppo_steps_run"])
        assert lesson["projected_seconds"] == pytest.approx(lesson["seconds"] + extra, abs=0.11)
        # its time split by kind of work: PPO samples (generation) and scores with frozen models (scoring)
        phases = lesson["phases"]
        assert phases["generation"] > 0 and phases["scoring"] > 0
        assert sum(phases.values()) == pytest.approx(lesson["seconds"], abs=0.25)
        # no factors are stated from a CPU: the T4 range comes from the work counted, every phase's operations
        work = lesson["work"]
        assert work["generation"]["operations"] > 0 and work["training"]["gflops"] > 0
        scale = lesson["projected_seconds"] / lesson["seconds"]
        low, high = lesson["projected_t4_range"]
        assert low == pytest.approx(scale * (sum(w["t4_seconds"][0] for w in work.values()) + lesson["host_seconds"]), abs=1.5)
        assert low < high
    text = (out / "gpu_check.md").read_text()
    assert "random weights" in text
    assert all(f"| {r['lesson']} | yes |" in text for r in report["lessons"])
    assert report["ppo_iteration"]["ok"] and report["ppo_iteration"]["results"][0]["side"] == "rlcore"


def _script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("gpu_check", os.path.join(ROOT, "scripts", "gpu_check.py"))
    gpu_check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu_check)
    return gpu_check


def test_the_t4_range_is_each_phase_times_its_own_factors():
    gpu_check = _script()
    factors = {"generation": (1.5, 3.0), "scoring": (12.0, 15.0), "training": (5.0, 10.0)}
    # 2 x (10 x 1.5 + 2 x 12 + 4 x 5) = 118; 2 x (10 x 3 + 2 x 15 + 4 x 10) = 200
    assert gpu_check.t4_range({"generation": 10, "scoring": 2, "training": 4}, 2.0, factors) == (118, 200)
    assert gpu_check.factors_for("NVIDIA H100 80GB HBM3") is gpu_check.PHASE_FACTORS
    assert gpu_check.factors_for("NVIDIA A10G") is None and gpu_check.factors_for("CPU") is None


def test_a_t4_operation_takes_the_largest_of_its_launch_its_arithmetic_and_its_bytes():
    gpu_check = _script()
    # 1 GFLOP reading 1 MB: compute-bound, 1e9 / (65e12 x 0.60) .. 1e9 / (65e12 x 0.25)
    low, high = gpu_check.t4_operation_seconds(1e9, 1e6)
    assert low == pytest.approx(1e9 / 39e12) and high == pytest.approx(1e9 / 16.25e12)
    # 100 MB copied, no arithmetic: bandwidth-bound, 1e8 / (320e9 x 0.85) .. 1e8 / (320e9 x 0.5)
    assert gpu_check.t4_operation_seconds(0, 1e8) == pytest.approx((1e8 / 272e9, 1e8 / 160e9))
    # a small elementwise operation: its launch and the host's work around it
    assert gpu_check.t4_operation_seconds(100, 800) == (5e-6, 15e-6)
    # a lesson: the operations' T4 seconds of every phase, plus 10 s of host work at 1-2x, scaled 2x to the full run
    work = {"generation": {"t4_seconds": [3.0, 9.0]}, "training": {"t4_seconds": [1.0, 2.0]}}
    assert gpu_check.t4_range_counted(work, 10.0, 2.0) == (28, 62)
