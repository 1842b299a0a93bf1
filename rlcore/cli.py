"""The `rlcore` command line."""

from __future__ import annotations

import argparse
import sys

from transformers.utils import logging as hf_logging

from rlcore.config import env_name, get_profile, text_overrides, top_level_settings
from rlcore.precision import DTYPES
from rlcore.data import describe_skipped, describe_truncation, read_preferences, truncation_counts
from rlcore.models import load_tokenizer
from rlcore.pipeline import run_pipeline, run_seeds
from rlcore.pretrain import pretrain_cli
from rlcore.progress import writes_to_log


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rlcore", description="RLHF / RLAIF course toolkit")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (add_arguments, _) in COMMANDS.items():
        add_arguments(sub, name)
    args = parser.parse_args(argv)
    if writes_to_log():  # a log file: no transformers "Loading weights" bar for every model loaded
        hf_logging.disable_progress_bar()
    try:
        COMMANDS[args.command][1](args)
        return 0
    except (ValueError, FileNotFoundError, RuntimeError) as err:
        if args.debug:
            raise
        print(f"rlcore: error: {type(err).__name__}: {err}", file=sys.stderr)
        return 2


def _pipeline_arguments(sub, name: str) -> None:
    pipe = sub.add_parser(name, help="SFT -> RM (human / AI labels) -> PPO, DPO -> judged report (RLHF vs RLAIF)")
    pipe.add_argument("--profile", default=None,
                      help="the profile (default: $RLCORE_PROFILE, else gpt-neo-125m on a GPU and tiny on a CPU)")
    pipe.add_argument("--out", default="runs/pipeline")
    pipe.add_argument("--seeds", default=None, metavar="SEEDS",
                      help="run the whole table once per seed (0,1,2 or a count such as 3) into OUT/seed_N and "
                           "write OUT/seeds.json and OUT/seeds.md: every figure as mean +- sd with its per-seed values")
    pipe.add_argument("--checkpoint-every", type=int, default=0, metavar="N",
                      help="write a checkpoint every N training steps (SFT, reward models, PPO)")
    pipe.add_argument("--resume", action="store_true", help="continue interrupted stages from their last checkpoint")
    pipe.add_argument("--runs", default=None, metavar="KEYS",
                      help="rows of the run table to train and report, e.g. rlhf,rlaif (default: all of rlhf, rlaif, "
                           "hybrid, dpo, grpo, rlvr)")
    # every top-level setting of the profile is a flag (--policy-model, --device, ...; --data for the dataset) and any
    # setting of a section is --set SECTION.FIELD=VALUE: the flags come from the config tree, never a copy of it
    for path, kind in top_level_settings().items():
        pipe.add_argument(TOP_LEVEL_FLAGS.get(path, "--" + path.replace("_", "-")), dest=path, default=None,
                          metavar=kind.split(" ")[0].upper(), choices=DTYPES if path == "dtype" else None,
                          help=f"the profile's {path}{ABOUT.get(path, '')} (default: ${env_name(path)}, else the "
                               "profile's)")
    pipe.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                      help="any other setting, e.g. --set ppo.steps=5 (repeatable; as $RLCORE_PPO__STEPS would)")
    pipe.add_argument("--fresh", action="store_true",
                      help="train every stage anew, re-using nothing already in OUT")


TOP_LEVEL_FLAGS = {"dataset": "--data"}  # a top-level setting whose flag is not its name
ABOUT = {"dataset": ": 'world', a local .jsonl/.json/.csv/.parquet file (raw HH transcripts or prompt/chosen/rejected) "
                    "or a hub source such as Anthropic/hh-rlhf/harmless-base",
         "policy_model": ": a shipped name, a hub id or a local path (e.g. a model made by `rlcore pretrain`)",
         "device": ": auto, cpu, cuda[:N] or mps", "dtype": ": auto, float32, bfloat16 or float16"}


def _pipeline(args) -> None:
    # a flag left out leaves the environment's setting, then the profile's
    given = [f"{path}={getattr(args, path)}" for path in top_level_settings() if getattr(args, path) is not None]
    profile = get_profile(args.profile, **text_overrides(given + args.set))
    if args.seeds is not None:
        run_seeds(args.out, parse_seeds(args.seeds), profile=profile, checkpoint_every=args.checkpoint_every,
                  resume=args.resume, runs=args.runs, fresh=args.fresh)
        with open(f"{args.out}/seeds.md") as f:
            print(f.read())
        return
    run_pipeline(args.out, profile=profile, checkpoint_every=args.checkpoint_every, resume=args.resume,
                 runs=args.runs, fresh=args.fresh)


