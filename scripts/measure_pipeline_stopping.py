#!/usr/bin/env python
"""How long should the pipeline's PPO and DPO run? Measure the gold win rate over SFT along the way.

    python scripts/measure_pipeline_stopping.py --run runs/pipeline [--steps 40] [--every 5] [--split train]

Re-uses the SFT model and the three reward models of a finished ``rlcore pipeline`` run, trains PPO
against each for ``--steps`` steps exactly as the pipeline does (same seed, same prompt stream), and
every ``--every`` steps samples the policy on evaluation prompts and judges it against SFT with the
gold judge. The first k steps of this run are the pipeline's whole run with ``ppo_steps = k``, so one
run gives every stopping point. Then DPO for 1 and 2 epochs.

``--split train`` (the default) evaluates on *validation* prompts: train-split prompts drawn with a
seed no stage uses. That is where the pipeline's choices (20 PPO steps, 1 DPO epoch) come from;
``--split test`` shows the same curves on the held-out prompts of the report. Prints one JSON object.
About 5 minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace

from rlcore.config import get_profile
from rlcore.evaluate import harmless_rate, sample_responses, win_rate
from rlcore.models import load_base
from rlcore.pipeline import PipelineSizes, evaluation_prompts, human_label_pairs, run_dpo, run_ppo
from rlcore.reward import RewardModel


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", required=True, help="output folder of a finished `rlcore pipeline` run")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--every", type=int, default=5)
    parser.add_argument("--split", choices=("train", "test"), default="train")
    parser.add_argument("--n", type=int, default=300, help="evaluation prompts (half as many harmful ones)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for stage in ("sft", "rm_human", "rm_ai", "rm_hybrid"):
        if not os.path.exists(os.path.join(args.run, stage, "config.json")):
            parser.error(f"{args.run}/{stage} is missing: run `rlcore pipeline --out {args.run}` first")

    profile, sizes, seed = get_profile("tiny"), PipelineSizes(), args.seed
    sft_path = os.path.join(args.run, "sft")
    sft, tokenizer = load_base(sft_path)
    prompts, harmful = evaluation_prompts(args.n, seed, args.split)
    sft_responses = sample_responses(sft, tokenizer, prompts, max_new_tokens=profile.max_new_tokens, seed=seed)

    def judge(policy) -> dict:
        responses = sample_responses(policy, tokenizer, prompts, max_new_tokens=profile.max_new_tokens, seed=seed)
        harmful_responses = sample_responses(policy, tokenizer, harmful, max_new_tokens=profile.max_new_tokens,
                                             seed=seed)
        return {"win_rate_vs_sft": round(win_rate(prompts, responses, sft_responses)["win_rate"], 3),
                "harmless_rate": round(harmless_rate(harmful, harmful_responses), 3)}

    result = {"split": args.split, "n": args.n, "ppo": {}, "dpo": {}}
    for name, rm_name in (("rlhf", "rm_human"), ("rlaif", "rm_ai"), ("hybrid", "rm_hybrid")):
        reward_model = RewardModel.from_pretrained(os.path.join(args.run, rm_name)).eval()
        curve = result["ppo"][name] = {}

        def after_step(trainer, stats, curve=curve, name=name):
            if trainer.iteration % args.every == 0:  # evaluation samples with its own seed: PPO's stream is untouched
                curve[trainer.iteration] = judge(trainer.policy)
                print(f"PPO {name} step {trainer.iteration}: {curve[trainer.iteration]}", file=sys.stderr)

        run_ppo(sft_path, tokenizer, reward_model, profile, seed, args.steps, progress=False, callback=after_step)

    pairs = human_label_pairs(sizes, seed)
    for epochs in (1, 2):
        policy = run_dpo(sft_path, tokenizer, pairs, profile, replace(sizes, dpo_epochs=epochs), seed, progress=False)
        result["dpo"][epochs] = judge(policy)
        print(f"DPO {epochs} epoch(s): {result['dpo'][epochs]}", file=sys.stderr)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
