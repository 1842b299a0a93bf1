"""Group-relative (GRPO) and leave-one-out (RLOO) advantages and GRPO's loss, against hand-computed values, brute
force and float64 formulas; masks after EOS; the two aggregations on responses of unequal length."""

import math

import pytest
import torch

from rlcore.grpo import group_advantages, grpo_loss
from rlcore.reinforce import rloo_advantages


def test_group_advantages_by_hand():
    rewards = torch.tensor([1.0, 2.0, 3.0, 5.0, 5.0, 5.0])  # two prompts x three samples
    # group 1: mean 2, std 1 (unbiased); group 2: all equal -> zeros, never NaN
    torch.testing.assert_close(group_advantages(rewards, 3), torch.tensor([-1.0, 0.0, 1.0, 0.0, 0.0, 0.0]),
                               atol=1e-5, rtol=0)
    torch.testing.assert_close(group_advantages(rewards, 3, scale="none"), torch.tensor([-1.0, 0, 1, 0, 0, 0]))
    batch_std = rewards.std().item()  # std of all six rewards
    torch.testing.assert_close(group_advantages(rewards, 3, scale="batch"),
                               torch.tensor([-1.0, 0, 1, 0, 0, 0]) / batch_std, atol=1e-5, rtol=1e-5)
    assert torch.isfinite(group_advantages(torch.full((4,), 7.0), 2)).all()


@pytest.mark.parametrize("group_size", [2, 4, 5])
def test_group_and_leave_one_out_advantages_against_a_loop(group_size):
    g = torch.Generator().manual_seed(group_size)
    rewards = torch.randn(6 * group_size, generator=g, dtype=torch.float64)
    grpo, rloo = group_advantages(rewards.float(), group_size), rloo_advantages(rewards.float(), group_size)
    for i in range(len(rewards)):
        start = i - i % group_size
        group = [rewards[j].item() for j in range(start, start + group_size)]
        mean = sum(group) / group_size
        std = math.sqrt(sum((x - mean) ** 2 for x in group) / (group_size - 1))
        others = [rewards[j].item() for j in range(start, start + group_size) if j != i]
        assert grpo[i].item() == pytest.approx((rewards[i].item() - mean) / (std + 1e-6), abs=1e-5)
        assert rloo[i].item() == pytest.approx(rewards[i].item() - sum(others) / len(others), abs=1e-5)
    # RLOO is the group-centred reward scaled by G / (G - 1)
    torch.testing.assert_close(rloo, group_advantages(rewards.float(), group_size, scale="none")
                               * group_size / (group_size - 1), atol=1e-5, rtol=1e-5)


def test_bad_group_sizes_are_one_clear_error():
    with pytest.raises(ValueError, match="group_size 4 does not divide the 6 rewards"):
        group_advantages(torch.zeros(6), 4)
    with pytest.raises(ValueError, match="RLOO needs at least two samples"):
        rloo_advantages(torch.zeros(6), 1)
    with pytest.raises(ValueError, match="flat"):
        group_advantages(torch.zeros(2, 3), 3)
    with pytest.raises(ValueError, match="scale must be one of"):
        group_advantages(torch.zeros(6), 3, scale="std")


def test_grpo_and_dr_grpo_weigh_tokens_of_unequal_responses_differently():
    # two responses, 1 and 3 tokens (the rest is padding after EOS, with junk values that must not count);
    # ratio 1 and no KL: every token's loss is -advantage
    mask = torch.tensor([[1, 0, 0], [1, 1, 1]])
    logprobs = torch.tensor([[-1.0, 9.0, 9.0], [-1.0, -2.0, -3.0]])
    advantages = torch.tensor([1.0, -1.0])
    grpo = grpo_loss(logprobs, logprobs, logprobs, advantages, mask, beta=0.0)
    dr = grpo_loss(logprobs, logprobs, logprobs, advantages, mask, beta=0.0, loss_type="dr_grpo")
    assert grpo.item() == pytest.approx((-1.0 + 1.0) / 2)  # per-sequence means (-1 and +1), then their mean
    assert dr.item() == pytest.approx((-1.0 + 3 * 1.0) / (2 * 3))  # every token alike, over N x T
    assert grpo_loss(logprobs, logprobs, logprobs, advantages, mask, beta=0.0, loss_type="dr_grpo",
                     max_tokens=4).item() == pytest.approx(2 / 8)


