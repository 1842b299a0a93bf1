import hashlib
import json
import os
import subprocess
import sys

import pytest

from rlcore.pretrain import pack

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_pack_concatenates_and_drops_the_tail():
    blocks = pack([[1, 2, 3], [4, 5], [6, 7, 8, 9]], block=4)
    assert blocks.tolist() == [[1, 2, 3, 4], [5, 6, 7, 8]]


@pytest.mark.slow
def test_pretraining_script_is_deterministic_and_learns(tmp_path):
    digests = []
    for run in ("a", "b"):
        out = tmp_path / run
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "pretrain_world_models.py"), "--out", str(out),
                        "--documents", "1500", "--tiny-steps", "60", "--batch-size", "4", "--only", "tiny"],
                       check=True, capture_output=True, env=dict(os.environ, TQDM_DISABLE="1"))
        digests.append(hashlib.sha256((out / "tiny" / "model.safetensors").read_bytes()).hexdigest())
        info = json.loads((out / "tiny" / "training.json").read_text())
        first, last = info["loss"][0][1], info["loss"][-1][1]
        assert last < first - 0.5, info["loss"]  # it really trains
    assert digests[0] == digests[1]


def test_shipped_training_record_matches_the_script_defaults():
    """The shipped weights say how they were made; those settings are the script's defaults."""
    from rlcore.models import ASSETS

    for name, steps_flag in (("tiny", "--tiny-steps"), ("tiny-labeler", "--labeler-steps")):
        info = json.loads((ASSETS / name / "training.json").read_text())
        script = open(os.path.join(ROOT, "scripts", "pretrain_world_models.py")).read()
        assert f'"{steps_flag}", type=int, default={info["steps"]}' in script
        assert f'"--documents", type=int, default={info["documents"]}' in script


def test_rlcore_pretrain_cli_trains_within_a_budget_and_saves_a_loadable_model(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path / "model"
    r = subprocess.run([sys.executable, "-m", "rlcore.cli", "pretrain", "--arch", "tiny", "--minutes", "0.2",
                        "--out", str(out), "--documents", "400", "--batch-size", "4", "--max-steps", "40"],
                       capture_output=True, text=True, env=dict(os.environ, TQDM_DISABLE="1", OMP_NUM_THREADS="1"))
    assert r.returncode == 0, r.stderr
    info = json.loads((out / "training.json").read_text())
    assert 10 <= info["steps_done"] <= 40 and info["device"] == "cpu"
    assert info["loss"][-1][1] < info["loss"][0][1] - 0.5, info["loss"]  # it learned something
    model = AutoModelForCausalLM.from_pretrained(out)
    tok = AutoTokenizer.from_pretrained(out)
    assert model.config.vocab_size == len(tok) and model.config.hidden_size == 128


def test_gpt_neo_125m_arch_matches_the_hub_model():
    """EleutherAI/gpt-neo-125m: 768 hidden, 12 layers, 12 heads, 2048 positions, global/local attention
    alternating with a 256-token window (its config.json); only the vocabulary is the world's."""
    from rlcore.models import load_base
    from rlcore.pretrain import new_model

    _, tok = load_base("tiny")
    config = new_model("gpt-neo-125m", tok).config
    assert (config.hidden_size, config.num_layers, config.num_heads, config.max_position_embeddings) == (768, 12, 12, 2048)
    assert config.attention_layers == ["global", "local"] * 6 and config.window_size == 256


def test_rlcore_pretrain_rejects_bad_input(capsys):
    from rlcore.cli import main  # in this process: the entry point itself is run by the test above

    assert main(["pretrain", "--arch", "gpt-j", "--minutes", "1"]) == 2
    err = capsys.readouterr().err
    assert "unknown arch 'gpt-j'" in err and len(err.strip().splitlines()) == 1
    assert main(["pretrain", "--arch", "tiny", "--minutes", "0"]) == 2
    assert "--minutes must be > 0" in capsys.readouterr().err


def test_pipeline_uses_the_policy_model_it_is_given(tmp_path, capsys, monkeypatch):
    from rlcore.cli import main

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["pipeline", "--policy-model", str(tmp_path / "missing"), "--out", str(tmp_path / "run")]) == 2
    assert f"could not load '{tmp_path / 'missing'}'" in capsys.readouterr().err
