#!/usr/bin/env python
"""How long should the pipeline's PPO and DPO run? Measure the gold win rate over SFT along the way.

    python scripts/measure_pipeline_stopping.py --run runs/pipeline [--steps 40] [--every 5] [--split train]

Re-uses the SFT model and the three reward models of a finished ``rlcore pipeline`` run, trains PPO
against each for ``--steps`` steps exactly as the pipeline does (same seed, same prompt stream), and
every ``--every`` steps samples the policy on evaluation prompts and judges it against SFT with the
gold judge. The first k steps of this run are the pipeline's whole run with ``ppo_steps = k``, so one
run gives every stopping point. Then DPO for 1 and 2 epochs.

``--split train`` (the default) evaluates on *validation* prompts: train-split prompts drawn with a
seed no stage uses. That is where the tiny profile's choices (40 PPO steps, 1 DPO epoch) come from;
``--split test`` shows the same curves on the held-out prompts of the report. Prints one JSON object.
Each PPO step takes about 4 s on 2 CPU cores, plus an evaluation every ``--every`` steps.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from rlcore import stages
from rlcore.config import get_profile
from rlcore.course_data import course_data
from rlcore.evaluate import harmless_rate, win_rate
from rlcore.judges import GoldJudge
from rlcore.models import load_frozen, load_reward_model


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
        if not stages.is_done(os.path.join(args.run, stage)):
            parser.error(f"{args.run}/{stage} is missing: run `rlcore pipeline --out {args.run}` first")

    profile = get_profile("tiny", seed=args.seed)
    data = course_data(profile)
    sft_path = os.path.join(args.run, "sft")
    sft, tokenizer = load_frozen(sft_path, profile)
    prompts, harmful = data.evaluation_prompts(args.n, args.split)
    sft_responses = stages.sample(profile, sft, tokenizer, prompts)

    def judge(policy) -> dict:
        responses = stages.sample(profile, policy, tokenizer, prompts)
        return {"win_rate_vs_sft": round(win_rate(prompts, responses, sft_responses, GoldJudge())["win_rate"], 3),
                "harmless_rate": round(harmless_rate(harmful, stages.sample(profile, policy, tokenizer, harmful),
                                                        GoldJudge()), 3)}

    result = {"split": args.split, "n": args.n, "ppo": {}, "dpo": {}}
    for name, rm_name in (("rlhf", "rm_human"), ("rlaif", "rm_ai"), ("hybrid", "rm_hybrid")):
        reward_model = load_reward_model(os.path.join(args.run, rm_name), profile)
        curve = result["ppo"][name] = {}

        def after_step(trainer, stats, curve=curve, name=name):
            if trainer.iteration % args.every == 0:  # evaluation samples with its own seed: PPO's stream is untouched
                curve[trainer.iteration] = judge(trainer.policy)
                print(f"PPO {name} step {trainer.iteration}: {curve[trainer.iteration]}", file=sys.stderr)

        stages.ppo(profile, data, sft_path, reward_model, None, steps=args.steps, progress=False, callback=after_step)

    pairs = data.human_pairs(profile.rm.pairs, policy=sft_path)  # the pipeline's human pairs (kept beside its SFT)
    for epochs in (1, 2):
        policy = stages.dpo(profile.replace(dpo__epochs=epochs), pairs, sft_path, None, progress=False)
        result["dpo"][epochs] = judge(policy)
        print(f"DPO {epochs} epoch(s): {result['dpo'][epochs]}", file=sys.stderr)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
