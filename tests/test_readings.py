"""The readings' verdict words, against the rule each states, and the seed table against a hand computation."""

import statistics

import pytest

from rlcore import readings
from rlcore.cli import main, parse_seeds
from rlcore.evaluate import win_rate
from rlcore.pipeline import seed_table, seed_table_md


@pytest.mark.parametrize("ci95, word", [
    ((0.53, 0.64), "beats"), ((0.46, 0.57), "ties"), ((0.30, 0.45), "loses to"),
    ((0.50, 0.60), "ties"),  # an interval that touches 50% holds it: no "beats"
    ((0.40, 0.50), "ties"), ((0.5001, 0.51), "beats"), ((0.49, 0.4999), "loses to")])
def test_versus_reads_the_whole_interval_against_a_coin_flip(ci95, word):
    assert readings.versus(ci95) == word


def test_versus_on_a_real_win_rate_interval():
    # 30 prompts, A always preferred: the interval lies above 50% -> beats; 15 / 15 -> ties; 0 / 30 -> loses to
    class Judge:
        def __init__(self, p):
            self.p = p

        def prefer(self, prompts, a, b):
            import torch
            return torch.tensor(self.p)

    for p, word in (([1.0] * 30, "beats"), ([1.0] * 15 + [0.0] * 15, "ties"), ([0.0] * 30, "loses to")):
        r = win_rate(["q"] * 30, ["a"] * 30, ["b"] * 30, Judge(p))
        assert readings.versus(r["ci95"]) == word
        assert f"A {word} B" in readings.win_sentence("A", "B", r)


@pytest.mark.parametrize("before, after, tol, word", [
    (0.0, 0.2, 0.1, "rises"), (0.0, -0.2, 0.1, "falls"), (0.0, 0.1, 0.1, "holds"), (0.0, -0.1, 0.1, "holds"),
    (1.97, 1.70, 0.1, "falls"), (3.0, 3.0, 0.0, "holds"), (3.0, 3.01, 0.0, "rises")])
def test_trend_against_its_tolerance(before, after, tol, word):
    assert readings.trend(before, after, tol) == word
    assert f"**gold {word}**" in readings.change_sentence("gold", before, after, tol)


def test_trend_refuses_a_negative_tolerance():
    with pytest.raises(ValueError, match="tolerance"):
        readings.trend(0.0, 1.0, -0.1)


def test_within_spread_at_twice_the_sd_and_without_a_table():
    assert readings.within_spread(0.10, 0.05) is True  # exactly 2 sd: inside
    assert readings.within_spread(-0.11, 0.05) is False
    assert readings.within_spread(0.5, None) is None
    assert "outside the seed spread" in readings.spread_sentence("RLAIF - RLHF", 0.2, 0.05)
    assert "no seed spread" in readings.spread_sentence("RLAIF - RLHF", 0.2, None)


def _report(rlhf_vs_sft, kl, acc):
    return {"win_rate": {"rlhf_vs_sft": {"win_rate": rlhf_vs_sft, "ci95": [0.0, 1.0]}},
            "harmless_rate": {"sft": 0.5, "policy_rlhf": 0.9}, "kl_to_sft": {"policy_rlhf": kl},
            "rm_human_test_accuracy": acc, "per_scenario": {"harmful": {"n": 10, "gold_sft": -1.0}}}


def test_seed_table_mean_sd_and_values_by_hand(tmp_path):
    table = seed_table({0: _report(0.60, 2.0, 0.74), 1: _report(0.70, 3.0, 0.70), 5: _report(0.65, 4.0, 0.72)}, "tiny")
    f = table["figures"]
    assert table["seeds"] == [0, 1, 5]
    assert f["win_rate.rlhf_vs_sft"]["values"] == [0.60, 0.70, 0.65]
    assert f["win_rate.rlhf_vs_sft"]["mean"] == pytest.approx(0.65)
    assert f["win_rate.rlhf_vs_sft"]["sd"] == pytest.approx(0.05)  # sqrt(((-.05)^2 + .05^2 + 0) / 2)
    assert f["kl_to_sft.policy_rlhf"]["sd"] == pytest.approx(1.0)
    assert f["rm_human_test_accuracy"]["sd"] == pytest.approx(statistics.stdev([0.74, 0.70, 0.72]))
    assert f["harmless_rate.sft"]["sd"] == 0.0
    assert "per_scenario.harmful.n" not in f and f["per_scenario.harmful.gold_sft"]["mean"] == -1.0
    md = seed_table_md(table)
    assert "| win_rate.rlhf_vs_sft | 65.0% ± 5.0% | 60.0% | 70.0% | 65.0% |" in md
    assert "| kl_to_sft.policy_rlhf | 3.00 ± 1.00 | 2.00 | 3.00 | 4.00 |" in md
    # the lessons read a published table through readings.spread_sd
    assert readings.spread_sd(table, "win_rate.rlhf_vs_sft") == pytest.approx(0.05)
    assert readings.spread_sd(table, "no.such") is None and readings.spread_sd(None, "x") is None


