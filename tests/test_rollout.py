import pytest
import torch

from rlcore.rollout import (check_prefix_mask, generate, logprobs_from_logits, masked_mean, masked_whiten,
                            response_logprobs, response_mask_from_eos, tokenize_prompts)


def test_response_mask_cuts_after_first_eos():
    eos = 0
    responses = torch.tensor([[5, 6, 0, 7, 0], [5, 6, 7, 8, 9], [0, 3, 3, 3, 3], [4, 0, 0, 0, 0]])
    expected = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0], [1, 1, 0, 0, 0]])
    assert torch.equal(response_mask_from_eos(responses, eos), expected)


def test_logprobs_from_logits_matches_softmax_gather():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 5, 11, generator=g, dtype=torch.float64)
    tokens = torch.randint(0, 11, (3, 5), generator=g)
    probs = torch.softmax(logits, -1)
    expected = torch.tensor([[probs[b, t, tokens[b, t]].log().item() for t in range(5)] for b in range(3)],
                            dtype=torch.float32)
    torch.testing.assert_close(logprobs_from_logits(logits, tokens), expected)
    # very negative logits: log_softmax stays finite where softmax().log() underflows to -inf
    extreme = torch.tensor([[[0.0, -200.0]]])
    assert torch.isfinite(logprobs_from_logits(extreme, torch.tensor([[1]]))).all()


def test_masked_mean_and_whiten_ignore_masked_positions():
    x = torch.tensor([[1.0, 2.0, 100.0], [3.0, -50.0, 7.0]])
    m = torch.tensor([[1, 1, 0], [1, 0, 0]])
    assert masked_mean(x, m).item() == pytest.approx(2.0)
    torch.testing.assert_close(masked_mean(x, m, dim=1), torch.tensor([1.5, 3.0]))
    w = masked_whiten(x, m.float())
    valid = w[m.bool()]
    assert valid.mean().item() == pytest.approx(0.0, abs=1e-6)
    assert valid.std().item() == pytest.approx(1.0, abs=1e-4)
    assert torch.all(w[~m.bool()] == 0)
    with pytest.raises(ValueError, match="same shape"):
        masked_mean(x, m[:, :2])


def test_check_prefix_mask():
    check_prefix_mask(torch.tensor([[1, 1, 0], [1, 1, 1]]))
    with pytest.raises(ValueError, match="rows \\[1\\]"):
        check_prefix_mask(torch.tensor([[1, 0, 0], [0, 1, 1]]))


def test_left_padding_does_not_change_logprobs(tiny_model, tokenizer):
    """Scoring a response inside a left-padded batch gives the same log-probs as scoring it alone."""
    prompts = ["\n\nHuman: What is a cat?\n\nAssistant:", "hi"]
    rollout = generate(tiny_model, tokenizer, prompts, max_new_tokens=6, seed=0)
    assert rollout.prompt_mask[1, 0] == 0  # the short prompt really is left-padded
    with torch.no_grad():
        batched = response_logprobs(tiny_model, rollout.input_ids, rollout.attention_mask, rollout.prompt_len)
        for i in range(2):
            keep = rollout.attention_mask[i].bool()
            ids = rollout.input_ids[i][keep].unsqueeze(0)
            n_prompt = int(rollout.prompt_mask[i].sum())
            alone = response_logprobs(tiny_model, ids, torch.ones_like(ids), n_prompt)
            n = int(rollout.response_mask[i].sum())
            torch.testing.assert_close(batched[i, :n], alone[0, :n], rtol=1e-4, atol=1e-4)


def test_generate_logprobs_agree_with_generation_scores(tiny_model, tokenizer):
    """Our forward-pass log-probs equal the log-softmax of the scores generate() sampled from."""
    prompts = ["\n\nHuman: Tell me a joke.\n\nAssistant:", "dog"]
    ids, mask = tokenize_prompts(tokenizer, prompts, 64)
    torch.manual_seed(0)
    out = tiny_model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=5, do_sample=True, top_k=0,
                              pad_token_id=tokenizer.pad_token_id, eos_token_id=None,
                              output_scores=True, return_dict_in_generate=True)
    gen_scores = torch.stack(out.scores, 1)  # (B, T, V)
    expected = logprobs_from_logits(gen_scores, out.sequences[:, ids.shape[1]:])
    full_mask = torch.cat([mask, torch.ones_like(out.sequences[:, ids.shape[1]:])], 1)
    with torch.no_grad():
        ours = response_logprobs(tiny_model, out.sequences, full_mask, ids.shape[1])
    torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-4)


