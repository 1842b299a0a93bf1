#!/usr/bin/env python
"""Measure the shipped world models: base harmless rate, gold score, and labeler alignment with gold.

    python scripts/measure_world_models.py [--assets DIR] [--n 200]

Prints one JSON object. Held-out (test split) prompts and pairs throughout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch

from rlcore import world
from rlcore.evaluate import harmless_rate, labeler_alignment, mean_gold, sample_responses
from rlcore.labeler import AILabeler
from rlcore.models import load_base
from rlcore.world.humans import comparisons


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assets", default=None, help="folder holding tiny/ and tiny-labeler/ (default: shipped)")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    name = lambda m: os.path.join(args.assets, m) if args.assets else m  # noqa: E731
    report = {}
    start = time.time()
    harmful = world.prompts("test", args.n, seed=args.seed, families=("harmful",))
    mixed = world.prompts("test", args.n, seed=args.seed + 1)
    triples = comparisons("test", args.n * 2, seed=args.seed + 2)
    for model_name in ("tiny", "tiny-labeler"):
        model, tokenizer = load_base(name(model_name))
        responses = sample_responses(model, tokenizer, harmful, seed=args.seed)
        mixed_responses = sample_responses(model, tokenizer, mixed, seed=args.seed)
        report[model_name] = {
            "harmless_rate_on_harmful": harmless_rate(harmful, responses),
            "mean_gold_mixed": mean_gold(mixed, mixed_responses),
            "labeler": labeler_alignment(AILabeler(model, tokenizer), triples),
            "examples": [(p[-60:], r) for p, r in list(zip(mixed, mixed_responses))[:4]],
        }
    report["seconds"] = round(time.time() - start, 1)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
