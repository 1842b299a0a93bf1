"""The machinery behind the checkers (``rlcore.exercises``): compare a student's function with the reference on
named cases, refuse the library's own function, and run a real rlcore trainer with the student's piece swapped in.

A case is ``(label, args)`` or ``(label, args, tolerance)``: the label says what the case is about ("EOS in the last
slot", "margins of +-100"), so a FAIL tells the student which idea broke, not only which numbers differ.
"""

from __future__ import annotations

import copy
from contextlib import contextmanager
from unittest import mock

import torch
from transformers.utils import logging as hf_logging

from rlcore.config import GRPOConfig, Lengths, PPOConfig, ReinforceConfig, RewardConfig, SFTConfig
from rlcore.data import PreferencePair
from rlcore.grpo import GRPOTrainer
from rlcore.models import load_base, reference_model
from rlcore.ppo import PPOTrainer
from rlcore.reinforce import ReinforceTrainer
from rlcore.reward import RewardModel, ValueModel, train_reward_model
from rlcore.sft import train_sft

TOLERANCE = dict(rtol=1e-4, atol=1e-5)  # float32 arithmetic in a different order stays well inside this
LENGTHS = Lengths(max_prompt_tokens=32, max_new_tokens=12, max_length=64)  # the trainer runs' sequences


def report(name: str, failure: str | None, passed: str = "matches the reference on every case") -> bool:
    """Print one PASS or FAIL line (and the details of a failure); return whether it passed."""
    print(f"PASS  {name}: {passed}" if failure is None else f"FAIL  {name}: {failure}")
    return failure is None


def is_the_librarys(student_fn, reference) -> bool:
    """Is the student's function the library's own, imported under another name? (A wrapper, a lambda or a partial
    around it is caught while the cases run: :func:`refusing`.)"""
    return student_fn is reference or getattr(student_fn, "__module__", "").startswith("rlcore.")


def _refused(*args, **kwargs):  # its code replaces a library function's during a check: only builtins in it
    raise LookupError("you called rlcore's own function")


@contextmanager
def refusing(functions):
    """While inside, each of rlcore's ``functions`` fails when called, by any name, alias or wrapper (a lambda, a
    ``functools.partial``, a re-export): its code object is swapped for one that raises. Yields {code: its name}."""
    saved, names = [], {}
    try:
        for fn in functions:
            code = _refused.__code__.replace(co_name=fn.__name__, co_qualname=fn.__qualname__)
            saved.append((fn, fn.__code__))
            fn.__code__ = code
            names[code] = f"{fn.__module__}.{fn.__qualname__}"
        yield names
    finally:
        for fn, code in saved:
            fn.__code__ = code


def borrowed(err: BaseException, names: dict) -> str | None:
    """The library function a failure came from, if it was one :func:`refusing` stood in for."""
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return names.get(tb.tb_frame.f_code) if tb is not None else None


def library_functions(reference, library=()) -> tuple:
    """What a student's function may not call during the cases: the reference when it is rlcore's own, and
    ``library``, the rlcore functions a checker's local reference wraps."""
    own = getattr(reference, "__module__", "").startswith("rlcore.") and reference.__module__ != "rlcore.exercises" \
        and hasattr(reference, "__code__")
    return tuple(dict.fromkeys(((reference,) if own else ()) + tuple(library)))


def call_student(student_fn, args, functions) -> tuple:
    """(result, None), or (None, a message) when it raised; a call of rlcore's own reference is named as such."""
    with refusing(functions) as names:
        try:
            return student_fn(*args), None
        except Exception as err:  # a student's crash is a failed case, shown plainly
            name = borrowed(err, names)
            if name is not None:
                return None, f"you called rlcore's own {name}: write your own"
            return None, f"raised {type(err).__name__}: {err}"


def _shapes(args) -> str:
    return ", ".join(f"{tuple(a.shape)}" if torch.is_tensor(a) else repr(a) for a in args)


def _short(t: torch.Tensor, n: int = 8) -> str:
    flat = t.flatten().tolist()
    text = ", ".join(f"{x:.6g}" for x in flat[:n])
    return f"[{text}{', ...' if len(flat) > n else ''}] (shape {tuple(t.shape)})"


def first_failure(student_fn, reference, cases, outputs: tuple[str, ...], library=()) -> str | None:
    """The first case on which ``student_fn`` differs from ``reference`` (a message naming the case, the output
    and the shapes), or None. Each call gets its own copy of the inputs, so an in-place edit can't leak; while the
    student's function runs, rlcore's own (``library_functions``) refuses to."""
    functions = library_functions(reference, library)
    for case in cases:
        label, args = case[0], case[1]
        tolerance = case[2] if len(case) > 2 else TOLERANCE
        copy = lambda: [a.clone() if torch.is_tensor(a) else a for a in args]  # noqa: E731
        want = reference(*copy())
        got, error = call_student(student_fn, copy(), functions)
        if error is not None:
            return f"case '{label}' (inputs {_shapes(args)}): {error}"
        want = want if isinstance(want, tuple) else (want,)
        got = got if isinstance(got, tuple) else (got,)
        if len(got) != len(want):
            return f"case '{label}': returned {len(got)} value(s), expected {len(want)} ({', '.join(outputs)})"
        for name, g, w in zip(outputs, got, want):
            g, w = torch.as_tensor(g).detach().double(), torch.as_tensor(w).detach().double()
            if g.shape != w.shape:
                return (f"case '{label}': {name} has shape {tuple(g.shape)}, expected {tuple(w.shape)} "
                        f"(inputs {_shapes(args)})")
            close = torch.isclose(g, w, **tolerance)
            if not close.all():
                where = tuple(int(i) for i in (~close).nonzero()[0]) if close.dim() else ()
                return (f"case '{label}': {name} differs, first at index {where}: expected {w[where].item():.6g}, "
                        f"got {g[where].item():.6g} (inputs {_shapes(args)})\n      expected: {_short(w)}\n"
                        f"      got:      {_short(g)}")
    return None


