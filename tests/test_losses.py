import math

import pytest
import torch
import torch.nn.functional as F

from rlcore.ppo import AdaptiveKLController, compute_rewards, policy_loss, value_loss
from rlcore.rollout import kl_penalty
from rlcore.reward import preference_accuracy, ranking_loss, soft_ranking_loss


# ---------------------------------------------------------------- ranking losses
def test_ranking_loss_hand_computed():
    chosen, rejected = torch.tensor([2.0, 0.0]), torch.tensor([1.0, 1.0])
    # -log sigma(1) = log(1 + e^-1) = 0.31326; -log sigma(-1) = log(1 + e) = 1.31326
    expected = (math.log(1 + math.exp(-1)) + math.log(1 + math.exp(1))) / 2
    assert ranking_loss(chosen, rejected).item() == pytest.approx(expected, abs=1e-6)
    # equal rewards: log 2
    assert ranking_loss(torch.zeros(3), torch.zeros(3)).item() == pytest.approx(math.log(2), abs=1e-6)


def test_ranking_loss_matches_logsigmoid_with_and_without_margin():
    g = torch.Generator().manual_seed(0)
    c, r, m = torch.randn(11, generator=g), torch.randn(11, generator=g), torch.rand(11, generator=g)
    torch.testing.assert_close(ranking_loss(c, r), -F.logsigmoid(c - r).mean())
    torch.testing.assert_close(ranking_loss(c, r, margin=m), -F.logsigmoid(c - r - m).mean())
    # a margin makes the same pair cost more
    assert ranking_loss(c, r, margin=m) > ranking_loss(c, r)


def test_ranking_loss_is_not_symmetric_in_its_arguments():
    c, r = torch.tensor([3.0]), torch.tensor([0.0])
    assert ranking_loss(c, r).item() < 0.1 < ranking_loss(r, c).item()


def test_soft_ranking_loss_reduces_to_hard_and_is_binary_cross_entropy():
    g = torch.Generator().manual_seed(1)
    c, r, p = torch.randn(9, generator=g), torch.randn(9, generator=g), torch.rand(9, generator=g)
    torch.testing.assert_close(soft_ranking_loss(c, r, torch.ones(9)), ranking_loss(c, r))
    torch.testing.assert_close(soft_ranking_loss(c, r, torch.zeros(9)), ranking_loss(r, c))
    torch.testing.assert_close(soft_ranking_loss(c, r, p), F.binary_cross_entropy_with_logits(c - r, p))
    # with p = 0.5 the optimum is a tie: the gradient on the difference vanishes at c == r
    d = torch.zeros(1, requires_grad=True)
    soft_ranking_loss(d, torch.zeros(1), torch.tensor([0.5])).backward()
    assert d.grad.abs().item() < 1e-7


def test_preference_accuracy_counts_ties_half():
    assert preference_accuracy(torch.tensor([1.0, 0.0, 2.0, 1.0]), torch.tensor([0.0, 1.0, 2.0, 0.5])) == 0.625


def test_ranking_loss_rejects_mismatched_or_empty():
    with pytest.raises(ValueError, match="batch"):
        ranking_loss(torch.zeros(3), torch.zeros(4))
    with pytest.raises(ValueError, match="empty"):
        ranking_loss(torch.zeros(0), torch.zeros(0))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        soft_ranking_loss(torch.zeros(2), torch.zeros(2), torch.tensor([0.5, 1.5]))


# ---------------------------------------------------------------- KL estimators
def test_k1_and_k3_hand_values():
    lp, ref = torch.tensor([[-1.0, -2.0]]), torch.tensor([[-2.0, -1.0]])
    torch.testing.assert_close(kl_penalty(lp, ref, "k1"), torch.tensor([[1.0, -1.0]]))
    # k3 = (r - 1) - log r with r = exp(ref - lp)
    expected = torch.tensor([[math.exp(-1) - 1 + 1, math.exp(1) - 1 - 1]])
    torch.testing.assert_close(kl_penalty(lp, ref, "k3"), expected)
    assert torch.all(kl_penalty(torch.randn(100), torch.randn(100), "k3") >= 0)


def test_k3_is_stable_for_tiny_and_large_log_ratios():
    # float32, tiny log-ratios: naive exp(x) - 1 loses everything, expm1 keeps the x^2/2 term.
    x = torch.tensor([1e-3, -1e-3, 1e-4, -1e-4], dtype=torch.float32)
    k3 = kl_penalty(x, torch.zeros_like(x), "k3")
    exact = torch.expm1(-x.double()) + x.double()  # = x^2/2 - x^3/6 + ...
    torch.testing.assert_close(k3.double(), exact, rtol=1e-2, atol=0.0)
    naive = (torch.exp(-x) - 1) + x
    assert (naive.double() - exact).abs().max() > 100 * (k3.double() - exact).abs().max()
    # large log-ratios stay finite and match float64
    big = torch.tensor([30.0, -30.0, 60.0])
    k3_big = kl_penalty(big, torch.zeros(3), "k3")
    assert torch.isfinite(k3_big).all()
    torch.testing.assert_close(k3_big.double(), torch.expm1(-big.double()) + big.double(), rtol=1e-5, atol=0.0)


