"""Structure of the course notebooks: badges, install cells, profile cell, exercises, no widget state."""

import os
import sys
import tomllib

import nbformat
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NB_DIR = os.path.join(ROOT, "notebooks")
NOTEBOOKS = sorted(f for f in os.listdir(NB_DIR) if f.endswith(".ipynb"))
sys.path.insert(0, os.path.join(ROOT, "scripts"))


def repo_url():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)["project"]["urls"]["Repository"].rstrip("/")


def test_there_are_notebooks_in_course_order():
    assert NOTEBOOKS, "no notebooks"
    assert all(name[:2].isdigit() and name[2] == "_" for name in NOTEBOOKS)
    sources = sorted(f[:-3] for f in os.listdir(os.path.join(NB_DIR, "src")) if f.endswith(".py"))
    assert [n[:-6] for n in NOTEBOOKS] == sources, "every source is built, every notebook has a source"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_badge_install_and_profile_cells(name):
    nb = nbformat.read(os.path.join(NB_DIR, name), as_version=4)
    url = repo_url()
    repo = url.split("github.com/")[1]
    badge, install = nb.cells[1], nb.cells[2]
    assert f"colab.research.google.com/github/{repo}/blob/main/notebooks/{name}" in badge.source
    assert '"google.colab" in sys.modules' in install.source and f"git+{url}" in install.source
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "get_profile()" in code
    assert "widgets" not in nb.metadata, "commit notebooks without widget state"
    text = nbformat.writes(nb)
    assert not any(p in text for p in ("/work/", "/home/", "/root/", "/tmp/")), "absolute path in the notebook"
    assert all(c.get("outputs") is not None for c in nb.cells if c.cell_type == "code")
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), "committed without outputs"


def test_student_copies_stub_every_exercise(tmp_path):
    from make_student_notebooks import main, stub_exercise

    src = "# EXERCISE: gae\ndef my_gae(r, v):\n    x = 1\n    return x\n# END EXERCISE"
    assert stub_exercise(src) == ('# EXERCISE: gae\ndef my_gae(r, v):\n'
                                  '    raise NotImplementedError("write your solution here")\n# END EXERCISE')
    main(["--out", str(tmp_path)])
    n_exercises = 0
    for name in NOTEBOOKS:
        nb = nbformat.read(os.path.join(tmp_path, name), as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code" and cell.source.startswith("# EXERCISE:"):
                n_exercises += 1
                assert "NotImplementedError" in cell.source and not cell.outputs
                assert len(cell.source.splitlines()) == 4
    assert n_exercises >= 3
