"""Checkers for the course's exercises: the student's function against the reference, then inside a real trainer.

Each ``check_*`` (a) compares the student's function with rlcore's on named edge cases (the mistakes the idea is
about: margins of +-100, log-ratios of 1e-6, an unusual clip range, padding on either side, EOS in the last slot,
batch size 1) and on random ones, naming the case, the output and the shapes when they differ; (b) refuses the
library's own function; (c) where the piece belongs to a trainer, runs that rlcore trainer for a few steps with the
student's piece swapped in and compares its statistics with the library's run. It prints one PASS or FAIL line
and returns True/False, so a notebook cell can both show the verdict and ``assert`` it.
"""

from __future__ import annotations

import torch

from rlcore import gae, grpo, ppo, reinforce, reward, rollout, sft, training
from rlcore.dpo import dpo_loss
from rlcore.exercises.harness import (call_student, check, grpo_run, is_the_librarys, ppo_run, report, reward_model_run,
                                     sft_run, swapped_in)

PPO_STATS = ("policy_loss", "value_loss", "score", "kl")
RELATIVE = dict(rtol=1e-3, atol=0.0)  # for values near 0, where an absolute tolerance would accept anything


def _random(seed: int):
    return torch.Generator().manual_seed(seed)


def _ragged_mask(lengths, T) -> torch.Tensor:
    """(B, T) float: row b is 1 on its first lengths[b] positions (a response up to its EOS), then 0."""
    return torch.tensor([[1.0] * n + [0.0] * (T - n) for n in lengths])


# --------------------------------------------------------------------------- lesson 00: the leash's optimum
def _optimal_policy(pi_ref, reward, beta):
    return torch.softmax(torch.log(pi_ref) + reward / beta, dim=0)


def check_optimal_policy(student_fn, seed: int = 0) -> bool:
    """student_fn(pi_ref (K,), reward (K,), beta) -> (K,): the optimum of E[r] - beta KL(pi || pi_ref) over one
    choice, pi*(y) proportional to pi_ref(y) exp(r(y) / beta) (e.g. Rafailov et al. 2023, eq. 4), summing to 1."""
    g = _random(seed)
    cases = [
        ("by hand: two answers, rewards 1 and 0, beta 1", (torch.tensor([0.5, 0.5]), torch.tensor([1.0, 0.0]), 1.0)),
        ("beta = 0.001: exp(r / beta) overflows (work with logarithms)",
         (torch.tensor([0.2, 0.8]), torch.tensor([5.0, 4.0]), 0.001)),
        ("beta = 1000: pi* is pi_ref", (torch.tensor([0.1, 0.3, 0.6]), torch.tensor([2.0, -1.0, 0.5]), 1000.0)),
        ("equal rewards: pi* is pi_ref, whatever beta", (torch.tensor([0.25, 0.75]), torch.tensor([3.0, 3.0]), 0.1)),
        ("an answer pi_ref never writes stays at 0", (torch.tensor([0.0, 0.7, 0.3]), torch.tensor([10.0, 0.0, 1.0]), 0.5)),
        ("one answer only", (torch.tensor([1.0]), torch.tensor([-2.0]), 0.3)),
    ]
    for i, K in enumerate([3, 5, 8]):
        cases.append((f"random case {i}", (torch.softmax(torch.randn(K, generator=g), 0), torch.randn(K, generator=g) * 2,
                                           float(torch.rand(1, generator=g)) + 0.05)))
    return check("optimal_policy", student_fn, _optimal_policy, cases, ("pi*",))


# --------------------------------------------------------------------------- lesson 01: sampling and log-probs
def _masked_token_logprobs(logits, tokens, mask):
    return rollout.logprobs_from_logits(logits, tokens) * mask


