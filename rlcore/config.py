"""Profiles: one tree of settings that decides models, data, judge, sizes, device and dtype; seeding; devices.

Two profiles ship with the course:

* ``"tiny"``: CPU, no network. Tiny GPT-Neo models shipped in ``rlcore/assets`` and the synthetic
  assistant world (``rlcore.world``) whose true preference is a known gold judge.
* ``"gpt-neo-125m"``: GPU + hub. ``EleutherAI/gpt-neo-125m`` on Anthropic HH-RLHF, judged by an AI judge.

A profile holds a few top-level fields (models, data, device, dtype, seed) and one typed section per stage::

    profile.lengths   Lengths        every maximum length (prompt, response, training sequence)
    profile.sft       SFTConfig      supervised fine-tuning
    profile.rm        RewardConfig   the reward models and the comparisons they learn from
    profile.ppo       PPOConfig      PPO (rlcore.ppo)
    profile.grpo      GRPOConfig     GRPO (rlcore.grpo)
    profile.rloo      ReinforceConfig  RLOO / REINFORCE (rlcore.reinforce)
    profile.dpo       DPOConfig      DPO (rlcore.dpo)
    profile.cai       CAIConfig      constitutional AI (lesson 07)
    profile.eval      EvalConfig     evaluation and best-of-n

Each section is defined and validated once, here; stages hand a section to its trainer unchanged. A setting
has one path, spelled the same way everywhere: ``profile.ppo.steps`` in code,
``get_profile("tiny", ppo__steps=5)`` or ``profile.replace(ppo__steps=5)`` as a keyword, ``RLCORE_PPO__STEPS=5``
in the environment (a top-level field: ``RLCORE_DATASET=pairs.jsonl``). An unknown or misspelt name is one
clear error. Notebooks call :func:`get_profile` with no argument: it reads ``RLCORE_PROFILE`` and otherwise
picks ``"tiny"`` without a GPU and ``"gpt-neo-125m"`` with one, so the same cell runs everywhere.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import os
import random
from dataclasses import dataclass, field

import numpy as np
import torch

from rlcore.precision import DTYPES, PrecisionPlan, precision_plan

SCALES = ("group", "batch", "none")  # GRPO's advantage scaling
LOSS_TYPES = ("grpo", "dr_grpo")  # GRPO's loss aggregation
BASELINES = ("rloo", "mean")  # REINFORCE's baseline


def _check(section, positive: tuple = (), rates: tuple = ()) -> None:
    """One section's common checks: ``positive`` fields are integers > 0, ``rates`` numbers > 0."""
    name = type(section).__name__
    for f in positive:
        value = getattr(section, f)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{name}.{f} must be a positive integer, got {value!r}")
    for f in rates:
        value = getattr(section, f)
        if not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"{name}.{f} must be > 0, got {value!r}")


# --------------------------------------------------------------------------- the sections
@dataclass(frozen=True)
class Lengths:
    """One length policy for every stage (rlcore.data.fit_to_length): a prompt keeps its last ``max_prompt_tokens``
    tokens (the newest turns); a sampled response has at most ``max_new_tokens``; a training or scoring sequence
    (prompt + response + EOS: SFT, reward model, DPO) at most ``max_length``, its response cut to fit. Every
    sequence RL samples therefore fits the length the reward model was trained on."""

    max_prompt_tokens: int = 64
    max_new_tokens: int = 24
    max_length: int = 256

    def __post_init__(self) -> None:
        _check(self, positive=("max_prompt_tokens", "max_new_tokens", "max_length"))
        if self.max_prompt_tokens + self.max_new_tokens + 1 > self.max_length:
            raise ValueError(f"Lengths.max_length ({self.max_length}) must hold a whole rollout: max_prompt_tokens "
                             f"({self.max_prompt_tokens}) + max_new_tokens ({self.max_new_tokens}) + 1 (EOS)")


