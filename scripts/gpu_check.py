#!/usr/bin/env python
"""The GPU check: every lesson of the course on the GPU profile (``gpt-neo-125m``), at its shapes, timed.

    python scripts/gpu_check.py --out DIR                       # on a GPU, no network: about 8 minutes on an H100/H200
    python scripts/gpu_check.py --device cpu --toy --out DIR    # the same script at toy width and sizes
    python scripts/gpu_check.py --device cpu --toy --edition student --out DIR  # ... on the unfilled student copies (CI)

Run it FIRST whenever a GPU is at hand, as one call, and put its figures on the measurements page
(course/measurements.md). It needs no hub, no
Jupyter and no ``datasets`` server: only rlcore's own dependencies (carry ``datasets`` and ``ipywidgets`` as wheels
where the machine lacks them; TRL 0.29.1 too for the side-by-side PPO iteration).

1. **Models, offline.** The policy has GPT-Neo-125M's architecture, pretrained for ``--pretrain-minutes`` on the
   world corpus (``rlcore pretrain``; the world's 2,048-token vocabulary, not GPT-2's 50,257), or ``--policy-model``.
   The AI labeler and the judge are Qwen2 models with the shapes of Qwen2.5-1.5B- and 3B-Instruct, built from their
   configs with RANDOM weights and a chat template: they measure time and memory, not quality (the report says so).
   ``--toy``: the shipped tiny GPT-Neo reshaped with global and local attention in turn, and Qwen2 at toy width.
2. **Data.** An HH-RLHF-format file (raw transcripts) of multi-turn world conversations, longer than the profile's
   ``max_prompt_tokens``, as real HH-RLHF conversations are.
3. **Every lesson**, ``notebooks/src/NN_*.py`` in course order (``--edition student``: the student copies with every
   exercise unfilled, as CI's CPU pass runs them), each in a fresh Python process (as a notebook kernel
   is), on the GPU profile with these models and its real sizes, except PPO: cut to ``--ppo-steps`` steps, each
   step's time logged (``RLCORE_STEP_LOG``) so that the lesson's full time is projected. Per lesson: seconds, peak
   GPU memory (peak RSS on a CPU), the time of each kind of work (generation, scoring, training and the rest:
   ``RLCORE_PHASE_LOG``), the projection here and, from an H100 or H200, a range on a T4, each kind with its factor.
4. **One PPO iteration** at the profile's config (``benchmarks/ppo_vs_trl.py``), beside TRL 0.29.1's if installed.
5. **The T4 pass.** On a GPU, the lesson with the highest peak memory again, in the T4's precision plan (float16,
   loss scaling, the verdict guard) with the process capped to a T4's 15 GiB (``torch.cuda.set_per_process_memory_fraction``): does it fit?

Writes ``DIR/gpu_check.md`` and ``DIR/gpu_check.json``; each lesson's output is in ``DIR/lessons/NN_*.log``. Exits
with status 1 if a lesson failed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from rlcore.phases import read_phases

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LESSONS = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "notebooks", "src")) if f.endswith(".py"))
PROFILE = "gpt-neo-125m"
T4_MEMORY_GIB = 15.0
# The T4 projection, per kind of work (rlcore.phases: each lesson's time split into generation, scoring and the
# rest, mostly training), each with its own range of factors (a T4's time / an H100's or H200's), from the cards'
# published figures: memory bandwidth T4 320 GB/s, H100 3,350, H200 4,800; dense 16-bit tensor throughput T4 65
# TFLOPS, H100 and H200 about 990.
# - generation: a 125M model sampling token by token at a small batch launches a few small kernels per token and
#   waits on the host between them: launch- and host-bound, it scales with neither figure, about 1.5-3x;
# - scoring: frozen forward passes of a 1.5-3B labeler or judge and of the reward model over whole sequences,
#   bound by reading the weights: the bandwidth ratio (10.5x from an H100, 15x from an H200), 12-15x;
# - training (and everything else): batched forward and backward passes of a 125M model in float16, compute-bound
#   but far from either card's peak at these sizes: 5-10x (float32 training would be 20-40x: the T4 has 8 TFLOPS
#   of float32).
PHASE_FACTORS = {"generation": (1.5, 3.0), "scoring": (12.0, 15.0), "training": (5.0, 10.0)}
FACTORS_FROM = ("H100", "H200")  # the cards the factors are stated for
# From any other device (a CPU: CI's toy pass), the T4 time is projected from the work counted instead
# (rlcore.phases.WorkCounter, on by default off a GPU): each tensor operation takes the largest of its launch and the
# host's work around it, its arithmetic at a share of the T4's 65 TFLOPS of 16-bit tensor throughput, and its bytes
# (16-bit) at a share of its 320 GB/s, low to high: eager PyTorch spends about 5-15 us of host time per operation
# (Colab's CPUs at the slow end); large matrix products reach 25-60% of peak; streaming kernels 50-85% of bandwidth.
# The run's time outside tensor operations (Python, tokenising, the world's judge) is the host's: 1-2x this host's.
T4_OPERATION = {"launch_s": (5e-6, 15e-6), "share_of_65_tflops": (0.60, 0.25), "share_of_320_gbs": (0.85, 0.50)}
HOST_FACTORS = (1.0, 2.0)


def t4_operation_seconds(flops: float, nbytes: float) -> tuple[float, float]:
    """(low, high) seconds of one tensor operation on a T4: the largest of launch, arithmetic and memory traffic."""
    return tuple(max(launch, flops / (65e12 * compute), nbytes / (320e9 * bandwidth))
                 for launch, compute, bandwidth in zip(*T4_OPERATION.values()))


# --toy: sizes that run every lesson in a few minutes on 2 CPU cores. Learning rates of the tiny profile: the
# GPU profile's are for 125M parameters, and a toy-width model learns nothing at them in a dozen steps.
TOY_SIZES = {"RLCORE_PPO__BATCH_SIZE": "8", "RLCORE_PPO__NUM_MINIBATCHES": "2",
             # GRPO and RLOO: 2 prompts x 4 samples, as many responses per step as PPO's 8
             "RLCORE_GRPO__BATCH_SIZE": "2", "RLCORE_GRPO__NUM_MINIBATCHES": "2", "RLCORE_GRPO__LR": "5e-5",
             "RLCORE_RLOO__BATCH_SIZE": "2", "RLCORE_RLOO__NUM_MINIBATCHES": "2", "RLCORE_RLOO__LR": "5e-5",
             "RLCORE_EVAL__PROMPTS": "16", "RLCORE_RM__TEST_PAIRS": "16", "RLCORE_SFT__LR": "3e-4",
             "RLCORE_RM__LR": "3e-4", "RLCORE_PPO__LR": "5e-5", "RLCORE_DPO__LR": "1e-4",
             "RLCORE_RM__NORMALISATION_PROMPTS": "16",
             "RLCORE_DPO__EPOCHS": "2",
             # the reward models and DPO read 64 of the file's pairs (a step at the GPU profile's lengths is slow on a CPU)
             "RLCORE_RM__PAIRS": "64", "RLCORE_RM__HYBRID_HUMAN_PAIRS": "32",
             # lessons 07 and 09's own sample counts (400 critiques and revisions; 64 prompts x 32 samples)
             "RLCORE_CAI__PROMPTS": "48", "RLCORE_EVAL__BON_PROMPTS": "16", "RLCORE_EVAL__BON_SAMPLES": "8"}
# Runs a lesson in this process and reports its time and peak memory (the process is the lesson's "kernel").
RUNNER = """
import contextlib, json, os, resource, runpy, sys, time
import torch
cap = float(os.environ.get("GPU_CHECK_MEMORY_GIB") or 0)
if cap and torch.cuda.is_available():
    torch.cuda.set_per_process_memory_fraction(min(1.0, cap * 2**30 / torch.cuda.get_device_properties(0).total_memory))
