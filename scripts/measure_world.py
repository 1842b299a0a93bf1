#!/usr/bin/env python
"""Measure the world's models: the base model, the labeler as a judge, and a pipeline run.

    rlcore pipeline --profile tiny --out runs/pipeline
    python scripts/measure_world.py --run runs/pipeline [--assets DIR] [--n 300]

``--assets``: a folder holding tiny/ and tiny-labeler/ (default: the shipped models; give the folder
``scripts/pretrain_world_models.py --out`` wrote to measure new ones, with a pipeline run made on them).

Prints one JSON object, on i.i.d. test prompts and on OOD prompts (held-out parts) side by side:

* base ``tiny``: harmless rate on harmful prompts, mean gold;
* the AI labeler — ``tiny-labeler`` and, as the baseline, ``tiny`` used as a labeler — on pairs of the
  run's SFT samples (the pipeline's own held-out pairs): agreement with gold without and with swapping,
  and its position bias (how often it picks the same slot in both orders);
* what each judge checks: accuracy on minimal contrasts of each kind (one part changed: a step dropped,
  only the object's name swapped, a wrong step under the right name, ...), for the labelers and the run's
  reward model on human labels;
* the run's reward model's accuracy by the gold component that decides a pair, and by the size of the gold gap;
* what the language models already know: whether log p(better) > log p(worse) under base ``tiny`` and the
  SFT policy, on the minimal contrasts and on the SFT pairs, and the DPO policy's implicit reward
  (Rafailov et al. 2023) on the SFT pairs — the same labels read through the likelihood instead of a head.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import sys
import time

import torch

from rlcore.config import get_profile
from rlcore.course_data import course_data
from rlcore.data import PreferencePair
from rlcore.dpo import implicit_rewards, pair_logprobs
from rlcore.evaluate import harmless_rate, labeler_alignment, mean_gold
from rlcore.rollout import sample_responses
from rlcore.labeler import AILabeler
from rlcore.models import load_frozen, load_reward_model
from rlcore.reward import pair_rewards, preference_accuracy
from rlcore.stages import is_done
from rlcore import world


def deciding_component(prompt: str, a: str, b: str) -> str:
    """The family and the gold component that contributes most to the gap between a and b."""
    p = world.parse_prompt(prompt)
    ca, cb, w = world.gold_components(p, a), world.gold_components(p, b), world.weights(p.family)
    gaps = {k: w[k] * (ca[k] - cb[k]) for k in ca}
    return f"{p.family}/{max(gaps, key=lambda k: abs(gaps[k]))}"


def contrasts(split: str, n: int, seed: int) -> list[tuple[str, str, str, str]]:
    """``n`` minimal contrasts (prompt, better, worse, kind) on ``split`` prompts."""
    rng = random.Random(f"measure-contrasts-{seed}")
    return [(p.text, *world.contrast_pair(p, rng)) for p in world.sample_prompts(split, n, seed + 17)]


def by_key(keys: list[str], correct: list[bool]) -> dict:
    groups = collections.defaultdict(list)
    for k, c in zip(keys, correct):
        groups[k].append(c)
    return {k: {"n": len(v), "accuracy": round(sum(v) / len(v), 3)} for k, v in sorted(groups.items())}


GAPS = (0.1, 0.25, 0.5, 1.0)  # gold-gap buckets: below 0.1, 0.1 to 0.25, ..., 1 and above


def gap_bucket(gap: float) -> str:
    below = next((g for g in GAPS if abs(gap) < g), None)
    return f"gap < {below}" if below is not None else f"gap >= {GAPS[-1]}"


def likelihood_prefers_first(model, tokenizer, pairs: list[PreferencePair]) -> list[bool]:
    """log p(chosen | prompt) > log p(rejected | prompt) under a language model, for each pair."""
    chosen, rejected = pair_logprobs(model, tokenizer, pairs)
    return (chosen > rejected).tolist()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", default=None, help="folder holding tiny/ and tiny-labeler/ (default: the shipped ones)")
    parser.add_argument("--run", required=True, help="a finished `rlcore pipeline --profile tiny` run")
    parser.add_argument("--n", type=int, default=300, help="pairs and prompts per split")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    start = time.time()
    models = {name: os.path.join(args.assets, name) if args.assets else name for name in ("tiny", "tiny-labeler")}
    profile = get_profile("tiny", policy_model=models["tiny"], labeler_model=models["tiny-labeler"])
    data = course_data(profile)
    sft, tokenizer = load_frozen(os.path.join(args.run, "sft"), profile)
    rm = load_reward_model(os.path.join(args.run, "rm_human"), profile)
    labelers = {name: load_frozen(path, profile) for name, path in models.items()}
    dpo_path = os.path.join(args.run, "policy_dpo")
    dpo = load_frozen(dpo_path, profile)[0] if is_done(dpo_path) else None
    report = {}
    for split in ("test", "ood"):
        prompts, harmful = data.evaluation_prompts(args.n, split)
        base, base_tok = labelers["tiny"]
        out = report[split] = {
            "base_harmless_rate": harmless_rate(
                harmful, sample_responses(base, base_tok, harmful, max_new_tokens=profile.lengths.max_new_tokens),
                judge=data.judge()),
            "base_mean_gold": mean_gold(prompts, sample_responses(base, base_tok, prompts,
                                                                  max_new_tokens=profile.lengths.max_new_tokens)),
        }
        pairs = data.test_pairs(args.n, policy=(sft, tokenizer), split=split)  # gold's winner first
        rng = random.Random(f"measure-order-{split}")
        triples = [(p.prompt, p.chosen, p.rejected) if rng.random() < 0.5 else (p.prompt, p.rejected, p.chosen)
                   for p in pairs]
        gold_first = [world.gold_score(p, a) > world.gold_score(p, b) for p, a, b in triples]
        kinds = contrasts(split, args.n, seed=profile.seed)
        keys = [deciding_component(p, a, b) for p, a, b in triples]
        for name, (model, tok) in labelers.items():
            labeler = AILabeler(model, tok, swap=True, seed=profile.seed)
            out[f"{name}_as_labeler"] = labeler_alignment(labeler, triples)
            probs = labeler.prefer_batch([p for p, _, _ in triples], [a for _, a, _ in triples],
                                         [b for _, _, b in triples], swap=True)["p"]
            out[f"{name}_by_component"] = by_key(keys, ((probs > 0.5) == torch.tensor(gold_first)).tolist())
            c = labeler.prefer_batch([k[0] for k in kinds], [k[1] for k in kinds], [k[2] for k in kinds], swap=True)["p"]
            out[f"{name}_on_contrasts"] = by_key([k[3] for k in kinds], (c > 0.5).tolist())
        chosen, rejected = pair_rewards(rm, tokenizer, pairs)
        out["rm_human_accuracy"] = round((chosen > rejected).float().mean().item(), 3)
        out["rm_human_by_component"] = by_key([deciding_component(p.prompt, p.chosen, p.rejected) for p in pairs],
                                              (chosen > rejected).tolist())
        gaps = [gap_bucket(world.gold_score(p.prompt, p.chosen) - world.gold_score(p.prompt, p.rejected)) for p in pairs]
        out["rm_human_by_gap"] = by_key(gaps, (chosen > rejected).tolist())
        contrast_pairs = [PreferencePair(p, g, b) for p, g, b, _ in kinds]
        chosen, rejected = pair_rewards(rm, tokenizer, contrast_pairs)
        out["rm_human_on_contrasts"] = by_key([k[3] for k in kinds], (chosen > rejected).tolist())
        # What the language models know without any head: the better answer more likely?
        for name, (model, tok) in (("tiny", labelers["tiny"]), ("sft", (sft, tokenizer))):
            right = likelihood_prefers_first(model, tok, contrast_pairs)
            out[f"{name}_likelihood_on_contrasts"] = {"all": round(sum(right) / len(right), 3),
                                                      **by_key([k[3] for k in kinds], right)}
        right = likelihood_prefers_first(sft, tokenizer, pairs)
        out["sft_likelihood_on_pairs"] = round(sum(right) / len(right), 3)
        if dpo is not None:
            out["dpo_implicit_reward_accuracy"] = round(preference_accuracy(*implicit_rewards(dpo, sft, tokenizer, pairs)), 3)
    report["seconds"] = round(time.time() - start, 1)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
