"""Each exercise checker passes the reference and fails at least two plausible wrong answers."""

import pytest
import torch
import torch.nn.functional as F

from rlcore import exercises as ex
from rlcore.gae import compute_gae
from rlcore.ppo import kl_penalty, policy_loss
from rlcore.reward import ranking_loss


def test_ranking_loss_checker(capsys):
    assert ex.check_ranking_loss(ranking_loss)
    assert not ex.check_ranking_loss(lambda c, r: -F.logsigmoid(r - c).mean())  # sign flipped
    assert not ex.check_ranking_loss(lambda c, r: -torch.log(torch.sigmoid(c - r)).sum())  # sum, not mean
    assert not ex.check_ranking_loss(lambda c, r: (c - r).mean())  # not a log-likelihood
    out = capsys.readouterr().out
    assert out.count("PASS") == 1 and out.count("FAIL") == 3 and "expected" in out


def _gae_without_mask(rewards, values, mask, gamma, lam):
    return compute_gae(rewards, values, torch.ones_like(mask), gamma, lam)


def _gae_gamma_only(rewards, values, mask, gamma, lam):
    return compute_gae(rewards, values, mask, gamma, 1.0)


def _gae_crashes(rewards, values, mask, gamma, lam):
    raise NotImplementedError("write me")


def test_gae_checker(capsys):
    assert ex.check_compute_gae(compute_gae)
    assert not ex.check_compute_gae(_gae_without_mask)
    assert not ex.check_compute_gae(_gae_gamma_only)
    assert not ex.check_compute_gae(lambda r, v, m, g, l: compute_gae(r, v, m, g, l)[0])  # returns one thing
    assert not ex.check_compute_gae(_gae_crashes)
    assert "NotImplementedError: write me" in capsys.readouterr().out


def test_policy_loss_checker():
    assert ex.check_policy_loss(policy_loss)

    def no_clip(lp, old, adv, mask, eps):
        return -((adv * torch.exp(lp - old)) * mask).sum() / mask.sum()

    def minimum_instead_of_maximum(lp, old, adv, mask, eps):
        ratio = torch.exp(lp - old)
        loss = torch.minimum(-adv * ratio, -adv * ratio.clamp(1 - eps, 1 + eps))
        return (loss * mask).sum() / mask.sum()

    def unmasked(lp, old, adv, mask, eps):
        return policy_loss(lp, old, adv, torch.ones_like(mask), eps)

    for wrong in (no_clip, minimum_instead_of_maximum, unmasked):
        assert not ex.check_policy_loss(wrong)


def test_kl_checker():
    assert ex.check_kl_k3(lambda a, b: kl_penalty(a, b, "k3"))
    assert not ex.check_kl_k3(lambda a, b: a - b)  # that is k1
    assert not ex.check_kl_k3(lambda a, b: torch.expm1(a - b) - (a - b))  # ratio the wrong way round


def test_swap_label_checker():
    assert ex.check_swap_label(lambda p_ab, p_ba: (p_ab + 1 - p_ba) / 2)
    assert not ex.check_swap_label(lambda p_ab, p_ba: (p_ab + p_ba) / 2)  # forgot to flip the second order
    assert not ex.check_swap_label(lambda p_ab, p_ba: p_ab)  # no swap at all


def test_dpo_loss_checker(capsys):
    from rlcore.dpo import dpo_loss

    assert ex.check_dpo_loss(lambda pc, pr, rc, rr, beta: dpo_loss(pc, pr, rc, rr, beta)[0])
    # a hand-worked case: beta * ((-5 + 6) - (-7 + 6)) = 0.5 * 2 = 1 -> -log sigma(1) = 0.3133
    assert abs(dpo_loss(*[torch.tensor([x]) for x in (-5.0, -7.0, -6.0, -6.0)], beta=0.5)[0].item() - 0.31326) < 1e-4
    wrong = {
        "no reference": lambda pc, pr, rc, rr, beta: -F.logsigmoid(beta * (pc - pr)).mean(),
        "reference added": lambda pc, pr, rc, rr, beta: -F.logsigmoid(beta * ((pc + rc) - (pr + rr))).mean(),
        "beta outside": lambda pc, pr, rc, rr, beta: -beta * F.logsigmoid((pc - rc) - (pr - rr)).mean(),
        "sum, not mean": lambda pc, pr, rc, rr, beta: -F.logsigmoid(beta * ((pc - rc) - (pr - rr))).sum(),
    }
    for fn in wrong.values():
        assert not ex.check_dpo_loss(fn)
    out = capsys.readouterr().out
    assert out.count("PASS") == 1 and out.count("FAIL") == len(wrong)


def _group_view(rewards, group_size):
    return rewards.view(-1, group_size)


def right_group_advantages(rewards, group_size):
    r = _group_view(rewards, group_size)
    return ((r - r.mean(1, keepdim=True)) / (r.std(1, keepdim=True) + 1e-6)).flatten()


@pytest.mark.parametrize("wrong, case", [
    # no epsilon: a group whose rewards are all equal divides 0 by 0
    (lambda r, G: ((_group_view(r, G) - _group_view(r, G).mean(1, keepdim=True))
                   / _group_view(r, G).std(1, keepdim=True)).flatten(), "all equal"),
    # the batch's mean and std instead of the group's
    (lambda r, G: (r - r.mean()) / (r.std() + 1e-6), "two prompts, G=3, by hand"),
    # the population std (no Bessel correction)
    (lambda r, G: ((_group_view(r, G) - _group_view(r, G).mean(1, keepdim=True))
                   / (_group_view(r, G).std(1, unbiased=False, keepdim=True) + 1e-6)).flatten(), "two prompts"),
    # the groups read column-wise (prompt-major order misread)
    (lambda r, G: right_group_advantages(r.view(G, -1).T.flatten(), G), "two prompts"),
    # (P, G) returned instead of the flat (N,)
    (lambda r, G: right_group_advantages(r, G).view(-1, G), "shape"),
])
def test_group_advantages_checker_names_the_case_each_mistake_fails(wrong, case, capsys):
    from rlcore.exercises import check_group_advantages

    assert not check_group_advantages(wrong, trainer_steps=1)
    out = capsys.readouterr().out
    assert out.startswith("FAIL  group_advantages") and case in out


def test_group_advantages_checker_refuses_the_librarys_own_and_runs_the_trainer(capsys, monkeypatch):
    from rlcore import grpo
    from rlcore.exercises import check_group_advantages

    assert not check_group_advantages(grpo.group_advantages)
    assert "library's own" in capsys.readouterr().out
    calls = []

    def counted(rewards, group_size):
        calls.append(group_size)
        return right_group_advantages(rewards, group_size)

    assert check_group_advantages(counted, trainer_steps=2)
    assert "PASS" in capsys.readouterr().out and calls[-2:] == [4, 4]  # called by GRPOTrainer.step, twice
    # right on every case (the checker passes copies) but centring the caller's rewards in place: inside the
    # trainer that rewrites the batch's scores, and only the run inside the trainer can see it
    def in_place(rewards, group_size):
        r = rewards.view(-1, group_size)
        r -= r.mean(1, keepdim=True)
        return (r / (r.std(1, keepdim=True) + 1e-6)).flatten().clone()

    assert not check_group_advantages(in_place, trainer_steps=1)
    assert "inside GRPOTrainer, step 0: score" in capsys.readouterr().out
