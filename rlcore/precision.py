"""Mixed precision, kept out of the algorithm code: a model carries the dtype its forward passes run in.

A model being trained keeps float32 weights (the optimizer needs them: a bfloat16 weight cannot hold a
1e-6 update); :func:`use_autocast` marks it so that every forward pass through
:func:`rlcore.rollout.forward_logits`, :func:`rlcore.rollout.generate` and the scalar heads of
:mod:`rlcore.reward` runs under ``torch.autocast`` in that dtype (Micikevicius et al. 2018, "Mixed
precision training"). Frozen models (reference, reward model during PPO, labeler, judge) are simply
stored in the low-precision dtype. The profile decides both (:attr:`rlcore.config.Profile.compute_dtype`).
"""

from __future__ import annotations

from contextlib import nullcontext

import torch

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
