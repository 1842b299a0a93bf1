"""The two pieces every training loop here shares: shuffled minibatches and one optimizer step."""

from __future__ import annotations

import random
from typing import Iterator

import torch


def shuffled_batches(n: int, batch_size: int, epochs: int, seed: int) -> Iterator[list[int]]:
    """Indices of each minibatch: every epoch a fresh seeded shuffle of range(n), cut into batches."""
    if n <= 0:
        raise ValueError("no examples to train on")
    if batch_size <= 0 or epochs <= 0:
        raise ValueError(f"batch_size and epochs must be > 0, got {batch_size} and {epochs}")
    rng = random.Random(seed)
    for _ in range(epochs):
        order = list(range(n))
        rng.shuffle(order)
        for i in range(0, n, batch_size):
            yield order[i:i + batch_size]


def n_batches(n: int, batch_size: int, epochs: int) -> int:
    return epochs * ((n + batch_size - 1) // batch_size)


def make_optimizer(model: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
    if not lr > 0:
        raise ValueError(f"learning rate must be > 0, got {lr}")
    return torch.optim.AdamW(model.parameters(), lr=lr)


def optimizer_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, loss: torch.Tensor,
                   max_grad_norm: float = 1.0) -> None:
    """zero_grad -> backward -> clip the gradient norm -> step."""
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    optimizer.step()
