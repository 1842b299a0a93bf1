"""The AI labeler against toy language models whose next-token logits we control."""

import math
import random
from types import SimpleNamespace

import pytest
import torch

from rlcore import formats
from rlcore.labeler import (AILabeler, check_constitution, clamp_label, next_token_logprobs, verdict_probabilities,
                            verdict_token_ids)

PROMPT = "\n\nHuman: What is a cat?\n\nAssistant:"


class ToyLM(torch.nn.Module):
    """A 'language model' whose logits at the last real token are ``rule(text so far)``."""

    def __init__(self, tokenizer, rule, context=512):
        super().__init__()
        self.tokenizer, self.rule = tokenizer, rule
        self.config = SimpleNamespace(max_position_embeddings=context)
        self.dummy = torch.nn.Parameter(torch.zeros(1))
        self.embed = torch.nn.Embedding(len(tokenizer), 1)  # sized to its tokenizer, as check_model_tokenizer needs
        self.seen = []

    def forward(self, input_ids, attention_mask=None, position_ids=None, use_cache=None):
        V = len(self.tokenizer)
        logits = torch.full((*input_ids.shape, V), -30.0)
        for b in range(input_ids.shape[0]):
            ids = input_ids[b][attention_mask[b].bool()] if attention_mask is not None else input_ids[b]
            text = self.tokenizer.decode(ids)
            self.seen.append(text)
            logits[b, -1] = self.rule(text)
        return SimpleNamespace(logits=logits)

    def get_input_embeddings(self):
        return self.embed


def verdict_logits(tokenizer, l1, l2, others=-30.0):
    one, two = verdict_token_ids(tokenizer)
    v = torch.full((len(tokenizer),), others)
    v[one], v[two] = l1, l2
    return v


def slots(text):
    """(response in slot 1, response in slot 2) of a labeler text."""
    r1 = text.split("Response 1:")[-1].split("\n\nResponse 2:")[0]
    r2 = text.split("Response 2:")[-1].split("\n\n")[0]
    return r1, r2


def test_soft_label_is_softmax_of_the_two_verdict_logprobs(tokenizer):
    # other tokens carry most of the mass; only the ratio of "1" and "2" matters
    model = ToyLM(tokenizer, lambda t: verdict_logits(tokenizer, 1.3, -0.4, others=2.0))
    p = verdict_probabilities(model, tokenizer, ["anything " + formats.VERDICT_ENDING] * 3)
    expected = math.exp(1.3) / (math.exp(1.3) + math.exp(-0.4))
    torch.testing.assert_close(p, torch.full((3,), expected))


