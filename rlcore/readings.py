"""Readings: the sentence under a result, computed from the result, so that it stays true after a rebuild, on
another CPU, on another seed and on the GPU track.

A verdict word is data. The rules are stated once, here:

- a **win rate** (ties counting one half) *beats* when its whole 95% interval lies above 50%, *loses to* when the
  whole interval lies below, and *ties* when the interval holds 50%;
- a **change** (a score, a KL, a length) *rises* when it grows by more than the tolerance the lesson states beside
  it, *falls* when it shrinks by more, and *holds* otherwise;
- a **difference between single runs** lies *within the seed spread* when it is no larger than twice the standard
  deviation the same figure showed across seeds (:func:`seed_spread`, the published table of the pipeline run on
  several seeds), and *outside* it otherwise.

A lesson prints the sentence under its result (:func:`say`) and, where its own prose makes a claim for one track,
asserts exactly that claim with the same function (``assert versus(w["ci95"]) == "beats"``), so a rebuild that
changes the result fails the build instead of leaving a false sentence behind.
"""

from __future__ import annotations

import json
import math
import re
import os
import statistics

TIE = 0.5  # the win rate of a coin flip: the line a 95% interval must clear to "beat" or "lose to"
SPREAD_SDS = 2.0  # a single run's difference larger than 2 seed-to-seed standard deviations is "outside the spread"
SEED_TABLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets", "seeds")


def versus(ci95, line: float = TIE) -> str:
    """"beats", "ties" or "loses to": the verdict of a win rate from its 95% interval (lo, hi) against 50% (or of a
    difference against 0, with ``line=0``)."""
    lo, hi = ci95
    if lo > line:
        return "beats"
    if hi < line:
        return "loses to"
    return "ties"


def trend(before: float, after: float, tolerance: float) -> str:
    """"rises", "falls" or "holds": how ``after`` compares with ``before``, a change within +-tolerance holding."""
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    change = after - before
    if change > tolerance:
        return "rises"
    if change < -tolerance:
        return "falls"
    return "holds"


def within_spread(difference: float, sd: float | None) -> bool | None:
    """Is a single run's ``difference`` within the seed spread (at most 2 sd)? None when no spread was measured."""
    if sd is None or not math.isfinite(sd):
        return None
    return abs(difference) <= SPREAD_SDS * sd


def percent(x: float) -> str:
    return f"{100 * x:.0f}%"


def with_interval(result: dict) -> str:
    """A win rate and its 95% interval, as a report prints it: "64% [59%, 70%]"."""
    low, high = result["ci95"]
    return f"{percent(result['win_rate'])} [{percent(low)}, {percent(high)}]"


def signed_points(x: float) -> str:
    """A difference of shares in whole points: "+6 points", "+1 point", "-0 points"."""
    shown = f"{100 * x:+.0f}"
    return f"{shown} point" if shown in ("+1", "-1") else f"{shown} points"


percent_ = percent  # (change_sentence's argument of the same name shadows it)


