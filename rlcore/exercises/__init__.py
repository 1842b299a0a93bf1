"""Checkers for the course's exercises: the student's function against the reference on random cases.

Each ``check_*`` prints a clear PASS or FAIL with the first differing case and returns True/False,
so a notebook cell can both show the result and ``assert`` it.
"""

from __future__ import annotations

import torch

from rlcore.dpo import dpo_loss
from rlcore.gae import compute_gae
from rlcore.grpo import group_advantages
from rlcore.ppo import kl_penalty, policy_loss
from rlcore.reward import ranking_loss


def _report(name: str, failure: str | None) -> bool:
    if failure is None:
        print(f"PASS  {name}: matches the reference on every case")
        return True
    print(f"FAIL  {name}: {failure}")
    return False


def _compare(name: str, cases, student, reference, describe) -> bool:
    for i, args in enumerate(cases):
        try:
            got = student(*[a.clone() if torch.is_tensor(a) else a for a in args])
        except Exception as err:  # a student's crash is a failed case, shown plainly
            return _report(name, f"case {i} raised {type(err).__name__}: {err}\n      inputs: {describe(args)}")
        want = reference(*args)
        got_parts = got if isinstance(got, tuple) else (got,)
        want_parts = want if isinstance(want, tuple) else (want,)
        if len(got_parts) != len(want_parts):
            return _report(name, f"case {i} returned {len(got_parts)} value(s); expected {len(want_parts)}")
        for g, w in zip(got_parts, want_parts):
            g, w = torch.as_tensor(g, dtype=torch.float64), torch.as_tensor(w, dtype=torch.float64)
            if g.shape != w.shape or not torch.allclose(g, w, rtol=1e-4, atol=1e-5):
                return _report(name, f"case {i} differs\n      inputs: {describe(args)}\n      expected: {w}\n"
                                      f"      got:      {g}")
    return _report(name, None)


def _ragged_mask(lengths, T):
    return torch.tensor([[1.0] * n + [0.0] * (T - n) for n in lengths])


def check_ranking_loss(student_fn, n_cases: int = 20, seed: int = 0) -> bool:
    """student_fn(chosen_rewards (B,), rejected_rewards (B,)) -> scalar mean of -log sigma(r_c - r_r)."""
    g = torch.Generator().manual_seed(seed)
    cases = [(torch.tensor([2.0, 0.0]), torch.tensor([1.0, 1.0]))]
    cases += [(torch.randn(b, generator=g) * 3, torch.randn(b, generator=g) * 3)
              for b in torch.randint(1, 9, (n_cases,), generator=g).tolist()]
    return _compare("ranking_loss", cases, student_fn, ranking_loss,
                    lambda a: f"chosen={a[0].tolist()}, rejected={a[1].tolist()}")


def check_compute_gae(student_fn, n_cases: int = 20, seed: int = 0) -> bool:
    """student_fn(rewards, values, mask, gamma, lam) -> (advantages, returns), all (B, T)."""
    g = torch.Generator().manual_seed(seed)
    cases = []
    for _ in range(n_cases):
        B, T = int(torch.randint(1, 5, (1,), generator=g)), int(torch.randint(1, 7, (1,), generator=g))
        lengths = torch.randint(1, T + 1, (B,), generator=g).tolist()
        gamma = [1.0, 0.99, 0.9][int(torch.randint(0, 3, (1,), generator=g))]
        lam = [0.95, 1.0, 0.5, 0.0][int(torch.randint(0, 4, (1,), generator=g))]
        cases.append((torch.randn(B, T, generator=g), torch.randn(B, T, generator=g), _ragged_mask(lengths, T), gamma, lam))
    return _compare("compute_gae", cases, student_fn, compute_gae,
                    lambda a: f"rewards={a[0].tolist()}, values={a[1].tolist()}, mask={a[2].tolist()}, "
                              f"gamma={a[3]}, lam={a[4]}")


def check_policy_loss(student_fn, n_cases: int = 20, seed: int = 0) -> bool:
    """student_fn(logprobs, old_logprobs, advantages, mask, clip_range) -> scalar clipped PPO loss."""
    g = torch.Generator().manual_seed(seed)
    cases = []
    for _ in range(n_cases):
        B, T = int(torch.randint(1, 4, (1,), generator=g)), int(torch.randint(1, 6, (1,), generator=g))
        old = torch.randn(B, T, generator=g) - 2
        new = old + torch.randn(B, T, generator=g) * 0.5  # ratios both inside and outside the clip range
        lengths = torch.randint(1, T + 1, (B,), generator=g).tolist()
        cases.append((new, old, torch.randn(B, T, generator=g), _ragged_mask(lengths, T), 0.2))
    return _compare("policy_loss", cases, student_fn, policy_loss,
                    lambda a: f"ratio={torch.exp(a[0] - a[1]).tolist()}, advantages={a[2].tolist()}, mask={a[3].tolist()}")