@dataclass(frozen=True)
class SFTConfig:
    lr: float = 1e-3
    batch_size: int = 16
    epochs: int = 1
    examples: int = 1500  # demonstrations SFT sees
    harmful_compliance: float = 0.4  # the world's SFT data: share of harmful prompts answered (helpful-only)

    def __post_init__(self) -> None:
        _check(self, positive=("batch_size", "epochs", "examples"), rates=("lr",))
        if not 0.0 <= self.harmful_compliance <= 1.0:
            raise ValueError(f"SFTConfig.harmful_compliance must be in [0, 1], got {self.harmful_compliance}")


@dataclass(frozen=True)
class RewardConfig:
    """The reward models (rlcore.reward) and the comparisons they learn from: labelled by humans, by the AI labeler,
    or a mix (the hybrid)."""

    lr: float = 1e-3
    batch_size: int = 16
    epochs: int = 1
    pairs: int = 1500  # comparisons labelled by humans, and again by the AI labeler
    test_pairs: int = 500  # held-out pairs for reward-model accuracy (and the judge's agreement)
    hybrid_human_pairs: int = 300  # the hybrid reward model: this many human labels, AI labels for the rest
    contrast_share: float = 0.0  # the world: share of the comparisons that are its minimal contrasts
    normalisation_prompts: int = 128  # SFT samples on train prompts that set the reward's mean 0 and std 1

    def __post_init__(self) -> None:
        _check(self, positive=("batch_size", "epochs", "pairs", "test_pairs", "normalisation_prompts"), rates=("lr",))
        if not isinstance(self.hybrid_human_pairs, int) or not 0 <= self.hybrid_human_pairs <= self.pairs:
            raise ValueError(f"RewardConfig.hybrid_human_pairs must be between 0 and pairs ({self.pairs}), "
                             f"got {self.hybrid_human_pairs!r}")
        if not 0.0 <= self.contrast_share < 1.0:
            raise ValueError(f"RewardConfig.contrast_share must be in [0, 1), got {self.contrast_share}")


@dataclass(frozen=True)
class PPOConfig:
    """PPO (rlcore.ppo): what one iteration does and how many iterations a run takes."""

    lr: float = 1e-4
    value_lr: float | None = None  # default: lr
    batch_size: int = 32  # prompts per iteration
    num_minibatches: int = 4
    epochs: int = 4  # passes over each batch of experience
    steps: int = 40  # iterations in a course run
    clip_range: float = 0.2
    clip_range_value: float = 0.2
    gamma: float = 1.0
    lam: float = 0.95
    init_kl_coef: float = 0.05
    target_kl: float | None = 6.0  # None = a fixed KL coefficient
    kl_horizon: int = 10000
    kl_estimator: str = "k1"
    temperature: float = 1.0
    top_k: int = 0
    missing_eos_penalty: float | None = None
    whiten_advantages: bool = True
    max_grad_norm: float = 1.0

    def __post_init__(self) -> None:
        _check(self, positive=("batch_size", "num_minibatches", "epochs", "steps", "kl_horizon"),
               rates=("lr", "clip_range", "clip_range_value", "temperature", "max_grad_norm"))
        if self.value_lr is not None:
            _check(self, rates=("value_lr",))
        if self.batch_size % self.num_minibatches != 0:
            raise ValueError(f"PPOConfig.batch_size ({self.batch_size}) must be divisible by num_minibatches "
                             f"({self.num_minibatches})")
        if not (0 <= self.gamma <= 1 and 0 <= self.lam <= 1):
            raise ValueError(f"PPOConfig.gamma and lam must be in [0, 1], got {self.gamma}, {self.lam}")
        if self.init_kl_coef < 0:
            raise ValueError(f"PPOConfig.init_kl_coef must be >= 0, got {self.init_kl_coef}")
        if self.target_kl is not None and not self.target_kl > 0:
            raise ValueError(f"PPOConfig.target_kl must be > 0 or None, got {self.target_kl}")
        if self.kl_estimator not in ("k1", "k3"):
            raise ValueError(f"PPOConfig.kl_estimator must be 'k1' or 'k3', got {self.kl_estimator!r}")


