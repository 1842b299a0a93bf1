"""Evaluation against the world's gold judge: gold scores, harmless rate, win rate, labeler alignment."""

from __future__ import annotations

import math

import torch
from tqdm.auto import tqdm

from rlcore.rollout import generate, response_logprobs


def sample_responses(model, tokenizer, prompts: list[str], max_new_tokens: int = 48, batch_size: int = 32,
                     seed: int = 0, do_sample: bool = True, temperature: float = 1.0, progress: bool = False) -> list[str]:
    """One response per prompt, in batches (seeded)."""
    out = []
    for i in tqdm(range(0, len(prompts), batch_size), desc="sampling", disable=not progress):
        rollout = generate(model, tokenizer, prompts[i:i + batch_size], max_new_tokens=max_new_tokens,
                           do_sample=do_sample, temperature=temperature, seed=seed + i, max_prompt_tokens=192)
        out.extend(rollout.responses)
    return out


def harmless_rate(prompts: list[str], responses: list[str]) -> float:
    """Share of harmful prompts whose response gives no harmful instruction (gold judge)."""
    from rlcore.world import is_harmful_prompt, is_harmless

    judged = [is_harmless(p, r) for p, r in zip(prompts, responses) if is_harmful_prompt(p)]
    if not judged:
        raise ValueError("no harmful prompts among the prompts: the harmless rate is undefined")
    return sum(judged) / len(judged)


def mean_gold(prompts: list[str], responses: list[str]) -> float:
    from rlcore.world import gold_score

    return sum(gold_score(p, r) for p, r in zip(prompts, responses)) / len(prompts)


def win_rate(prompts: list[str], responses_a: list[str], responses_b: list[str]) -> dict:
    """How often a's response beats b's under the gold judge (ties count one half), with a 95% interval."""
    from rlcore.world import gold_score

    if not (len(prompts) == len(responses_a) == len(responses_b)) or not prompts:
        raise ValueError("win_rate needs non-empty, equally long lists of prompts and responses")
    wins = []
    for p, a, b in zip(prompts, responses_a, responses_b):
        ga, gb = gold_score(p, a), gold_score(p, b)
        wins.append(1.0 if ga > gb else 0.5 if ga == gb else 0.0)
    n, rate = len(wins), sum(wins) / len(wins)
    half = 1.96 * math.sqrt(max(rate * (1 - rate), 1e-12) / n)
    return {"win_rate": rate, "ci95": (max(0.0, rate - half), min(1.0, rate + half)), "n": n}


@torch.no_grad()
def kl_to_reference(model, reference, tokenizer, prompts: list[str], max_new_tokens: int = 48, seed: int = 0,
                    batch_size: int = 32) -> float:
    """Monte-Carlo KL(policy || reference) in nats per response: the mean over sampled responses y ~ pi
    of sum_t [log pi(y_t | ...) - log pi_ref(y_t | ...)] (the response tokens only, up to EOS)."""
    if not prompts:
        raise ValueError("kl_to_reference needs at least one prompt")
    total = 0.0
    for i in range(0, len(prompts), batch_size):
        rollout = generate(model, tokenizer, prompts[i:i + batch_size], max_new_tokens=max_new_tokens, seed=seed + i,
                           max_prompt_tokens=192)
        ids, attn, P = rollout.input_ids, rollout.attention_mask, rollout.prompt_len
        log_ratio = response_logprobs(model, ids, attn, P) - response_logprobs(reference, ids, attn, P)  # (B, T)
        total += (log_ratio * rollout.response_mask).sum().item()
    return total / len(prompts)


def labeler_alignment(labeler, triples) -> dict:
    """Agreement of an AI labeler (``rlcore.labeler.AILabeler``) with the gold preference.

    ``triples`` are (prompt, a, b). Reports accuracy without swap (a shown first only), with swap
    (both orders averaged), the same-position rate (how often the labeler picks the same *slot* in
    both orders: raw position bias), and the share of first-slot verdicts without swap.
    """
    from rlcore.world import gold_score

    triples = list(triples)
    if not triples:
        raise ValueError("no pairs to measure alignment on")
    prompts, a, b = (list(x) for x in zip(*triples))
    gold_a = torch.tensor([gold_score(p, x) > gold_score(p, y) for p, x, y in triples])
    probs = labeler.prefer_batch(prompts, a, b, swap=True)
    p_ab, p_ba, p = probs["p_ab"], probs["p_ba"], probs["p"]
    return {
        "accuracy_no_swap": ((p_ab > 0.5) == gold_a).float().mean().item(),
        "accuracy_swap": ((p > 0.5) == gold_a).float().mean().item(),
        "same_position_rate": ((p_ab > 0.5) != (p_ba > 0.5)).float().mean().item(),
        "first_slot_rate": (p_ab > 0.5).float().mean().item(),
        "n": len(triples),
    }
