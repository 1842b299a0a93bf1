"""Each exercise checker passes the reference and fails at least two plausible wrong answers."""

import pytest
import torch
import torch.nn.functional as F

from rlcore import exercises as ex

# The right answers below are the tests' own, written independently of rlcore (a wrapper around rlcore's function
# fails every checker: test_a_wrapper_lambda_or_partial_around_the_librarys_own_fails).


def gae_by_sums(rewards, values, mask, gamma, lam):
    """GAE as the sum it unrolls to, A_t = sum_l (gamma lam)^l delta_{t+l} over the response (no backward loop)."""
    rewards, values = rewards * mask, values * mask
    B, T = rewards.shape
    nxt = torch.cat([values[:, 1:] * mask[:, 1:], torch.zeros(B, 1)], 1)
    delta = (rewards + gamma * nxt - values) * mask
    adv = torch.zeros(B, T)
    for t in range(T):
        for k in range(t, T):
            adv[:, t] += (gamma * lam) ** (k - t) * delta[:, k]
    adv = adv * mask
    return adv, (adv + values) * mask


def clipped_surrogate(lp, old, adv, mask, eps):
    ratio = torch.exp(lp - old)
    loss = torch.maximum(-adv * ratio, -adv * ratio.clamp(1 - eps, 1 + eps))
    return (loss * mask).sum() / mask.sum()


def test_ranking_loss_checker(capsys):
    assert ex.check_ranking_loss(lambda c, r: F.softplus(r - c).mean())  # -log sigma(x) = softplus(-x)
    assert not ex.check_ranking_loss(lambda c, r: -F.logsigmoid(r - c).mean())  # sign flipped
    assert not ex.check_ranking_loss(lambda c, r: -F.logsigmoid(c - r).sum())  # sum, not mean
    assert not ex.check_ranking_loss(lambda c, r: (c - r).mean())  # not a log-likelihood
    out = capsys.readouterr().out
    assert out.count("PASS") == 1 and out.count("FAIL") == 3 and "expected" in out
    # log of a sigmoid: right at small margins, inf at -200
    assert not ex.check_ranking_loss(lambda c, r: -torch.log(torch.sigmoid(c - r)).mean())
    assert "case 'margins of +-100" in capsys.readouterr().out


def _gae_without_mask(rewards, values, mask, gamma, lam):
    return gae_by_sums(rewards, values, torch.ones_like(mask), gamma, lam)


def _gae_gamma_only(rewards, values, mask, gamma, lam):
    return gae_by_sums(rewards, values, mask, gamma, 1.0)


def _gae_crashes(rewards, values, mask, gamma, lam):
    raise NotImplementedError("write me")


def test_gae_checker(capsys):
    assert ex.check_compute_gae(gae_by_sums)
    assert not ex.check_compute_gae(_gae_without_mask)
    assert not ex.check_compute_gae(_gae_gamma_only)
    assert not ex.check_compute_gae(lambda r, v, m, g, l: gae_by_sums(r, v, m, g, l)[0])  # returns one thing
    assert not ex.check_compute_gae(_gae_crashes)
    assert "NotImplementedError: write me" in capsys.readouterr().out


def test_policy_loss_checker():
    assert ex.check_policy_loss(clipped_surrogate)

    def no_clip(lp, old, adv, mask, eps):
        return -((adv * torch.exp(lp - old)) * mask).sum() / mask.sum()

    def minimum_instead_of_maximum(lp, old, adv, mask, eps):
        ratio = torch.exp(lp - old)
        loss = torch.minimum(-adv * ratio, -adv * ratio.clamp(1 - eps, 1 + eps))
        return (loss * mask).sum() / mask.sum()

    def unmasked(lp, old, adv, mask, eps):
        return clipped_surrogate(lp, old, adv, torch.ones_like(mask), eps)

    for wrong in (no_clip, minimum_instead_of_maximum, unmasked):
        assert not ex.check_policy_loss(wrong)


def test_kl_checker():
    assert ex.check_kl_k3(lambda a, b: torch.expm1(b - a) - (b - a))
    assert not ex.check_kl_k3(lambda a, b: a - b)  # that is k1
    assert not ex.check_kl_k3(lambda a, b: torch.expm1(a - b) - (a - b))  # ratio the wrong way round


