"""Wiring of the trainers: what step() passes to GAE, the losses and the KL controller (spies), plus
rollout edge cases. Written after a mutation-testing pass found these mistakes would go unnoticed."""

import copy
import math

import pytest
import torch

import rlcore.ppo as ppo_mod
import rlcore.sft as sft_mod
from rlcore.config import Lengths, SFTConfig
from rlcore.data import tokenize_prompt_response
from rlcore.models import reference_model, value_model_from
from rlcore.ppo import PPOConfig, PPOTrainer
from rlcore.rollout import Rollout, entropy_from_logits, response_logprobs, tokenize_prompts
from rlcore.sft import train_sft

PROMPT = "\n\nHuman: Tell me about a cat.\n\nAssistant:"

def trainer_for(model, tok, **kw):
    cfg = dict(batch_size=8, num_minibatches=2, epochs=1, lr=1e-3)
    cfg.update(kw)
    return PPOTrainer(model, reference_model(model), value_model_from(model), tok, PPOConfig(**cfg),
                      Lengths(max_new_tokens=6), reward_fn=lambda p, r: [float(len(x)) for x in r])

def test_entropy_uniform_and_peaked():
    torch.testing.assert_close(entropy_from_logits(torch.zeros(1, 1, 7)), torch.full((1, 1), math.log(7)))
    assert entropy_from_logits(torch.tensor([[[100.0, 0.0, 0.0]]])).item() == pytest.approx(0.0, abs=1e-6)

def test_ended_with_eos_from_mask():
    z = torch.zeros(2, 1, dtype=torch.long)
    r = Rollout(["a", "b"], ["", ""], z, torch.ones_like(z), torch.tensor([[5, 0, 0], [5, 6, 7]]),
                torch.tensor([[1, 1, 0], [1, 1, 1]]))
    assert r.ended_with_eos.tolist() == [True, False]

def test_ended_with_eos_when_eos_is_the_last_slot():
    z = torch.zeros(2, 1, dtype=torch.long)
    r = Rollout(["a", "b"], ["", ""], z, torch.ones_like(z), torch.tensor([[5, 6, 0], [5, 6, 7]]),
                torch.tensor([[1, 1, 1], [1, 1, 1]]), eos_token_id=0)
    assert r.ended_with_eos.tolist() == [True, False]  # eos id 0 sits at t = T-1 in the first row

def test_tokenize_prompts_keeps_the_last_tokens(tokenizer):
    long = "the quick brown fox " * 20 + "What is a cat?"
    ids, mask = tokenize_prompts(tokenizer, [long, "hi"], 8)
    assert ids[0].tolist() == tokenizer(long)["input_ids"][-8:]
    assert mask[1, 0] == 0 and tokenizer.truncation_side == "right"  # restored

def test_train_sft_uses_the_response_mask(monkeypatch, tiny_model, tokenizer):
    seen, real = [], sft_mod.sft_loss
    monkeypatch.setattr(sft_mod, "sft_loss", lambda lg, ids, m: (seen.append(m.clone()), real(lg, ids, m))[1])
    train_sft(tiny_model, tokenizer, ["\n\nHuman: hi\n\nAssistant:"], [" A cat."], SFTConfig(epochs=1), progress=False)
    _, _, resp = tokenize_prompt_response(tokenizer, ["\n\nHuman: hi\n\nAssistant:"], [" A cat."], 256)
    assert torch.equal(seen[0], resp)

def spy_gae(monkeypatch):
    calls, real = [], ppo_mod.compute_gae
    monkeypatch.setattr(ppo_mod, "compute_gae", lambda *a: (calls.append(a), real(*a))[1])
    return calls

def test_ppo_passes_its_lambda_to_gae(monkeypatch, tiny_model, tokenizer):
    calls = spy_gae(monkeypatch)
    trainer_for(tiny_model, tokenizer, lam=0.5).step([PROMPT] * 8)
    assert calls[0][4] == 0.5

def test_first_value_is_read_at_the_last_prompt_token(monkeypatch, tiny_model, tokenizer):
    calls = spy_gae(monkeypatch)
    t = trainer_for(tiny_model, tokenizer)
    v0 = copy.deepcopy(t.value_model)
    t.step([PROMPT, "hi", "dog", PROMPT] * 2)
    ro = t.last_experience.rollout
    with torch.no_grad():
        expected = v0(ro.prompt_ids, ro.prompt_mask)[:, -1]  # V(s_0) = value after the whole prompt
    torch.testing.assert_close(calls[0][1][:, 0], expected, rtol=1e-4, atol=1e-5)

def test_advantages_are_whitened(monkeypatch, tiny_model, tokenizer):
    seen, real = [], ppo_mod.policy_loss
    monkeypatch.setattr(ppo_mod, "policy_loss", lambda lp, old, adv, m, c: (seen.append((adv, m)), real(lp, old, adv, m, c))[1])
    trainer_for(tiny_model, tokenizer).step([PROMPT] * 8)
    adv, m = torch.cat([a for a, _ in seen[:2]]), torch.cat([m for _, m in seen[:2]]).bool()
    assert adv[m].mean().abs().item() < 1e-5 and adv[m].std().item() == pytest.approx(1.0, abs=1e-3)

def test_kl_stat_is_summed_per_sequence_and_fed_to_the_controller(tiny_model, tokenizer):
    t = trainer_for(tiny_model, tokenizer, target_kl=6.0)
    with torch.no_grad():
        for p in t.policy.parameters():
            p.add_(0.05 * torch.randn_like(p))  # policy != reference
    pol0, beta0 = copy.deepcopy(t.policy), t.kl_controller.value
    stats = t.step([PROMPT] * 8)
    ro = t.last_experience.rollout
    with torch.no_grad():
        lr = (response_logprobs(pol0, ro.input_ids, ro.attention_mask, ro.prompt_len)
              - response_logprobs(t.ref_policy, ro.input_ids, ro.attention_mask, ro.prompt_len))
    kl = (lr * ro.response_mask).sum(1).mean().item()
    assert stats["kl"] == pytest.approx(kl, rel=1e-4, abs=1e-5)
    e = min(max(kl / 6.0 - 1, -0.2), 0.2)
    assert t.kl_controller.value == pytest.approx(beta0 * (1 + e * 8 / 10000), rel=1e-6)

def test_old_and_new_logprobs_agree_before_any_update(tiny_model, tokenizer):
    for m in tiny_model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.5  # a model with dropout: step() must run the policy in eval mode
    stats = trainer_for(tiny_model, tokenizer, num_minibatches=1, lr=1e-12).step([PROMPT] * 8)
    assert stats["approx_kl"] < 1e-8 and stats["clip_fraction"] == 0.0
