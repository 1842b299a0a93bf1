"""Reliability (issue #8): bad input gives one clear error, killed runs resume to the same weights,
non-finite numbers stop a run before they spoil it, and training runs unchanged on 2 processes."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from rlcore.config import Lengths, Profile, SFTConfig
from rlcore.data import PreferencePair, as_pairs, check_model_tokenizer, load_preferences
from rlcore.builders import tiny_gpt_neo
from rlcore.ppo import PPOConfig
from rlcore.sft import train_sft
from rlcore.training import NonFiniteError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1", PYTHONPATH=ROOT)
GOOD = {"prompt": "\n\nHuman: hi\n\nAssistant:", "chosen": " Hello! How can I help?", "rejected": " Go away."}


def run_script(tmp_path, code: str, *args, launcher=()):
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(code))
    return subprocess.run([*launcher, str(script), *map(str, args)] if launcher else
                          [sys.executable, str(script), *map(str, args)],
                          cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=600)


# ------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("row, message", [
    ({"prompt": "p", "chosen": "a"}, r"row 0: missing field\(s\) \['rejected'\]"),
    ({"chosen": "a", "rejected": "b"}, r"missing field\(s\) \['prompt'\]"),
    ({**GOOD, "chosen": 3}, "row 0: chosen must be a string, got int"),
    ({**GOOD, "prompt": None}, "row 0: prompt must be a string, got NoneType"),
    ({**GOOD, "p_chosen": 1.5}, r"row 0: p_chosen must be in \[0, 1\]"),
    ({**GOOD, "p_chosen": "high"}, r"row 0: p_chosen must be a number in \[0, 1\], got 'high'"),
    ("a string", "row 0: expected a dict with prompt, chosen, rejected, got a str"),
    # rows that teach nothing are skipped, not fatal; with no other row left that is an error
    ({**GOOD, "chosen": ""}, r"no usable pairs .*all rows were skipped \(1 empty response\)"),
    ({**GOOD, "rejected": "   "}, r"all rows were skipped \(1 empty response\)"),
    ({**GOOD, "rejected": GOOD["chosen"]}, r"all rows were skipped \(1 identical pair\)"),
])
def test_bad_preference_rows_name_the_row_and_the_field(row, message):
    with pytest.raises(ValueError, match=message):
        as_pairs([GOOD, row][1:])


def test_hh_format_requires_chosen_to_start_with_the_prompt_and_strips_it():
    full = {"prompt": GOOD["prompt"], "chosen": GOOD["prompt"] + GOOD["chosen"],
            "rejected": GOOD["prompt"] + GOOD["rejected"]}
    (pair,) = as_pairs([full], format="hh")
    assert (pair.chosen, pair.rejected) == (GOOD["chosen"], GOOD["rejected"])
    with pytest.raises(ValueError, match="row 1: chosen does not start with the prompt"):
        as_pairs([full, {**full, "chosen": "\n\nHuman: something else" + GOOD["chosen"]}], format="hh")


def test_zero_rows_after_filtering_is_an_error():
    rows = [GOOD, {**GOOD, "chosen": " a much longer answer " * 20}]
    with pytest.raises(ValueError, match="zero rows"):
        as_pairs([r for r in rows if len(r["chosen"]) > 10_000])


def test_preference_files_are_read_and_validated(tmp_path):
    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(json.dumps(r) for r in [GOOD, {**GOOD, "p_chosen": 0.7}]) + "\n")
    pairs = load_preferences(str(good))
    assert [p.p_chosen for p in pairs] == [1.0, 0.7]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(GOOD) + "\n{not json\n")
    with pytest.raises(ValueError, match="line 2 is not valid JSON"):
        load_preferences(str(bad))
    with pytest.raises(FileNotFoundError, match="no preference file"):
        load_preferences(str(tmp_path / "missing.jsonl"))
    text = tmp_path / "pairs.txt"
    text.write_text("x")
    with pytest.raises(ValueError, match=r"use a \.jsonl, \.json, \.csv or \.parquet file"):
        load_preferences(str(text))


def test_cli_prints_one_line_and_exits_nonzero_without_a_traceback(tmp_path, capsys):
    from rlcore.cli import main

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"prompt": "p", "chosen": "same", "rejected": "same"}) + "\n")
    cmd = [sys.executable, "-m", "rlcore.cli", "check-data", str(bad)]
    out = subprocess.run(cmd, env=ENV, capture_output=True, text=True)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rlcore: error: ValueError: no usable pairs in ")
    assert lines[0].endswith("all rows were skipped (1 identical pair)")
    with pytest.raises(ValueError, match="no usable pairs"):  # --debug: the whole traceback (in this process)
        main(["--debug", "check-data", str(bad)])
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(GOOD) + "\n")
    capsys.readouterr()
    assert main(["check-data", str(good)]) == 0
    assert capsys.readouterr().out == f"{good}: 1 preference pairs OK (0 with soft labels; 0 skipped)\n"


def test_tokenizer_without_pad_token_says_how_to_fix_it(tokenizer, tiny_model):
    pad = tokenizer.pad_token
    tokenizer.pad_token = None
    try:
        with pytest.raises(ValueError, match="no pad token.*tokenizer.pad_token = tokenizer.eos_token"):
            train_sft(tiny_model, tokenizer, ["a"], [" b"], progress=False)
    finally:
        tokenizer.pad_token = pad  # the fixture is shared by the session


def test_model_tokenizer_vocabulary_mismatch_is_caught_before_training(tokenizer):
    small = tiny_gpt_neo(len(tokenizer) - 10, hidden_size=16, num_layers=1, num_heads=2, max_position_embeddings=64)
    with pytest.raises(ValueError, match=f"tokenizer has {len(tokenizer)} tokens but the model's vocabulary has "
                                         f"{len(tokenizer) - 10}"):
        train_sft(small, tokenizer, ["a"], [" b"], progress=False)


def test_max_length_beyond_the_context_is_an_error(tokenizer, tiny_model):
    context = tiny_model.config.max_position_embeddings
    with pytest.raises(ValueError, match=f"longer than the model's context \\({context} tokens\\)"):
        check_model_tokenizer(tiny_model, tokenizer, max_length=context + 1)


def test_too_long_sequences_are_counted_and_the_policy_reported(tokenizer, tiny_model):
    prompts = ["short prompt", "a very long prompt " * 40, "another long prompt " * 40]
    responses = [" yes", " no", " maybe"]
    with pytest.warns(UserWarning, match=r"SFT: 2 of 3 prompts lose their oldest tokens \(max_prompt_tokens=24\), 0 "
                                         r"responses are cut at their end to fit max_length=32"):
        train_sft(tiny_model, tokenizer, prompts, responses, SFTConfig(),
                  Lengths(max_prompt_tokens=24, max_new_tokens=4, max_length=32), progress=False)
    long_answers = [" yes " * 40, " no", " maybe " * 30]
    with pytest.warns(UserWarning, match=r"SFT: 1 of 3 prompts lose their oldest tokens \(max_prompt_tokens=8\), "
                                         r"2 responses are cut at their end to fit max_length=32"):
        train_sft(tiny_model, tokenizer, ["p " * 20, "q", "r"], long_answers, SFTConfig(),
                  Lengths(max_prompt_tokens=8, max_new_tokens=8, max_length=32), progress=False)


def test_out_of_memory_in_a_stage_is_one_line_naming_the_stage_its_sizes_and_what_to_lower(tmp_path, monkeypatch,
                                                                                          capsys):
    from rlcore import cli, stages
    from rlcore.config import get_profile
    from rlcore.course_data import course_data
    from rlcore.training import OutOfMemory

    def out_of_memory(*args, **kwargs):  # what CUDA raises, with its usual several lines of allocator detail
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB.\nGPU 0 has a total "
                                          "capacity of 14.74 GiB of which 1.2 GiB is free.\n" * 3)

    profile = get_profile("tiny", sft__examples=8)
    monkeypatch.setattr(stages, "train_sft", out_of_memory)
    with pytest.raises(OutOfMemory) as err:
        stages.sft(profile, course_data(profile), str(tmp_path / "sft"), progress=False)
    message = str(err.value)
    assert "\n" not in message and err.value.__suppress_context__
    assert message.startswith("out of GPU memory in the SFT stage (sft.batch_size=16, lengths.max_length=256; dtype "
                              "float32")
    assert "lower sft.batch_size, or lower lengths.max_length" in message and "RLCORE_SFT__BATCH_SIZE=8" in message

    monkeypatch.setattr(stages, "PPOTrainer", out_of_memory)  # PPO: out of memory as its trainer is built
    with pytest.raises(OutOfMemory, match=r"in the PPO stage \(ppo.batch_size=32, lengths.max_prompt_tokens=80, "
                                          r"lengths.max_new_tokens=72, ppo.num_minibatches=4; .*raise "
                                          r"ppo.num_minibatches"):
        stages.ppo(profile, course_data(profile), "tiny", reward_model=None, path=None, progress=False)

    # and the command line prints that one line, no traceback
    assert cli.main(["pipeline", "--out", str(tmp_path / "run")]) == 2
    err_text = capsys.readouterr().err
    assert "Traceback" not in err_text  # (the model-loading bar may come first on stderr)
    assert err_text.rstrip("\n").split("\n")[-1].startswith("rlcore: error: OutOfMemory: out of GPU memory in the SFT stage")


def test_unknown_profile_field_and_bad_learning_rate(tokenizer, tiny_model):
    with pytest.raises(ValueError, match=r"unknown profile setting 'lerning_rate'"):
        Profile.from_dict({"name": "x", "lerning_rate": 1e-3})
    for lr in (0.0, -1e-4):
        with pytest.raises(ValueError, match=r"SFTConfig.lr must be > 0"):
            train_sft(tiny_model, tokenizer, ["a"], [" b"], SFTConfig(lr=lr), progress=False)


def test_batch_not_divisible_by_minibatches():
    with pytest.raises(ValueError, match="divisible"):
        PPOConfig(batch_size=6, num_minibatches=4)


def test_empty_or_non_string_pair_fields_in_the_dataclass():
    with pytest.raises(ValueError, match="must be non-empty"):
        PreferencePair("p", "", "b")
    with pytest.raises(ValueError, match="must be a string, got bytes"):
        PreferencePair("p", b"a", "b")


# --------------------------------------------------------------------------- numerical guards
def test_non_finite_loss_stops_before_the_update_and_keeps_the_last_good_checkpoint(tmp_path, tokenizer, tiny_model):
    calls = {"n": 0}

    def poison(module, args, output):  # the 6th forward pass (step 5) returns NaN logits
        calls["n"] += 1
        if calls["n"] == 6:
            output.logits = output.logits * float("nan")
        return output

    tiny_model.register_forward_hook(poison)
    prompts, responses = ["hello there"] * 16, [" general kenobi"] * 16
    with pytest.raises(NonFiniteError) as err:
        train_sft(tiny_model, tokenizer, prompts, responses, SFTConfig(batch_size=2, lr=1e-3), progress=False,
                  checkpoint_dir=str(tmp_path), checkpoint_every=2)
    message = str(err.value)
    assert message.startswith("SFT step 5: loss is nan")
    assert "checkpoint-0000004.pt" in message and "lower the learning rate" in message
    state = torch.load(tmp_path / "checkpoint-0000004.pt", weights_only=False)
    assert state["step"] == 4 and all(torch.isfinite(v).all() for v in state["modules"]["model"].values())
    # the weights were not touched by the bad step: finite everywhere
    assert all(torch.isfinite(p).all() for p in tiny_model.parameters())


def test_non_finite_reward_stops_ppo_naming_the_statistic(tokenizer, tiny_model):
    from rlcore.models import reference_model, value_model_from
    from rlcore.ppo import PPOTrainer

    config = PPOConfig(batch_size=2, num_minibatches=1)
    trainer = PPOTrainer(tiny_model, reference_model(tiny_model), value_model_from(tiny_model), tokenizer, config,
                         Lengths(max_new_tokens=4), reward_fn=lambda p, r: [float("inf"), 0.0])
    before = [p.detach().clone() for p in tiny_model.parameters()]
    with pytest.raises(NonFiniteError, match=r"PPO step 0: score is inf.*raise the KL coefficient"):
        trainer.step(["hi", "ho"])
    assert all(torch.equal(a, b) for a, b in zip(before, tiny_model.parameters()))


# ------------------------------------------------------------------------------ kill and resume
def test_partial_checkpoint_files_are_never_picked_up(tmp_path):
    from rlcore.checkpoint import latest_checkpoint, save_checkpoint

    save_checkpoint(str(tmp_path), 3, {"step": 3})
    (tmp_path / "checkpoint-0000006.pt.tmp-999").write_bytes(b"half a file")
    assert latest_checkpoint(str(tmp_path)).endswith("checkpoint-0000003.pt")
    for step in (6, 9, 12):
        save_checkpoint(str(tmp_path), step, {"step": step}, keep=2)
    assert sorted(p.name for p in tmp_path.glob("checkpoint-*.pt")) == ["checkpoint-0000009.pt", "checkpoint-0000012.pt"]



class _RunsCode:  # unpickling this calls os.system: what a malicious checkpoint would do
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_a_checkpoint_that_would_run_code_is_refused_and_nothing_runs(tmp_path, monkeypatch):
    from rlcore.checkpoint import UnsafeCheckpointError, checkpoint_path, latest_checkpoint
    from rlcore.training import TrainingRun

    monkeypatch.chdir(tmp_path)
    path = checkpoint_path(str(tmp_path / "ckpt"), 5)
    os.makedirs(os.path.dirname(path))
    torch.save({"name": "SFT", "step": 5, "extra": _RunsCode()}, path)
    assert latest_checkpoint(str(tmp_path / "ckpt")) == path
    model = torch.nn.Linear(2, 2)
    with pytest.raises(UnsafeCheckpointError, match="not loaded"):
        TrainingRun("SFT", {"model": model}, {"model": torch.optim.SGD(model.parameters(), lr=0.1)},
                    str(tmp_path / "ckpt"), resume=True)
    assert not (tmp_path / "PWNED").exists()
    torch.load(path, weights_only=False)  # the same file read the unsafe way does run it: the plant is real
    assert (tmp_path / "PWNED").exists()

SFT_SCRIPT = """
import os, signal, sys, torch
torch.set_num_threads(1)
from rlcore import world
from rlcore.config import SFTConfig
from rlcore.models import load_base
from rlcore.sft import train_sft
mode, ckpt, out = sys.argv[1:4]
model, tok = load_base("tiny")
rng = __import__("random").Random(0)
demos = [(p.text, world.demonstration(p, rng)) for p in world.sample_prompts("train", 40, 0)]
if mode == "kill":
    calls = [0]
    def hook(module, args, output):
        calls[0] += 1
        if calls[0] == 8:  # during step 7, after the checkpoints of steps 3 and 6
            os.kill(os.getpid(), signal.SIGKILL)
    model.register_forward_hook(hook)
