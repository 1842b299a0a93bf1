"""Every notebook runs end to end on the GPU track's code path, on CPU: the tiny models on a raw
HH-RLHF-format file (written here, no real rows), judged by an AI judge instead of the world's gold judge.

The committed notebooks are executed (their outputs are not compared: nbval checks the tiny-world run);
what is checked is that every cell runs, including the assertion cells, on data that is not the world.
``RLCORE_NOTEBOOKS`` (comma-separated name prefixes, e.g. "03,05") limits the run while developing.
"""

import os

import nbformat
import pytest

from hh_data import write_hh_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NB_DIR = os.path.join(ROOT, "notebooks")
ONLY = [p for p in os.environ.get("RLCORE_NOTEBOOKS", "").split(",") if p]
NOTEBOOKS = sorted(f for f in os.listdir(NB_DIR) if f.endswith(".ipynb") and (not ONLY or f[:2] in ONLY))
HH_ROWS = 300
# The code path is what is tested here, not the figures: shorter answers, fewer PPO steps and one epoch
# (set the way a user would, through the environment) keep this test to a few minutes.
QUICK_SIZES = {"RLCORE_MAX_NEW_TOKENS": "24", "RLCORE_PPO_STEPS": "4", "RLCORE_SFT_EPOCHS": "1",
               "RLCORE_RM_EPOCHS": "1"}


@pytest.fixture(scope="module")
def hh_environment(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hh_course")
    path = write_hh_file(folder / "hh.jsonl", HH_ROWS)
    env = {"RLCORE_PROFILE": "tiny", "RLCORE_DATASET": str(path), "RLCORE_COURSE_DIR": str(folder / "course"),
           "HF_HUB_OFFLINE": "1", "MPLBACKEND": "Agg", **QUICK_SIZES}
    with pytest.MonkeyPatch.context() as mp:  # the kernels inherit this environment; restored afterwards
        for k, v in env.items():
            mp.setenv(k, v)
        yield folder


@pytest.mark.parametrize("name", NOTEBOOKS)  # in course order: later lessons re-use earlier checkpoints
def test_notebook_runs_on_hh_format_data(name, hh_environment):
    from nbclient import NotebookClient

    nb = nbformat.read(os.path.join(NB_DIR, name), as_version=4)
    NotebookClient(nb, timeout=1200, kernel_name="python3", resources={"metadata": {"path": str(hh_environment)}}).execute()
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "gold judge (the world" not in outputs, "off the world, no number may come from the gold judge"