def check_token_logprobs(student_fn, seed: int = 0) -> bool:
    """student_fn(logits (B, T, V), tokens (B, T), mask (B, T)) -> (B, T): log pi(token) at every position, 0 where
    the mask is 0. Swapped in for the log-probs of PPO/GRPO's sampling and training passes (with a mask of ones)."""
    g = _random(seed)
    confident = torch.tensor([[[100.0, -100.0, 0.0], [-100.0, 100.0, 0.0]]])  # softmax rounds to exactly 0 and 1
    cases = [
        ("by hand: uniform logits give log(1/V)", (torch.zeros(1, 2, 4), torch.tensor([[0, 3]]), torch.ones(1, 2))),
        ("logits of +-100 (log of a softmax that rounded to 0 is -inf)",
         (confident, torch.tensor([[1, 0]]), torch.ones(1, 2))),
        ("padding after the response is 0, whatever its logits",
         (torch.randn(3, 5, 7, generator=g) * 4, torch.randint(0, 7, (3, 5), generator=g), _ragged_mask([5, 2, 1], 5))),
        ("an all-padding row", (torch.randn(2, 3, 5, generator=g), torch.randint(0, 5, (2, 3), generator=g),
                                _ragged_mask([3, 0], 3))),
        ("batch size 1, one token", (torch.randn(1, 1, 6, generator=g), torch.tensor([[5]]), torch.ones(1, 1))),
    ]
    for i in range(4):
        B, T, V = (int(x) for x in torch.randint(1, 6, (3,), generator=g) + torch.tensor([0, 0, 2]))
        lengths = torch.randint(0, T + 1, (B,), generator=g).tolist()
        cases.append((f"random case {i}", (torch.randn(B, T, V, generator=g) * 3, torch.randint(0, V, (B, T), generator=g),
                                           _ragged_mask(lengths, T))))
    in_grpo = swapped_in(rollout, "logprobs_from_logits", grpo_run, ("loss", "score", "kl"), "GRPOTrainer (2 steps)",
                         adapt=lambda f: lambda logits, tokens: f(logits, tokens, torch.ones_like(tokens, dtype=logits.dtype)))
    return check("token_logprobs", student_fn, _masked_token_logprobs, cases, ("log-probs",), in_grpo,
                 library=(rollout.logprobs_from_logits,))


def check_eos_mask(student_fn, seed: int = 0) -> bool:
    """student_fn(response_ids (B, T), eos_token_id) -> (B, T) of 0/1: 1 on every token up to and including the
    first EOS, 0 after it; a row without EOS is all 1. Swapped in where rlcore.rollout.generate cuts responses."""
    g = _random(seed)
    cases = [
        ("by hand", (torch.tensor([[5, 6, 0, 7, 0], [5, 6, 7, 8, 9]]), 0)),
        ("EOS in the last slot", (torch.tensor([[4, 4, 4, 2]]), 2)),
        ("EOS as the first token", (torch.tensor([[2, 3, 3], [3, 2, 3]]), 2)),
        ("several EOS: only the first one ends the response", (torch.tensor([[1, 9, 9, 1, 9, 9]]), 9)),
        ("no EOS anywhere", (torch.tensor([[3, 4, 5]]), 0)),
        ("batch size 1, one token", (torch.tensor([[0]]), 0)),
    ] + [(f"random case {i}", (torch.randint(0, 4, (3, 6), generator=g), 0)) for i in range(3)]
    in_grpo = swapped_in(rollout, "response_mask_from_eos", grpo_run, ("loss", "score", "kl", "response_length"),
                         "GRPOTrainer (2 steps)")
    return check("eos_mask", student_fn, rollout.response_mask_from_eos, cases, ("mask",), in_grpo)