def test_a_figure_missing_from_one_seed_is_left_out():
    a, b = _report(0.6, 2.0, 0.7), _report(0.7, 3.0, 0.7)
    del b["kl_to_sft"]
    assert "kl_to_sft.policy_rlhf" not in seed_table({0: a, 1: b}, "tiny")["figures"]


@pytest.mark.parametrize("text, seeds", [("0,1,2", [0, 1, 2]), ("3", [0, 1, 2]), ("4, 7", [4, 7])])
def test_parse_seeds(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("bad", ["1", "0,0", "a,b", "-1,2", "x"])
def test_bad_seeds_are_one_clear_error(bad, capsys):
    assert main(["pipeline", f"--seeds={bad}", "--out", "unused"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rlcore: error: ValueError: --seeds") and err.count("\n") == 1


def test_change_sentence_of_shares_in_points():
    text = readings.change_sentence("the harmless rate", 0.54, 0.98, 0.05, percent=True)
    assert text.startswith("**the harmless rate rises**: 54% → 98%") and "+44 points" in text
    assert "(change +1 point;" in readings.change_sentence("the harmless rate", 0.99, 1.0, 0.05, percent=True)
    # the values shown differ by the change shown: 0.23 -> 0.25 would not be "+0.01"
    assert "0.234 → 0.246 (change +0.012;" in readings.change_sentence("the entropy", 0.234, 0.246, 0.05)
    # 49% -> 54% on 150 prompts: +4.7 points, shown so beside a tolerance of 5
    assert "(change +4.7 points; a change within ±5 points" in readings.change_sentence(
        "the harmless rate", 73 / 150, 80 / 150, 0.05, percent=True)


def test_a_change_at_the_tolerance_shows_the_digits_that_decide_it():
    assert "(change +0.09; a change within ±0.10 reads as holding)" in readings.change_sentence("gold", 1.5, 1.59, 0.1)
    text = readings.change_sentence("gold", 1.5, 1.6049, 0.1)  # rises, by 0.1049: "+0.10" would contradict the word
    assert text.startswith("**gold rises**") and "(change +0.105;" in text and "±0.100" in text
    text = readings.change_sentence("gold", 1.78, 1.8796, 0.1)  # holds, by 0.0996: shown so, not as "+0.10"
    assert text.startswith("**gold holds**") and "(change +0.100;" not in text and "(change +0.0996;" in text


def test_a_run_placed_among_the_published_seeds():
    table = {"figures": {"win_rate.a_vs_b": {"values": [0.50, 0.64, 0.58]}, "mean_gold.x": {"values": [0.98, 1.9]}}}
    assert "50%, is **the lowest** of the 3" in readings.place_sentence("a vs b", 0.5012, table, "win_rate.a_vs_b")
    assert "**inside the range**" in readings.place_sentence("a vs b", 0.6, table, "win_rate.a_vs_b")
    assert "**above every one**" in readings.place_sentence("a vs b", 0.70, table, "win_rate.a_vs_b")
    assert "+0.50, is **below every one** of the 2" in readings.place_sentence("gold", 0.5, table, "mean_gold.x")
    assert "no seed table" in readings.place_sentence("gold", 0.5, None, "mean_gold.x")


def test_the_noise_of_a_curve_sets_the_tolerance_of_its_change():
    alternating = [1.0, 3.0] * 10  # neighbours differ by 2: step sd = stdev(+-2) / sqrt 2 = 2.052 / 1.414 = 1.451
    assert readings.noise_tolerance(alternating, 5) == pytest.approx(2 * 1.4510 * (2 / 5) ** 0.5, abs=1e-3)
    assert readings.noise_tolerance([1.0, 1.0, 1.0, 1.0], 2, floor=0.1) == 0.1  # no noise: the floor
    assert readings.noise_tolerance([1.0, 2.0], 1, floor=0.3) == 0.3  # too short to measure


def test_a_reading_opens_with_a_capital_and_counts_points_in_the_singular(capsys):
    readings.say("**the KL rises**: 1 → 2.", "RLHF ties SFT.", "you agree with gold.")
    assert capsys.readouterr().out == "**The KL rises**: 1 → 2.\n\nRLHF ties SFT.\n\nYou agree with gold.\n"
    assert readings.signed_points(0.01) == "+1 point" and readings.signed_points(-0.06) == "-6 points"
    assert "difference +1 point," in readings.compare_sentence("CoT", "plain", 0.78, 0.77, 100)


def test_the_sd_of_a_difference_is_taken_seed_by_seed():
    table = {"figures": {"a": {"values": [1.0, 2.0, 3.0]}, "b": {"values": [0.5, 1.5, 2.5]}}}
    assert readings.spread_sd_of_difference(table, "a", "b") == 0.0  # they move together: the difference is fixed
    assert readings.spread_sd_of_difference(table, "a", "nope") is None


def test_share_interval_and_agreement_words():
    lo, hi = readings.share_interval(0.3, 20)  # 1.96 * sqrt(0.21 / 20) = 0.2008
    assert lo == pytest.approx(0.0992, abs=1e-3) and hi == pytest.approx(0.5008, abs=1e-3)
    assert "no more often than chance" in readings.agreement_sentence("you", "the AI labeler", 0.3, 20)
    assert "less often than chance" in readings.agreement_sentence("you", "the AI labeler", 0.2, 100)
    assert "more often than chance" in readings.agreement_sentence("you", "gold", 0.8, 20)
    assert readings.share_interval(1.0, 5) == (1.0, 1.0)


def test_the_wilson_interval_keeps_a_width_at_the_edges():
    lo, hi = readings.wilson_interval(1.0, 150)  # centre (1 + 1.92 / 150) / 1.0256, half 1.96 sqrt(3.84 / 90000) / 1.0256
    assert hi == 1.0 and lo == pytest.approx(0.9751, abs=1e-3)
    lo, hi = readings.wilson_interval(0.5, 100)
    assert (lo, hi) == (pytest.approx(0.4038, abs=1e-3), pytest.approx(0.5962, abs=1e-3))


def test_a_difference_of_shares_against_zero():
    # 0.78 - 0.77 on 100 items each: 1.96 * sqrt(0.78 * 0.22 / 100 + 0.77 * 0.23 / 100) = 0.1156
    lo, hi = readings.difference_interval(0.78, 100, 0.77, 100)
    assert lo == pytest.approx(0.01 - 0.1156, abs=1e-3) and hi == pytest.approx(0.01 + 0.1156, abs=1e-3)
    assert readings.compare_sentence("CoT", "plain", 0.78, 0.77, 100).startswith("**CoT ties plain** on accuracy")
    # 0.81 vs 0.57 on 500 pairs each: half-width 0.0564, the interval [0.18, 0.30] clears 0
    text = readings.compare_sentence("tiny-labeler", "tiny", 0.81, 0.57, 500)
    assert text.startswith("**tiny-labeler beats tiny**") and "+24 points" in text and "+18 to +30" in text
    assert readings.compare_sentence("a", "b", 0.5, 0.8, 50, 40).startswith("**a loses to b**")
    # 0.73 vs 0.67 on 500 each: 1.96 * sqrt(.73 * .27 / 500 + .67 * .33 / 500) = 0.0567, so the interval starts at
    # +0.3 points, shown as such, not as "+0" read as above 0
    assert "95% interval +0.3 to +12 points" in readings.compare_sentence("rm", "length", 0.73, 0.67, 500)
    assert readings.versus((0.02, 0.3), line=0.0) == "beats" and readings.versus((0.02, 0.3)) == "loses to"
    higher = readings.compare_sentence("tiny", "tiny-labeler", 0.96, 0.38, 500, what="the same-position rate",
                                       words=("is higher than", "ties", "is lower than"))
    assert higher.startswith("**tiny is higher than tiny-labeler** on the same-position rate")


def test_across_seeds_reads_a_share_or_says_there_is_no_table():
    table = {"seeds": [0, 1, 2], "date": "2026-12-06", "figures": {"win_rate.a_vs_b": {"mean": 0.6, "sd": 0.08,
                                                                                       "values": [0.59, 0.52, 0.69]},
                                                                  "kl_to_sft.x": {"mean": 2.5, "sd": 0.5, "values": [2, 2.5, 3]}}}
    assert readings.across_seeds(table, "win_rate.a_vs_b", "A vs B") == \
        "Across the 3 seeds of the published table (2026-12-06), A vs B is 60% ± 8%: 59%, 52%, 69%."
    assert "is 2.50 ± 0.50: 2.00, 2.50, 3.00." in readings.across_seeds(table, "kl_to_sft.x", "the KL")
    assert "no seed table" in readings.across_seeds(None, "win_rate.a_vs_b", "A vs B")


def test_the_published_tiny_table_has_three_seeds_or_more():
    table = readings.seed_spread("tiny")
    assert table is not None and len(table["seeds"]) >= 3
    assert all(len(f["values"]) == len(table["seeds"]) for f in table["figures"].values())
    assert readings.seed_spread("no-such-profile") is None


def test_spread_sentence_of_shares_in_points():
    text = readings.spread_sentence("A minus B", -0.02, 0.012, percent=True)
    assert "-2 points in this run, **within the seed spread**" in text and "1.2 points" in text
