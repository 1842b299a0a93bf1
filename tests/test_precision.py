"""The precision plan of each card, float16 loss scaling, and the float16 guard on verdicts, all on CPU."""

import copy
import warnings

import pytest
import torch

from rlcore.config import get_profile
from rlcore.precision import fallbacks, grad_scaler, precision_plan, use_autocast
from rlcore.training import TrainingRun, make_optimizer, optimizer_step


@pytest.mark.parametrize("capability,frozen,train,scaling", [
    ((7, 5), torch.float16, torch.float16, True),  # T4: no bfloat16 units
    ((7, 0), torch.float16, torch.float16, True),  # V100
    ((8, 0), torch.bfloat16, torch.bfloat16, False),  # A100
    ((9, 0), torch.bfloat16, torch.bfloat16, False),  # H100
])
def test_auto_precision_follows_the_cards_compute_capability(capability, frozen, train, scaling):
    plan = precision_plan("auto", torch.device("cuda"), capability)
    assert (plan.frozen, plan.train_autocast, plan.loss_scaling) == (frozen, train, scaling)


def test_cpu_and_named_dtypes():
    cpu = precision_plan("auto", torch.device("cpu"))
    assert (cpu.frozen, cpu.train_autocast, cpu.loss_scaling) == (torch.float32, None, False)
    assert precision_plan("float32", torch.device("cuda"), (7, 5)).train_autocast is None  # a named dtype wins
    bf16 = precision_plan("bfloat16", torch.device("cuda"), (7, 5))
    assert (bf16.frozen, bf16.loss_scaling) == (torch.bfloat16, False)
    with pytest.raises(ValueError, match="dtype must be one of"):
        precision_plan("float8", torch.device("cpu"))


def mock_gpu(monkeypatch, capability):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)

    def emulated(*args, **kwargs):  # it answers True on a T4 (emulation): the plan must never ask it
        raise AssertionError("is_bf16_supported() was consulted")

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", emulated)


def test_a_profile_on_a_mocked_t4_plans_float16_with_loss_scaling(monkeypatch):
    mock_gpu(monkeypatch, (7, 5))
    profile = get_profile("tiny", device="auto", dtype="auto")
    assert profile.torch_device.type == "cuda"
    assert profile.compute_dtype == torch.float16 and profile.train_autocast_dtype == torch.float16
    assert profile.precision.loss_scaling
    assert profile.precision.describe() == ("precision: trained models float16 autocast on float32 weights, with loss "
                                            "scaling; frozen models float16")
    assert get_profile("tiny", device="auto", dtype="float32").precision.train_autocast is None  # --dtype overrides
    mock_gpu(monkeypatch, (8, 9))  # an L4
    assert get_profile("tiny", device="auto", dtype="auto").compute_dtype == torch.bfloat16


def small_model(dtype=None):
    torch.manual_seed(0)
    return use_autocast(torch.nn.Linear(4, 3), dtype)


def test_a_scaler_only_for_float16_training():
    assert grad_scaler(small_model(torch.float16)).is_enabled()
    assert not grad_scaler(small_model(torch.bfloat16)).is_enabled() and not grad_scaler(small_model()).is_enabled()


def test_an_overflowing_float16_step_is_skipped_counted_and_the_next_one_applied():
    model = small_model(torch.float16)
    run = TrainingRun("toy", {"m": model}, {"m": make_optimizer(model, 1e-2)}, distributed=False)
    x = torch.ones(2, 4)
    before = copy.deepcopy(model.state_dict())
    scale = run.scalers["m"].get_scale()
    run.update("m", 1e35 * model(x).sum())  # finite, but x 65536 (the scale) it overflows float32
    assert run.skipped_steps == 1 and run.scalers["m"].get_scale() == scale / 2  # skipped, and the scale halved
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # weights unchanged
    run.update("m", model(x).sum())
    assert run.skipped_steps == 1 and not torch.equal(before["weight"], model.weight)  # this one is applied


def test_a_scaled_step_moves_the_weights_as_an_unscaled_one():
    a, b = small_model(torch.float16), small_model()
    x = torch.randn(5, 4)
    for model in (a, b):
        skipped = optimizer_step(model, make_optimizer(model, 1e-2), (model(x) ** 2).mean(),
                                 scaler=grad_scaler(model) if model is a else None)
        assert skipped == 0
    torch.testing.assert_close(a.weight, b.weight)  # the scale is divided out before the clip and the step