# --------------------------------------------------------------------------- lesson 02: SFT
def check_sft_loss(student_fn, seed: int = 0) -> bool:
    """student_fn(logits (B, L, V), input_ids (B, L), response_mask (B, L)) -> scalar: the mean negative
    log-likelihood of the response tokens (mask 1), the logit at position i predicting token i + 1, averaged over
    every response token of the batch. Swapped in for rlcore.sft.train_sft's loss."""
    g = _random(seed)

    def case(B, L, V, prompt_lengths, response_lengths, scale=2.0):
        mask = torch.zeros(B, L)
        for b, (p, r) in enumerate(zip(prompt_lengths, response_lengths)):
            mask[b, p:p + r] = 1.0  # prompt, then response + EOS, then padding
        return (torch.randn(B, L, V, generator=g) * scale, torch.randint(0, V, (B, L), generator=g), mask)

    cases = [
        ("responses of unequal length (a token mean, not a mean of sequence means)", case(2, 8, 5, [2, 1], [6, 2])),
        ("the prompt's tokens are not learned", case(1, 6, 4, [3], [3])),
        ("logits of +-100", case(2, 5, 3, [1, 2], [4, 2], scale=100.0)),
        ("batch size 1, one response token", case(1, 3, 6, [2], [1])),
    ] + [(f"random case {i}", case(3, 7, 9, [1, 2, 3], [5, 3, 4])) for i in range(3)]
    in_sft = swapped_in(sft, "sft_loss", sft_run, ("loss",), "rlcore.sft.train_sft (2 steps)")
    return check("sft_loss", student_fn, sft.sft_loss, cases, ("loss",), in_sft)


# --------------------------------------------------------------------------- lesson 03: the reward model
def check_ranking_loss(student_fn, seed: int = 0) -> bool:
    """student_fn(chosen_rewards (B,), rejected_rewards (B,)) -> scalar: the batch mean of -log sigma(r_c - r_r)
    (Bradley-Terry; InstructGPT eq. 1). Swapped in for rlcore.reward.train_reward_model's loss."""
    g = _random(seed)
    cases = [
        ("by hand", (torch.tensor([2.0, 0.0]), torch.tensor([1.0, 1.0]))),
        ("margins of +-100 (log of a sigmoid that rounded to 0 is inf)",
         (torch.tensor([100.0, -100.0]), torch.tensor([-100.0, 100.0]))),
        ("equal rewards give ln 2", (torch.tensor([3.0, -1.0, 0.0]), torch.tensor([3.0, -1.0, 0.0]))),
        ("batch size 1", (torch.tensor([0.5]), torch.tensor([-0.25]))),
    ] + [(f"random case {i}", (torch.randn(b, generator=g) * 3, torch.randn(b, generator=g) * 3))
         for i, b in enumerate([3, 8, 5])]
    in_rm = swapped_in(reward, "ranking_loss", reward_model_run, ("loss",), "rlcore.reward.train_reward_model (2 steps)")
    return check("ranking_loss", student_fn, reward.ranking_loss, cases, ("loss",), in_rm)


def check_last_token_reward(student_fn, seed: int = 0) -> bool:
    """student_fn(scores (B, L), attention_mask (B, L)) -> (B,): each row's score at its last real token (mask 1),
    for right-padded batches (training) and left-padded ones (sampling) alike. Swapped in where the reward model
    reads its reward (rlcore.reward.RewardModel.forward)."""
    g = _random(seed)
    scores = torch.randn(3, 6, generator=g)
    right = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [1, 0, 0, 0, 0, 0]])
    cases = [
        ("right padding", (scores, right)),
        ("left padding", (scores, right.flip(1))),
        ("no padding", (scores, torch.ones(3, 6, dtype=torch.long))),
        ("batch size 1, one token", (torch.tensor([[0.7]]), torch.tensor([[1]]))),
        ("a float mask", (scores, right.float())),
    ]
    in_rm = swapped_in(reward, "last_token_scores", reward_model_run, ("loss",),
                       "rlcore.reward.train_reward_model (2 steps)")
    return check("last_token_reward", student_fn, reward.last_token_scores, cases, ("rewards",), in_rm)


# --------------------------------------------------------------------------- lesson 04: GAE and PPO
def _per_token_rewards(scores, logprobs, ref_logprobs, mask, kl_coef, estimator):
    return ppo.compute_rewards(scores, logprobs, ref_logprobs, mask, kl_coef, estimator)[0]


