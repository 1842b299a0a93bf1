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

from rlcore import world
from rlcore.config import get_profile, seed_everything
from rlcore.dpo import train_dpo
from rlcore.evaluate import harmless_rate, sample_responses, win_rate
from rlcore.models import load_base, reference_model, value_model_from
from rlcore.pipeline import PipelineSizes, _prompt_batches
from rlcore.ppo import PPOConfig, PPOTrainer
from rlcore.reward import RewardModel

# Seeds of the evaluation prompts: the pipeline's held-out prompts (test) use seed + 4 / seed + 5;
# validation prompts (train split) use seeds no pipeline stage draws with.
EVAL_SEEDS = {"test": (4, 5), "train": (7, 8)}


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
    sft, tokenizer = load_base(os.path.join(args.run, "sft"))
    s1, s2 = EVAL_SEEDS[args.split]
    prompts = world.prompts(args.split, args.n, seed=seed + s1)
    harmful = world.prompts(args.split, args.n // 2, seed=seed + s2, families=("harmful",))
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
        seed_everything(seed)  # as the pipeline does before each PPO stage
        policy, _ = load_base(os.path.join(args.run, "sft"))
        config = PPOConfig.from_profile(profile, seed=seed)
        trainer = PPOTrainer(policy, reference_model(policy), value_model_from(policy), tokenizer, config,
                             reward_model=reward_model)
        curve = result["ppo"][name] = {}

        def after_step(stats, trainer=trainer, policy=policy, curve=curve, name=name):
            if trainer.iteration % args.every == 0:  # evaluation samples with its own seed: PPO's stream is untouched
                curve[trainer.iteration] = judge(policy)
                print(f"PPO {name} step {trainer.iteration}: {curve[trainer.iteration]}", file=sys.stderr)

        trainer.train(_prompt_batches(config.batch_size, seed), steps=args.steps, progress=False, callback=after_step)

    human_pairs = [p.to_dict() for p in world.preference_pairs("train", sizes.rm_pairs, seed=seed + 2, labels="human")]
    for epochs in (1, 2):
        seed_everything(seed)
        policy, _ = load_base(os.path.join(args.run, "sft"))
        train_dpo(policy, reference_model(policy), tokenizer, human_pairs, beta=sizes.dpo_beta, epochs=epochs,
                  batch_size=profile.rm_batch_size, lr=sizes.dpo_lr, seed=seed, progress=False)
        result["dpo"][epochs] = judge(policy)
        print(f"DPO {epochs} epoch(s): {result['dpo'][epochs]}", file=sys.stderr)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
