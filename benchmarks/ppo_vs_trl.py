#!/usr/bin/env python
"""Time ONE PPO iteration of rlcore and of TRL's PPOTrainer (``trl.experimental.ppo``, TRL 0.29.x).

    python benchmarks/ppo_vs_trl.py --reps 3                    # CPU: the shipped tiny GPT-Neo (1M params)
    python benchmarks/ppo_vs_trl.py --device cuda --reps 5      # GPU: the GPT-Neo-125M shape, random weights
    python benchmarks/ppo_vs_trl.py --json results.json         # also write the numbers as JSON

One iteration = rollout (generate) -> log-probs, reference log-probs, values, reward score -> KL-penalised
rewards, GAE, whitened advantages -> ``ppo_epochs`` x ``minibatches`` clipped policy + value updates.
rlcore: one call of ``PPOTrainer.step(prompts)``. TRL: one pass of the loop body of ``PPOTrainer.train()``,
timed from one ``on_step_end`` callback to the next (TRL has no public "one step" method).

Each side runs in its own Python process (same interpreter, same environment) so that the CUDA peak memory,
allocator caches and any global state set by TRL/accelerate cannot leak into the other side.
Both processes build the SAME models (same weights, seed 0), the SAME prompts (token for token) and the
SAME PPO settings; see ``benchmarks/README.md`` for what still differs.
"""

from __future__ import annotations

import argparse
import copy
import importlib.metadata
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never download anything
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

import torch

# --------------------------------------------------------------------------- the shared configuration
# Per-device defaults; every value can be overridden on the command line.
DEFAULTS = {
    "cpu": dict(model="tiny", batch=32, prompt_tokens=64, response_tokens=48, ppo_epochs=4, minibatches=4),
    "cuda": dict(model="gpt-neo-125m", batch=64, prompt_tokens=128, response_tokens=64, ppo_epochs=4, minibatches=4),
}
# PPO hyper-parameters given to BOTH trainers (none of them changes the amount of work).
LEARNING_RATE = 1e-5
WEIGHT_DECAY = 0.01  # torch.optim.AdamW's default, which rlcore uses
KL_COEF = 0.05  # fixed coefficient on both sides (rlcore: target_kl=None turns its adaptive controller off)
CLIP_RANGE = CLIP_RANGE_VALUE = 0.2
GAMMA, LAM = 1.0, 0.95
TEMPERATURE = 1.0  # plain sampling, no top-k / top-p on both sides
SEED = 0


def _version(package: str) -> str:
    """The installed version, or "source" when run from a checkout that is on PYTHONPATH but not installed."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "source"


def now(device: str) -> float:
    """A wall-clock time stamp, after all queued GPU work is done."""
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter()


# --------------------------------------------------------------------------- models and prompts (both sides)
# EleutherAI/gpt-neo-125m's config.json: the shape of the GPU model (built here with random weights).
GPT_NEO_125M = dict(vocab_size=50257, hidden_size=768, num_layers=12, num_heads=12,
                    attention_types=[[["global", "local"], 6]], window_size=256, max_position_embeddings=2048)


def build_policy(model_name: str, device: str):
    """The policy (a GPT-Neo causal LM, float32) and its tokenizer, the same weights in every process.

    "tiny": the shipped 1M-parameter model. "gpt-neo-125m": the GPT-Neo-125M shape (``GPT_NEO_125M``:
    50257-token vocabulary, hidden 768, 12 layers, 12 heads, global and local (window 256) attention in
    turn, 2048 positions; 125M parameters) with random weights (seed 0), built offline. Its tokenizer is
    the shipped tiny one (1797 tokens, the EOS id 0): the prompts use only those ids, while the model
    scores and samples from all 50257, as GPT-Neo-125M does; the sampled ids past the tokenizer decode
    to nothing readable, which does not change the amount of work.
    """
    from rlcore.builders import tiny_gpt_neo
    from rlcore.models import load_base, load_tokenizer

    if model_name == "tiny":
        policy, tokenizer = load_base("tiny")
    else:
        tokenizer = load_tokenizer("tiny")
        assert len(tokenizer) <= GPT_NEO_125M["vocab_size"]
        policy = tiny_gpt_neo(**GPT_NEO_125M, seed=SEED, eos_token_id=tokenizer.eos_token_id)
    # Fixed response length on both sides: EOS can never be sampled, so every response has exactly
    # response_tokens tokens. Both trainers call policy.generate(), which reads this from generation_config.
    policy.generation_config.suppress_tokens = [tokenizer.eos_token_id]
    return policy.to(device), tokenizer


def fixed_length_prompts(tokenizer, n: int, prompt_tokens: int) -> list[str]:
    """``n`` prompt strings of at least ``prompt_tokens`` tokens each (world prompts glued together).

    Both sides keep the LAST ``prompt_tokens`` tokens of each (rlcore.rollout.tokenize_prompts), so every
    prompt is exactly ``prompt_tokens`` long: no padding, the same token ids on both sides.
    """
    from rlcore import world

    pool = world.prompts("train", n + 64, seed=SEED)
    texts = []
    for i in range(n):
        text, j = pool[i], i + 1
        while len(tokenizer(text)["input_ids"]) < prompt_tokens:
            text, j = text + pool[j % len(pool)], j + 1
        texts.append(text)
    return texts


def prompt_token_ids(tokenizer, texts: list[str], prompt_tokens: int) -> torch.Tensor:
    """(B, P) token ids exactly as rlcore's PPOTrainer.step() will tokenize the prompts."""
    from rlcore.rollout import tokenize_prompts

    ids, mask = tokenize_prompts(tokenizer, texts, prompt_tokens)
    assert ids.shape == (len(texts), prompt_tokens) and bool(mask.all()), "prompts must need no padding"
    assert not bool((ids == tokenizer.eos_token_id).any()), "a prompt contains the EOS/pad token"
    return ids


