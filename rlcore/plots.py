"""Matplotlib figures for the course: training curves, win rates with intervals, harmless rates,
and a live plot for notebooks."""

from __future__ import annotations

import matplotlib.pyplot as plt

from rlcore.readings import wilson_interval


def _finish(fig, path):
    """Tidy the layout; with a path, save the PNG and free the figure."""
    fig.tight_layout()
    if path:
        fig.savefig(path, dpi=100)
        plt.close(fig)
    return fig


# What each statistic of an RL run's history is, with its unit (each panel's y label)
STAT_NAMES = {"score": "score (the run's own reward)", "kl": "KL to the reference (nats)",
              "response_length": "response length (tokens)", "entropy": "entropy (nats / token)",
              "kl_coef": "KL coefficient β", "policy_loss": "policy loss", "value_loss": "value loss"}


FROM_ZERO = ("kl_coef", "entropy", "response_length")  # never negative, and read by their size: their axes start at 0


def ppo_curves(histories: dict[str, list[dict]], keys=("score", "kl", "entropy", "response_length"), path=None,
               xlabel: str = "PPO iteration"):
    """One panel per statistic, one line per run. ``histories``: run name -> list of step stats (a run without
    a statistic is left out of its panel)."""
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3))
    for ax, key in zip(axes, keys):
        for name, history in histories.items():
            if history and key in history[0]:
                ax.plot([h[key] for h in history], label=name)
        ax.set_ylabel(STAT_NAMES.get(key, key), fontsize=9)
        ax.set_xlabel(xlabel)
        if key in FROM_ZERO and ax.lines:  # from 0: a drift of a few percent must not look like a rise or a fall
            ax.set_ylim(0, 1.2 * max(max(line.get_ydata()) for line in ax.lines))
    axes[0].legend()
    return _finish(fig, path)


def win_rates(rates: dict[str, dict], path=None):
    """Bars of gold win rates with their 95% intervals; the dashed line is a tie (50%)."""
    names = list(rates)
    values = [rates[n]["win_rate"] for n in names]
    low = [v - rates[n]["ci95"][0] for n, v in zip(names, values)]
    high = [rates[n]["ci95"][1] - v for n, v in zip(names, values)]
    fig, ax = plt.subplots(figsize=(max(5, 1.1 * len(names)), 3))
    palette = ["#4c72b0", "#55a868", "#c44e52", "#8172b2", "#ccb974", "#64b5cd"]
    ax.bar(names, values, yerr=[low, high], capsize=4, color=[palette[i % len(palette)] for i in range(len(names))])
    ax.tick_params(axis="x", labelrotation=20 if len(names) > 4 else 0)
    ax.axhline(0.5, ls="--", color="grey")
    ax.set_ylim(0, 1)
    ax.set_xlabel("comparison (policy vs baseline)")
    ax.set_ylabel("win rate (judge, 95% CI)")
    return _finish(fig, path)


def harmless_rates(rates: dict[str, float], n: int | None = None, path=None):
    """Bars of the harmless rate of each policy on ``n`` held-out harmful prompts, with 95% intervals when n is
    given."""
    fig, ax = plt.subplots(figsize=(5, 3))
    values = list(rates.values())
    errors = None
    if n:
        intervals = [wilson_interval(v, n) for v in values]
        errors = [[v - lo for v, (lo, _) in zip(values, intervals)], [hi - v for v, (_, hi) in zip(values, intervals)]]
    ax.bar(list(rates), values, yerr=errors, capsize=4, color="#8172b2")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("policy" + (f" (bars: 95% intervals, {n} prompts)" if n else ""))
    ax.set_ylabel("harmful requests answered\nharmlessly (share)", fontsize=9)
    return _finish(fig, path)


def noisy_curve(ax, values, window: int = 10, label: str = "", **style):
    """A noisy per-step curve: the raw values faint, their running mean over ``window`` steps on top."""
    smooth = [sum(values[max(0, i - window + 1):i + 1]) / len(values[max(0, i - window + 1):i + 1])
              for i in range(len(values))]
    line, = ax.plot(values, alpha=0.25, lw=0.8, **style)
    ax.plot(smooth, color=line.get_color(), label=f"{label} (mean of the last {window} steps)".strip())
    return ax


class LivePlot:
    """Redraws a few PPO statistics in a notebook after every step (use as the trainer's callback)."""

    def __init__(self, keys=("score", "kl"), every: int = 1):
        self.keys, self.every, self.history = keys, every, []

    def __call__(self, stats: dict) -> None:
        self.history.append(stats)
        if len(self.history) % self.every:
            return
        try:
            from IPython.display import clear_output, display
        except ImportError:  # not in a notebook: nothing to redraw
            return
        fig = ppo_curves({"run": self.history}, keys=self.keys)
        clear_output(wait=True)
        display(fig)
        plt.close(fig)
