"""rlcore.progress: a bar written to a log is redrawn a few times, not once per item."""

import io
import itertools

import pytest
import tqdm.std

from rlcore.progress import LOG_INTERVAL_S, progress_bar

N = 1000


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def slow_clock(monkeypatch):
    """Each item of a loop takes 0.05 s on tqdm's clock (so the loop "lasts" about 50 s), without waiting."""
    ticks = itertools.count()
    monkeypatch.setattr(tqdm.std, "time", lambda: 0.05 * next(ticks))
    monkeypatch.setattr(tqdm.std.tqdm, "monitor_interval", 0)  # no monitor thread on the real clock
    for name in ("TQDM_MININTERVAL", "TQDM_MAXINTERVAL"):
        monkeypatch.delenv(name, raising=False)


def redraws(stream: io.StringIO) -> int:
    """How many times the bar was drawn: each draw starts with a carriage return."""
    return stream.getvalue().count("\r")


def test_a_bar_in_a_log_is_drawn_a_few_times_not_once_per_item(slow_clock):
    log = io.StringIO()
    assert sum(1 for _ in progress_bar(range(N), file=log, desc="train")) == N
    assert redraws(log) <= 2 + (N * 0.05) // LOG_INTERVAL_S + 1  # start, every LOG_INTERVAL_S, end
    assert f"{N}/{N}" in log.getvalue().split("\r")[-1], "the last line shows the finished bar"


def test_a_terminal_keeps_tqdms_live_bar(slow_clock):
    terminal = Terminal()
    for _ in progress_bar(range(N), file=terminal):
        pass
    assert redraws(terminal) > N // 10  # tqdm's default: about every 0.1 s, so here every item or two


def test_an_explicit_interval_wins():
    bar = progress_bar(range(3), file=io.StringIO(), mininterval=0.5)
    assert bar.mininterval == 0.5
    bar.close()
