"""Profiles (one object decides models, data, judge, sizes, device and dtype), seeding and device choice.

Two profiles ship with the course:

* ``"tiny"``: CPU, no network. Tiny GPT-Neo models shipped in ``rlcore/assets`` and the synthetic
  assistant world (``rlcore.world``) whose true preference is a known gold judge.
* ``"gpt-neo-125m"``: GPU + hub. ``EleutherAI/gpt-neo-125m`` on Anthropic HH-RLHF, judged by an AI judge.

Any field can be overridden: ``get_profile("tiny", dataset="pairs.jsonl")`` runs the tiny models on your
own preference file (judged by ``judge_model``, since only the world has a gold judge).

Notebooks call :func:`get_profile` with no argument: it reads ``RLCORE_PROFILE`` and otherwise
picks ``"tiny"`` without a GPU and ``"gpt-neo-125m"`` with one, so the same cell runs everywhere.
"""

from __future__ import annotations

import dataclasses
import os
import random
from dataclasses import dataclass

import numpy as np
import torch

_DTYPES = ("auto", "float32", "bfloat16", "float16")


@dataclass
class Profile:
    """Every setting a course stage reads. Validated on construction (``__post_init__``)."""

    name: str
    policy_model: str  # shipped name ("tiny") or a hub id / local path
    labeler_model: str  # the AI labeler of RLAIF
    dataset: str  # "world", a known hub source (rlcore.sources.SOURCES) or a local preference file
    # Who judges the policies on data other than the world (the world always has its gold judge):
    # any causal LM. Not the labeler by default: a policy judged by its own labeler is flattered.
    judge_model: str = "tiny"
    device: str = "auto"  # "auto" = cuda if available else cpu; "mps" only when asked for
    # "float32"; "bfloat16" / "float16": trained models keep float32 weights and compute under autocast
    # (bfloat16 only: float16 training would need loss scaling, so it trains in float32), frozen models
    # (reference, reward model in PPO, labeler, judge) are stored in that dtype; "auto": bfloat16 on a GPU
    # that supports it, float16 on an older GPU (a T4), float32 on the CPU.
    dtype: str = "float32"
    seed: int = 0
    # One length policy for every stage (rlcore.data.fit_to_length): a prompt keeps its last max_prompt_tokens
    # tokens (the newest turns); a sampled response has at most max_new_tokens; a training or scoring sequence
    # (prompt + response + EOS: SFT, reward model, DPO) at most max_length, its response cut to fit. Every
    # sequence PPO samples therefore fits the length the reward model was trained on.
    max_prompt_tokens: int = 64
    max_new_tokens: int = 24
    max_length: int = 256
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
    # GRPO (rlcore.grpo.GRPOConfig reads every grpo_<field> here): group_size samples per prompt, no value model
    grpo_lr: float = 1e-5
    grpo_batch_size: int = 8  # prompts per iteration: grpo_batch_size x grpo_group_size responses
    grpo_group_size: int = 4
    grpo_num_minibatches: int = 2
    grpo_epochs: int = 1
    grpo_beta: float = 0.04  # KL to the reference, a loss term
    grpo_clip_range: float = 0.2
    grpo_scale: str = "group"  # advantage scaling: "group", "batch", "none" (Dr. GRPO)
    grpo_loss_type: str = "grpo"  # "grpo" or "dr_grpo"
    grpo_steps: int = 40
    # RLOO / REINFORCE (rlcore.reinforce.ReinforceConfig reads every rloo_<field> here)
    rloo_lr: float = 1e-5
    rloo_batch_size: int = 8
    rloo_group_size: int = 4
    rloo_num_minibatches: int = 2
    rloo_beta: float = 0.05  # KL to the reference, inside each response's reward
    rloo_steps: int = 40
    # How much data each stage of a course run sees (the pipeline and the notebooks alike)
    sft_examples: int = 1500
    rm_pairs: int = 1500  # comparisons labelled by humans, and again by the AI labeler
    rm_test_pairs: int = 500  # held-out pairs for reward-model accuracy (and the judge's agreement)
    hybrid_human_pairs: int = 300  # the hybrid reward model: this many human labels, AI labels for the rest
    contrast_share: float = 0.0  # the world: share of the comparisons that are its minimal contrasts
    dpo_beta: float = 0.5
    dpo_epochs: int = 1
    dpo_lr: float = 1e-4
    eval_prompts: int = 300  # held-out prompts the policies are judged on (half as many for the harmless rate)
    sl_cai_prompts: int = 400  # lesson 07: prompts whose critique -> revision SL-CAI is fine-tuned on
    bon_prompts: int = 64  # lesson 09: held-out prompts for best-of-n ...
    bon_samples: int = 32  # ... and SFT samples of each (best-of-n for n = 1, 2, 4, ... up to this)

    def __post_init__(self) -> None:
        for name in ("max_prompt_tokens", "max_new_tokens", "max_length", "sft_batch_size", "sft_epochs",
                     "rm_batch_size", "rm_epochs", "ppo_batch_size", "ppo_num_minibatches",
                     "ppo_epochs", "ppo_steps", "grpo_steps", "rloo_steps", "sft_examples", "rm_pairs", "rm_test_pairs", "dpo_epochs",
                     "eval_prompts", "sl_cai_prompts", "bon_prompts", "bon_samples"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"Profile.{name} must be a positive integer, got {value!r}")
        for name in ("sft_lr", "rm_lr", "ppo_lr", "dpo_lr", "dpo_beta"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"Profile.{name} (a learning rate) must be > 0, got {value!r}")
        if self.ppo_batch_size % self.ppo_num_minibatches != 0:
            raise ValueError(
                f"Profile.ppo_batch_size ({self.ppo_batch_size}) must be divisible by "
                f"ppo_num_minibatches ({self.ppo_num_minibatches})"
            )
        if self.max_prompt_tokens + self.max_new_tokens + 1 > self.max_length:
            raise ValueError(f"Profile.max_length ({self.max_length}) must hold a whole rollout: max_prompt_tokens "
                             f"({self.max_prompt_tokens}) + max_new_tokens ({self.max_new_tokens}) + 1 (EOS)")
        if self.dtype not in _DTYPES:
            raise ValueError(f"Profile.dtype must be one of {_DTYPES}, got {self.dtype!r}")
        if self.device not in ("auto", "cpu", "cuda", "mps") and not self.device.startswith("cuda:"):
            raise ValueError(f"Profile.device must be 'auto', 'cpu', 'cuda[:N]' or 'mps', got {self.device!r}")
        if not 0.0 <= self.contrast_share < 1.0:
            raise ValueError(f"Profile.contrast_share must be in [0, 1), got {self.contrast_share}")
        if not 0.0 <= self.sft_harmful_compliance <= 1.0:
            raise ValueError(f"Profile.sft_harmful_compliance must be in [0, 1], got {self.sft_harmful_compliance}")
        if self.init_kl_coef < 0:
            raise ValueError(f"Profile.init_kl_coef must be >= 0, got {self.init_kl_coef}")
        if self.target_kl is not None and self.target_kl <= 0:
            raise ValueError(f"Profile.target_kl must be > 0 or None, got {self.target_kl}")
        if not isinstance(self.hybrid_human_pairs, int) or not 0 <= self.hybrid_human_pairs <= self.rm_pairs:
            raise ValueError(f"Profile.hybrid_human_pairs must be between 0 and rm_pairs ({self.rm_pairs}), "
                             f"got {self.hybrid_human_pairs!r}")

    # -- device and dtype ---------------------------------------------------------------------------
    @property
    def torch_device(self) -> torch.device:
        return choose_device(self.device)

    @property
    def compute_dtype(self) -> torch.dtype:
        """The dtype forward passes run in ("auto" resolved for this machine)."""
        name = self.dtype
        if name == "auto":
            device = self.torch_device
            if device.type != "cuda":
                name = "float32"
            else:
                name = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        return getattr(torch, name)

    @property
    def train_autocast_dtype(self) -> torch.dtype | None:
        """Autocast dtype for models being trained (float32 weights): bfloat16 only, else None."""
        return torch.bfloat16 if self.compute_dtype == torch.bfloat16 else None

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
    # The tiny track on the offline world: answers run to ~70 tokens, and half of the comparisons are the world's
    # minimal contrasts. SFT sees 6,000 demonstrations: a policy that makes fewer content mistakes leaves
    # comparisons a reward model can learn from (course/world.md).
    "tiny": Profile(
        name="tiny", policy_model="tiny", labeler_model="tiny-labeler", dataset="world", judge_model="tiny",
        # max_prompt_tokens: the world's prompts run to about 67 tokens; at 80 none is ever cut
        device="cpu", max_prompt_tokens=80, max_new_tokens=72, sft_lr=3e-4, sft_epochs=2, sft_examples=6000,
        rm_lr=3e-4, rm_epochs=2,
        ppo_lr=2e-5, init_kl_coef=0.1, contrast_share=0.5,
        # PPO's length comes from the gold win rate over SFT on validation prompts (train-split prompts no
        # stage uses; scripts/measure_pipeline_stopping.py): it still rises at 40 steps on human and on AI
        # labels, so the run stops where the CPU budget does, not at a peak. Without the KL brake the policy soon
        # exploits its reward model instead (over-optimisation, Gao et al. 2022; lesson 09).
        ppo_steps=40,
        # GRPO sees as many responses as PPO (8 prompts x 4 samples = 32 per step, 40 steps); its learning rate is
        # higher since it takes 2 optimizer steps per batch where PPO takes 16 (4 epochs x 4 minibatches)
        grpo_lr=5e-5, rloo_lr=5e-5,
    ),
    "gpt-neo-125m": Profile(
        name="gpt-neo-125m", policy_model="EleutherAI/gpt-neo-125m",
        labeler_model="Qwen/Qwen2.5-1.5B-Instruct", dataset="Anthropic/hh-rlhf",
        judge_model="Qwen/Qwen2.5-3B-Instruct",
        dtype="auto", max_prompt_tokens=256, max_new_tokens=64, max_length=512,
        sft_lr=2e-5, sft_batch_size=16, rm_lr=1e-5, rm_batch_size=16,
        ppo_lr=1.4e-6, ppo_batch_size=64, ppo_num_minibatches=4, ppo_epochs=4, ppo_steps=100,
        init_kl_coef=0.05, target_kl=6.0,
        grpo_lr=1e-6, grpo_batch_size=16, grpo_group_size=4, grpo_num_minibatches=4, grpo_steps=100,
        rloo_lr=1e-6, rloo_batch_size=16, rloo_group_size=4, rloo_num_minibatches=4, rloo_steps=100,
        sft_examples=5000, rm_pairs=4000, rm_test_pairs=500, hybrid_human_pairs=500, dpo_beta=0.1, dpo_lr=5e-7,
        eval_prompts=200,
    ),
}


