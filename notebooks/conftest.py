"""nbval settings for the course notebooks (infrastructure, not part of any lesson).

nbval waits 5 s for each output message after a cell finishes; a cell that streams hundreds of progress-bar
updates on a busy 2-core machine can exceed that and fail although it ran. Wait up to a minute instead.
"""

OUTPUT_TIMEOUT_S = 60


def pytest_collection_modifyitems(items):
    for item in items:
        if hasattr(item, "output_timeout"):  # nbval's notebook cells
            item.output_timeout = OUTPUT_TIMEOUT_S

# The student copies (notebooks/student/) are stubs that raise NotImplementedError until a student writes them:
# tests/test_notebooks_meta.py keeps them fresh, tests/test_gpu_check.py runs them top to bottom unfilled (each
# checker falls back to rlcore's answer), and nbval runs the solutions.
collect_ignore_glob = ["student/*"]