def test_swap_label_checker():
    assert ex.check_swap_label(lambda p_ab, p_ba: (p_ab + 1 - p_ba) / 2)
    assert not ex.check_swap_label(lambda p_ab, p_ba: (p_ab + p_ba) / 2)  # forgot to flip the second order
    assert not ex.check_swap_label(lambda p_ab, p_ba: p_ab)  # no swap at all


def test_dpo_loss_checker(capsys):
    from rlcore.dpo import dpo_loss

    assert ex.check_dpo_loss(lambda pc, pr, rc, rr, beta: F.softplus(-beta * ((pc - rc) - (pr - rr))).mean())
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

    assert not check_group_advantages(wrong)
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

    assert check_group_advantages(counted)
    assert "PASS" in capsys.readouterr().out and calls[-2:] == [4, 4]  # called by GRPOTrainer.step, twice
    # right on every case (the checker passes copies) but centring the caller's rewards in place: inside the
    # trainer that rewrites the batch's scores, and only the run inside the trainer can see it
    def in_place(rewards, group_size):
        r = rewards.view(-1, group_size)
        r -= r.mean(1, keepdim=True)
        return (r / (r.std(1, keepdim=True) + 1e-6)).flatten().clone()

    assert not check_group_advantages(in_place)
    assert "inside GRPOTrainer (2 steps), step 0: score" in capsys.readouterr().out


# --------------------------------------------------------------------------- the plumbing exercises (issue 30)
def _fails_on(checker, wrong, case, capsys):
    """The checker rejects ``wrong`` and its message names ``case``."""
    capsys.readouterr()  # drop what came before
    assert not checker(wrong)
    out = capsys.readouterr().out
    assert out.startswith("FAIL") and case in out, out
    return out


@pytest.mark.parametrize("checker, library", [
    ("check_token_logprobs", "rlcore.rollout.logprobs_from_logits"), ("check_eos_mask", "rlcore.rollout.response_mask_from_eos"),
    ("check_sft_loss", "rlcore.sft.sft_loss"), ("check_last_token_reward", "rlcore.reward.last_token_scores"),
    ("check_compute_gae", "rlcore.gae.compute_gae"), ("check_masked_whiten", "rlcore.rollout.masked_whiten"),
    ("check_value_loss", "rlcore.ppo.value_loss"), ("check_policy_loss", "rlcore.ppo.policy_loss"),
    ("check_ranking_loss", "rlcore.reward.ranking_loss"), ("check_optimizer_step", "rlcore.training.optimizer_step"),
    ("check_rloo_advantages", "rlcore.reinforce.rloo_advantages"), ("check_group_advantages", "rlcore.grpo.group_advantages"),
])
def test_every_checker_refuses_the_librarys_own_function(checker, library, capsys):
    import importlib

    module, name = library.rsplit(".", 1)
    assert not getattr(ex, checker)(getattr(importlib.import_module(module), name))
    assert "library's own" in capsys.readouterr().out


def _wrappers():
    """A lambda, a functools.partial and a closure around rlcore's own function, for every checker whose exercise
    the library solves: each signature is the student's."""
    import functools

    from rlcore import dpo, gae, grpo, ppo, reinforce, reward, rollout, sft, training

    held = gae.compute_gae  # a reference captured before the check: swapping a module attribute would miss it
    return {
        "check_token_logprobs": lambda logits, tokens, mask: rollout.logprobs_from_logits(logits, tokens) * mask,
        "check_eos_mask": functools.partial(rollout.response_mask_from_eos),
        "check_sft_loss": lambda *a: sft.sft_loss(*a),
        "check_last_token_reward": functools.partial(reward.last_token_scores),
        "check_compute_gae": lambda *a: held(*a),
        "check_masked_whiten": lambda v, m: rollout.masked_whiten(v, m),
        "check_value_loss": functools.partial(ppo.value_loss),
        "check_policy_loss": lambda *a: ppo.policy_loss(*a),
        "check_ranking_loss": lambda c, r: reward.ranking_loss(c, r),
        "check_optimizer_step": lambda *a: training.optimizer_step(*a),
        "check_rloo_advantages": lambda r, g: reinforce.rloo_advantages(r, g),
        "check_group_advantages": lambda r, g: grpo.group_advantages(r, g),
        "check_kl_k3": lambda lp, ref: rollout.kl_penalty(lp, ref, "k3"),
        "check_per_token_rewards": lambda s, lp, ref, m, c, e: ppo.compute_rewards(s, lp, ref, m, c, e)[0],
        "check_dpo_loss": lambda *a: dpo.dpo_loss(*a)[0],
    }