def test_the_kl_term_is_k3_against_a_float64_formula_and_the_clip_holds():
    g = torch.Generator().manual_seed(0)
    logprobs, ref = -torch.rand(4, 5, generator=g) * 3, -torch.rand(4, 5, generator=g) * 3
    mask = torch.ones(4, 5)
    beta = 0.3
    loss = grpo_loss(logprobs, logprobs, ref, torch.zeros(4), mask, beta=beta)  # no advantage: the KL term alone
    r = torch.exp(ref.double() - logprobs.double())  # pi_ref / pi on the sampled tokens
    assert loss.item() == pytest.approx(beta * ((r - 1) - torch.log(r)).mean().item(), rel=1e-6)
    # the clipped surrogate: a ratio of 2 with a positive advantage gains no more than 1 + clip_range
    clipped = grpo_loss(torch.full((1, 1), math.log(2.0)), torch.zeros(1, 1), torch.zeros(1, 1), torch.ones(1),
                        torch.ones(1, 1), clip_range=0.2, beta=0.0)
    assert clipped.item() == pytest.approx(-1.2)


def grpo_trainer(tiny_model, tokenizer, reward_fn, **overrides):
    from rlcore.config import GRPOConfig
    from rlcore.grpo import GRPOTrainer
    from rlcore.models import reference_model

    from rlcore.config import Lengths

    cfg = dict(lr=3e-3, batch_size=4, group_size=4, num_minibatches=2, beta=0.01)
    cfg.update(overrides)
    torch.manual_seed(0)
    return GRPOTrainer(tiny_model, reference_model(tiny_model), tokenizer, GRPOConfig(**cfg), Lengths(max_new_tokens=8),
                       reward_fn=reward_fn)


@pytest.mark.slow
@pytest.mark.parametrize("scale,loss_type", [("group", "grpo"), ("none", "dr_grpo")])
def test_grpo_raises_the_score_of_a_simple_reward(tiny_model, tokenizer, scale, loss_type):
    from test_ppo import PROMPT, count_reward

    reward = count_reward(tokenizer)
    if scale == "none":  # without the std division the advantages keep the reward's own scale: a cat counts 1, not 1/4
        reward = lambda prompts, responses, count=reward: [4 * r for r in count(prompts, responses)]  # noqa: E731
    trainer = grpo_trainer(tiny_model, tokenizer, reward, scale=scale, loss_type=loss_type)
    history = [trainer.step([PROMPT] * 4) for _ in range(40)]
    shrink = 4 if scale == "none" else 1  # back to the units of count_reward, a cat worth 1/4, in both cases
    first, last = history[0]["score"] / shrink, sum(h["score"] for h in history[-5:]) / 5 / shrink
    assert first < 0.2 and last > first + 0.5, (first, last)
    assert history[0]["kl"] == pytest.approx(0.0, abs=1e-5) and history[-1]["kl"] > 0.1  # it moved to get there
    exp = trainer.last_experience
    assert exp.scores.shape == (16,) and exp.rollout.prompts == [PROMPT] * 16  # 4 prompts x 4 samples, in groups


def test_a_group_whose_samples_score_alike_gives_no_gradient(tiny_model, tokenizer):
    trainer = grpo_trainer(tiny_model, tokenizer, lambda prompts, responses: [1.0] * len(prompts), beta=0.0)
    stats = trainer.step(["\n\nHuman: hi\n\nAssistant:"] * 4)
    assert stats["zero_advantage_groups"] == 1.0 and stats["loss"] == 0.0
    assert all(p.grad is None or not p.grad.any() for p in tiny_model.parameters())


def test_grpo_settings_are_checked():
    from rlcore.config import GRPOConfig

    with pytest.raises(ValueError, match="group_size must be >= 2"):
        GRPOConfig(group_size=1)
    with pytest.raises(ValueError, match="divisible by num_minibatches"):
        GRPOConfig(batch_size=3, group_size=3, num_minibatches=2)


