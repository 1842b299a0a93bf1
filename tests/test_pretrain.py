import hashlib
import json
import os
import subprocess
import sys


from rlcore.pretrain import pack

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_pack_concatenates_and_drops_the_tail():
    blocks = pack([[1, 2, 3], [4, 5], [6, 7, 8, 9]], block=4)
    assert blocks.tolist() == [[1, 2, 3, 4], [5, 6, 7, 8]]


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
