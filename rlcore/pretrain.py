"""Pretrain a GPT-Neo from scratch on the world's corpus: how the shipped tiny models are made.

``scripts/pretrain_world_models.py`` calls :func:`pretrain` for ``tiny`` and ``tiny-labeler``.
Documents are tokenised, joined with EOS, and packed into fixed-length blocks (GPT-2 style).
"""

from __future__ import annotations

import math
import os
import time

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from rlcore.config import seed_everything
from rlcore.models import tiny_gpt_neo

ARCHS = {
    # name: (hidden, layers, heads, context)
    "tiny": (128, 4, 4, 256),
    "tiny-labeler": (256, 6, 8, 256),
    "gpt-neo-125m": (768, 12, 12, 2048),
}


def pack(token_ids: list[list[int]], block: int) -> torch.Tensor:
    """Concatenate tokenised documents and cut them into blocks (N, block); the tail is dropped."""
    flat = [t for doc in token_ids for t in doc]
    n = len(flat) // block
    if n == 0:
        raise ValueError(f"corpus too small: {len(flat)} tokens make no block of {block}")
    return torch.tensor(flat[: n * block]).view(n, block)


def pretrain(tokenizer, documents: list[str], arch: str = "tiny", steps: int = 1000, batch_size: int = 32,
             lr: float = 3e-3, warmup: int = 100, seed: int = 0, device: str = "cpu", progress: bool = True,
             log_every: int = 100, bf16: bool = True, init_model=None):
    """Train a fresh GPT-Neo of ``arch`` on ``documents``; returns (model, info with the loss log).

    ``bf16`` runs the forward pass under bfloat16 autocast (weights and optimizer stay float32):
    on CPUs with AVX-512 BF16 it is several times faster than float32. ``init_model`` continues
    training an existing model (its architecture must be ``arch``'s) instead of a fresh one.
    """
    if arch not in ARCHS:
        raise ValueError(f"unknown arch {arch!r}; choose one of {sorted(ARCHS)}")
    hidden, layers, heads, context = ARCHS[arch]
    seed_everything(seed)
    ids = tokenizer(documents, add_special_tokens=False)["input_ids"]
    blocks = pack(ids, context)
    if init_model is None:
        model = tiny_gpt_neo(len(tokenizer), hidden_size=hidden, num_layers=layers, num_heads=heads,
                             max_position_embeddings=context, seed=seed, eos_token_id=tokenizer.eos_token_id).to(device)
    else:
        model = init_model.to(device)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                                  lr=lr, betas=(0.9, 0.95))
    schedule = lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps)))  # noqa: E731
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    generator = torch.Generator().manual_seed(seed)
    log = []
    model.train()
    start = time.process_time()
    bar = tqdm(range(steps), desc=f"pretrain {arch}", disable=not progress)
    window = []  # losses since the last log line
    for step in bar:
        batch = blocks[torch.randint(0, len(blocks), (batch_size,), generator=generator)].to(device)
        with torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16, enabled=bf16):
            logits = model(input_ids=batch, use_cache=False).logits
        loss = F.cross_entropy(logits[:, :-1].float().reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        window.append(loss.item())
        if step % 10 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
        if step % log_every == 0 or step == steps - 1:
            log.append((step, round(sum(window) / len(window), 4)))  # mean loss since the last entry
            window = []
    model.eval()
    cpu_seconds = time.process_time() - start
    return model, {"loss": log, "cpu_seconds": round(cpu_seconds, 1), "blocks": len(blocks),
                   "tokens": int(blocks.numel()), "parameters": sum(p.numel() for p in model.parameters())}


def save_shipped(model, tokenizer, folder: str, info: dict) -> None:
    """Save as float16 safetensors + config + tokenizer (small enough to ship in the wheel)."""
    import json

    os.makedirs(folder, exist_ok=True)
    model.to(torch.float16).save_pretrained(folder, safe_serialization=True)
    model.to(torch.float32)
    tokenizer.save_pretrained(folder)
    with open(os.path.join(folder, "training.json"), "w") as f:
        json.dump(info, f, indent=1)
