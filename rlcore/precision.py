"""Mixed precision, kept out of the algorithm code: a model carries the dtype its forward passes run in.

A model being trained keeps float32 weights (the optimizer needs them: a bfloat16 weight cannot hold a
1e-6 update); :func:`use_autocast` marks it so that every forward pass through
:func:`rlcore.rollout.forward_logits`, :func:`rlcore.rollout.generate` and the scalar heads of
:mod:`rlcore.reward` runs under ``torch.autocast`` in that dtype (Micikevicius et al. 2018, "Mixed
precision training"). Frozen models (reference, reward model during PPO, labeler, judge) are simply
stored in the low-precision dtype. The card decides both (:func:`precision_plan`, read by
:attr:`rlcore.config.Profile.precision`):

=====================================  ====================  =================  ============
device                                 trained models        frozen models      loss scaling
=====================================  ====================  =================  ============
GPU of compute capability >= 8.0       bfloat16 autocast     bfloat16           no
(A100, L4, H100)
GPU of compute capability 7.x          float16 autocast      float16            yes
(T4, V100: no bfloat16 units)
CPU                                    float32               float32            no
=====================================  ====================  =================  ============

Never ``torch.cuda.is_bf16_supported()``: it counts *emulated* bfloat16, so a T4 would answer yes and run every
frozen model at a fraction of its float16 speed. float16 has bfloat16's precision to spare but not its range: a
small gradient underflows to zero, hence the loss scaling (:func:`grad_scaler`), and a model trained in bfloat16
(Qwen2.5) can overflow, hence the guard on every verdict (:func:`finite_or_again`).
"""

from __future__ import annotations

import warnings
from contextlib import nullcontext
from dataclasses import dataclass

import torch

DTYPES = ("auto", "float32", "bfloat16", "float16")


@dataclass(frozen=True)
class PrecisionPlan:
    """What a machine computes in: the dtype of frozen models, the autocast dtype of trained ones (their weights stay
    float32; None: plain float32) and whether their losses are scaled (float16 only)."""

    frozen: torch.dtype
    train_autocast: torch.dtype | None
    loss_scaling: bool

    def describe(self) -> str:
        train = "float32"
        if self.train_autocast is not None:
            train = (f"{str(self.train_autocast).removeprefix('torch.')} autocast on float32 weights"
                     + (", with loss scaling" if self.loss_scaling else ""))
        return f"precision: trained models {train}; frozen models {str(self.frozen).removeprefix('torch.')}"


def precision_plan(dtype: str, device: torch.device, capability: tuple[int, int] | None = None) -> PrecisionPlan:
    """The plan for ``dtype`` ("auto" or a dtype name, as in the profile) on ``device``; "auto" reads the card's
    compute capability (``capability`` for a card that is not here)."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    if dtype == "auto":
        if device.type != "cuda":
            dtype = "float32"
        else:
            capability = capability or torch.cuda.get_device_capability(device)
            dtype = "bfloat16" if tuple(capability) >= (8, 0) else "float16"
    frozen = getattr(torch, dtype)
    return PrecisionPlan(frozen=frozen, train_autocast=None if dtype == "float32" else frozen,
                         loss_scaling=dtype == "float16")

_ATTRIBUTE = "rlcore_autocast_dtype"


def use_autocast(model: torch.nn.Module, dtype: torch.dtype | None) -> torch.nn.Module:
    """Run ``model``'s forward passes under autocast in ``dtype`` (None: in its own dtype). Returns it."""
    setattr(model, _ATTRIBUTE, dtype)
    return model


def autocast_dtype(model: torch.nn.Module) -> torch.dtype | None:
    inner = getattr(model, "module", model)  # a DistributedDataParallel wrapper holds the model in .module
    return getattr(inner, _ATTRIBUTE, None)


def autocast(model: torch.nn.Module):
    """The autocast context for a forward pass of ``model`` (a no-op unless :func:`use_autocast` set one)."""
    dtype = autocast_dtype(model)
    if dtype is None:
        return nullcontext()
    device = next(model.parameters()).device
    return torch.autocast(device.type, dtype=dtype)