def test_ppo_and_grpo_skip_and_count_every_update_that_overflows(tiny_model, tokenizer):
    from test_ppo import PROMPT

    from rlcore.config import GRPOConfig, Lengths, PPOConfig
    from rlcore.grpo import GRPOTrainer
    from rlcore.models import reference_model, value_model_from
    from rlcore.ppo import PPOTrainer

    def distinct(prompts, responses):  # every sample of a group scores differently: no minibatch has a zero gradient
        return [float(i) for i in range(len(prompts))]

    use_autocast(tiny_model, torch.float16)  # a T4's plan, on CPU
    before = copy.deepcopy(tiny_model.state_dict())
    grpo = GRPOTrainer(tiny_model, reference_model(tiny_model), tokenizer,
                       GRPOConfig(batch_size=2, group_size=2, num_minibatches=2, epochs=1), Lengths(max_new_tokens=4),
                       reward_fn=distinct)
    grpo.run.scalers["policy"] = torch.amp.GradScaler("cpu", init_scale=2.0 ** 127)  # every scaled gradient overflows
    stats = grpo.step([PROMPT] * 2)
    assert stats["skipped_steps"] == 2  # one per minibatch
    assert all(torch.equal(before[k], v) for k, v in tiny_model.state_dict().items())

    value = value_model_from(tiny_model)
    ppo = PPOTrainer(tiny_model, reference_model(tiny_model), value, tokenizer,
                     PPOConfig(batch_size=2, num_minibatches=1, epochs=2), Lengths(max_new_tokens=4), reward_fn=distinct)
    for name in ("policy", "value"):
        ppo.run.scalers[name] = torch.amp.GradScaler("cpu", init_scale=2.0 ** 127)
    assert ppo.step([PROMPT] * 2)["skipped_steps"] == 4  # 2 epochs x 1 minibatch x (policy, value)
    assert all(torch.equal(before[k], v) for k, v in tiny_model.state_dict().items())


# --------------------------------------------------------------------------- the float16 guard on verdicts
TEXTS = ["Which is better? Response 1: hi. Response 2: bye. Preferred Response=", "short=",
         "a b c d e f g Preferred Response="]


def toy_qwen2(tokenizer, overflow: bool):
    """A Qwen2 of toy width; ``overflow``: its first MLP scaled so that the residual stream passes float16's range
    (~4.5e5 > 65504) while every weight stays representable, as a model trained in bfloat16 can."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                         pad_token_id=tokenizer.pad_token_id)
    model = Qwen2ForCausalLM(config).eval()
    if overflow:
        with torch.no_grad():
            model.model.layers[0].mlp.up_proj.weight.mul_(1e4)
            model.model.layers[0].mlp.down_proj.weight.mul_(1e4)
    return model.half()


@pytest.mark.parametrize("overflow", [False, True])
def test_float16_verdicts_fall_back_to_float32_only_when_they_overflow(tokenizer, overflow):
    import rlcore.precision as precision
    from rlcore.labeler import verdict_probabilities

    model = toy_qwen2(tokenizer, overflow)
    reference = verdict_probabilities(copy.deepcopy(model).float(), tokenizer, TEXTS, batch_size=2)  # same weights
    assert torch.isfinite(reference).all()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        verdicts = verdict_probabilities(model, tokenizer, TEXTS, batch_size=2)  # 2 batches
    assert fallbacks(model) == ((2, 2) if overflow else (0, 2))
    assert precision.fallback_report()[model.config._name_or_path or "Qwen2ForCausalLM"] == \
        {"again": 2 if overflow else 0, "batches": 2}  # what a pipeline's report lists
    assert next(model.parameters()).dtype == torch.float16  # back in float16 after the fallback
    torch.testing.assert_close(verdicts, reference, atol=(1e-6 if overflow else 2e-3), rtol=0)
    assert any("overflows in float16" in str(w.message) for w in caught) == overflow
    if overflow:  # without the guard the verdicts would be NaN, and a NaN soft label reads as a preference
        unguarded = copy.deepcopy(model)
        original = precision._bad
        try:
            precision._bad = lambda logits: False
            assert torch.isnan(verdict_probabilities(unguarded, tokenizer, TEXTS, batch_size=2)).all()
        finally:
            precision._bad = original
