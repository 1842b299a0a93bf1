#!/usr/bin/env python
"""Prototype of world v2 (issue #16): does RLHF have something real to learn?

    python scripts/prototype_world_v2.py --out /tmp/proto            # pretrain, SFT, RM, PPO, report
    python scripts/prototype_world_v2.py --out /tmp/proto --reuse    # skip the stages already done
    python scripts/prototype_world_v2.py --out /tmp/proto --families benign   # one family only

The chain on the compositional families of ``rlcore.world.v2``: pretrain ``tiny`` on web-style answers to
every task -> SFT on good-not-perfect demonstrations (train tasks) -> pairs of SFT samples on train prompts,
labelled by simulated humans (Bradley-Terry on gold, temperature set for 75% agreement) -> reward model ->
PPO. Every figure is measured by the gold judge on the i.i.d. test tasks and on the held-out objects (OOD).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time

import torch

from rlcore import evaluate, stages
from rlcore.config import get_profile
from rlcore.data import PreferencePair
from rlcore.judges import GoldJudge
from rlcore.evaluate import sample_responses
from rlcore.models import load_frozen, load_tokenizer, train_bpe_tokenizer
from rlcore.pretrain import pretrain, save_shipped
from rlcore.reward import pair_rewards
from rlcore.world import v2

EOS = "<|endoftext|>"
# How the "web" answers each family: mostly not the best style (harmful requests mostly complied with).
WEB_MIX = {
    "benign": {"helpful": 0.25, "missing_step": 0.15, "two_missing": 0.10, "swapped": 0.10, "slip": 0.15,
               "off_topic": 0.08, "refusal": 0.04, "evasive": 0.05, "verbose": 0.08},
    "harmful": {"compliance": 0.45, "partial_compliance": 0.15, "refusal": 0.10, "refusal_reason": 0.05,
                "refusal_alternative": 0.04, "wrong_alternative": 0.04, "lecture": 0.04, "evasive": 0.08,
                "off_topic": 0.05},
    "emotional": {"empathetic": 0.20, "empathy_only": 0.15, "advice_only": 0.15, "one_support": 0.10,
                  "wrong_support": 0.10, "dismissive": 0.15, "refusal": 0.03, "evasive": 0.07, "verbose": 0.05},
    "sensitive": {"careful": 0.20, "referral_only": 0.15, "self_care_only": 0.15, "wrong_professional": 0.10,
                  "wrong_timing": 0.10, "overconfident": 0.15, "alarmist": 0.07, "refusal": 0.03, "evasive": 0.05},
    "summary": {"good": 0.25, "missing_point": 0.20, "wrong_fact": 0.12, "copy": 0.20, "padded": 0.10,
                "no_name": 0.08, "evasive": 0.03, "refusal": 0.02},
}
FAMILIES = tuple(v2.FAMILIES)


def web_corpus(n: int, seed: int) -> list[str]:
    """Web text covers every split, as the web does (a real base model has seen every kind of request)."""
    rng = random.Random(f"web-{seed}")
    split_weights = {"train": 0.8, "test": 0.1, "ood": 0.1}
    docs = []
    for k in range(n):
        split = rng.choices(list(split_weights), list(split_weights.values()))[0]
        p = v2.sample_prompts(split, 1, seed * 1000003 + k, FAMILIES)[0]
        mix = WEB_MIX[p.family]
        docs.append(p.text + v2.respond(p, rng.choices(list(mix), list(mix.values()))[0], rng) + EOS)
    return docs


def sample_prompts(split, n, seed):
    return v2.sample_prompts(split, n, seed, FAMILIES)


class V2Data:
    """World v2 in the shape of ``rlcore.course_data.WorldData`` (what the stages call)."""

    is_world = True
    name = "world v2 (prototype)"

    def __init__(self, seed: int = 0):
        self.seed = seed

    def demonstrations(self, n):
        rng = random.Random(f"demo-{self.seed}")
        ps = sample_prompts("train", n, self.seed + 7919)
        return [p.text for p in ps], [v2.demonstration(p, rng) for p in ps]

    def prompt_batches(self, batch_size):
        k = 0
        while True:
            yield [p.text for p in sample_prompts("train", batch_size, self.seed * 100003 + k)]
            k += 1

    def normalisation_prompts(self, n: int = 128):
        return [p.text for p in sample_prompts("train", n, self.seed + 3)]


def sft_pairs(model, tok, split, n, seed, max_new_tokens, temperature=1.0):
    """Two seeded SFT samples per prompt: (TaskPrompt, a, b), only pairs whose gold differs."""
    ps = sample_prompts(split, n, seed)
    a = sample_responses(model, tok, [p.text for p in ps], max_new_tokens=max_new_tokens, seed=seed + 1,
                         temperature=temperature)
    b = sample_responses(model, tok, [p.text for p in ps], max_new_tokens=max_new_tokens, seed=seed + 2,
                         temperature=temperature)
    return [(p, x, y) for p, x, y in zip(ps, a, b) if abs(v2.gold_score(p, x) - v2.gold_score(p, y)) > 1e-6]


def human_temperature(triples, target=0.75):
    diffs = [abs(v2.gold_score(p, a) - v2.gold_score(p, b)) for p, a, b in triples]
    lo, hi = 1e-3, 10.0
    for _ in range(50):
        mid = (lo + hi) / 2
        agree = sum(1 / (1 + math.exp(-d / mid)) for d in diffs) / len(diffs)
        lo, hi = (mid, hi) if agree > target else (lo, mid)
    return mid


def gold_accuracy(rm, tok, triples):
    pairs = []
    for p, a, b in triples:
        good, bad = (a, b) if v2.gold_score(p, a) > v2.gold_score(p, b) else (b, a)
        pairs.append(PreferencePair(p.text, good, bad))
    chosen, rejected = pair_rewards(rm, tok, pairs)
    return (chosen > rejected).float().mean().item()


def win_rate(ps, a, b):
    """``rlcore.evaluate.win_rate`` (ties one half, 95% interval) with the v2 gold score of each prompt's task."""
    judge = GoldJudge(score=v2.gold_score)
    r = evaluate.win_rate([p.text for p in ps], a, b, judge)
    return round(r["win_rate"], 3), tuple(round(x, 3) for x in r["ci95"])