def n_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


# --------------------------------------------------------------------------- rlcore side
def time_rlcore(args) -> dict:
    """Time ``trainer.step(prompts)``: warm-up iterations first, then ``reps`` timed ones."""
    from rlcore.models import reference_model, reward_model_from, value_model_from
    from rlcore.config import Lengths, PPOConfig
    from rlcore.ppo import PPOTrainer

    policy, tokenizer = build_policy(args.model, args.device)
    ref = reference_model(policy)  # frozen copy of the policy
    value = value_model_from(policy).to(args.device)  # policy body + scalar head
    reward = reward_model_from(policy).to(args.device)  # policy body + scalar head, read at the last token
    config = PPOConfig(lr=LEARNING_RATE, batch_size=args.batch, num_minibatches=args.minibatches,
                       epochs=args.ppo_epochs, clip_range=CLIP_RANGE, clip_range_value=CLIP_RANGE_VALUE,
                       gamma=GAMMA, lam=LAM, init_kl_coef=KL_COEF, target_kl=None, kl_estimator="k1",
                       temperature=TEMPERATURE, top_k=0, missing_eos_penalty=None, whiten_advantages=True)
    limits = Lengths(max_prompt_tokens=args.prompt_tokens, max_new_tokens=args.response_tokens,
                      max_length=args.prompt_tokens + args.response_tokens + 1)
    # rlcore's reward model reads each rollout as text, as it was trained (prompt + response + EOS, re-tokenised);
    # TRL's reads the sampled ids. With the gpt-neo-125m shape, ids past the shipped tokenizer's 1,797 decode to
    # nothing, so rlcore's reward pass sees shorter sequences there: a small part of one iteration's work.
    trainer = PPOTrainer(policy, ref, value, tokenizer, config, limits, SEED, reward_model=reward)
    prompts = fixed_length_prompts(tokenizer, args.batch, args.prompt_tokens)
    prompt_token_ids(tokenizer, prompts, args.prompt_tokens)  # checks: exact length, no padding

    reset_peak_memory(args.device)
    times, lengths = [], []
    for _ in range(args.warmup + args.reps):
        start = now(args.device)
        stats = trainer.step(prompts)  # one PPO iteration
        times.append(now(args.device) - start)
        lengths.append(stats["response_length"])
    return dict(side="rlcore", version=_version("rlcore"), times=times[args.warmup:],
                warmup_times=times[:args.warmup], peak_cuda_gib=peak_memory_gib(args.device),
                params_policy=n_params(policy), attn=policy.config._attn_implementation,
                threads=torch.get_num_threads(), check=f"mean response length {statistics.mean(lengths):g} tokens")


# --------------------------------------------------------------------------- TRL side
def score_model_from(policy, pad_token_id: int):
    """TRL's value and reward models must look like AutoModelForSequenceClassification (``.transformer``
    body + ``.score`` head): GPT-Neo for sequence classification, num_labels=1, body copied from the policy."""
    from transformers import GPTNeoForSequenceClassification

    config = copy.deepcopy(policy.config)  # same shape and attention implementation as the policy
    config.num_labels, config.pad_token_id = 1, pad_token_id
    torch.manual_seed(SEED)
    model = GPTNeoForSequenceClassification(config)
    model.transformer.load_state_dict(policy.transformer.state_dict())
    return model.to(policy.device)


