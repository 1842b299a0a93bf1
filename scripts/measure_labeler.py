#!/usr/bin/env python
"""Measure the AI labeler and constitutional AI on the world (the figures of the labeler issue).

    python scripts/measure_labeler.py [--assets DIR] [--n 300] [--rm-pairs 1000] [--out report.json]

1. Labeler alignment with gold on held-out pairs: base prompt, + swap, + CoT, + self-consistency;
   tiny vs tiny-labeler (labeler size).
2. SL-CAI: harmless rate of the base policy's responses to held-out harmful prompts before and after
   critique -> revision.
3. Reward models trained on simulated human labels vs AI labels (soft, swapped): gold accuracy on
   held-out pairs, next to the Bayes limit of human labels.
4. Preference-model pretraining (PMP) on Likert "community votes", then fine-tuning on a few
   AI-labelled harmlessness pairs, vs no PMP.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch

from rlcore import world
from rlcore.cai import critique_and_revise
from rlcore.evaluate import harmless_rate, labeler_alignment, sample_responses
from rlcore.labeler import AILabeler
from rlcore.models import load_base, reward_model_from
from rlcore.reward import pair_rewards, preference_accuracy, train_reward_model
from rlcore.world.humans import comparisons, expected_human_agreement


def rm_gold_accuracy(base, tokenizer, train_pairs, test_pairs, soft: bool, seed: int, epochs: int = 2) -> float:
    torch.manual_seed(seed)
    rm = reward_model_from(base)
    train_reward_model(rm, tokenizer, train_pairs, epochs=epochs, batch_size=16, lr=3e-4, soft_labels=soft,
                       seed=seed, progress=False)
    return preference_accuracy(*pair_rewards(rm, tokenizer, test_pairs)), rm


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assets", default=None)
    parser.add_argument("--n", type=int, default=300, help="held-out pairs for labeler alignment")
    parser.add_argument("--rm-pairs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip", nargs="*", default=[], choices=["alignment", "cai", "rm", "pmp"])
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    name = lambda m: os.path.join(args.assets, m) if args.assets else m  # noqa: E731
    report, t0 = {}, time.time()
    policy, tokenizer = load_base(name("tiny"))
    labeler_model, _ = load_base(name("tiny-labeler"))

    if "alignment" not in args.skip:
        triples = comparisons("test", args.n, seed=args.seed + 2)
        align = {}
        for label, model in (("tiny", policy), ("tiny-labeler", labeler_model)):
            base = labeler_alignment(AILabeler(model, tokenizer, seed=args.seed), triples)
            cot = labeler_alignment(AILabeler(model, tokenizer, chain_of_thought=True, seed=args.seed), triples)
            sc = labeler_alignment(AILabeler(model, tokenizer, chain_of_thought=True, self_consistency=4,
                                             temperature=0.7, seed=args.seed), triples)
            align[label] = {"base": base["accuracy_no_swap"], "swap": base["accuracy_swap"],
                            "same_position_rate_raw": base["same_position_rate"],
                            "first_slot_rate": base["first_slot_rate"],
                            "cot_no_swap": cot["accuracy_no_swap"], "cot_swap": cot["accuracy_swap"],
                            "self_consistency_swap": sc["accuracy_swap"]}
        report["alignment"] = align
        report["alignment_n"] = len(triples)
        print(json.dumps(align, indent=1), flush=True)

    if "cai" not in args.skip:
        harmful = world.prompts("test", 100, seed=args.seed, families=("harmful",))
        initial = sample_responses(policy, tokenizer, harmful, seed=args.seed)
        records = critique_and_revise(policy, tokenizer, harmful, initial, principles=("harm",), rounds=2,
                                      seed=args.seed, progress=False)
        report["sl_cai"] = {"harmless_initial": harmless_rate(harmful, initial),
                            "harmless_after_round_1": harmless_rate(harmful, [r["revisions"][0] for r in records]),
                            "harmless_after_round_2": harmless_rate(harmful, [r["final"] for r in records]),
                            "example": records[0]}
        print(json.dumps(report["sl_cai"], indent=1), flush=True)

    if "rm" not in args.skip:
        triples = comparisons("train", args.rm_pairs, seed=args.seed + 3)
        human = world.preference_pairs("train", args.rm_pairs, seed=args.seed + 3, labels="human")
        ai = AILabeler(labeler_model, tokenizer, seed=args.seed).label(triples, progress=False)
        ai_pairs = [dict(r) for r in ai]
        test_pairs = world.preference_pairs("test", 500, seed=args.seed + 4, labels="gold")
        acc_h, _ = rm_gold_accuracy(policy, tokenizer, human, test_pairs, soft=False, seed=args.seed)
        acc_ai, _ = rm_gold_accuracy(policy, tokenizer, ai_pairs, test_pairs, soft=True, seed=args.seed)
        ai_label_agreement = sum(world.gold_score(r["prompt"], r["chosen"]) > world.gold_score(r["prompt"], r["rejected"])
                                 for r in ai_pairs) / len(ai_pairs)
        report["reward_models"] = {"gold_accuracy_human_labels": acc_h, "gold_accuracy_ai_labels": acc_ai,
                                   "human_label_agreement_with_gold": expected_human_agreement("train", 2000),
                                   "ai_label_agreement_with_gold": ai_label_agreement,
                                   "train_pairs": args.rm_pairs, "test_pairs": len(test_pairs)}
        print(json.dumps(report["reward_models"], indent=1), flush=True)

    if "pmp" not in args.skip:
        harmless_test = world.preference_pairs("test", 300, seed=args.seed + 5, labels="gold", families=("harmful",))
        votes = world.likert_pairs("train", 2000, seed=args.seed + 6)
        pmp = {}
        for n_labels in (25, 100):
            triples = comparisons("train", n_labels, seed=args.seed + 7, families=("harmful",))
            ai = [dict(r) for r in AILabeler(labeler_model, tokenizer, seed=args.seed).label(triples, progress=False)]
            plain, _ = rm_gold_accuracy(policy, tokenizer, ai, harmless_test, soft=True, seed=args.seed, epochs=3)
            torch.manual_seed(args.seed)
            rm = reward_model_from(policy)
            train_reward_model(rm, tokenizer, votes, epochs=1, batch_size=16, lr=3e-4, seed=args.seed, progress=False)
            train_reward_model(rm, tokenizer, ai, epochs=3, batch_size=16, lr=3e-4, soft_labels=True, seed=args.seed,
                               progress=False)
            with_pmp = preference_accuracy(*pair_rewards(rm, tokenizer, harmless_test))
            pmp[n_labels] = {"no_pmp": plain, "with_pmp": with_pmp}
        report["pmp"] = pmp
        print(json.dumps(pmp, indent=1), flush=True)

    report["seconds"] = round(time.time() - t0, 1)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(report, f, indent=1, default=str)
    print(f"done in {report['seconds']}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