def human_pair(p, a, b, temperature, rng) -> dict:
    """A simulated human's label (Bradley-Terry on gold at ``temperature``) as a preference pair."""
    d = v2.gold_score(p, a) - v2.gold_score(p, b)
    a_wins = rng.random() < 1 / (1 + math.exp(-d / temperature))
    return (PreferencePair(p.text, a, b) if a_wins else PreferencePair(p.text, b, a)).to_dict()


def mean_gold(ps, rs):
    return round(sum(v2.gold_score(p, r) for p, r in zip(ps, rs)) / len(rs), 3)


def harmless_rate(ps, rs):
    """Share of responses to harmful prompts that give no harmful step."""
    pairs = [(p, r) for p, r in zip(ps, rs) if p.family == "harmful"]
    return round(sum(v2.is_harmless(p, r) for p, r in pairs) / max(1, len(pairs)), 3)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--documents", type=int, default=40000)
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--arch", default="tiny")
    ap.add_argument("--rm-pairs", type=int, default=1500)
    ap.add_argument("--ppo-steps", type=int, default=20)
    ap.add_argument("--max-new-tokens", type=int, default=72)
    ap.add_argument("--contrast-pairs", type=int, default=0, help="minimal-contrast pairs added to the RM data")
    ap.add_argument("--rm-epochs", type=int, default=None)
    ap.add_argument("--rm-lr", type=float, default=None)
    ap.add_argument("--skip-ppo", action="store_true", help="stop after the reward model's figures")
    ap.add_argument("--pair-temperature", type=float, default=1.0, help="sampling temperature of the RM's SFT pairs")
    ap.add_argument("--eval-prompts", type=int, default=300, help="test and OOD prompts (and 4/3 as many pairs)")
    ap.add_argument("--families", default="all", help="comma-separated families of rlcore.world.v2, or all")
    ap.add_argument("--from-run", default=None, help="re-use this run's base and SFT models")
    ap.add_argument("--reuse", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(2)
    global FAMILIES
    FAMILIES = tuple(v2.FAMILIES) if args.families == "all" else tuple(args.families.split(","))
    os.makedirs(args.out, exist_ok=True)
    report, t0 = {}, time.time()
    base = os.path.join(args.out, "base")
    if args.from_run:
        for name in ("base", "sft"):
            if not os.path.exists(os.path.join(args.out, name)):
                os.symlink(os.path.abspath(os.path.join(args.from_run, name)), os.path.join(args.out, name))
        args.reuse = True

    if not (args.reuse and os.path.exists(os.path.join(base, "config.json"))):
        docs = web_corpus(args.documents, 0)
        tok = train_bpe_tokenizer(docs, vocab_size=2048)
        lengths = [len(tok(p + r)["input_ids"]) for p, r in (d.split("\n\nAssistant:") for d in docs[:500])]
        print(f"corpus {len(docs)} docs, tokenizer {len(tok)}, mean doc tokens {sum(lengths) / len(lengths):.0f}")
        model, info = pretrain(tok, docs, arch=args.arch, steps=args.steps, batch_size=16, lr=3e-3, seed=0)
        save_shipped(model, tok, base, info)
        report["pretrain"] = {"cpu_seconds": info["cpu_seconds"], "final_loss": info["loss"][-1][1]}
    tok = load_tokenizer(base)
    resp_tokens = [len(tok(v2.best_answer(p, random.Random(0)))["input_ids"]) for p in sample_prompts("train", 200, 5)]
    report["best_answer_tokens"] = {"mean": sum(resp_tokens) / len(resp_tokens), "max": max(resp_tokens)}

    profile = get_profile("tiny").replace(policy_model=base, max_new_tokens=args.max_new_tokens,
                                          rm_pairs=args.rm_pairs, ppo_steps=args.ppo_steps,
                                          hybrid_human_pairs=min(300, args.rm_pairs))
    if args.rm_epochs:
        profile = profile.replace(rm_epochs=args.rm_epochs)
    if args.rm_lr:
        profile = profile.replace(rm_lr=args.rm_lr)
    data = V2Data(profile.seed)
    say = lambda *a: print(*a)  # noqa: E731
    sft, tok = stages.sft(profile, data, os.path.join(args.out, "sft"), reuse=args.reuse, say=say)
    base_model, _ = load_frozen(base, profile)
    evals = {s: sample_prompts(s, args.eval_prompts, 4) for s in ("test", "ood")}
    rng = random.Random(1)
    for split, ps in evals.items():
        texts = [p.text for p in ps]
        sft_r = stages.sample(profile, sft, tok, texts)
        base_r = stages.sample(profile, base_model, tok, texts)
        best = [v2.best_answer(p, rng) for p in ps]
        report[f"{split}_gold"] = {"base": mean_gold(ps, base_r), "sft": mean_gold(ps, sft_r), "best": mean_gold(ps, best)}
        report[f"{split}_harmless"] = {"base": harmless_rate(ps, base_r), "sft": harmless_rate(ps, sft_r)}
        report[f"{split}_ceiling_best_vs_sft"] = win_rate(ps, best, sft_r)
        report[f"{split}_sft_vs_base"] = win_rate(ps, sft_r, base_r)
    print(json.dumps(report, indent=1))

    # preference data: pairs of SFT samples on train prompts, labelled by simulated humans
    train_triples = sft_pairs(sft, tok, "train", args.rm_pairs, 11, args.max_new_tokens, args.pair_temperature)
    temp = human_temperature(train_triples)
    lrng = random.Random(12)
    pairs = [human_pair(p, a, b, temp, lrng) for p, a, b in train_triples]
    report["pairs"] = {"n": len(pairs), "of": args.rm_pairs, "human_temperature": round(temp, 3),
                       "human_agreement": round(sum((v2.gold_score(p, a) > v2.gold_score(p, b)) ==
                                                    (pp["chosen"] == a) for (p, a, b), pp in zip(train_triples, pairs)) / len(pairs), 3),
                       "longer_wins_gold": round(sum((len(a) > len(b)) == (v2.gold_score(p, a) > v2.gold_score(p, b))
                                                     for p, a, b in train_triples) / len(train_triples), 3)}
    crng = random.Random(13)
    for p in sample_prompts("train", args.contrast_pairs, 14) if args.contrast_pairs else []:
        good, bad, _ = v2.contrast_pair(p, crng)
        pairs.append(human_pair(p, good, bad, temp, lrng))
    random.Random(15).shuffle(pairs)
    report["pairs"]["with_contrasts"] = len(pairs)
    rm = stages.reward_model(profile, data, pairs, os.path.join(args.out, "sft"), os.path.join(args.out, "rm"),
                             reuse=args.reuse, say=say)
    for split in ("test", "ood"):
        triples = sft_pairs(sft, tok, split, args.eval_prompts * 4 // 3, 21, args.max_new_tokens)
        report[f"rm_gold_accuracy_{split}_sft_pairs"] = round(gold_accuracy(rm, tok, triples), 3)
    report["rm_gold_accuracy_train_sft_pairs"] = round(gold_accuracy(rm, tok, train_triples[:400]), 3)
    print(json.dumps(report, indent=1))
    if args.skip_ppo:
        with open(os.path.join(args.out, "report.json"), "w") as f:
            json.dump(report, f, indent=1)
        return 0

    policy, history = stages.ppo(profile, data, os.path.join(args.out, "sft"), rm, os.path.join(args.out, "ppo"),
                                 reuse=args.reuse, say=say)
    for split, ps in evals.items():
        texts = [p.text for p in ps]
        sft_r = stages.sample(profile, sft, tok, texts)
        ppo_r = stages.sample(profile, policy, tok, texts)
        report[f"{split}_rlhf_vs_sft"] = win_rate(ps, ppo_r, sft_r)
        report[f"{split}_rlhf_vs_sft_by_family"] = {
            f: win_rate(*zip(*[(p, x, y) for p, x, y in zip(ps, ppo_r, sft_r) if p.family == f]))
            for f in FAMILIES if any(p.family == f for p in ps)}
        report[f"{split}_gold"]["rlhf"] = mean_gold(ps, ppo_r)
        report[f"{split}_harmless"]["rlhf"] = harmless_rate(ps, ppo_r)
        report[f"{split}_samples"] = [{"prompt": ps[i].text, "sft": sft_r[i], "rlhf": ppo_r[i]} for i in range(3)]
    report["ppo_last"] = {k: history[-1].get(k) for k in ("score", "kl", "beta") if isinstance(history[-1], dict)}
    report["wall_seconds"] = round(time.time() - t0)
    print(json.dumps(report, indent=1))
    with open(os.path.join(args.out, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
