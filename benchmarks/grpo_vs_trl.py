#!/usr/bin/env python
"""Time ONE GRPO iteration of rlcore and of TRL's GRPOTrainer (TRL 1.16, generation by transformers, no vLLM).

    python benchmarks/grpo_vs_trl.py --reps 5                   # CPU: the shipped tiny GPT-Neo (1M params)
    python benchmarks/grpo_vs_trl.py --device cuda --reps 5     # GPU: the GPT-Neo-125M shape, random weights
    python benchmarks/grpo_vs_trl.py --json results.json        # also write the numbers as JSON

One iteration = sample ``group_size`` responses for each of ``batch`` prompts -> reference log-probs, a reward
for each response -> group-relative advantages -> ``minibatches`` optimizer steps of the clipped GRPO loss with
``beta`` x KL(policy || reference), one epoch over the ``batch x group_size`` sequences.
rlcore: one call of ``GRPOTrainer.step(prompts)``. TRL generates once every ``steps_per_generation`` optimizer
steps and has no public "one iteration" method: its ``train()`` runs, and one iteration is timed from one
generation to the next, i.e. over ``minibatches`` consecutive ``on_step_end`` callbacks.

The reward is a cheap function of the response text on both sides (``distinct_words``), so no reward model's
forward pass weighs on the comparison. Each side runs in its own Python process (same interpreter, same
environment), as in ``ppo_vs_trl.py``, whose helpers this script imports: both processes build the SAME policy
(same weights, seed 0), the SAME prompts (token for token) and the SAME GRPO settings; see
``benchmarks/README.md`` for what still differs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # ppo_vs_trl.py lies next to this file

import torch
from packaging.version import Version
from ppo_vs_trl import (CLIP_RANGE, LEARNING_RATE, SEED, TEMPERATURE, WEIGHT_DECAY, _version, build_policy,
                        fixed_length_prompts, iteration_timer, n_params, now, peak_memory_gib, prompt_token_ids,
                        reset_peak_memory, summarise)

# --------------------------------------------------------------------------- the shared configuration
# Per-device defaults; every value can be overridden on the command line. batch = prompts per iteration.
DEFAULTS = {
    "cpu": dict(model="tiny", batch=8, group_size=4, prompt_tokens=64, response_tokens=48, minibatches=2),
    "cuda": dict(model="gpt-neo-125m", batch=16, group_size=8, prompt_tokens=128, response_tokens=64, minibatches=4),
}
# GRPO hyper-parameters given to BOTH trainers (none of them changes the amount of work).
BETA = 0.04  # coefficient of the k3 KL to the reference in the loss (rlcore's default)
MAX_GRAD_NORM = 1.0  # both clip the gradient norm (TRL: Trainer's max_grad_norm)
TRL_MIN = "1.16"  # the GRPOConfig fields used here (steps_per_generation, use_bias_correction_kl, ...)


def distinct_words(prompts, completions, **_) -> list[float]:
    """The reward on both sides: the number of distinct words in each response (a few microseconds).

    rlcore calls it as ``reward_fn(prompts, responses)``, TRL as ``reward_func(prompts=, completions=, ...)``;
    both pass the decoded responses without EOS or padding.
    """
    return [float(len(set(text.split()))) for text in completions]


def exact_length_prompts(tokenizer, n: int, prompt_tokens: int) -> list[str]:
    """``n`` prompt strings that tokenize to exactly ``prompt_tokens`` tokens, with no truncation.

    TRL 1.16's GRPOTrainer has no prompt-length limit (it tokenizes the whole prompt) while rlcore keeps the last
    ``max_prompt_tokens`` tokens, so both sides get texts of exactly that length: the last ``prompt_tokens`` tokens
    of the benchmark prompts (``ppo_vs_trl.fixed_length_prompts``), decoded, kept when they tokenize back to the
    same ids (byte-level BPE nearly always does).
    """
    texts = []
    candidates = fixed_length_prompts(tokenizer, 4 * n, prompt_tokens)
    ids = prompt_token_ids(tokenizer, candidates, prompt_tokens)  # (4n, P): the last P tokens of each
    for row in ids.tolist():
        text = tokenizer.decode(row)
        if tokenizer(text)["input_ids"] == row:
            texts.append(text)
        if len(texts) == n:
            return texts
    raise RuntimeError(f"only {len(texts)} of {4 * n} prompts survive a decode/encode round trip")


# --------------------------------------------------------------------------- rlcore side
def time_rlcore(args) -> dict:
    """Time ``trainer.step(prompts)``: warm-up iterations first, then ``reps`` timed ones."""
    from rlcore.config import GRPOConfig, Lengths
    from rlcore.grpo import GRPOTrainer
    from rlcore.models import reference_model

    policy, tokenizer = build_policy(args.model, args.device)
    ref = reference_model(policy)  # frozen copy of the policy
    config = GRPOConfig(lr=LEARNING_RATE, batch_size=args.batch, group_size=args.group_size,
                        num_minibatches=args.minibatches, epochs=1, beta=BETA, clip_range=CLIP_RANGE,
                        scale="group", loss_type="grpo", temperature=TEMPERATURE, max_grad_norm=MAX_GRAD_NORM)
    limits = Lengths(max_prompt_tokens=args.prompt_tokens, max_new_tokens=args.response_tokens,
                      max_length=args.prompt_tokens + args.response_tokens + 1)
    trainer = GRPOTrainer(policy, ref, tokenizer, config, limits, SEED, reward_fn=distinct_words)
    prompts = exact_length_prompts(tokenizer, args.batch, args.prompt_tokens)

    reset_peak_memory(args.device)
    times, lengths = [], []
    for _ in range(args.warmup + args.reps):
        start = now(args.device)
        lengths.append(trainer.step(prompts)["response_length"])  # one GRPO iteration
        times.append(now(args.device) - start)
    return side_result("rlcore", args, policy, times, f"mean response length {statistics.mean(lengths):g} tokens")


def side_result(side: str, args, policy, times: list[float], check: str) -> dict:
    """What one side hands back: its iteration times (warm-up ones apart), the set-up it ran, a sanity check."""
    return dict(side=side, version=_version(side), times=times[args.warmup:], warmup_times=times[:args.warmup],
                peak_cuda_gib=peak_memory_gib(args.device), params_policy=n_params(policy),
                attn=policy.config._attn_implementation, threads=torch.get_num_threads(), check=check)


# --------------------------------------------------------------------------- TRL side
def trl_config(args, output_dir: str, eos_token_id: int):
    """TRL's GRPOConfig with the shared settings; everything that is not training is switched off.

    One rlcore step = one generation of batch x group_size sequences, then `minibatches` optimizer steps of
    batch x group_size / minibatches sequences each: per_device_train_batch_size = that minibatch, no gradient
    accumulation, steps_per_generation = minibatches (so generation_batch_size = batch x group_size), and
    num_iterations = 1 (each generation is used for one epoch).
    """
    from trl import GRPOConfig

    sequences = args.batch * args.group_size
    return GRPOConfig(
        output_dir=output_dir, report_to="none", save_strategy="no", eval_strategy="no", logging_strategy="no",
        disable_tqdm=True, push_to_hub=False, seed=SEED, use_cpu=args.device == "cpu", use_vllm=False,
        # float32, no gradient checkpointing, plain torch AdamW, no dropout: as rlcore (TRL's defaults differ:
        # bf16=True, gradient_checkpointing=True, and the fused AdamW on recent torch)
        bf16=False, fp16=False, gradient_checkpointing=False, optim="adamw_torch", disable_dropout=True,
        learning_rate=LEARNING_RATE, weight_decay=WEIGHT_DECAY, lr_scheduler_type="constant",
        max_grad_norm=MAX_GRAD_NORM,
        per_device_train_batch_size=sequences // args.minibatches, gradient_accumulation_steps=1,
        steps_per_generation=args.minibatches, num_generations=args.group_size, num_iterations=1,
        max_steps=(args.warmup + args.reps) * args.minibatches,  # = warmup + reps generations
        # sampling at temperature 1, no top-k / top-p; EOS can never be sampled: every response is full length
        max_completion_length=args.response_tokens, temperature=TEMPERATURE, top_k=0, top_p=1.0,
        generation_kwargs={"suppress_tokens": [eos_token_id]}, mask_truncated_completions=False,
        # GRPO's loss as rlcore's: clipped surrogate + beta * k3 KL, each sequence's token mean, then the mean;
        # advantages scaled by the group's std; the KL term not re-weighted by the ratio (rlcore does not)
        beta=BETA, epsilon=CLIP_RANGE, loss_type="grpo", scale_rewards="group", use_bias_correction_kl=False,
    )


def time_trl(args) -> dict:
    """Run TRL's train() for warmup + reps generations and time each iteration with a callback."""
    from datasets import Dataset
    from transformers.trainer_callback import PrinterCallback, ProgressCallback
    from trl import GRPOTrainer

    policy, tokenizer = build_policy(args.model, args.device)
    tokenizer.padding_side = "left"  # TRL expects left padding (there is no padding here anyway)
    prompts = exact_length_prompts(tokenizer, args.batch, args.prompt_tokens)  # TRL tokenizes them whole: P tokens
    dataset = Dataset.from_dict({"prompt": prompts})  # `batch` rows = one generation batch: the same prompts each time

    timer = iteration_timer(args.device)  # a time stamp at on_train_begin and at every on_step_end
    with tempfile.TemporaryDirectory() as output_dir:  # TRL creates its output_dir; only the policy is saved there
        # TRL loads its reference model from the policy's path: save the policy (random weights on cuda) there.
        model_dir = os.path.join(output_dir, "policy")
        policy.save_pretrained(model_dir)
        policy.config._name_or_path = model_dir
        trainer = GRPOTrainer(model=policy, reward_funcs=distinct_words, args=trl_config(args, output_dir,
                              tokenizer.eos_token_id), train_dataset=dataset, processing_class=tokenizer,
                              callbacks=[timer])
        for printer in (PrinterCallback, ProgressCallback):  # no printing of the metrics
            trainer.remove_callback(printer)
        reset_peak_memory(args.device)
        trainer.train()
    steps = (args.warmup + args.reps) * args.minibatches
    assert len(timer.stamps) == 1 + steps, f"expected {steps} optimizer steps, timed {len(timer.stamps) - 1}"
    stamps = timer.stamps[::args.minibatches]  # train begin, then the end of every `minibatches`-th step
    times = [b - a for a, b in zip(stamps, stamps[1:])]
    final = timer.logs[-1] if timer.logs else {}  # train()'s last log averages the metrics of every generation
    shortest = final.get("completions/min_length", float("nan"))
    return side_result("trl", args, policy, times, f"min response length {shortest:g} tokens (mean over generations)")


