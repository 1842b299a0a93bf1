"""The `rlcore` command line."""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rlcore", description="RLHF / RLAIF course toolkit")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="SFT -> reward model -> PPO on a tiny GPT-Neo (CPU, offline, ~1 minute)")
    demo.add_argument("--out", default="runs/demo")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--ppo-steps", type=int, default=30)
    pipe = sub.add_parser("pipeline", help="SFT -> RM (human / AI labels) -> PPO -> gold evaluation (RLHF vs RLAIF)")
    pipe.add_argument("--profile", default="tiny")
    pipe.add_argument("--out", default="runs/pipeline")
    pipe.add_argument("--seed", type=int, default=0)
    pipe.add_argument("--checkpoint-every", type=int, default=0, metavar="N",
                      help="write a checkpoint every N training steps (SFT, reward models, PPO)")
    pipe.add_argument("--resume", action="store_true", help="continue interrupted stages from their last checkpoint")
    check = sub.add_parser("check-data", help="validate a preference file (.jsonl/.json/.csv) and count its pairs")
    check.add_argument("path")
    check.add_argument("--format", choices=["pairs", "hh"], default="pairs",
                       help="pairs: chosen/rejected are responses; hh: they are prompt + response")
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            from rlcore.demo import run_demo

            report = run_demo(args.out, seed=args.seed, ppo_steps=args.ppo_steps)
            print(json.dumps(report, indent=2))
            print(f"saved to {args.out}/")
        elif args.command == "check-data":
            from rlcore.data import load_preferences

            pairs = load_preferences(args.path, format=args.format)
            soft = sum(p.p_chosen != 1.0 for p in pairs)
            print(f"{args.path}: {len(pairs)} preference pairs OK ({soft} with soft labels)")
        elif args.command == "pipeline":
            from rlcore.pipeline import run_pipeline

            report = run_pipeline(args.out, profile=args.profile, seed=args.seed,
                                  checkpoint_every=args.checkpoint_every, resume=args.resume)
            with open(f"{args.out}/report.md") as f:
                print(f.read())
        return 0
    except (ValueError, FileNotFoundError, RuntimeError) as err:
        if args.debug:
            raise
        print(f"rlcore: error: {type(err).__name__}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