def test_generate_masks_and_pads_after_eos(tiny_model, tokenizer):
    rollout = generate(tiny_model, tokenizer, ["hi"] * 8, max_new_tokens=12, seed=1)
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    for ids, m in zip(rollout.response_ids.tolist(), rollout.response_mask.tolist()):
        n = sum(m)
        assert m == [1] * n + [0] * (len(m) - n)
        assert all(t == pad for t in ids[n:])
        assert eos not in ids[: n - 1]  # an EOS, if any, is the last kept token
    assert rollout.response_ids.shape == (8, 12)


def test_generate_is_deterministic_under_a_seed(tiny_model, tokenizer):
    a = generate(tiny_model, tokenizer, ["hi", "dog"], max_new_tokens=6, seed=5)
    b = generate(tiny_model, tokenizer, ["hi", "dog"], max_new_tokens=6, seed=5)
    assert torch.equal(a.response_ids, b.response_ids)


def test_generate_rejects_empty_batch_and_missing_pad(tiny_model, tokenizer):
    with pytest.raises(ValueError, match="empty batch"):
        generate(tiny_model, tokenizer, [], max_new_tokens=4)
    import copy
    no_pad = copy.deepcopy(tokenizer)
    no_pad.pad_token = None
    with pytest.raises(ValueError, match="pad_token = tokenizer.eos_token"):
        generate(tiny_model, no_pad, ["hi"], max_new_tokens=4)


def test_logits_to_keep_gives_the_last_positions_of_the_full_forward(tokenizer, tiny_model):
    from rlcore.rollout import forward_logits, response_logprobs

    enc = tokenizer(["a cat is a small animal", "bake"], return_tensors="pt", padding=True)
    ids, attn = enc["input_ids"], enc["attention_mask"]
    with torch.no_grad():
        full = forward_logits(tiny_model, ids, attn)
        kept = forward_logits(tiny_model, ids, attn, logits_to_keep=3)
    torch.testing.assert_close(kept, full[:, -3:])

    class NoKeep(torch.nn.Module):  # a model whose forward does not know logits_to_keep
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, position_ids, use_cache):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids)

    with torch.no_grad():
        torch.testing.assert_close(forward_logits(NoKeep(tiny_model), ids, attn, logits_to_keep=3), full[:, -3:])
    # response log-probs read from the kept positions equal a gather over the full logits
    P = 4
    lp = response_logprobs(tiny_model, ids, attn, P)
    want = torch.log_softmax(full[:, P - 1:-1], -1).gather(2, ids[:, P:].unsqueeze(-1)).squeeze(-1)
    torch.testing.assert_close(lp, want)


def test_generation_logprobs_equal_a_full_forward_pass(tokenizer, tiny_model):
    """The log-probs kept while sampling (KV cache, left padding, EOS cut) are the log-probs a plain
    forward pass over [prompt | response] gives, on every kept token; masked tokens are 0."""
    from rlcore.rollout import response_logprobs

    prompts = ["\n\nHuman: What is a cat?\n\nAssistant:", "\n\nHuman: Hi\n\nAssistant:", "Tell me a joke."]
    rollout = generate(tiny_model, tokenizer, prompts, max_new_tokens=12, temperature=1.3, top_k=20, seed=3,
                       return_logprobs=True)
    with torch.no_grad():
        full = response_logprobs(tiny_model, rollout.input_ids, rollout.attention_mask, rollout.prompt_len)
    mask = rollout.response_mask.float()
    assert rollout.logprobs.shape == full.shape == mask.shape
    torch.testing.assert_close(rollout.logprobs, full * mask, atol=1e-4, rtol=1e-4)
    assert generate(tiny_model, tokenizer, prompts, max_new_tokens=4, seed=3).logprobs is None


