#!/usr/bin/env python
"""Build the course notebooks from their sources, add the Colab badge and install cell, execute them.

    python scripts/build_notebooks.py                 # build + execute all (tiny profile), write notebooks/*.ipynb
    python scripts/build_notebooks.py 04_gae_and_ppo  # just one
    python scripts/build_notebooks.py --no-execute    # structure only
    python scripts/build_notebooks.py --update-saved  # saved notebooks: widgets -> text, fresh install cell

Sources live in ``notebooks/src/NN_topic.py`` in the "percent" format (``# %%`` starts a code cell,
``# %% [markdown]`` a markdown cell). The badge and the install cell come from ONE setting, the
repository URL in pyproject's ``[project.urls]``. Executed notebooks are saved without widgets and without progress bars: GitHub
and the course site cannot draw a widget (a tqdm bar would show frozen at its first draw, 0%), and a finished bar
says nothing to a reader, so bars are dropped and every other widget output becomes text (``widgets_to_text``);
bars stay live for a person running the notebook.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
import tomllib

import nbformat

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "notebooks", "src")
OUT = os.path.join(ROOT, "notebooks")


def repository_url() -> str:
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)["project"]["urls"]["Repository"].rstrip("/")


def badge_cell(name: str, student: bool = False) -> nbformat.NotebookNode:
    """The Colab badge (it opens the student copy, in either edition) and a line that says which edition this is,
    with the other one a link away."""
    repo = repository_url().split("github.com/")[1]
    colab = f"https://colab.research.google.com/github/{repo}/blob/main/notebooks/student/{name}.ipynb"
    if student:
        other = f"https://github.com/{repo}/blob/main/notebooks/{name}.ipynb"
        line = (f"*Student copy: every exercise is yours to write (a stub, with hints folded under it). Stuck? "
                f"[The solutions]({other}) are one link away: the same notebook with every exercise solved and run.*")
    else:
        line = ("*Solutions: every exercise here is solved and its checker run. The Colab badge opens the student "
                "copy, where the exercises are yours to write.*")
    return nbformat.v4.new_markdown_cell(
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab})\n\n{line}",
        metadata={"tags": ["rlcore-badge"]})


def install_cell() -> nbformat.NotebookNode:
    source = ("# On Colab, install the course package (a GPU runtime picks the GPT-Neo-125M profile).\n"
              "# Colab's own torch stays: rlcore asks for torch >= 2.2, and pip upgrades a dependency only\n"
              "# if the installed version falls short (no -U here: it would replace Colab's CUDA torch).\n"
              "import sys\n"
              "if \"google.colab\" in sys.modules:\n"
              f"    !pip install -q --upgrade-strategy only-if-needed \"rlcore @ git+{repository_url()}\"")
    return nbformat.v4.new_code_cell(source, metadata={"tags": ["rlcore-install"]})


def parse_percent(text: str) -> list[nbformat.NotebookNode]:
    cells, kind, lines = [], None, []

    def flush():
        if kind is None:
            return
        body = "\n".join(lines).strip("\n")
        if kind == "markdown":
            body = "\n".join(re.sub(r"^# ?", "", line) for line in body.splitlines())
            cells.append(nbformat.v4.new_markdown_cell(body))
        elif body:
            cells.append(nbformat.v4.new_code_cell(body))

    for line in text.splitlines():
        if line.startswith("# %%"):
            flush()
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        else:
            lines.append(line)
    flush()
    return cells


def nbval_tag(source: str) -> str | None:
    """The nbval tag of a code cell. Cells that print training numbers vary with the machine, so their
    output is not compared ("nbval-ignore-output"); what matters is checked by assertion cells, and an
    exercise checker's PASS line is compared ("nbval-check-output")."""
    code = [line.strip() for line in source.splitlines() if line.strip() and not line.strip().startswith("#")]
    if any(line.startswith("assert") for line in code) and all(
            line.startswith(("assert", "from ", "import ")) for line in code):
        return "nbval-check-output" if "check_" in source else None
    return "nbval-ignore-output"


def tag_cells(nb: nbformat.NotebookNode) -> None:
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type != "code" or "rlcore-install" in tags:
            continue
        tags = [t for t in tags if not t.startswith("nbval-")]
        tag = nbval_tag(cell.source)
        cell.metadata["tags"] = tags + ([tag] if tag else [])
        if not cell.metadata["tags"]:
            del cell.metadata["tags"]


def build(name: str) -> nbformat.NotebookNode:
    with open(os.path.join(SRC, f"{name}.py")) as f:
        cells = parse_percent(f.read())
    # title first, then badge and install cell
    nb = nbformat.v4.new_notebook()
    nb.cells = [cells[0], badge_cell(name), install_cell()] + cells[1:]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    tag_cells(nb)
    return nb


def stable_metadata(nb: nbformat.NotebookNode, name: str) -> None:
    """Drop execution timestamps and give cells ids derived from the notebook and position, so a
    rebuild that computes the same outputs leaves the file unchanged (the times in tqdm's bars still vary)."""
    for i, cell in enumerate(nb.cells):
        cell.id = f"{name[:2]}-{i:03d}"
        cell.metadata.pop("execution", None)


# --------------------------------------------------------------------------- widgets -> text
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
INTERACTIVE_NOTE = "(An interactive widget: run the notebook in Jupyter or Colab to use it.)"
# tqdm's text always has the elapsed time in brackets: "SFT:   0%|          | 0/76 [00:00<?, ?it/s]"
TQDM_TEXT = re.compile(r"\[\d+:\d\d[<,]")


