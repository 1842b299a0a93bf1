"""Real preference sources normalised to one schema, on small in-test samples in each source's format."""

import pytest

from rlcore.data import as_pairs
from rlcore.data import detect_format, split_hh
from rlcore.sources import HubUnreachableError, load_preference_source, normalise, read_source

HH = {  # Anthropic/hh-rlhf: two whole conversations, the last assistant turn differs
    "chosen": "\n\nHuman: How do I boil an egg?\n\nAssistant: Put it in boiling water.\n\nHuman: For how long?"
              "\n\nAssistant: About nine minutes for a hard egg.",
    "rejected": "\n\nHuman: How do I boil an egg?\n\nAssistant: Put it in boiling water.\n\nHuman: For how long?"
                "\n\nAssistant: About an hour.",
}


def test_hh_rlhf_splits_at_the_last_shared_assistant_turn():
    (pair,) = normalise("Anthropic/hh-rlhf", [HH])
    assert pair.prompt.endswith("\n\nHuman: For how long?\n\nAssistant:")
    assert pair.prompt.count("\n\nAssistant:") == 2  # the earlier turn stays in the context
    assert (pair.chosen, pair.rejected) == (" About nine minutes for a hard egg.", " About an hour.")
    assert pair.prompt + pair.chosen == HH["chosen"] and pair.prompt + pair.rejected == HH["rejected"]


def test_hh_rlhf_responses_sharing_their_first_words_are_not_cut_inside_the_response():
    prompt, chosen, rejected = split_hh("\n\nHuman: hi\n\nAssistant: I can help.", "\n\nHuman: hi\n\nAssistant: I cannot.")
    assert (prompt, chosen, rejected) == ("\n\nHuman: hi\n\nAssistant:", " I can help.", " I cannot.")


def test_hh_rlhf_rows_that_are_not_pairs_are_skipped_and_counted():
    same = {"chosen": HH["chosen"], "rejected": HH["chosen"]}
    no_turn = {"chosen": "hello there", "rejected": "hello world"}
    with pytest.warns(UserWarning, match=r"skipped 2 of 3 rows .*\(1 identical pair, 1 unsplittable conversation\)"):
        pairs = normalise("Anthropic/hh-rlhf", [HH, same, no_turn])
    assert len(pairs) == 1
    assert read_source("Anthropic/hh-rlhf", [no_turn, HH, no_turn])[1] == {"unsplittable conversation": 2}
    with pytest.raises(ValueError, match=r"no usable pairs in Anthropic/hh-rlhf: .*\(1 unsplittable conversation\)"):
        normalise("Anthropic/hh-rlhf", [no_turn])


def test_a_source_row_without_its_columns_is_an_error_naming_the_row():
    with pytest.raises(ValueError, match=r"^Anthropic/hh-rlhf row 1: missing field\(s\) \['rejected'\]"):
        normalise("Anthropic/hh-rlhf", [HH, {"chosen": HH["chosen"]}])


def test_dahoas_prompt_and_responses():
    row = {"prompt": "\n\nHuman: Name a colour.\n\nAssistant:", "response": " Blue.",
           "chosen": " Blue.", "rejected": "I don't know."}
    for source in ("Dahoas/rm-static", "Dahoas/full-hh-rlhf"):
        (pair,) = normalise(source, [row])
        assert (pair.prompt, pair.chosen, pair.rejected) == (row["prompt"], " Blue.", " I don't know.")
    (pair,) = normalise("Dahoas/rm-static", [{**row, "prompt": "Human: Name a colour. Assistant: "}])
    assert pair.prompt == "\n\nHuman: Name a colour. Assistant:"


# CarperAI/openai_summarize_comparisons: the prompt ends with the post; each response starts with "TL;DR: "
TLDR = {"prompt": "SUBREDDIT: r/cooking\nTITLE: My rice always burns at the bottom\nPOST: I use a steel pot, one cup "
                  "of rice and two cups of water on low heat, and the bottom still burns every time.",
        "chosen": "TL;DR: rice burns at the bottom of my steel pot even on low heat, what am I doing wrong?",
        "rejected": "TL;DR: rice"}


def test_tldr_comparisons_ask_for_a_summary_and_drop_the_marker_from_the_responses():
    (pair,) = normalise("CarperAI/openai_summarize_comparisons", [TLDR])
    assert pair.prompt == TLDR["prompt"] + "\nTL;DR:"
    assert pair.chosen == " rice burns at the bottom of my steel pot even on low heat, what am I doing wrong?"
    assert pair.rejected == " rice"
    assert as_pairs([TLDR], format="auto") == [pair]  # the same normaliser for a local file


def test_tldr_prompts_that_already_end_with_the_marker_keep_one_marker():
    row = {"prompt": "SUBREDDIT: r/dogs\nTITLE: barking\nPOST: My dog barks when I leave.\nTL;DR: ",
           "chosen": "TL;DR: dog barks when left alone", "rejected": "TL;DR: dogs"}
    (pair,) = normalise("CarperAI/openai_summarize_comparisons", [row])
    assert pair.prompt == "SUBREDDIT: r/dogs\nTITLE: barking\nPOST: My dog barks when I leave.\nTL;DR:"
    assert (pair.chosen, pair.rejected) == (" dog barks when left alone", " dogs")
    with pytest.warns(UserWarning, match=r"\(1 empty response\)"):
        normalise("CarperAI/openai_summarize_comparisons", [row, {**row, "rejected": "TL;DR: "}])


def test_auto_format_is_read_from_each_rows_columns():
    prompt = "\n\nHuman: Name a colour.\n\nAssistant:"
    assert detect_format(HH) == "hh"
    assert detect_format(TLDR) == "tldr"
    assert detect_format({"prompt": prompt, "chosen": " Blue.", "rejected": " No."}) == "pairs"
    assert detect_format({"prompt": prompt, "chosen": prompt + " Blue.", "rejected": prompt + " No."}) == "hh"
    dahoas = {"prompt": prompt, "response": " Blue.", "chosen": " Blue.", "rejected": " No."}
    assert detect_format(dahoas) == "pairs"
    rows = [HH, {"prompt": prompt, "chosen": prompt + " Blue.", "rejected": prompt + " No."}, dahoas]
    hh_prompt = "\n\nHuman: How do I boil an egg?\n\nAssistant: Put it in boiling water.\n\nHuman: For how long?\n\nAssistant:"
    assert [(p.prompt, p.chosen, p.rejected) for p in as_pairs(rows, format="auto")] == [
        (hh_prompt, " About nine minutes for a hard egg.", " About an hour."),
        (prompt, " Blue.", " No."),
        (prompt, " Blue.", " No."),
    ]


def test_unknown_source_and_offline_hub_give_one_clear_error(monkeypatch):
    with pytest.raises(ValueError, match="unknown preference source 'my/data'"):
        normalise("my/data", [HH])
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(HubUnreachableError, match="hub is unreachable.*tiny profile") as err:
        load_preference_source("Anthropic/hh-rlhf", n=10)
    assert err.value.__cause__ is None and err.value.__suppress_context__
