"""Load the models of a course run: base policy, frozen reference, value model, reward model.

``load_base("tiny")`` and ``load_base("tiny-labeler")`` load the GPT-Neo models shipped in
``rlcore/assets`` (no network). Anything else is a Hugging Face hub id or a local path.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from transformers.activations import NewGELUActivation

from rlcore.data import check_model_tokenizer
from rlcore.precision import autocast_dtype, use_autocast
from rlcore.reward import RewardModel, ValueModel
from rlcore.sources import HubUnreachableError

ASSETS = Path(__file__).parent / "assets"
SHIPPED = ("tiny", "tiny-labeler")


class TanhGELU(torch.nn.Module):
    """GELU's tanh approximation in one PyTorch kernel (forward and backward)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.gelu(x, approximate="tanh")


def fuse_gelu(model: torch.nn.Module) -> torch.nn.Module:
    """Swap transformers' ``NewGELUActivation`` (GPT-Neo's "gelu_new") for :class:`TanhGELU`: the same function,
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), which transformers writes as six element-wise operations,
    each a pass over the activations forward and again backward. Weights and saved configs are unchanged."""
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if type(child) is NewGELUActivation:
                setattr(parent, name, TanhGELU())
    return model


def resolve(name_or_path: str) -> str:
    """The local folder of a shipped model name, else the name unchanged."""
    if name_or_path in SHIPPED:
        folder = ASSETS / name_or_path
        if not (folder / "config.json").exists():
            raise FileNotFoundError(
                f"the shipped model {name_or_path!r} is missing from {folder}; build it with "
                "`python scripts/pretrain_world_models.py` or reinstall rlcore")
        return str(folder)
    return name_or_path


def _from_pretrained(loader, name_or_path: str, **kwargs):
    try:
        return loader.from_pretrained(resolve(name_or_path), **kwargs)
    except OSError as err:
        if os.path.isdir(name_or_path):
            raise
        raise HubUnreachableError(
            f"could not load {name_or_path!r}: the Hugging Face hub is unreachable or the id is unknown "
            f"({type(err).__name__}). Offline, use the tiny profile (RLCORE_PROFILE=tiny, model 'tiny') "
            "or a local path that holds a saved model.") from None


def load_tokenizer(name_or_path: str):
    """A tokenizer with a pad token (GPT-style tokenizers get pad = eos)."""
    tokenizer = _from_pretrained(AutoTokenizer, name_or_path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_base(name_or_path: str, dtype: torch.dtype | None = None, device: torch.device | str | None = None):
    """(model, tokenizer) for a shipped name ("tiny", "tiny-labeler"), a hub id, or a local path."""
    # float32 unless asked otherwise (the tiny models ship as float16 to keep the wheel small;
    # recent transformers would otherwise keep the checkpoint's dtype)
    kwargs = {"dtype": dtype if dtype is not None else torch.float32}
    model = fuse_gelu(_from_pretrained(AutoModelForCausalLM, name_or_path, **kwargs))
    tokenizer = load_tokenizer(name_or_path)
    check_model_tokenizer(model, tokenizer)
    return (model.to(device) if device is not None else model), tokenizer


def load_trainable(name_or_path: str, profile):
    """(model, tokenizer) to train: float32 weights on the profile's device, forward passes under
    autocast in the profile's dtype (bfloat16 only; see rlcore.precision)."""
    model, tokenizer = load_base(name_or_path, device=profile.torch_device)
    return use_autocast(model, profile.train_autocast_dtype), tokenizer


def load_frozen(name_or_path: str, profile):
    """(model, tokenizer) for inference only (labeler, judge, a finished policy): weights in the profile's
    compute dtype on its device, eval mode, no gradients."""
    model, tokenizer = load_base(name_or_path, dtype=profile.compute_dtype, device=profile.torch_device)
    model.eval().requires_grad_(False)
    return model, tokenizer


def load_reward_model(path: str, profile=None) -> RewardModel:
    """A saved reward model for scoring (frozen, eval mode); on the profile's device and dtype if given."""
    if profile is None:
        return fuse_gelu(RewardModel.from_pretrained(path)).eval()
    model = fuse_gelu(RewardModel.from_pretrained(path, dtype=profile.compute_dtype)).to(profile.torch_device)
    model.eval().requires_grad_(False)
    return model


def reference_model(policy, dtype: torch.dtype | None = None):
    """A frozen copy of the policy: pi_ref for the KL penalty (stored in ``dtype`` if given)."""
    ref = copy.deepcopy(policy)
    if dtype is not None:
        ref.to(dtype)
    ref.eval()
    ref.requires_grad_(False)
    return ref


def value_model_from(causal_lm) -> ValueModel:
    """A value model whose body starts as a copy of ``causal_lm``'s body (a fresh scalar head, same
    device and mixed-precision setting)."""
    body = copy.deepcopy(causal_lm.base_model)
    return use_autocast(ValueModel(body).to(body.device, body.dtype), autocast_dtype(causal_lm))


def reward_model_from(causal_lm) -> RewardModel:
    """A reward model whose body starts as a copy of ``causal_lm``'s body (a fresh scalar head, same
    device and mixed-precision setting)."""
    body = copy.deepcopy(causal_lm.base_model)
    return use_autocast(RewardModel(body).to(body.device, body.dtype), autocast_dtype(causal_lm))


# --------------------------------------------------------------------------- tiny models from scratch