losses = train_sft(model, tok, [p for p, _ in demos], [r for _, r in demos], SFTConfig(batch_size=4, lr=1e-3), seed=0,
                   progress=False, checkpoint_dir=ckpt, checkpoint_every=3, resume=(mode == "resume"))
torch.save({"weights": model.state_dict(), "losses": losses}, out)
"""

PPO_SCRIPT = """
import os, signal, sys, torch
torch.set_num_threads(1)
from rlcore import world
from rlcore.models import load_base, reference_model, value_model_from
from rlcore.config import Lengths
from rlcore.ppo import PPOConfig, PPOTrainer
mode, ckpt, out = sys.argv[1:4]
policy, tok = load_base("tiny")
torch.manual_seed(0)  # the value head's initialisation
calls = [0]
def reward(prompts, responses):
    calls[0] += 1
    if mode == "kill" and calls[0] == 4:  # during step 3, after the checkpoint of step 2
        os.kill(os.getpid(), signal.SIGKILL)
    return [float(len(r.split()) > 5) for r in responses]
config = PPOConfig(batch_size=4, num_minibatches=2, epochs=2, target_kl=1.0)
trainer = PPOTrainer(policy, reference_model(policy), value_model_from(policy), tok, config, Lengths(max_new_tokens=12),
                     reward_fn=reward)