@pytest.mark.parametrize("checker", sorted(_wrappers()))
def test_a_wrapper_lambda_or_partial_around_the_librarys_own_fails(checker, capsys):
    from rlcore import gae

    wrapper = _wrappers()[checker]
    x = torch.randn(2, 3)
    before = gae.compute_gae(x, x, torch.ones(2, 3), 1.0, 0.9)
    assert not getattr(ex, checker)(wrapper)
    out = capsys.readouterr().out
    assert out.startswith("FAIL") and "you called rlcore's own rlcore." in out, out
    after = gae.compute_gae(x, x, torch.ones(2, 3), 1.0, 0.9)  # the library's code is back after the check
    assert all(torch.equal(a, b) for a, b in zip(before, after))


def test_every_library_exercise_has_a_wrapper_test():
    # a new checker of a library function joins _wrappers (check_swap_label's reference is the checker's own)
    assert set(_wrappers()) == set(ex.__all__) - {"check_swap_label", "check_optimal_policy", "yours_or_rlcores"}


def test_token_logprobs_checker(capsys):
    def right(logits, tokens, mask):
        return F.log_softmax(logits, -1).gather(2, tokens.unsqueeze(-1)).squeeze(-1) * mask

    assert ex.check_token_logprobs(right)
    assert "and GRPOTrainer (2 steps) gives the library's statistics" in capsys.readouterr().out
    _fails_on(ex.check_token_logprobs, lambda l, t, m: torch.log(torch.softmax(l, -1)).gather(2, t[..., None])[..., 0] * m,
              "logits of +-100", capsys)
    _fails_on(ex.check_token_logprobs, lambda l, t, m: F.log_softmax(l, -1).gather(2, t[..., None])[..., 0],
              "padding after the response", capsys)
    _fails_on(ex.check_token_logprobs, lambda l, t, m: F.log_softmax(l, 1).gather(2, t[..., None])[..., 0] * m,
              "uniform logits", capsys)  # the softmax over positions instead of the vocabulary
    # right values, but detached: every case passes, and only the trainer's backward pass finds it out
    out = _fails_on(ex.check_token_logprobs, lambda l, t, m: right(l.detach(), t, m), "inside GRPOTrainer", capsys)
    assert "does not require grad" in out


def test_eos_mask_checker(capsys):
    def right(ids, eos):
        is_eos = (ids == eos).long()
        return ((is_eos.cumsum(1) - is_eos) == 0).long()

    assert ex.check_eos_mask(right)
    _fails_on(ex.check_eos_mask, lambda ids, eos: ((ids == eos).long().cumsum(1) == 0).long(), "by hand", capsys)  # drops EOS
    _fails_on(ex.check_eos_mask, lambda ids, eos: (ids != eos).long(), "by hand", capsys)  # every EOS, not the first
    def last_slot_dropped(ids, eos):
        mask = right(ids, eos)
        mask[:, -1] = 0  # "the last token is never part of the response"
        return mask

    _fails_on(ex.check_eos_mask, last_slot_dropped, "by hand", capsys)  # its second row has no EOS


def test_sft_loss_checker(capsys):
    def right(logits, ids, mask):
        lp = F.log_softmax(logits[:, :-1], -1).gather(2, ids[:, 1:, None])[..., 0]
        m = mask[:, 1:]
        return -(lp * m).sum() / m.sum()

    assert ex.check_sft_loss(right)

    def no_shift(logits, ids, mask):  # the logit at i scored against token i
        lp = F.log_softmax(logits, -1).gather(2, ids[..., None])[..., 0]
        return -(lp * mask).sum() / mask.sum()

    def sequence_means(logits, ids, mask):
        lp = F.log_softmax(logits[:, :-1], -1).gather(2, ids[:, 1:, None])[..., 0]
        m = mask[:, 1:]
        return -((lp * m).sum(1) / m.sum(1)).mean()

    def every_token(logits, ids, mask):  # the prompt learned too
        return right(logits, ids, torch.ones_like(mask))

    _fails_on(ex.check_sft_loss, no_shift, "responses of unequal length", capsys)
    _fails_on(ex.check_sft_loss, sequence_means, "responses of unequal length", capsys)
    _fails_on(ex.check_sft_loss, every_token, "responses of unequal length", capsys)


