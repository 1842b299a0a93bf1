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
import math
import os
import time
from contextlib import contextmanager

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves, tree_map
from torch.utils.flop_counter import flop_registry

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


def current() -> str:
    """The kind of work running now: the innermost open phase, or "training" (training and the rest) outside them."""
    return _open[-1][0] if _open else "training"


# --------------------------------------------------------------------------- counting the work itself
# Counting the operations rather than timing them projects a run onto a card it never ran on, from any device: an
# operation's time on a GPU is about the largest of its launch (and the host's work around it), its arithmetic
# at the card's throughput and its bytes at the card's bandwidth (a roofline), whatever it took here.

def _attention_flops(query: torch.Tensor, key: torch.Tensor, backward: bool) -> int:
    """CPU's fused attention (absent from torch's FLOP table): QK^T and PV, 2 x 2 x b.h.q.k.d; its backward twice that."""
    *batch, q, d = query.shape
    return (2 if backward else 1) * 4 * math.prod(batch) * q * key.shape[-2] * d


def _flops(func, args, kwargs, out) -> int:
    packet = func.overloadpacket
    if packet in flop_registry:
        shapes = tree_map(lambda x: x.shape if isinstance(x, torch.Tensor) else x, (args, kwargs, out))
        return int(flop_registry[packet](*shapes[0], **shapes[1], out_val=shapes[2]))
    name = packet.__name__
    if name.startswith("_scaled_dot_product_flash_attention_for_cpu"):
        backward = name.endswith("backward")  # (grad_out, query, key, value, ...) or (query, key, value, ...)
        return _attention_flops(args[1] if backward else args[0], args[2] if backward else args[1], backward)
    return 0


def _bytes_16bit(tensor: torch.Tensor) -> int:
    """A tensor's bytes as a 16-bit run moves them: floating-point numbers at 2 bytes each, the rest as they are."""
    return tensor.numel() * (2 if tensor.is_floating_point() else tensor.element_size())


class WorkCounter(TorchDispatchMode):
    """Inside ``with WorkCounter(cost):`` every tensor operation is counted in the phase running it (:func:`current`):
    ``ops``, ``flops``, ``bytes`` (read and written, at 16 bits per floating-point number), ``cost``'s two
    figures summed (``cost(flops, nbytes) -> (low, high)`` seconds of one operation on some card), the seconds the
    operations took here (``op_seconds``) and the counter's own (``counting_seconds``, to take off the run's time).
    Views and empty allocations launch no kernel and cost nothing."""

    FREE = ("empty", "empty_like", "empty_strided", "lift_fresh", "detach", "alias")

    def __init__(self, cost):
        super().__init__()
        self.cost = cost
        self.totals: dict[str, dict[str, float]] = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        start = time.perf_counter()
        out = func(*args, **kwargs)
        ran = time.perf_counter()
        row = self.totals.setdefault(current(), dict.fromkeys(
            ("ops", "flops", "bytes", "low", "high", "op_seconds", "counting_seconds"), 0.0))
        if not (func.is_view or func.overloadpacket.__name__ in self.FREE):
            flops = _flops(func, args, kwargs, out)
            nbytes = sum(_bytes_16bit(t) for t in tree_leaves((args, kwargs, out)) if isinstance(t, torch.Tensor))
            low, high = self.cost(flops, nbytes)
            row["ops"] += 1
            row["flops"] += flops
            row["bytes"] += nbytes
            row["low"] += low
            row["high"] += high
        row["op_seconds"] += ran - start
        row["counting_seconds"] += time.perf_counter() - ran
        return out
