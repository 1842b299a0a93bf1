"""Tiny offline fixtures: a byte-level BPE tokenizer and a 2-layer GPT-Neo, built in well under a second."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest
import torch

from rlcore.builders import tiny_gpt_neo, train_bpe_tokenizer

CORPUS = [
    "\n\nHuman: What is a cat?\n\nAssistant: A cat is a small animal that likes to sleep.",
    "\n\nHuman: How do I bake bread?\n\nAssistant: Mix flour, water, salt and yeast, then bake it.",
    "\n\nHuman: Tell me a joke.\n\nAssistant: Why did the dog sit in the shade? It was a hot dog.",
    "Response 1 or Response 2? The better response is 1. The better response is 2.",
    "the quick brown fox jumps over the lazy dog 0 1 2 3 4 5 6 7 8 9 10",
] * 20


@pytest.fixture(scope="session")
def tokenizer():
    return train_bpe_tokenizer(CORPUS, vocab_size=320)


@pytest.fixture()
def tiny_model(tokenizer):
    torch.manual_seed(0)
    return tiny_gpt_neo(len(tokenizer), hidden_size=32, num_layers=2, num_heads=2, seed=0,
                        eos_token_id=tokenizer.eos_token_id)