def parse_seeds(text: str) -> list[int]:
    """"0,1,2" -> [0, 1, 2]; "3" -> [0, 1, 2] (a count); anything else is one clear error (fewer than two different
    seeds is run_seeds' error)."""
    try:
        seeds = [int(x) for x in text.split(",") if x.strip()] if "," in text else list(range(int(text)))
    except ValueError:
        raise ValueError(f"--seeds takes a list such as 0,1,2 or a count such as 3, got {text!r}") from None
    if min(seeds, default=0) < 0:
        raise ValueError(f"--seeds takes non-negative seeds, got {text!r}")
    return seeds


def _pretrain_arguments(sub, name: str) -> None:
    pre = sub.add_parser(name, help="pretrain a GPT-Neo of a given architecture on the world corpus, for a time budget")
    pre.add_argument("--arch", default="gpt-neo-125m", help="tiny, tiny-labeler or gpt-neo-125m (default)")
    pre.add_argument("--minutes", type=float, required=True, help="wall-clock budget for the training steps")
    pre.add_argument("--out", default=None, help="where to save the model (default: runs/pretrain-ARCH)")
    pre.add_argument("--documents", type=int, default=60000, help="world corpus documents to train on")
    pre.add_argument("--max-steps", type=int, default=100000, help="upper bound on optimizer steps")
    pre.add_argument("--batch-size", type=int, default=None,
                     help="sequences per step (default: 16, 8 for gpt-neo-125m)")
    pre.add_argument("--lr", type=float, default=None, help="peak learning rate (default: per architecture)")
    pre.add_argument("--seed", type=int, default=0)


def _pretrain(args) -> None:
    out = pretrain_cli(args.arch, args.minutes, args.out, documents=args.documents, max_steps=args.max_steps,
                       batch_size=args.batch_size, lr=args.lr, seed=args.seed)
    print(f"saved to {out}/ (load it with rlcore.models.load_base({out!r}), or run "
          f"`rlcore pipeline --policy-model {out}`)")


def _check_data_arguments(sub, name: str) -> None:
    check = sub.add_parser(name, help="validate a preference file (.jsonl/.json/.csv/.parquet) and count its pairs")
    check.add_argument("path")
    check.add_argument("--format", choices=["auto", "pairs", "hh", "tldr"], default="auto",
                       help="pairs: chosen/rejected are responses; hh: whole conversations (HH-RLHF); "
                            "tldr: TL;DR summary comparisons; auto (default): chosen per row from its columns")
    check.add_argument("--max-chars", type=int, default=None, metavar="N",
                       help="skip (and count) rows whose prompt + response is longer than N characters")
    check.add_argument("--profile", default=None, metavar="NAME",
                       help="also count what the profile's length policy cuts (max_prompt_tokens, max_length), "
                            "in its policy's tokenizer")


def _check_data(args) -> None:
    pairs, skipped = read_preferences(args.path, format=args.format, max_chars=args.max_chars)
    soft = sum(p.p_chosen != 1.0 for p in pairs)
    skips = f"{sum(skipped.values())} skipped" + (f": {describe_skipped(skipped)}" if skipped else "")
    line = f"{args.path}: {len(pairs)} preference pairs OK ({soft} with soft labels; {skips})"
    if args.profile:
        profile = get_profile(args.profile)
        lengths = profile.lengths
        counts = truncation_counts(load_tokenizer(profile.policy_model), [p.prompt for p in pairs] * 2,
                                   [p.chosen for p in pairs] + [p.rejected for p in pairs],
                                   lengths.max_length, lengths.max_prompt_tokens)
        line += (f"; profile {profile.name}, chosen and rejected: "
                 f"{describe_truncation(counts, lengths.max_length, lengths.max_prompt_tokens)}")
    print(line)


# each command: (its arguments, what it does)
COMMANDS = {"pipeline": (_pipeline_arguments, _pipeline), "pretrain": (_pretrain_arguments, _pretrain),
            "check-data": (_check_data_arguments, _check_data)}


if __name__ == "__main__":
    sys.exit(main())
