#!/usr/bin/env python
"""Make the student copies of the notebooks (``notebooks/student/``, committed): every exercise's solution
becomes a stub.

    python scripts/make_student_notebooks.py [--out notebooks/student]

In a solution notebook an exercise is a code cell that starts with ``# EXERCISE: name`` and ends with
``# END EXERCISE``. The student copy keeps the cell's imports, each function's signature and docstring, replaces
the body with ``raise NotImplementedError``, and clears the outputs of the exercise and of its checker cell (the
next cell that calls ``check_*``), so no PASS is left standing; that checker cell falls back to rlcore's answer
until the student's passes (``fall_back_until_it_passes``), so "Run All" reaches the end of the lesson. The badge cell says it is the student copy and
links the solutions. ``tests/test_notebooks_meta.py`` regenerates the copies and diffs them with the committed ones.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import sys

import nbformat

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from build_notebooks import badge_cell  # noqa: E402

STUB = '    raise NotImplementedError("write your solution here")'


def stub_exercise(source: str) -> str:
    """The exercise cell with each function's body replaced by a stub; imports and docstrings stay."""
    lines = source.splitlines()
    if not lines or not lines[0].startswith("# EXERCISE:"):
        return source
    tree = ast.parse(source)
    out, kept_until = [], 0  # lines before each function (imports, comments) are kept as they are
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        body_start = node.body[0].lineno - 1  # 0-based line of the first statement of the body
        if ast.get_docstring(node) is not None:  # keep the docstring
            body_start = node.body[0].end_lineno
        out += lines[kept_until:body_start]
        out.append(STUB)
        kept_until = node.end_lineno
    out += [line for line in lines[kept_until:] if line.strip()]  # "# END EXERCISE"
    return "\n".join(out)


CHECKED = re.compile(r"^assert (check_\w+)\((\w+)\)$", re.M)
IMPORT = re.compile(r"^from rlcore\.exercises import (.+)$", re.M)


def fall_back_until_it_passes(source: str) -> str:
    """The checker cell of a student copy: ``assert check_x(my_x)`` becomes ``my_x = yours_or_rlcores(my_x,
    check_x)``, which prints FAIL and the case without stopping the notebook, and lets the cells after it run on
    rlcore's own answer until the student's passes ("Run All" reaches the end). The solutions keep the assert."""
    if not CHECKED.search(source):
        return source
    source = CHECKED.sub(r"\2 = yours_or_rlcores(\2, \1)  # yours once it passes, rlcore's until then", source)
    return IMPORT.sub(lambda m: f"from rlcore.exercises import {m.group(1)}, yours_or_rlcores", source, count=1)


def student_copy(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(nb)
    clear_next_checker = False
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "rlcore-badge" in cell.metadata.get("tags", []):
            cell.source = badge_cell(name[:-len(".ipynb")], student=True).source
        if cell.cell_type != "code":
            continue
        if cell.source.startswith("# EXERCISE:"):
            cell.source = stub_exercise(cell.source)
            cell.outputs, cell.execution_count = [], None
            clear_next_checker = True
        elif clear_next_checker and "check_" in cell.source:
            cell.source = fall_back_until_it_passes(cell.source)
            cell.outputs, cell.execution_count = [], None
            clear_next_checker = False
    return nb


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join(ROOT, "notebooks", "student"))
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    folder = os.path.join(ROOT, "notebooks")
    for name in sorted(f for f in os.listdir(folder) if f.endswith(".ipynb")):
        nb = student_copy(nbformat.read(os.path.join(folder, name), as_version=4), name)
        nbformat.write(nb, os.path.join(args.out, name))
        print(f"{name}: {sum(c.source.startswith('# EXERCISE:') for c in nb.cells if c.cell_type == 'code')} exercise(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
