"""A memory plan before the first load: what each stage will hold on the device, from the models' configs and the
profile's sizes, so that a stage that cannot fit says so, and what to lower, before it starts.

The parts of a stage's peak (bytes):

* **weights** of every model it holds: trained models in float32 (the optimizer needs float32 master weights), frozen
  ones (reference, reward model during RL, labeler, judge) in the compute dtype (:mod:`rlcore.precision`);
* **gradients** (float32, one per trained weight) and **optimizer** states (AdamW: two float32 moments per weight);
* **activations** saved for the backward pass of one minibatch, per token and layer about ``14 h + 3 i`` values of
  the autocast dtype (h the hidden size, i the MLP's inner size; the inputs of the norms, the projections, the MLP's
  gate and activation), plus, where attention is computed eagerly (GPT-Neo), one float32 score per head, token
  and key;
* **logits** in float32: two copies of (tokens x vocabulary) where a loss reads them (the logits and their
  log-softmax), one row per sequence where only the next token is read (a verdict);
* the **KV cache** of sampling: keys and values of every layer for every sampled token.

Those are estimates, not a measurement: CUDA's workspace, the allocator's fragmentation and the temporaries of one
kernel come on top, which is why a plan is compared with the card's memory less a margin (:data:`HEADROOM`).
``tests/test_memory.py`` holds the weights, gradients and optimizer states to the bytes of the tensors after one step,
and the activations and logits to within 25% of the tensors autograd saves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from transformers import AutoConfig, AutoModelForCausalLM

from rlcore.models import resolve
from rlcore.rollout import SAMPLE_BATCH

GiB = 2**30
HEADROOM = 0.9  # a plan must fit in 90% of the card's memory: the rest is CUDA's context, workspace, fragmentation


@dataclass(frozen=True)
class Shape:
    """What the plan needs of a causal LM: its parameter count and the sizes of its layers."""

    params: int
    layers: int
    hidden: int
    heads: int
    kv_hidden: int  # the width of its keys and values (grouped-query attention: fewer than hidden)
    inner: int  # the MLP's inner size
    vocab: int
    eager_attention: bool  # attention scores materialised (GPT-Neo's attention), or fused (SDPA)

    @classmethod
    def of(cls, config) -> "Shape":
        """The shape of a transformers config; the parameter count from the model built on the meta device (exact,
        and no memory is allocated)."""
        with torch.device("meta"):
            params = sum(p.numel() for p in AutoModelForCausalLM.from_config(config).parameters())
        hidden = config.hidden_size
        heads = config.num_attention_heads if hasattr(config, "num_attention_heads") else config.num_heads
        kv_heads = getattr(config, "num_key_value_heads", None) or heads
        layers = getattr(config, "num_hidden_layers", None) or config.num_layers
        inner = getattr(config, "intermediate_size", None) or 4 * hidden
        return cls(params=params, layers=layers, hidden=hidden, heads=heads, kv_hidden=kv_heads * hidden // heads,
                   inner=inner, vocab=config.vocab_size, eager_attention=config.model_type == "gpt_neo")


def shape_of(name_or_path: str) -> Shape:
    """The shape of a shipped model, a local folder or a hub id (its config only: no weights are read)."""
    return Shape.of(AutoConfig.from_pretrained(resolve(name_or_path)))


# --------------------------------------------------------------------------- the parts
def trained(shape: Shape) -> dict[str, int]:
    """A model being trained: float32 weights, float32 gradients, AdamW's two float32 moments."""
    return {"weights": 4 * shape.params, "gradients": 4 * shape.params, "optimizer": 8 * shape.params}


def frozen(shape: Shape, dtype: torch.dtype) -> dict[str, int]:
    return {"weights": shape.params * dtype.itemsize}


def activations(shape: Shape, sequences: int, tokens: int, dtype: torch.dtype) -> int:
    """Bytes autograd saves for the backward pass of ``sequences`` x ``tokens`` (``dtype``: the autocast dtype)."""
    per_token = shape.layers * (14 * shape.hidden + 3 * shape.inner) * dtype.itemsize
    if shape.eager_attention:  # a float32 score per head, query and key, kept for the softmax's backward
        per_token += shape.layers * shape.heads * tokens * 4
    return sequences * tokens * per_token


def logits(shape: Shape, sequences: int, positions: int, copies: int = 2) -> int:
    """float32 logits at ``positions`` per sequence; a loss holds the logits and their log-softmax (2 copies)."""
    return copies * sequences * positions * shape.vocab * 4


def kv_cache(shape: Shape, sequences: int, tokens: int, dtype: torch.dtype) -> int:
    """Keys and values of every layer for ``tokens`` tokens of ``sequences`` sequences."""
    return 2 * shape.layers * sequences * tokens * shape.kv_hidden * dtype.itemsize