def test_kl_estimators_are_unbiased_on_average():
    # Monte Carlo: sample from p, both estimators average to the exact KL(p || q).
    g = torch.Generator().manual_seed(0)
    p = torch.softmax(torch.randn(6, generator=g), 0)
    q = torch.softmax(torch.randn(6, generator=g), 0)
    exact = (p * (p / q).log()).sum()
    a = torch.multinomial(p, 200_000, replacement=True, generator=g)
    for est in ("k1", "k3"):
        assert kl_penalty(p.log()[a], q.log()[a], est).mean().item() == pytest.approx(exact.item(), abs=0.01)


def test_kl_penalty_rejects_unknown_estimator():
    with pytest.raises(ValueError, match="k1"):
        kl_penalty(torch.zeros(2), torch.zeros(2), "k2")


# ---------------------------------------------------------------- clipped losses
def test_policy_loss_hand_worked_clipping():
    eps = 0.2
    old = torch.zeros(1, 4)
    # ratios: 1.5 (A>0, clipped to 1.2), 0.5 (A>0, unclipped is smaller -> 0.5), 1.5 (A<0, unclipped), 0.5 (A<0, clipped 0.8)
    new = torch.log(torch.tensor([[1.5, 0.5, 1.5, 0.5]]))
    adv = torch.tensor([[1.0, 1.0, -1.0, -1.0]])
    mask = torch.ones(1, 4)
    per_token = torch.tensor([-1.2, -0.5, 1.5, 0.8])
    torch.testing.assert_close(policy_loss(new, old, adv, mask, eps), per_token.mean())
    # inside the trust region (ratio 1.1) nothing is clipped: loss = -A * ratio
    inside = torch.log(torch.tensor([[1.1, 0.95]]))
    torch.testing.assert_close(policy_loss(inside, torch.zeros(1, 2), torch.tensor([[2.0, -3.0]]), torch.ones(1, 2), eps),
                               torch.tensor((-2.0 * 1.1 + 3.0 * 0.95) / 2))
    # masked tokens are ignored
    torch.testing.assert_close(policy_loss(new, old, adv, torch.tensor([[1.0, 1.0, 0.0, 0.0]]), eps),
                               per_token[:2].mean())


def test_policy_loss_gradient_is_zero_when_clipped():
    new = torch.log(torch.tensor([[1.5]])).requires_grad_(True)
    policy_loss(new, torch.zeros(1, 1), torch.ones(1, 1), torch.ones(1, 1), 0.2).backward()
    assert new.grad.item() == 0.0
    new2 = torch.log(torch.tensor([[1.1]])).requires_grad_(True)
    policy_loss(new2, torch.zeros(1, 1), torch.ones(1, 1), torch.ones(1, 1), 0.2).backward()
    assert new2.grad.item() == pytest.approx(-1.1)  # d(-A * exp(x))/dx


def test_value_loss_hand_worked_clipping():
    old = torch.tensor([[0.0, 0.0, 0.0]])
    values = torch.tensor([[1.0, 0.1, -1.0]])
    returns = torch.tensor([[2.0, 1.0, 0.5]])
    # token 0: unclipped (1-2)^2 = 1, clipped 0.2 -> (0.2-2)^2 = 3.24 -> 3.24
    # token 1: inside the clip range -> (0.1-1)^2 = 0.81 both
    # token 2: unclipped (-1-0.5)^2 = 2.25, clipped -0.2 -> 0.49 -> max 2.25
    expected = 0.5 * torch.tensor([3.24, 0.81, 2.25]).mean()
    torch.testing.assert_close(value_loss(values, old, returns, torch.ones(1, 3), 0.2), expected)
    torch.testing.assert_close(value_loss(values, old, returns, torch.tensor([[0, 1, 0]]), 0.2), torch.tensor(0.5 * 0.81))


def test_compute_rewards_places_score_on_last_valid_token():
    lp = torch.tensor([[-1.0, -1.0, -1.0], [-1.0, -1.0, -1.0]])
    ref = torch.tensor([[-1.5, -1.0, -2.0], [-1.0, -3.0, -1.0]])
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    rewards, kl = compute_rewards(torch.tensor([2.0, -1.0]), lp, ref, mask, kl_coef=0.1)
    torch.testing.assert_close(kl, torch.tensor([[0.5, 0.0, 0.0], [0.0, 2.0, 0.0]]))
    torch.testing.assert_close(rewards, torch.tensor([[-0.05, 2.0, 0.0], [0.0, -0.2, -1.0]]))
    rewards, _ = compute_rewards(torch.tensor([2.0, -1.0]), lp, ref, mask, 0.1,
                                 ended_with_eos=torch.tensor([True, False]), missing_eos_penalty=1.0)
    assert rewards[1, 2].item() == pytest.approx(-2.0)
    assert rewards[0, 1].item() == pytest.approx(2.0)


def test_adaptive_kl_controller_follows_ziegler():
    ctl = AdaptiveKLController(0.1, target=6.0, horizon=100)
    ctl.update(12.0, n_steps=10)  # error clipped to +0.2 -> beta * (1 + 0.2 * 10 / 100)
    assert ctl.value == pytest.approx(0.1 * 1.02)
    ctl.update(5.4, n_steps=10)  # error -0.1
    assert ctl.value == pytest.approx(0.1 * 1.02 * 0.99)