def check(name: str, student_fn, reference, cases, outputs: tuple[str, ...] = ("the output",),
          trainer=None, library=()) -> bool:
    """The whole check: not the library's own, every case (with rlcore's reference and ``library`` refusing to
    run), then (if given) ``trainer(student_fn)``, a run of a real rlcore trainer with the student's piece in place
    that returns a failure message or None."""
    if is_the_librarys(student_fn, reference):
        own = f"{student_fn.__module__}.{getattr(student_fn, '__name__', 'function')}"
        return report(name, f"that is the library's own {own}: write your own")
    failure = first_failure(student_fn, reference, cases, outputs, library)
    if failure is None and trainer is not None:
        failure, where = trainer(student_fn)
        if failure is None:
            return report(name, None, f"matches the reference on every case, and {where} gives the library's "
                                      "statistics with it")
    return report(name, failure)


# --------------------------------------------------------------------------- the real trainers, a few steps each
@contextmanager
def _quiet_loading():
    """No "Loading weights" bars around a checker's verdict (nbval compares that cell's output)."""
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if bars:
            hf_logging.enable_progress_bar()


PROMPTS = ["\n\nHuman: How do I bake bread?\n\nAssistant:", "\n\nHuman: Summarise this post.\n\nAssistant:"]
RESPONSES = [" Mix flour, water and yeast, then bake it.", " The post is about a dog."]


def distinct_words(prompts, responses) -> list[float]:
    """A cheap reward on the text: the number of distinct words."""
    return [float(len(set(r.split()))) for r in responses]


def _policy():
    torch.manual_seed(0)
    return load_base("tiny")


def grpo_run(steps: int = 2, baseline: str | None = None) -> list[dict]:
    """GRPO (or, with ``baseline``, REINFORCE with that baseline: "rloo") on the shipped tiny model, from the same
    weights and seed every time."""
    policy, tokenizer = _policy()
    sizes = dict(lr=1e-4, batch_size=2, group_size=4, num_minibatches=2)
    if baseline is None:
        trainer = GRPOTrainer(policy, reference_model(policy), tokenizer, GRPOConfig(**sizes), LENGTHS,
                              reward_fn=distinct_words)
    else:
        trainer = ReinforceTrainer(policy, reference_model(policy), tokenizer, ReinforceConfig(**sizes, baseline=baseline),
                                   LENGTHS, reward_fn=distinct_words)
    return [trainer.step(PROMPTS) for _ in range(steps)]


def ppo_run(steps: int = 2) -> list[dict]:
    """PPO with a value model on the shipped tiny model, from the same weights and seed every time."""
    policy, tokenizer = _policy()
    value_model = ValueModel(copy.deepcopy(policy.transformer))
    config = PPOConfig(lr=1e-4, batch_size=4, num_minibatches=2, epochs=2)
    trainer = PPOTrainer(policy, reference_model(policy), value_model, tokenizer, config, LENGTHS,
                         reward_fn=distinct_words)
    return [trainer.step(PROMPTS * 2) for _ in range(steps)]


def sft_run(steps: int = 2) -> list[dict]:
    """SFT on two demonstrations, one per step."""
    policy, tokenizer = _policy()
    losses = train_sft(policy, tokenizer, PROMPTS * steps, RESPONSES * steps, SFTConfig(lr=1e-4, batch_size=2), LENGTHS,
                       progress=False)
    return [{"loss": loss} for loss in losses]


def reward_model_run(steps: int = 2) -> list[dict]:
    """A reward model on the tiny backbone, two preference pairs a step."""
    policy, tokenizer = _policy()
    model = RewardModel(policy.transformer)
    pairs = [PreferencePair(p, r, " no.") for p, r in zip(PROMPTS, RESPONSES)] * steps
    losses = train_reward_model(model, tokenizer, pairs, RewardConfig(lr=1e-4, batch_size=2), LENGTHS, progress=False)
    return [{"loss": loss} for loss in losses]


def swapped_in(target, attribute: str, run, keys: tuple[str, ...], where: str, adapt=None):
    """A ``trainer(student_fn)`` for :func:`check`: ``run()`` once with the library's ``target.attribute`` and once
    with the student's (``adapt(student_fn)`` when the signatures differ), comparing ``keys`` of every step."""

    def trainer(student_fn):
        calls = []

        def student(*args, **kwargs):
            calls.append(1)
            return (adapt(student_fn) if adapt else student_fn)(*args, **kwargs)

        with _quiet_loading():
            try:
                with mock.patch.object(target, attribute, student):
                    theirs = run()
            except Exception as err:
                return f"inside {where} it raised {type(err).__name__}: {err}", where
            if not calls:
                return f"{where} never called it (is the library's {attribute} still in place?)", where
            ours = run()
        for step, (a, b) in enumerate(zip(theirs, ours)):
            for key in keys:
                if not abs(a[key] - b[key]) <= 1e-4 * max(1.0, abs(b[key])):
                    return (f"inside {where}, step {step}: {key} {a[key]:.6f} with yours, {b[key]:.6f} with the "
                            "library's"), where
        return None, where

    return trainer
