"""Reward model: a causal-LM backbone with a scalar head read at the last non-pad token.

Why the *last* token: a causal LM's hidden state at position i has seen tokens 0..i only. Reading the
reward at token 0 (a bug in a well-known blog post) gives every sequence that starts with the same
token the same reward. The last real token is the only one that has seen the whole conversation.
"""

from __future__ import annotations

import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from transformers import AutoModel

from rlcore.config import Lengths, RewardConfig
from rlcore.data import PreferencePair, as_pairs, check_model_tokenizer, tokenize_pairs, tokenize_prompt_response, warn_truncated
from rlcore.phases import timed
from rlcore.precision import autocast
from rlcore.progress import progress_bar
from rlcore.rollout import position_ids_from_mask, sample_responses
from rlcore.training import TrainingRun, make_optimizer, n_batches


def last_token_index(attention_mask: torch.Tensor) -> torch.Tensor:
    """Index of the last 1 in each row of attention_mask (B, L) -> (B,). Works for left or right padding."""
    if attention_mask.dim() != 2:
        raise ValueError(f"attention_mask must be (batch, seq_len), got shape {tuple(attention_mask.shape)}")
    if torch.any(attention_mask.sum(1) == 0):
        raise ValueError("a row of attention_mask is all zeros: an empty sequence has no last token")
    positions = torch.arange(attention_mask.shape[1], device=attention_mask.device)
    return (positions * attention_mask.long()).argmax(dim=1)


