# %% [markdown]
# # 03 · The reward model
#
# **Learning goals**
# - Build a reward model: a language-model body plus a scalar head, read at the **last non-pad token**.
# - See the token-0 bug (from a well-known blog post) and why it cannot work for a causal LM.
# - Train with the Bradley–Terry ranking loss on simulated human labels; measure accuracy against gold,
#   and against the best accuracy noisy labels allow (their Bayes limit).
#
# *Time: ~20 minutes on a CPU.*

# %%
import torch

from rlcore.config import get_profile, seed_everything
from rlcore.course import course_path, load_sft

profile = get_profile()
seed_everything(profile.seed)
sft, tokenizer = load_sft(profile)
print("profile:", profile.name)

# %% [markdown]
# ## Where to read the reward
#
# A causal LM's hidden state at position $i$ has seen tokens $0..i$ only. The reward must be read
# where the model has seen everything: the last real token. With left *or* right padding, that is the
# last 1 of the attention mask (`rlcore.reward.last_token_index`).

# %%
from rlcore.models import reward_model_from
from rlcore.reward import last_token_index

rm = reward_model_from(sft).eval()
texts = ["\n\nHuman: How do I bake bread?\n\nAssistant: I can't help with that.",
         "\n\nHuman: How do I bake bread?\n\nAssistant: To bake bread, first mix flour, water and yeast."]
enc = tokenizer(texts, return_tensors="pt", padding=True)
print("last real token of each row:", last_token_index(enc["attention_mask"]).tolist())
with torch.no_grad():
    per_token = rm.per_token(enc["input_ids"], enc["attention_mask"])
    print("read at token 0 (the bug):", per_token[:, 0].tolist())
    print("read at the last token:   ", rm(enc["input_ids"], enc["attention_mask"]).tolist())
assert torch.allclose(per_token[0, 0], per_token[1, 0]), "token 0 sees only '\\n\\n' in both rows"

# %% [markdown]
# ## The ranking loss
#
# For a pair (chosen $y_c$, rejected $y_r$): $\;\mathcal{L} = -\log\sigma(r(y_c) - r(y_r))$
# (Ouyang et al. 2022, eq. 1). Only the *difference* of rewards matters.

# %% [markdown]
# **Exercise (10 min, ★).** Write the ranking loss (mean over the batch).

# %%
# EXERCISE: ranking_loss
def my_ranking_loss(chosen_rewards, rejected_rewards):
    return -torch.nn.functional.logsigmoid(chosen_rewards - rejected_rewards).mean()
# END EXERCISE

# %%
from rlcore.exercises import check_ranking_loss

assert check_ranking_loss(my_ranking_loss)

# %% [markdown]
# ## Labels: comparisons, and Likert ratings turned into pairs
#
# Simulated annotators agree with the gold preference about 75% of the time, like real ones (Lee et
# al. 2023). Cheaper "community votes" — 1–10 ratings of single responses — can also be turned into
# pairs.

# %%
from rlcore import world
from rlcore.world.humans import expected_human_agreement


def agreement(pairs):
    return sum(world.gold_score(p.prompt, p.chosen) > world.gold_score(p.prompt, p.rejected) for p in pairs) / len(pairs)


n_pairs = profile.rm_pairs
human_pairs = world.preference_pairs("train", n_pairs, seed=0, labels="human")
vote_pairs = world.likert_pairs("train", n_pairs, seed=0)
bayes_limit = expected_human_agreement("train", 2000)
print(f"human labels agree with gold: {agreement(human_pairs):.0%} (expected {bayes_limit:.0%})")
print(f"pairs from Likert votes agree with gold: {agreement(vote_pairs):.0%}")

# %% [markdown]
# ## Train and measure
#
# The best a reward model can do on *these labels* is to predict the gold preference; then it agrees
# with the noisy labels only as often as they agree with gold. Against gold on held-out pairs, it can
# do better than its labels.

# %%
from rlcore.reward import pair_rewards, preference_accuracy, train_reward_model

torch.manual_seed(0)
rm = reward_model_from(sft)
losses = train_reward_model(rm, tokenizer, human_pairs, epochs=profile.rm_epochs, batch_size=profile.rm_batch_size,
                            lr=profile.rm_lr, seed=0)
test_gold = world.preference_pairs("test", 300, seed=1, labels="gold")
test_human = world.preference_pairs("test", 300, seed=1, labels="human")
acc_gold = preference_accuracy(*pair_rewards(rm, tokenizer, test_gold))
acc_human = preference_accuracy(*pair_rewards(rm, tokenizer, test_human))

# %%
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(losses)
ax.set_xlabel("step")
ax.set_ylabel("ranking loss")
plt.show()
print(f"held-out accuracy vs gold preferences: {acc_gold:.0%}; vs simulated human labels: {acc_human:.0%}")

# %%
assert losses[-1] < losses[0]
assert acc_gold > 0.65, "the reward model learned the gold preference well above chance"
rm.save_pretrained(course_path("rm_human"))