def check_per_token_rewards(student_fn, seed: int = 0) -> bool:
    """student_fn(scores (B,), logprobs (B, T), ref_logprobs (B, T), mask (B, T), kl_coef, estimator) -> (B, T):
    -kl_coef * KL_t on every response token (estimator "k1" or "k3", :func:`rlcore.rollout.kl_penalty`), plus the score
    on the last response token; 0 on padding. Swapped in for PPO's rewards (rlcore.ppo.compute_rewards)."""
    g = _random(seed)

    def case(lengths, T, kl_coef, estimator, spread=1.0):
        B = len(lengths)
        lp = torch.randn(B, T, generator=g) - 2
        return (torch.randn(B, generator=g) * 2, lp, lp - torch.randn(B, T, generator=g) * spread,
                _ragged_mask(lengths, T), kl_coef, estimator)

    cases = [
        ("k1, ragged responses", case([4, 2, 1], 4, 0.1, "k1")),
        ("k3, ragged responses", case([4, 2, 1], 4, 0.1, "k3")),
        ("EOS in the last slot (the score on the last column)", case([5, 5], 5, 0.1, "k1")),
        ("an unusual KL coefficient (2.5)", case([3, 1], 3, 2.5, "k3")),
        ("no KL penalty (coefficient 0): only the score", case([2, 3], 3, 0.0, "k1")),
        ("log-ratios of 1e-6, k3 (relative tolerance)", case([3, 2], 3, 1.0, "k3", spread=1e-6), RELATIVE),
        ("batch size 1, one token", case([1], 1, 0.2, "k3")),
    ]
    def adapt(f):  # PPOTrainer also passes the EOS flags and the missing-EOS penalty; the student's part is the rest
        def compute_rewards(scores, lp, ref, mask, kl_coef, estimator="k1", ended_with_eos=None,
                            missing_eos_penalty=None):
            if missing_eos_penalty is not None:
                scores = scores - missing_eos_penalty * (~ended_with_eos.bool()).to(scores.dtype)
            return f(scores, lp, ref, mask, kl_coef, estimator), rollout.kl_penalty(lp, ref, estimator) * mask
        return compute_rewards

    in_ppo = swapped_in(ppo, "compute_rewards", ppo_run, PPO_STATS, "PPOTrainer (2 steps)", adapt=adapt)
    return check("per_token_rewards", student_fn, _per_token_rewards, cases, ("rewards",), in_ppo,
                 library=(ppo.compute_rewards,))


def check_compute_gae(student_fn, seed: int = 0) -> bool:
    """student_fn(rewards, values, mask, gamma, lam) -> (advantages, returns), all (B, T): generalised advantage
    estimation (Schulman et al. 2016) over each response, 0 after its last token; returns = advantages + values.
    Swapped in for PPO's (rlcore.ppo)."""
    g = _random(seed)

    def case(lengths, T, gamma, lam, pad_values=0.0):
        B = len(lengths)
        mask = _ragged_mask(lengths, T)
        values = torch.randn(B, T, generator=g) + pad_values * (1 - mask)
        return (torch.randn(B, T, generator=g) * mask, values, mask, gamma, lam)

    cases = [
        ("gamma = lam = 1: advantage = reward-to-go - V", case([3, 3], 3, 1.0, 1.0)),
        ("lam = 0: one-step TD errors", case([4, 4], 4, 0.9, 0.0)),
        ("values of 1000 on the padding must not leak into the last token", case([2, 4, 1], 4, 1.0, 0.95, 1000.0)),
        ("EOS in the last slot", case([5], 5, 0.99, 0.95)),
        ("batch size 1, one token", case([1], 1, 1.0, 0.95)),
    ] + [(f"random case {i}", case(torch.randint(1, 6, (3,), generator=g).tolist(), 5, 0.99, 0.95)) for i in range(3)]
    in_ppo = swapped_in(ppo, "compute_gae", ppo_run, PPO_STATS, "PPOTrainer (2 steps)")
    return check("compute_gae", student_fn, gae.compute_gae, cases, ("advantages", "returns"), in_ppo)


