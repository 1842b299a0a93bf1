"""Where a run's time goes, by the kind of work, for ``scripts/gpu_check.py``'s projection to another card.

Three kinds of work scale differently from one GPU to another, so a lesson's time is split by them:

* **generation**: sampling token by token (:func:`rlcore.rollout.generate`); at a small batch each step is a few
  small kernels, bound by kernel launches and the host more than by the card;
* **scoring**: forward passes of frozen models over whole sequences (the reward model, the reference's log-probs,
  the labeler's and the judge's verdicts); bound by memory bandwidth for a large model;
* everything else, most of it **training** (forward and backward passes, optimizer steps): bound by compute.

Off unless ``$RLCORE_PHASE_LOG`` names a file: then :func:`phase` times its block (after the GPU's queued work is
done) and the file holds the seconds of each kind so far, a nested block's time counted once, in the innermost.
"""

from __future__ import annotations

import functools
import json
import os
import time
from contextlib import contextmanager

import torch

PHASE_LOG = "RLCORE_PHASE_LOG"
_open: list[list] = []  # the phases being timed, outermost first: [name, start, seconds of the phases inside it]
_totals: dict[str, float] = {}


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()  # a kernel queued in the block is the block's time


@contextmanager
def phase(name: str):
    """Count the block's time as ``name`` ("generation" or "scoring") in ``$RLCORE_PHASE_LOG``, if it is set."""
    path = os.environ.get(PHASE_LOG)
    if not path:
        yield
        return
    _sync()
    _open.append([name, time.perf_counter(), 0.0])
    try:
        yield
    finally:
        _sync()
        name, start, inner = _open.pop()
        elapsed = time.perf_counter() - start
        _totals[name] = _totals.get(name, 0.0) + elapsed - inner
        if _open:
            _open[-1][2] += elapsed  # the enclosing phase does not count this block again
        else:  # the outermost phase closed: the file holds every total so far
            with open(path, "w") as f:
                json.dump(_totals, f)


def timed(name: str):
    """Decorate a function so that each call counts as phase ``name``."""
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with phase(name):
                return fn(*args, **kwargs)
        return wrapper
    return decorate


def read_phases(path: str) -> dict[str, float]:
    """The seconds of each phase a run wrote to ``path`` (none if it wrote nothing)."""
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)
