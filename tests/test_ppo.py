import math

import pytest
import torch

from rlcore.models import reference_model, reward_model_from, value_model_from
from rlcore.config import Lengths
from rlcore.ppo import PPOConfig, PPOTrainer

PROMPT = "\n\nHuman: Tell me about a cat.\n\nAssistant:"


def count_reward(tokenizer, word=" cat"):
    target = tokenizer(word, add_special_tokens=False)["input_ids"]
    assert len(target) == 1
    target = target[0]

    def reward_fn(prompts, responses):
        return [tokenizer(r, add_special_tokens=False)["input_ids"].count(target) / 4 for r in responses]

    return reward_fn


def make_trainer(tiny_model, tokenizer, **overrides):
    cfg = dict(batch_size=16, num_minibatches=2, epochs=2, lr=3e-3, init_kl_coef=0.01)
    cfg.update(overrides)
    torch.manual_seed(0)
    return PPOTrainer(tiny_model, reference_model(tiny_model), value_model_from(tiny_model), tokenizer,
                      PPOConfig(**cfg), Lengths(max_new_tokens=8), reward_fn=count_reward(tokenizer))


def test_ppo_raises_the_score_of_a_simple_reward(tiny_model, tokenizer):
    trainer = make_trainer(tiny_model, tokenizer)
    history = [trainer.step([PROMPT] * 16) for _ in range(40)]
    first, last = history[0]["score"], sum(h["score"] for h in history[-5:]) / 5
    assert first < 0.2
    assert last > first + 0.5, (first, last)
    assert all(math.isfinite(h["kl"]) for h in history)
    assert history[-1]["kl"] > 0.1  # it moved away from the reference to get there
    for key in ("entropy", "clip_fraction", "approx_kl", "value_loss", "policy_loss", "kl_coef", "response_length"):
        assert math.isfinite(history[-1][key])


def test_ppo_with_zero_learning_signal_keeps_policy_at_reference(tiny_model, tokenizer):
    """Constant reward + zero KL coefficient: whitened advantages carry no signal of value... but the
    policy must still equal the reference on the first step's old log-probs (ratio starts at 1)."""
    trainer = make_trainer(tiny_model, tokenizer, init_kl_coef=0.0, target_kl=None)
    stats = trainer.step([PROMPT] * 16)
    assert stats["kl"] == pytest.approx(0.0, abs=1e-5)  # first rollout: policy == reference


def test_ppo_is_deterministic_under_a_seed(tokenizer, tiny_model):
    import copy
    a = make_trainer(copy.deepcopy(tiny_model), tokenizer)
    b = make_trainer(copy.deepcopy(tiny_model), tokenizer)
    sa = [a.step([PROMPT] * 16) for _ in range(3)]
    sb = [b.step([PROMPT] * 16) for _ in range(3)]
    assert sa == sb


def test_ppo_with_a_reward_model(tiny_model, tokenizer):
    rm = reward_model_from(tiny_model)
    trainer = PPOTrainer(tiny_model, reference_model(tiny_model), value_model_from(tiny_model), tokenizer,
                         PPOConfig(batch_size=4, num_minibatches=2, epochs=1), Lengths(max_new_tokens=6),
                         reward_model=rm)
    rollout_stats = trainer.step([PROMPT, "hi", "dog", PROMPT])
    rollout = trainer.last_experience.rollout
    assert not rollout.ended_with_eos.all(), "some responses were cut by max_new_tokens (the case that matters)"
    # The reward model reads each rollout as it was trained: prompt + response text + EOS, one at a time here.
    expected = []
    for prompt, response in zip(rollout.prompts, rollout.responses):
        ids = (tokenizer(prompt)["input_ids"] + tokenizer(response)["input_ids"] + [tokenizer.eos_token_id])
        expected.append(rm(torch.tensor([ids]), torch.ones(1, len(ids), dtype=torch.long)).item())
    assert rollout_stats["score"] == pytest.approx(sum(expected) / len(expected), abs=1e-5)
    on_raw_ids = rm(rollout.input_ids, rollout.attention_mask).mean().item()  # the old way: no EOS when cut
    assert abs(on_raw_ids - rollout_stats["score"]) > 1e-3


def test_ppo_rejects_bad_setups(tiny_model, tokenizer):
    with pytest.raises(ValueError, match="divisible"):
        PPOConfig(batch_size=10, num_minibatches=4)
    with pytest.raises(ValueError, match="exactly one"):
        PPOTrainer(tiny_model, tiny_model, value_model_from(tiny_model), tokenizer, PPOConfig())
    trainer = make_trainer(tiny_model, tokenizer)
    with pytest.raises(ValueError, match="batch_size is 16"):
        trainer.step([PROMPT] * 3)
    bad = PPOTrainer(tiny_model, reference_model(tiny_model), value_model_from(tiny_model), tokenizer,
                     PPOConfig(batch_size=16, num_minibatches=2), reward_fn=lambda p, r: [1.0])
    with pytest.raises(ValueError, match="one score per prompt"):
        bad.step([PROMPT] * 16)
