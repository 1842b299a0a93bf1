import pytest
import torch

from rlcore.config import Lengths, RewardConfig
from rlcore.data import PreferencePair, tokenize_prompt_response
from rlcore.reward import RewardModel, last_token_index, pair_rewards, train_reward_model


def pad(rows, pad_id, side):
    L = max(len(r) for r in rows)
    ids, mask = [], []
    for r in rows:
        n = L - len(r)
        ids.append(([pad_id] * n + r) if side == "left" else (r + [pad_id] * n))
        mask.append(([0] * n + [1] * len(r)) if side == "left" else ([1] * len(r) + [0] * n))
    return torch.tensor(ids), torch.tensor(mask)


@pytest.fixture()
def reward_model(tiny_model):
    torch.manual_seed(0)
    return RewardModel(tiny_model.base_model).eval()


def test_last_token_index_left_and_right():
    right = torch.tensor([[1, 1, 1, 0], [1, 0, 0, 0], [1, 1, 1, 1]])
    left = torch.tensor([[0, 1, 1, 1], [0, 0, 0, 1], [1, 1, 1, 1]])
    assert last_token_index(right).tolist() == [2, 0, 3]
    assert last_token_index(left).tolist() == [3, 3, 3]
    with pytest.raises(ValueError, match="all zeros"):
        last_token_index(torch.tensor([[0, 0]]))


@pytest.mark.parametrize("side", ["left", "right"])
def test_reward_read_at_last_non_pad_token(reward_model, tokenizer, side):
    texts = ["\n\nHuman: What is a cat?\n\nAssistant: A small animal.", "Tell me a joke.", "dog"]
    rows = [tokenizer(t)["input_ids"] for t in texts]
    with torch.no_grad():
        # independent reference: each sequence alone, no padding, scalar at its final position
        alone = torch.stack([reward_model.per_token(torch.tensor([r]), torch.ones(1, len(r), dtype=torch.long))[0, -1]
                             for r in rows])
        ids, mask = pad(rows, tokenizer.pad_token_id, side)
        batched = reward_model(ids, mask)
    torch.testing.assert_close(batched, alone, rtol=1e-4, atol=1e-5)


def test_token_zero_reward_cannot_tell_sequences_apart(reward_model, tokenizer):
    good = tokenizer("the cat likes to sleep.")["input_ids"]
    bad = tokenizer("the dog dog dog dog dog")["input_ids"]
    assert good[0] == bad[0] and good != bad
    ids, mask = pad([good, bad], tokenizer.pad_token_id, "right")
    with torch.no_grad():
        per_token = reward_model.per_token(ids, mask)
        at_token_zero = per_token[:, 0]
        at_last = reward_model(ids, mask)
    # the bug: a causal LM at position 0 has seen only the first token -> identical "rewards"
    torch.testing.assert_close(at_token_zero[0], at_token_zero[1])
    assert abs(at_last[0] - at_last[1]) > 1e-4


def test_reward_model_learns_a_preference_and_round_trips(tiny_model, tokenizer, tmp_path):
    torch.manual_seed(0)
    model = RewardModel(tiny_model.base_model)
    pairs = [PreferencePair(f"\n\nHuman: Tell me about the {w}.\n\nAssistant:", f" The {w} is small and likes to sleep.",
                            f" {w} {w} {w} {w}") for w in ["cat", "dog", "fox", "bread", "joke", "water", "salt", "flour"]]
    before = pair_rewards(model, tokenizer, pairs)
    losses = train_reward_model(model, tokenizer, pairs, RewardConfig(epochs=15, batch_size=4, lr=3e-3), progress=False)
    chosen, rejected = pair_rewards(model, tokenizer, pairs)
    assert losses[-1] < 0.5 * losses[0]
    assert (chosen > rejected).float().mean().item() == 1.0
    assert (before[0] > before[1]).float().mean().item() < 1.0  # it was not already right by chance
    # normalise on reference sequences: mean 0, std 1 there
    ids, mask, _ = tokenize_prompt_response(tokenizer, [p.prompt for p in pairs] * 2,
                                            [p.chosen for p in pairs] + [p.rejected for p in pairs], 128)
    model.normalise(ids, mask)
    with torch.no_grad():
        r = model(ids, mask)
    assert abs(r.mean().item()) < 1e-4 and abs(r.std().item() - 1) < 1e-4
    model.save_pretrained(tmp_path / "rm")
    again = RewardModel.from_pretrained(str(tmp_path / "rm")).eval()
    with torch.no_grad():
        torch.testing.assert_close(again(ids, mask), r)


def test_soft_label_training_follows_the_labels(tiny_model, tokenizer):
    torch.manual_seed(0)
    model = RewardModel(tiny_model.base_model)
    # p_chosen = 0 means the labeler says "rejected" is better: the model must learn the reverse
    pairs = [PreferencePair("\n\nHuman: hi\n\nAssistant:", f" A {w} is an animal.", f" {w} {w}", p_chosen=0.0)
             for w in ["cat", "dog", "fox", "cow"]]
    train_reward_model(model, tokenizer, pairs, RewardConfig(epochs=20, batch_size=4, lr=3e-3), soft_labels=True,
                       progress=False)
    chosen, rejected = pair_rewards(model, tokenizer, pairs)
    assert torch.all(chosen < rejected)


def test_normalise_on_samples_gives_mean_0_std_1_on_those_samples(tokenizer, tiny_model):
    from rlcore.rollout import sample_responses
    from rlcore.models import reward_model_from

    rm = reward_model_from(tiny_model).eval()
    prompts = ["\n\nHuman: What is a cat?\n\nAssistant:", "\n\nHuman: Hi\n\nAssistant:", "Tell me a joke."] * 3
    rm.normalise_on_samples(tiny_model, tokenizer, prompts, Lengths(max_new_tokens=6), seed=2)
    scores = rm.score(tokenizer, prompts, sample_responses(tiny_model, tokenizer, prompts, max_new_tokens=6, seed=2))
    assert abs(scores.mean().item()) < 1e-4 and abs(scores.std().item() - 1) < 1e-4
