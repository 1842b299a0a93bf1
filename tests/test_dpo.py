import math

import pytest
import torch

from rlcore.config import DPOConfig
from rlcore.data import PreferencePair, tokenize_prompt_response
from rlcore.dpo import dpo_loss, sequence_logprob, train_dpo
from rlcore.models import reference_model
from rlcore.rollout import forward_logits, logprobs_from_logits


def test_dpo_loss_hand_computed():
    # log-ratios: chosen +1.0, rejected -1.0 -> margin 2; beta 0.5 -> -log sigma(1.0)
    loss, rc, rr = dpo_loss(torch.tensor([-1.0]), torch.tensor([-3.0]), torch.tensor([-2.0]), torch.tensor([-2.0]), 0.5)
    assert loss.item() == pytest.approx(math.log(1 + math.exp(-1.0)), abs=1e-6)
    assert rc.item() == pytest.approx(0.5) and rr.item() == pytest.approx(-0.5)
    # at the reference (all log-ratios 0) the loss is log 2 whatever beta is
    z = torch.zeros(4)
    assert dpo_loss(z, z, z, z, 3.0)[0].item() == pytest.approx(math.log(2))
    with pytest.raises(ValueError, match="beta"):
        dpo_loss(z, z, z, z, 0.0)


def test_sequence_logprob_sums_only_response_tokens(tiny_model, tokenizer):
    ids, attn, resp = tokenize_prompt_response(tokenizer, ["\n\nHuman: hi\n\nAssistant:", "dog"],
                                               [" A cat.", " The quick brown fox jumps."], 64)
    with torch.no_grad():
        got = sequence_logprob(tiny_model, ids, attn, resp)
        lp = logprobs_from_logits(forward_logits(tiny_model, ids, attn)[:, :-1], ids[:, 1:])
    for b in range(2):
        expected = sum(lp[b, i - 1].item() for i in range(ids.shape[1]) if resp[b, i])
        assert got[b].item() == pytest.approx(expected, rel=1e-5)


def test_dpo_training_prefers_chosen_over_rejected(tiny_model, tokenizer):
    ref = reference_model(tiny_model)
    pairs = [PreferencePair(f"\n\nHuman: Tell me about the {w}.\n\nAssistant:", f" The {w} is small.", f" {w} {w} {w}")
             for w in ["cat", "dog", "fox", "cow"]]
    history = train_dpo(tiny_model, ref, tokenizer, pairs, DPOConfig(beta=0.5, epochs=15, batch_size=4, lr=3e-3),
                        progress=False)
    assert history[0]["loss"] == pytest.approx(math.log(2), abs=1e-4)  # starts at the reference
    # at the reference every implicit reward is 0: each pair a tie, counted one half (not "wrong")
    assert history[0]["reward_accuracy"] == 0.5
    assert history[-1]["loss"] < 0.2 and history[-1]["reward_accuracy"] == 1.0


def test_implicit_rewards_are_beta_times_the_log_ratio_and_zero_for_the_reference(tokenizer, tiny_model):
    from rlcore.data import as_pairs, tokenize_pairs
    from rlcore.dpo import implicit_rewards, sequence_logprob
    from rlcore.builders import tiny_gpt_neo

    pairs = [{"prompt": "\n\nHuman: What is a cat?\n\nAssistant:", "chosen": " A small animal.", "rejected": " No."},
             {"prompt": "\n\nHuman: Tell me a joke.\n\nAssistant:", "chosen": " A hot dog.", "rejected": " 1 2 3"}]
    c, r = implicit_rewards(tiny_model, tiny_model, tokenizer, pairs, beta=0.5)
    assert torch.equal(c, torch.zeros(2)) and torch.equal(r, torch.zeros(2))
    other = tiny_gpt_neo(len(tokenizer), hidden_size=32, num_layers=2, num_heads=2, seed=1,
                         eos_token_id=tokenizer.eos_token_id)
    c, r = implicit_rewards(other, tiny_model, tokenizer, pairs, beta=0.5, batch_size=1)  # batch 1: no padding
    ids, attn, resp = tokenize_pairs(tokenizer, as_pairs(pairs), 256)
    with torch.no_grad():
        want = 0.5 * (sequence_logprob(other, ids, attn, resp) - sequence_logprob(tiny_model, ids, attn, resp))
    assert torch.allclose(torch.cat([c, r]), want, atol=1e-5)


def test_pair_logprobs_split_chosen_and_rejected_and_ignore_padding(tokenizer, tiny_model):
    from rlcore.data import as_pairs, tokenize_pairs
    from rlcore.dpo import pair_logprobs, sequence_logprob

    pairs = [{"prompt": "\n\nHuman: What is a cat?\n\nAssistant:", "chosen": " A small animal that purrs.", "rejected": " No."},
             {"prompt": "\n\nHuman: Hi.\n\nAssistant:", "chosen": " Hello.", "rejected": " 1 2 3 4 5 6"}]
    c1, r1 = pair_logprobs(tiny_model, tokenizer, pairs, batch_size=1)  # one pair a batch: no padding
    c2, r2 = pair_logprobs(tiny_model, tokenizer, pairs, batch_size=2)  # both pairs: rows padded
    assert torch.allclose(c1, c2, atol=1e-5) and torch.allclose(r1, r2, atol=1e-5)
    ids, attn, resp = tokenize_pairs(tokenizer, as_pairs(pairs[1:]), 256)  # rows: chosen, rejected
    with torch.no_grad():
        want = sequence_logprob(tiny_model, ids, attn, resp)
    assert torch.allclose(torch.stack([c1[1], r1[1]]), want, atol=1e-5)
    assert bool((c1 < 0).all() and (r1 < 0).all())