def iteration_timer(device: str):
    """A TrainerCallback with a time stamp at the start of train() and at the end of every PPO iteration.

    TRL's PPO loop calls ``on_step_end`` exactly once per iteration (rollout + all PPO epochs), so the
    differences of consecutive stamps are the iteration times. ``on_log`` keeps TRL's per-iteration metrics.
    """
    from transformers import TrainerCallback

    class IterationTimer(TrainerCallback):
        def __init__(self):
            self.stamps, self.logs = [], []

        def on_train_begin(self, args, state, control, **kwargs):
            self.stamps.append(now(device))

        def on_step_end(self, args, state, control, **kwargs):
            self.stamps.append(now(device))

        def on_log(self, args, state, control, logs=None, **kwargs):
            self.logs.append(dict(logs or {}))

        @property
        def times(self) -> list[float]:
            return [b - a for a, b in zip(self.stamps, self.stamps[1:])]

    return IterationTimer()


def trl_config(args, output_dir: str):
    """TRL's PPOConfig with the shared settings; everything that is not training is switched off."""
    from trl.experimental.ppo import PPOConfig

    return PPOConfig(
        output_dir=output_dir, report_to=[], save_strategy="no", eval_strategy="no", num_sample_generations=0,
        disable_tqdm=True, push_to_hub=False, seed=SEED, use_cpu=args.device == "cpu",
        # float32, no gradient checkpointing, plain torch AdamW: as rlcore (TRL's defaults differ: bf16=True,
        # gradient_checkpointing=True, and the fused AdamW on recent torch)
        bf16=False, fp16=False, gradient_checkpointing=False, optim="adamw_torch",
        learning_rate=LEARNING_RATE, weight_decay=WEIGHT_DECAY, lr_scheduler_type="constant",
        # batch: all B prompts in one rollout, split into `minibatches` minibatches, one optimizer step each
        # (local_batch_size = per_device_train_batch_size * gradient_accumulation_steps = B)
        per_device_train_batch_size=args.batch, gradient_accumulation_steps=1, num_mini_batches=args.minibatches,
        num_ppo_epochs=args.ppo_epochs, local_rollout_forward_batch_size=args.batch,
        total_episodes=(args.warmup + args.reps) * args.batch,  # = warmup + reps iterations
        response_length=args.response_tokens, temperature=TEMPERATURE, stop_token="eos", missing_eos_penalty=None,
        kl_coef=KL_COEF, kl_estimator="k1", cliprange=CLIP_RANGE, cliprange_value=CLIP_RANGE_VALUE,
        gamma=GAMMA, lam=LAM, whiten_rewards=False,
    )


def time_trl(args) -> dict:
    """Run TRL's train() for warmup + reps iterations and time each one with a callback."""
    from datasets import Dataset
    from transformers.trainer_callback import PrinterCallback, ProgressCallback
    from trl.experimental.ppo import PPOTrainer

    from rlcore.models import reference_model

    policy, tokenizer = build_policy(args.model, args.device)
    tokenizer.padding_side = "left"  # TRL expects left-padded queries (there is no padding here anyway)
    ref = reference_model(policy)
    value = score_model_from(policy, tokenizer.pad_token_id)
    reward = score_model_from(policy, tokenizer.pad_token_id)
    prompts = fixed_length_prompts(tokenizer, args.batch, args.prompt_tokens)
    ids = prompt_token_ids(tokenizer, prompts, args.prompt_tokens)  # the very ids rlcore generates from
    dataset = Dataset.from_dict({"input_ids": ids.tolist()})  # B rows = one batch: the same prompts each iteration

    timer = iteration_timer(args.device)
    with tempfile.TemporaryDirectory() as output_dir:  # TRL creates its output_dir; nothing is written there
        trainer = PPOTrainer(args=trl_config(args, output_dir), processing_class=tokenizer, model=policy,
                             ref_model=ref, reward_model=reward, train_dataset=dataset, value_model=value,
                             callbacks=[timer])
        for printer in (PrinterCallback, ProgressCallback):  # no printing of the metrics every iteration
            trainer.remove_callback(printer)
        reset_peak_memory(args.device)
        trainer.train()
    times = timer.times
    assert len(times) == args.warmup + args.reps, f"expected {args.warmup + args.reps} iterations, timed {len(times)}"
    eos = [log["val/num_eos_tokens"] for log in timer.logs if "val/num_eos_tokens" in log]
    return dict(side="trl", version=_version("trl"), times=times[args.warmup:],
                warmup_times=times[:args.warmup], peak_cuda_gib=peak_memory_gib(args.device),
                params_policy=n_params(policy), attn=policy.config._attn_implementation,
                threads=torch.get_num_threads(), check=f"EOS tokens in responses {sum(eos)} (0 = all full length)")


