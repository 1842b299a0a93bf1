"""Evaluation: win rate and harmless rate through a judge (gold on the world, an AI judge elsewhere), gold scores,
KL to the reference, labeler alignment, over-optimisation curves."""

from __future__ import annotations

import math

import torch

from rlcore import world
from rlcore.data import as_pairs
from rlcore.rollout import SAMPLE_BATCH, response_logprobs, sample_rollouts

def harmless_rate(prompts: list[str], responses: list[str], judge) -> float:
    """Share of the (harmful) ``prompts`` whose response gives no harmful instruction, by ``judge``'s verdict
    (``rlcore.judges``: the world's gold judge, or an AI judge). Pass the harmful prompts."""
    if len(prompts) != len(responses) or not prompts:
        raise ValueError("harmless_rate needs non-empty, equally long lists of prompts and responses")
    return judge.harmless(prompts, responses).float().mean().item()


def mean_gold(prompts: list[str], responses: list[str]) -> float:
    """The mean gold score of the responses (the world's prompts only)."""
    return sum(world.gold_score(p, r) for p, r in zip(prompts, responses)) / len(prompts)


FLUENCY_COMPONENTS = ("repetition", "degenerate")


def fluency_penalty(prompts: list[str], responses: list[str]) -> dict:
    """How much of the gold score a policy loses to disfluent text: the mean over responses of
    -sum(weight_k * component k) for k in repetition, degenerate (0 = fluent), and the share of
    responses with any such penalty. A policy that games its reward model with garbled or repeated
    text shows up here first (Gao et al. 2022's over-optimisation, seen in the samples)."""
    if len(prompts) != len(responses) or not prompts:
        raise ValueError("fluency_penalty needs non-empty, equally long lists of prompts and responses")
    penalties = []
    for p, r in zip(prompts, responses):
        c, w = world.gold_components(p, r), world.weights_for(p)
        penalties.append(-sum(w[k] * c[k] for k in FLUENCY_COMPONENTS if k in c))
    return {"mean": sum(penalties) / len(penalties), "share": sum(x > 0 for x in penalties) / len(penalties)}


def win_rate(prompts: list[str], responses_a: list[str], responses_b: list[str], judge) -> dict:
    """How often a's response beats b's (ties count one half), with a 95% interval (normal approximation).

    ``judge`` (``rlcore.judges``): the world's gold judge gives 1, 0.5 or 0 per prompt; an AI judge a soft verdict
    P(a better), averaged the same way.
    """
    if not (len(prompts) == len(responses_a) == len(responses_b)) or not prompts:
        raise ValueError("win_rate needs non-empty, equally long lists of prompts and responses")
    wins = judge.prefer(prompts, responses_a, responses_b).tolist()
    n, rate = len(wins), sum(wins) / len(wins)
    half = 1.96 * math.sqrt(max(rate * (1 - rate), 1e-12) / n)
    return {"win_rate": rate, "ci95": (max(0.0, rate - half), min(1.0, rate + half)), "n": n}


@torch.no_grad()
def kl_to_reference(model, reference, tokenizer, prompts: list[str], max_new_tokens: int = 48, seed: int = 0,
                    batch_size: int = SAMPLE_BATCH, rollouts: list | None = None, max_prompt_tokens: int = 64) -> float:
    """Monte-Carlo KL(policy || reference) in nats per response: the mean over sampled responses y ~ pi
    of sum_t [log pi(y_t | ...) - log pi_ref(y_t | ...)] (the response tokens only, up to EOS).

    ``rollouts``: the policy's samples of ``prompts`` already drawn (``sample_rollouts``, same seed), to reuse."""
    if not prompts:
        raise ValueError("kl_to_reference needs at least one prompt")
    if rollouts is None:
        rollouts = sample_rollouts(model, tokenizer, prompts, max_new_tokens, batch_size, seed,
                                   max_prompt_tokens=max_prompt_tokens)
    total = 0.0
    for rollout in rollouts:
        ids, attn, P = rollout.input_ids, rollout.attention_mask, rollout.prompt_len
        log_ratio = response_logprobs(model, ids, attn, P) - response_logprobs(reference, ids, attn, P)  # (B, T)
        total += (log_ratio * rollout.response_mask).sum().item()
    return total / sum(len(r.prompts) for r in rollouts)


def judge_agreement(judge, pairs) -> float:
    """How often ``judge`` prefers the chosen response of held-out human-labelled pairs (soft verdicts
    counted as P(chosen)): how far to trust a judge on data without a gold judge."""
    pairs = as_pairs(pairs)
    p = judge.prefer([x.prompt for x in pairs], [x.chosen for x in pairs], [x.rejected for x in pairs])
    return (p > 0.5).float().mean().item() + 0.5 * (p == 0.5).float().mean().item()


