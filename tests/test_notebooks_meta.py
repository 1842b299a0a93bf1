"""Structure of the course notebooks: badges, install cells, profile cell, exercises, no widget state."""

import os
import re
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


def test_lessons_branch_on_their_data_only_where_the_line_says_what_only_the_world_shows():
    # a lesson runs on any CourseData (rlcore.course_data); `data.is_world` stays only where the lesson teaches the
    # difference (gold, the world's families, its humans) or checks a claim its text makes for the world track
    unexplained = []
    for source in sorted(os.listdir(os.path.join(NB_DIR, "src"))):
        with open(os.path.join(NB_DIR, "src", source)) as f:
            for n, line in enumerate(f, 1):
                if "is_world" in line and not line.partition("is_world")[2].partition("#")[2].strip():
                    unexplained.append(f"{source}:{n}: {line.strip()}")
    assert not unexplained, "say on the line why only the world can do this:\n" + "\n".join(unexplained)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_badge_install_and_profile_cells(name):
    from build_notebooks import install_cell

    nb = nbformat.read(os.path.join(NB_DIR, name), as_version=4)
    url = repo_url()
    repo = url.split("github.com/")[1]
    badge, install = nb.cells[1], nb.cells[2]
    assert f"colab.research.google.com/github/{repo}/blob/main/notebooks/student/{name}" in badge.source  # the student copy
    assert "Solutions:" in badge.source
    assert '"google.colab" in sys.modules' in install.source and f"git+{url}" in install.source
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "profile, data = start()" in code or "get_profile()" in code
    assert "widgets" not in nb.metadata, "commit notebooks without widget state"
    assert install.source == install_cell().source, "run scripts/build_notebooks.py --update-saved"
    pip = [line.split() for line in install.source.splitlines() if "pip install" in line]
    assert len(pip) == 1 and "only-if-needed" in pip[0], "keep Colab's torch"
    assert not {"-U", "--upgrade", "--force-reinstall"} & set(pip[0]), "never upgrade Colab's torch"
    widgets = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
               if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert not widgets, "widget outputs show frozen (a tqdm bar at 0%) on GitHub: build_notebooks.widgets_to_text"
    from build_notebooks import TQDM_TEXT

    bars = [line for c in nb.cells if c.cell_type == "code" for o in c.outputs
            for line in (o.get("text") or o.get("data", {}).get("text/plain") or "").splitlines() if TQDM_TEXT.search(line)]
    assert not bars, f"a progress bar frozen into the committed outputs: {bars[0]!r} (build_notebooks.without_bars)"
    assert all("execution" not in c.metadata for c in nb.cells), "no execution timestamps (rebuilds stay quiet)"
    assert [c.id for c in nb.cells] == [f"{name[:2]}-{i:03d}" for i in range(len(nb.cells))]
    text = nbformat.writes(nb)
    assert not any(p in text for p in ("/work/", "/home/", "/root/", "/tmp/")), "absolute path in the notebook"
    assert all(c.get("outputs") is not None for c in nb.cells if c.cell_type == "code")
    assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), "committed without outputs"


def test_student_copies_are_committed_fresh_and_stub_every_exercise(tmp_path):
    """notebooks/student/ is what the script makes from today's solutions (regenerated and diffed); in it every
    exercise keeps its imports, signature and docstring over a stub, and neither it nor its checker keeps an output."""
    from make_student_notebooks import main, stub_exercise

    src = ('# EXERCISE: gae\nimport math\n\n\ndef my_gae(r,\n           v):\n    """Doc."""\n    x = 1\n'
           '    return x\n# END EXERCISE')
    assert stub_exercise(src) == ('# EXERCISE: gae\nimport math\n\n\ndef my_gae(r,\n           v):\n    """Doc."""\n'
                                  '    raise NotImplementedError("write your solution here")\n# END EXERCISE')
    main(["--out", str(tmp_path)])
    committed = os.path.join(ROOT, "notebooks", "student")
    assert sorted(os.listdir(committed)) == sorted(os.listdir(tmp_path)) == sorted(NOTEBOOKS)
    n_exercises = 0
    for name in NOTEBOOKS:
        with open(os.path.join(tmp_path, name)) as fresh, open(os.path.join(committed, name)) as kept:
            assert fresh.read() == kept.read(), f"notebooks/student/{name} is stale: run scripts/make_student_notebooks.py"
        nb = nbformat.read(os.path.join(tmp_path, name), as_version=4)
        assert "Student copy" in nb.cells[1].source and f"notebooks/{name})" in nb.cells[1].source
        cells = [c for c in nb.cells if c.cell_type == "code"]
        for cell, after in zip(cells, cells[1:]):
            if cell.source.startswith("# EXERCISE:"):
                n_exercises += 1
                assert "NotImplementedError" in cell.source and not cell.outputs
                assert '"""' in cell.source, f"{name}: the stub lost its docstring"
                assert "check_" in after.source and not after.outputs, f"{name}: a checker kept its PASS"
    assert n_exercises >= 16


