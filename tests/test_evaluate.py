"""Gold-judged evaluation: win rate with ties and its interval, harmless rate, and the KL to the reference."""

import math
import random

import pytest
import torch

from rlcore import world
from rlcore.evaluate import fluency_penalty, harmless_rate, kl_to_reference, win_rate
from rlcore.judges import GoldJudge
from rlcore.builders import tiny_gpt_neo
from rlcore.rollout import forward_logits, sample_responses, sample_rollouts
from rlcore.world.generator import respond


def respond_style(prompt, style):
    return respond(world.parse_prompt(prompt), style, random.Random(0))


def test_win_rate_counts_ties_as_half_with_a_normal_interval():
    p = world.prompts("test", 1, seed=0, families=("benign",))[0]
    good, bad = respond_style(p, "helpful"), "no"
    assert world.gold_score(p, good) > world.gold_score(p, bad)
    r = win_rate([p] * 4, [good, good, bad, good], [bad, good, good, bad], GoldJudge())  # win, tie, loss, win
    assert r["win_rate"] == pytest.approx(2.5 / 4) and r["n"] == 4
    half = 1.96 * math.sqrt(0.625 * 0.375 / 4)
    assert r["ci95"] == pytest.approx((0.625 - half, min(1.0, 0.625 + half)))
    with pytest.raises(ValueError, match="equally long"):
        win_rate([p], [good], [], GoldJudge())


def test_harmless_rate_is_the_judges_verdict_on_every_prompt_given():
    harmful = world.prompts("test", 2, seed=1, families=("harmful",))
    comply = respond_style(harmful[0], "compliance")
    refuse = respond_style(harmful[1], "refusal")
    assert harmless_rate(harmful, [comply, refuse], GoldJudge()) == 0.5
    assert harmless_rate(harmful, [respond_style(harmful[0], "refusal"), refuse], GoldJudge()) == 1.0
    with pytest.raises(ValueError, match="equally long"):
        harmless_rate(harmful, [comply], GoldJudge())
    with pytest.raises(TypeError):  # no judge, no verdict: evaluation names its judge
        harmless_rate(harmful, [comply, refuse])


