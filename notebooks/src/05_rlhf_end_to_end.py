# %% [markdown]
# # 05 · RLHF end to end
#
# **Learning goals**
# - Put the pieces of lessons 02–04 together: the SFT policy, a frozen copy as the reference, a value
#   model, and the reward model trained on (simulated) human labels.
# - Run PPO and *watch* it: the score goes up, the KL to the reference grows, and the KL leash holds it.
# - Measure what changed with the gold judge, on held-out prompts: win rate against SFT, harmless rate,
#   samples before and after.
#
# *Time: ~15 minutes on a CPU.*

# %%
import torch

from rlcore.config import get_profile, seed_everything
from rlcore.course import course_path, load_reward_model, load_sft

profile = get_profile()
seed_everything(profile.seed)
sft, tokenizer = load_sft(profile)
reward_model = load_reward_model(profile, sft, tokenizer)
print("profile:", profile.name)

# %% [markdown]
# ## Four models
#
# | model | role | trained? |
# | --- | --- | --- |
# | policy $\pi_\theta$ | writes the responses | yes (PPO) |
# | reference $\pi_\text{ref}$ | the SFT model, frozen: the KL leash is measured against it | no |
# | value model $V$ | predicts the return, for GAE's advantages | yes |
# | reward model $r$ | scores a whole response | no (lesson 03) |
#
# One more step before PPO: rewards should start near mean 0, std 1, so that one KL coefficient means
# the same thing for every reward model. We measure the reward model on the SFT model's own samples
# and normalise (as Ziegler et al. 2019 do).

# %%
from rlcore import world
from rlcore.data import tokenize_prompt_response
from rlcore.evaluate import sample_responses
from rlcore.models import reference_model, value_model_from

ref_prompts = world.prompts("train", 128, seed=3)
ref_responses = sample_responses(sft, tokenizer, ref_prompts, max_new_tokens=profile.max_new_tokens, seed=0)
ids, mask, _ = tokenize_prompt_response(tokenizer, ref_prompts, ref_responses, 256)
reward_model.normalise(ids, mask)
print(f"reward on SFT samples: mean {reward_model.reward_mean.item():+.2f}, std {reward_model.reward_std.item():.2f}"
      " -> now 0 and 1")

policy = sft  # PPO trains this one in place
reference = reference_model(sft)
value = value_model_from(sft)

# %% [markdown]
# ## Held-out prompts, before
#
# We keep the SFT model's answers to held-out prompts (topics never seen in training) to compare with
# the policy after PPO.

# %%
from rlcore.evaluate import harmless_rate, mean_gold, win_rate

test_prompts = world.prompts("test", 200, seed=4)
harmful_prompts = world.prompts("test", 100, seed=5, families=("harmful",))
before = sample_responses(reference, tokenizer, test_prompts, max_new_tokens=profile.max_new_tokens, seed=0)
before_harmful = sample_responses(reference, tokenizer, harmful_prompts, max_new_tokens=profile.max_new_tokens, seed=0)
print(f"SFT: mean gold {mean_gold(test_prompts, before):+.2f}, harmless rate {harmless_rate(harmful_prompts, before_harmful):.0%}")

# %% [markdown]
# ## PPO, with live plots
#
# Each step: sample a batch of responses, score them, add the per-token KL penalty, compute advantages
# with GAE, then a few epochs of clipped updates (lesson 04). The plot redraws after every step.

# %%
from rlcore.plots import LivePlot
from rlcore.ppo import PPOConfig, PPOTrainer

config = PPOConfig.from_profile(profile, seed=0)
trainer = PPOTrainer(policy, reference, value, tokenizer, config, reward_model=reward_model)


def prompt_batches():
    k = 0
    while True:
        yield world.prompts("train", config.batch_size, seed=1000 + k)
        k += 1


steps = profile.ppo_steps
history = trainer.train(prompt_batches(), steps=steps, callback=LivePlot(keys=("score", "kl", "kl_coef"), every=10))

# %%
from rlcore.plots import ppo_curves

fig = ppo_curves({"RLHF": history}, keys=("score", "kl", "entropy", "response_length"))
print(f"score: {history[0]['score']:+.2f} -> {history[-1]['score']:+.2f};  KL to the reference: "
      f"{history[0]['kl']:.2f} -> {history[-1]['kl']:.2f} nats")

# %% [markdown]
# ## What changed, judged by gold
#
# The reward model was only a proxy. The gold judge says whether the policy really got better.

# %%
after = sample_responses(policy, tokenizer, test_prompts, max_new_tokens=profile.max_new_tokens, seed=0)
after_harmful = sample_responses(policy, tokenizer, harmful_prompts, max_new_tokens=profile.max_new_tokens, seed=0)
wins = win_rate(test_prompts, after, before)
harmless_before, harmless_after = harmless_rate(harmful_prompts, before_harmful), harmless_rate(harmful_prompts, after_harmful)
print(f"win rate of RLHF vs SFT: {wins['win_rate']:.0%} (95% interval {wins['ci95'][0]:.0%}-{wins['ci95'][1]:.0%})")
print(f"harmless rate: SFT {harmless_before:.0%} -> RLHF {harmless_after:.0%}")
print(f"mean gold: SFT {mean_gold(test_prompts, before):+.2f} -> RLHF {mean_gold(test_prompts, after):+.2f}")

for i in range(3):
    print("-" * 80)
    print(harmful_prompts[i].strip())
    print("SFT :", before_harmful[i].strip())
    print("RLHF:", after_harmful[i].strip())

# %%
import math

assert all(math.isfinite(h["kl"]) for h in history), "the KL stayed finite"
assert harmless_after > harmless_before, "PPO against the human-label reward model made the policy more harmless"
policy.save_pretrained(course_path("policy_rlhf"))
_ = tokenizer.save_pretrained(course_path("policy_rlhf"))

# %% [markdown]
# ## Things to try
# - Set `config.init_kl_coef` to 0.01 and to 1.0 (make a new trainer): how do the KL curve and the
#   win rate change? (Lesson 09 looks at what happens with no leash at all.)
# - Print the per-scenario win rates (`world.parse_prompt(p).family`): where did PPO help, where not?
# - The win rate compares whole responses; which gold components moved? (`world.gold_components`)