def check_masked_whiten(student_fn, seed: int = 0) -> bool:
    """student_fn(values (B, T), mask (B, T)) -> (B, T): (values - mean) / sqrt(var + 1e-8), the mean and the
    (unbiased) variance over the masked positions only; 0 on padding. Swapped in for PPO's advantage whitening."""
    g = _random(seed)
    cases = [
        ("by hand", (torch.tensor([[1.0, 2.0, 3.0, 4.0]]), torch.ones(1, 4))),
        ("padding of 100 must not move the mean or the std", (torch.tensor([[1.0, 2.0, 100.0], [3.0, 100.0, 100.0]]),
                                                               _ragged_mask([2, 1], 3))),
        ("the unbiased variance (n - 1)", (torch.randn(2, 3, generator=g), _ragged_mask([3, 2], 3))),
        ("values on a large scale", (torch.randn(3, 4, generator=g) * 1000 + 50, _ragged_mask([4, 2, 3], 4))),
        ("batch size 1", (torch.randn(1, 5, generator=g), _ragged_mask([4], 5))),
    ]
    in_ppo = swapped_in(ppo, "masked_whiten", ppo_run, PPO_STATS, "PPOTrainer (2 steps)")
    return check("masked_whiten", student_fn, rollout.masked_whiten, cases, ("whitened",), in_ppo)


def check_policy_loss(student_fn, seed: int = 0) -> bool:
    """student_fn(logprobs, old_logprobs, advantages, mask, clip_range) -> scalar: PPO's clipped surrogate (Schulman
    et al. 2017, eq. 7) as a loss, the masked mean over tokens. Swapped in for PPO's (rlcore.ppo)."""
    g = _random(seed)

    def case(lengths, T, clip_range, spread=0.5):
        B = len(lengths)
        old = torch.randn(B, T, generator=g) - 2
        return (old + torch.randn(B, T, generator=g) * spread, old, torch.randn(B, T, generator=g),
                _ragged_mask(lengths, T), clip_range)

    cases = [
        ("ratios inside and outside the clip range", case([4, 2, 3], 4, 0.2)),
        ("an unusual clip range (0.05)", case([3, 3], 3, 0.05)),
        ("a wide clip range (0.5)", case([5, 1], 5, 0.5, spread=1.0)),
        ("padding with huge ratios must be ignored", case([1, 2], 4, 0.2, spread=5.0)),
        ("batch size 1, one token", case([1], 1, 0.2)),
    ]
    in_ppo = swapped_in(ppo, "policy_loss", ppo_run, PPO_STATS, "PPOTrainer (2 steps)")
    return check("policy_loss", student_fn, ppo.policy_loss, cases, ("loss",), in_ppo)


def check_value_loss(student_fn, seed: int = 0) -> bool:
    """student_fn(values, old_values, returns, mask, clip_range_value) -> scalar: 0.5 * the masked mean over tokens of
    max((V - R)^2, (V_clip - R)^2), V_clip = V_old + clip(V - V_old, -eps, eps). Swapped in for PPO's value loss."""
    g = _random(seed)

    def case(lengths, T, clip, spread=0.5):
        B = len(lengths)
        old = torch.randn(B, T, generator=g)
        return (old + torch.randn(B, T, generator=g) * spread, old, torch.randn(B, T, generator=g) * 2,
                _ragged_mask(lengths, T), clip)

    cases = [
        ("values moved inside and outside the clip range", case([4, 2, 3], 4, 0.2)),
        ("an unusual clip range (0.05)", case([3, 3], 3, 0.05)),
        ("a wide clip range (10: no clipping)", case([2, 3], 3, 10.0)),
        ("padding far from the returns must be ignored", case([1, 2], 4, 0.2, spread=50.0)),
        ("batch size 1, one token", case([1], 1, 0.2)),
    ]
    in_ppo = swapped_in(ppo, "value_loss", ppo_run, PPO_STATS, "PPOTrainer (2 steps)")
    return check("value_loss", student_fn, ppo.value_loss, cases, ("loss",), in_ppo)


def _k3(logprobs, ref_logprobs):
    return rollout.kl_penalty(logprobs, ref_logprobs, "k3")


