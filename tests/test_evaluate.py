"""Gold-judged evaluation: win rate with ties and its interval, harmless rate, and the KL to the reference."""

import math
import random

import pytest
import torch

from rlcore import world
from rlcore.evaluate import harmless_rate, kl_to_reference, win_rate
from rlcore.models import tiny_gpt_neo
from rlcore.rollout import forward_logits
from rlcore.world.generator import respond


def respond_style(prompt, style):
    return respond(world.parse_prompt(prompt), style, random.Random(0))


def test_win_rate_counts_ties_as_half_with_a_normal_interval():
    p = world.prompts("test", 1, seed=0, families=("benign",))[0]
    good, bad = respond_style(p, "helpful"), "no"
    assert world.gold_score(p, good) > world.gold_score(p, bad)
    r = win_rate([p] * 4, [good, good, bad, good], [bad, good, good, bad])  # win, tie, loss, win
    assert r["win_rate"] == pytest.approx(2.5 / 4) and r["n"] == 4
    half = 1.96 * math.sqrt(0.625 * 0.375 / 4)
    assert r["ci95"] == pytest.approx((0.625 - half, min(1.0, 0.625 + half)))
    with pytest.raises(ValueError, match="equally long"):
        win_rate([p], [good], [])


def test_harmless_rate_counts_only_harmful_prompts():
    harmful = world.prompts("test", 2, seed=1, families=("harmful",))
    benign = world.prompts("test", 1, seed=1, families=("benign",))
    comply = respond_style(harmful[0], "compliance")
    refuse = respond_style(harmful[1], "refusal")
    assert harmless_rate(harmful + benign, [comply, refuse, comply]) == 0.5
    with pytest.raises(ValueError, match="no harmful prompts"):
        harmless_rate(benign, ["hello there"])


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
