#!/usr/bin/env python
"""Make student copies of the notebooks: every exercise's solution becomes a stub.

    python scripts/make_student_notebooks.py [--out notebooks/student]

In a solution notebook an exercise is a code cell that starts with ``# EXERCISE: name`` and ends
with ``# END EXERCISE``. The student copy keeps the comment and the ``def`` line, replaces the body
with ``raise NotImplementedError``, and drops the cell's outputs. The checker cell after it stays,
so students see PASS/FAIL as soon as they run it.
"""

from __future__ import annotations

import argparse
import os
import sys

import nbformat

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def stub_exercise(source: str) -> str:
    lines = source.splitlines()
    if not lines or not lines[0].startswith("# EXERCISE:"):
        return source
    out = [lines[0]]
    for line in lines[1:]:
        if line.startswith("def "):
            out.append(line)
            out.append('    raise NotImplementedError("write your solution here")')
            break
    out.append("# END EXERCISE")
    return "\n".join(out)


def student_copy(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.startswith("# EXERCISE:"):
            cell.source = stub_exercise(cell.source)
            cell.outputs, cell.execution_count = [], None
    return nb


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join(ROOT, "notebooks", "student"))
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    folder = os.path.join(ROOT, "notebooks")
    for name in sorted(f for f in os.listdir(folder) if f.endswith(".ipynb")):
        nb = student_copy(nbformat.read(os.path.join(folder, name), as_version=4))
        nbformat.write(nb, os.path.join(args.out, name))
        print(f"{name}: {sum(c.source.startswith('# EXERCISE:') for c in nb.cells if c.cell_type == 'code')} exercise(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