def test_last_token_reward_checker(capsys):
    def right(scores, mask):
        last = (torch.arange(mask.shape[1]) * mask.long()).argmax(1)
        return scores.gather(1, last[:, None])[:, 0]

    assert ex.check_last_token_reward(right)
    assert "rlcore.reward.train_reward_model (2 steps) gives the library's statistics" in capsys.readouterr().out
    _fails_on(ex.check_last_token_reward, lambda s, m: s[:, -1], "right padding", capsys)
    _fails_on(ex.check_last_token_reward, lambda s, m: s.gather(1, (m.sum(1).long() - 1)[:, None])[:, 0],
              "left padding", capsys)


def test_per_token_rewards_checker(capsys):
    def right(scores, lp, ref, mask, kl_coef, estimator):
        log_ratio = lp - ref
        kl = log_ratio if estimator == "k1" else torch.expm1(-log_ratio) + log_ratio
        rewards = -kl_coef * kl * mask
        last = mask.sum(1).long() - 1
        rewards[torch.arange(len(scores)), last] += scores
        return rewards

    assert ex.check_per_token_rewards(right)
    assert "PPOTrainer (2 steps) gives the library's statistics" in capsys.readouterr().out

    def last_column(scores, lp, ref, mask, kl_coef, estimator):
        rewards = right(scores, lp, ref, mask, kl_coef, estimator)
        rewards[torch.arange(len(scores)), mask.sum(1).long() - 1] -= scores
        rewards[:, -1] += scores  # the score on the last column, padding or not
        return rewards

    def careless_k3(scores, lp, ref, mask, kl_coef, estimator):
        if estimator == "k1":
            return right(scores, lp, ref, mask, kl_coef, estimator)
        x = lp - ref
        rewards = -kl_coef * ((torch.exp(-x) - 1) + x) * mask
        rewards[torch.arange(len(scores)), mask.sum(1).long() - 1] += scores
        return rewards

    _fails_on(ex.check_per_token_rewards, last_column, "k1, ragged responses", capsys)
    _fails_on(ex.check_per_token_rewards, careless_k3, "log-ratios of 1e-6", capsys)
    _fails_on(ex.check_per_token_rewards, lambda s, lp, ref, m, c, e: right(s, lp, ref, m, 0.1, e),
              "an unusual KL coefficient", capsys)  # the coefficient hard-coded


def test_gae_checker_runs_inside_ppo_and_catches_leaking_padding(capsys):
    assert ex.check_compute_gae(gae_by_sums)
    assert "PPOTrainer (2 steps) gives the library's statistics" in capsys.readouterr().out
    _fails_on(ex.check_compute_gae, _gae_without_mask, "values of 1000 on the padding", capsys)
    _fails_on(ex.check_compute_gae, _gae_gamma_only, "lam = 0", capsys)


def test_masked_whiten_checker(capsys):
    def right(values, mask):
        n = mask.sum()
        mean = (values * mask).sum() / n
        var = (((values - mean) ** 2) * mask).sum() / (n - 1)
        return (values - mean) / torch.sqrt(var + 1e-8) * mask

    assert ex.check_masked_whiten(right)
    _fails_on(ex.check_masked_whiten, lambda v, m: (v - v.mean()) / (v.std() + 1e-8) * m,
              "padding of 100 must not move", capsys)

    def population(values, mask):
        n = mask.sum()
        mean = (values * mask).sum() / n
        return (values - mean) / torch.sqrt((((values - mean) ** 2) * mask).sum() / n + 1e-8) * mask

    _fails_on(ex.check_masked_whiten, population, "by hand", capsys)
    _fails_on(ex.check_masked_whiten, lambda v, m: right(v, m) + (1 - m) * v, "padding of 100", capsys)  # padding kept


def test_value_loss_checker(capsys):
    def right(v, old, ret, mask, eps):
        clipped = old + (v - old).clamp(-eps, eps)
        return 0.5 * (torch.maximum((v - ret) ** 2, (clipped - ret) ** 2) * mask).sum() / mask.sum()

    assert ex.check_value_loss(right)
    _fails_on(ex.check_value_loss, lambda v, old, ret, m, eps: right(v, old, ret, m, 0.2), "an unusual clip range", capsys)

    def minimum(v, old, ret, mask, eps):
        clipped = old + (v - old).clamp(-eps, eps)
        return 0.5 * (torch.minimum((v - ret) ** 2, (clipped - ret) ** 2) * mask).sum() / mask.sum()

    _fails_on(ex.check_value_loss, minimum, "inside and outside", capsys)
    _fails_on(ex.check_value_loss, lambda v, old, ret, m, eps: 2 * right(v, old, ret, m, eps), "inside and outside", capsys)
    _fails_on(ex.check_value_loss, lambda v, old, ret, m, eps: right(v, old, ret, torch.ones_like(m), eps),
              "inside and outside", capsys)