def check_kl_k3(student_fn, n_cases: int = 20, seed: int = 0) -> bool:
    """student_fn(logprobs, ref_logprobs) -> per-token k3 estimate of KL(pi || pi_ref)."""
    g = torch.Generator().manual_seed(seed)
    cases = [(torch.randn(2, 5, generator=g), torch.randn(2, 5, generator=g)) for _ in range(n_cases)]
    return _compare("kl_k3", cases, student_fn, lambda a, b: kl_penalty(a, b, "k3"),
                    lambda a: f"logprobs={a[0].tolist()}, ref_logprobs={a[1].tolist()}")


def _reference_swap_label(p_a_first: float, p_b_first: float) -> float:
    return (p_a_first + (1.0 - p_b_first)) / 2


def check_swap_label(student_fn, n_cases: int = 20, seed: int = 0) -> bool:
    """student_fn(p_a_first, p_b_first) -> P(a better) averaged over both orders.

    p_a_first = P(slot 1 better) when a is shown first; p_b_first = P(slot 1 better) when b is first.
    """
    g = torch.Generator().manual_seed(seed)
    cases = [(0.8, 0.8), (0.9, 0.3)] + [(float(torch.rand(1, generator=g)), float(torch.rand(1, generator=g)))
                                        for _ in range(n_cases)]
    return _compare("swap_label", cases, student_fn, _reference_swap_label,
                    lambda a: f"p_a_first={a[0]:.3f}, p_b_first={a[1]:.3f}")


def check_dpo_loss(student_fn, n_cases: int = 20, seed: int = 0) -> bool:
    """student_fn(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta) -> scalar DPO loss.

    The four inputs are summed response log-probs, each (B,); the loss is the batch mean of
    -log sigma(beta * [(pi_c - ref_c) - (pi_r - ref_r)]) (Rafailov et al. 2023, eq. 7).
    """
    g = torch.Generator().manual_seed(seed)
    cases = [(torch.tensor([-5.0]), torch.tensor([-7.0]), torch.tensor([-6.0]), torch.tensor([-6.0]), 0.5)]
    for _ in range(n_cases):
        b = int(torch.randint(1, 6, (1,), generator=g))
        logps = [-10 * torch.rand(b, generator=g) for _ in range(4)]
        cases.append((*logps, float(torch.rand(1, generator=g)) + 0.05))
    return _compare("dpo_loss", cases, student_fn, lambda *a: dpo_loss(*a)[0],
                    lambda a: (f"policy_chosen={a[0].tolist()}, policy_rejected={a[1].tolist()}, "
                               f"ref_chosen={a[2].tolist()}, ref_rejected={a[3].tolist()}, beta={a[4]:.3f}"))


def _is_the_librarys(student_fn, reference) -> bool:
    """Is the student's function the library's own (imported, or wrapped around it without a body of its own)?"""
    return student_fn is reference or getattr(student_fn, "__module__", "").startswith("rlcore.")