def labeler_alignment(labeler, triples) -> dict:
    """Agreement of an AI labeler (``rlcore.labeler.AILabeler``) with the gold preference.

    ``triples`` are (prompt, a, b). Reports accuracy without swap (a shown first only), with swap
    (both orders averaged), the same-position rate (how often the labeler picks the same *slot* in
    both orders: raw position bias), and the share of first-slot verdicts over both orders.
    """
    triples = list(triples)
    if not triples:
        raise ValueError("no pairs to measure alignment on")
    prompts, a, b = (list(x) for x in zip(*triples))
    gold_a = torch.tensor([world.gold_score(p, x) > world.gold_score(p, y) for p, x, y in triples])
    probs = labeler.prefer_batch(prompts, a, b, swap=True)
    p_ab, p_ba, p = probs["p_ab"], probs["p_ba"], probs["p"]
    return {
        "accuracy_no_swap": ((p_ab > 0.5) == gold_a).float().mean().item(),
        "accuracy_swap": ((p > 0.5) == gold_a).float().mean().item(),
        "same_position_rate": ((p_ab > 0.5) != (p_ba > 0.5)).float().mean().item(),
        # over both orders: slot 1 picked with a first (a judged better), and with b first (a judged worse)
        "first_slot_rate": torch.cat([p_ab > 0.5, p_ba < 0.5]).float().mean().item(),
        "n": len(triples),
    }


# --------------------------------------------------------------------------- over-optimisation (Gao et al. 2022)
def kl_best_of_n(n: int) -> float:
    """log n - (n - 1) / n (nats): the formula Stiennon et al. 2020 and Gao et al. 2022 give for the KL of
    best-of-n sampling from its base policy (Gao et al. use its square root as the x-axis). Beirami et al. 2024
    show it is an upper bound on that KL, reached only when the n samples can never repeat."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return math.log(n) - (n - 1) / n


def best_of_n(candidates: list[list[str]], scores: list[list[float]]) -> list[str]:
    """For each prompt, the candidate with the highest (proxy) score; ``candidates[i]`` and ``scores[i]``
    are the n responses to prompt i and their scores."""
    if len(candidates) != len(scores) or any(len(c) != len(s) or not c for c, s in zip(candidates, scores)):
        raise ValueError("best_of_n needs, for every prompt, as many scores as candidates (at least one)")
    return [c[max(range(len(s)), key=s.__getitem__)] for c, s in zip(candidates, scores)]


def fit_gao(kl: list[float], gold: list[float], form: str = "bon") -> tuple[float, float]:
    """Fit Gao et al. 2022's functional forms of the gold reward against d = sqrt(KL), by least squares:

    * best-of-n (``"bon"``): R(d) = d (alpha - beta d)
    * reinforcement learning (``"rl"``): R(d) = d (alpha - beta log d)

    The gold reward is measured relative to the starting policy (R(0) = 0). Points with d = 0 carry no
    information and are skipped. Returns (alpha, beta).
    """
    if form not in ("bon", "rl"):
        raise ValueError(f"form must be 'bon' or 'rl', got {form!r}")
    points = [(math.sqrt(k), g) for k, g in zip(kl, gold) if k > 0]
    if len(points) < 2:
        raise ValueError("fit_gao needs at least two points with KL > 0")
    # R / d = alpha - beta * x with x = d (bon) or log d (rl): a straight line, fitted with weights d^2
    # so that the squared error is measured on R itself.
    xs = [d if form == "bon" else math.log(d) for d, _ in points]
    ys = [g / d for d, g in points]
    ws = [d * d for d, _ in points]
    sw = sum(ws)
    mx = sum(w * x for w, x in zip(ws, xs)) / sw
    my = sum(w * y for w, y in zip(ws, ys)) / sw
    sxx = sum(w * (x - mx) ** 2 for w, x in zip(ws, xs))
    if sxx == 0:
        raise ValueError("fit_gao needs at least two different KL values")
    slope = sum(w * (x - mx) * (y - my) for w, x, y in zip(ws, xs, ys)) / sxx
    return my - slope * mx, -slope


def gao_curve(d: float, alpha: float, beta: float, form: str = "bon") -> float:
    """The fitted gold reward at d = sqrt(KL) (see :func:`fit_gao`)."""
    if d <= 0:
        return 0.0
    return d * (alpha - beta * (d if form == "bon" else math.log(d)))
