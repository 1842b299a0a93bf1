"""Models built from configs, offline: a GPT-Neo of any size (pretraining, tests), a byte-level BPE tokenizer, and
stand-ins for the GPU track's models (GPT-Neo-125M's local attention, Qwen2.5-Instruct's shape and chat template)
for CI and the GPU check, where the hub is out of reach. A stand-in measures code paths, time and memory, never
quality. (Loading a model someone trained is :mod:`rlcore.models`.)"""

from __future__ import annotations

import torch
from tokenizers import Tokenizer, decoders, pre_tokenizers, trainers
from tokenizers.models import BPE
from transformers import GPTNeoConfig, GPTNeoForCausalLM, PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

from rlcore.models import load_base, load_tokenizer


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
