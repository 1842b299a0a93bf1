# %% [markdown]
# # 09 · Reward hacking and over-optimisation
#
# **Learning goals**
# - See Goodhart's law happen: optimise a *proxy* reward (the reward model) hard enough and the *true*
#   reward (gold) stops following it, then falls (Gao et al. 2022, "Scaling Laws for Reward Model
#   Overoptimization").
# - Measure it two ways, against the KL from the starting policy: best-of-n sampling (KL known in
#   closed form) and a PPO run with no KL leash.
# - Fit Gao et al.'s functional forms to the gold curves.
# - Use the KL coefficient as the brake: pick the point of a saved run that a given coefficient would
#   have chosen, and read its gold score.
#
# *Time: ~20 minutes on a CPU.*

# %%
import json
import math
import os

import matplotlib.pyplot as plt
import torch

from rlcore import world
from rlcore.config import get_profile, seed_everything
from rlcore.course import COURSE_DIR, load_reward_model, load_sft

profile = get_profile()
seed_everything(profile.seed)
sft, tokenizer = load_sft(profile)
proxy = load_reward_model(profile, sft, tokenizer)  # lesson 03's reward model: the proxy
print("profile:", profile.name)

# %% [markdown]
# ## Two rewards
#
# The **proxy** is the reward model, trained on 600 noisy labels; the **gold** reward is the world's
# judge. Gao et al. had to train a large "gold" reward model to play the judge; our world has an exact
# one. We measure both on held-out prompts, relative to the SFT model's own answers.

# %%
from rlcore.evaluate import sample_responses

prompts = world.prompts("test", 64, seed=6)
N_MAX = 32
candidates = [[] for _ in prompts]  # candidates[i]: N_MAX SFT samples for prompt i
for k in range(N_MAX):
    for i, r in enumerate(sample_responses(sft, tokenizer, prompts, max_new_tokens=profile.max_new_tokens, seed=1000 * k)):
        candidates[i].append(r)
flat_prompts = [p for p, c in zip(prompts, candidates) for _ in c]
flat_responses = [r for c in candidates for r in c]
proxy_scores = proxy.score(tokenizer, flat_prompts, flat_responses).view(len(prompts), N_MAX).tolist()
gold_scores = [[world.gold_score(p, r) for r in c] for p, c in zip(prompts, candidates)]
base_proxy = sum(sum(s) for s in proxy_scores) / (len(prompts) * N_MAX)
base_gold = sum(sum(s) for s in gold_scores) / (len(prompts) * N_MAX)
print(f"SFT samples: mean proxy {base_proxy:+.2f}, mean gold {base_gold:+.2f}")

# %% [markdown]
# ## Best-of-n
#
# Draw n answers, keep the one the proxy likes best. No training at all, and the KL from the SFT model
# is known exactly: $\mathrm{KL}_{\text{bo}n} = \log n - \frac{n-1}{n}$. As n grows the proxy of the
# winner can only go up. Does gold?

# %%
from rlcore.evaluate import fit_gao, gao_curve, kl_best_of_n

