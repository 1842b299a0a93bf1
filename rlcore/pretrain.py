"""Pretrain a GPT-Neo from scratch on the world's corpus: how the shipped tiny models are made.

``scripts/pretrain_world_models.py`` calls :func:`pretrain` for ``tiny`` and ``tiny-labeler``.
Documents are tokenised, joined with EOS, and packed into fixed-length blocks (GPT-2 style).
"""

from __future__ import annotations

import json
import math
import os
import time

import torch
import torch.nn.functional as F

from rlcore.config import seed_everything
from rlcore.builders import tiny_gpt_neo
from rlcore.models import load_base
from rlcore.progress import progress_bar
from rlcore.training import optimizer_step
from rlcore.world.corpus import corpus

ARCHS = {
    # name: (hidden, layers, heads, context)
    "tiny": (128, 4, 4, 256),
    "tiny-labeler": (256, 6, 8, 256),
    "gpt-neo-125m": (768, 12, 12, 2048),
}
# Peak learning rates the shipped models were trained with (scripts/pretrain_world_models.py).
SHIPPED_LR = {"tiny": 3e-3, "tiny-labeler": 2e-3}
# GPT-Neo-125M alternates global and local (window 256) attention; the tiny models use global only.
ATTENTION = {"gpt-neo-125m": [[["global", "local"], 6]]}


def new_model(arch: str, tokenizer, seed: int = 0):
    """A freshly initialised GPT-Neo of ``arch`` for ``tokenizer``'s vocabulary."""
    if arch not in ARCHS:
        raise ValueError(f"unknown arch {arch!r}; choose one of {sorted(ARCHS)}")
    hidden, layers, heads, context = ARCHS[arch]
    return tiny_gpt_neo(len(tokenizer), hidden_size=hidden, num_layers=layers, num_heads=heads,
                        max_position_embeddings=context, seed=seed, eos_token_id=tokenizer.eos_token_id,
                        attention_types=ATTENTION.get(arch))


def pack(token_ids: list[list[int]], block: int) -> torch.Tensor:
    """Concatenate tokenised documents and cut them into blocks (N, block); the tail is dropped."""
    flat = [t for doc in token_ids for t in doc]
    n = len(flat) // block
    if n == 0:
        raise ValueError(f"corpus too small: {len(flat)} tokens make no block of {block}")
    return torch.tensor(flat[: n * block]).view(n, block)


def pretrain(tokenizer, documents: list[str], arch: str = "tiny", steps: int = 1000, batch_size: int = 32,
             lr: float = 3e-3, warmup: int = 100, seed: int = 0, device: str = "cpu", progress: bool = True,
             log_every: int = 100, bf16: bool = True, init_model=None, max_seconds: float | None = None):
    """Train a fresh GPT-Neo of ``arch`` on ``documents``; returns (model, info with the loss log).

    ``bf16``: the forward pass under bfloat16 autocast (weights and optimizer stay float32), several times faster on
    CPUs with AVX-512 BF16. ``init_model``: continue training an existing model of ``arch`` instead of a fresh one.
    ``max_seconds``: a wall-clock budget; after 10 steps ``steps`` is cut to what fits at the measured step time, so
    the cosine schedule still ends at zero (the run is then not bit-reproducible).
    """
    if arch not in ARCHS:
        raise ValueError(f"unknown arch {arch!r}; choose one of {sorted(ARCHS)}")
    seed_everything(seed)
    blocks = pack(tokenizer(documents, add_special_tokens=False)["input_ids"], ARCHS[arch][3])  # (N, context)
    model = (new_model(arch, tokenizer, seed=seed) if init_model is None else init_model).to(device)
    total = [steps]  # may shrink under a time budget
    optimizer, scheduler = _adamw_cosine(model, lr, warmup, total)
    generator = torch.Generator().manual_seed(seed)
    log, window = [], []  # (step, mean loss since the last entry); the losses since then
    model.train()
    start, wall = time.process_time(), time.time()
    bar = progress_bar(range(steps), desc=f"pretrain {arch}", disable=not progress)
    for step in bar:
        if step >= total[0]:
            break
        batch = blocks[torch.randint(0, len(blocks), (batch_size,), generator=generator)].to(device)  # (B, L)
        window.append(_next_token_step(model, batch, optimizer, scheduler, bf16))
        if step % 10 == 0:
            bar.set_postfix(loss=f"{window[-1]:.3f}", refresh=False)
        if max_seconds is not None and step == 9:
            per_step = (time.time() - wall) / 10
            total[0] = max(10, min(steps, int(max_seconds / per_step)))
            bar.total = total[0]
        if step % log_every == 0 or step == total[0] - 1:
            log.append((step, round(sum(window) / len(window), 4)))
            window = []
    model.eval()
    return model, {"loss": log, "cpu_seconds": round(time.process_time() - start, 1),
                   "wall_seconds": round(time.time() - wall, 1), "steps_done": total[0], "blocks": len(blocks),
                   "tokens": int(blocks.numel()), "parameters": sum(p.numel() for p in model.parameters())}


