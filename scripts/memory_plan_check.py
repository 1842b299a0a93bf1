#!/usr/bin/env python
"""The memory plan (rlcore.memory) against one PPO step of the GPT-Neo-125M shape, on this machine's CPU.

    python scripts/memory_plan_check.py [--batch 4] [--prompt-tokens 64] [--new-tokens 32]

Builds a policy with GPT-Neo-125M's architecture (random weights: memory, not quality), its value model, reference
and reward model, as the RL stage holds them, runs one PPO iteration at a small batch, and prints the plan's RL stage
part by part beside what was measured: the bytes of every tensor the four models and the two optimizers hold after
the step (the plan's weights, gradients and optimizer states), and the process's peak resident memory over the step
above what it held before it (the gradients and optimizer states it allocates, activations, logits, the KV cache,
and the allocator's own overhead, which the plan does not count). On a GPU, ``scripts/gpu_check.py`` compares plan and peak per lesson.
"""

from __future__ import annotations

import argparse
import resource

import torch
from transformers import AutoModelForCausalLM, GPTNeoConfig

from rlcore import memory
from rlcore.config import Lengths, PPOConfig, get_profile
from rlcore.builders import train_bpe_tokenizer
from rlcore.models import fuse_gelu, reference_model, reward_model_from, value_model_from
from rlcore.ppo import PPOTrainer
from rlcore.precision import use_autocast

GiB = memory.GiB


def rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--prompt-tokens", type=int, default=64)
    parser.add_argument("--new-tokens", type=int, default=32)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    tokenizer = train_bpe_tokenizer(["Human: how do I clean a chair? Assistant: with a damp cloth."] * 50,
                                    vocab_size=300)
    config = GPTNeoConfig(vocab_size=50257, hidden_size=768, num_layers=12, num_heads=12, max_position_embeddings=2048,
                          window_size=256, attention_types=[[["global", "local"], 6]],
                          eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    lengths = Lengths(max_prompt_tokens=args.prompt_tokens, max_new_tokens=args.new_tokens,
                      max_length=args.prompt_tokens + args.new_tokens + 1)
    ppo = PPOConfig(batch_size=args.batch, num_minibatches=1, epochs=1)
    profile = get_profile("tiny", policy_model="gpt-neo-125m shape", labeler_model="gpt-neo-125m shape",
                          judge_model="gpt-neo-125m shape", lengths=lengths, ppo=ppo)
    shape = memory.Shape.of(config)
    rl = next(p for p in memory.plan(profile, {"gpt-neo-125m shape": shape}) if p.stage == "RL")

    policy = use_autocast(fuse_gelu(AutoModelForCausalLM.from_config(config)), None)
    reward_model = reward_model_from(policy).requires_grad_(False)
    trainer = PPOTrainer(policy, reference_model(policy), value_model_from(policy), tokenizer, ppo, lengths,
                         reward_model=reward_model)
    before = rss()
    trainer.step(["\n\nHuman: how do I clean my chair?\n\nAssistant:"] * args.batch)
    peak_over = rss() - before
    models = [trainer.policy, trainer.value_model, trainer.ref_policy, reward_model]
    held = {"weights": sum(p.numel() * p.element_size() for m in models for p in m.parameters()),
            "gradients": sum(p.grad.numel() * p.grad.element_size() for m in models for p in m.parameters()
                             if p.grad is not None),
            "optimizer": sum(v.numel() * v.element_size() for o in trainer.optimizers.values()
                             for s in o.state.values() for k, v in s.items() if k in ("exp_avg", "exp_avg_sq"))}
    print(f"one PPO iteration, GPT-Neo-125M shape, {args.batch} prompts x ({args.prompt_tokens} + {args.new_tokens}) "
          f"tokens, float32 on the CPU")
    for part, planned in rl.parts.items():
        got = held.get(part)
        print(f"  {part:12s} planned {planned / GiB:6.3f} GiB" + (f"   held {got / GiB:6.3f} GiB" if got is not None else ""))
    grown = sum(v for k, v in rl.parts.items() if k != "weights")  # what the step allocates: all but the weights
    print(f"  all but the weights planned {grown / GiB:.3f} GiB; the process's peak resident memory rose "
          f"{peak_over / GiB:.3f} GiB over the step (the allocator's overhead and freed temporaries included)")


if __name__ == "__main__":
    main()
