# %% [markdown]
# # 10 · Beyond PPO: Direct Preference Optimization
#
# **Learning goals**
# - Follow DPO's one idea (Rafailov et al. 2023): the policy that maximises reward minus a KL leash has
#   a closed form, so the reward can be written with the policy itself, $r(x, y) = \beta \log
#   \frac{\pi(y|x)}{\pi_\text{ref}(y|x)} + \text{const}$, and the ranking loss of lesson 03 trains the
#   policy directly — no reward model, no sampling, no PPO.
# - Write the DPO loss yourself and check it.
# - Train DPO on the *same* human pairs as the reward model of lesson 03 and compare it with the PPO
#   policy of lesson 05 on the gold judge: win rate, harmless rate, KL to the reference.
# - Know when to use which.
#
# *Time: ~15 minutes on a CPU.*

# %%
import os

import torch

from rlcore import world
from rlcore.config import get_profile, seed_everything
from rlcore.course import COURSE_DIR, load_sft

profile = get_profile()
seed_everything(profile.seed)
sft, tokenizer = load_sft(profile)
print("profile:", profile.name)

# %% [markdown]
# ## From the KL-regularised objective to a loss on pairs
#
# PPO in lesson 05 maximises $\mathbb{E}[r(x,y)] - \beta\,\mathrm{KL}(\pi \,\|\, \pi_\text{ref})$. Its
# optimum is $\pi^*(y|x) \propto \pi_\text{ref}(y|x)\, e^{r(x,y)/\beta}$. Solve for $r$:
# $r(x,y) = \beta \log \frac{\pi^*(y|x)}{\pi_\text{ref}(y|x)} + \beta \log Z(x)$. In the Bradley–Terry
# loss only *differences* of rewards for the same prompt appear, so $Z(x)$ cancels:
#
# $$\mathcal{L}_\text{DPO} = -\log \sigma\Big(\beta \big[\log\tfrac{\pi(y_c|x)}{\pi_\text{ref}(y_c|x)} -
# \log\tfrac{\pi(y_r|x)}{\pi_\text{ref}(y_r|x)}\big]\Big)$$
#
# where $\log \pi(y|x)$ is the **sum** of the response tokens' log-probs (`rlcore.dpo.sequence_logprob`).

# %% [markdown]
# ### Exercise: the DPO loss
#
# Inputs are the summed log-probs of the chosen and rejected responses under the policy and the
# reference, each of shape `(B,)`, and β. Return the mean loss over the batch.

# %%
# EXERCISE: dpo_loss
import torch.nn.functional as F


def my_dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta):
    margin = (policy_chosen - ref_chosen) - (policy_rejected - ref_rejected)  # (B,)
    return -F.logsigmoid(beta * margin).mean()
# END EXERCISE

# %%
from rlcore.exercises import check_dpo_loss

assert check_dpo_loss(my_dpo_loss)

# %% [markdown]
# ## Train DPO on lesson 03's human pairs
#
# The same 600 simulated-human pairs the reward model learned from. The reference is the frozen SFT
# model; the policy starts as a copy of it. Watch the loss and the **reward accuracy**: how often the
# implicit reward ranks the chosen response above the rejected one in the batch.

# %%
import matplotlib.pyplot as plt

from rlcore.dpo import train_dpo
from rlcore.models import reference_model

n_pairs = profile.rm_pairs
human_pairs = world.preference_pairs("train", n_pairs, seed=0, labels="human")
reference = reference_model(sft)
policy, _ = load_sft(profile)  # a second copy of the SFT model: DPO trains this one
BETA = 0.5
seed_everything(profile.seed)
stats = train_dpo(policy, reference, tokenizer, human_pairs, beta=BETA, epochs=2, batch_size=16, lr=1e-4,
                  seed=profile.seed)

fig, axes = plt.subplots(1, 2, figsize=(9, 2.8))
for ax, key in zip(axes, ("loss", "reward_accuracy")):
    values = [s[key] for s in stats]
    smooth = [sum(values[max(0, i - 9):i + 1]) / len(values[max(0, i - 9):i + 1]) for i in range(len(values))]
    ax.plot(values, alpha=0.3)
    ax.plot(smooth)
    ax.set_title(key)
    ax.set_xlabel("step")
plt.show()
first, last = stats[:10], stats[-10:]
print(f"loss {sum(s['loss'] for s in first) / 10:.3f} -> {sum(s['loss'] for s in last) / 10:.3f}")

# %%
assert sum(s["loss"] for s in stats[-10:]) < sum(s["loss"] for s in stats[:10]), "the DPO loss should fall"