counter = None
if os.environ.get("GPU_CHECK_COUNT_WORK"):  # every tensor operation counted, with its time on a T4
    sys.path.insert(0, os.environ["GPU_CHECK_COUNT_WORK"])
    from gpu_check import t4_operation_seconds
    from rlcore.phases import WorkCounter
    counter = WorkCounter(t4_operation_seconds)
start = time.perf_counter()
with counter or contextlib.nullcontext():
    runpy.run_path(sys.argv[1], run_name="__main__")
cuda = torch.cuda.is_available() and torch.cuda.is_initialized()
peak = torch.cuda.max_memory_allocated() if cuda else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
with open(sys.argv[2], "w") as f:
    json.dump({"seconds": time.perf_counter() - start, "peak_bytes": peak, "peak_is": "cuda" if cuda else "rss",
               "work": counter.totals if counter else None}, f)
"""


def log(*args) -> None:
    print("[gpu_check]", *args, flush=True)


# --------------------------------------------------------------------------- 1. models and 2. data
def build_models(folder: str, toy: bool, device: str, policy_model: str | None, minutes: float) -> dict:
    import torch

    from rlcore.builders import gpt_neo_local_stand_in, qwen2_stand_in

    os.makedirs(folder, exist_ok=True)
    models = {}
    if policy_model:
        models["policy"] = policy_model
    elif toy:
        models["policy"] = gpt_neo_local_stand_in(os.path.join(folder, "policy"))
    else:
        from rlcore.pretrain import pretrain_cli

        log(f"pretraining a GPT-Neo-125M-shape policy for {minutes} min on the world corpus")
        models["policy"] = pretrain_cli("gpt-neo-125m", minutes, os.path.join(folder, "policy"), documents=8000)
    dtype = None if toy or device == "cpu" else torch.bfloat16
    for role, shape, seed in (("labeler", "qwen2.5-1.5b", 1), ("judge", "qwen2.5-3b", 2)):
        log(f"building the {role}: Qwen2, {'toy width' if toy else shape + ' shape'}, random weights")
        models[role] = qwen2_stand_in(os.path.join(folder, role), "toy" if toy else shape, seed=seed,
                                      device=device, dtype=dtype)
    return models


def write_hh_file(path: str, rows: int, seed: int = 0, earlier_turns: int = 4) -> str:
    """Raw HH-RLHF rows (two whole transcripts) from the world: each conversation has ``earlier_turns`` earlier
    exchanges before the question its two replies answer, so prompts run past max_prompt_tokens as real ones do."""
    import random

    from rlcore import world

    pairs = world.preference_pairs("train", rows, seed=seed, labels="human")
    rng = random.Random(seed)
    with open(path, "w") as f:
        for pair in pairs:
            context = "".join(rng.choice(pairs).prompt + rng.choice(pairs).chosen for _ in range(earlier_turns))
            prompt = context + pair.prompt
            f.write(json.dumps({"chosen": prompt + pair.chosen, "rejected": prompt + pair.rejected}) + "\n")
    return path


# --------------------------------------------------------------------------- 3. the lessons
def lesson_source(name: str, edition: str, folder: str) -> str:
    """The script a lesson runs as: its source (the solutions), or the code cells of its student copy with every
    exercise a stub, as a student's "Run All" runs them (the Colab install cell left out)."""
    if edition == "solutions":
        return os.path.join(ROOT, "notebooks", "src", f"{name}.py")
    import nbformat

    nb = nbformat.read(os.path.join(ROOT, "notebooks", "student", f"{name}.ipynb"), as_version=4)
    cells = [c.source for c in nb.cells if c.cell_type == "code" and "rlcore-install" not in c.metadata.get("tags", [])]
    path = os.path.join(folder, f"{name}.student.py")
    with open(path, "w") as f:
        f.write("\n\n".join(cells) + "\n")
    return path