@dataclass(frozen=True)
class GroupConfig:
    """What every critic-free trainer here shares (GRPO, REINFORCE / RLOO), checked once."""

    lr: float = 1e-5
    batch_size: int = 8  # prompts per iteration: batch_size x group_size responses
    group_size: int = 4  # responses sampled per prompt
    num_minibatches: int = 2
    steps: int = 40  # iterations in a course run
    beta: float = 0.05  # KL coefficient
    temperature: float = 1.0
    max_grad_norm: float = 1.0

    def __post_init__(self) -> None:
        _check(self, positive=("batch_size", "group_size", "num_minibatches", "steps"),
               rates=("lr", "temperature", "max_grad_norm"))
        if self.beta < 0:
            raise ValueError(f"{type(self).__name__}.beta must be >= 0, got {self.beta}")
        if (self.batch_size * self.group_size) % self.num_minibatches:
            raise ValueError(f"{type(self).__name__}: batch_size x group_size ({self.batch_size * self.group_size}) "
                             f"must be divisible by num_minibatches ({self.num_minibatches})")


@dataclass(frozen=True)
class GRPOConfig(GroupConfig):
    """GRPO (Shao et al. 2024; rlcore.grpo)."""

    beta: float = 0.04  # KL to the reference, a loss term
    epochs: int = 1  # passes over each batch (1: every step on fresh samples, the ratio starts at 1)
    clip_range: float = 0.2
    scale: str = "group"  # advantage scaling: "group" (GRPO), "batch", "none" (Dr. GRPO)
    loss_type: str = "grpo"  # "grpo" or "dr_grpo"

    def __post_init__(self) -> None:
        if self.group_size < 2:
            raise ValueError(f"GRPO compares samples of one prompt: group_size must be >= 2, got {self.group_size}")
        super().__post_init__()
        _check(self, positive=("epochs",), rates=("clip_range",))
        if self.scale not in SCALES or self.loss_type not in LOSS_TYPES:
            raise ValueError(f"GRPOConfig.scale must be one of {SCALES} and loss_type one of {LOSS_TYPES}, "
                             f"got {self.scale!r}, {self.loss_type!r}")


@dataclass(frozen=True)
class ReinforceConfig(GroupConfig):
    """REINFORCE with a baseline (Williams 1992) and RLOO (Ahmadian et al. 2024; rlcore.reinforce).
    group_size: RLOO needs >= 2; the mean baseline takes 1 as well. beta: the KL coefficient, inside the reward."""

    baseline: str = "rloo"

    def __post_init__(self) -> None:
        if self.baseline not in BASELINES:
            raise ValueError(f"ReinforceConfig.baseline must be one of {BASELINES}, got {self.baseline!r}")
        if self.baseline == "rloo" and self.group_size < 2:
            raise ValueError(f"RLOO needs at least two samples per prompt (group_size >= 2), got {self.group_size}")
        super().__post_init__()


@dataclass(frozen=True)
class DPOConfig:
    """DPO (Rafailov et al. 2023; rlcore.dpo)."""

    lr: float = 1e-4
    beta: float = 0.5
    batch_size: int = 16
    epochs: int = 1

    def __post_init__(self) -> None:
        _check(self, positive=("batch_size", "epochs"), rates=("lr", "beta"))


@dataclass(frozen=True)
class CAIConfig:
    """Constitutional AI (rlcore.cai, lesson 07)."""

    prompts: int = 400  # prompts whose critique -> revision SL-CAI is fine-tuned on

    def __post_init__(self) -> None:
        _check(self, positive=("prompts",))


@dataclass(frozen=True)
class EvalConfig:
    prompts: int = 300  # held-out prompts the policies are judged on (half as many for the harmless rate)
    kl_prompts: int = 128  # of those, how many the KL to the reference is measured on
    bon_prompts: int = 64  # lesson 09: held-out prompts for best-of-n ...
    bon_samples: int = 32  # ... and SFT samples of each (best-of-n for n = 1, 2, 4, ... up to this)

    def __post_init__(self) -> None:
        _check(self, positive=("prompts", "kl_prompts", "bon_prompts", "bon_samples"))


SECTIONS = {"lengths": Lengths, "sft": SFTConfig, "rm": RewardConfig, "ppo": PPOConfig, "grpo": GRPOConfig,
            "rloo": ReinforceConfig, "dpo": DPOConfig, "cai": CAIConfig, "eval": EvalConfig}