def test_the_course_site_lists_every_notebook_and_course_page():
    import yaml

    with open(os.path.join(ROOT, "course", "_toc.yml")) as f:
        toc = yaml.safe_load(f)
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    assert [f for f in files if f.startswith("notebooks/")] == [f"notebooks/{n[:-6]}" for n in NOTEBOOKS]
    pages = sorted(f"course/{p[:-3]}" for p in os.listdir(os.path.join(ROOT, "course")) if p.endswith(".md"))
    assert toc["root"] == "course/index", "the site opens on the students' front page, not the developers' README"
    assert sorted(f for f in files + [toc["root"]] if f.startswith("course/")) == pages
    for f in files + [toc["root"]]:
        assert any(os.path.exists(os.path.join(ROOT, f + ext)) for ext in (".md", ".ipynb")), f


def test_syllabus_has_a_row_per_notebook():
    with open(os.path.join(ROOT, "course", "syllabus.md")) as f:
        text = f.read()
    for name in NOTEBOOKS:
        assert f"(../notebooks/{name})" in text, f"syllabus does not link {name}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_training_numbers_are_not_compared_but_checker_verdicts_are(name):
    from build_notebooks import nbval_tag

    nb = nbformat.read(os.path.join(NB_DIR, name), as_version=4)
    checked = 0
    for cell in nb.cells[3:]:
        if cell.cell_type != "code":
            continue
        tags = cell.metadata.get("tags", [])
        want = nbval_tag(cell.source)
        assert [t for t in tags if t.startswith("nbval-")] == ([want] if want else []), cell.source[:80]
        if want == "nbval-check-output":
            checked += 1
            assert any("PASS" in o.get("text", "") for o in cell.outputs), "a checker cell must print PASS"
    assert checked == sum(c.source.count("# EXERCISE:") for c in nb.cells)


def test_nbval_tags_follow_the_cell_kind():
    from build_notebooks import nbval_tag

    assert nbval_tag("print(loss)") == "nbval-ignore-output"
    assert nbval_tag("# a comment\nassert x > 0") is None
    assert nbval_tag("assert check_dpo_loss(my_dpo_loss)") == "nbval-check-output"
    assert nbval_tag("x = 1\nassert x") == "nbval-ignore-output"
    assert nbval_tag("from rlcore.exercises import check_kl_k3\n\nassert check_kl_k3(f)") == "nbval-check-output"
    assert nbval_tag("import math") == "nbval-ignore-output"


def _widget_state(**models):
    """Widget state as nbclient records it: model id -> {"state": {"_model_name": ..., ...}}."""
    return {"widgets": {"application/vnd.jupyter.widget-state+json": {"state": {
        k: {"model_name": v["_model_name"], "state": v} for k, v in models.items()}}}}


def _widget_output(model_id, text):
    return nbformat.v4.new_output("display_data", data={
        "application/vnd.jupyter.widget-view+json": {"model_id": model_id, "version_major": 2, "version_minor": 0},
        "text/plain": text})


def test_progress_bars_are_dropped_and_other_widgets_become_notes():
    from build_notebooks import INTERACTIVE_NOTE, widgets_to_text

    f = "\u2007"  # tqdm pads its HTML with figure spaces and escapes "<"
    state = _widget_state(
        # a finished tqdm bar: HBox(HTML, FloatProgress, HTML)
        bar={"_model_name": "HBoxModel", "children": ["IPY_MODEL_l", "IPY_MODEL_p", "IPY_MODEL_r"], "layout": "IPY_MODEL_lay"},
        l={"_model_name": "HTMLModel", "value": f"SFT:{f}100%"},
        p={"_model_name": "FloatProgressModel", "value": 76.0, "max": 76.0, "bar_style": "success"},
        r={"_model_name": "HTMLModel", "value": f"{f}76/76{f}[00:05&lt;00:00,{f}14.10it/s]"},
        lay={"_model_name": "LayoutModel", "visibility": None},
        # a bar that hid itself (leave=False)
        gone={"_model_name": "HBoxModel", "children": ["IPY_MODEL_l", "IPY_MODEL_p", "IPY_MODEL_r"], "layout": "IPY_MODEL_hid"},
        hid={"_model_name": "LayoutModel", "visibility": "hidden"},
        # interact(): a VBox of a slider and an Output widget holding the function's first output
        box={"_model_name": "VBoxModel", "children": ["IPY_MODEL_s", "IPY_MODEL_o"]},
        s={"_model_name": "FloatSliderModel", "value": 1.0},
        o={"_model_name": "OutputModel", "outputs": [{"output_type": "stream", "name": "stdout", "text": "x is 1\n"}]},
    )
    cell = nbformat.v4.new_code_cell("...")
    cell.outputs = [_widget_output("bar", "SFT:   0%|          | 0/76 [00:00<?, ?it/s]"),
                    _widget_output("gone", "  0%|          | 0/5 [00:00<?, ?it/s]"),
                    nbformat.v4.new_output("stream", name="stdout", text="loss 1.2\n"),
                    _widget_output("box", "interactive(children=(FloatSlider(value=1.0), Output()))")]
    nb = nbformat.v4.new_notebook(cells=[cell], metadata=state)
    assert widgets_to_text(nb) == 3
    assert "widgets" not in nb.metadata
    texts = [o.get("data", {}).get("text/plain", o.get("text")) for o in cell.outputs]
    assert texts == ["loss 1.2\n", INTERACTIVE_NOTE, "x is 1\n"]  # no bar, finished or hidden
    nbformat.validate(nb)