def check_kl_k3(student_fn, seed: int = 0) -> bool:
    """student_fn(logprobs, ref_logprobs) -> (B, T): the k3 estimate of KL(pi || pi_ref) per token,
    (r - 1) - log r with r = pi_ref / pi (Schulman 2020), exact down to log-ratios of 1e-6. Swapped in for PPO's KL
    penalty with the k3 estimator."""
    g = _random(seed)
    lp = torch.randn(2, 5, generator=g) - 2
    cases = [
        ("by hand", (torch.tensor([[-1.0, -2.0]]), torch.tensor([[-2.0, -1.0]]))),
        ("log-ratios of 1e-6 (relative tolerance: exp(x) - 1 loses every digit)", (lp, lp - 1e-6), RELATIVE),
        ("log-ratios of -1e-6", (lp, lp + 1e-6), RELATIVE),
        ("the same distribution: exactly 0", (lp, lp.clone())),
        ("batch size 1", (torch.tensor([[-0.5]]), torch.tensor([[-3.0]]))),
    ] + [(f"random case {i}", (torch.randn(2, 5, generator=g), torch.randn(2, 5, generator=g))) for i in range(3)]

    # GRPO's loss holds beta * k3 (rlcore.grpo.grpo_loss); its logged KL is k1, left to the library
    in_grpo = swapped_in(grpo, "kl_penalty", grpo_run, ("loss", "score", "kl"), "GRPOTrainer's KL term (2 steps)",
                         adapt=lambda f: lambda a, b, estimator="k1": f(a, b) if estimator == "k3" else a - b)
    return check("kl_k3", student_fn, _k3, cases, ("kl",), in_grpo, library=(rollout.kl_penalty,))


# --------------------------------------------------------------------------- the optimizer step (every trainer)
def _optimizer_step(model, optimizer, loss, max_grad_norm):
    training.optimizer_step(model, optimizer, loss, max_grad_norm)


def check_optimizer_step(student_fn, seed: int = 0) -> bool:
    """student_fn(model, optimizer, loss, max_grad_norm) -> None: one update, as every trainer of the course does
    it: clear the old gradients, backpropagate, clip the gradient norm to ``max_grad_norm``, step. Checked on a
    small model (a stale gradient left from before, a gradient far above the clip), then swapped in for SFT's."""
    name = "optimizer_step"
    if is_the_librarys(student_fn, training.optimizer_step):
        return report(name, "that is the library's own rlcore.training.optimizer_step: write your own")
    named = {"a stale gradient from before must be cleared": (1.0, 1.0), "a gradient far above the clip": (100.0, 1.0),
             "an unusual max_grad_norm (0.3)": (100.0, 0.3)}
    for label, (scale, max_norm) in named.items():
        after = []
        for fn in (student_fn, _optimizer_step):
            torch.manual_seed(seed)
            model = torch.nn.Linear(3, 2)
            optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
            model(torch.ones(1, 3)).sum().backward()  # a stale gradient left by someone else
            x = torch.randn(4, 3, generator=_random(seed))
            loss = scale * (model(x) ** 2).mean()
            if fn is student_fn:  # rlcore's own step refuses to run inside the student's
                _, error = call_student(fn, (model, optimizer, loss, max_norm), (training.optimizer_step,))
                if error is not None:
                    return report(name, f"case '{label}': {error}")
            else:
                fn(model, optimizer, loss, max_norm)
            after.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
        if not torch.allclose(after[0], after[1], rtol=1e-5, atol=1e-6):
            return report(name, f"case '{label}': the weights after your step differ from the reference's\n"
                                f"      expected: {after[1][:4].tolist()}\n      got:      {after[0][:4].tolist()}")
    in_sft = swapped_in(training, "optimizer_step", sft_run, ("loss",), "rlcore.sft.train_sft (2 steps)")
    failure, where = in_sft(student_fn)
    return report(name, failure, f"matches the reference on every case, and {where} gives the library's statistics "
                                 "with it")


# --------------------------------------------------------------------------- lesson 06: the AI labeler
def _reference_swap_label(p_a_first: float, p_b_first: float) -> float:
    return (p_a_first + (1.0 - p_b_first)) / 2