def _add(*parts: dict[str, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in parts:
        for k, v in part.items():
            out[k] = out.get(k, 0) + v
    return out


# --------------------------------------------------------------------------- the stages
@dataclass(frozen=True)
class StagePlan:
    stage: str
    parts: dict[str, int]
    lower: tuple[str, ...] = field(default=())  # the settings that shrink it, as the out-of-memory guard names them

    @property
    def total(self) -> int:
        return sum(self.parts.values())

    def line(self, capacity: int | None = None) -> str:
        """"stage RL: ~9.1 of 14.7 GiB" (with the card's memory), or "stage RL: ~9.1 GiB"."""
        of = f" of {capacity / GiB:.1f}" if capacity else ""
        return f"stage {self.stage}: ~{self.total / GiB:.1f}{of} GiB"

    def fits(self, capacity: int) -> bool:
        return self.total <= HEADROOM * capacity

    def advice(self, capacity: int) -> str:
        """One line for a stage that will not fit: what it needs, and the settings to lower."""
        biggest = max(self.parts, key=self.parts.get)
        return (f"{self.line(capacity)} will not fit ({biggest} are the largest part, "
                f"~{self.parts[biggest] / GiB:.1f} GiB); lower {', or '.join(self.lower)}")


def plan(profile, shapes: dict[str, Shape] | None = None) -> list[StagePlan]:
    """The planned peak of each stage of ``profile``; ``shapes`` maps model names to their shapes (default: read
    from each model's config)."""
    shapes = dict(shapes or {})
    for name in (profile.policy_model, profile.labeler_model, profile.judge_model):
        if name not in shapes:
            shapes[name] = shape_of(name)
    policy, labeler, judge = (shapes[n] for n in (profile.policy_model, profile.labeler_model, profile.judge_model))
    precision, lengths = profile.precision, profile.lengths
    train_dtype = precision.train_autocast or torch.float32
    rollout = lengths.max_prompt_tokens + lengths.max_new_tokens
    ppo_mb = profile.ppo.batch_size // profile.ppo.num_minibatches
    labeler_tokens = lengths.max_prompt_tokens + 2 * lengths.max_new_tokens + 128  # the request around two answers
    labeler_batch = 16  # AILabeler's batch
    return [
        StagePlan("SFT", _add(trained(policy), {
            "activations": activations(policy, profile.sft.batch_size, lengths.max_length, train_dtype),
            "logits": logits(policy, profile.sft.batch_size, lengths.max_length)}),
            ("sft.batch_size", "lengths.max_length")),
        StagePlan("reward model", _add(trained(policy), {  # chosen and rejected in one batch; a scalar head
            "activations": activations(policy, 2 * profile.rm.batch_size, lengths.max_length, train_dtype)}),
            ("rm.batch_size", "lengths.max_length")),
        StagePlan("RL", _add(trained(policy), trained(policy), frozen(policy, precision.frozen),
                             frozen(policy, precision.frozen), {  # policy, value model; reference, reward model
            "activations": 2 * activations(policy, ppo_mb, rollout, train_dtype),  # the policy's and the value's
            "logits": logits(policy, ppo_mb, rollout),
            "kv_cache": kv_cache(policy, profile.ppo.batch_size, rollout, precision.frozen)}),
            ("ppo.batch_size", "lengths.max_prompt_tokens", "lengths.max_new_tokens", "raise ppo.num_minibatches")),
        StagePlan("AI labels", _add(frozen(labeler, precision.frozen), {
            "activations": labeler_batch * labeler_tokens * 4 * labeler.hidden * precision.frozen.itemsize,
            "logits": logits(labeler, labeler_batch, 1, copies=1)}),  # the verdict reads one position
            ("the labeler (labeler_model)",)),
        StagePlan("evaluation", _add(frozen(judge, precision.frozen), frozen(policy, precision.frozen), {
            "kv_cache": kv_cache(policy, SAMPLE_BATCH, rollout, precision.frozen),  # the evaluation's sampling
            "activations": 16 * labeler_tokens * 4 * judge.hidden * precision.frozen.itemsize,
            "logits": logits(judge, 16, 1, copies=1)}),
            ("the judge (judge_model)",)),
    ]


def heaviest(plans: list[StagePlan]) -> StagePlan:
    return max(plans, key=lambda p: p.total)


def device_report(profile) -> list[str]:
    """The lines a run prints before its first load on a GPU: the card and its precision plan, the heaviest stage's
    planned peak against the card's memory, and one line per stage that will not fit."""
    props = torch.cuda.get_device_properties(profile.torch_device)
    lines = [f"{props.name}, {props.total_memory / GiB:.1f} GiB: {profile.precision.describe()}"]
    try:
        plans = plan(profile)
    except (OSError, ValueError) as err:  # a model's config that cannot be read here (offline, a typo)
        return lines + [f"no memory plan: {err}"]
    lines.append(f"heaviest {heaviest(plans).line(props.total_memory)}")
    return lines + [p.advice(props.total_memory) for p in plans if not p.fits(props.total_memory)]
