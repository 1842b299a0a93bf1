# %% [markdown]
# # 00 · RL and RLHF in one picture
#
# **Learning goals**
# - Name the RL pieces in a language model: state, action, policy, reward, episode.
# - Say what the three steps of RLHF are: SFT → reward model → RL (PPO).
# - See why RLHF keeps the policy on a *leash*: a KL penalty to the model it started from.
#
# *Time: ~10 minutes on a CPU.*

# %%
from rlcore.config import get_profile, seed_everything

profile = get_profile()  # RLCORE_PROFILE, else "tiny" on a CPU and "gpt-neo-125m" on a GPU
seed_everything(0)
print(profile.name, "| policy:", profile.policy_model, "| data:", profile.dataset)

# %% [markdown]
# ## A language model is a policy
#
# | RL word | in a language model |
# | --- | --- |
# | **state** $s_t$ | the prompt plus the tokens written so far |
# | **action** $a_t$ | the next token |
# | **policy** $\pi_\theta(a_t \mid s_t)$ | the model's next-token distribution |
# | **episode** | one response, ending at EOS (or when we stop it) |
# | **reward** | a score for the whole response, given at its last token |
#
# The CPU track of this course lives in a small synthetic *assistant world* whose true preference is a
# program, the **gold judge** (see `course/world.md`). Here is one state and two possible episodes:

# %%
import random

from rlcore import world

prompt = world.sample_prompts("train", 1, seed=3, families=("harmful",))[0]
rng = random.Random(0)
for style in ("compliance", "refusal_alternative"):
    response = world.respond(prompt, style, rng)
    print(f"{style:>20}: gold = {world.gold_score(prompt.text, response):+.2f} |{response}")
print("\nprompt:", repr(prompt.text))

# %% [markdown]
# ## The three steps
#
# 1. **SFT**: fine-tune the pretrained model on demonstrations of good answers.
# 2. **Reward model**: people (RLHF) or an AI labeler (RLAIF) compare pairs of answers; a model learns
#    to give the preferred one a higher score (Bradley–Terry ranking loss).
# 3. **RL**: PPO makes the SFT model write answers the reward model scores highly, while a KL penalty
#    keeps it close to the SFT model.

# %%
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(10, 1.8))
steps = ["pretrained\nmodel", "SFT\n(demonstrations)", "reward model\n(human or AI labels)", "PPO\n(reward − β·KL)"]
for i, label in enumerate(steps):
    ax.add_patch(plt.Rectangle((i * 2.6, 0), 2.0, 1.0, fc="#dde6f3", ec="#4c72b0"))
    ax.text(i * 2.6 + 1.0, 0.5, label, ha="center", va="center", fontsize=10)
    if i:
        ax.annotate("", xy=(i * 2.6, 0.5), xytext=(i * 2.6 - 0.6, 0.5), arrowprops=dict(arrowstyle="->"))
ax.set_xlim(-0.1, 10.5)
ax.set_ylim(-0.1, 1.1)
ax.axis("off")
plt.show()

# %% [markdown]
# ## KL as the leash
#
# RLHF maximises $\;\mathbb{E}_{y\sim\pi}[r(y)] - \beta\,\mathrm{KL}(\pi \,\|\, \pi_\text{ref})$. For a
# single choice among a few answers this has a closed form (e.g. Rafailov et al. 2023, eq. 4):
# $\pi^*(y) \propto \pi_\text{ref}(y)\, e^{r(y)/\beta}$.
# A large β keeps the reference's habits; a small β chases the reward. Below, the "answers" are the
# world's response styles to a harmful request, $\pi_\text{ref}$ is how often the web writes each, and
# $r$ is the gold score.

# %%
import math

from rlcore.world.corpus import WEB_STYLE_MIX

styles = list(WEB_STYLE_MIX["harmful"])
pi_ref = [WEB_STYLE_MIX["harmful"][s] for s in styles]
reward = [world.gold_score(prompt.text, world.respond(prompt, s, rng)) for s in styles]


def optimal_policy(beta):
    w = [p * math.exp(r / beta) for p, r in zip(pi_ref, reward)]
    return [x / sum(w) for x in w]


fig, ax = plt.subplots(figsize=(8, 3))
betas = [10.0, 1.0, 0.3]
width = 0.2
ax.bar([i - width for i in range(len(styles))], pi_ref, width, label="π_ref (the web)")
for k, beta in enumerate(betas):
    ax.bar([i + k * width for i in range(len(styles))], optimal_policy(beta), width, label=f"π*, β={beta}")
ax.set_xticks(range(len(styles)), styles, rotation=15)
ax.set_ylabel("probability")
ax.legend()
plt.show()
for beta in betas:
    pi = optimal_policy(beta)
    kl = sum(p * math.log(p / q) for p, q in zip(pi, pi_ref))
    print(f"beta={beta:>4}: expected gold {sum(p * r for p, r in zip(pi, reward)):+.2f}, KL to reference {kl:.2f} nats")

# %%
# The leash at work: a smaller beta buys more reward and pays in KL.
pis = [optimal_policy(b) for b in betas]
gains = [sum(p * r for p, r in zip(pi, reward)) for pi in pis]
assert gains == sorted(gains), "lower beta must give at least as much expected reward"

# %% [markdown]
# **Exercise (5 min).** Which β makes the policy refuse (with or without an alternative) at least 90%
# of the time? Try a few values with `optimal_policy`.