def check_swap_label(student_fn, seed: int = 0) -> bool:
    """student_fn(p_a_first, p_b_first) -> P(a better) averaged over both orders.

    p_a_first = P(slot 1 better) when a is shown first; p_b_first = P(slot 1 better) when b is first.
    """
    g = _random(seed)
    cases = [
        ("a labeler that always says slot 1 (pure position bias) is at chance", (0.8, 0.8)),
        ("an unbiased labeler", (0.9, 0.1)),
        ("a labeler that is sure both ways", (1.0, 0.0)),
    ] + [(f"random case {i}", (float(torch.rand(1, generator=g)), float(torch.rand(1, generator=g)))) for i in range(5)]
    return check("swap_label", student_fn, _reference_swap_label, cases, ("P(a better)",))


# --------------------------------------------------------------------------- lesson 10: DPO
def _dpo_loss(*args):
    return dpo_loss(*args)[0]


def check_dpo_loss(student_fn, seed: int = 0) -> bool:
    """student_fn(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta) -> scalar DPO loss.

    The four inputs are summed response log-probs, each (B,); the loss is the batch mean of
    -log sigma(beta * [(pi_c - ref_c) - (pi_r - ref_r)]) (Rafailov et al. 2023, eq. 7).
    """
    g = _random(seed)
    cases = [
        ("by hand", (torch.tensor([-5.0]), torch.tensor([-7.0]), torch.tensor([-6.0]), torch.tensor([-6.0]), 0.5)),
        ("margins of +-100 (log of a sigmoid that rounded to 0 is inf)",
         (torch.tensor([-1.0, -201.0]), torch.tensor([-201.0, -1.0]), torch.tensor([-101.0, -101.0]),
          torch.tensor([-101.0, -101.0]), 1.0)),
        ("an unusual beta (3.0)", (torch.tensor([-3.0, -4.0]), torch.tensor([-2.0, -9.0]), torch.tensor([-3.5, -4.0]),
                                  torch.tensor([-2.5, -8.0]), 3.0)),
        ("the policy equals the reference: ln 2", (torch.tensor([-4.0]), torch.tensor([-6.0]), torch.tensor([-4.0]),
                                                  torch.tensor([-6.0]), 0.1)),
    ]
    for i in range(4):
        b = int(torch.randint(1, 6, (1,), generator=g))
        cases.append((f"random case {i}", (*[-10 * torch.rand(b, generator=g) for _ in range(4)],
                                           float(torch.rand(1, generator=g)) + 0.05)))
    return check("dpo_loss", student_fn, _dpo_loss, cases, ("loss",), library=(dpo_loss,))


# --------------------------------------------------------------------------- lesson 11: critic-free
def check_group_advantages(student_fn, seed: int = 0) -> bool:
    """student_fn(rewards (N,), group_size) -> (N,) GRPO's advantages (Shao et al. 2024): each reward minus its
    group's mean, divided by its group's std (torch's default, with Bessel's correction) plus 1e-6; rows
    ``g*G .. g*G + G - 1`` are the G samples of prompt g. A group whose rewards are all equal gets zeros.
    Then swapped in for rlcore.grpo.GRPOTrainer's advantages."""
    g = _random(seed)
    cases = [
        ("two prompts, G=3, by hand", (torch.tensor([1.0, 2.0, 3.0, 10.0, 10.0, 40.0]), 3)),
        ("a group whose rewards are all equal (no NaN, zeros)", (torch.tensor([0.5, 0.5, 0.5, 0.5, 1.0, 2.0, 3.0, 4.0]), 4)),
        ("groups on different scales (the mean and std are per group, not per batch)",
         (torch.tensor([0.0, 1.0, 100.0, 300.0]), 2)),
        ("one prompt only", (torch.tensor([-1.0, 0.0, 2.0, 5.0]), 4)),
        ("rewards of +-100", (torch.tensor([100.0, -100.0, 100.0, 99.0, -100.0, -99.0]), 3)),
    ] + [(f"random case {i}", (torch.randn(P * G, generator=g) * 3, G))
         for i, (P, G) in enumerate([(1, 2), (3, 4), (2, 8), (5, 2), (4, 3)])]
    in_grpo = swapped_in(grpo, "group_advantages", grpo_run, ("loss", "score", "kl"), "GRPOTrainer (2 steps)",
                         adapt=lambda f: lambda rewards, group_size, scale="group": torch.as_tensor(
                             f(rewards, group_size), dtype=torch.float32))
    return check("group_advantages", student_fn, grpo.group_advantages, cases, ("advantages",), in_grpo)


