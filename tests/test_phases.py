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


def _counted(block, cost=lambda flops, nbytes: (flops, nbytes)):
    counter = phases.WorkCounter(cost)
    with counter:
        block()
    return counter.totals


def test_the_work_counter_counts_a_products_arithmetic_and_bytes_forward_and_backward(monkeypatch, tmp_path):
    import torch

    monkeypatch.setenv(phases.PHASE_LOG, str(tmp_path / "phases.json"))
    a, w = torch.randn(4, 8), torch.randn(8, 16, requires_grad=True)

    def block():
        with phases.phase("scoring"):
            (a @ w.detach()).sum()  # a view (detach) and the sum: no arithmetic the FLOP table counts
        (a @ w).sum().backward()  # outside every phase: "training"

    totals = _counted(block)
    # forward 2.m.k.n = 2 x 4 x 8 x 16; the backward's dW = a^T g, the same again (a needs no gradient)
    assert totals["scoring"]["flops"] == 1024 and totals["training"]["flops"] == 2048
    # bytes of the product at 16 bits: a (32) + w (128) + out (64) numbers = 224 x 2; then the sum reads 64, writes 1
    assert totals["scoring"]["bytes"] == 2 * (32 + 128 + 64) + 2 * (64 + 1)
    assert totals["scoring"]["ops"] == 2  # mm and sum; detach launches nothing
    assert totals["scoring"]["low"] == totals["scoring"]["flops"]  # the cost summed over the operations


def test_cpu_fused_attention_counts_as_two_products(monkeypatch):
    import torch

    q = torch.randn(2, 3, 5, 4, requires_grad=True)  # batch 2, 3 heads, 5 positions, width 4
    forward = _counted(lambda: torch.nn.functional.scaled_dot_product_attention(q, q, q))["training"]["flops"]
    both = _counted(lambda: torch.nn.functional.scaled_dot_product_attention(q, q, q).sum().backward())["training"]["flops"]
    # Q K^T and P V: 2 products of 2 x (5 x 5 x 4) per batch and head; the backward twice the forward
    assert forward == 2 * 2 * (5 * 5 * 4) * 2 * 3 and both == 3 * forward
