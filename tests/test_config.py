import pytest
import torch

from rlcore.config import Profile, choose_device, get_profile, seed_everything


def test_profiles_and_env_default(monkeypatch):
    monkeypatch.setenv("RLCORE_PROFILE", "gpt-neo-125m")
    assert get_profile().policy_model == "EleutherAI/gpt-neo-125m"
    monkeypatch.delenv("RLCORE_PROFILE")
    assert get_profile().name == ("gpt-neo-125m" if torch.cuda.is_available() else "tiny")
    assert get_profile("tiny", ppo_steps=3).ppo_steps == 3
    with pytest.raises(ValueError, match="unknown profile 'huge'"):
        get_profile("huge")


def test_any_field_can_be_set_from_the_environment_in_its_own_type(monkeypatch):
    for key, value in {"RLCORE_PPO_STEPS": "5", "RLCORE_SFT_LR": "2.5e-4", "RLCORE_TARGET_KL": "None",
                       "RLCORE_DATASET": "pairs.jsonl", "RLCORE_MAX_NEW_TOKENS": ""}.items():
        monkeypatch.setenv(key, value)
    p = get_profile("tiny", ppo_steps=7)  # keyword overrides win over the environment
    assert (p.ppo_steps, p.sft_lr, p.target_kl, p.dataset) == (7, 0.00025, None, "pairs.jsonl")
    assert get_profile("tiny").ppo_steps == 5 and isinstance(get_profile("tiny").ppo_steps, int)
    assert p.max_new_tokens == 72  # an empty variable sets nothing: tiny's own value
    monkeypatch.setenv("RLCORE_PPO_STEPS", "2.5")
    with pytest.raises(ValueError, match=r"RLCORE_PPO_STEPS='2.5' is not a valid int \(Profile.ppo_steps\)"):
        get_profile("tiny")
    monkeypatch.setenv("RLCORE_PPO_STEPS", "0")  # converted, then validated like any other value
    with pytest.raises(ValueError, match="positive integer"):
        get_profile("tiny")


@pytest.mark.parametrize("change,message", [
    ({"sft_lr": 0.0}, "learning rate"),
    ({"ppo_lr": -1e-4}, "learning rate"),
    ({"ppo_batch_size": 30, "ppo_num_minibatches": 4}, "divisible"),
    ({"ppo_steps": 0}, "positive integer"),
    ({"dtype": "float8"}, "dtype"),
    ({"device": "tpu"}, "device"),
    ({"lerning_rate": 1e-3}, "unknown profile field"),
])
def test_profile_validation(change, message):
    with pytest.raises(ValueError, match=message):
        get_profile("tiny").replace(**change)


def test_profile_from_dict_names_unknown_fields():
    with pytest.raises(ValueError, match="'batchsize'"):
        Profile.from_dict({"name": "x", "policy_model": "tiny", "labeler_model": "tiny", "dataset": "world",
                           "batchsize": 3})


def test_seed_everything_makes_torch_repeatable():
    seed_everything(7)
    a = torch.randn(3)
    seed_everything(7)
    assert torch.equal(a, torch.randn(3))
    with pytest.raises(ValueError):
        seed_everything(-1)


def test_choose_device():
    assert choose_device("cpu").type == "cpu"
    assert choose_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            choose_device("cuda")