def check_rloo_advantages(student_fn, seed: int = 0) -> bool:
    """student_fn(rewards (N,), group_size) -> (N,) RLOO's advantages (Ahmadian et al. 2024): each reward minus the
    mean of the *other* G - 1 rewards of its group (rows ``g*G .. g*G + G - 1``). Swapped in for
    rlcore.reinforce.ReinforceTrainer's (baseline "rloo")."""
    g = _random(seed)
    cases = [
        ("two prompts, G=3, by hand", (torch.tensor([1.0, 2.0, 3.0, 10.0, 10.0, 40.0]), 3)),
        ("G = 2: each sample against the other", (torch.tensor([1.0, 5.0, -2.0, -2.0]), 2)),
        ("a group whose rewards are all equal: zeros", (torch.tensor([7.0, 7.0, 7.0, 1.0, 2.0, 3.0]), 3)),
        ("groups on different scales", (torch.tensor([0.0, 1.0, 2.0, 100.0, 300.0, 500.0]), 3)),
        ("one prompt only", (torch.tensor([-1.0, 0.0, 2.0, 5.0]), 4)),
    ] + [(f"random case {i}", (torch.randn(P * G, generator=g) * 3, G))
         for i, (P, G) in enumerate([(1, 2), (3, 4), (2, 8)])]
    in_rloo = swapped_in(reinforce, "rloo_advantages", lambda: grpo_run(baseline="rloo"), ("loss", "score", "kl"),
                         "ReinforceTrainer with the RLOO baseline (2 steps)",
                         adapt=lambda f: lambda rewards, group_size: torch.as_tensor(f(rewards, group_size),
                                                                                     dtype=torch.float32))
    return check("rloo_advantages", student_fn, reinforce.rloo_advantages, cases, ("advantages",), in_rloo)


# --------------------------------------------------------------------------- a student copy's "Run All"
# rlcore's answer to each exercise, with the student's signature: what a lesson runs on until the student's passes
FALLBACKS = {"optimal_policy": _optimal_policy, "token_logprobs": _masked_token_logprobs, "eos_mask": rollout.response_mask_from_eos,
             "sft_loss": sft.sft_loss, "ranking_loss": reward.ranking_loss, "last_token_reward": reward.last_token_scores,
             "per_token_rewards": _per_token_rewards, "compute_gae": gae.compute_gae,
             "masked_whiten": rollout.masked_whiten, "policy_loss": ppo.policy_loss, "value_loss": ppo.value_loss,
             "kl_k3": _k3, "optimizer_step": _optimizer_step, "swap_label": _reference_swap_label,
             "dpo_loss": _dpo_loss, "group_advantages": grpo.group_advantages, "rloo_advantages": reinforce.rloo_advantages}


def yours_or_rlcores(student_fn, checker):
    """A student copy's checker cell: ``student_fn`` once it passes ``checker``; until then rlcore's own answer, said
    in one line, so that "Run All" reaches the end of the lesson past an exercise not yet written. (The solutions
    assert the checker instead.)"""
    if checker(student_fn):
        return student_fn
    name = checker.__name__.removeprefix("check_")
    print(f"using rlcore's {name} until yours passes")
    return FALLBACKS[name]


__all__ = ["check_optimal_policy", "check_token_logprobs", "check_eos_mask", "check_sft_loss", "check_ranking_loss", "check_last_token_reward",
           "check_per_token_rewards", "check_compute_gae", "check_masked_whiten", "check_policy_loss",
           "check_value_loss", "check_kl_k3", "check_optimizer_step", "check_swap_label", "check_dpo_loss",
           "check_group_advantages", "check_rloo_advantages", "yours_or_rlcores"]