def check_group_advantages(student_fn, seed: int = 0, trainer_steps: int = 2) -> bool:
    """student_fn(rewards (N,), group_size) -> (N,) GRPO's advantages (Shao et al. 2024): each reward minus its
    group's mean, divided by its group's std (torch's default, with Bessel's correction) plus 1e-6; rows
    ``g*G .. g*G + G - 1`` are the G samples of prompt g. A group whose rewards are all equal gets zeros.

    Named edge cases first (each a mistake students make), then random ones; then the student's function runs
    inside ``rlcore.grpo.GRPOTrainer`` for ``trainer_steps`` steps on the shipped tiny model, and its statistics
    must equal the library's run."""
    name = "group_advantages"
    if _is_the_librarys(student_fn, group_advantages):
        return _report(name, "that is the library's own rlcore.grpo.group_advantages: write your own")
    g = torch.Generator().manual_seed(seed)
    named = {
        "two prompts, G=3, by hand": (torch.tensor([1.0, 2.0, 3.0, 10.0, 10.0, 40.0]), 3),
        "a group whose rewards are all equal (no NaN, zeros)": (torch.tensor([0.5, 0.5, 0.5, 0.5, 1.0, 2.0, 3.0, 4.0]), 4),
        "groups on different scales (the mean and std are per group, not per batch)": (
            torch.tensor([0.0, 1.0, 100.0, 300.0]), 2),
        "one prompt only": (torch.tensor([-1.0, 0.0, 2.0, 5.0]), 4),
        "rewards of +-100": (torch.tensor([100.0, -100.0, 100.0, 99.0, -100.0, -99.0]), 3),
    }
    cases = list(named.items()) + [(f"random case {i}", (torch.randn(P * G, generator=g) * 3, G))
                                   for i, (P, G) in enumerate([(1, 2), (3, 4), (2, 8), (5, 2), (4, 3)])]
    for label, (rewards, G) in cases:
        want = group_advantages(rewards, G)
        try:
            got = torch.as_tensor(student_fn(rewards.clone(), G))
        except Exception as err:
            return _report(name, f"case '{label}' (rewards {tuple(rewards.shape)}, group_size {G}) raised "
                                 f"{type(err).__name__}: {err}")
        if got.shape != want.shape:
            return _report(name, f"case '{label}': the output has shape {tuple(got.shape)}, expected "
                                 f"{tuple(want.shape)} (one advantage per reward, flat)")
        if not torch.allclose(got.double(), want.double(), rtol=1e-4, atol=1e-4):
            return _report(name, f"case '{label}' differs (rewards {tuple(rewards.shape)}, group_size {G})\n"
                                 f"      rewards:  {rewards.tolist()}\n      expected: {[round(x, 4) for x in want.tolist()]}"
                                 f"\n      got:      {[round(x, 4) for x in got.double().tolist()]}")
    failure = _inside_the_grpo_trainer(student_fn, trainer_steps)
    if failure:
        return _report(name, failure)
    print(f"PASS  {name}: matches the reference on every case, and inside GRPOTrainer ({trainer_steps} steps on the "
          "tiny model) gives the library's statistics")
    return True


def _inside_the_grpo_trainer(student_fn, steps: int) -> str | None:
    """Run GRPOTrainer twice from the same weights and seed, with the library's advantages and with the student's
    swapped in (rlcore.grpo.group_advantages is what GRPOTrainer.step calls); None if their statistics agree."""
    from unittest import mock

    from rlcore import grpo
    from rlcore.models import load_base, reference_model

    def run(advantages_fn):
        torch.manual_seed(0)
        policy, tokenizer = load_base("tiny")
        config = grpo.GRPOConfig(lr=1e-4, batch_size=2, group_size=4, num_minibatches=2, max_new_tokens=12,
                                 max_prompt_tokens=32, max_length=64, seed=0)
        trainer = grpo.GRPOTrainer(policy, reference_model(policy), tokenizer, config,
                                   reward_fn=lambda prompts, responses: [float(len(set(r.split()))) for r in responses])
        prompts = ["\n\nHuman: How do I bake bread?\n\nAssistant:", "\n\nHuman: Summarise this post.\n\nAssistant:"]
        with mock.patch.object(grpo, "group_advantages", advantages_fn):
            return [trainer.step(prompts) for _ in range(steps)]

    calls = []

    def student(rewards, group_size, scale="group"):
        calls.append(1)
        return torch.as_tensor(student_fn(rewards, group_size), dtype=torch.float32)

    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # the checker prints one verdict: no "Loading weights" bars around it
    try:
        try:
            theirs = run(student)
        except Exception as err:
            return f"inside GRPOTrainer it raised {type(err).__name__}: {err}"
        if len(calls) != steps:
            return f"inside GRPOTrainer it was called {len(calls)} times in {steps} steps"
        ours = run(group_advantages)
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    for step, (a, b) in enumerate(zip(theirs, ours)):
        for key in ("loss", "score", "kl"):
            if abs(a[key] - b[key]) > 1e-4 * max(1.0, abs(b[key])):
                return (f"inside GRPOTrainer, step {step}: {key} {a[key]:.6f} with yours, {b[key]:.6f} with the "
                        "library's")
    return None


__all__ = ["check_ranking_loss", "check_group_advantages", "check_compute_gae", "check_policy_loss", "check_kl_k3", "check_swap_label",
           "check_dpo_loss"]