# --------------------------------------------------------------------------- float16 training: loss scaling
def grad_scaler(model: torch.nn.Module) -> torch.amp.GradScaler:
    """The loss scaler of a model trained under float16 autocast: the loss is multiplied by a large factor before
    backward so that small gradients survive float16, and divided out again before the clip and the step; a step
    whose gradients overflowed is skipped and the factor halved. Any other model gets a disabled scaler, whose every
    call is the identity (``scale(loss)`` is ``loss``, ``step(opt)`` is ``opt.step()``)."""
    device = next(model.parameters()).device.type
    return torch.amp.GradScaler(device, enabled=autocast_dtype(model) is torch.float16)


def scaled_step(scaler: torch.amp.GradScaler, optimizer: torch.optim.Optimizer) -> int:
    """``scaler.step(optimizer)`` then ``scaler.update()``; 1 if the step was skipped (a gradient overflowed, and the
    scale went down), else 0."""
    before = scaler.get_scale() if scaler.is_enabled() else None
    scaler.step(optimizer)
    scaler.update()
    return int(before is not None and scaler.get_scale() < before)


# --------------------------------------------------------------------------- float16 verdicts: the guard
FALLBACK_WARN_SHARE = 0.05  # a frozen model re-run in float32 on more than this share of its batches says so
_CHECKED: dict[str, dict] = {}  # every float16 model the guard checked in this process, by name: its counts


def _bad(logits: torch.Tensor) -> bool:
    """Non-finite, or degenerate (every logit of a row alike: a model whose activations blew up)."""
    return not torch.isfinite(logits).all() or bool((logits.amax(-1) == logits.amin(-1)).any())


def finite_or_again(model: torch.nn.Module, forward) -> torch.Tensor:
    """``forward()``'s logits, checked: under float16, a batch whose logits are not finite or are degenerate is run
    again with the model in float32 (bfloat16 where float32 would not fit in the GPU's free memory) and counted
    (:func:`fallbacks`); past a share of its batches, one warning says so. Other dtypes are not checked."""
    if next(model.parameters()).dtype is not torch.float16:
        return forward()
    counts = model.__dict__.setdefault("rlcore_fallbacks", {"again": 0, "batches": 0, "warned": False})
    _CHECKED[getattr(model.config, "_name_or_path", "") or type(model).__name__] = counts
    counts["batches"] += 1
    logits = forward()
    if not _bad(logits):
        return logits
    counts["again"] += 1
    wide, device = torch.float32, next(model.parameters()).device
    if device.type == "cuda" and 2 * sum(p.numel() for p in model.parameters()) > torch.cuda.mem_get_info(device)[0]:
        wide = torch.bfloat16  # float32 needs 2 more bytes per weight than there is room for
    model.to(wide)
    try:
        logits = forward()
    finally:
        model.to(torch.float16)  # float16 -> float32 -> float16 is exact: the weights come back unchanged
    if counts["again"] > FALLBACK_WARN_SHARE * counts["batches"] and not counts["warned"]:
        counts["warned"] = True
        warnings.warn(f"{type(model).__name__} overflows in float16: {counts['again']} of {counts['batches']} batches "
                      f"so far were run again in {str(wide).removeprefix('torch.')} (a dtype of bfloat16 or float32 "
                      "avoids it)", stacklevel=2)
    return logits


def fallbacks(model: torch.nn.Module) -> tuple[int, int]:
    """(batches run again in a wider dtype, batches checked) of a frozen float16 model; (0, 0) if none was checked."""
    counts = model.__dict__.get("rlcore_fallbacks", {"again": 0, "batches": 0})
    return counts["again"], counts["batches"]


def fallback_report() -> dict[str, dict]:
    """{model name: {"again", "batches"}} for every float16 model the guard checked in this process (a report's)."""
    return {name: {"again": c["again"], "batches": c["batches"]} for name, c in _CHECKED.items()}


def forget_fallbacks() -> None:
    """Start counting afresh (a pipeline run reports its own models only)."""
    _CHECKED.clear()
