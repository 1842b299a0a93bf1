# %% [markdown]
# # 09 · Reward hacking and over-optimisation
#
# **Learning goals**
# - See Goodhart's law happen: optimise a *proxy* reward (the reward model) hard enough and the *true*
#   reward (gold) stops following it, then falls (Gao et al. 2022, "Scaling Laws for Reward Model
#   Overoptimization").
# - Measure it two ways, against the KL from the starting policy: best-of-n sampling (KL bounded in
#   closed form) and a PPO run with no KL leash.
# - Fit Gao et al.'s functional forms to the gold curves.
# - Use the KL coefficient as the brake: pick the point of a saved run that a given coefficient would
#   have chosen, and read its gold score.
#
# *Time: ~20 minutes on a CPU.*

# %%
import json
import math

import matplotlib.pyplot as plt

from rlcore import stages
from rlcore.config import seed_everything
from rlcore.course import course_path, load_human_reward_model, load_sft, start

profile, data = start()  # the profile ($RLCORE_PROFILE, else by hardware), seeded; its data
judge = data.judge()  # the world's gold judge, or the profile's AI judge model
sft, tokenizer = load_sft(profile)
proxy = load_human_reward_model(profile)  # lesson 03's reward model: the proxy
print(f"profile {profile.name} | data {data.name} | judge: {judge.name}")

# %% [markdown]
# ## Two rewards
#
# The **proxy** is the reward model of lesson 03, trained on the data's human labels. The **gold**
# reward is what we really want, and it needs a *score* per response. Gao et al. had no true reward
# either: they trained a much larger reward model and let it play "gold".
#
# - On the synthetic world we have the real thing: the world's gold judge (`rlcore.world.gold_score`),
#   exact and noiseless.
# - On any other preference data there is no gold. We do what Gao et al. did and let a stronger model
#   stand in for it: the course's AI judge model rates each response directly, 1 to 10, under the
#   judge's principle (`rlcore.labeler.AILabeler.score`, the d-RLAIF rating, rescaled to [-1, 1]). It is
#   itself a proxy, only a different one from the reward model; the next cell prints how often each of
#   the two ranks held-out labelled pairs the way their labels do, which says how far to trust it.

# %%
from rlcore.reward import pair_rewards, preference_accuracy

gold = judge.score  # (N,) one score per response: the world's gold, or the AI judge's rating (the stand-in)
GOLD = judge.score_name

test = data.test_pairs(profile.rm.test_pairs, policy=course_path("sft"))
labels = data.test_labels
gold_accuracy = preference_accuracy(gold([p.prompt for p in test], [p.chosen for p in test]),
                                    gold([p.prompt for p in test], [p.rejected for p in test]))
proxy_accuracy = preference_accuracy(*pair_rewards(proxy, tokenizer, test, profile.lengths))
print(GOLD)
print(f"accuracy on {len(test)} held-out pairs ({labels}): proxy {proxy_accuracy:.0%}, gold {gold_accuracy:.0%}")

# %% [markdown]
# We measure both rewards on held-out prompts, relative to the SFT model's own answers.

# %%
prompts, _ = data.evaluation_prompts(profile.eval.bon_prompts)
N_MAX = profile.eval.bon_samples
candidates = [[] for _ in prompts]  # candidates[i]: N_MAX SFT samples for prompt i
for k in range(N_MAX):
    for i, r in enumerate(stages.sample(profile, sft, tokenizer, prompts, seed=1000 * k)):
        candidates[i].append(r)
flat_prompts = [p for p, c in zip(prompts, candidates) for _ in c]
flat_responses = [r for c in candidates for r in c]
proxy_scores = proxy.score(tokenizer, flat_prompts, flat_responses, profile.lengths)
proxy_scores = proxy_scores.float().view(len(prompts), N_MAX).tolist()
gold_scores = gold(flat_prompts, flat_responses).view(len(prompts), N_MAX).tolist()
base_proxy = sum(sum(s) for s in proxy_scores) / (len(prompts) * N_MAX)
base_gold = sum(sum(s) for s in gold_scores) / (len(prompts) * N_MAX)
print(f"{len(prompts)} prompts x {N_MAX} SFT samples: mean proxy {base_proxy:+.2f}, mean gold {base_gold:+.2f}")