def env_overrides(environ=os.environ) -> dict:
    """Profile fields set in the environment as ``RLCORE_<FIELD>`` (``RLCORE_DATASET=pairs.jsonl``,
    ``RLCORE_PPO_STEPS=5``), converted to the field's type; a value that does not convert is one clear error."""
    out = {}
    for f in dataclasses.fields(Profile):
        raw = environ.get(f"RLCORE_{f.name.upper()}")
        if f.name == "name" or not raw:
            continue
        kind = {"int": int, "float": float, "str": str, "float | None": float}[f.type]
        try:
            out[f.name] = None if (f.type.endswith("None") and raw.lower() == "none") else kind(raw)
        except ValueError:
            raise ValueError(f"RLCORE_{f.name.upper()}={raw!r} is not a valid {kind.__name__} "
                             f"(Profile.{f.name})") from None
    return out


def get_profile(name: str | None = None, **overrides) -> Profile:
    """The profile called ``name``; default ``$RLCORE_PROFILE``, else "tiny" on CPU, "gpt-neo-125m" on GPU.

    Any field can be set from the environment as ``RLCORE_<FIELD>`` (``RLCORE_DATASET``, ``RLCORE_DEVICE``,
    ``RLCORE_PPO_STEPS``, ...; :func:`env_overrides`), so every notebook runs on your data, models or sizes
    without editing a cell; keyword ``overrides`` win over both.
    """
    if name is None:
        name = os.environ.get("RLCORE_PROFILE") or ("gpt-neo-125m" if torch.cuda.is_available() else "tiny")
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)}")
    return PROFILES[name].replace(**{**env_overrides(), **overrides})


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
