"""A two-minute SFT -> reward model -> PPO run on a tiny, randomly initialised GPT-Neo.

It needs no download and no shipped weights: a toy "animal facts" task whose preferred answers name
the animal in a full sentence and whose rejected answers stutter. A smoke run of the three stages;
the main job is ``rlcore pipeline`` on the synthetic assistant world.
"""

from __future__ import annotations

import json
import os
import random
import time


from rlcore.config import seed_everything
from rlcore.data import PreferencePair
from rlcore.models import reference_model, reward_model_from, tiny_gpt_neo, train_bpe_tokenizer, value_model_from
from rlcore.ppo import PPOConfig, PPOTrainer
from rlcore.reward import pair_rewards, preference_accuracy, train_reward_model
from rlcore.rollout import generate
from rlcore.sft import train_sft

ANIMALS = ["cat", "dog", "fox", "cow", "owl", "bee", "hen", "pig", "elk", "yak", "bat", "ant"]
TRAITS = ["likes to sleep", "can run fast", "lives on a farm", "eats grass", "is very clever", "hunts at night"]


def _prompt(animal: str) -> str:
    return f"\n\nHuman: Tell me about the {animal}.\n\nAssistant:"


def toy_data(seed: int):
    rng = random.Random(seed)
    demos, pairs = [], []
    for animal in ANIMALS:
        for trait in TRAITS:
            good = f" The {animal} {trait}."
            demos.append((_prompt(animal), good if rng.random() < 0.5 else f" {animal} {animal} {trait}."))
            other = rng.choice([a for a in ANIMALS if a != animal])
            for bad in (f" {animal} {animal} {animal}.", f" The {other} {trait}.", f" {animal} {trait} {trait}"):
                pairs.append(PreferencePair(_prompt(animal), good, bad))
    return demos, pairs


def run_demo(out: str, seed: int = 0, ppo_steps: int = 30, progress: bool = True) -> dict:
    seed_everything(seed)
    start = time.time()
    demos, pairs = toy_data(seed)
    corpus = [p + r for p, r in demos] + [p.prompt + p.rejected for p in pairs]
    tokenizer = train_bpe_tokenizer(corpus * 4, vocab_size=300)
    policy = tiny_gpt_neo(len(tokenizer), hidden_size=64, num_layers=2, num_heads=4, seed=seed,
                          eos_token_id=tokenizer.eos_token_id)
    report = {}

    sft_losses = train_sft(policy, tokenizer, [p for p, _ in demos], [r for _, r in demos], epochs=20,
                           batch_size=16, lr=3e-3, seed=seed, progress=progress)
    report["sft_loss"] = [sft_losses[0], sft_losses[-1]]

    rm = reward_model_from(policy)
    rm_losses = train_reward_model(rm, tokenizer, pairs, epochs=2, batch_size=16, lr=1e-3, seed=seed, progress=progress)
    report["rm_loss"] = [rm_losses[0], rm_losses[-1]]
    report["rm_train_accuracy"] = preference_accuracy(*pair_rewards(rm, tokenizer, pairs))

    prompts = [_prompt(a) for a in ANIMALS]
    before = generate(policy, tokenizer, prompts, max_new_tokens=16, seed=seed)
    config = PPOConfig(batch_size=12, num_minibatches=2, ppo_epochs=2, lr=2e-4, max_new_tokens=16,
                       init_kl_coef=0.2, seed=seed)
    trainer = PPOTrainer(policy, reference_model(policy), value_model_from(policy), tokenizer, config, reward_model=rm)
    history = trainer.train((prompts for _ in iter(int, 1)), steps=ppo_steps, progress=progress)
    after = generate(policy, tokenizer, prompts, max_new_tokens=16, seed=seed)
    report["ppo_score"] = [history[0]["score"], sum(h["score"] for h in history[-5:]) / 5]
    report["ppo_kl_last"] = history[-1]["kl"]
    report["samples_before"] = before.responses[:4]
    report["samples_after"] = after.responses[:4]
    report["seconds"] = round(time.time() - start, 1)

    os.makedirs(out, exist_ok=True)
    policy.save_pretrained(os.path.join(out, "policy"))
    tokenizer.save_pretrained(os.path.join(out, "policy"))
    rm.save_pretrained(os.path.join(out, "reward_model"))
    with open(os.path.join(out, "report.json"), "w") as f:
        json.dump(report, f, indent=2)
    return report