@pytest.mark.slow
@pytest.mark.parametrize("baseline,group_size", [("rloo", 4), ("mean", 1)])
def test_reinforce_and_rloo_raise_the_score_of_a_simple_reward(tiny_model, tokenizer, baseline, group_size):
    from test_ppo import PROMPT, count_reward

    from rlcore.config import Lengths, ReinforceConfig
    from rlcore.models import reference_model
    from rlcore.reinforce import ReinforceTrainer

    torch.manual_seed(0)
    config = ReinforceConfig(lr=3e-3, batch_size=16 // group_size, group_size=group_size, baseline=baseline, beta=0.01)
    trainer = ReinforceTrainer(tiny_model, reference_model(tiny_model), tokenizer, config, Lengths(max_new_tokens=8),
                               reward_fn=count_reward(tokenizer))
    history = [trainer.step([PROMPT] * config.batch_size) for _ in range(60)]  # one gradient pass per batch
    first, last = history[0]["score"], sum(h["score"] for h in history[-5:]) / 5
    assert first < 0.2 and last > first + 0.5, (first, last)
    assert trainer.run.name == {"rloo": "RLOO", "mean": "REINFORCE"}[baseline]


def test_rloo_without_a_group_is_one_clear_error():
    from rlcore.config import ReinforceConfig

    with pytest.raises(ValueError, match="RLOO needs at least two samples"):
        ReinforceConfig(group_size=1)
    with pytest.raises(ValueError, match="baseline must be one of"):
        ReinforceConfig(baseline="learned")


def test_the_critic_free_configs_come_from_the_profile_and_the_environment(monkeypatch):
    from rlcore import stages
    from rlcore.config import get_profile

    monkeypatch.setenv("RLCORE_GRPO__LR", "3e-4")
    monkeypatch.setenv("RLCORE_GRPO__LOSS_TYPE", "dr_grpo")
    monkeypatch.setenv("RLCORE_RLOO__GROUP_SIZE", "6")
    monkeypatch.setenv("RLCORE_RLOO__BASELINE", "mean")
    profile = get_profile("tiny")
    grpo = stages.rl_trainer(profile, "grpo", "tiny", reward_fn=lambda p, r: [0.0] * len(p))
    assert grpo.config is profile.grpo  # the profile's section, handed over unchanged
    assert (grpo.config.lr, grpo.config.loss_type, grpo.config.group_size) == (3e-4, "dr_grpo", 4)
    # the lengths and the seed are the profile's own, so every sampled sequence fits what the reward model read
    assert grpo.lengths is profile.lengths
    trainer = stages.rl_trainer(profile, "rloo", "tiny", reward_fn=lambda p, r: [0.0] * len(p))
    assert type(trainer).__name__ == "ReinforceTrainer" and trainer.config.baseline == "rloo"  # the algorithm's own
    assert trainer.config.group_size == 6 and trainer.name == "RLOO"
    assert stages.rl_config(profile, "reinforce").baseline == "mean"
    # each section checks its own fields, once: a bad value set in the environment fails where it is read
    monkeypatch.setenv("RLCORE_GRPO__SCALE", "sometimes")
    with pytest.raises(ValueError, match="scale must be one of"):
        get_profile("tiny")
    with pytest.raises(ValueError, match=r"unknown RL algorithm 'a2c'; choose one of \['grpo', 'ppo'"):
        stages.rl_trainer(profile, "a2c", "tiny", reward_fn=lambda p, r: [0.0] * len(p))


def test_collect_keeps_groups_in_order_and_each_row_reads_as_if_alone(tiny_model, tokenizer):
    """Groups, left padding and EOS inside one batch of experience: rows come group by group; the mask holds each
    response up to and including its first EOS (all of it for a row that never sampled one);
    the sampling and reference log-probs of every row equal a forward pass over that row alone, without the
    padding its batch gave it; and the scorer sees the rows in the same order."""
    from rlcore.builders import tiny_gpt_neo
    from rlcore.rollout import collect, response_logprobs

    G, T = 3, 8
    prompts = ["\n\nHuman: What is a cat and what does it eat?\n\nAssistant:", "hi"]  # the second is left-padded
    bias = torch.zeros(len(tokenizer))
    bias[tokenizer.eos_token_id] = 4.0  # EOS about one token in seven: rows end at different lengths, some never
    tiny_model.lm_head.bias = torch.nn.Parameter(bias)
    reference = tiny_gpt_neo(len(tokenizer), hidden_size=32, num_layers=2, num_heads=2, seed=1,
                             eos_token_id=tokenizer.eos_token_id)  # another model: a swap would show
    seen = []
    exp = collect(tiny_model, reference, tokenizer, prompts, lambda r: seen.append(list(r.prompts)) or
                  torch.arange(len(r.prompts), dtype=torch.float32), T, 64, seed=0, group_size=G)
    rollout = exp.rollout
    assert rollout.prompts == seen[0] == [prompts[0]] * G + [prompts[1]] * G
    assert torch.equal(exp.scores, torch.arange(2 * G, dtype=torch.float32))
    assert rollout.prompt_mask[G:, 0].eq(0).all()  # the short prompt's group is left-padded
    lengths = set()
    for i in range(2 * G):
        eos = (rollout.response_ids[i] == tokenizer.eos_token_id).nonzero()
        eos = eos[0].item() if len(eos) else T - 1  # the first EOS, else the last slot
        lengths.add(eos + 1)
        expected_mask = torch.zeros(T)
        expected_mask[:eos + 1] = 1
        assert torch.equal(exp.mask[i], expected_mask)
        keep = rollout.attention_mask[i].bool()
        ids = rollout.input_ids[i][keep].unsqueeze(0)  # this row alone, no padding
        n_prompt, n = int(rollout.prompt_mask[i].sum()), eos + 1
        with torch.no_grad():
            for model, got in ((tiny_model, exp.logprobs), (reference, exp.ref_logprobs)):
                alone = response_logprobs(model, ids, torch.ones_like(ids), n_prompt)[0, :n]
                torch.testing.assert_close(got[i, :n], alone, rtol=1e-4, atol=1e-4)
        assert exp.logprobs[i, n:].eq(0).all()  # nothing after EOS
    assert len(lengths) >= 3 and T in lengths, lengths  # several lengths, one row cut at T without EOS
