import dataclasses

import pytest
import torch

from rlcore.config import SECTIONS, PPOConfig, Profile, choose_device, env_name, get_profile, seed_everything


def test_profiles_and_env_default(monkeypatch):
    monkeypatch.setenv("RLCORE_PROFILE", "gpt-neo-125m")
    assert get_profile().policy_model == "EleutherAI/gpt-neo-125m"
    monkeypatch.delenv("RLCORE_PROFILE")
    assert get_profile().name == ("gpt-neo-125m" if torch.cuda.is_available() else "tiny")
    assert get_profile("tiny", ppo__steps=3).ppo.steps == 3
    with pytest.raises(ValueError, match="unknown profile 'huge'"):
        get_profile("huge")


def test_a_setting_is_set_from_the_environment_in_its_own_type(monkeypatch):
    for key, value in {"RLCORE_PPO__STEPS": "5", "RLCORE_SFT__LR": "2.5e-4", "RLCORE_PPO__TARGET_KL": "None",
                       "RLCORE_DATASET": "pairs.jsonl", "RLCORE_LENGTHS__MAX_NEW_TOKENS": "",
                       "RLCORE_PPO__WHITEN_ADVANTAGES": "false"}.items():
        monkeypatch.setenv(key, value)
    p = get_profile("tiny", ppo__steps=7)  # keyword overrides win over the environment
    assert (p.ppo.steps, p.sft.lr, p.ppo.target_kl, p.dataset, p.ppo.whiten_advantages) == (
        7, 0.00025, None, "pairs.jsonl", False)
    assert get_profile("tiny").ppo.steps == 5 and isinstance(get_profile("tiny").ppo.steps, int)
    assert p.lengths.max_new_tokens == 72  # an empty variable sets nothing: tiny's own value
    assert p.ppo.lr == 2e-5 and p.ppo.init_kl_coef == 0.1  # the rest of the section is tiny's
    monkeypatch.setenv("RLCORE_PPO__STEPS", "2.5")
    with pytest.raises(ValueError, match=r"RLCORE_PPO__STEPS='2.5' is not a valid int"):
        get_profile("tiny")
    monkeypatch.setenv("RLCORE_PPO__STEPS", "0")  # converted, then validated by its section like any other value
    with pytest.raises(ValueError, match=r"PPOConfig.steps must be a positive integer"):
        get_profile("tiny")