# --------------------------------------------------------------------------- the profile
@dataclass(frozen=True)
class Profile:
    """Every setting a course stage reads: the models, the data, the device, and one section per stage."""

    name: str
    policy_model: str  # shipped name ("tiny") or a hub id / local path
    labeler_model: str  # the AI labeler of RLAIF
    dataset: str  # "world", a known hub source (rlcore.sources.SOURCES) or a local preference file
    # Who judges the policies on data other than the world (the world always has its gold judge):
    # any causal LM. Not the labeler by default: a policy judged by its own labeler is flattered.
    judge_model: str = "tiny"
    device: str = "auto"  # "auto" = cuda if available else cpu; "mps" only when asked for
    # "float32"; "bfloat16" / "float16": trained models keep float32 weights and compute under autocast (float16
    # with loss scaling), frozen models (reference, reward model in RL, labeler, judge) are stored in that dtype;
    # "auto": from the card (rlcore.precision.precision_plan): bfloat16 from compute capability 8.0 (A100, L4,
    # H100), float16 below (a T4), float32 on the CPU.
    dtype: str = "float32"
    seed: int = 0
    lengths: Lengths = field(default_factory=Lengths)
    sft: SFTConfig = field(default_factory=SFTConfig)
    rm: RewardConfig = field(default_factory=RewardConfig)
    ppo: PPOConfig = field(default_factory=PPOConfig)
    grpo: GRPOConfig = field(default_factory=GRPOConfig)
    rloo: ReinforceConfig = field(default_factory=ReinforceConfig)
    dpo: DPOConfig = field(default_factory=DPOConfig)
    cai: CAIConfig = field(default_factory=CAIConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def __post_init__(self) -> None:
        for name, kind in SECTIONS.items():
            if not isinstance(getattr(self, name), kind):
                raise ValueError(f"Profile.{name} must be a {kind.__name__}, got {getattr(self, name)!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"Profile.seed must be a non-negative integer, got {self.seed!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"Profile.dtype must be one of {DTYPES}, got {self.dtype!r}")
        if self.device not in ("auto", "cpu", "cuda", "mps") and not self.device.startswith("cuda:"):
            raise ValueError(f"Profile.device must be 'auto', 'cpu', 'cuda[:N]' or 'mps', got {self.device!r}")

    # -- device and dtype ---------------------------------------------------------------------------
    @property
    def torch_device(self) -> torch.device:
        return choose_device(self.device)

    @property
    def precision(self) -> PrecisionPlan:
        """What this machine computes in ("auto" resolved from the card's compute capability: rlcore.precision)."""
        return precision_plan(self.dtype, self.torch_device)

    @property
    def compute_dtype(self) -> torch.dtype:
        """The dtype frozen models are stored in and forward passes run in."""
        return self.precision.frozen

    @property
    def train_autocast_dtype(self) -> torch.dtype | None:
        """Autocast dtype for models being trained (float32 weights; float16 with loss scaling), else None."""
        return self.precision.train_autocast

    # -- paths: "ppo.steps" in messages, ppo__steps as a keyword, RLCORE_PPO__STEPS in the environment --------
    def get(self, path: str):
        """The setting at ``path`` ("seed", "ppo.steps" or "ppo__steps")."""
        section, name = _split(path)
        return getattr(getattr(self, section), name) if section else getattr(self, name)

    def replace(self, **changes) -> "Profile":
        """A copy with some settings changed, by path (``replace(dataset="x.jsonl", ppo__steps=5)``) or by
        section (``replace(ppo=PPOConfig(...))``); every section changed is validated again."""
        top, sections = {}, {}
        for path, value in changes.items():
            section, name = _split(path)
            if section:
                sections.setdefault(section, {})[name] = value
            else:
                top[name] = value
        for section, values in sections.items():
            top[section] = dataclasses.replace(top.get(section, getattr(self, section)), **values)
        return dataclasses.replace(self, **top)

    def to_dict(self) -> dict:
        """The profile as plain data (sections as dicts), as :meth:`from_dict` reads it back."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "Profile":
        """A profile from plain data (sections as dicts of their fields), rejecting unknown names by path."""
        flat = {}
        for key, value in values.items():
            if key in SECTIONS and isinstance(value, dict):
                flat.update({f"{key}.{k}": v for k, v in value.items()})
            else:
                flat[key] = value
        for path in flat:
            _split(path)  # an unknown name -> one clear error
        required = {f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING
                    and f.default_factory is dataclasses.MISSING}
        missing = sorted(required - set(flat))
        if missing:
            raise ValueError(f"a profile needs {missing}")
        template = cls(**{name: flat.pop(name) for name in required})
        return template.replace(**flat)


PROFILES: dict[str, Profile] = {
    # The tiny track on the offline world: answers run to ~70 tokens, and half of the comparisons are the world's
    # minimal contrasts. SFT sees 6,000 demonstrations: a policy that makes fewer content mistakes leaves
    # comparisons a reward model can learn from (course/world.md).
    "tiny": Profile(
        name="tiny", policy_model="tiny", labeler_model="tiny-labeler", dataset="world", judge_model="tiny",
        device="cpu",
        # max_prompt_tokens: the world's prompts run to about 67 tokens; at 80 none is ever cut
        lengths=Lengths(max_prompt_tokens=80, max_new_tokens=72),
        sft=SFTConfig(lr=3e-4, epochs=2, examples=6000),
        rm=RewardConfig(lr=3e-4, epochs=2, contrast_share=0.5),
        # PPO's length comes from the gold win rate over SFT on validation prompts (train-split prompts no
        # stage uses; scripts/measure_pipeline_stopping.py): it still rises at 40 steps on human and on AI
        # labels, so the run stops where the CPU budget does, not at a peak. Without the KL brake the policy soon
        # exploits its reward model instead (over-optimisation, Gao et al. 2022; lesson 09).
        ppo=PPOConfig(lr=2e-5, init_kl_coef=0.1, steps=40),
        # GRPO sees as many responses as PPO (8 prompts x 4 samples = 32 per step, 40 steps); its learning rate is
        # higher since it takes 2 optimizer steps per batch where PPO takes 16 (4 epochs x 4 minibatches)
        grpo=GRPOConfig(lr=5e-5), rloo=ReinforceConfig(lr=5e-5),
    ),
    "gpt-neo-125m": Profile(
        name="gpt-neo-125m", policy_model="EleutherAI/gpt-neo-125m",
        labeler_model="Qwen/Qwen2.5-1.5B-Instruct", dataset="Anthropic/hh-rlhf",
        judge_model="Qwen/Qwen2.5-3B-Instruct", dtype="auto",
        lengths=Lengths(max_prompt_tokens=256, max_new_tokens=64, max_length=512),
        sft=SFTConfig(lr=2e-5, batch_size=16, examples=5000),
        rm=RewardConfig(lr=1e-5, batch_size=16, pairs=4000, test_pairs=500, hybrid_human_pairs=500),
        ppo=PPOConfig(lr=1.4e-6, batch_size=64, num_minibatches=4, epochs=4, steps=100, init_kl_coef=0.05,
                      target_kl=6.0),
        grpo=GRPOConfig(lr=1e-6, batch_size=16, group_size=4, num_minibatches=4, steps=100),
        rloo=ReinforceConfig(lr=1e-6, batch_size=16, group_size=4, num_minibatches=4, steps=100),
        dpo=DPOConfig(beta=0.1, lr=5e-7, batch_size=16),
        eval=EvalConfig(prompts=200),
    ),
}


@functools.cache  # the dataclasses' fields never change: one table for the whole process
def _paths() -> dict[str, str]:
    """Every settable path -> its annotated type name: "dataset" -> "str", "ppo.steps" -> "int", ..."""
    out = {f.name: f.type for f in dataclasses.fields(Profile) if f.name not in SECTIONS and f.name != "name"}
    for section, kind in SECTIONS.items():
        out.update({f"{section}.{f.name}": f.type for f in dataclasses.fields(kind)})
    return out


def _split(path: str) -> tuple[str, str]:
    """ "ppo.steps" or "ppo__steps" -> ("ppo", "steps"); "seed" -> ("", "seed"); an unknown path -> ValueError."""
    dotted = path.replace("__", ".")
    known = _paths() | {"name": "str"} | dict.fromkeys(SECTIONS, "section")
    if dotted not in known:
        close = difflib.get_close_matches(dotted, list(known), n=3)
        raise ValueError(f"unknown profile setting {path!r}" + (f"; did you mean {close}?" if close else
                         "; settings are top-level fields or '<section>.<field>' with sections " + str(list(SECTIONS))))
    section, _, name = dotted.rpartition(".")
    return section, name


def env_name(path: str) -> str:
    """The environment variable that sets ``path``: "ppo.steps" -> "RLCORE_PPO__STEPS"."""
    return "RLCORE_" + path.replace(".", "__").upper()


# RLCORE_* variables that are not profile settings
OTHER_VARIABLES = ("RLCORE_PROFILE", "RLCORE_NOTEBOOKS", "RLCORE_COURSE_DIR", "RLCORE_STEP_LOG", "RLCORE_PHASE_LOG",
                   "RLCORE_REQUIRE_BROWSER")


def _convert(raw: str, kind: str, variable: str):
    base = kind.replace(" | None", "")
    if kind.endswith("None") and raw.lower() == "none":
        return None
    if base == "bool":
        if raw.lower() in ("1", "true", "yes"):
            return True
        if raw.lower() in ("0", "false", "no"):
            return False
        raise ValueError(f"{variable}={raw!r} is not a valid bool (true/false)")
    try:
        return {"int": int, "float": float, "str": str}[base](raw)
    except ValueError:
        raise ValueError(f"{variable}={raw!r} is not a valid {base}") from None


def env_overrides(environ=os.environ) -> dict:
    """Profile settings set in the environment, ``RLCORE_<PATH>`` with ``__`` between a section and its field
    (``RLCORE_DATASET=pairs.jsonl``, ``RLCORE_PPO__STEPS=5``), converted to the setting's type. A variable that
    names no setting (``RLCORE_PPO_STEPS``) or a value that does not convert is one clear error."""
    paths = {env_name(p): (p, kind) for p, kind in _paths().items()}
    out = {}
    for variable, raw in environ.items():
        if not variable.startswith("RLCORE_") or variable in OTHER_VARIABLES or not raw:
            continue
        if variable not in paths:
            close = difflib.get_close_matches(variable, list(paths), n=3, cutoff=0.8)
            raise ValueError(f"{variable} names no profile setting" + (f"; did you mean {close}?" if close else
                             f"; a setting is RLCORE_<FIELD> or RLCORE_<SECTION>__<FIELD> ({env_name('ppo.steps')})"))
        path, kind = paths[variable]
        out[path] = _convert(raw, kind, variable)
    return out


def top_level_settings() -> dict[str, str]:
    """The profile's top-level settings (``seed``, ``dataset``, ``device``, ...) -> their type names."""
    return {path: kind for path, kind in _paths().items() if "." not in path}


def text_overrides(assignments: list[str]) -> dict:
    """Settings written as text, ``["ppo.steps=5", "lengths.max_new_tokens=32"]`` (the command line's ``--set``),
    converted to their types; an unknown path names the closest, as for the environment."""
    paths, out = _paths(), {}
    for text in assignments:
        path, sep, raw = text.partition("=")
        path = path.strip().replace("__", ".")
        if not sep or path not in paths:
            close = difflib.get_close_matches(path, list(paths), n=3, cutoff=0.6)
            raise ValueError(f"--set {text!r}: " + ("write SECTION.FIELD=VALUE, e.g. ppo.steps=5" if not sep else
                             f"{path!r} names no profile setting" + (f"; did you mean {close}?" if close else "")))
        out[path.replace(".", "__")] = _convert(raw.strip(), paths[path], f"--set {path}")
    return out


def get_profile(name: str | None = None, **overrides) -> Profile:
    """The profile called ``name``; default ``$RLCORE_PROFILE``, else "tiny" on CPU, "gpt-neo-125m" on GPU.

    Any setting can be set from the environment (:func:`env_overrides`: ``RLCORE_DATASET``, ``RLCORE_DEVICE``,
    ``RLCORE_PPO__STEPS``, ...), so every notebook runs on your data, models or sizes without editing a cell;
    keyword ``overrides`` (``ppo__steps=5``) win over both.
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
