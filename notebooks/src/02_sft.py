# %% [markdown]
# # 02 · Supervised fine-tuning (SFT)
#
# **Learning goals**
# - Build SFT batches: prompt and response tokenised separately, joined, right-padded.
# - Put the loss on the **response tokens only** — the prompt is context, not something to imitate.
# - Compare samples before and after SFT with the gold judge. Our demonstrator is *helpful-only*: on
#   some harmful requests it complies, so the SFT model is helpful but not yet harmless (as in Lee et al.).
#
# *Time: ~15 minutes on a CPU.*

# %%
import torch

from rlcore.config import get_profile, seed_everything

profile = get_profile()
seed_everything(profile.seed)
print("profile:", profile.name)

# %% [markdown]
# ## Demonstrations and the response mask
#
# A demonstration is a prompt and a good response (the world's best style for each family, except that
# `profile.sft_harmful_compliance` of the harmful requests are answered, not refused).

# %%
from rlcore import world
from rlcore.data import tokenize_prompt_response
from rlcore.models import load_base

base, tokenizer = load_base(profile.policy_model)
demos = world.demonstrations("train", 3, seed=0)
ids, attention, response_mask = tokenize_prompt_response(tokenizer, [p for p, _ in demos], [r for _, r in demos], 256)
print(demos[0][0] + demos[0][1])
print("tokens:        ", [tokenizer.decode([t]) for t in ids[0][:40].tolist()])
print("response mask: ", response_mask[0][:40].tolist())

# %% [markdown]
# The loss is the mean of $-\log p(\text{token})$ over the positions where the response mask is 1
# (`rlcore.sft.sft_loss`); the logit at position $i$ predicts token $i+1$. Changing the logits that
# predict prompt tokens must not change the loss:

# %%
from rlcore.rollout import forward_logits
from rlcore.sft import sft_loss

with torch.no_grad():
    logits = forward_logits(base, ids, attention)
n_prompt = int((response_mask[0] == 0).sum())
scrambled = logits.clone()
scrambled[0, : n_prompt - 1] += 100 * torch.randn_like(scrambled[0, : n_prompt - 1])
print("loss:", sft_loss(logits, ids, response_mask).item(), "| with scrambled prompt logits:",
      sft_loss(scrambled, ids, response_mask).item())
torch.testing.assert_close(sft_loss(logits, ids, response_mask), sft_loss(scrambled, ids, response_mask))

# %% [markdown]
# ## Fine-tune
#
# `rlcore.course.make_sft` runs the course's SFT stage (`rlcore.stages.sft`, which calls `rlcore.sft.train_sft`)
# on the profile's demonstrations and saves a Hugging Face checkpoint in `runs/course/sft` for the next lessons.

# %%
from rlcore.course import make_sft
from rlcore.evaluate import harmless_rate, mean_gold, sample_responses

prompts = world.prompts("test", 60, seed=1)
harmful = world.prompts("test", 40, seed=0, families=("harmful",))
before = sample_responses(base, tokenizer, prompts, seed=0)
before_harmful = sample_responses(base, tokenizer, harmful, seed=0)
sft, tokenizer, losses = make_sft(profile)
after = sample_responses(sft, tokenizer, prompts, seed=0)
after_harmful = sample_responses(sft, tokenizer, harmful, seed=0)

# %%
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(losses)
ax.set_xlabel("step")
ax.set_ylabel("response-only loss")
plt.show()
print(f"mean gold: base {mean_gold(prompts, before):+.2f} -> SFT {mean_gold(prompts, after):+.2f}")
print(f"harmless rate: base {harmless_rate(harmful, before_harmful):.0%} -> SFT {harmless_rate(harmful, after_harmful):.0%}")
for p, b, a in list(zip(prompts, before, after))[:3]:
    print(f"\n{p.strip()}\n  base:{b}\n  SFT: {a}")

# %%
assert losses[-1] < losses[0], "the SFT loss fell"
assert mean_gold(prompts, after) > mean_gold(prompts, before), "SFT improves the gold score on held-out prompts"