def last_token_scores(scores: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Each row's score at its last real token: (B, L), (B, L) -> (B,). Left or right padding alike."""
    return scores.gather(1, last_token_index(attention_mask).unsqueeze(1)).squeeze(1)


def _hidden_states(backbone, input_ids, attention_mask):
    """Final hidden states (B, L, H) of a transformer body, positions taken from the mask."""
    out = backbone(input_ids=input_ids, attention_mask=attention_mask,
                   position_ids=position_ids_from_mask(attention_mask), use_cache=False)
    return out.last_hidden_state


class _ScalarHeadModel(nn.Module):
    """A transformer body (e.g. GPTNeoModel) plus a linear head giving one scalar per position."""

    head_name = "head"

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone
        hidden = backbone.config.hidden_size
        head = nn.Linear(hidden, 1)
        nn.init.normal_(head.weight, std=1.0 / (hidden + 1) ** 0.5)
        nn.init.zeros_(head.bias)
        setattr(self, self.head_name, head)

    @property
    def config(self):
        return self.backbone.config

    def per_token(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Scalar at every position: (B, L)."""
        with autocast(self):  # mixed precision if the profile asked for it (rlcore.precision)
            hidden = _hidden_states(self.backbone, input_ids, attention_mask)
            return getattr(self, self.head_name)(hidden).squeeze(-1).float()

    def save_pretrained(self, path: str, extra: dict | None = None) -> None:
        """HF checkpoint of the body, the head as safetensors, and a small JSON of settings."""
        os.makedirs(path, exist_ok=True)
        self.backbone.save_pretrained(path)
        head = getattr(self, self.head_name)
        save_file({k: v.detach().cpu().contiguous() for k, v in head.state_dict().items()},
                  os.path.join(path, f"{self.head_name}.safetensors"))
        with open(os.path.join(path, "rlcore_head.json"), "w") as f:
            json.dump({"class": type(self).__name__, **(extra or {})}, f)

    @classmethod
    def from_pretrained(cls, path: str, **kwargs):
        backbone = AutoModel.from_pretrained(path, **kwargs)
        model = cls(backbone).to(backbone.dtype)  # the head in the body's dtype
        getattr(model, cls.head_name).load_state_dict(load_file(os.path.join(path, f"{cls.head_name}.safetensors")))
        with open(os.path.join(path, "rlcore_head.json")) as f:
            model._load_extra(json.load(f))
        return model

    def _load_extra(self, extra: dict) -> None:
        pass


class RewardModel(_ScalarHeadModel):
    """r(prompt + response) = reward_head(h_last) where h_last is the hidden state at the last non-pad token.

    ``forward(input_ids, attention_mask) -> (B,)``. After :meth:`normalise` the output is
    (raw - mean) / std with mean and std measured on reference samples.
    """

    head_name = "reward_head"

    def __init__(self, backbone: nn.Module):
        super().__init__(backbone)
        self.register_buffer("reward_mean", torch.zeros(()))
        self.register_buffer("reward_std", torch.ones(()))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        raw = last_token_scores(self.per_token(input_ids, attention_mask), attention_mask)  # (B, L) -> (B,)
        return (raw - self.reward_mean) / self.reward_std

    @torch.no_grad()
    def normalise(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, batch_size: int = 32) -> None:
        """Set reward_mean / reward_std so rewards on these reference sequences have mean 0 and std 1.
        The sequences may be on any device: each batch goes to the model's."""
        device = next(self.parameters()).device
        self.reward_mean.zero_()
        self.reward_std.fill_(1.0)
        rewards = torch.cat([self(input_ids[i:i + batch_size].to(device), attention_mask[i:i + batch_size].to(device))
                             for i in range(0, len(input_ids), batch_size)])
        self.reward_mean.fill_(rewards.mean().item())
        self.reward_std.fill_(max(rewards.std().item(), 1e-6) if len(rewards) > 1 else 1.0)

    def normalise_on_samples(self, policy, tokenizer, prompts: list[str], lengths: Lengths = Lengths(),
                             seed: int = 0) -> None:
        """:meth:`normalise` on the policy's own samples for ``prompts``, so that the PPO reward starts
        with mean 0 and std 1 and one KL coefficient means the same for every reward model (Ziegler et al. 2019).
        The samples are drawn and scored exactly as PPO draws and scores its rollouts (:meth:`score`)."""
        responses = sample_responses(policy, tokenizer, prompts, max_new_tokens=lengths.max_new_tokens, seed=seed,
                                     max_prompt_tokens=lengths.max_prompt_tokens)
        ids, mask, _ = tokenize_prompt_response(tokenizer, prompts, responses, lengths.max_length,
                                                max_prompt_tokens=lengths.max_prompt_tokens)
        self.normalise(ids, mask)

    @timed("scoring")
    def score(self, tokenizer, prompts: list[str], responses: list[str], lengths: Lengths = Lengths(),
              batch_size: int = 32) -> torch.Tensor:
        """Rewards (B,) for text pairs, tokenised as in training: the length policy (``lengths``:
        ``rlcore.data.fit_to_length``), EOS appended (a response cut by ``max_new_tokens`` is scored as if it
        ended there, in normalisation and in PPO alike). On the model's device."""
        device = next(self.parameters()).device
        out = []
        with torch.no_grad():
            for i in range(0, len(prompts), batch_size):
                ids, mask, _ = tokenize_prompt_response(tokenizer, prompts[i:i + batch_size],
                                                        responses[i:i + batch_size], lengths.max_length,
                                                        device=device, max_prompt_tokens=lengths.max_prompt_tokens)
                out.append(self(ids, mask))
        return torch.cat(out)

    def save_pretrained(self, path: str, extra: dict | None = None) -> None:
        super().save_pretrained(path, {"reward_mean": self.reward_mean.item(), "reward_std": self.reward_std.item(),
                                       **(extra or {})})

    def _load_extra(self, extra: dict) -> None:
        self.reward_mean.fill_(extra.get("reward_mean", 0.0))
        self.reward_std.fill_(extra.get("reward_std", 1.0))


class ValueModel(_ScalarHeadModel):
    """V(s_t) at every position: ``forward(input_ids, attention_mask) -> (B, L)``."""

    head_name = "value_head"

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.per_token(input_ids, attention_mask)


# --------------------------------------------------------------------------- losses
def _check_pair_shapes(chosen: torch.Tensor, rejected: torch.Tensor) -> None:
    if chosen.shape != rejected.shape or chosen.dim() != 1:
        raise ValueError(f"chosen {tuple(chosen.shape)} and rejected {tuple(rejected.shape)} rewards must both be (batch,)")
    if chosen.numel() == 0:
        raise ValueError("empty batch")


def ranking_loss(chosen_rewards: torch.Tensor, rejected_rewards: torch.Tensor,
                 margin: torch.Tensor | float | None = None) -> torch.Tensor:
    """Bradley-Terry pairwise loss, mean over the batch of -log sigma(r_c - r_r - margin).

    Ouyang et al. 2022 (InstructGPT), eq. 1; the optional margin is from Touvron et al. 2023 (Llama 2).
    chosen_rewards, rejected_rewards: (B,). margin: scalar or (B,).
    """
    _check_pair_shapes(chosen_rewards, rejected_rewards)
    diff = chosen_rewards - rejected_rewards
    if margin is not None:
        diff = diff - margin
    return -F.logsigmoid(diff).mean()


def soft_ranking_loss(chosen_rewards: torch.Tensor, rejected_rewards: torch.Tensor,
                      p_chosen: torch.Tensor) -> torch.Tensor:
    """Cross-entropy against a soft label p = P(chosen better) (Lee et al. 2023, RLAIF, distilled RM).

    -[p log sigma(r_c - r_r) + (1 - p) log sigma(r_r - r_c)], mean over the batch. With p = 1 this is
    :func:`ranking_loss`.
    """
    _check_pair_shapes(chosen_rewards, rejected_rewards)
    if p_chosen.shape != chosen_rewards.shape:
        raise ValueError(f"p_chosen {tuple(p_chosen.shape)} must match the rewards {tuple(chosen_rewards.shape)}")
    if torch.any((p_chosen < 0) | (p_chosen > 1)):
        raise ValueError("p_chosen must lie in [0, 1]")
    diff = chosen_rewards - rejected_rewards
    return -(p_chosen * F.logsigmoid(diff) + (1 - p_chosen) * F.logsigmoid(-diff)).mean()


def preference_accuracy(chosen_rewards: torch.Tensor, rejected_rewards: torch.Tensor) -> float:
    """Fraction of pairs where chosen gets the higher reward (a tie counts one half)."""
    _check_pair_shapes(chosen_rewards, rejected_rewards)
    wins = (chosen_rewards > rejected_rewards).float() + 0.5 * (chosen_rewards == rejected_rewards).float()
    return wins.mean().item()


# --------------------------------------------------------------------------- training loop
def _pair_batch(tokenizer, pairs: list[PreferencePair], lengths: Lengths, device):
    """input_ids, attention_mask (2B, L): first B chosen, then B rejected."""
    ids, mask, _ = tokenize_pairs(tokenizer, pairs, lengths.max_length, device, lengths.max_prompt_tokens)
    return ids, mask


def pair_rewards(model: RewardModel, tokenizer, pairs, lengths: Lengths = Lengths(), batch_size: int = 32):
    """(chosen_rewards, rejected_rewards), each (N,), without gradients."""
    pairs = as_pairs(pairs)
    device = next(model.parameters()).device
    chosen, rejected = [], []
    with torch.no_grad():
        for i in range(0, len(pairs), batch_size):
            batch = pairs[i:i + batch_size]
            r = model(*_pair_batch(tokenizer, batch, lengths, device))
            chosen.append(r[: len(batch)].cpu())
            rejected.append(r[len(batch):].cpu())
    return torch.cat(chosen), torch.cat(rejected)


def train_reward_model(model: RewardModel, tokenizer, pairs, config: RewardConfig = RewardConfig(),
                       lengths: Lengths = Lengths(), soft_labels: bool = False, seed: int = 0, progress: bool = True,
                       checkpoint_dir: str | None = None, checkpoint_every: int = 0,
                       resume: bool = False) -> list[float]:
    """Train on preference pairs with ``config``'s learning rate, batch size and epochs, sequences cut by
    ``lengths``; returns the loss of every step.

    ``soft_labels=True`` uses each pair's ``p_chosen`` with :func:`soft_ranking_loss` (RLAIF);
    otherwise the hard :func:`ranking_loss` (RLHF). ``checkpoint_dir`` / ``checkpoint_every`` /
    ``resume``: see :class:`rlcore.training.TrainingRun`; under ``accelerate launch`` each process
    takes its share of every batch.
    """
    pairs = as_pairs(pairs)
    max_length, max_prompt_tokens, batch_size = lengths.max_length, lengths.max_prompt_tokens, config.batch_size
    check_model_tokenizer(model.backbone, tokenizer, max_length)
    warn_truncated(tokenizer, [p.prompt for p in pairs] * 2, [p.chosen for p in pairs] + [p.rejected for p in pairs],
                   max_length, "reward model", max_prompt_tokens)
    device = next(model.parameters()).device
    run = TrainingRun("reward model", {"model": model}, {"model": make_optimizer(model, config.lr)}, checkpoint_dir,
                      checkpoint_every, resume)
    net = run.wrapped("model")
    model.train()
    bar = progress_bar(total=n_batches(len(pairs), batch_size, config.epochs), initial=run.step, desc="reward model",
               disable=not progress)
    for idx in run.batches(len(pairs), batch_size, config.epochs, seed):
        batch = [pairs[j] for j in idx]
        rewards = net(*_pair_batch(tokenizer, batch, lengths, device))  # (2B,)
        chosen, rejected = rewards[: len(batch)], rewards[len(batch):]
        if soft_labels:
            p = torch.tensor([b.p_chosen for b in batch], device=device)
            loss = soft_ranking_loss(chosen, rejected, p)
        else:
            loss = ranking_loss(chosen, rejected)
        run.update("model", loss)
        run.end_step(loss.item())
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
    bar.close()
    model.eval()
    return run.losses