# --------------------------------------------------------------------------- CUDA memory
def reset_peak_memory(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()


def peak_memory_gib(device: str) -> float | None:
    """Peak CUDA memory allocated by tensors since the reset (weights + optimizer states + activations)."""
    return torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None


# --------------------------------------------------------------------------- driver: one process per side
SHARED_OPTIONS = ("model", "reps", "warmup", "batch", "prompt_tokens", "response_tokens", "ppo_epochs",
                  "minibatches", "device")


def run_side(side: str, args) -> dict | None:
    """Run one side in a fresh Python process; its result comes back as a JSON file."""
    with tempfile.TemporaryDirectory() as tmp:
        result_file = os.path.join(tmp, "result.json")
        argv = [sys.executable, os.path.abspath(__file__), "--side", side, "--result-file", result_file]
        for name in SHARED_OPTIONS:
            argv += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
        env = dict(os.environ)
        if args.device == "cpu":
            env["CUDA_VISIBLE_DEVICES"] = ""  # keep accelerate (TRL) from picking a GPU
        print(f"--- running the {side} side ...", flush=True)
        if subprocess.run(argv, env=env).returncode != 0:
            print(f"--- the {side} side failed (see the error above)", flush=True)
            return None
        with open(result_file) as f:
            return json.load(f)


def summarise(result: dict) -> dict:
    times = result["times"]
    return dict(result, median_s=statistics.median(times), min_s=min(times), max_s=max(times))


def print_report(args, results: list[dict]) -> dict:
    print()
    threads = "/".join(str(r["threads"]) for r in results)
    print(f"One PPO iteration, device {args.device} (torch threads {threads}), model {args.model} "
          f"({results[0]['params_policy'] / 1e6:.2f}M params, attention {results[0]['attn']})")
    print(f"{args.batch} prompts x {args.prompt_tokens} prompt tokens, {args.response_tokens} response tokens, "
          f"{args.ppo_epochs} PPO epochs x {args.minibatches} minibatches; "
          f"{args.warmup} warm-up + {args.reps} timed iterations per side")
    print(f"{'side':<14}{'median s':>10}{'min s':>10}{'max s':>10}{'peak CUDA GiB':>15}   check")
    for r in results:
        peak = f"{r['peak_cuda_gib']:.2f}" if r["peak_cuda_gib"] is not None else "-"
        print(f"{r['side'] + ' ' + r['version']:<14}{r['median_s']:>10.3f}{r['min_s']:>10.3f}{r['max_s']:>10.3f}"
              f"{peak:>15}   {r['check']}")
    report = {"config": {k: getattr(args, k) for k in SHARED_OPTIONS}, "torch": torch.__version__,
              "results": results}
    if len(results) == 2:
        report["ratio_trl_over_rlcore"] = results[1]["median_s"] / results[0]["median_s"]
        print(f"ratio TRL / rlcore (median time): {report['ratio_trl_over_rlcore']:.2f}x")
    return report


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--model", choices=("tiny", "gpt-neo-125m"), help="default: tiny on cpu, gpt-neo-125m on cuda")
    p.add_argument("--reps", type=int, default=5, help="timed iterations per side (the median is reported)")
    p.add_argument("--warmup", type=int, default=1, help="untimed iterations first (allocations, kernels, Adam state)")
    p.add_argument("--batch", type=int, help="prompts per iteration")
    p.add_argument("--prompt-tokens", type=int, help="tokens per prompt (exact)")
    p.add_argument("--response-tokens", type=int, help="tokens per response (exact: EOS is never sampled)")
    p.add_argument("--ppo-epochs", type=int)
    p.add_argument("--minibatches", type=int)
    p.add_argument("--json", metavar="OUT", help="also write the results to this JSON file")
    p.add_argument("--side", choices=("rlcore", "trl"), help=argparse.SUPPRESS)  # internal: run one side
    p.add_argument("--result-file", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    for name, value in DEFAULTS[args.device].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda but torch sees no GPU")
    if args.batch % args.minibatches:
        p.error(f"--batch ({args.batch}) must be divisible by --minibatches ({args.minibatches})")
    if args.reps < 1 or args.warmup < 0:
        p.error("--reps must be >= 1 and --warmup >= 0")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.side:  # a child process: time one side, hand the result back
        torch.manual_seed(SEED)
        result = time_rlcore(args) if args.side == "rlcore" else time_trl(args)
        with open(args.result_file, "w") as f:
            json.dump(result, f)
        return

    sides = ["rlcore"]
    if importlib.util.find_spec("trl") is None:
        print("TRL is missing: only the rlcore side is timed "
              "(install it, e.g. into a separate venv: pip install 'trl>=0.29,<0.30')")
    else:
        sides.append("trl")
    results = [summarise(r) for r in (run_side(side, args) for side in sides) if r is not None]
    if not results:
        sys.exit("no side could be timed")
    report = print_report(args, results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
