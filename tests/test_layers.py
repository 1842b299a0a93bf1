"""The package's layers: a module imports only from its own layer or the ones below it, never from above, and
never inside a function (a local import is how a circle hides). Read from the source with ``ast``, so an import
anywhere in a module counts, wherever it sits.

The layers, bottom first, are ``LAYERS`` below: imports only point down.
"""

import ast
import os
import subprocess
import sys

import pytest

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "rlcore")
LAYERS = [
    # 0. settings and infrastructure: nothing of rlcore below them
    {"config", "precision", "progress", "checkpoint", "formats", "plots", "annotate", "readings", "phases"},
    # 1. data, sampling and the training loop's machinery
    {"data", "rollout", "training", "gae"},
    # 2. the algorithms the course teaches, and the synthetic world
    {"sft", "reward", "ppo", "grpo", "reinforce", "dpo", "labeler", "cai", "world"},
    # 3. loading models and data from disk or the hub; judging and measuring
    {"models", "builders", "sources", "judges", "evaluate", "pretrain", "memory"},
    # 4. the course's data, its stages, and the exercise checkers that run them
    {"course_data", "stages", "exercises"},
    # 5. what a person runs: the pipeline, the command line, the notebooks' helpers
    {"pipeline", "cli", "course"},
]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}
# Imported inside the one function that needs them, on purpose: IPython and pandas are not dependencies of rlcore
# (a notebook front end has IPython; pandas reads parquet if it is there); accelerate (several processes only),
# datasets (a hub download, an AI-labelled Dataset) and ipywidgets (the annotator form) are slow to import and
# most runs never use them.
OPTIONAL = {"IPython", "pandas", "accelerate", "datasets", "ipywidgets"}


def modules() -> dict[str, str]:
    out = {}
    for folder, _, files in os.walk(ROOT):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(folder, f)
                rel = os.path.relpath(path, os.path.dirname(ROOT))[:-3].replace(os.sep, ".")
                out[rel.removesuffix(".__init__")] = path
    return {m: p for m, p in out.items() if m != "rlcore"}  # the package's __init__ imports nothing of its own


def top(module: str) -> str:
    """rlcore.world.humans -> world: the layer a module belongs to is its first name inside rlcore."""
    return module.split(".")[1] if module.count(".") else ""


def imports(path: str) -> list[tuple[str, bool, int]]:
    """(imported module, inside a function?, line) for every import statement of a file."""
    tree = ast.parse(open(path).read())
    found = []

    def visit(node, local):
        for child in ast.iter_child_nodes(node):
            inner = local or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                found.extend((a.name, local, child.lineno) for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0:
                names = [child.module] if child.module != "rlcore" else [f"rlcore.{a.name}" for a in child.names]
                found.extend((n, local, child.lineno) for n in names)
            visit(child, inner)

    visit(tree, False)
    return found


def upward_imports(sources: dict[str, str]) -> list[str]:
    bad = []
    for module, path in sources.items():
        here = LAYER[top(module)]
        for name, _, line in imports(path):
            if name.startswith("rlcore.") and LAYER[top(name)] > here:
                bad.append(f"{module}:{line} imports {name} (layer {LAYER[top(name)]} > {here})")
    return bad


def test_every_module_has_a_layer():
    assert {top(m) for m in modules() if m != "rlcore"} <= set(LAYER), "add the new module to LAYERS"


def test_imports_only_point_down():
    assert upward_imports(modules()) == []


def test_no_import_inside_a_function_except_optional_dependencies():
    local = [f"{m}:{line} imports {name}" for m, path in modules().items() for name, inside, line in imports(path)
             if inside and name.split(".")[0] not in OPTIONAL]
    assert local == []


def test_the_layer_check_catches_a_planted_upward_import(tmp_path):
    planted = tmp_path / "rollout.py"  # layer 1 reaching up to the stages (layer 4), inside a function
    planted.write_text("import torch\n\ndef sample():\n    from rlcore.stages import sft\n    return sft\n")
    assert upward_imports({"rlcore.rollout": str(planted)}) == [
        "rlcore.rollout:4 imports rlcore.stages (layer 4 > 1)"]
    assert imports(str(planted)) == [("torch", False, 1), ("rlcore.stages", True, 4)]


@pytest.mark.parametrize("module", ["rlcore.data", "rlcore.rollout", "rlcore.reward", "rlcore.evaluate"])
def test_a_lower_module_imports_alone_without_pulling_in_an_upper_one(module):
    """Importing a module loads no module of a higher layer (run in a fresh interpreter)."""
    code = f"import sys, {module}; print(' '.join(sorted(m for m in sys.modules if m.startswith('rlcore.'))))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    here = LAYER[top(module)]
    assert [m for m in loaded if LAYER[top(m)] > here] == []


def test_the_three_rl_trainers_sit_side_by_side():
    # PPO, GRPO and REINFORCE / RLOO extend one base (rlcore.training.RLTrainer) and read one batch of experience
    # (rlcore.rollout): none imports another, and all three import from the same layers below them
    sources = modules()
    trainers = {"rlcore.ppo", "rlcore.grpo", "rlcore.reinforce"}
    seen = {}
    for module in trainers:
        imported = {name for name, _, _ in imports(sources[module]) if name.startswith("rlcore.")}
        assert not imported & trainers, f"{module} imports {imported & trainers}"
        seen[module] = {LAYER[top(name)] for name in imported}
    assert len({frozenset(layers) for layers in seen.values()}) == 1, seen