prompts = world.prompts("train", 24, seed=0)
batches = (prompts[i:i + 4] for i in range(0, 24, 4))
history = trainer.train(batches, steps=5, progress=False, checkpoint_dir=ckpt, checkpoint_every=2,
                        resume=(mode == "resume"))
torch.save({"weights": policy.state_dict(), "value": trainer.value_model.state_dict(),
            "kl_coef": trainer.kl_controller.value, "history": history}, out)
"""


@pytest.mark.slow
@pytest.mark.parametrize("script", [SFT_SCRIPT, PPO_SCRIPT], ids=["sft", "ppo"])
def test_sigkill_then_resume_ends_with_the_weights_of_an_uninterrupted_run(tmp_path, script):
    ckpt = tmp_path / "ckpt"
    straight = run_script(tmp_path, script, "straight", tmp_path / "straight-ckpt", tmp_path / "straight.pt")
    assert straight.returncode == 0, straight.stderr[-2000:]
    killed = run_script(tmp_path, script, "kill", ckpt, tmp_path / "killed.pt")
    assert killed.returncode == -9, killed.stderr[-2000:]  # died by SIGKILL, mid-run
    assert not (tmp_path / "killed.pt").exists() and os.listdir(ckpt)
    resumed = run_script(tmp_path, script, "resume", ckpt, tmp_path / "resumed.pt")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    a = torch.load(tmp_path / "straight.pt", weights_only=False)
    b = torch.load(tmp_path / "resumed.pt", weights_only=False)
    assert a["weights"].keys() == b["weights"].keys()
    for k in a["weights"]:
        assert torch.equal(a["weights"][k], b["weights"][k]), k
    if "value" in a:
        assert all(torch.equal(a["value"][k], b["value"][k]) for k in a["value"])
        assert a["kl_coef"] == b["kl_coef"] != config_kl_coef()  # the adaptive controller moved and was restored
        assert [h["score"] for h in a["history"]] == [h["score"] for h in b["history"]]
        assert len(b["history"]) == 5
    else:
        assert a["losses"] == b["losses"] and len(a["losses"]) == 10


def config_kl_coef() -> float:
    return PPOConfig(batch_size=4, num_minibatches=2).init_kl_coef


# ------------------------------------------------------------------------------ two processes
RM_SCRIPT = """
import os, sys, torch
torch.set_num_threads(1)
from rlcore import world
from rlcore.config import RewardConfig
from rlcore.models import load_base, reward_model_from
from rlcore.reward import train_reward_model
base, tok = load_base("tiny")
torch.manual_seed(0)
rm = reward_model_from(base)
init = {k: v.clone() for k, v in rm.state_dict().items()}
pairs = world.preference_pairs("train", 32, seed=0, labels="gold")
losses = train_reward_model(rm, tok, pairs, RewardConfig(epochs=1, batch_size=8, lr=1e-3), seed=0, progress=False)
if int(os.environ.get("RANK", "0")) == 0:
    from rlcore.reward import pair_rewards
    chosen, rejected = pair_rewards(rm, tok, world.preference_pairs("test", 32, seed=1, labels="gold"))
    torch.save({"weights": rm.state_dict(), "init": init, "rewards": torch.cat([chosen, rejected]), "world": int(os.environ.get("WORLD_SIZE", "1"))}, sys.argv[1])