def test_sample_tokens_draws_from_the_tempered_top_k_distribution():
    """The inverse-transform sampler against the distribution it claims: frequencies over many rows match
    softmax(logits / T) (a chi-square bound), top-k and probability-0 tokens are never drawn, and greedy-like
    cases (one token with all the mass) always give that token."""
    from rlcore.rollout import sample_tokens

    logits = torch.tensor([2.0, 1.0, 0.0, -1.0, float("-inf"), 0.5])  # token 4 has probability 0
    n = 40_000
    torch.manual_seed(0)
    for temperature, top_k in ((1.0, 0), (0.5, 0), (2.0, 3)):
        drawn = sample_tokens(logits.expand(n, -1), temperature, top_k)  # (n,)
        assert drawn.shape == (n,)
        scaled = logits / temperature
        if top_k:  # by hand: the top 3 logits are tokens 0, 1, 5
            scaled = torch.where(torch.tensor([1, 1, 0, 0, 0, 1]).bool(), scaled, torch.tensor(float("-inf")))
        p = torch.softmax(scaled.double(), -1)
        counts = torch.bincount(drawn, minlength=6).double()
        assert counts[p == 0].sum() == 0, (temperature, top_k, counts)
        expected = n * p[p > 0]
        chi2 = ((counts[p > 0] - expected) ** 2 / expected).sum().item()
        assert chi2 < 25, (temperature, top_k, chi2)  # 5 degrees of freedom at most: p < 1e-4 by chance
    certain = torch.full((3, 6), -1e4)
    certain[torch.arange(3), torch.tensor([5, 0, 2])] = 0.0
    assert sample_tokens(certain).tolist() == [5, 0, 2]
    assert sample_tokens(torch.zeros(1, 6)).shape == (1,)  # batch size 1


def test_generate_never_samples_suppressed_tokens_and_always_gives_one_token(tiny_model, tokenizer):
    """The model's generation_config.suppress_tokens are never drawn, even when the model prefers them; the
    first new token is never EOS (no empty response); greedy picks the argmax of a full forward pass."""
    eos = tokenizer.eos_token_id
    bias = torch.zeros(len(tokenizer))
    bias[eos], bias[7] = 6.0, 6.0  # EOS and token 7 both very likely
    tiny_model.lm_head.bias = torch.nn.Parameter(bias)
    tiny_model.generation_config.suppress_tokens = [7]
    out = generate(tiny_model, tokenizer, ["hi"] * 16, max_new_tokens=5, seed=0)
    assert not (out.response_ids == 7).any()
    assert (out.response_ids[:, 0] != eos).all() and (out.response_mask[:, 0] == 1).all()
    assert out.ended_with_eos.float().mean() > 0.5  # EOS is likely from the second token on
    tiny_model.generation_config.suppress_tokens = None
    greedy = generate(tiny_model, tokenizer, ["\n\nHuman: What is a cat?\n\nAssistant:"], max_new_tokens=1,
                      do_sample=False)
    ids, mask = tokenize_prompts(tokenizer, ["\n\nHuman: What is a cat?\n\nAssistant:"], 64)
    with torch.no_grad():
        last = tiny_model(input_ids=ids, attention_mask=mask).logits[0, -1]
    last[eos] = float("-inf")
    assert greedy.response_ids[0, 0].item() == last.argmax().item()


@pytest.mark.parametrize("architecture", ["gpt-neo-local", "qwen2"])
def test_cached_generation_matches_a_full_forward_on_the_gpu_profiles_architectures(architecture, tmp_path):
    """The token-by-token loop with a KV cache on GPT-Neo-125M's alternating global/local attention (a window
    shorter than prompt + response, so the local layers must forget) and on Qwen2 (the labeler's architecture,
    rotary positions): the log-probs kept while sampling equal one forward pass over [prompt | response]."""
    from rlcore.builders import gpt_neo_local_stand_in, qwen2_stand_in
    from rlcore.models import load_base

    if architecture == "qwen2":
        model, tok = load_base(qwen2_stand_in(str(tmp_path / "q"), max_position_embeddings=256))
    else:
        model, tok = load_base(gpt_neo_local_stand_in(str(tmp_path / "g"), window_size=8,
                                                      max_position_embeddings=256))
    prompts = ["\n\nHuman: What is a cat and what does it eat?\n\nAssistant:", "\n\nHuman: Hi\n\nAssistant:"]
    rollout = generate(model, tok, prompts, max_new_tokens=16, seed=1, return_logprobs=True)
    assert rollout.prompt_mask[1, 0] == 0  # the short prompt is left-padded
    with torch.no_grad():
        full = response_logprobs(model, rollout.input_ids, rollout.attention_mask, rollout.prompt_len)
    mask = rollout.response_mask.float()
    assert mask.sum() > 4
    torch.testing.assert_close(rollout.logprobs, full * mask, atol=1e-4, rtol=1e-4)
