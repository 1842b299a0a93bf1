"""Rows of real length through every stage on CPU: HH-RLHF transcripts of 1,500 tokens and replies longer than
the tiny models' whole context (256 positions), as real HH-RLHF and TL;DR data hold them.

One length policy (``rlcore.data.fit_to_length``, the profile's max_prompt_tokens / max_new_tokens / max_length)
decides what every stage keeps; what it cuts is counted in the report and by ``rlcore check-data``; sizes the data
cannot fill are lowered before the first stage; the reward model is scored in PPO as it was normalised."""

import json

import pytest
import torch

from hh_data import long_hh_rows, write_long_hh_file
from rlcore.config import get_profile
from rlcore.data import fit_to_length, tokenize_prompt_response, truncation_counts
from rlcore.rollout import sample_rollouts
from rlcore.models import reference_model, reward_model_from, value_model_from
from rlcore.config import Lengths
from rlcore.ppo import PPOConfig, PPOTrainer
from rlcore.data import split_hh

pytestmark = pytest.mark.slow  # every stage on rows of real length

N_ROWS = 30


def test_the_length_policy_by_hand():
    prompt, response = list(range(100, 110)), list(range(200, 205))  # 10 prompt tokens, 5 response tokens
    assert fit_to_length(prompt, response, 20, max_prompt_tokens=8) == (prompt[2:], response)  # newest 8 kept
    assert fit_to_length(prompt, response, 11, max_prompt_tokens=8) == (prompt[2:], response[:3])  # response cut
    assert fit_to_length(prompt, response, 6, max_prompt_tokens=8) == (prompt[5:], response[:1])  # 1 left to answer
    assert fit_to_length(prompt, response, 8, max_prompt_tokens=None) == (prompt[7:], response)  # response first
    assert fit_to_length(prompt, response, 4, max_prompt_tokens=None) == (prompt[9:], response[:3])
    with pytest.raises(ValueError, match="max_length must be >= 2"):
        fit_to_length(prompt, response, 1)


def test_a_response_cut_to_fit_loses_its_eos_and_its_mask_covers_what_is_kept(tokenizer):
    prompt, response = "\n\nHuman: " + "tell me more " * 60 + "\n\nAssistant:", " sure " * 80
    ids, attention, response_mask = tokenize_prompt_response(tokenizer, [prompt, "hi"], [response, " ok"], 40,
                                                             max_prompt_tokens=16)
    assert ids.shape == (2, 40) and attention[0].sum() == 40
    assert response_mask[0].sum() == 24 and response_mask[0, :16].sum() == 0  # 16 prompt tokens, then 24 response
    assert ids[0, -1] != tokenizer.eos_token_id  # cut: it did not end there
    short = attention[1].sum().item()
    assert ids[1, short - 1] == tokenizer.eos_token_id and response_mask[1, short - 1] == 1  # whole: ends with EOS
    expected = tokenizer(prompt, add_special_tokens=False)["input_ids"][-16:]
    assert ids[0, :16].tolist() == expected  # the newest prompt tokens


def test_ppo_scores_the_reward_model_exactly_as_it_was_normalised(tiny_model, tokenizer):
    """The normalisation's samples and PPO's rollouts go through one route (lengths, EOS appended to a response cut
    by max_new_tokens): PPO's scores of the very same samples have mean 0 and std 1."""
    prompts = [split_hh(r["chosen"], r["rejected"])[0] for r in long_hh_rows(8)]  # 1,500-token prompts
    rm = reward_model_from(tiny_model)
    torch.manual_seed(0)
    torch.nn.init.normal_(rm.reward_head.weight, std=1.0)
    lengths = Lengths(max_prompt_tokens=32, max_new_tokens=12, max_length=48)
    rm.normalise_on_samples(tiny_model, tokenizer, prompts, lengths, seed=3)
    config = PPOConfig(batch_size=8, num_minibatches=2)
    trainer = PPOTrainer(tiny_model, reference_model(tiny_model), value_model_from(tiny_model), tokenizer, config,
                         lengths, reward_model=rm)
    (rollout,) = sample_rollouts(tiny_model, tokenizer, prompts, max_new_tokens=12, seed=3, max_prompt_tokens=32)
    assert rollout.prompt_ids.shape[1] == 32 and not rollout.ended_with_eos.all()
    scores = trainer.score(rollout)
    assert scores.mean().item() == pytest.approx(0.0, abs=1e-4) and scores.std().item() == pytest.approx(1.0, abs=1e-3)


