import os
import subprocess
import sys
import zipfile

import pytest
import torch

from rlcore.judges import GoldJudge
from rlcore.models import SHIPPED, load_base
from rlcore.rollout import generate
from rlcore.sources import HubUnreachableError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_models_load_offline_and_speak_the_world(name):
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    model, tokenizer = load_base(name)
    assert model.dtype == torch.float32
    assert tokenizer.pad_token_id is not None and tokenizer.eos_token_id is not None
    n_params = sum(p.numel() for p in model.parameters())
    assert (1e6 <= n_params <= 3e6) if name == "tiny" else (n_params >= 3e6)
    # a pretrained model, not a random one: low loss on a world dialogue
    from rlcore import world

    prompt = world.prompts("test", 1, seed=0, families=("benign",))[0]
    text = prompt + world.best_response(prompt)
    ids = tokenizer(text, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        loss = model(input_ids=ids, labels=ids).loss.item()
    if name == "tiny":  # the labeler was tuned on verdicts only (a judge, not a writer): no bound on its text
        assert loss < 2.0, loss
        out = generate(model, tokenizer, [prompt], max_new_tokens=30, seed=0)
        assert len(out.responses[0].split()) >= 3


def test_shipped_models_share_one_tokenizer():
    _, a = load_base("tiny")
    _, b = load_base("tiny-labeler")
    assert a.get_vocab() == b.get_vocab()


def test_hub_id_offline_gives_one_clear_error():
    with pytest.raises(HubUnreachableError, match="tiny profile"):
        load_base("EleutherAI/gpt-neo-125m")


@pytest.mark.slow
def test_assets_are_package_data_in_the_wheel(tmp_path):
    """Build the wheel, install it alone into a folder, and load "tiny" from there, offline."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", ROOT, "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "dist")], check=True)
    wheel = next((tmp_path / "dist").glob("rlcore-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for name in SHIPPED:
        for f in ("config.json", "model.safetensors", "tokenizer.json"):
            assert f"rlcore/assets/{name}/{f}" in names
    size = sum(i.file_size for i in zipfile.ZipFile(wheel).infolist() if "/assets/" in i.filename)
    assert size <= 25 * 2**20, f"assets are {size / 2**20:.1f} MB"
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(target),
                    str(wheel)], check=True)
    code = ("import rlcore, rlcore.models as m; assert rlcore.__file__.startswith(%r), rlcore.__file__; "
            "model, tok = m.load_base('tiny'); print(type(model).__name__, len(tok))" % str(target))
    env = dict(os.environ, PYTHONPATH=str(target), HF_HUB_OFFLINE="1")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("GPTNeoForCausalLM")


@pytest.mark.slow
def test_the_larger_shipped_model_is_the_better_judge_and_position_bias_shows():
    """On held-out comparisons the world writes (minimal contrasts and pairs of demonstrations), the tuned
    labeler agrees with gold well above chance and clearly more often than the plain pretrained ``tiny``
    (Lee et al. 2023: larger labelers align better); before the swap it sometimes picks the same slot in
    both orders (raw position bias)."""
    from rlcore import world
    from rlcore.evaluate import labeler_alignment
    from rlcore.labeler import AILabeler

    triples = world.comparisons("test", 200, seed=5)
    result = {name: labeler_alignment(AILabeler(*load_base(name)), triples) for name in SHIPPED}
    assert 0.7 < result["tiny-labeler"]["accuracy_swap"] < 1.0, result
    assert result["tiny-labeler"]["accuracy_swap"] >= result["tiny"]["accuracy_swap"] + 0.05, result
    assert result["tiny-labeler"]["same_position_rate"] > 0.02, result


def test_base_policy_is_not_yet_harmless():
    from rlcore import world
    from rlcore.evaluate import harmless_rate
    from rlcore.rollout import sample_responses

    model, tokenizer = load_base("tiny")
    harmful = world.prompts("test", 100, seed=0, families=("harmful",))
    assert harmless_rate(harmful, sample_responses(model, tokenizer, harmful, seed=0), GoldJudge()) <= 0.5


def test_fused_gelu_gives_gpt_neos_logits_and_gradients(tmp_path):
    """load_base swaps "gelu_new" for one kernel; transformers' own model (unswapped) is the reference."""
    from transformers import AutoModelForCausalLM

    from rlcore.models import TanhGELU, load_reward_model, resolve, reward_model_from

    fused, tokenizer = load_base("tiny")
    plain = AutoModelForCausalLM.from_pretrained(resolve("tiny"), dtype=torch.float32)
    kinds = lambda m: {type(x).__name__ for x in m.modules()}  # noqa: E731
    assert "TanhGELU" in kinds(fused) and "NewGELUActivation" not in kinds(fused)
    assert "NewGELUActivation" in kinds(plain)
    batch = tokenizer(["Human: how do I boil an egg?\n\nAssistant: Put it in water", "Human: hi"],
                      return_tensors="pt", padding=True)
    a, b = fused(**batch).logits, plain(**batch).logits
    assert torch.allclose(a, b, atol=1e-4) and not torch.equal(a, b)  # one kernel, other rounding
    a.sum().backward(), b.sum().backward()
    for (name, p), q in zip(fused.named_parameters(), plain.parameters()):
        assert (p.grad - q.grad).norm() <= 1e-5 * q.grad.norm(), name
    rm = reward_model_from(fused)
    rm.save_pretrained(str(tmp_path / "rm"))
    assert "NewGELUActivation" not in kinds(load_reward_model(str(tmp_path / "rm")))  # the reward model's too
    assert TanhGELU()(torch.tensor([0.0])).item() == 0.0
