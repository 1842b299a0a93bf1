"""`rlcore demo`: the one-minute toy run still learns at every stage (it is no longer CI's main job)."""
import json
import os

from transformers import AutoModelForCausalLM

from rlcore.cli import main


def test_demo_learns_at_every_stage_and_saves_checkpoints(tmp_path):
    out = str(tmp_path / "demo")
    assert main(["demo", "--out", out]) == 0
    report = json.load(open(os.path.join(out, "report.json")))
    assert report["sft_loss"][1] < 0.5 * report["sft_loss"][0]
    assert report["rm_loss"][1] < report["rm_loss"][0] and report["rm_train_accuracy"] >= 0.9
    assert report["ppo_score"][1] > report["ppo_score"][0]  # PPO raised the reward model's score
    policy = AutoModelForCausalLM.from_pretrained(os.path.join(out, "policy"))
    assert policy.config.model_type == "gpt_neo"
