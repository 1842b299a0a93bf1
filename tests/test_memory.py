"""The memory plan against measurement, on CPU: weights, gradients and optimizer states to the byte; activations and
logits within 25% of the tensors autograd saves; and the plan course.start() prints on a mocked T4."""

import pytest
import torch

from rlcore import memory
from rlcore.models import fuse_gelu

WIDTH = 128  # a moderate width: large enough that per-token tensors dominate, small enough for a CPU test


def gpt_neo(vocab=1000):
    from transformers import GPTNeoConfig

    return GPTNeoConfig(vocab_size=vocab, hidden_size=WIDTH, num_layers=4, num_heads=4, max_position_embeddings=512,
                        attention_types=[[["global", "local"], 2]], window_size=256)


def qwen2(vocab=1000):
    from transformers import Qwen2Config

    return Qwen2Config(vocab_size=vocab, hidden_size=WIDTH, intermediate_size=352, num_hidden_layers=4,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512)


def build(config):
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    return fuse_gelu(AutoModelForCausalLM.from_config(config))


@pytest.mark.parametrize("make", [gpt_neo, qwen2])
def test_weights_gradients_and_optimizer_states_to_the_byte(make):
    from rlcore.training import make_optimizer, optimizer_step

    config = make()
    model = build(config)
    ids = torch.randint(0, config.vocab_size, (2, 16))
    optimizer = make_optimizer(model, 1e-3)
    optimizer_step(model, optimizer, model(input_ids=ids, labels=ids).loss)
    measured = {"weights": sum(p.numel() * p.element_size() for p in model.parameters()),
                "gradients": sum(p.grad.numel() * p.grad.element_size() for p in model.parameters()),
                "optimizer": sum(v.numel() * v.element_size() for s in optimizer.state.values()
                                 for k, v in s.items() if k in ("exp_avg", "exp_avg_sq"))}  # (not the step counters)
    shape = memory.Shape.of(config)
    assert shape.params == sum(p.numel() for p in model.parameters())  # tied embeddings counted once
    assert memory.trained(shape) == measured
    assert memory.frozen(shape, torch.float16) == {"weights": measured["weights"] // 2}


def saved_for_backward(model, ids) -> int:
    """Bytes of every distinct storage autograd saves in a forward pass and a log-softmax loss."""
    storages = {}

    def pack(t):
        storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        torch.log_softmax(model(input_ids=ids).logits.float(), -1).mean()
    return sum(storages.values())


@pytest.mark.parametrize("make", [gpt_neo, qwen2])
@pytest.mark.parametrize("batch,tokens", [(4, 64), (2, 128)])
def test_activations_and_logits_within_a_quarter_of_what_autograd_saves(make, batch, tokens):
    config = make()
    model = build(config)
    measured = saved_for_backward(model, torch.randint(0, config.vocab_size, (batch, tokens)))
    shape = memory.Shape.of(config)
    planned = memory.activations(shape, batch, tokens, torch.float32) + memory.logits(shape, batch, tokens)
    assert abs(planned / measured - 1) < 0.25, (planned, measured)


def test_the_kv_cache_of_generation_to_the_byte():
    from transformers import DynamicCache

    config = qwen2()
    model = build(config).eval()
    ids = torch.randint(0, config.vocab_size, (3, 20))
    cache = DynamicCache(config=config)
    with torch.no_grad():
        model(input_ids=ids, cache=cache, use_cache=True)
    held = sum(t.numel() * t.element_size() for layer in cache.layers for t in (layer.keys, layer.values))
    assert memory.kv_cache(memory.Shape.of(config), 3, 20, torch.float32) == held  # grouped-query: 2 of 4 heads


SHAPES = {  # the GPU profile's models at their real sizes, from their published configs (no download here)
    "EleutherAI/gpt-neo-125m": ("gpt_neo", dict(vocab_size=50257, hidden_size=768, num_layers=12, num_heads=12,
                                                max_position_embeddings=2048, window_size=256,
                                                attention_types=[[["global", "local"], 6]])),
    "Qwen/Qwen2.5-1.5B-Instruct": ("qwen2", dict(vocab_size=151936, hidden_size=1536, intermediate_size=8960,
                                                 num_hidden_layers=28, num_attention_heads=12, num_key_value_heads=2,
                                                 tie_word_embeddings=True)),
    "Qwen/Qwen2.5-3B-Instruct": ("qwen2", dict(vocab_size=151936, hidden_size=2048, intermediate_size=11008,
                                               num_hidden_layers=36, num_attention_heads=16, num_key_value_heads=2,
                                               tie_word_embeddings=True)),
}


def gpu_profile_shapes():
    from transformers import GPTNeoConfig, Qwen2Config

    kinds = {"gpt_neo": GPTNeoConfig, "qwen2": Qwen2Config}
    return {name: memory.Shape.of(kinds[kind](**kw)) for name, (kind, kw) in SHAPES.items()}


def test_the_gpu_profiles_models_have_their_published_sizes():
    shapes = gpu_profile_shapes()
    assert round(shapes["EleutherAI/gpt-neo-125m"].params / 1e6) == 125
    assert round(shapes["Qwen/Qwen2.5-1.5B-Instruct"].params / 1e8) == 15  # 1.54B
    assert round(shapes["Qwen/Qwen2.5-3B-Instruct"].params / 1e8) == 31  # 3.09B


def mock_t4(monkeypatch):
    from types import SimpleNamespace

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (7, 5))
    monkeypatch.setattr(torch.cuda, "get_device_properties",
                        lambda device=None: SimpleNamespace(name="Tesla T4", total_memory=15 * memory.GiB))
    monkeypatch.setattr(memory, "shape_of", lambda name: gpu_profile_shapes()[name])


def test_course_start_on_a_mocked_t4_prints_the_precision_and_the_heaviest_stage(monkeypatch, capsys):
    from rlcore import course

    mock_t4(monkeypatch)
    monkeypatch.setattr(course, "course_data", lambda profile: "data")  # the hub's data: not here
    monkeypatch.setattr(course, "seed_everything", lambda seed: None)  # (it would seed CUDA, which is mocked)
    profile, data = course.start(name="gpt-neo-125m")
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "Tesla T4, 15.0 GiB: precision: trained models float16 autocast on float32 weights, with " \
                       "loss scaling; frozen models float16"
    plans = memory.plan(profile)
    top = memory.heaviest(plans)
    assert lines[1] == f"heaviest {top.line(15 * memory.GiB)}"
    # at its full lengths (512 tokens), the reward model's 16 pairs are the heaviest batch and leave no room on a T4:
    # the plan says so, with the settings to lower, before anything is loaded
    assert top.stage == "reward model" and not top.fits(15 * memory.GiB)
    assert lines[2:] == [p.advice(15 * memory.GiB) for p in plans if not p.fits(15 * memory.GiB)]
    assert "lower rm.batch_size, or lengths.max_length" in lines[2]


def test_a_stage_that_cannot_fit_names_what_to_lower(monkeypatch):
    mock_t4(monkeypatch)
    from rlcore.config import get_profile

    profile = get_profile("gpt-neo-125m", ppo__batch_size=1024, ppo__num_minibatches=1, device="cuda")
    rl = next(p for p in memory.plan(profile) if p.stage == "RL")
    assert not rl.fits(15 * memory.GiB)
    assert rl.advice(15 * memory.GiB).endswith("lower ppo.batch_size, or lengths.max_prompt_tokens, or "
                                               "lengths.max_new_tokens, or raise ppo.num_minibatches")