@pytest.fixture(scope="module")
def long_run(tmp_path_factory):
    from rlcore.pipeline import run_pipeline

    folder = tmp_path_factory.mktemp("long")
    path = write_long_hh_file(folder / "long.jsonl", N_ROWS)
    # tiny models (256 positions) on the tiny profile's lengths; the sizes of a quick run, except those the data
    # cannot fill: sft.examples and rm.pairs stay at the profile's thousands, to be lowered before the first stage
    profile = get_profile("tiny", dataset=path, lengths__max_new_tokens=12, sft__epochs=1, rm__epochs=1, ppo__steps=1,
                          ppo__batch_size=4, ppo__num_minibatches=2, ppo__epochs=1, eval__prompts=4, dpo__epochs=1,
                          rm__normalisation_prompts=8)
    report = run_pipeline(str(folder / "run"), profile, progress=False, log=lambda *a: None)
    return path, profile, report


def test_every_stage_runs_on_real_length_rows_and_counts_what_it_cut(long_run):
    from rlcore.course_data import course_data
    from rlcore.models import load_tokenizer

    path, profile, report = long_run
    data = course_data(profile)
    n_train, n_test = len(data.train), len(data.test)
    assert n_train + n_test == N_ROWS and n_test >= 1
    # sizes the data cannot fill, lowered before the first stage and said in the report
    assert report["sizes_scaled"]["sft.examples"] == f"{profile.sft.examples} -> {n_train} (the train pairs)"
    assert report["sizes_scaled"]["rm.pairs"] == f"{profile.rm.pairs} -> {n_train} (the train pairs)"
    hybrid = round(profile.rm.hybrid_human_pairs * n_train / profile.rm.pairs)
    assert report["sizes_scaled"]["rm.hybrid_human_pairs"].startswith(f"{profile.rm.hybrid_human_pairs} -> {hybrid} ")
    assert report["sizes"]["sft.examples"] == n_train
    # what the length policy cut, counted independently here on the tokens
    tokenizer = load_tokenizer("tiny")
    room = profile.lengths.max_length - profile.lengths.max_prompt_tokens  # every prompt is longer than that limit
    long_chosen = sum(len(tokenizer(p.chosen)["input_ids"]) + 1 > room for p in data.train)
    assert long_chosen >= 3
    assert report["truncated"]["sft"] == {"prompts cut": n_train, "responses cut": long_chosen, "sequences": n_train}
    assert report["truncated"]["reward model, DPO"]["responses cut"] == long_chosen  # no rejected reply is long
    # A reply longer than the labeler's whole context (256) is cut to fit, counted, never a stop: the 20-paragraph
    # replies (1,200+ tokens); the short ones (about 120 tokens) fit once the conversation is cut.
    n_long = sum(len(tokenizer(p.chosen)["input_ids"]) > 1000 for p in data.train)
    assert n_long == long_chosen and report["ai_labels_cut_to_fit"] == n_long
    assert all(0 <= r["win_rate"] <= 1 and r["n"] == min(profile.eval.prompts, n_test)
               for r in report["win_rate"].values())
    with open(f"{path[:-len('long.jsonl')]}run/report.md") as f:
        text = f.read()
    assert f"sft: {n_train} of {n_train} prompts lose their oldest tokens (max_prompt_tokens=80)" in text
    assert "Sizes lowered to what the data holds: sft.examples" in text


def test_check_data_counts_what_the_profiles_length_policy_cuts(long_run, capsys):
    from rlcore import cli

    path, profile, _ = long_run
    assert cli.main(["check-data", path, "--profile", "tiny"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    rows = [json.loads(x) for x in open(path)]
    n_long = sum(len(split_hh(r["chosen"], r["rejected"])[1]) > 4000 for r in rows)  # the 20-paragraph replies
    assert line.endswith(f"profile tiny, chosen and rejected: {2 * N_ROWS} of {2 * N_ROWS} prompts lose their oldest "
                         f"tokens (max_prompt_tokens=80), {n_long} responses are cut at their end to fit max_length=256")


def test_the_truncation_count_agrees_with_the_tokenised_batch(tokenizer):
    rows = long_hh_rows(6)
    triples = [split_hh(r["chosen"], r["rejected"]) for r in rows]
    prompts, responses = [t[0] for t in triples], [t[1] for t in triples]
    counts = truncation_counts(tokenizer, prompts, responses, 128, max_prompt_tokens=64)
    _, attention, response_mask = tokenize_prompt_response(tokenizer, prompts, responses, 128, max_prompt_tokens=64)
    whole = [len(tokenizer(r)["input_ids"]) + 1 for r in responses]
    assert counts["responses cut"] == sum(k < w for k, w in zip(response_mask.sum(1).tolist(), whole))
    assert counts["prompts cut"] == 6 and (attention.sum(1) - response_mask.sum(1)).tolist() == [64] * 6