# --------------------------------------------------------------------------- driver: one process per side
SIZES = {  # the options whose defaults depend on --device (DEFAULTS), with their help
    "batch": "prompts per iteration",
    "group_size": "responses sampled per prompt: GRPO's G, TRL's num_generations",
    "prompt_tokens": "tokens per prompt, exactly",
    "response_tokens": "tokens per response, exactly: EOS is never sampled",
    "minibatches": "optimizer steps per iteration, one epoch",
}
CHILD_OPTIONS = ("device", "model", "reps", "warmup", *SIZES)  # what a child process is given


def run_side(side: str, args) -> dict | None:
    """This script again, in a fresh Python process, for one side; its result comes back as a JSON file."""
    options = [f"--{name.replace('_', '-')}={getattr(args, name)}" for name in CHILD_OPTIONS]
    env = dict(os.environ)
    if args.device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""  # keep accelerate (TRL) from picking a GPU
    print(f"--- running the {side} side ...", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        result_file = os.path.join(tmp, "result.json")
        command = [sys.executable, os.path.abspath(__file__), f"--side={side}", f"--result-file={result_file}"]
        if subprocess.run(command + options, env=env).returncode == 0:
            with open(result_file) as f:
                return summarise(json.load(f))  # + median_s, min_s, max_s
    print(f"--- the {side} side failed (see the error above)", flush=True)
    return None


def trl_usable() -> bool:
    """TRL 1.16+ is importable; says why not otherwise."""
    found = _version("trl") if importlib.util.find_spec("trl") is not None else None
    if found is not None and Version(found) >= Version(TRL_MIN):
        return True
    print(f"TRL {TRL_MIN}+ is missing ({'found ' + found if found else 'not installed'}): only the rlcore side "
          f"is timed (install it, e.g. into a separate venv: pip install --no-deps 'trl=={TRL_MIN}.0')")
    return False


def report(args, results: list[dict]) -> dict:
    """Print the set-up, one line per side and the ratio; return all of it for --json."""
    sequences = args.batch * args.group_size
    first = results[0]
    print(f"\nOne GRPO iteration, device {args.device} (torch threads "
          f"{'/'.join(str(r['threads']) for r in results)}), model {args.model} "
          f"({first['params_policy'] / 1e6:.2f}M params, attention {first['attn']})")
    print(f"{args.batch} prompts x {args.group_size} samples = {sequences} sequences, {args.prompt_tokens} prompt "
          f"tokens, {args.response_tokens} response tokens, 1 epoch x {args.minibatches} minibatches of "
          f"{sequences // args.minibatches}; {args.warmup} warm-up + {args.reps} timed iterations per side")
    print("side           median s     min s     max s  peak CUDA GiB   check")
    for r in results:
        peak = "-" if r["peak_cuda_gib"] is None else f"{r['peak_cuda_gib']:.2f}"
        name = f"{r['side']} {r['version']}"
        print(f"{name:<14}{r['median_s']:>9.3f}{r['min_s']:>10.3f}{r['max_s']:>10.3f}{peak:>15}   {r['check']}")
    out = dict(config={name: getattr(args, name) for name in CHILD_OPTIONS}, torch=torch.__version__,
               results=results)
    if [r["side"] for r in results] == ["rlcore", "trl"]:
        out["ratio_trl_over_rlcore"] = results[1]["median_s"] / first["median_s"]
        print(f"ratio TRL / rlcore (median time): {out['ratio_trl_over_rlcore']:.2f}x")
    return out


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--model", choices=("tiny", "gpt-neo-125m"), help="default: tiny on cpu, gpt-neo-125m on cuda")
    p.add_argument("--reps", type=int, default=5, help="timed iterations per side (the median is reported)")
    p.add_argument("--warmup", type=int, default=1, help="untimed iterations first (allocations, kernels, Adam state)")
    for name, what in SIZES.items():
        p.add_argument(f"--{name.replace('_', '-')}", type=int,
                       help=f"{what} (default: {DEFAULTS['cpu'][name]} on cpu, {DEFAULTS['cuda'][name]} on cuda)")
    p.add_argument("--json", metavar="OUT", help="also write the results to this JSON file")
    p.add_argument("--side", choices=("rlcore", "trl"), help=argparse.SUPPRESS)  # internal: run one side
    p.add_argument("--result-file", help=argparse.SUPPRESS)
    p.set_defaults(**DEFAULTS[p.parse_known_args(argv)[0].device])  # the chosen device's sizes, unless given
    args = p.parse_args(argv)
    problems = {
        "--device cuda but torch sees no GPU": args.device == "cuda" and not torch.cuda.is_available(),
        "GRPO compares the samples of one prompt: --group-size must be >= 2": args.group_size < 2,
        f"--batch x --group-size ({args.batch * args.group_size}) must be divisible by --minibatches "
        f"({args.minibatches})": (args.batch * args.group_size) % args.minibatches != 0,
        "--reps must be >= 1 and --warmup >= 0": args.reps < 1 or args.warmup < 0,
    }
    for message, found in problems.items():
        if found:
            p.error(message)
    return args


def time_side(args) -> None:
    """In a child process: time one side and leave the result where the parent reads it."""
    torch.manual_seed(SEED)
    timed = time_rlcore(args) if args.side == "rlcore" else time_trl(args)
    with open(args.result_file, "w") as f:
        json.dump(timed, f)


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.side:
        return time_side(args)
    sides = ["rlcore", "trl"] if trl_usable() else ["rlcore"]
    results = [result for side in sides if (result := run_side(side, args)) is not None]
    if not results:
        sys.exit("no side could be timed")
    out = report(args, results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