bon = []
for n in (1, 2, 4, 8, 16, 32):
    # the N_MAX samples of each prompt make N_MAX / n independent draws of best-of-n: average over them
    groups = [range(g * n, (g + 1) * n) for g in range(N_MAX // n)]
    picks = [[max(group, key=ps.__getitem__) for group in groups] for ps in proxy_scores]  # by proxy
    bon.append({"n": n, "kl": kl_best_of_n(n),
                "proxy": sum(ps[j] for ps, js in zip(proxy_scores, picks) for j in js) / (len(prompts) * len(groups))
                - base_proxy,
                "gold": sum(gs[j] for gs, js in zip(gold_scores, picks) for j in js) / (len(prompts) * len(groups))
                - base_gold,
                "oracle": sum(max(gs[j] for j in group) for gs in gold_scores for group in groups)
                / (len(prompts) * len(groups)) - base_gold})
print(f"{'n':>3s} {'KL':>6s} {'proxy gain':>10s} {'gold gain':>9s} {'best-of-n by gold':>18s}")
for row in bon:
    print(f"{row['n']:3d} {row['kl']:6.2f} {row['proxy']:+10.2f} {row['gold']:+9.2f} {row['oracle']:+18.2f}")

# %% [markdown]
# The last column picks by *gold* instead: the best the n samples had to offer. The gap between it and
# the gold gain of the proxy's pick is the price of a proxy.

# %% [markdown]
# ## PPO with no leash
#
# Now train: PPO against the proxy with the KL coefficient set to **zero**, so nothing holds the policy
# near the SFT model. Every few steps we measure proxy, gold and the KL on the held-out prompts, and
# keep a few samples. The run is saved so the slider below can replay it.

# %%
from rlcore.evaluate import kl_to_reference, mean_gold
from rlcore.models import reference_model, value_model_from
from rlcore.ppo import PPOConfig, PPOTrainer
from tqdm.auto import tqdm

seed_everything(profile.seed)
policy, _ = load_sft(profile)
reference = reference_model(sft)
config = PPOConfig.from_profile(profile, seed=0, init_kl_coef=0.0, target_kl=None)
trainer = PPOTrainer(policy, reference, value_model_from(policy), tokenizer, config, reward_model=proxy)


def snapshot(step):
    responses = sample_responses(policy, tokenizer, prompts, max_new_tokens=profile.max_new_tokens, seed=7)
    return {"step": step, "kl": max(0.0, kl_to_reference(policy, reference, tokenizer, prompts,
                                                         profile.max_new_tokens, seed=7)),
            "proxy": proxy.score(tokenizer, prompts, responses).mean().item(),
            "gold": mean_gold(prompts, responses), "samples": responses[:3]}


STEPS, EVERY = 2 * profile.ppo_steps, max(1, profile.ppo_steps // 4)  # twice the usual run
run = [snapshot(0)]
for step in tqdm(range(1, STEPS + 1), desc="PPO, no KL penalty"):
    trainer.step(world.prompts("train", config.batch_size, seed=5000 + step))
    if step % EVERY == 0:
        run.append(snapshot(step))
start = dict(run[0])
for row in run:  # gains over the SFT policy's own samples at step 0
    row["proxy"] -= start["proxy"]
    row["gold"] -= start["gold"]
with open(os.path.join(COURSE_DIR, "overoptimisation_run.json"), "w") as f:
    json.dump({"best_of_n": bon, "ppo": run}, f, indent=1)
for row in run:
    print(f"step {row['step']:3d}  KL {row['kl']:6.2f}  proxy {row['proxy']:+.2f}  gold {row['gold']:+.2f}")

# %% [markdown]
# What does a policy that fooled the reward model write? The first held-out prompts, at the start of
# the run and at its end:

# %%
from rlcore.world.gold import last_human_turn

for i in range(3):
    print(last_human_turn(prompts[i])[:90])
    print("   step   0:", run[0]["samples"][i].strip()[:150])
    print(f"   step {run[-1]['step']:3d}:", run[-1]["samples"][i].strip()[:150])

# %% [markdown]
# ## Gold vs proxy against √KL, with Gao et al.'s fits
#
# Gao et al. found that gold follows $d(\alpha - \beta d)$ for best-of-n and $d(\alpha - \beta \log d)$
# for RL, with $d = \sqrt{\mathrm{KL}}$: up first, then down once the proxy's errors dominate.

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharey=True)
fits = {}
for ax, (name, rows, form) in zip(axes, (("best-of-n", bon, "bon"), ("PPO, no KL penalty", run, "rl"))):
    d = [math.sqrt(r["kl"]) for r in rows]
    ax.plot(d, [r["proxy"] for r in rows], "o-", label="proxy (reward model)")
    ax.plot(d, [r["gold"] for r in rows], "o-", label="gold")
    try:
        fits[name] = fit_gao([r["kl"] for r in rows], [r["gold"] for r in rows], form)
        grid = [max(d) * i / 50 for i in range(51)]
        ax.plot(grid, [gao_curve(x, *fits[name], form) for x in grid], "--", color="gray", label=f"Gao fit ({form})")
    except ValueError as err:  # e.g. a run whose KL never left 0
        print(name, "no fit:", err)
    ax.set_title(name)
    ax.set_xlabel("√KL from the SFT model (nats^½)")
    ax.axhline(0, color="black", lw=0.5)
axes[0].set_ylabel("gain over SFT")
axes[0].legend()
plt.show()
for name, (alpha, beta) in fits.items():
    print(f"{name}: alpha {alpha:+.2f}, beta {beta:+.2f}")

# %%
assert run[-1]["kl"] > run[0]["kl"], "without a KL penalty the policy drifts from SFT"
assert run[-1]["proxy"] - run[-1]["gold"] > run[0]["proxy"] - run[0]["gold"], "the proxy outruns gold"

# %% [markdown]
# ## The KL coefficient as a brake
#
# PPO with a KL coefficient β maximises proxy − β·KL. Along our saved run, the point that objective
# prefers is $\arg\max_t\ \text{proxy}_t - \beta\,\mathrm{KL}_t$: a larger β stops earlier. Move the
# slider to see which snapshot a given β picks and what gold thinks of it. (Under a test runner the
# slider's cell prints the default; the table below it shows a few values.)

# %%
import ipywidgets as widgets


def pick(beta):
    return max(run, key=lambda r: r["proxy"] - beta * r["kl"])


def show(beta=0.05):
    r = pick(beta)
    print(f"beta {beta:.3f} -> stop at step {r['step']}: KL {r['kl']:.2f}, proxy {r['proxy']:+.2f}, gold {r['gold']:+.2f}")
    print("sample:", last_human_turn(prompts[0])[:80], "->", r["samples"][0].strip()[:120])


widgets.interact(show, beta=widgets.FloatLogSlider(value=0.05, base=10, min=-3, max=0, step=0.25));

# %%
for beta in (0.0, 0.01, 0.05, 0.2, 1.0):
    r = pick(beta)
    print(f"beta {beta:5.2f}: step {r['step']:3d}, KL {r['kl']:5.2f}, proxy {r['proxy']:+.2f}, gold {r['gold']:+.2f}")

# %% [markdown]
# ## What to take away
#
# - A reward model is a proxy; the harder you optimise it, the more its errors matter. Best-of-n and
#   RL both show it; RL reaches a given proxy score at a much larger KL.
# - The KL penalty (lesson 05's leash) is the brake: it trades proxy reward for staying where the
#   reward model is still right. Early stopping by gold is what we wish we could do; on real tasks we
#   cannot measure gold, which is why the KL coefficient matters.
# - Bigger reward models and more labels push the peak further out (Gao et al.); the Bayes limit of
#   the labels (lesson 03) bounds how far.
#
# **Reading**: Gao, Schulman, Hilton 2022, *Scaling Laws for Reward Model Overoptimization*, sections
# 2–3; Stiennon et al. 2020, appendix on best-of-n KL.
