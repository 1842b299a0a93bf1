# %% [markdown]
# # 01 · The pretrained model and sampling
#
# **Learning goals**
# - Load the course's base model (the shipped `tiny` GPT-Neo on CPU, GPT-Neo-125M on a GPU).
# - See how temperature and top-k reshape the next-token distribution.
# - Measure what the *pretrained* model does in the world: mostly mediocre, often harmful.
#
# *Time: ~15 minutes on a CPU.*

# %%
import torch

from rlcore.config import choose_device, get_profile, seed_everything
from rlcore.models import load_base

profile = get_profile()
seed_everything(profile.seed)
device = choose_device(profile.device)
model, tokenizer = load_base(profile.policy_model)
model.to(device).eval()
print(f"{profile.policy_model}: {sum(p.numel() for p in model.parameters()):,} parameters, "
      f"vocabulary {len(tokenizer)}, context {model.config.max_position_embeddings} tokens")

# %% [markdown]
# ## The next-token distribution
#
# A causal LM gives $p(\text{next token} \mid \text{text so far})$. Sampling with **temperature** $T$
# divides the logits by $T$ (T < 1 sharpens, T > 1 flattens); **top-k** keeps only the k most likely
# tokens.

# %%
import matplotlib.pyplot as plt

prompt = "\n\nHuman: How do I bake bread?\n\nAssistant: To bake bread, first"
ids = tokenizer(prompt, return_tensors="pt")["input_ids"].to(device)
with torch.no_grad():
    logits = model(input_ids=ids).logits[0, -1]


def next_token_probs(temperature=1.0, top_k=0):
    scaled = logits / temperature
    if top_k:
        kth = torch.topk(scaled, top_k).values[-1]
        scaled = torch.where(scaled < kth, torch.full_like(scaled, -float("inf")), scaled)
    return torch.softmax(scaled, -1)


top = torch.topk(logits, 8).indices
labels = [repr(tokenizer.decode([int(t)])) for t in top]
fig, ax = plt.subplots(figsize=(9, 3))
for k, (temperature, top_k) in enumerate([(0.5, 0), (1.0, 0), (2.0, 0), (1.0, 3)]):
    probs = next_token_probs(temperature, top_k)[top].cpu()
    ax.bar([i + 0.2 * k for i in range(8)], probs, 0.2, label=f"T={temperature}" + (f", top-k={top_k}" if top_k else ""))
ax.set_xticks([i + 0.3 for i in range(8)], labels, rotation=20)
ax.set_ylabel("probability")
ax.legend()
plt.show()

# %%
# Temperature is a knob on entropy: lower T, lower entropy.
entropies = [-(p * p.clamp_min(1e-12).log()).sum().item() for p in (next_token_probs(t) for t in (0.5, 1.0, 2.0))]
print("entropy at T = 0.5, 1, 2:", [round(e, 2) for e in entropies])
assert entropies[0] < entropies[1] < entropies[2]

# %% [markdown]
# Play with the sliders (in Jupyter or Colab): sample a response at a temperature and a top-k.

# %%
import ipywidgets as widgets

from rlcore.rollout import generate


def sample(temperature=1.0, top_k=0, seed=0):
    out = generate(model, tokenizer, ["\n\nHuman: How do I plant tomatoes?\n\nAssistant:"], max_new_tokens=40,
                   temperature=temperature, top_k=top_k, seed=seed)
    print(out.responses[0])


widgets.interact(sample, temperature=widgets.FloatSlider(value=1.0, min=0.1, max=2.0, step=0.1),
                 top_k=widgets.IntSlider(value=0, min=0, max=50), seed=widgets.IntSlider(value=0, min=0, max=20));

# %% [markdown]
# ## What the base model does in the world
#
# The pretraining corpus mimics web text: on harmful requests the web mostly *complies*. We sample
# the base model on held-out prompts and let the gold judge score it (CPU track; on the GPU track the
# same cells show real HH-RLHF prompts without gold scores).

# %%
from rlcore import world
from rlcore.evaluate import harmless_rate, mean_gold, sample_responses

if profile.dataset == "world":
    harmful = world.prompts("test", 60, seed=0, families=("harmful",))
    mixed = world.prompts("test", 60, seed=1)
    harmful_responses = sample_responses(model, tokenizer, harmful, seed=0)
    mixed_responses = sample_responses(model, tokenizer, mixed, seed=0)
    base_harmless = harmless_rate(harmful, harmful_responses)
    print(f"harmless rate on harmful prompts: {base_harmless:.0%}")
    print(f"mean gold score on a mix of prompts: {mean_gold(mixed, mixed_responses):+.2f}")
    for p, r in list(zip(harmful, harmful_responses))[:3]:
        print(f"\n{p.strip()}\n  ->{r}")

# %%
if profile.dataset == "world":
    assert base_harmless <= 0.5, "the pretrained model should not be harmless yet"
