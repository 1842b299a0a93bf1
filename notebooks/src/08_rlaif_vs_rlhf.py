# %% [markdown]
# # 08 · RLAIF vs RLHF: the Lee et al. table in miniature
#
# **Learning goals**
# - Replace the human labels of lesson 03 with AI labels from the labeler of lesson 06, and run the
#   same PPO as lesson 05: that is RLAIF (Lee et al. 2023).
# - Compare SFT, RLHF and RLAIF on held-out prompts with the gold judge: win rates with 95% intervals,
#   head to head, harmless rates, and per scenario (benign, harmful, emotional support, sensitive,
#   summaries).
# - Read the result next to the paper's: RLAIF vs SFT 71%, RLHF vs SFT 73%, RLAIF vs RLHF 50%;
#   harmless rate SFT 64%, RLHF 76%, RLAIF 88%.
#
# *Time: ~20 minutes on a CPU.*

# %%
import os

import torch

from rlcore import world
from rlcore.config import get_profile, seed_everything
from rlcore.course import COURSE_DIR, course_path, load_reward_model, load_sft

profile = get_profile()
seed_everything(profile.seed)
sft, tokenizer = load_sft(profile)
print("profile:", profile.name)

# %% [markdown]
# ## AI labels for the pairs the humans labelled
#
# Lesson 03's reward model learned from 600 simulated-human labels. Here the AI labeler labels the
# very same 600 comparisons: soft labels, both orders averaged (lesson 06). How often does each kind
# of label agree with gold?

# %%
from rlcore.labeler import AILabeler
from rlcore.models import load_base
from rlcore.world.humans import comparisons

n_pairs = profile.rm_pairs
triples = comparisons("train", n_pairs, seed=0)
human_pairs = world.preference_pairs("train", n_pairs, seed=0, labels="human")  # the same triples, human labels
labeler_model, labeler_tokenizer = load_base(profile.labeler_model)
labeler = AILabeler(labeler_model, labeler_tokenizer, swap=True, seed=0)
ai_pairs = labeler.label(triples)
print(ai_pairs)


def gold_agreement(pairs):
    return sum(world.gold_score(r["prompt"], r["chosen"]) > world.gold_score(r["prompt"], r["rejected"])
               for r in pairs) / len(pairs)


human_agreement = gold_agreement([{"prompt": p.prompt, "chosen": p.chosen, "rejected": p.rejected}
                                  for p in human_pairs])
ai_agreement = gold_agreement(ai_pairs)
print(f"labels that agree with gold: simulated humans {human_agreement:.0%}, AI labeler {ai_agreement:.0%}")

# %% [markdown]
# ## A reward model on AI labels
#
# Same body, same head, same training as lesson 03, but the loss uses the *soft* label:
# $-[p \log\sigma(r_a - r_b) + (1-p)\log\sigma(r_b - r_a)]$ (`rlcore.reward.soft_ranking_loss`).
# Then both reward models are measured on held-out pairs labelled by gold.

# %%
from rlcore.evaluate import sample_responses
from rlcore.models import reward_model_from
from rlcore.reward import pair_rewards, preference_accuracy, train_reward_model

torch.manual_seed(0)
rm_ai = reward_model_from(sft)
train_reward_model(rm_ai, tokenizer, [dict(r) for r in ai_pairs], epochs=profile.rm_epochs,
                   batch_size=profile.rm_batch_size, lr=profile.rm_lr, soft_labels=True, seed=0)
rm_human = load_reward_model(profile, sft, tokenizer)
test_gold = world.preference_pairs("test", 300, seed=1, labels="gold")
rm_accuracy = {name: preference_accuracy(*pair_rewards(rm, tokenizer, test_gold))
               for name, rm in (("human labels", rm_human), ("AI labels", rm_ai))}
print("reward-model gold accuracy on 300 held-out pairs:",
      ", ".join(f"{k} {v:.0%}" for k, v in rm_accuracy.items()))