def _adamw_cosine(model, lr: float, warmup: int, total: list[int]):
    """AdamW with weight decay on the matrices only, its learning rate warmed up linearly for ``warmup`` steps, then
    on a cosine to zero at ``total[0]`` steps (a list: a time budget can shorten the schedule while it runs)."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                                  lr=lr, betas=(0.9, 0.95))

    def schedule(step):  # the learning rate's multiplier
        return min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, step / total[0])))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)


def _next_token_step(model, batch: torch.Tensor, optimizer, scheduler, bf16: bool) -> float:
    """One optimizer step of next-token prediction on ``batch`` (B, L), the gradient clipped at norm 1; the loss."""
    with torch.autocast(device_type=batch.device.type, dtype=torch.bfloat16, enabled=bf16):
        logits = model(input_ids=batch, use_cache=False).logits  # (B, L, V)
    loss = F.cross_entropy(logits[:, :-1].float().reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))
    optimizer_step(model, optimizer, loss, max_grad_norm=1.0)
    scheduler.step()
    return loss.item()


def save_shipped(model, tokenizer, folder: str, info: dict) -> None:
    """Save as float16 safetensors + config + tokenizer (small enough to ship in the wheel)."""
    os.makedirs(folder, exist_ok=True)
    model.to(torch.float16).save_pretrained(folder, safe_serialization=True)
    model.to(torch.float32)
    tokenizer.save_pretrained(folder)
    with open(os.path.join(folder, "training.json"), "w") as f:
        json.dump(info, f, indent=1)


def pretrain_cli(arch: str, minutes: float, out: str | None = None, documents: int = 60000, max_steps: int = 100000,
                 batch_size: int | None = None, lr: float | None = None, seed: int = 0) -> str:
    """``rlcore pretrain``: a GPT-Neo of ``arch``, trained from scratch on the world corpus for ``minutes``
    with the shipped tokenizer, saved as a Hugging Face checkpoint. On CUDA the forward pass runs under
    bfloat16 autocast; on a CPU too (AVX-512 BF16 makes that fast)."""
    if arch not in ARCHS:
        raise ValueError(f"unknown arch {arch!r}; choose one of {sorted(ARCHS)}")
    if minutes <= 0:
        raise ValueError(f"--minutes must be > 0, got {minutes}")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    out = out or os.path.join("runs", f"pretrain-{arch}")
    _, tokenizer = load_base("tiny")  # the world's BPE tokenizer (shipped)
    batch_size = batch_size or (8 if arch == "gpt-neo-125m" else 16)
    lr = lr or SHIPPED_LR.get(arch, 6e-4)
    start = time.time()
    docs = corpus(documents, seed=seed)
    model, info = pretrain(tokenizer, docs, arch=arch, steps=max_steps, batch_size=batch_size, lr=lr, seed=seed,
                           device=device, max_seconds=60 * minutes, warmup=min(100, max_steps // 10 + 1))
    info.update(arch=arch, documents=documents, batch_size=batch_size, lr=lr, seed=seed, device=device,
                minutes=minutes, corpus_seconds=round(time.time() - start - info["wall_seconds"], 1),
                torch=torch.__version__)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    with open(os.path.join(out, "training.json"), "w") as f:
        json.dump(info, f, indent=1)
    first, last = info["loss"][0][1], info["loss"][-1][1]
    print(f"{arch}: {info['parameters']:,} parameters, {info['steps_done']} steps in {info['wall_seconds']}s on "
          f"{device}, loss {first} -> {last}")
    return out