def test_next_token_logprobs_come_back_in_the_given_order_whatever_the_batching(tokenizer, tiny_model):
    # Texts of very different lengths, batched two at a time (sorted by length inside), against one at a time.
    texts = ["a cat " * 9, "hi", "the dog sat " * 4, "b", "what is " * 6]
    batched = next_token_logprobs(tiny_model, tokenizer, texts, batch_size=2)  # (5, V)
    alone = torch.cat([next_token_logprobs(tiny_model, tokenizer, [t], batch_size=1) for t in texts])
    torch.testing.assert_close(batched, alone, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(alone[0], alone[1], atol=1e-3)  # the texts' next tokens differ, so order matters


def test_swap_cancels_a_pure_position_bias_exactly(tokenizer):
    biased = ToyLM(tokenizer, lambda t: verdict_logits(tokenizer, math.log(0.8), math.log(0.2)))
    labeler = AILabeler(biased, tokenizer, swap=True)
    out = labeler.prefer_batch([PROMPT] * 2, [" A cat is an animal.", " dog"], [" dog", " A cat is an animal."])
    torch.testing.assert_close(out["p_ab"], torch.tensor([0.8, 0.8]))
    torch.testing.assert_close(out["p_ba"], torch.tensor([0.2, 0.2]))
    torch.testing.assert_close(out["p"], torch.tensor([0.5, 0.5]))
    no_swap = AILabeler(biased, tokenizer, swap=False)
    assert no_swap.prefer(PROMPT, " dog", " A cat is an animal.") == pytest.approx(0.8)


def test_swap_keeps_a_content_preference_and_averages_orders(tokenizer):
    # prefers whichever slot holds "cat" (logit +2 for it) plus a first-slot bias of +1
    def rule(text):
        r1, r2 = slots(text)
        content = 2.0 * (("cat" in r1) - ("cat" in r2))
        return verdict_logits(tokenizer, content + 1.0, 0.0)

    labeler = AILabeler(ToyLM(tokenizer, rule), tokenizer)
    out = labeler.prefer_batch([PROMPT], [" A cat."], [" A dog."])
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    assert out["p_ab"].item() == pytest.approx(sig(3.0), rel=1e-5)
    assert out["p_ba"].item() == pytest.approx(1 - sig(-1.0), rel=1e-5)
    assert out["p"].item() == pytest.approx((sig(3.0) + sig(1.0)) / 2, rel=1e-5)
    assert labeler.prefer(PROMPT, " A dog.", " A cat.") == pytest.approx(1 - out["p"].item(), rel=1e-5)


def test_label_returns_a_dataset_with_the_preferred_response_as_chosen(tokenizer):
    def rule(text):
        r1, r2 = slots(text)
        return verdict_logits(tokenizer, 2.0 * (("cat" in r1) - ("cat" in r2)), 0.0)

    labeler = AILabeler(ToyLM(tokenizer, rule), tokenizer)
    ds = labeler.label([(PROMPT, " A dog.", " A cat."), (PROMPT, " A cat.", " A dog.")], progress=False)
    assert ds.column_names[:4] == ["prompt", "chosen", "rejected", "p_chosen"]
    assert ds["chosen"] == [" A cat.", " A cat."]
    assert all(p > 0.5 for p in ds["p_chosen"])


def test_clamping_and_principles(tokenizer):
    model = ToyLM(tokenizer, lambda t: verdict_logits(tokenizer, 5.0, 0.0))
    clamped = AILabeler(model, tokenizer, swap=False, clamp=(0.4, 0.6))
    assert clamped.prefer(PROMPT, " a", " b") == pytest.approx(0.6)
    torch.testing.assert_close(clamp_label(torch.tensor([0.1, 0.5, 0.9]), 0.4, 0.6), torch.tensor([0.4, 0.5, 0.6]))
    with pytest.raises(ValueError, match="clamp range"):
        AILabeler(model, tokenizer, clamp=(0.6, 0.4))
    # one principle per comparison, the same one for both orders
    labeler = AILabeler(model, tokenizer, constitution=["Be kind.", "Be brief."], seed=3)
    model.seen.clear()
    labeler.prefer_batch([PROMPT] * 6, [" a"] * 6, [" b"] * 6)
    firsts = [t.split("\n\n")[0] for t in model.seen[:6]]
    seconds = [t.split("\n\n")[0] for t in model.seen[6:12]]
    assert firsts == seconds and set(firsts) == {"Be kind.", "Be brief."}
    model.seen.clear()
    AILabeler(model, tokenizer, constitution=["Be kind.", "Be brief."], principle_mode="all").prefer(PROMPT, " a", " b")
    assert model.seen[0].startswith("Be kind. Be brief.")


def test_bad_constitutions_and_tokenizers(tokenizer):
    model = ToyLM(tokenizer, lambda t: verdict_logits(tokenizer, 0.0, 0.0))
    for bad in ([], (), None, [""], ["ok", "  "]):
        with pytest.raises(ValueError, match="constitution|principle"):
            AILabeler(model, tokenizer, constitution=bad)
    assert check_constitution("Be kind.") == ("Be kind.",)
    with pytest.raises(ValueError, match=r"'12' is 2 tokens"):
        verdict_token_ids(tokenizer, ("12", "2"))

    class TwoTokenDigits:
        pad_token_id, eos_token = 0, "<|endoftext|>"

        def __call__(self, text, add_special_tokens=False):
            return {"input_ids": [7, 8]}

    with pytest.raises(ValueError, match=r"verdict token '1' is 2 tokens.*\['1', '2'\]"):
        AILabeler(model, TwoTokenDigits())


def test_long_conversations_lose_their_oldest_turns_first(tokenizer):
    model = ToyLM(tokenizer, lambda t: verdict_logits(tokenizer, 0.0, 0.0), context=120)
    labeler = AILabeler(model, tokenizer, swap=False)
    long_prompt = "\n\nHuman: " + "Tell me a joke about the dog. " * 30 + "\n\nAssistant:"
    with pytest.warns(UserWarning, match="cutting the oldest turns"):
        labeler.prefer(long_prompt, " A cat is a small animal.", " The quick brown fox.")
    text = model.seen[-1]
    assert len(tokenizer(text, add_special_tokens=False)["input_ids"]) <= 120
    assert slots(text) == (" A cat is a small animal.", " The quick brown fox.")
    assert text.endswith(formats.VERDICT_ENDING)
    with _no_warning():  # warned once only
        labeler.prefer(long_prompt, " a", " b")
    assert labeler.cut == 0
    # Responses that cannot fit even without the conversation (real HH-RLHF has replies of 800+ tokens) are cut
    # to equal shares, each keeping its beginning, and counted: one long pair never stops a labelling run.
    long_prompt_and_answers = (long_prompt, " dog" * 200, " cat" * 150)
    with pytest.warns(UserWarning, match="each keeps its first"):
        labeler.prefer(*long_prompt_and_answers)
    text = model.seen[-1]
    assert len(tokenizer(text, add_special_tokens=False)["input_ids"]) <= 120
    first, second = slots(text)
    assert 0 < len(first.split()) < 200 and 0 < len(second.split()) < 150
    assert set(first.split()) == {"dog"} and set(second.split()) == {"cat"}
    assert "Tell me a joke" in text and text.endswith(formats.VERDICT_ENDING)
    assert labeler.cut == 1
    labeler.prefer(PROMPT, " dog" * 200, " cat")
    assert labeler.cut == 2


class _no_warning:
    def __enter__(self):
        import warnings
        self._catch = warnings.catch_warnings(record=True)
        self.records = self._catch.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        self._catch.__exit__(*exc)
        assert not [r for r in self.records if "cutting the oldest turns" in str(r.message)]


def test_direct_scoring_reads_the_expected_rating(tokenizer):
    digit = lambda d: verdict_token_ids(tokenizer, (str(d),))[0]  # noqa: E731

    def rule(text):
        v = torch.full((len(tokenizer),), -30.0)
        if text.endswith(formats.RATING_ENDING + "1"):
            v[digit(0)] = 0.0  # after "1": P("0") = 1/2 -> rating 10 ...
            v[tokenizer.eos_token_id] = 0.0  # ... or the rating was just 1
        elif "brilliant" in text:
            v[digit(7)] = 0.0  # certain rating 7
        else:
            v[digit(1)] = 0.0  # "1" then maybe "0"
        return v

    labeler = AILabeler(ToyLM(tokenizer, rule), tokenizer)
    scores = labeler.score([PROMPT, PROMPT], [" a brilliant answer", " a poor answer"])
    torch.testing.assert_close(scores, torch.tensor([(7 - 5.5) / 4.5, (0.5 * 1 + 0.5 * 10 - 5.5) / 4.5]))


def test_self_consistency_needs_chain_of_thought(tokenizer):
    model = ToyLM(tokenizer, lambda t: verdict_logits(tokenizer, 0.0, 0.0))
    with pytest.raises(ValueError, match="chain_of_thought"):
        AILabeler(model, tokenizer, self_consistency=4)


def test_each_model_labels_with_its_own_tokenizer_and_a_foreign_one_fails_early(tokenizer):
    # Two genuinely different tokenizers (the GPU profile pairs GPT-Neo-125M with a Qwen labeler):
    # the conftest one (320 tokens) and one trained on world conversations with a larger vocabulary.
    from rlcore import world
    from rlcore.builders import tiny_gpt_neo, train_bpe_tokenizer

    rng = random.Random(0)
    texts = [p.text + world.demonstration(p, rng) for p in world.sample_prompts("train", 300, 0)]
    big_tokenizer = train_bpe_tokenizer(texts, vocab_size=700)
    assert len(big_tokenizer) > len(tokenizer)
    assert big_tokenizer(PROMPT)["input_ids"] != tokenizer(PROMPT)["input_ids"]
    models = {}
    for name, tok in (("small", tokenizer), ("big", big_tokenizer)):
        models[name] = tiny_gpt_neo(len(tok), hidden_size=32, num_layers=2, num_heads=2, max_position_embeddings=512,
                                    seed=0, eos_token_id=tok.eos_token_id)
    # (a) each model with its own tokenizer labels
    for name, tok in (("small", tokenizer), ("big", big_tokenizer)):
        out = AILabeler(models[name], tok, seed=0).prefer_batch([PROMPT] * 2, [" A cat.", " dog"], [" dog", " A cat."])
        assert out["p"].shape == (2,) and bool(((out["p"] > 0) & (out["p"] < 1)).all()), name
    # (b) the small-vocabulary model with the larger tokenizer fails at construction, saying why
    with pytest.raises(ValueError, match=r"the tokenizer has 700 tokens but the model's vocabulary has 320"):
        AILabeler(models["small"], big_tokenizer)


def test_an_instruction_tuned_labeler_is_asked_through_its_chat_template(tokenizer):
    from rlcore.builders import chat_tokenizer

    chat = chat_tokenizer()  # the shipped tokenizer with ChatML's tokens and template, as Qwen2.5-Instruct has
    plain_text = formats.labeler_prompt("Be kind.", PROMPT, " a", " b") + formats.VERDICT_ENDING
    # a base model (no template) reads the completion text as it is
    plain = AILabeler(ToyLM(tokenizer, lambda t: verdict_logits(tokenizer, 0.0, 0.0)), tokenizer)
    assert not plain.chat and plain.build_text("Be kind.", PROMPT, " a", " b") == plain_text
    # an instruct model reads it as its user's turn, the verdict opening its own reply
    labeler = AILabeler(ToyLM(chat, lambda t: verdict_logits(chat, 2.0, 0.0)), chat)
    text = labeler.build_text("Be kind.", PROMPT, " a", " b")
    assert labeler.chat and text == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
        + plain_text[: -len(formats.VERDICT_ENDING)].rstrip() + "\n\n" + formats.CHAT_INSTRUCTIONS[formats.VERDICT_ENDING]
        + "<|im_end|>\n<|im_start|>assistant\n" + formats.VERDICT_ENDING)
    rating = labeler.rating_text("Be kind.", PROMPT, " a")
    assert rating.startswith("<|im_start|>system") and rating.endswith("<|im_start|>assistant\n" + formats.RATING_ENDING)
    # the model reads the template's special tokens as single tokens, and the verdict is still the next token
    ids = chat(text, add_special_tokens=False)["input_ids"]
    assert ids.count(chat.convert_tokens_to_ids("<|im_start|>")) == 3
    assert labeler.prefer(PROMPT, " a", " b") == pytest.approx(0.5)  # both orders: 1 wins as often as 2
    assert labeler.prefer_batch([PROMPT], [" a"], [" b"], swap=False)["p"].item() == pytest.approx(
        math.exp(2) / (math.exp(2) + 1))
    assert not AILabeler(labeler.model, chat, chat=False).chat  # asked off its template, if one insists
    with pytest.raises(ValueError, match="no chat template"):
        AILabeler(plain.model, tokenizer, chat=True)