def test_saved_widgets_without_state_lose_the_frozen_bar_and_keep_a_note():
    from build_notebooks import INTERACTIVE_NOTE, widgets_to_text

    cell = nbformat.v4.new_code_cell("...")
    cell.outputs = [_widget_output("a", "Loading weights:   0%|          | 0/56 [00:00<?, ?it/s]"),
                    _widget_output("b", "0it [00:00, ?it/s]"),
                    _widget_output("c", "interactive(children=(Text(value='How do I bake bread?'),))")]
    nb = nbformat.v4.new_notebook(cells=[cell])
    assert widgets_to_text(nb) == 3
    assert [o["data"]["text/plain"] for o in cell.outputs] == [INTERACTIVE_NOTE]


def test_bars_printed_as_text_are_dropped_and_the_rest_kept():
    from build_notebooks import widgets_to_text

    cell = nbformat.v4.new_code_cell("...")
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text=(
                        "PPO:   0%|          | 0/40 [00:00<?, ?it/s]\rPPO: 100%|██████████| 40/40 [01:36<00:00,  2.42s/it]"
                        "\nUserWarning: the tokenizer has no chat template\n")),
                    nbformat.v4.new_output("display_data", data={"text/plain": "Loading weights: 100%|██████████| "
                                                                               "56/56 [00:00<00:00, 3665.26it/s]"}),
                    nbformat.v4.new_output("stream", name="stderr", text="DPO:  50%|█████     | 1/2 [00:01<00:01]\n"),
                    nbformat.v4.new_output("stream", name="stdout", text="100 steps [00:05, done]? no: stdout is kept\n")]
    nb = nbformat.v4.new_notebook(cells=[cell])
    assert widgets_to_text(nb) == 0
    assert [o.get("text") for o in cell.outputs] == ["UserWarning: the tokenizer has no chat template\n",
                                                     "100 steps [00:05, done]? no: stdout is kept\n"]


def _cells(path):
    with open(path) as f:
        return re.split(r"^# %%.*$", f.read(), flags=re.M)


def test_every_lesson_plot_labels_both_axes():
    """Each lesson cell that makes axes labels an x and a y axis (or turns the axes off, for a diagram); the
    plotting calls are read from the lessons' sources (the committed PNGs keep no labels to read)."""
    makes_axes = re.compile(r"plt\.subplots|plt\.figure\(|add_subplot")
    unlabelled = []
    for name in NOTEBOOKS:
        for cell in _cells(os.path.join(ROOT, "notebooks", "src", name.replace(".ipynb", ".py"))):
            if not makes_axes.search(cell) or 'axis("off")' in cell:
                continue
            for axis in "xy":
                if not re.search(rf"set_{axis}label|{axis}label=|sup{axis}label", cell):
                    unlabelled.append(f"{name}: no {axis} label in the cell starting {cell.strip().splitlines()[0]!r}")
    assert not unlabelled, "\n".join(unlabelled)


def test_the_course_plots_label_both_axes_of_every_panel():
    """rlcore.plots' figures, drawn on made-up numbers: every panel has an x and a y label."""
    import matplotlib

    matplotlib.use("Agg")
    from rlcore import plots

    history = [{"score": 0.1 * i, "kl": 0.2 * i, "entropy": 1.0, "response_length": 10 + i} for i in range(5)]
    rate = {"win_rate": 0.6, "ci95": (0.5, 0.7)}
    figures = [plots.ppo_curves({"RLHF": history, "RLAIF": history}),
               plots.win_rates({f"policy {i} vs SFT": rate for i in range(6)}),
               plots.harmless_rates({"SFT": 0.5, "RLHF": 0.9})]
    fig, ax = matplotlib.pyplot.subplots()
    plots.noisy_curve(ax, [1.0, 0.5, 0.8, 0.2], window=2, label="loss")
    assert len(ax.lines) == 2 and ax.lines[1].get_ydata()[1] == 0.75  # the running mean of 1.0 and 0.5
    for figure in figures:
        for panel in figure.axes:
            assert panel.get_xlabel() and panel.get_ylabel(), (figure, panel.get_title())
    labels = figures[1].axes[0].get_xticklabels()  # six long bar names must not run into each other
    assert all(label.get_rotation() > 0 for label in labels)