def test_kl_to_reference_is_zero_for_the_same_model_and_matches_the_exact_one_token_kl(tokenizer, tiny_model):
    prompts = ["\n\nHuman: What is a cat?\n\nAssistant:"]
    assert kl_to_reference(tiny_model, tiny_model, tokenizer, prompts * 3, max_new_tokens=4) == 0.0
    other = tiny_gpt_neo(len(tokenizer), hidden_size=32, num_layers=2, num_heads=2, seed=1,
                         eos_token_id=tokenizer.eos_token_id)
    # One response token: the estimator's expectation is the exact KL of the two next-token distributions.
    ids = tokenizer(prompts, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        logp = torch.log_softmax(forward_logits(tiny_model, ids, torch.ones_like(ids))[0, -1].double(), -1)
        logq = torch.log_softmax(forward_logits(other, ids, torch.ones_like(ids))[0, -1].double(), -1)
    exact = (logp.exp() * (logp - logq)).sum().item()
    spread = (logp.exp() * (logp - logq - exact) ** 2).sum().sqrt().item()
    n = 2000
    estimate = kl_to_reference(tiny_model, other, tokenizer, prompts * n, max_new_tokens=1, batch_size=500)
    assert abs(estimate - exact) < 4 * spread / math.sqrt(n), (estimate, exact)
    assert exact > 0.01  # the two models differ, so the test can fail


def test_kl_on_reused_samples_equals_kl_on_fresh_ones_and_responses_match(tokenizer, tiny_model):
    other = tiny_gpt_neo(len(tokenizer), hidden_size=32, num_layers=2, num_heads=2, seed=1,
                         eos_token_id=tokenizer.eos_token_id)
    prompts = [f"\n\nHuman: What is a cat number {i}?\n\nAssistant:" for i in range(7)]
    rollouts = sample_rollouts(tiny_model, tokenizer, prompts, max_new_tokens=5, batch_size=3, seed=4)
    assert [len(r.prompts) for r in rollouts] == [3, 3, 1]
    assert [r for ro in rollouts for r in ro.responses] == sample_responses(tiny_model, tokenizer, prompts, 5, 3, seed=4)
    fresh = kl_to_reference(tiny_model, other, tokenizer, prompts, max_new_tokens=5, seed=4, batch_size=3)
    reused = kl_to_reference(tiny_model, other, tokenizer, prompts, rollouts=rollouts)
    assert fresh == pytest.approx(reused, abs=1e-6) and abs(fresh) > 1e-3
    # the first batch alone: the mean over its 3 samples, not over all 7 prompts
    first = kl_to_reference(tiny_model, other, tokenizer, prompts[:3], max_new_tokens=5, seed=4, batch_size=3)
    assert kl_to_reference(tiny_model, other, tokenizer, prompts, rollouts=rollouts[:1]) == pytest.approx(first, abs=1e-6)


def test_kl_of_best_of_n_matches_a_brute_force_distribution():
    from rlcore.evaluate import kl_best_of_n

    # Best-of-n over a continuous base (distinct samples): the winner's density is n F^(n-1) f, so
    # KL = E[log(n F^(n-1))] = log n + (n-1) E[log U_max]; with U_max ~ Beta(n, 1), E[log U_max] = -1/n.
    for n in (1, 2, 4, 16):
        g = torch.Generator().manual_seed(n)
        u_max = torch.rand(200_000, n, generator=g, dtype=torch.float64).max(1).values
        brute = math.log(n) + (n - 1) * torch.log(u_max).mean().item()
        assert kl_best_of_n(n) == pytest.approx(brute, abs=5e-3)
    assert kl_best_of_n(1) == 0.0
    with pytest.raises(ValueError):
        kl_best_of_n(0)


def test_best_of_n_picks_the_highest_score_per_prompt():
    from rlcore.evaluate import best_of_n

    assert best_of_n([["a", "b", "c"], ["d"]], [[0.1, 0.9, 0.5], [-3.0]]) == ["b", "d"]
    with pytest.raises(ValueError):
        best_of_n([["a", "b"]], [[1.0]])


@pytest.mark.parametrize("form", ["bon", "rl"])
def test_gao_fit_recovers_known_coefficients(form):
    from rlcore.evaluate import fit_gao, gao_curve

    alpha, beta = 1.3, 0.4
    kls = [0.0, 0.1, 0.5, 1.0, 2.0, 4.0, 8.0]
    gold = [gao_curve(math.sqrt(k), alpha, beta, form) for k in kls]
    assert fit_gao(kls, gold, form) == pytest.approx((alpha, beta), abs=1e-9)
    # with noise, close; and the wrong form fits worse
    g = torch.Generator().manual_seed(0)
    noisy = [y + 0.01 * torch.randn(1, generator=g).item() for y in gold]
    a, b = fit_gao(kls, noisy, form)
    assert a == pytest.approx(alpha, abs=0.1) and b == pytest.approx(beta, abs=0.1)
    other = "rl" if form == "bon" else "bon"

    def sse(f):
        a_, b_ = fit_gao(kls, noisy, f)
        return sum((gao_curve(math.sqrt(k), a_, b_, f) - y) ** 2 for k, y in zip(kls, noisy))

    assert sse(form) < sse(other)
    with pytest.raises(ValueError, match="two points"):
        fit_gao([0.0, 1.0], [0.0, 0.5], form)


def test_fluency_penalty_by_hand():
    p = world.prompts("train", 1, seed=0, families=("benign",))[0]
    clean = world.best_response(p)
    writes_the_human_turn = " Human: " + world.last_human_turn(p)  # degenerate: weight -2
    stutter = " bake bread bake bread bake bread"  # 4-grams: 3, of which 2 distinct -> repetition 1/3, weight -2
    assert fluency_penalty([p], [clean]) == {"mean": 0.0, "share": 0.0}
    assert fluency_penalty([p], [writes_the_human_turn])["mean"] == pytest.approx(2.0)
    assert fluency_penalty([p], [stutter])["mean"] == pytest.approx(2 / 3)
    both = fluency_penalty([p] * 3, [clean, writes_the_human_turn, stutter])
    assert both["mean"] == pytest.approx((0 + 2 + 2 / 3) / 3) and both["share"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="equally long"):
        fluency_penalty([p, p], [clean])


class _Labeler:
    """A stand-in labeler: P(a better) with a shown first, and with b shown first, fixed for every pair."""

    def __init__(self, p_ab, p_ba):
        self.p_ab, self.p_ba = p_ab, p_ba

    def prefer_batch(self, prompts, a, b, swap=True):
        n = len(prompts)
        p_ab, p_ba = torch.full((n,), self.p_ab), torch.full((n,), self.p_ba)
        return {"p_ab": p_ab, "p_ba": p_ba, "p": (p_ab + p_ba) / 2}


def test_position_bias_is_counted_over_both_orders():
    from rlcore.evaluate import labeler_alignment

    triples = world.comparisons("test", 8, seed=1)
    slot_one = labeler_alignment(_Labeler(0.9, 0.1), triples)  # always slot 1: a when a is first, b when b is
    assert slot_one["first_slot_rate"] == 1.0 and slot_one["same_position_rate"] == 1.0
    fair = labeler_alignment(_Labeler(0.9, 0.9), triples)  # always a, whichever slot it is in
    assert fair["first_slot_rate"] == 0.5 and fair["same_position_rate"] == 0.0
