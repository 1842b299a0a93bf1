"""Progress bars that suit where the code runs.

In a notebook ``tqdm.auto`` draws a widget, and in a terminal a text bar redrawn in place: both as tqdm
does by default. Anywhere else — a CI log, ``rlcore pipeline > log`` — stderr is a file, where every
redraw stays in the log as one more line; there the bar is drawn at the start, then at most once every
``LOG_INTERVAL_S`` seconds, and once at the end.

Every long piece of work shows a bar (training, sampling, labelling, judging), so that nobody watches a silent
run for more than about 10 seconds. On a screen a bar appears only once its work has lasted ``DELAY_S`` seconds (a
quick call stays quiet); in a log it is written when it starts and when it ends, so that many short pieces of work
still say what the run is doing. A bar inside another bar's work is not drawn (the outer one already moves).
"""

from __future__ import annotations

import os
import sys

from tqdm.auto import tqdm
from tqdm.notebook import tqdm as notebook_tqdm

LOG_INTERVAL_S = 5.0  # seconds between two redraws of a bar written to a file
DELAY_S = 2.0  # on a screen, a bar is drawn once its work has lasted this long (in a log, at once)


def writes_to_log(file=None) -> bool:
    """True if a bar would go to a file or pipe rather than a terminal or a notebook widget."""
    if issubclass(tqdm, notebook_tqdm):  # tqdm.auto chose the widget: a notebook kernel
        return False
    file = file if file is not None else sys.stderr
    isatty = getattr(file, "isatty", None)
    return not (isatty and isatty())


def progress_bar(iterable=None, **kwargs) -> tqdm:
    """``tqdm.auto.tqdm(iterable, **kwargs)``, redrawn every ``LOG_INTERVAL_S`` seconds in a log.

    An explicit ``mininterval`` / ``maxinterval`` argument, or tqdm's own ``TQDM_MININTERVAL`` /
    ``TQDM_MAXINTERVAL`` environment variables, still win.
    """
    if writes_to_log(kwargs.get("file")):
        for name in ("mininterval", "maxinterval"):  # maxinterval too: tqdm's monitor would redraw every 10 s
            if f"TQDM_{name.upper()}" not in os.environ:
                kwargs.setdefault(name, LOG_INTERVAL_S)
    else:
        kwargs.setdefault("delay", DELAY_S)
    if any(not bar.disable for bar in list(getattr(tqdm, "_instances", ()))):  # inside another bar's work
        kwargs["disable"] = True
    return tqdm(iterable, **kwargs)
