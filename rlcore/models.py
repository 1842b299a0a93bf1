"""Load the models of a course run: base policy, frozen reference, value model, reward model.

``load_base("tiny")`` and ``load_base("tiny-labeler")`` load the GPT-Neo models shipped in
``rlcore/assets`` (no network). Anything else is a Hugging Face hub id or a local path.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, pre_tokenizers, trainers
from tokenizers.models import BPE
from transformers import (AutoModelForCausalLM, AutoTokenizer, GPTNeoConfig, GPTNeoForCausalLM, PreTrainedTokenizerFast,
                          Qwen2Config, Qwen2ForCausalLM)
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
def train_bpe_tokenizer(texts: list[str], vocab_size: int = 512) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained on ``texts`` with one special token, <|endoftext|> (eos = pad).

    Digits are split one per token so that "1" and "2" (the AI labeler's verdicts) stay single tokens.
    """
    tok = Tokenizer(BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", bos_token="<|endoftext|>",
                                   unk_token="<|endoftext|>", pad_token="<|endoftext|>")


def tiny_gpt_neo(vocab_size: int, hidden_size: int = 64, num_layers: int = 2, num_heads: int = 4,
                 max_position_embeddings: int = 256, seed: int = 0, eos_token_id: int = 0,
                 attention_types=None, window_size: int = 256) -> GPTNeoForCausalLM:
    """A randomly initialised GPT-Neo of the given size, seeded. Global attention in every layer unless
    ``attention_types`` says otherwise (GPT-Neo-125M alternates ``[[["global", "local"], 6]]``)."""
    config = GPTNeoConfig(vocab_size=vocab_size, hidden_size=hidden_size, num_layers=num_layers,
                          num_heads=num_heads, attention_types=attention_types or [[["global"], num_layers]],
                          window_size=window_size,
                          max_position_embeddings=max_position_embeddings, intermediate_size=4 * hidden_size,
                          bos_token_id=eos_token_id, eos_token_id=eos_token_id, pad_token_id=eos_token_id,
                          embed_dropout=0.0, attention_dropout=0.0, resid_dropout=0.0)
    torch.manual_seed(seed)
    return GPTNeoForCausalLM(config)


# --------------------------------------------------------------------------- stand-ins for the GPU track (offline)
# The GPU profile's models (GPT-Neo-125M; Qwen2.5-1.5B- and 3B-Instruct) come from the hub. Offline (CI, the GPU
# check) their architectures are built here: the same classes and code paths, at toy width or at full shape with
# random weights. A stand-in measures code paths, time and memory, never quality.
CHATML_TEMPLATE = (  # Qwen2.5-Instruct's chat format (ChatML), with its default system turn
    "{%- if messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{%- endif %}"
    "{%- for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}")
# The shapes of Qwen2.5-1.5B-Instruct and Qwen2.5-3B-Instruct (their config.json on the hub).
QWEN2_SHAPES = {
    "qwen2.5-1.5b": dict(hidden_size=1536, num_hidden_layers=28, num_attention_heads=12, num_key_value_heads=2,
                         intermediate_size=8960, vocab_size=151936),
    "qwen2.5-3b": dict(hidden_size=2048, num_hidden_layers=36, num_attention_heads=16, num_key_value_heads=2,
                       intermediate_size=11008, vocab_size=151936),
    "toy": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                intermediate_size=128),
}


def chat_tokenizer(name_or_path: str = "tiny"):
    """A tokenizer with ChatML's special tokens and chat template (an instruction-tuned model's), from ``name``'s."""
    tokenizer = load_tokenizer(name_or_path)
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    tokenizer.chat_template = CHATML_TEMPLATE
    return tokenizer


def qwen2_stand_in(out: str, shape: str = "toy", seed: int = 0, max_position_embeddings: int = 32768,
                   device: str = "cpu", dtype: torch.dtype | None = None) -> str:
    """A Qwen2-architecture causal LM built from a config (``QWEN2_SHAPES``), random weights, with a ChatML
    tokenizer; saved to ``out`` (a path any profile field takes) in ``dtype``. Returns ``out``. Built on
    ``device`` (a GPU initialises a 3B model in seconds)."""
    tokenizer = chat_tokenizer()
    dims = {"vocab_size": len(tokenizer), **QWEN2_SHAPES[shape]}
    if dims["vocab_size"] < len(tokenizer):
        raise ValueError(f"shape {shape!r} has fewer embeddings than the tokenizer has tokens")
    config = Qwen2Config(**dims, max_position_embeddings=max_position_embeddings, tie_word_embeddings=True,
                         rope_theta=1e6, bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(seed)
    with torch.device(device):
        model = Qwen2ForCausalLM(config)
    model.to(dtype or torch.float32).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def gpt_neo_local_stand_in(out: str, source: str = "tiny", window_size: int = 64,
                           max_position_embeddings: int = 2048) -> str:
    """``source`` (a GPT-Neo, the shipped tiny one by default) reshaped as GPT-Neo-125M is: global and local
    attention in turn (``window_size``) and ``max_position_embeddings`` positions (new rows copy the last trained
    one). Its trained weights carry over, so it still writes the world's text. Saved to ``out``; returns it."""
    model, tokenizer = load_base(source)
    old = model.config
    if old.num_layers % 2:
        raise ValueError("alternating global/local attention needs an even number of layers")
    config = GPTNeoConfig(vocab_size=old.vocab_size, hidden_size=old.hidden_size, num_layers=old.num_layers,
                          num_heads=old.num_heads, attention_types=[[["global", "local"], old.num_layers // 2]],
                          window_size=window_size, max_position_embeddings=max_position_embeddings,
                          intermediate_size=old.intermediate_size, bos_token_id=old.bos_token_id,
                          eos_token_id=old.eos_token_id, pad_token_id=old.pad_token_id,
                          embed_dropout=0.0, attention_dropout=0.0, resid_dropout=0.0)
    new = GPTNeoForCausalLM(config)
    state = model.state_dict()
    wpe = state.pop("transformer.wpe.weight")  # (old positions, hidden)
    grown = wpe[-1:].repeat(max_position_embeddings, 1)
    grown[: min(len(wpe), max_position_embeddings)] = wpe[:max_position_embeddings]
    state["transformer.wpe.weight"] = grown
    new.load_state_dict(state, strict=False)  # GPT-Neo's attention bias buffers differ by kind; weights match
    new.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
