"""Checkpoints that survive a killed kernel.

A checkpoint holds everything needed to continue a training loop *exactly*: the weights and optimizer
states, the random-number generators (Python, torch, and any ``torch.Generator`` a trainer owns), the
step, and small extras (the KL controller's coefficient, the losses so far).
Beside them, :func:`kept_with_weights` keeps results computed from a finished stage's weights (the SFT
policy's sampled comparisons) so that a later lesson re-reads them instead of computing them again.

Writes are atomic: the file is written under a temporary name and then renamed (``os.replace``), so a
run killed mid-write leaves the previous checkpoint intact and never a half-written one.

Loading never runs code: a checkpoint holds only tensors and plain containers (dicts, lists, tuples, numbers,
strings, None), and :func:`load_checkpoint` reads it with ``torch.load(weights_only=True)``. A pickle can call
any function while it is read, so a resume folder copied from someone else could otherwise run whatever it says.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import pickle
import random

import torch

PREFIX = "checkpoint-"


def rng_state(generators: dict[str, torch.Generator] | None = None) -> dict:
    """The state of every random-number generator a loop uses."""
    return {
        "python": random.getstate(),
        "torch": torch.get_rng_state(),
        "generators": {k: g.get_state() for k, g in (generators or {}).items()},
    }


def set_rng_state(state: dict, generators: dict[str, torch.Generator] | None = None) -> None:
    random.setstate(state["python"])
    torch.set_rng_state(state["torch"])
    for k, g in (generators or {}).items():
        g.set_state(state["generators"][k])


def checkpoint_path(directory: str, step: int) -> str:
    return os.path.join(directory, f"{PREFIX}{step:07d}.pt")


def save_checkpoint(directory: str, step: int, state: dict, keep: int = 2) -> str:
    """Write ``state`` as the checkpoint of ``step`` (temp file + rename); keep the last ``keep``."""
    os.makedirs(directory, exist_ok=True)
    path = checkpoint_path(directory, step)
    tmp = f"{path}.tmp-{os.getpid()}"
    torch.save(state, tmp)
    os.replace(tmp, path)  # atomic on POSIX and Windows: readers see the old file set or the new one
    for old in list_checkpoints(directory)[:-keep]:
        os.remove(old)
    return path


def list_checkpoints(directory: str) -> list[str]:
    """Finished checkpoints in ``directory``, oldest first (temporary files are ignored)."""
    return sorted(glob.glob(os.path.join(directory, f"{PREFIX}*.pt")))


def latest_checkpoint(directory: str | None) -> str | None:
    if not directory or not os.path.isdir(directory):
        return None
    found = list_checkpoints(directory)
    return found[-1] if found else None


class UnsafeCheckpointError(ValueError):
    """A checkpoint file holds something other than tensors and plain containers: it is not loaded."""


def load_checkpoint(path: str) -> dict:
    """The state saved by :func:`save_checkpoint`, read without running any code the file might name."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UnsafeCheckpointError(f"{path} holds more than tensors and plain containers, so it was not loaded "
                                    f"(it could run code; {first}). Delete it, or resume only from checkpoints "
                                    "this package wrote") from None


# -- results derived from a finished stage's weights --------------------------------------------------
DERIVED = "derived.json"


def weights_fingerprint(folder: str) -> str:
    """SHA-256 of a Hugging Face checkpoint's weight files: it changes whenever the stage is trained again."""
    digest = hashlib.sha256()
    for path in sorted(glob.glob(os.path.join(folder, "*.safetensors")) + glob.glob(os.path.join(folder, "*.bin"))):
        with open(path, "rb") as f:
            digest.update(f.read())
    return digest.hexdigest()


def tensor_fingerprint(state: dict) -> str:
    """SHA-256 (16 hex digits) of a state dict's tensors in memory: names, dtypes, shapes and values."""
    digest = hashlib.sha256()
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


def kept_with_weights(folder: str, key: str, make):
    """``make()`` (anything JSON can hold), kept in ``folder/derived.json`` under ``key`` and tied to the
    folder's weights: a later call (another lesson, a resumed run) re-reads it while the weights are the same;
    weights trained again discard everything kept for the old ones. Written atomically, like checkpoints."""
    path, weights = os.path.join(folder, DERIVED), weights_fingerprint(folder)
    kept = {}
    if os.path.exists(path):
        with open(path) as f:
            kept = json.load(f)
    values = kept.get("values", {}) if kept.get("weights") == weights else {}
    if key not in values:
        values[key] = make()
        tmp = f"{path}.tmp-{os.getpid()}"
        with open(tmp, "w") as f:
            json.dump({"weights": weights, "values": values}, f)
        os.replace(tmp, path)
    return values[key]
