"""Profiles (one object decides models, data, sizes, device), seeding and device choice.

Two profiles ship with the course:

* ``"tiny"``: CPU, no network. Tiny GPT-Neo models shipped in ``rlcore/assets`` and the synthetic
  assistant world (``rlcore.world``) whose true preference is a known gold judge.
* ``"gpt-neo-125m"``: GPU + hub. ``EleutherAI/gpt-neo-125m`` on real preference data.

Notebooks call :func:`get_profile` with no argument: it reads ``RLCORE_PROFILE`` and otherwise
picks ``"tiny"`` without a GPU and ``"gpt-neo-125m"`` with one, so the same cell runs everywhere.
"""

from __future__ import annotations

import dataclasses
import os
import random
from dataclasses import dataclass, field

import numpy as np
import torch

_DTYPES = ("float32", "bfloat16", "float16")


@dataclass
class Profile:
    """Every setting a course stage reads. Validated on construction (``__post_init__``)."""

    name: str
    policy_model: str  # shipped name ("tiny") or a hub id / local path
    labeler_model: str
    dataset: str  # "world" or a hub dataset id
    device: str = "auto"  # "auto" = cuda if available else cpu; "mps" only when asked for
    dtype: str = "float32"  # autocast dtype on CUDA; CPU always computes in float32
    seed: int = 0
    max_prompt_tokens: int = 64
    max_new_tokens: int = 24
    # SFT
    sft_lr: float = 1e-3
    sft_batch_size: int = 16
    sft_epochs: int = 1
    sft_harmful_compliance: float = 0.4  # world SFT data: share of harmful prompts answered (helpful-only demonstrator)
    # reward model
    rm_lr: float = 1e-3
    rm_batch_size: int = 16
    rm_epochs: int = 1
    # PPO
    ppo_lr: float = 1e-4
    ppo_batch_size: int = 32  # prompts per PPO iteration
    ppo_num_minibatches: int = 4
    ppo_epochs: int = 4
    ppo_steps: int = 40
    init_kl_coef: float = 0.05
    target_kl: float | None = 6.0  # None = fixed KL coefficient
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("max_prompt_tokens", "max_new_tokens", "sft_batch_size", "sft_epochs",
                     "rm_batch_size", "rm_epochs", "ppo_batch_size", "ppo_num_minibatches",
                     "ppo_epochs", "ppo_steps"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"Profile.{name} must be a positive integer, got {value!r}")
        for name in ("sft_lr", "rm_lr", "ppo_lr"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"Profile.{name} (a learning rate) must be > 0, got {value!r}")
        if self.ppo_batch_size % self.ppo_num_minibatches != 0:
            raise ValueError(
                f"Profile.ppo_batch_size ({self.ppo_batch_size}) must be divisible by "
                f"ppo_num_minibatches ({self.ppo_num_minibatches})"
            )
        if self.dtype not in _DTYPES:
            raise ValueError(f"Profile.dtype must be one of {_DTYPES}, got {self.dtype!r}")
        if self.device not in ("auto", "cpu", "cuda", "mps") and not self.device.startswith("cuda:"):
            raise ValueError(f"Profile.device must be 'auto', 'cpu', 'cuda[:N]' or 'mps', got {self.device!r}")
        if not 0.0 <= self.sft_harmful_compliance <= 1.0:
            raise ValueError(f"Profile.sft_harmful_compliance must be in [0, 1], got {self.sft_harmful_compliance}")
        if self.init_kl_coef < 0:
            raise ValueError(f"Profile.init_kl_coef must be >= 0, got {self.init_kl_coef}")
        if self.target_kl is not None and self.target_kl <= 0:
            raise ValueError(f"Profile.target_kl must be > 0 or None, got {self.target_kl}")

    @classmethod
    def from_dict(cls, values: dict) -> "Profile":
        """Build a profile from a plain dict, rejecting unknown fields by name."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown profile field(s) {unknown}; known fields: {sorted(known)}")
        return cls(**values)

    def replace(self, **changes) -> "Profile":
        """A copy with some fields changed (validated again)."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ValueError(f"unknown profile field(s) {unknown}")
        return dataclasses.replace(self, **changes)


PROFILES: dict[str, Profile] = {
    "tiny": Profile(
        name="tiny", policy_model="tiny", labeler_model="tiny-labeler", dataset="world",
        device="cpu", max_new_tokens=48, sft_lr=3e-4, sft_epochs=2, rm_lr=3e-4, rm_epochs=2,
        ppo_lr=2e-5, init_kl_coef=0.1,
    ),
    "gpt-neo-125m": Profile(
        name="gpt-neo-125m", policy_model="EleutherAI/gpt-neo-125m",
        labeler_model="Qwen/Qwen2.5-1.5B-Instruct", dataset="Anthropic/hh-rlhf",
        dtype="bfloat16", max_prompt_tokens=256, max_new_tokens=64,
        sft_lr=2e-5, sft_batch_size=16, rm_lr=1e-5, rm_batch_size=16,
        ppo_lr=1.4e-6, ppo_batch_size=64, ppo_num_minibatches=4, ppo_epochs=4, ppo_steps=100,
        init_kl_coef=0.05, target_kl=6.0,
    ),
}


def get_profile(name: str | None = None, **overrides) -> Profile:
    """The profile called ``name``; default ``$RLCORE_PROFILE``, else "tiny" on CPU, "gpt-neo-125m" on GPU."""
    if name is None:
        name = os.environ.get("RLCORE_PROFILE") or ("gpt-neo-125m" if torch.cuda.is_available() else "tiny")
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)}")
    profile = PROFILES[name]
    return profile.replace(**overrides) if overrides else dataclasses.replace(profile)


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy and torch (CPU and CUDA); return a torch.Generator seeded the same way."""
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    return torch.Generator().manual_seed(seed)


def choose_device(preference: str = "auto") -> torch.device:
    """cuda if available, else cpu. Apple's mps is used only when asked for by name."""
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if preference.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {preference!r} was asked for but CUDA is not available; use 'cpu'")
    if preference == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise ValueError("device 'mps' was asked for but it is not available; use 'cpu'")
    return torch.device(preference)