def run_lesson(name: str, env: dict, folder: str, timeout: float, edition: str = "solutions") -> dict:
    """One lesson in a fresh process; its output in ``folder/NAME.log``. Returns time, memory and PPO step times."""
    result_file, step_log = os.path.join(folder, f"{name}.json"), os.path.join(folder, f"{name}.steps")
    phase_log = os.path.join(folder, f"{name}.phases")
    for path in (result_file, step_log, phase_log):
        if os.path.exists(path):
            os.remove(path)
    source = lesson_source(name, edition, folder)
    start = time.perf_counter()
    with open(os.path.join(folder, f"{name}.log"), "w") as out:
        try:
            code = subprocess.run([sys.executable, "-c", RUNNER, source, result_file], cwd=folder, stdout=out,
                                  stderr=subprocess.STDOUT, env={**env, "RLCORE_STEP_LOG": step_log, "RLCORE_PHASE_LOG": phase_log},
                                  timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
    row = {"lesson": name, "ok": code == 0, "wall_seconds": round(time.perf_counter() - start, 1)}
    if code != 0:
        with open(os.path.join(folder, f"{name}.log")) as f:
            lines = [line.strip() for line in f if line.strip()]
        row["error"] = f"timed out after {timeout:.0f} s" if code == "timeout" else (lines[-1] if lines else f"exit {code}")
        return row
    with open(result_file) as f:
        measured = json.load(f)
    work = measured["work"] or {}
    counting = {name: w["counting_seconds"] for name, w in work.items()}  # the counter's own time, taken off
    seconds = measured["seconds"] - sum(counting.values())
    row.update(seconds=round(seconds, 1), peak_gib=round(measured["peak_bytes"] / 2**30, 2),
               peak_is=measured["peak_is"], training_runs=step_runs(step_log))
    timed = {name: t - counting.get(name, 0.0) for name, t in read_phases(phase_log).items()}
    row["phases"] = {"generation": round(timed.get("generation", 0.0), 1), "scoring": round(timed.get("scoring", 0.0), 1)}
    row["phases"]["training"] = round(max(0.0, seconds - sum(timed.values())), 1)  # and everything else
    if work:
        row["work"] = {name: {"operations": int(w["ops"]), "gflops": round(w["flops"] / 1e9, 2),
                              "gb": round(w["bytes"] / 1e9, 2), "t4_seconds": [round(w["low"], 1), round(w["high"], 1)]}
                       for name, w in work.items()}
        row["host_seconds"] = round(max(0.0, seconds - sum(w["op_seconds"] for w in work.values())), 1)
    return row


def step_runs(step_log: str) -> list[dict]:
    """The training loops a lesson ran, from its step log: name, steps, median seconds per step."""
    if not os.path.exists(step_log):
        return []
    runs: dict[tuple, list[float]] = {}
    with open(step_log) as f:
        for line in f:
            entry = json.loads(line)
            runs.setdefault((entry["run"], entry["id"]), []).append(entry["time"])
    out = []
    for (run, _), times in runs.items():
        gaps = [b - a for a, b in zip(times, times[1:])]
        out.append({"run": run, "steps": len(times), "step_seconds": round(statistics.median(gaps), 3) if gaps else None})
    return out


# The RL loops the check cuts short, and the profile setting of each one's full length
FULL_STEPS = {"PPO": "ppo.steps", "GRPO": "grpo.steps", "RLOO": "rloo.steps", "REINFORCE": "rloo.steps"}


def project(row: dict, steps_run: int, profile, factors: dict | None) -> None:
    """Add the lesson's projected full time: each RL run cut to ``steps_run`` steps (or k times that, for a run a
    lesson continues) would have taken its profile's steps (k times), at its median step time. Other loops ran
    in full. Then the T4 range, scaled alike: with ``factors`` (PHASE_FACTORS), each phase's time times its own
    range of factors; else from the work counted, if it was."""
    extra = sum((r["steps"] // steps_run) * (profile.get(FULL_STEPS[r["run"]]) - steps_run) * r["step_seconds"]
                for r in row["training_runs"]
                if r["run"] in FULL_STEPS and r["steps"] % steps_run == 0 and r["step_seconds"])
    row["projected_seconds"] = round(row["seconds"] + extra, 1)
    scale = row["projected_seconds"] / row["seconds"] if row["seconds"] else 0.0
    row["projected_t4_range"] = (t4_range(row["phases"], scale, factors) if factors else
                                 t4_range_counted(row["work"], row["host_seconds"], scale) if "work" in row else None)


def t4_range(phases: dict, scale: float, factors: dict) -> tuple[float, float]:
    """(low, high) seconds on a T4: every phase scaled to the projected full run (``scale``: the longer RL runs
    repeat what the cut ones did), times its factors."""
    return tuple(round(scale * sum(seconds * factors[name][i] for name, seconds in phases.items()))
                 for i in (0, 1))


def t4_range_counted(work: dict, host_seconds: float, scale: float) -> tuple[float, float]:
    """(low, high) seconds on a T4 from the work counted: every operation's T4 time, plus the host's time outside
    them (HOST_FACTORS), scaled to the projected full run."""
    return tuple(round(scale * (sum(w["t4_seconds"][i] for w in work.values()) + host_seconds * HOST_FACTORS[i]))
                 for i in (0, 1))


# --------------------------------------------------------------------------- 4. one PPO iteration
def ppo_iteration(profile, device: str, toy: bool, folder: str, env: dict) -> dict:
    out = os.path.join(folder, "ppo_iteration.json")
    sizes = (["--batch", "8", "--prompt-tokens", "64", "--response-tokens", "16", "--reps", "1"] if toy else
             ["--batch", str(profile.ppo.batch_size), "--prompt-tokens", str(profile.lengths.max_prompt_tokens),
              "--response-tokens", str(profile.lengths.max_new_tokens), "--reps", "3"])
    command = [sys.executable, os.path.join(ROOT, "benchmarks", "ppo_vs_trl.py"), "--device", device, "--json", out,
               "--ppo-epochs", str(profile.ppo.epochs), "--minibatches", str(profile.ppo.num_minibatches), *sizes]
    with open(os.path.join(folder, "ppo_iteration.log"), "w") as log_file:
        code = subprocess.run(command, stdout=log_file, stderr=subprocess.STDOUT, env=env).returncode
    if code != 0 or not os.path.exists(out):
        return {"ok": False, "error": f"benchmarks/ppo_vs_trl.py exited {code} (see ppo_iteration.log)"}
    with open(out) as f:
        return {"ok": True, **json.load(f)}


# --------------------------------------------------------------------------- report
def gpu_name(device: str) -> str:
    import torch

    return torch.cuda.get_device_name(0) if device.startswith("cuda") else "CPU"


def factors_for(name: str) -> dict | None:
    """The T4 factors (PHASE_FACTORS) from the device torch names, if they are stated for it."""
    return PHASE_FACTORS if any(card in name for card in FACTORS_FROM) else None


def write_report(report: dict, out: str) -> None:
    with open(os.path.join(out, "gpu_check.json"), "w") as f:
        json.dump(report, f, indent=1)
    factors = report["t4_factors"]
    peak = "peak GPU GiB" if report["device"].startswith("cuda") else "peak RSS GiB (CPU)"
    lines = [f"# GPU check: every lesson on the {PROFILE} profile ({report['gpu']}{', toy' if report['toy'] else ''})",
             "", f"torch {report['torch']}, transformers {report['transformers']}; {report['date']}. Models: "
             + ", ".join(f"{k} {v}" for k, v in report["model_kinds"].items())
             + ". **The labeler and the judge have random weights: these figures are time and memory, not quality.**",
             "", f"PPO, GRPO and RLOO cut to {report['ppo_steps_run']} steps per run (the profile runs {report['ppo_steps_full']} "
             "PPO steps); "
             "full time projected from the median step time. Each lesson's time is split into generation, scoring "
             "(frozen forward passes) and the rest, mostly training (`rlcore.phases`); T4: "
             + ("each part times its own factor, " + ", ".join(f"{k} {lo:g}-{hi:g}x" for k, (lo, hi) in factors.items())
                + " (the sources are stated in scripts/gpu_check.py)." if factors else
                "from the work counted: each tensor operation at the largest of its launch, its arithmetic and its bytes "
                "on a T4, plus the time outside tensor operations at 1-2x this host's (the figures are stated in "
                "scripts/gpu_check.py)." + (" At toy width the work is tiny: the range says what the toy run would "
                "take there, a check of the method, not the course's time." if report["toy"] else "")
                if report["t4_from"] == "counted work" else
                f"not projected (no work counted, and the factors are stated for {' and '.join(FACTORS_FROM)})."), "",
             f"| lesson | ok | seconds | generation s | scoring s | training and the rest s | {peak} | projected full s "
             "| projected T4 s |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in report["lessons"]:
        if row["ok"]:
            t4 = row["projected_t4_range"]
            ph = row["phases"]
            lines.append(f"| {row['lesson']} | yes | {row['seconds']} | {ph['generation']} | {ph['scoring']} | "
                         f"{ph['training']} | {row['peak_gib']} | {row['projected_seconds']} | "
                         f"{f'{t4[0]}-{t4[1]}' if t4 else 'n/a'} |")
        else:
            lines.append(f"| {row['lesson']} | **no**: {row['error']} | | | | | | | |")
    total = sum(r.get("projected_seconds", 0) for r in report["lessons"])
    ranges = [r["projected_t4_range"] for r in report["lessons"] if r.get("projected_t4_range")]
    lines += ["", f"All lessons, projected at full size: {total:.0f} s here"
              + (f", {sum(lo for lo, _ in ranges):.0f}-{sum(hi for _, hi in ranges):.0f} s on a T4." if ranges else ".")]
    t4 = report["t4_pass"]
    lines += ["", "T4 pass (the T4's precision plan: float16 with loss scaling and the verdict guard; memory capped to "
              "15 GiB): " + (
        t4["skipped"] if "skipped" in t4 else
        f"{t4['lesson']}: {'fits' if t4['ok'] else 'does NOT fit: ' + t4.get('error', '')}"
        + (f" ({t4['seconds']} s, peak {t4['peak_gib']} GiB)" if t4["ok"] else ""))]
    p = report["ppo_iteration"]
    if p.get("ok"):
        sides = ", ".join(f"{r['side']} {r['version']} {r['median_s']:.3f} s (peak {r.get('peak_cuda_gib') or 0:.2f} GiB)"
                          for r in p["results"])
        ratio_text = f"; TRL / rlcore {p['ratio_trl_over_rlcore']:.2f}x" if p.get("ratio_trl_over_rlcore") else ""
        lines += ["", f"One PPO iteration ({p['config']['batch']} prompts x {p['config']['prompt_tokens']} + "
                  f"{p['config']['response_tokens']} tokens): {sides}{ratio_text}."]
    else:
        lines += ["", f"One PPO iteration: {p.get('error')}"]
    lines += ["", f"The whole check took {report['total_seconds']:.0f} s.", ""]
    with open(os.path.join(out, "gpu_check.md"), "w") as f:
        f.write("\n".join(lines))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    parser.add_argument("--toy", action="store_true", help="toy width and sizes (CI, on a CPU)")
    parser.add_argument("--policy-model", default=None, help="a GPT-Neo-125M-shape checkpoint instead of pretraining one")
    parser.add_argument("--pretrain-minutes", type=float, default=1.0)
    parser.add_argument("--ppo-steps", type=int, default=3, help="PPO steps each lesson's runs are cut to")
    parser.add_argument("--rows", type=int, default=None, help="HH-format rows (default: 6,000; --toy 200)")
    parser.add_argument("--lessons", default="", help="comma-separated lesson prefixes (default: all)")
    parser.add_argument("--lesson-timeout", type=float, default=1800.0)
    parser.add_argument("--count-work", choices=["auto", "yes", "no"], default="auto",
                        help="count every tensor operation for the T4 projection (auto: where no factors are "
                             "stated for the device, e.g. a CPU; the counting slows a GPU's host)")
    parser.add_argument("--edition", choices=["solutions", "student"], default="solutions",
                        help="student: run the student copies, every exercise an unfilled stub (CI's CPU pass: "
                             "\"Run All\" must reach the end on rlcore's answers)")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    import transformers

    from rlcore.config import get_profile

    start = time.perf_counter()
    out = os.path.abspath(args.out)
    os.makedirs(os.path.join(out, "lessons"), exist_ok=True)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("gpu_check: no CUDA device here; use --device cpu --toy")
    models = build_models(os.path.join(out, "models"), args.toy, args.device, args.policy_model, args.pretrain_minutes)
    data = write_hh_file(os.path.join(out, "hh.jsonl"), args.rows or (200 if args.toy else 6000))
    env = {**os.environ, "RLCORE_PROFILE": PROFILE, "RLCORE_POLICY_MODEL": models["policy"],
           "RLCORE_LABELER_MODEL": models["labeler"], "RLCORE_JUDGE_MODEL": models["judge"], "RLCORE_DATASET": data,
           "RLCORE_DEVICE": args.device, "RLCORE_COURSE_DIR": os.path.join(out, "course"),
           "RLCORE_PPO__STEPS": str(args.ppo_steps), "RLCORE_GRPO__STEPS": str(args.ppo_steps),
           "RLCORE_RLOO__STEPS": str(args.ppo_steps), "HF_HUB_OFFLINE": "1", "MPLBACKEND": "Agg",
           "PYTHONPATH": os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]),
           **(TOY_SIZES if args.toy else {})}
    profile = get_profile(PROFILE, device=args.device)
    name = gpu_name(args.device)
    factors = factors_for(name) if args.device.startswith("cuda") else None
    count_work = args.count_work == "yes" or (args.count_work == "auto" and not factors)
    if count_work:
        env["GPU_CHECK_COUNT_WORK"] = os.path.dirname(os.path.abspath(__file__))
    report = {"gpu": name, "device": args.device, "toy": args.toy, "edition": args.edition, "torch": torch.__version__,
              "transformers": transformers.__version__, "date": time.strftime("%Y-%m-%d"), "models": models,
              "model_kinds": {"policy": "GPT-Neo (global + local attention)", "labeler": "Qwen2 1.5B shape" if not args.toy
                              else "Qwen2 toy width", "judge": "Qwen2 3B shape" if not args.toy else "Qwen2 toy width"},
              "ppo_steps_run": args.ppo_steps, "ppo_steps_full": profile.ppo.steps, "t4_factors": factors,
              "t4_from": "factors" if factors else "counted work" if count_work else None,
              "lessons": []}
    chosen = [n for n in LESSONS if not args.lessons or n[:2] in args.lessons.split(",")]
    for lesson in chosen:
        log(f"lesson {lesson} ...")
        row = run_lesson(lesson, env, os.path.join(out, "lessons"), args.lesson_timeout, args.edition)
        if row["ok"]:
            project(row, args.ppo_steps, profile, factors)
        report["lessons"].append(row)
        log(f"lesson {lesson}: " + (f"{row['seconds']} s, peak {row['peak_gib']} GiB" if row["ok"] else row["error"]))
    ran = [r for r in report["lessons"] if r["ok"]]
    if args.device.startswith("cuda") and ran:
        heaviest = max(ran, key=lambda r: r["peak_gib"])["lesson"]
        log(f"T4 pass: {heaviest} in the T4's precision plan, capped to {T4_MEMORY_GIB} GiB")
        # dtype float16 is the plan a T4 gets (rlcore.precision): float16 autocast with loss scaling for the trained
        # models, float16 frozen models behind the verdict guard
        t4_env = {**{k: v for k, v in env.items() if k != "GPU_CHECK_COUNT_WORK"}, "RLCORE_DTYPE": "float16", "GPU_CHECK_MEMORY_GIB": str(T4_MEMORY_GIB),
                  "RLCORE_COURSE_DIR": os.path.join(out, "course_t4")}
        report["t4_pass"] = run_lesson(heaviest, t4_env, os.path.join(out, "lessons"), args.lesson_timeout)
    else:
        report["t4_pass"] = {"skipped": "skipped: no GPU (it needs CUDA's memory cap)"}
    log("one PPO iteration at the profile's config")
    report["ppo_iteration"] = ppo_iteration(profile, args.device, args.toy, out, env)
    report["total_seconds"] = round(time.perf_counter() - start, 1)
    write_report(report, out)
    log(f"wrote {out}/gpu_check.md and gpu_check.json ({report['total_seconds']:.0f} s)")
    return 0 if all(r["ok"] for r in report["lessons"]) else 1


if __name__ == "__main__":
    sys.exit(main())
