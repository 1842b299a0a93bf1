"""The AI labeler of RLAIF (Lee et al. 2023): an off-the-shelf causal LM, prompted with a principle,
says which of two responses is better.

The soft label is read from the model's next-token distribution after the ending
``"Preferred Response="``: P(1 better) = softmax(log p("1"), log p("2"))[0].
Position bias — preferring whichever response comes first — is removed by scoring both orders and
averaging: p = (P(a first is better) + 1 - P(b first is better)) / 2.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rlcore import formats
from rlcore.rollout import require_pad_token


def verdict_token_ids(tokenizer, tokens=formats.VERDICT_TOKENS) -> tuple[int, int]:
    """The ids of the verdict tokens "1" and "2"; a clear error if either is not a single token."""
    ids = []
    for t in tokens:
        enc = tokenizer(t, add_special_tokens=False)["input_ids"]
        if len(enc) != 1:
            raise ValueError(f"verdict token {t!r} is {len(enc)} tokens in this tokenizer ({enc}); the labeler needs "
                             f"{list(tokens)} to be single tokens")
        ids.append(enc[0])
    return ids[0], ids[1]


@torch.no_grad()
def verdict_probabilities(model, tokenizer, texts: list[str], batch_size: int = 16,
                          max_length: int | None = None) -> torch.Tensor:
    """P(verdict "1") for each labeler text that ends just before the verdict token. (N,) float.

    Texts are left-padded so the verdict is always read at the last position; a text longer than
    ``max_length`` loses tokens from its left.
    """
    require_pad_token(tokenizer)
    one, two = verdict_token_ids(tokenizer)
    device = next(model.parameters()).device
    max_length = max_length or getattr(model.config, "max_position_embeddings", 2048)
    out = []
    side, trunc = tokenizer.padding_side, tokenizer.truncation_side
    tokenizer.padding_side, tokenizer.truncation_side = "left", "left"
    try:
        for i in range(0, len(texts), batch_size):
            enc = tokenizer(texts[i:i + batch_size], return_tensors="pt", padding=True, truncation=True,
                            max_length=max_length, add_special_tokens=False).to(device)
            position_ids = (enc["attention_mask"].cumsum(1) - 1).clamp(min=0)
            logits = model(**enc, position_ids=position_ids, use_cache=False).logits[:, -1].float()  # (B, V)
            logp = F.log_softmax(logits, dim=-1)
            pair = torch.stack([logp[:, one], logp[:, two]], dim=1)  # (B, 2)
            out.append(torch.softmax(pair, dim=1)[:, 0].cpu())
    finally:
        tokenizer.padding_side, tokenizer.truncation_side = side, trunc
    return torch.cat(out)


def comparison_text(principle: str, prompt: str, first: str, second: str) -> str:
    """The labeler prompt ending right before the verdict."""
    return formats.labeler_prompt(principle, prompt, first, second) + formats.VERDICT_ENDING


def prefer_batch(model, tokenizer, principle: str, prompts, responses_a, responses_b, swap: bool = True,
                 batch_size: int = 16) -> dict[str, torch.Tensor]:
    """P(a better than b) for each triple, read in the order (a, b) and, with ``swap``, in (b, a).

    Returns "p_ab" (a shown first), "p_ba" (P(a better) when b is shown first) and "p" (their
    average with swap, else p_ab).
    """
    texts = [comparison_text(principle, p, a, b) for p, a, b in zip(prompts, responses_a, responses_b)]
    p_ab = verdict_probabilities(model, tokenizer, texts, batch_size)
    if not swap:
        return {"p_ab": p_ab, "p": p_ab}
    texts = [comparison_text(principle, p, b, a) for p, a, b in zip(prompts, responses_a, responses_b)]
    p_ba = 1.0 - verdict_probabilities(model, tokenizer, texts, batch_size)
    return {"p_ab": p_ab, "p_ba": p_ba, "p": (p_ab + p_ba) / 2}