# %% [markdown]
# ## A DPO policy is a reward model
#
# Its implicit reward $\beta \log \frac{\pi(y|x)}{\pi_\text{ref}(y|x)}$ ranks any two responses. How
# well does it rank held-out pairs, judged by gold, next to the explicit reward model of lesson 03
# trained on the same labels?

# %%
from rlcore.course import load_reward_model
from rlcore.dpo import implicit_rewards
from rlcore.reward import pair_rewards, preference_accuracy

test_gold = world.preference_pairs("test", 300, seed=1, labels="gold")
dpo_accuracy = preference_accuracy(*implicit_rewards(policy, reference, tokenizer, test_gold, beta=BETA))
reward_model = load_reward_model(profile, sft, tokenizer)
rm_accuracy = preference_accuracy(*pair_rewards(reward_model, tokenizer, test_gold))
print(f"gold accuracy on 300 held-out pairs: DPO implicit reward {dpo_accuracy:.0%}, "
      f"reward model of lesson 03 {rm_accuracy:.0%}")

# %% [markdown]
# ## What the policies write, judged by gold
#
# On held-out prompts: win rate against SFT (ties count half), harmless rate on held-out harmful
# requests, the KL to the SFT reference (nats per response), and the mean length. The PPO row is the
# policy lesson 05 saved; if you have not run lesson 05 on this machine, the row is left out.

# %%
from rlcore.evaluate import harmless_rate, kl_to_reference, mean_gold, sample_responses, win_rate
from rlcore.models import load_base

prompts = world.prompts("test", 300, seed=4)
harmful = world.prompts("test", 100, seed=5, families=("harmful",))
policies = {"SFT": sft, "DPO": policy}
ppo_path = os.path.join(COURSE_DIR, "policy_rlhf")
if os.path.exists(os.path.join(ppo_path, "config.json")):
    policies["PPO (lesson 05)"] = load_base(ppo_path)[0]
else:
    print(f"No PPO policy in {ppo_path}: run notebook 05 to add the PPO row.")

responses = {name: sample_responses(m, tokenizer, prompts, max_new_tokens=profile.max_new_tokens, seed=0)
             for name, m in policies.items()}
results = {}
for name, model in policies.items():
    on_harmful = sample_responses(model, tokenizer, harmful, max_new_tokens=profile.max_new_tokens, seed=0)
    results[name] = {
        "win vs SFT": win_rate(prompts, responses[name], responses["SFT"])["win_rate"],
        "harmless": harmless_rate(harmful, on_harmful),
        "mean gold": mean_gold(prompts, responses[name]),
        "KL to SFT": kl_to_reference(model, sft, tokenizer, prompts[:128], profile.max_new_tokens, seed=0),
        "words": sum(len(r.split()) for r in responses[name]) / len(prompts),
    }
print(f"{'policy':16s} {'win vs SFT':>10s} {'harmless':>9s} {'mean gold':>9s} {'KL to SFT':>9s} {'words':>6s}")
for name, row in results.items():
    print(f"{name:16s} {row['win vs SFT']:10.0%} {row['harmless']:9.0%} {row['mean gold']:+9.2f} "
          f"{row['KL to SFT']:9.2f} {row['words']:6.1f}")

# %%
assert results["DPO"]["mean gold"] > results["SFT"]["mean gold"], "DPO should improve on SFT under gold"

# %% [markdown]
# ## When to use which
#
# | | PPO with a reward model (RLHF / RLAIF) | DPO |
# | --- | --- | --- |
# | models in memory while training | 4 (policy, reference, value, reward) | 2 (policy, reference) |
# | samples from the policy while training | yes (on-policy; the slow part) | no (offline pairs) |
# | the reward | an explicit model you can inspect, re-use, normalise | implicit in the policy |
# | new prompts without labels | yes: the reward model scores anything | no: needs pairs |
# | knobs | many (KL coefficient, clipping, GAE, batch sizes) | mostly β |
# | risk | reward hacking of the reward model (lesson 09) | over-fitting the pairs; drifts on responses far from the data |
#
# **Try it**: train again with `BETA = 0.1` and `lr=3e-4`. What happens to the KL to SFT, the
# implicit reward's accuracy and the gold score? (β is DPO's leash, like PPO's KL coefficient.)
#
# DPO is the simpler default when you have good preference pairs that resemble what your policy
# writes. PPO earns its cost when the reward must generalise to fresh prompts, when the reward is a
# program or an AI labeler (d-RLAIF), or when you iterate: sample, label, train, repeat.
#
# **Reading**: Rafailov et al. 2023, *Direct Preference Optimization: Your Language Model is Secretly a
# Reward Model*, sections 4–5; Xu et al. 2024, *Is DPO Superior to PPO for LLM Alignment?*.
