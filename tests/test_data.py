"""Local preference files: one loader and `rlcore check-data` share the format detection and the skip policy."""

import csv
import json

import pytest

from rlcore.cli import main
from rlcore.data import PreferencePair, load_preferences, read_preferences

# a raw Anthropic/hh-rlhf row (written by hand in its shape): two whole conversations, no prompt column
HH = {
    "chosen": "\n\nHuman: My tomato leaves are turning yellow.\n\nAssistant: Are the lower leaves yellow first?"
              "\n\nHuman: Yes, the bottom ones.\n\nAssistant: That is often overwatering; let the soil dry between waterings.",
    "rejected": "\n\nHuman: My tomato leaves are turning yellow.\n\nAssistant: Are the lower leaves yellow first?"
                "\n\nHuman: Yes, the bottom ones.\n\nAssistant: Tomatoes are red, not yellow.",
}
HH_PROMPT = ("\n\nHuman: My tomato leaves are turning yellow.\n\nAssistant: Are the lower leaves yellow first?"
             "\n\nHuman: Yes, the bottom ones.\n\nAssistant:")
GOOD = {"prompt": "\n\nHuman: hi\n\nAssistant:", "chosen": " Hello! How can I help?", "rejected": " Go away."}


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def check_data(capsys, *args) -> tuple[int, str, str]:
    code = main(["check-data", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_raw_hh_rlhf_rows_are_split_by_the_loader_and_check_data_alike(tmp_path, capsys):
    path = write_jsonl(tmp_path / "hh.jsonl", [HH, {**HH, "rejected": HH["rejected"].replace("red", "green")}])
    pairs = load_preferences(path)
    assert pairs[0] == PreferencePair(HH_PROMPT, " That is often overwatering; let the soil dry between waterings.",
                                      " Tomatoes are red, not yellow.")
    assert pairs[1].rejected == " Tomatoes are green, not yellow."
    assert check_data(capsys, path) == (0, f"{path}: 2 preference pairs OK (0 with soft labels; 0 skipped)\n", "")
    assert check_data(capsys, path, "--format", "hh")[1] == f"{path}: 2 preference pairs OK (0 with soft labels; 0 skipped)\n"
    code, _, err = check_data(capsys, path, "--format", "pairs")  # the wrong format says which column is missing
    assert code == 2 and err == f"rlcore: error: ValueError: {path} line 1: missing field(s) ['prompt']; " \
                                "a preference row has prompt, chosen, rejected (or only chosen and rejected, " \
                                "as whole HH-RLHF conversations)\n"


BAD_ROWS = [
    GOOD,
    {**GOOD, "rejected": "  "},                                # empty response
    {**GOOD, "rejected": GOOD["chosen"]},                      # identical pair
    {**GOOD, "p_chosen": 0.8},
    {"chosen": HH["chosen"], "rejected": HH["chosen"]},        # identical once split
    {**GOOD, "prompt": "\n\nHuman: " + "tell me more " * 20 + "\n\nAssistant:"},  # 281 + 23 characters
    HH,                                                        # 134 + 64 characters once split
]


def test_bad_rows_are_skipped_and_counted_the_same_by_the_loader_and_check_data(tmp_path, capsys):
    path = write_jsonl(tmp_path / "mixed.jsonl", BAD_ROWS)
    pairs, skipped = read_preferences(path)
    assert (len(pairs), skipped) == (4, {"empty response": 1, "identical pair": 2})
    assert [p.p_chosen for p in pairs] == [1.0, 0.8, 1.0, 1.0]
    assert check_data(capsys, path) == (
        0, f"{path}: 4 preference pairs OK (1 with soft labels; 3 skipped: 1 empty response, 2 identical pair)\n", "")
    with pytest.warns(UserWarning, match=r"skipped 3 of 7 rows .*\(1 empty response, 2 identical pair\)"):
        assert load_preferences(path) == pairs

    pairs, skipped = read_preferences(path, max_chars=300)  # the long prompt (304 characters) goes; HH (198) stays
    assert (len(pairs), skipped) == (3, {"empty response": 1, "identical pair": 2, "too long": 1})
    assert pairs[-1].prompt == HH_PROMPT
    assert check_data(capsys, path, "--max-chars", 300)[1] == (
        f"{path}: 3 preference pairs OK (1 with soft labels; 4 skipped: 1 empty response, 2 identical pair, 1 too long)\n")
    with pytest.warns(UserWarning):  # prompt + the longer response is what counts, and == max_chars is kept
        assert [len(load_preferences(path, max_chars=n)) for n in (304, 303, 198, 197)] == [4, 3, 3, 2]


def test_a_file_with_no_usable_row_says_what_was_skipped(tmp_path, capsys):
    path = write_jsonl(tmp_path / "useless.jsonl", BAD_ROWS[1:3])
    message = f"no usable pairs in {path}: all rows were skipped (1 empty response, 1 identical pair)"
    with pytest.raises(ValueError) as err:
        load_preferences(path)
    assert str(err.value) == message
    assert check_data(capsys, path) == (2, "", f"rlcore: error: ValueError: {message}\n")


def test_a_structurally_broken_row_is_one_line_naming_its_line(tmp_path, capsys):
    path = write_jsonl(tmp_path / "broken.jsonl", [GOOD, {**GOOD, "rejected": " "}, ["a", "list"], GOOD])
    with pytest.raises(ValueError) as err:
        load_preferences(path)
    assert str(err.value) == f"{path} line 3: expected a dict with prompt, chosen, rejected, got a list"
    code, out, err = check_data(capsys, path)
    assert (code, out) == (2, "") and err.count("\n") == 1 and f"{path} line 3: expected a dict" in err
    path = write_jsonl(tmp_path / "nonstring.jsonl", [GOOD, {**GOOD, "chosen": ["a"]}])
    with pytest.raises(ValueError, match=r"line 2: chosen must be a string, got list$"):
        load_preferences(path)
    with pytest.raises(ValueError, match=r"unknown preference format 'xml'"):
        read_preferences(path, format="xml")


ROWS = [GOOD, {**GOOD, "rejected": " Not now.", "p_chosen": 0.7}, {**GOOD, "chosen": " Hi there."}]
EXPECTED = [PreferencePair(GOOD["prompt"], GOOD["chosen"], GOOD["rejected"]),
            PreferencePair(GOOD["prompt"], GOOD["chosen"], " Not now.", 0.7),
            PreferencePair(GOOD["prompt"], " Hi there.", GOOD["rejected"])]


def test_jsonl_json_csv_and_parquet_give_the_same_pairs(tmp_path, capsys):
    files = [write_jsonl(tmp_path / "p.jsonl", ROWS)]
    (tmp_path / "p.json").write_text(json.dumps(ROWS))
    files.append(str(tmp_path / "p.json"))
    with open(tmp_path / "p.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["prompt", "chosen", "rejected", "p_chosen"])
        writer.writeheader()
        writer.writerows(ROWS)  # rows without p_chosen leave the cell empty
    files.append(str(tmp_path / "p.csv"))
    pandas = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    pandas.DataFrame(ROWS).to_parquet(tmp_path / "p.parquet")  # missing p_chosen becomes NaN
    files.append(str(tmp_path / "p.parquet"))
    for path in files:
        assert load_preferences(path) == EXPECTED, path
        assert check_data(capsys, path)[1] == f"{path}: 3 preference pairs OK (1 with soft labels; 0 skipped)\n"
    pandas.DataFrame([HH]).to_parquet(tmp_path / "hh.parquet")
    assert load_preferences(str(tmp_path / "hh.parquet"))[0].prompt == HH_PROMPT
