"""Real preference sources normalised to one schema, on small in-test samples in each source's format."""

import pytest

from rlcore.models import HubUnreachableError
from rlcore.sources import load_preference_source, normalise, split_hh

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
    with pytest.warns(UserWarning, match="skipped 2 of 3 rows"):
        pairs = normalise("Anthropic/hh-rlhf", [HH, same, no_turn])
    assert len(pairs) == 1
    with pytest.raises(ValueError, match="no usable pairs"):
        normalise("Anthropic/hh-rlhf", [no_turn])


def test_dahoas_prompt_and_responses():
    row = {"prompt": "\n\nHuman: Name a colour.\n\nAssistant:", "response": " Blue.",
           "chosen": " Blue.", "rejected": "I don't know."}
    for source in ("Dahoas/rm-static", "Dahoas/full-hh-rlhf"):
        (pair,) = normalise(source, [row])
        assert (pair.prompt, pair.chosen, pair.rejected) == (row["prompt"], " Blue.", " I don't know.")
    (pair,) = normalise("Dahoas/rm-static", [{**row, "prompt": "Human: Name a colour. Assistant: "}])
    assert pair.prompt == "\n\nHuman: Name a colour. Assistant:"


def test_tldr_comparisons_drop_the_repeated_tldr_marker():
    row = {"prompt": "SUBREDDIT: r/dogs\nTITLE: barking\nPOST: My dog barks when I leave.\nTL;DR: ",
           "chosen": "TL;DR: dog barks when left alone", "rejected": "TL;DR: dogs"}
    (pair,) = normalise("CarperAI/openai_summarize_comparisons", [row])
    assert pair.prompt.endswith("TL;DR:")
    assert (pair.chosen, pair.rejected) == (" dog barks when left alone", " dogs")


def test_unknown_source_and_offline_hub_give_one_clear_error(monkeypatch):
    with pytest.raises(ValueError, match="unknown preference source 'my/data'"):
        normalise("my/data", [HH])
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    with pytest.raises(HubUnreachableError, match="hub is unreachable.*tiny profile") as err:
        load_preference_source("Anthropic/hh-rlhf", n=10)
    assert err.value.__cause__ is None and err.value.__suppress_context__