def test_policy_loss_checker_catches_a_hard_coded_clip_range(capsys):
    _fails_on(ex.check_policy_loss, lambda lp, old, adv, m, eps: clipped_surrogate(lp, old, adv, m, 0.2),
              "an unusual clip range (0.05)", capsys)


def test_kl_checker_catches_a_careless_k3_at_tiny_log_ratios(capsys):
    def careless(lp, ref):  # (e^{-x} - 1) + x: e^{-x} rounds to within 6e-8 of 1 in float32, k3 is ~5e-13
        x = lp - ref
        return (torch.exp(-x) - 1) + x

    _fails_on(ex.check_kl_k3, careless, "log-ratios of 1e-6", capsys)
    assert ex.check_kl_k3(lambda a, b: torch.expm1(b - a) - (b - a))
    assert "GRPOTrainer's KL term (2 steps) gives the library's statistics" in capsys.readouterr().out


def test_optimizer_step_checker(capsys):
    def right(model, optimizer, loss, max_grad_norm):
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()

    assert ex.check_optimizer_step(right)
    assert "train_sft (2 steps) gives the library's statistics" in capsys.readouterr().out

    def no_zero_grad(model, optimizer, loss, max_grad_norm):
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()

    def clip_after_step(model, optimizer, loss, max_grad_norm):
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)

    _fails_on(ex.check_optimizer_step, no_zero_grad, "a stale gradient", capsys)
    _fails_on(ex.check_optimizer_step, clip_after_step, "a stale gradient", capsys)  # clipping too late changes every case
    _fails_on(ex.check_optimizer_step, lambda m, o, l, n: right(m, o, l, 1.0), "an unusual max_grad_norm", capsys)


def test_rloo_checker(capsys):
    def right(rewards, G):
        r = rewards.view(-1, G)
        return (r - (r.sum(1, keepdim=True) - r) / (G - 1)).flatten()

    assert ex.check_rloo_advantages(right)
    assert "ReinforceTrainer with the RLOO baseline (2 steps) gives the library's statistics" in capsys.readouterr().out
    _fails_on(ex.check_rloo_advantages, lambda r, G: (r.view(-1, G) - r.view(-1, G).mean(1, keepdim=True)).flatten(),
              "by hand", capsys)  # the mean with itself included
    _fails_on(ex.check_rloo_advantages, lambda r, G: r - (r.sum() - r) / (len(r) - 1), "by hand", capsys)  # batch


def test_swap_label_and_dpo_checkers_name_their_edge_cases(capsys):
    _fails_on(ex.check_swap_label, lambda a, b: (a + b) / 2, "pure position bias", capsys)
    _fails_on(ex.check_dpo_loss, lambda pc, pr, rc, rr, beta: -torch.log(torch.sigmoid(beta * ((pc - rc) - (pr - rr)))).mean(),
              "margins of +-100", capsys)
    _fails_on(ex.check_dpo_loss, lambda pc, pr, rc, rr, beta: -F.logsigmoid(0.1 * ((pc - rc) - (pr - rr))).mean(),
              "by hand", capsys)  # beta hard-coded


def test_optimal_policy_checker(capsys):
    def by_weights(pi_ref, reward, beta):  # the same optimum, exponentiated after shifting by the largest logit
        z = torch.log(pi_ref) + reward / beta
        w = torch.exp(z - z.max())
        return w / w.sum()

    assert ex.check_optimal_policy(by_weights)
    def naive(pi_ref, reward, beta):
        return pi_ref * torch.exp(reward / beta) / (pi_ref * torch.exp(reward / beta)).sum()

    _fails_on(ex.check_optimal_policy, naive, "beta = 0.001", capsys)  # inf / inf
    _fails_on(ex.check_optimal_policy, lambda p, r, b: torch.softmax(r / b, 0), "beta = 1000", capsys)  # no pi_ref
    _fails_on(ex.check_optimal_policy, lambda p, r, b: torch.softmax(torch.log(p) + r * b, 0), "beta = 0.001",
              capsys)  # beta multiplied, not divided
    _fails_on(ex.check_optimal_policy, lambda p, r, b: p * torch.exp(r / b), "by hand", capsys)  # not normalised