def text_output(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("display_data", data={"text/plain": text})


def widget_as_text(output: nbformat.NotebookNode, state: dict) -> list[nbformat.NotebookNode]:
    """The outputs that stand for one widget output on a page that cannot run widgets.

    ``state``: the widget models nbclient recorded (model id -> {"state": {...}}), empty for a saved
    notebook. A tqdm bar (an HBox of HTML, FloatProgress, HTML) becomes its final text, the one a terminal
    shows, e.g. "SFT: 100%|██████████| 76/76 [00:05<00:00, 14.1it/s]"; a bar that hid itself (leave=False)
    is dropped. Another widget (``interact``) becomes a note plus what its Output widgets captured, i.e.
    the function's output at the default values. Without recorded state only the widget's first draw is
    known (a bar at 0%): a bar is dropped, another widget becomes the note.
    """
    def model(ref: str) -> dict:
        return state.get(ref.removeprefix("IPY_MODEL_"), {}).get("state", {})

    model_id = output["data"][WIDGET_VIEW]["model_id"]
    box = model(model_id)
    if not box:
        return [] if TQDM_TEXT.search(output["data"].get("text/plain", "")) else [text_output(INTERACTIVE_NOTE)]
    children = [model(c) for c in box.get("children", [])]
    if [c.get("_model_name") for c in children] == ["HTMLModel", "FloatProgressModel", "HTMLModel"]:
        return []  # a progress bar: live for a person watching, nothing on a page that cannot run it
    captured, todo = [], [model_id]
    while todo:  # the widget and its children, depth first, in display order
        m = model(todo.pop(0))
        todo[:0] = m.get("children", [])
        if m.get("_model_name") == "OutputModel":
            captured += [nbformat.from_dict(o) for o in m.get("outputs", [])]
    return [text_output(INTERACTIVE_NOTE)] + captured


def widgets_to_text(nb: nbformat.NotebookNode) -> int:
    """Replace every widget output by text (``widget_as_text``) and drop the widget state; returns how many."""
    state = nb.metadata.pop("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    replaced = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.outputs:
            if WIDGET_VIEW in output.get("data", {}):
                outputs += widget_as_text(output, state)
                replaced += 1
            else:
                outputs.append(output)
        cell.outputs = [o for o in (without_bars(o) for o in outputs) if o is not None]
    return replaced


def without_bars(output: nbformat.NotebookNode) -> nbformat.NotebookNode | None:
    """The output without progress bars (tqdm's text, e.g. "Loading weights: 100%|...| 56/56 [00:00<00:00, ...]"):
    a bar printed as text (stderr, or a widget saved as text) is dropped; None when nothing else is left."""
    if output.get("output_type") == "stream" and output.get("name") == "stderr":
        lines = [line for line in re.split(r"(?<=[\r\n])", output["text"]) if not TQDM_TEXT.search(line)]
        output["text"] = "".join(lines)
        return output if output["text"].strip() else None
    if output.get("output_type") == "display_data" and set(output.get("data", {})) == {"text/plain"}:
        return None if TQDM_TEXT.search(output["data"]["text/plain"]) else output
    return output


def execute(nb: nbformat.NotebookNode, timeout: int = 900) -> float:
    from nbclient import NotebookClient

    start = time.time()
    env_profile = os.environ.setdefault("RLCORE_PROFILE", "tiny")
    assert env_profile == "tiny", "notebooks are committed with the outputs of the tiny profile"
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": OUT}},
                   store_widget_state=True).execute()
    widgets_to_text(nb)  # finished text bars instead of widgets; no widget state in the repository
    return time.time() - start


def update_saved(name: str) -> int:
    """Bring a saved notebook up to date without executing it: its badge and install cell are built
    afresh and its widget outputs become text. Returns the number of widget outputs replaced."""
    path = os.path.join(OUT, f"{name}.ipynb")
    nb = nbformat.read(path, as_version=4)
    assert "rlcore-badge" in nb.cells[1].metadata.get("tags", []), f"{name}: cell 1 is not the badge"
    assert "rlcore-install" in nb.cells[2].metadata.get("tags", []), f"{name}: cell 2 is not the install cell"
    install = install_cell()
    install.execution_count, install.outputs = nb.cells[2].execution_count, nb.cells[2].outputs
    nb.cells[1:3] = [badge_cell(name), install]
    replaced = widgets_to_text(nb)
    stable_metadata(nb, name)
    nbformat.write(nb, path)
    return replaced


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("names", nargs="*")
    parser.add_argument("--no-execute", action="store_true")
    parser.add_argument("--update-saved", action="store_true",
                        help="do not build or execute: rewrite the saved notebooks with text for widgets "
                             "and a fresh badge and install cell")
    args = parser.parse_args(argv)
    names = args.names or sorted(f[:-3] for f in os.listdir(SRC) if f.endswith(".py"))
    if args.update_saved:
        for name in names:
            print(f"{name}: {update_saved(name)} widget outputs replaced by text")
        return 0
    for name in names:
        nb = build(name)
        seconds = 0.0 if args.no_execute else execute(nb)
        stable_metadata(nb, name)
        nbformat.write(nb, os.path.join(OUT, f"{name}.ipynb"))
        print(f"{name}: {seconds:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