# normalise on the SFT model's own samples, as lesson 05 did step by step, so one KL coefficient fits both
for rm in (rm_human, rm_ai):
    rm.normalise_on_samples(sft, tokenizer, world.prompts("train", 128, seed=3), max_new_tokens=profile.max_new_tokens)

# %% [markdown]
# ## PPO on each reward model
#
# The RLHF policy is the one lesson 05 trained (re-trained here if it is missing). The RLAIF policy
# gets exactly the same PPO: same SFT start, same prompts, same settings; only the reward model differs.

# %%
from rlcore import stages
from rlcore.course_data import course_data
from rlcore.plots import ppo_curves


def run_ppo(reward_model):
    """The course's PPO stage (lesson 05's loop, with the profile's settings) from lesson 02's SFT model."""
    return stages.ppo(profile, course_data(profile), course_path("sft"), reward_model, None)


histories = {}
rlhf_path = os.path.join(COURSE_DIR, "policy_rlhf")
if os.path.exists(os.path.join(rlhf_path, "config.json")):
    rlhf = load_base(rlhf_path)[0]
else:
    print(f"No RLHF policy in {rlhf_path}: training it now, as in notebook 05.")
    rlhf, histories["RLHF"] = run_ppo(rm_human)
    rlhf.save_pretrained(rlhf_path)
    tokenizer.save_pretrained(rlhf_path)
rlaif, histories["RLAIF"] = run_ppo(rm_ai)
rlaif.save_pretrained(os.path.join(COURSE_DIR, "policy_rlaif"))
_ = ppo_curves(histories, keys=("score", "kl", "entropy", "response_length"))

# %% [markdown]
# ## The table
#
# All three policies answer the same 300 held-out prompts (and 150 held-out harmful requests); gold
# judges every pair. A win rate counts ties as one half.

# %%
from rlcore.evaluate import harmless_rate, kl_to_reference, mean_gold, win_rate
from rlcore.plots import harmless_rates, win_rates

prompts = world.prompts("test", 300, seed=4)
harmful = world.prompts("test", 150, seed=5, families=("harmful",))
policies = {"sft": sft, "policy_rlhf": rlhf, "policy_rlaif": rlaif}
responses = {n: sample_responses(m, tokenizer, prompts, max_new_tokens=profile.max_new_tokens, seed=0)
             for n, m in policies.items()}
harmless = {n: harmless_rate(harmful, sample_responses(m, tokenizer, harmful, max_new_tokens=profile.max_new_tokens,
                                                       seed=0)) for n, m in policies.items()}
wins = {"RLHF vs SFT": win_rate(prompts, responses["policy_rlhf"], responses["sft"]),
        "RLAIF vs SFT": win_rate(prompts, responses["policy_rlaif"], responses["sft"]),
        "RLAIF vs RLHF": win_rate(prompts, responses["policy_rlaif"], responses["policy_rlhf"])}
paper = {"RLHF vs SFT": 0.73, "RLAIF vs SFT": 0.71, "RLAIF vs RLHF": 0.50}
print(f"{'comparison':14s} {'win rate':>9s} {'95% interval':>14s} {'Lee et al.':>10s}")
for name, w in wins.items():
    print(f"{name:14s} {w['win_rate']:9.0%} {w['ci95'][0]:7.0%}-{w['ci95'][1]:.0%} {paper[name]:10.0%}")
print()
paper_harmless = {"sft": 0.64, "policy_rlhf": 0.76, "policy_rlaif": 0.88}
print(f"{'policy':13s} {'harmless':>8s} {'Lee et al.':>10s} {'mean gold':>9s} {'KL to SFT':>9s} {'words':>6s}")
for n, m in policies.items():
    kl = kl_to_reference(m, sft, tokenizer, prompts[:128], profile.max_new_tokens, seed=0)
    words = sum(len(r.split()) for r in responses[n]) / len(prompts)
    print(f"{n:13s} {harmless[n]:8.0%} {paper_harmless[n]:10.0%} {mean_gold(prompts, responses[n]):+9.2f} "
          f"{kl:9.2f} {words:6.1f}")
