"""A third kind of course data, written here against the CourseData protocol alone (rlcore.course_data): the
pipeline runs it end to end, judged by its own judge, with its own extra measurement in the report, without a
line of the pipeline or the stages knowing it exists."""

import json
import random

import pytest
import torch

from rlcore.config import get_profile
from rlcore.course_data import CourseData
from rlcore.data import PreferencePair
from rlcore.pipeline import run_pipeline

pytestmark = pytest.mark.slow  # the whole pipeline on a third kind of data

ANIMALS = ("cat", "dog", "fox", "cow", "owl", "bee")


def cats(response: str) -> int:
    return response.split().count("cat")


class CatJudge:
    """Prefers the response that says "cat" more often; every response is harmless."""

    name = "the cat counter"

    def __init__(self):
        self.calls = 0

    def prefer(self, prompts, a, b):
        self.calls += 1
        return torch.tensor([0.5 + 0.5 * ((cats(x) > cats(y)) - (cats(x) < cats(y))) for x, y in zip(a, b)])

    def harmless(self, prompts, responses):
        return torch.ones(len(responses), dtype=torch.bool)


class CatData:
    """Prompts about animals; people prefer answers that mention cats. Held-out prompts in "test" only."""

    name, skipped, splits, judge_name, test_labels = "cats", {}, ("test",), "cat counter", "more cats wins"
    no_verifiable_reward = ""

    def __init__(self, seed: int = 0):
        rng = random.Random(seed)
        self.prompts = {split: [f"\n\nHuman: Tell me about the {rng.choice(ANIMALS)} number {i}.\n\nAssistant:"
                                for i in range(n)] for split, n in (("train", 64), ("test", 16))}
        self.the_judge = CatJudge()

    def verifiable_reward(self, prompts, responses):
        return [float(cats(r)) for r in responses]

    def judge(self):
        return self.the_judge

    def fit_sizes(self, profile):
        return profile, {}

    def demonstrations(self, n):
        ps = (self.prompts["train"] * n)[:n]
        return ps, [" The cat sat." for _ in ps]

    def comparisons(self, n, policy=None, split="train"):
        ps = (self.prompts[split] * n)[:n]
        return [(p, " A cat.", " A dog.") if i % 2 else (p, " A dog.", " A cat.") for i, p in enumerate(ps)]

    def human_pairs(self, n, policy=None):
        return [PreferencePair(p, " A cat.", " A dog.").to_dict() for p, _, _ in self.comparisons(n, policy)]

    def test_pairs(self, n, policy=None, split="test"):
        return [PreferencePair(p, " A cat.", " A dog.") for p, _, _ in self.comparisons(n, policy, split)]

    def prompt_batches(self, batch_size):
        while True:
            for i in range(0, len(self.prompts["train"]) - batch_size + 1, batch_size):
                yield self.prompts["train"][i:i + batch_size]

    def normalisation_prompts(self, n):
        return self.prompts["train"][:n]

    def evaluation_prompts(self, n, split="test"):
        ps = self.prompts[split][:n]
        return ps, ps[: len(ps) // 2]

    def reward_model_checks(self, accuracy, n, policy=None):
        return {"accuracy_on_reversed_pairs": accuracy([PreferencePair(p, " A dog.", " A cat.")
                                                        for p in self.prompts["test"][:n]])}

    def label_checks(self, policy=None):
        return {}

    def policy_checks(self, prompts, responses, judge):
        return {"mean_cats": {name: sum(map(cats, rs)) / len(rs) for name, rs in responses.items()}}

    def judge_checks(self, judge, test_pairs):
        return {"judge_is_labeler": False, "judge_calls": judge.calls}

    def report_lines(self, report, labels):
        return ["Cats per response: " + ", ".join(f"{labels[n]} {v:.2f}" for n, v in report["mean_cats"].items())]


def test_a_third_kind_of_data_runs_the_pipeline_end_to_end(tmp_path):
    data = CatData()
    assert isinstance(data, CourseData)  # every method and attribute of the protocol
    profile = get_profile("tiny", sft__examples=16, rm__pairs=16, rm__test_pairs=8, ppo__steps=1,
                          ppo__batch_size=8, ppo__num_minibatches=2, ppo__epochs=1, grpo__steps=1, grpo__batch_size=2,
                          eval__prompts=8, eval__kl_prompts=8, rm__hybrid_human_pairs=4, lengths__max_new_tokens=8,
                          rm__normalisation_prompts=8)
    report = run_pipeline(str(tmp_path), profile, progress=False, log=lambda *a: None, runs="rlhf,rlvr", data=data)
    assert report["data"] == "cats" and report["models"]["judge"] == "cat counter"
    assert report["judge"] == "the cat counter" and report["judge_calls"] > 0  # its judge judged, and said so
    assert set(report["win_rate"]) == {"rlhf_vs_sft", "rlvr_vs_sft"} and report["runs_skipped"] == {}
    # its own measurements, in the report beside the standard ones, for every policy the run trained
    assert set(report["mean_cats"]) == {"sft", "policy_rlhf", "policy_rlvr"}
    assert 0.0 <= report["rm_human_accuracy_on_reversed_pairs"] <= 1.0
    assert report["rm_human_test_accuracy"] + report["rm_human_accuracy_on_reversed_pairs"] == pytest.approx(1.0)
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["mean_cats"] == report["mean_cats"] and (tmp_path / "report.md").read_text().count("cat counter")
    # and its own lines in report.md, written by the data, not by the pipeline
    assert f"Cats per response: SFT {report['mean_cats']['sft']:.2f}" in (tmp_path / "report.md").read_text()