"""


@pytest.mark.slow
def test_reward_model_training_on_two_processes_matches_one(tmp_path):
    one = run_script(tmp_path, RM_SCRIPT, tmp_path / "one.pt")
    assert one.returncode == 0, one.stderr[-2000:]
    # --multi_gpu picks the multi-process (torchrun) launcher; with no GPU, processes talk over gloo
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
              "--num_cpu_threads_per_process", "1",
              "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
    two = run_script(tmp_path, RM_SCRIPT, tmp_path / "two.pt", launcher=launch)
    assert two.returncode == 0, two.stderr[-3000:]
    a = torch.load(tmp_path / "one.pt", weights_only=False)
    b = torch.load(tmp_path / "two.pt", weights_only=False)
    assert (a["world"], b["world"]) == (1, 2)
    # Same data, same averaged gradients: the two runs differ only by float summation order (which
    # Adam amplifies on near-zero gradients), far less than training moved the weights.
    moved = torch.cat([(a["weights"][k] - a["init"][k]).abs().flatten() for k in a["init"]]).mean()
    apart = torch.cat([(a["weights"][k] - b["weights"][k]).abs().flatten() for k in a["init"]]).mean()
    assert apart < 0.05 * moved, (apart, moved)
    # and the two reward models score held-out pairs the same
    torch.testing.assert_close(b["rewards"], a["rewards"], atol=2e-3 * a["rewards"].abs().max().item(), rtol=0)