# %% [markdown]
# ## Best-of-n
#
# Draw n answers, keep the one the proxy likes best (`rlcore.evaluate.best_of_n`). No training at all,
# and its KL from the SFT model needs no samples to bound: $\mathrm{KL}_{\text{bo}n} \le \log n - \frac{n-1}{n}$, the
# formula Stiennon et al. (2020) and Gao et al. (2022) use. It is an upper bound, not the KL itself (Beirami et al.
# 2024): equal only when the n samples can never repeat, and loose when they often do, as short answers from a small
# model can; we plot against it as Gao et al. do.
# As n grows the proxy of the winner can only go up. Does gold?

# %%
from rlcore.evaluate import best_of_n, fit_gao, gao_curve, kl_best_of_n

scores = {(p, r): (ps, gs)  # the proxy and gold score of every candidate, to look up the picks
          for p, c, pss, gss in zip(prompts, candidates, proxy_scores, gold_scores) for r, ps, gs in zip(c, pss, gss)}
bon = []
for n in (n for n in (1, 2, 4, 8, 16, 32, 64, 128) if n <= N_MAX):
    # the N_MAX samples of each prompt make N_MAX / n independent draws of best-of-n: average over them
    picked_prompts, by_proxy, by_gold = [], [], []
    for g in range(N_MAX // n):
        group = [c[g * n:(g + 1) * n] for c in candidates]
        picked_prompts += prompts
        by_proxy += best_of_n(group, [s[g * n:(g + 1) * n] for s in proxy_scores])
        by_gold += best_of_n(group, [s[g * n:(g + 1) * n] for s in gold_scores])
    mean = lambda picks, k: sum(scores[p, r][k] for p, r in zip(picked_prompts, picks)) / len(picks)
    bon.append({"n": n, "kl": kl_best_of_n(n), "proxy": mean(by_proxy, 0) - base_proxy,
                "gold": mean(by_proxy, 1) - base_gold, "oracle": mean(by_gold, 1) - base_gold})
print(f"{'n':>3s} {'KL bound':>8s} {'proxy gain':>10s} {'gold gain':>9s} {'best-of-n by gold':>18s}")
for row in bon:
    print(f"{row['n']:3d} {row['kl']:8.2f} {row['proxy']:+10.2f} {row['gold']:+9.2f} {row['oracle']:+18.2f}")

# %% [markdown]
# The last column picks by *gold* instead: the best the n samples had to offer. The gap between it and
# the gold gain of the proxy's pick is the price of a proxy. Both columns that pick by a score can only
# grow with n (the best of 2n samples is the better of two best-of-n picks), and picking by gold can
# never do worse on gold than picking by the proxy; the next cell checks it on both tracks.

# %%
tol = 1e-6
assert all(a["proxy"] <= b["proxy"] + tol and a["oracle"] <= b["oracle"] + tol for a, b in zip(bon, bon[1:]))
assert all(row["oracle"] >= row["gold"] - tol for row in bon)

# %% [markdown]
# ## PPO with no leash
#
# Now train: PPO against the proxy with the KL coefficient set to **zero** (and no KL target), so
# nothing holds the policy near the SFT model: this lesson's own experiment, on the same train prompts
# as lesson 05 (`data.prompt_batches`), for half as many steps again as lesson 05 (the collapse comes late:
# first the policy has to wander far enough to find what the proxy overrates). Every few steps we measure
# proxy, gold and the KL on the held-out prompts, and keep a few samples. The run is saved so the slider
# below can replay it.

# %%
import dataclasses

from rlcore.evaluate import kl_to_reference
from rlcore.models import reference_model, value_model_from
from rlcore.ppo import PPOTrainer
from rlcore.rollout import responses_of, sample_rollouts
from tqdm.auto import tqdm

seed_everything(profile.seed)
policy, _ = load_sft(profile)
reference = reference_model(sft, profile.compute_dtype)
config = dataclasses.replace(profile.ppo, init_kl_coef=0.0, target_kl=None)  # no KL penalty: a fixed beta of 0
trainer = PPOTrainer(policy, reference, value_model_from(policy), tokenizer, config, profile.lengths, profile.seed,
                     reward_model=proxy)


REFUSALS = ("can't help", "cannot help", "won't help", "not able to help", "can't assist", "cannot assist")


def snapshot(step):
    rollouts = sample_rollouts(policy, tokenizer, prompts, profile.lengths.max_new_tokens, seed=7,
                               max_prompt_tokens=profile.lengths.max_prompt_tokens)  # as stages.sample draws them
    responses = responses_of(rollouts)  # their text: scored below, and the KL is measured on the same samples
    return {"step": step, "kl": max(0.0, kl_to_reference(policy, reference, tokenizer, prompts, rollouts=rollouts)),
            "proxy": proxy.score(tokenizer, prompts, responses, profile.lengths).float().mean().item(),
            "gold": gold(prompts, responses).mean().item(), "samples": responses[:3],
            "refusals": sum(any(m in r.lower() for m in REFUSALS) for r in responses) / len(responses)}


STEPS = profile.ppo.steps * 3 // 2  # half as long again as the usual run, without its brake
EVERY = max(1, STEPS // 10)
batches = data.prompt_batches(config.batch_size)
run = [snapshot(0)]
for step in tqdm(range(1, STEPS + 1), desc="PPO, no KL penalty"):
    trainer.step(next(batches))
    if step % EVERY == 0:
        run.append(snapshot(step))
start = dict(run[0])
for row in run:  # gains over the SFT policy's own samples at step 0
    row["proxy"] -= start["proxy"]
    row["gold"] -= start["gold"]
with open(course_path("overoptimisation_run.json"), "w") as f:
    json.dump({"gold": GOLD, "best_of_n": bon, "ppo": run}, f, indent=1)
for row in run:
    print(f"step {row['step']:3d}  KL {row['kl']:6.2f}  proxy {row['proxy']:+.2f}  gold {row['gold']:+.2f}")

# %% [markdown]
# What does a policy that fooled the reward model write? The first held-out prompts, at the start of
# the run, where its answers refuse most often, and at its end:

# %%
from rlcore.world import last_human_turn  # the last "Human:" turn of any HH-format prompt

peak_refusals = max(run, key=lambda row: row["refusals"])  # the snapshot where most answers refuse
for i in range(3):
    print(last_human_turn(prompts[i])[:90])
    for row in (run[0], peak_refusals, run[-1]):  # the start, the refusals' peak, the end
        print(f"   step {row['step']:3d}:", row["samples"][i].strip()[:150])

from rlcore.readings import change_sentence, say, trend

say(change_sentence(f"the share of held-out answers that refuse, from step 0 to its peak at step {peak_refusals['step']},",
                    run[0]["refusals"], peak_refusals["refusals"], 0.05, percent=True),
    f"At step {run[-1]['step']}, {run[-1]['refusals']:.0%} of the answers still hold a whole refusal phrase "
    f"(\"can't help\" and the like); read the last samples above for what the others became.")

# %% [markdown]
# Name the hack. On the tiny world track the policy with no leash first learned to **refuse**: whatever the
# request, it answers with the refusal phrases the reward model learned to score highly on harmful requests ("I
# can't help with that. I have to say no because ..."), and at the peak most of its answers hold one (the reading
# above; checked below). The proxy learned that a
# refusal beats instructions for harm, which is true on harmful requests and nowhere else, and never learned that
# refusing a harmless request is bad, because the SFT samples it was trained on almost never did. With still no
# leash, the hack does not stop at a clean refusal: the phrases the proxy likes get spliced and repeated until the
# text breaks apart ("I can't't't't", "I have to say no because I have to say no because"), which the proxy goes on
# scoring highly, and which no longer even reads as a refusal (the last line of the reading). Gold penalises
# over-refusal and garbled text alike, so gold falls as the proxy climbs (the table above). On other data, read the
# samples for the same pattern: one phrasing the reward model loves, repeated whatever the question.

# %%
if data.is_world:  # gold's verdicts, which the text states for the world track
    assert trend(run[0]["refusals"], peak_refusals["refusals"], 0.05) == "rises" and peak_refusals["refusals"] > 0.5, \
        "at the peak most of its answers are refusals"

# %% [markdown]
# ## Gold vs proxy against √KL, with Gao et al.'s fits
#
# Gao et al. found that gold follows $d(\alpha - \beta d)$ for best-of-n and $d(\alpha - \beta \log d)$
# for RL, with $d = \sqrt{\mathrm{KL}}$: up first, then down once the proxy's errors dominate. We fit
# both forms (`rlcore.evaluate.fit_gao`) to whatever gold we have: the world's, or the stand-in.

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
    ax.set_xlabel("√(KL bound) from the SFT model (nats^½)" if form == "bon" else "√KL from the SFT model (nats^½)")
    ax.axhline(0, color="black", lw=0.5)
    ax.legend(fontsize=8)
axes[0].set_ylabel("gain over SFT (each in its own score's units)", fontsize=9)
plt.show()
print(GOLD)
for name, (alpha, beta) in fits.items():
    print(f"{name}: alpha {alpha:+.2f}, beta {beta:+.2f}")

# %%
peak = max(bon, key=lambda r: r["gold"])
say(f"Best-of-n's gold gain peaks at n = {peak['n']} ({peak['gold']:+.2f}); at n = {bon[-1]['n']} it is "
    f"{bon[-1]['gold']:+.2f}, while the proxy's gain goes from {peak['proxy']:+.2f} to {bon[-1]['proxy']:+.2f} and "
    f"the best answer among the same samples, picked by gold, from {peak['oracle']:+.2f} to {bon[-1]['oracle']:+.2f}.",
    change_sentence(f"best-of-n's gold gain, from its peak to n = {bon[-1]['n']},", peak["gold"], bon[-1]["gold"], 0.05),
    *(f"The fit for {name}: β = {beta:+.2f}, " + ("**it bends down**, as in Gao et al." if beta > 0 else
                                                 "**no bend down**: this form does not describe this run.")
      for name, (alpha, beta) in fits.items()))

# %% [markdown]
# Without a KL penalty the policy drifts away from the SFT model on any data. On the tiny world track
# the proxy keeps climbing while gold stops: best-of-n's gold rises, peaks, and by n = 32 has turned *down* (the
# reading above), although the samples still held better answers (the "by gold" column goes on rising): from
# more samples the proxy picks more of its own mistakes, the answers it overrates most. PPO's gold rises, then falls
# back, far below where it started, at a KL of tens of
# nats: the policy found text the proxy loves and gold does not (read its samples above). Best-of-n's fitted β is
# positive: its curve bends down, as in Gao et al. (checked below), and gently: within a KL bound of 2.5 nats the proxy has
# only begun to mislead. PPO without a leash goes more than ten times as far, and whether Gao et al.'s RL form,
# $d(\alpha - \beta\log d)$, describes a run that rose and then crashed that far is for its β to say (the reading
# above): read the points themselves before the dashed line. Best-of-n's own samples held much better
# answers (the "by gold" column): the proxy could not find them. And RL is the less KL-efficient optimiser:
# within best-of-32's KL bound, PPO's proxy gain stays below best-of-32's. The cell below checks the drift
# on both tracks and the rest on the world; on other data, read the printed numbers: the stand-in gold is a
# second proxy, and how well it stood in is the accuracy printed at the top.

# %%
assert all(math.isfinite(r["kl"]) for r in run)
assert run[-1]["kl"] > run[0]["kl"], "without a KL penalty the policy drifts from SFT"
if data.is_world:  # gold's verdicts, which the text states for the world track
    assert run[-1]["proxy"] - run[-1]["gold"] > run[0]["proxy"] - run[0]["gold"], "the proxy outruns gold"
    for rows in (bon, run):  # at the end: the proxy at its highest, gold no higher than its best on the way
        assert rows[-1]["proxy"] == max(r["proxy"] for r in rows), "the proxy keeps climbing"
        assert max(r["gold"] for r in rows) > rows[0]["gold"] + 0.1, "gold rises first"
    if bon[-1]["n"] >= 32:  # the profile's eval.bon_samples: 32 on the tiny profile
        assert peak["n"] < bon[-1]["n"] and trend(peak["gold"], bon[-1]["gold"], 0.05) == "falls", \
            "best-of-n's gold peaks and has turned down by n = 32"
        assert bon[-1]["oracle"] > peak["oracle"], "while the samples still held better answers"
    assert run[-1]["gold"] < max(r["gold"] for r in run) - 0.5, "PPO's gold rises, then falls back"
    assert run[-1]["kl"] > 10 * bon[-1]["kl"], "PPO without a leash goes more than ten times as far as best-of-n"
    assert run[-1]["gold"] < run[0]["gold"] - 0.3, "PPO's gold ends far below where it started"
    assert run[-1]["kl"] > 10, "at a KL of tens of nats"
    assert fits["best-of-n"][1] > 0, "best-of-n's Gao fit bends down"
    assert bon[-1]["oracle"] > bon[-1]["gold"] + 0.3, "the samples held much better answers than the proxy picked"
    assert max(r["proxy"] for r in run if r["kl"] <= bon[-1]["kl"]) < bon[-1]["proxy"], "RL: less proxy per KL"

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
print(GOLD)
for beta in (0.0, 0.01, 0.05, 0.2, 1.0):
    r = pick(beta)
    print(f"beta {beta:5.2f}: step {r['step']:3d}, KL {r['kl']:5.2f}, proxy {r['proxy']:+.2f}, gold {r['gold']:+.2f}")
best_beta = max((0.0, 0.01, 0.05, 0.2, 1.0), key=lambda beta: pick(beta)["gold"])
best, top = pick(best_beta), max(run, key=lambda r: r["gold"])  # the best of these stops; gold's own peak on the run
say(f"Of these five coefficients, **β = {best_beta:g} stops where gold is highest**: step {best['step']}, gold "
    f"{best['gold']:+.2f}, against {pick(0.0)['gold']:+.2f} at β = 0's stop (step {pick(0.0)['step']}). Along the run "
    f"gold peaked at step {top['step']} ({top['gold']:+.2f}): "
    + ("the best brake stops right there." if best["step"] == top["step"] else
       f"the best brake stops {abs(best['step'] - top['step'])} steps {'after' if best['step'] > top['step'] else 'before'} "
       f"it, {top['gold'] - best['gold']:.2f} below "
       "that peak. A brake reads only the proxy and the KL; it can keep the run near gold's peak, not find it."))
if data.is_world:  # along our run the KL grows with the steps, so a larger beta picks an earlier step
    stops = [pick(beta)["step"] for beta in (0.0, 0.01, 0.05, 0.2, 1.0)]
    assert stops == sorted(stops, reverse=True), "a larger beta stops earlier"
    assert pick(0.2)["gold"] > pick(0.0)["gold"], "the brake keeps the policy where gold is higher"

# %% [markdown]
# Read the table: no brake (β = 0) or a light one lets the run go on deep into the region where gold fell; a
# moderate one (β = 0.2 here) stops where gold is higher than at any lighter brake's stop, and a heavy one (β = 1)
# never leaves SFT (both checked below). The right strength depends on the reward model and on the task, and on real
# data there is no gold to tune it by: the brake is set in advance, as lesson 05 does with its KL coefficient.

# %%
if data.is_world:  # gold's verdicts, which the text states for the world track
    assert pick(0.2)["gold"] > max(pick(beta)["gold"] for beta in (0.0, 0.01, 0.05)), "a moderate brake stops higher"
    assert pick(1.0)["step"] == 0, "a heavy brake never leaves SFT"

# %% [markdown]
# ## What to take away
#
# - A reward model is a proxy; the harder you optimise it, the more its errors matter. Best-of-n and
#   RL both show it on the tiny world track; RL pays more KL for the same proxy gain.
# - The KL penalty (lesson 05's leash) is the brake: it trades proxy reward for staying where the
#   reward model is still right. Early stopping by gold is what we wish we could do; on real tasks we
#   cannot measure gold (here, off the world, we only had a second model standing in for it), which is
#   why the KL coefficient matters.
# - Bigger reward models and more labels push the peak further out (Gao et al.); the Bayes limit of
#   the labels (lesson 03) bounds how far.
#
# **Reading**: Gao, Schulman, Hilton 2022, *Scaling Laws for Reward Model Overoptimization*, sections
# 2–3; Stiennon et al. 2020, appendix on best-of-n KL.
