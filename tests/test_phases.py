"""The phase log the GPU check projects from: each kind of work timed once, a nested block in the innermost."""

import json

from rlcore import phases


def test_a_nested_phase_is_counted_once_in_the_innermost(tmp_path, monkeypatch):
    clock = iter([0.0, 1.0, 4.0, 6.0, 10.0, 11.0]).__next__  # a fake clock: every reading is the next value
    monkeypatch.setattr(phases.time, "perf_counter", clock)
    log = tmp_path / "phases.json"
    monkeypatch.setenv(phases.PHASE_LOG, str(log))
    monkeypatch.setattr(phases, "_totals", {})  # this process's totals so far: none
    with phases.phase("scoring"):  # 0 .. 6: 6 s, of which 1 .. 4 sampling
        with phases.phase("generation"):
            pass
    assert json.loads(log.read_text()) == {"scoring": 3.0, "generation": 3.0}
    with phases.phase("generation"):  # 10 .. 11, added to what was there
        pass
    assert phases.read_phases(str(log)) == {"scoring": 3.0, "generation": 4.0}


def test_no_log_no_timing(tmp_path, monkeypatch):
    monkeypatch.delenv(phases.PHASE_LOG, raising=False)
    monkeypatch.setattr(phases.time, "perf_counter", lambda: (_ for _ in ()).throw(AssertionError("timed")))

    @phases.timed("generation")
    def sample(x):
        return 2 * x

    assert sample(3) == 6 and phases.read_phases(str(tmp_path / "none.json")) == {}


def test_the_library_times_sampling_and_scoring(tokenizer, tiny_model, tmp_path, monkeypatch):
    from rlcore.config import Lengths
    from rlcore.models import reference_model
    from rlcore.rollout import collect

    log = tmp_path / "phases.json"
    monkeypatch.setenv(phases.PHASE_LOG, str(log))
    monkeypatch.setattr(phases, "_totals", {})
    collect(tiny_model, reference_model(tiny_model), tokenizer, ["\n\nHuman: hi\n\nAssistant:"] * 2,
            lambda rollout: rollout.response_mask.sum(1).float(), Lengths().max_new_tokens, 16)
    assert set(phases.read_phases(str(log))) == {"generation", "scoring"}