def _other_value(value, field_type: str, path: str):
    """Values to try for ``path`` other than its current one, as the environment spells them."""
    choices = {"dtype": ["bfloat16"], "device": ["cpu", "auto"], "ppo.kl_estimator": ["k3"], "grpo.scale": ["batch"],
               "grpo.loss_type": ["dr_grpo"], "rloo.baseline": ["mean"]}
    if path in choices:
        return choices[path]
    if field_type.startswith("bool"):
        return [str(not value)]
    if value is None:
        return ["0.5"]
    if field_type.startswith("int"):
        return [str(v) for v in (value * 2, value // 2, value + 1, value - 1) if v >= 0]
    if field_type.startswith("float"):
        return [repr(v) for v in (value * 2, value / 2, 0.5, 0.25)] + (["None"] if "None" in field_type else [])
    return [f"{value}-other"]


def test_every_setting_of_every_stage_is_reachable_from_the_environment(monkeypatch):
    """Each path, set alone as RLCORE_<PATH>, arrives in its section with its type, and nothing else moves."""
    base = get_profile("tiny")
    paths = [f.name for f in dataclasses.fields(Profile) if f.name not in SECTIONS and f.name != "name"]
    paths += [f"{s}.{f.name}" for s, kind in SECTIONS.items() for f in dataclasses.fields(kind)]
    assert len(paths) > 70 and "ppo.gamma" in paths and "lengths.max_length" in paths and "eval.kl_prompts" in paths
    types = {f"{s}.{f.name}": f.type for s, kind in SECTIONS.items() for f in dataclasses.fields(kind)}
    types |= {f.name: f.type for f in dataclasses.fields(Profile)}
    for path in paths:
        variable = env_name(path)
        assert variable == "RLCORE_" + path.replace(".", "__").upper()
        for raw in _other_value(base.get(path), types[path], path):
            if raw == str(base.get(path)):
                continue
            monkeypatch.setenv(variable, raw)
            try:
                profile = get_profile("tiny")
            except ValueError:
                continue  # this value breaks a rule of its section (e.g. max_length too short): try the next
            break
        else:
            pytest.fail(f"no value of {variable} was accepted")
        monkeypatch.delenv(variable)
        got, kind = profile.get(path), types[path]
        expected = (None if raw == "None" else raw == "True" if kind == "bool"
                    else int(raw) if kind == "int" else float(raw) if kind.startswith("float") else raw)
        assert got == expected and type(got) is type(expected), (path, raw, got)
        assert got != base.get(path), (path, raw, got)
        restored = profile.replace(**{path: base.get(path)})
        assert restored == base, f"{variable} moved more than {path}"


def test_an_unknown_or_old_style_variable_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("RLCORE_PPO_STEPS", "5")  # the flat spelling of an older release
    with pytest.raises(ValueError, match=r"RLCORE_PPO_STEPS names no profile setting; did you mean \['RLCORE_PPO__STEPS'"):
        get_profile("tiny")
    monkeypatch.delenv("RLCORE_PPO_STEPS")
    monkeypatch.setenv("RLCORE_PPO__STEPZ", "5")
    with pytest.raises(ValueError, match=r"did you mean \['RLCORE_PPO__STEPS'"):
        get_profile("tiny")
    monkeypatch.delenv("RLCORE_PPO__STEPZ")
    monkeypatch.setenv("RLCORE_NOTEBOOKS", "03")  # the package's other variables are not settings
    assert get_profile("tiny").ppo.steps == 40


@pytest.mark.parametrize("change,message", [
    ({"sft__lr": 0.0}, r"SFTConfig.lr must be > 0"),
    ({"ppo__lr": -1e-4}, r"PPOConfig.lr must be > 0"),
    ({"ppo__batch_size": 30, "ppo__num_minibatches": 4}, "divisible"),
    ({"ppo__steps": 0}, "positive integer"),
    ({"lengths__max_new_tokens": 200}, "must hold a whole rollout"),
    ({"rm__hybrid_human_pairs": 2000}, r"between 0 and pairs \(1500\)"),
    ({"dtype": "float8"}, "dtype"),
    ({"device": "tpu"}, "device"),
    ({"lerning_rate": 1e-3}, "unknown profile setting 'lerning_rate'"),
    ({"ppo__lerning_rate": 1e-3}, "unknown profile setting 'ppo__lerning_rate'"),
    ({"ppo": {"lr": 1.0}}, "Profile.ppo must be a PPOConfig"),
])
def test_profile_validation(change, message):
    with pytest.raises((ValueError, TypeError), match=message):
        get_profile("tiny").replace(**change)


def test_a_section_is_checked_where_it_is_defined_and_replaced_whole():
    with pytest.raises(ValueError, match=r"PPOConfig.batch_size \(6\) must be divisible by num_minibatches \(4\)"):
        PPOConfig(batch_size=6)
    p = get_profile("tiny").replace(ppo=PPOConfig(lr=3e-5))
    assert p.ppo.lr == 3e-5 and p.ppo.init_kl_coef == PPOConfig().init_kl_coef  # the whole section replaced
    assert get_profile("tiny").ppo.lr == 2e-5  # the shipped profile is untouched (sections are frozen)


def test_profile_round_trips_through_plain_data_and_names_unknown_fields():
    p = get_profile("gpt-neo-125m", ppo__steps=3)
    assert Profile.from_dict(p.to_dict()) == p
    with pytest.raises(ValueError, match="'batchsize'"):
        Profile.from_dict({"name": "x", "policy_model": "tiny", "labeler_model": "tiny", "dataset": "world",
                           "batchsize": 3})
    with pytest.raises(ValueError, match="'ppo.stepz'"):
        Profile.from_dict({"name": "x", "policy_model": "tiny", "labeler_model": "tiny", "dataset": "world",
                           "ppo": {"stepz": 3}})


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