_ = win_rates(wins)
_ = harmless_rates({"SFT": harmless["sft"], "RLHF": harmless["policy_rlhf"], "RLAIF": harmless["policy_rlaif"]})

# %%
assert harmless["policy_rlaif"] > harmless["sft"] and harmless["policy_rlhf"] > harmless["sft"], "both more harmless"
assert wins["RLHF vs SFT"]["win_rate"] > 0.5, "RLHF beats SFT"

# %% [markdown]
# ## Per scenario
#
# Lee et al. break results down by task. Our families play that role: where does each kind of
# feedback help, and where not?

# %%
from rlcore.pipeline import per_scenario

rows = per_scenario(prompts, responses)
print(f"{'scenario':10s} {'n':>4s} {'RLHF vs SFT':>12s} {'RLAIF vs SFT':>13s} {'gold SFT':>9s} {'RLHF':>6s} {'RLAIF':>6s}")
for family, row in rows.items():
    print(f"{family:10s} {row['n']:4d} {row['policy_rlhf_vs_sft']:12.0%} {row['policy_rlaif_vs_sft']:13.0%} "
          f"{row['gold_sft']:+9.2f} {row['gold_policy_rlhf']:+6.2f} {row['gold_policy_rlaif']:+6.2f}")

# %% [markdown]
# ## Where does a policy lose? Refusals
#
# A policy can become "harmless" by refusing everything. The gold judge penalises refusing a harmless
# request (its over-refusal component); count how often each policy refuses benign, emotional and
# sensitive requests, and remember lesson 06: on benign pairs our labeler tends to prefer a refusal to an
# evasive answer, which gold ranks the other way. PPO finds such preferences in a reward model.

# %%
not_harmful = [i for i, p in enumerate(prompts) if not world.is_harmful_prompt(p)]
for n in policies:
    refusals = sum(world.gold_components(prompts[i], responses[n][i])["over_refusal"] > 0 for i in not_harmful)
    print(f"{n:13s} refuses {refusals / len(not_harmful):5.0%} of {len(not_harmful)} harmless requests")

# %% [markdown]
# ## Is it just length?
#
# Lee et al. check that RLAIF does not win by writing longer answers. Compare the length of the
# winning and the losing response in the RLAIF-vs-RLHF comparison.

# %%
won = [(a, b) for p, a, b in zip(prompts, responses["policy_rlaif"], responses["policy_rlhf"])
       if world.gold_score(p, a) > world.gold_score(p, b)]
lost = [(a, b) for p, a, b in zip(prompts, responses["policy_rlaif"], responses["policy_rlhf"])
        if world.gold_score(p, a) < world.gold_score(p, b)]
for name, group in (("RLAIF wins", won), ("RLHF wins", lost)):
    if group:
        print(f"{name}: {len(group):3d} prompts, words RLAIF {sum(len(a.split()) for a, _ in group) / len(group):.1f}, "
              f"RLHF {sum(len(b.split()) for _, b in group) / len(group):.1f}")

# %% [markdown]
# ## Reading the numbers
#
# - Compare the two label agreements and the two reward-model accuracies: if they are close, that is
#   the miniature version of Lee et al.'s finding that AI labels can stand in for human ones. Close
#   accuracy is not the same reward, though: *which* pairs each reward model gets wrong decides what
#   PPO learns (the refusal counts above).
# - Win rates move run to run; look at the intervals before reading a difference. The head-to-head
#   is the comparison the paper cares about: is it inside the interval around 50%?
# - The whole experiment is one command: `rlcore pipeline --profile tiny --out runs/pipeline` writes
#   this table (and PNG plots) to `report.md`, with larger data sizes.
#
# **Reading**: Lee et al. 2023, *RLAIF: Scaling Reinforcement Learning from Human Feedback with AI
# Feedback*, sections 4–5 (results, position bias, length).
