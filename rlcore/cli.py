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
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            from rlcore.demo import run_demo

            report = run_demo(args.out, seed=args.seed, ppo_steps=args.ppo_steps)
            print(json.dumps(report, indent=2))
            print(f"saved to {args.out}/")
        elif args.command == "pipeline":
            from rlcore.pipeline import run_pipeline

            report = run_pipeline(args.out, profile=args.profile, seed=args.seed)
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
