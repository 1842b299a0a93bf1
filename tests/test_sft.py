import pytest
import torch

from rlcore.config import SFTConfig
from rlcore.data import tokenize_prompt_response
from rlcore.rollout import forward_logits, generate
from rlcore.sft import sft_loss, train_sft


def test_sft_loss_ignores_prompt_tokens(tiny_model, tokenizer):
    ids, attn, resp = tokenize_prompt_response(tokenizer, ["\n\nHuman: What is a cat?\n\nAssistant:"],
                                               [" A cat is a small animal."], 128)
    logits = forward_logits(tiny_model, ids, attn).detach()
    base = sft_loss(logits, ids, resp)
    # scrambling the logits that predict prompt tokens changes nothing ...
    n_prompt = int((resp[0] == 0).sum())
    scrambled = logits.clone()
    scrambled[:, : n_prompt - 1] = torch.randn_like(scrambled[:, : n_prompt - 1]) * 10
    torch.testing.assert_close(sft_loss(scrambled, ids, resp), base)
    # ... while touching a logit that predicts a response token does
    touched = logits.clone()
    touched[:, n_prompt] += torch.randn_like(touched[:, n_prompt]) * 10
    assert not torch.allclose(sft_loss(touched, ids, resp), base)


def test_sft_loss_equals_hand_computed_nll():
    # vocabulary of 3, sequence [prompt=0, resp=1, resp=2]; uniform logits -> loss = log 3
    logits = torch.zeros(1, 3, 3)
    ids, mask = torch.tensor([[0, 1, 2]]), torch.tensor([[0, 1, 1]])
    assert sft_loss(logits, ids, mask).item() == pytest.approx(torch.log(torch.tensor(3.0)).item())
    # the logit at position 0 predicts token 1: make it certain -> only token 2 costs log 3
    logits[0, 0, 1] = 50.0
    assert sft_loss(logits, ids, mask).item() == pytest.approx(torch.log(torch.tensor(3.0)).item() / 2, rel=1e-4)


def test_tokenize_prompt_response_masks_and_truncates_prompt_from_left(tokenizer):
    prompt, response = "\n\nHuman: What is a cat?\n\nAssistant:", " A small animal."
    ids, attn, resp = tokenize_prompt_response(tokenizer, [prompt, "hi"], [response, " dog"], 128)
    r = tokenizer(response, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    row = ids[0][attn[0].bool()].tolist()
    assert row[-len(r):] == r and resp[0].sum().item() == len(r)
    assert attn[1].sum() < attn[0].sum() and resp[1].sum().item() == 2  # " dog" + EOS, right-padded
    # too long: the prompt loses its oldest tokens, the response survives whole
    short_ids, short_attn, short_resp = tokenize_prompt_response(tokenizer, [prompt], [response], len(r) + 3)
    assert short_ids.shape[1] == len(r) + 3
    assert short_ids[0, -len(r):].tolist() == r
    p = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    assert short_ids[0, :3].tolist() == p[-3:]


def test_sft_training_lowers_loss_and_teaches_the_response(tiny_model, tokenizer):
    prompts = ["\n\nHuman: What is a cat?\n\nAssistant:"] * 8
    responses = [" A cat is a small animal that likes to sleep."] * 8
    losses = train_sft(tiny_model, tokenizer, prompts, responses, SFTConfig(epochs=60, batch_size=8, lr=1e-2),
                       progress=False)
    assert losses[-1] < 0.2 * losses[0]
    out = generate(tiny_model, tokenizer, prompts[:1], max_new_tokens=16, do_sample=False)
    assert out.responses[0].startswith(" A cat is a small animal")


def test_train_sft_rejects_bad_input(tiny_model, tokenizer):
    with pytest.raises(ValueError, match="responses"):
        train_sft(tiny_model, tokenizer, ["a", "b"], ["x"], progress=False)
    with pytest.raises(ValueError, match="no demonstrations"):
        train_sft(tiny_model, tokenizer, [], [], progress=False)
    with pytest.raises(ValueError, match=r"SFTConfig.lr must be > 0"):
        train_sft(tiny_model, tokenizer, ["a"], ["b"], SFTConfig(lr=0.0), progress=False)