def wilson_interval(share: float, n: int) -> tuple[float, float]:
    """The 95% Wilson score interval of a share measured on n items: unlike the normal approximation it keeps a
    width at 0% and 100% (150 of 150 is not a certainty)."""
    if not n:
        return 0.0, 1.0
    z2 = 1.96 ** 2
    centre = (share + z2 / (2 * n)) / (1 + z2 / n)
    half = 1.96 * math.sqrt(share * (1 - share) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def share_interval(share: float, n: int) -> tuple[float, float]:
    """The 95% interval of a share measured on n items (normal approximation, clipped to [0, 1]), the interval
    :func:`rlcore.evaluate.win_rate` gives a win rate."""
    half = 1.96 * math.sqrt(max(share * (1 - share), 0.0) / n) if n else 1.0
    return max(0.0, share - half), min(1.0, share + half)


def difference_interval(a: float, n_a: int, b: float, n_b: int) -> tuple[float, float]:
    """The 95% interval of share a - share b, measured on n_a and n_b items (normal approximation, the two samples
    taken as independent: on the same items, as two labelers on one set of pairs, it is wider than it need be)."""
    half = 1.96 * math.sqrt(a * (1 - a) / n_a + b * (1 - b) / n_b) if n_a and n_b else 1.0
    return a - b - half, a - b + half


def compare_sentence(a: str, b: str, share_a: float, share_b: float, n_a: int, n_b: int | None = None,
                     what: str = "accuracy", words: tuple[str, str, str] = ("beats", "ties", "loses to")) -> str:
    """"**CoT ties the plain labeler** on accuracy: 78% against 77% (100 and 100 pairs; difference +1 points, 95%
    interval -11 to +13 points: the interval holds 0)"; the verdict is :func:`versus` of the difference against 0,
    said with ``words`` (for a share where higher is not better: ``("is higher than", "ties", "is lower than")``)."""
    n_b = n_a if n_b is None else n_b
    lo, hi = difference_interval(share_a, n_a, share_b, n_b)
    verdict = versus((lo, hi), line=0.0)
    word = dict(zip(("beats", "ties", "loses to"), words))[verdict]
    where = {"beats": "the whole interval above 0", "loses to": "the whole interval below 0",
             "ties": "the interval holds 0"}[verdict]
    def points(x):  # whole points, or the decimals it takes for an end of the interval not to show as 0
        decimals = 0
        while decimals < 3 and x != 0 and round(100 * x, decimals) == 0:
            decimals += 1
        return f"{100 * x:+.{decimals}f}"

    return (f"**{a} {word} {b}** on {what}: {percent(share_a)} against {percent(share_b)} ({n_a} and {n_b} items; "
            f"difference {signed_points(share_a - share_b)}, 95% interval {points(lo)} to {points(hi)} "
            f"points: {where}).")


def agreement_sentence(a: str, b: str, share: float, n: int) -> str:
    """"**you agree with the AI labeler less often than chance**: 30% of 20 pairs (95% interval 10%-50%)"."""
    lo, hi = share_interval(share, n)
    word = {"beats": "more often than chance", "ties": "no more often than chance (the interval holds 50%)",
            "loses to": "less often than chance"}[versus((lo, hi))]
    return (f"**{a} agree{'' if a == 'you' else 's'} with {b} {word}**: {percent(share)} of {n} pairs (95% interval "
            f"{percent(lo)}-{percent(hi)}).")


def win_sentence(a: str, b: str, result: dict) -> str:
    """"**RLAIF beats RLHF**: 59% of comparisons (95% interval 53%-64%, above 50%)"; ``result`` has ``win_rate`` and
    ``ci95`` (rlcore.evaluate.win_rate)."""
    lo, hi = result["ci95"]
    word = versus(result["ci95"])
    where = {"beats": "the whole interval above 50%", "loses to": "the whole interval below 50%",
             "ties": "the interval holds 50%"}[word]
    return (f"**{a} {word} {b}**: preferred in {percent(result['win_rate'])} of comparisons "
            f"(95% interval {percent(lo)}-{percent(hi)}: {where}; ties count one half).")


def noise_tolerance(values: list[float], window: int, floor: float = 0.0) -> float:
    """How far two means of ``window`` consecutive values of a noisy curve can differ by chance: twice the standard
    deviation of such a difference, the step-to-step spread of the curve (a difference of neighbours has twice one
    value's variance, so over sqrt 2) times sqrt(2 / window); at least ``floor``."""
    if len(values) < 3:
        return floor
    step_sd = statistics.stdev(b - a for a, b in zip(values, values[1:])) / math.sqrt(2)
    return max(floor, 2 * step_sd * math.sqrt(2 / window))


def deciding_digits(change: float, tolerance: float, digits: int = 2) -> int:
    """The digits to show ``change`` with: ``digits``, or more where the change would round to the tolerance itself
    ("+0.10, within ±0.10" cannot say on which side it lies), up to 4."""
    while digits < 4 and abs(change) != tolerance and round(abs(change), digits) == round(tolerance, digits):
        digits += 1
    return digits


def change_sentence(what: str, before: float, after: float, tolerance: float, unit: str = "", digits: int = 2,
                    percent: bool = False) -> str:
    """"**gold rises**: -0.35 → +1.20 (change +1.55; a change within ±0.10 reads as holding)"; ``percent``: the
    values are shares, shown as 54% → 98% with the tolerance in points."""
    word = trend(before, after, tolerance)
    if percent:  # in points: one decimal where whole points would show the change equal to the tolerance
        points = 1 if round(100 * abs(after - before)) == round(100 * tolerance) and abs(after - before) != tolerance \
            else 0
        shown = signed_points(after - before) if points == 0 else f"{100 * (after - before):+.1f} points"
        return (f"**{what} {word}**: {percent_(before)} → {percent_(after)} (change {shown}; a change within "
                f"±{100 * tolerance:.0f} points reads as holding).")
    digits = deciding_digits(after - before, tolerance, digits)
    # enough digits that the two values shown differ by the change shown
    while digits < 4 and round(round(after, digits) - round(before, digits), digits) != round(after - before, digits):
        digits += 1
    value = f"{{:{'+' if min(before, after) < 0 else ''}.{digits}f}}"  # a sign only where a value can be negative
    change = f"{{:+.{digits}f}}"
    return (f"**{what} {word}**: {value.format(before)}{unit} → {value.format(after)}{unit} (change "
            f"{change.format(after - before)}{unit}; a change within ±{tolerance:.{digits}f}{unit} reads as holding).")


def spread_sentence(what: str, difference: float, sd: float | None, unit: str = "", digits: int = 2,
                    percent: bool = False) -> str:
    """Whether a single run's difference lies within the seed spread of the same figure (:func:`seed_spread`);
    ``percent``: the difference is one of shares, shown in points."""
    inside = within_spread(difference, sd)
    if percent:
        shown, sd_shown = signed_points(difference), (f"{100 * sd:.1f} points" if sd is not None else "")
    else:
        shown, sd_shown = f"{difference:+.{digits}f}{unit}", (f"{sd:.{digits}f}{unit}" if sd is not None else "")
    if inside is None:
        return f"{what}: {shown} in this run; no seed spread is published for this profile."
    verdict = ("**within the seed spread**: no larger than the seed alone moves it" if inside else
               "**outside the seed spread**: larger than the seed alone moves it")
    return (f"{what}: {shown} in this run, {verdict} (across seeds the same figure has a standard deviation of "
            f"{sd_shown}; 'within' means at most {SPREAD_SDS:g} of them).")


def say(*sentences: str) -> None:
    """Show a reading under the result: rendered Markdown in a notebook, plain text elsewhere."""
    # each sentence opens with a capital, after any bold mark ("**the KL rises**" -> "**The KL rises**")
    text = "\n\n".join(re.sub(r"^(\**)([a-z])", lambda m: m.group(1) + m.group(2).upper(), s) for s in sentences)
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display(Markdown(text))
    else:
        print(text)


# --------------------------------------------------------------------------- the seed spread, published per profile
def is_share(figure: str) -> bool:
    """Is a seed-table figure ("win_rate.rlaif_vs_rlhf", "kl_to_sft.policy_rlhf") a share, shown in percent?"""
    return figure.startswith(("win_rate", "ood.win_rate", "harmless_rate")) or figure.endswith(("accuracy", "_vs_sft"))


def summarise(values: list[float]) -> dict:
    """{"mean", "sd", "values"} of one figure across seeds (the sample standard deviation; 0 for one seed)."""
    return {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0,
            "values": list(values)}


def seed_spread(profile_name: str) -> dict | None:
    """The published seed table of a profile ({figure: {"mean", "sd", "values"}}, plus its "seeds", "date" and
    "host"), written by ``rlcore pipeline --seeds``; None where none was published (the GPU track, today)."""
    path = os.path.join(SEED_TABLES, f"{profile_name}.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def spread_sd(table: dict | None, figure: str) -> float | None:
    """The seed-to-seed standard deviation of one figure ("win_rate.rlaif_vs_rlhf"), or None."""
    if table is None or figure not in table.get("figures", {}):
        return None
    return table["figures"][figure]["sd"]


def spread_sd_of_difference(table: dict | None, figure_a: str, figure_b: str) -> float | None:
    """The seed-to-seed standard deviation of figure_a - figure_b, seed by seed (two figures of the same runs move
    together: the sd of their difference is not the two sds added)."""
    if table is None or not {figure_a, figure_b} <= set(table.get("figures", {})):
        return None
    a, b = table["figures"][figure_a]["values"], table["figures"][figure_b]["values"]
    return statistics.stdev([x - y for x, y in zip(a, b)])


def across_seeds(table: dict | None, figure: str, what: str) -> str:
    """"Across the 3 seeds of the published table, RLAIF vs RLHF is 60% ± 8%: 59%, 52%, 69%." (a share), or a line
    saying no table is published for this profile."""
    if table is None or figure not in table.get("figures", {}):
        return f"{what}: no seed table is published for this profile, so this run's figure stands alone."
    f = table["figures"][figure]
    show = percent if is_share(figure) else (lambda x: f"{x:.2f}")
    return (f"Across the {len(table['seeds'])} seeds of the published table ({table['date']}), {what} is "
            f"{show(f['mean'])} ± {show(f['sd'])}: " + ", ".join(show(v) for v in f["values"]) + ".")


def place_sentence(what: str, value: float, table: dict | None, figure: str) -> str:
    """Where this run's ``value`` sits among the published seeds' values of the same figure: "This run's RLHF vs SFT,
    50%, is **the lowest** of the 3 published seeds (50%, 64%, 58%)." (equal as shown counts as equal)."""
    if table is None or figure not in table.get("figures", {}):
        return f"{what}: no seed table is published for this profile, so this run's figure stands alone."
    values = table["figures"][figure]["values"]
    show = percent if is_share(figure) else (lambda x: f"{x:+.2f}")
    shown, low, high = show(value), show(min(values)), show(max(values))
    if shown == low:
        place = "the lowest"
    elif shown == high:
        place = "the highest"
    elif value < min(values):
        place = "below every one"
    elif value > max(values):
        place = "above every one"
    else:
        place = "inside the range"
    return (f"This run's {what}, {shown}, is **{place}** of the {len(values)} published seeds' values "
            f"({', '.join(show(v) for v in values)}).")
