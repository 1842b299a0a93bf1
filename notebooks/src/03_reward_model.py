# %% [markdown]
# # 03 · The reward model
#
# **Learning goals**
# - Build a reward model: a language-model body plus a scalar head, read at the **last non-pad token**.
# - See the token-0 bug (from a well-known blog post) and why it cannot work for a causal LM.
# - Train with the Bradley–Terry ranking loss on human labels (simulated on the world track, the data's own
#   elsewhere); measure accuracy on held-out pairs. On the world track, compare with gold and with the best
#   accuracy noisy labels allow (their Bayes limit).
#
# *Time: ~20 minutes on a CPU.*

# %%
import torch

from rlcore.course import course_path, load_sft, start

profile, data = start()  # the profile ($RLCORE_PROFILE, else by hardware), seeded; its data
sft, tokenizer = load_sft(profile)  # lesson 02's SFT model (made now if this machine has none)
print(f"profile {profile.name} | data {data.name}")

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
enc = tokenizer(texts, return_tensors="pt", padding=True).to(sft.device)
print("last real token of each row:", last_token_index(enc["attention_mask"]).tolist())
with torch.no_grad():
    per_token = rm.per_token(enc["input_ids"], enc["attention_mask"])
    print("read at token 0 (the bug):", per_token[:, 0].tolist())
    print("read at the last token:   ", rm(enc["input_ids"], enc["attention_mask"]).tolist())
# token 0 sees only '\n\n' in both rows: the same value (up to the last bits of a batched matmul on some CPUs)
torch.testing.assert_close(per_token[0, 0], per_token[1, 0], rtol=1e-4, atol=1e-6)

# %% [markdown]
# **Exercise (10 min, ★).** `my_last_token_reward(scores, attention_mask)`: `(B, L)` scores at every position →
# `(B,)`, each row's score at its last real token. Training batches are padded on the right, sampled batches on the
# left (lesson 01): the checker tries both, no padding, a batch of one, and then trains a reward model that reads
# its rewards with your function.

# %% [markdown]
# <details><summary>Hint 1</summary>
#
# Reading `scores[:, -1]` is right for one kind of padding only; counting the 1s of the mask is right for the
# other only.
# </details>
# <details><summary>Hint 2</summary>
#
# The position of the last 1 is the largest position whose mask is 1: multiply the positions `0..L-1` by the mask
# and take the `argmax`.
# </details>
# <details><summary>Hint 3</summary>
#
# `last = (torch.arange(L, device=...) * attention_mask.long()).argmax(1)`, then
# `scores.gather(1, last[:, None]).squeeze(1)`.
# </details>

# %%
# EXERCISE: last_token_reward
def my_last_token_reward(scores, attention_mask):
    """scores (B, L), attention_mask (B, L) -> (B,): each row's score at its last real token."""
    positions = torch.arange(attention_mask.shape[1], device=attention_mask.device)  # (L,)
    last = (positions * attention_mask.long()).argmax(dim=1)  # (B,)
    return scores.gather(1, last.unsqueeze(1)).squeeze(1)
# END EXERCISE

# %%
from rlcore.exercises import check_last_token_reward

assert check_last_token_reward(my_last_token_reward)

# %% [markdown]
# ## The ranking loss
#
# For a pair (chosen $y_c$, rejected $y_r$): $\;\mathcal{L} = -\log\sigma(r(y_c) - r(y_r))$
# (Ouyang et al. 2022, eq. 1). Only the *difference* of rewards matters.

# %% [markdown]
# **Exercise (10 min, ★).** `my_ranking_loss(chosen_rewards, rejected_rewards)` → the loss above, averaged over
# the batch. A reward model that is sure of itself produces margins of ±100: the checker tries them (a careless
# formula returns `inf` there), then trains a reward model with your loss.

# %% [markdown]
# <details><summary>Hint 1</summary>
#
# At a margin of -200, σ rounds to 0 in float32 and its log is `-inf`; PyTorch computes $\log\sigma$ in one step.
# </details>
# <details><summary>Hint 2</summary>
#
# `torch.nn.functional.logsigmoid`.
# </details>
# <details><summary>Hint 3</summary>
#
# `-F.logsigmoid(chosen_rewards - rejected_rewards).mean()`.
# </details>

# %%
# EXERCISE: ranking_loss
def my_ranking_loss(chosen_rewards, rejected_rewards):
    """chosen_rewards, rejected_rewards (B,) -> scalar: the batch mean of -log sigma(r_chosen - r_rejected)."""
    return -torch.nn.functional.logsigmoid(chosen_rewards - rejected_rewards).mean()
# END EXERCISE

# %%
from rlcore.exercises import check_ranking_loss

assert check_ranking_loss(my_ranking_loss)

# %% [markdown]
# ## Labels
#
# The reward model learns from `profile.rm.pairs` labelled pairs (`data.human_pairs`). On the world track
# they are collected as RLHF collects them: two samples of the SFT policy for one train prompt (plus some of
# the world's minimal contrasts: one part of a good answer changed), labelled by simulated annotators who
# agree with the gold preference only part of the time (measured below), like real ones (Lee et al. 2023).
# On preference data the labels are what people chose, and there is no gold
# to check them against: real annotators disagree with each other too (InstructGPT's trained labelers
# agreed about 73% of the time, Ouyang et al. 2022). One thing we can measure on any data is a shallow
# cue: how often the chosen response is simply the longer one — a "reward model" that counts words.

# %%
from rlcore.data import as_pairs
from rlcore.reward import preference_accuracy

human_pairs = data.human_pairs(profile.rm.pairs, policy=course_path("sft"))  # dicts: prompt, chosen, rejected (the label: chosen)
test = data.test_pairs(profile.rm.test_pairs, policy=course_path("sft"))  # held-out pairs, for accuracy below
test_labels = data.test_labels  # "gold labels" on the world
print(f"{len(human_pairs)} labelled train pairs, {len(test)} held-out pairs ({test_labels}) from {data.name}")


def n_words(texts):
    return torch.tensor([float(len(t.split())) for t in texts])


length_accuracy = preference_accuracy(n_words([p.chosen for p in test]), n_words([p.rejected for p in test]))
print(f"'the longer response wins' is right on {length_accuracy:.0%} of held-out pairs ({test_labels})")

if data.is_world:  # only the world can say how often the human labels are right: gold, and their Bayes limit
    from rlcore import world

    def agreement(pairs):
        return sum(world.gold_score(p.prompt, p.chosen) > world.gold_score(p.prompt, p.rejected) for p in pairs) / len(pairs)

    human_agreement = agreement(as_pairs(human_pairs))
    # the exact expected agreement on the very comparisons labelled above: their Bayes limit
    bayes_limit = data.human_agreement(policy=course_path("sft"))
    print(f"simulated human labels agree with gold: {human_agreement:.0%} (expected {bayes_limit:.0%})")
else:
    print(f"rows skipped when reading the data: {data.skipped or 'none'}")
    chosen_longer = sum(len(p["chosen"].split()) > len(p["rejected"].split()) for p in human_pairs) / len(human_pairs)
    print(f"in the train pairs the chosen response is the longer one in {chosen_longer:.0%} of pairs")

# %% [markdown]
# ## Train and measure
#
# The reward model that later lessons use comes from the course's stage API:
# `rlcore.stages.reward_model` starts from the SFT body, trains it with the ranking loss above
# (`rlcore.reward.train_reward_model`), normalises its output on SFT samples (mean 0, std 1, so PPO's
# KL coefficient means the same for any reward model), and saves it in `course_path("rm_human")`.
#
# On the world track, the best a reward model can do on *these labels* is to predict the gold preference;
# then it agrees with the noisy labels only as often as they agree with gold (their Bayes limit). Against
# gold on held-out pairs it could even beat its labels' own agreement with gold (their noise averages out
# over many pairs) if it learned the preference behind them; how close it gets is measured below. The held-out pairs are SFT samples on *test*
# prompts: tasks no stage trained on, drawn like the train ones (as HH-RLHF's test split). The world also
# has an out-of-distribution split: tasks with a part (an object, a person, a situation) held out of every
# training set, where a reward model meets distribution shift. On preference data, held-out accuracy against
# the data's own labels is the only measure, and the noise in those labels caps it.

# %%
import random

from rlcore import stages
from rlcore.data import PreferencePair
from rlcore.reward import pair_rewards

rm = stages.reward_model(profile, data, human_pairs, course_path("sft"), course_path("rm_human"), reuse=False)
losses = stages.training_log(course_path("rm_human"))
accuracy = preference_accuracy(*pair_rewards(rm, tokenizer, test, profile.lengths))
if data.is_world:  # the world can relabel the held-out pairs like its humans, and hold out whole parts (ood)
    # the same held-out pairs, labelled by simulated humans instead of gold
    temperature = data.human_temperature(policy=course_path("sft"))
    rng = random.Random(profile.seed)
    test_human = [p if world.human_label(p.prompt, p.chosen, p.rejected, rng, temperature)
                  else PreferencePair(p.prompt, p.rejected, p.chosen) for p in test]
    accuracy_human = preference_accuracy(*pair_rewards(rm, tokenizer, test_human, profile.lengths))
    # pairs of SFT samples on prompts with held-out parts (objects, people, ...): out of distribution
    ood = data.test_pairs(profile.rm.test_pairs, policy=course_path("sft"), split="ood")
    accuracy_ood = preference_accuracy(*pair_rewards(rm, tokenizer, ood, profile.lengths))

# %%
import matplotlib.pyplot as plt

import math

from rlcore.plots import noisy_curve

fig, ax = plt.subplots(figsize=(6, 3))
noisy_curve(ax, losses, label="ranking loss")
ax.set_ylim(bottom=0)  # from zero: the fall is read at its true size
ax.axhline(math.log(2), ls="--", color="grey", label="ln 2: a reward model that ranks at chance")
ax.set_xlabel("step (one batch of pairs)")
ax.set_ylabel("ranking loss (nats)")
ax.legend(fontsize=8)
plt.show()
print(f"reward model on {len(human_pairs)} pairs, {len(losses)} steps; saved in {course_path('rm_human')}")
print(f"held-out accuracy vs {test_labels}: {accuracy:.0%} (word count: {length_accuracy:.0%}, chance: 50%)")
if data.is_world:  # the figures only the world has (above)
    print(f"the same held-out pairs, vs simulated human labels: {accuracy_human:.0%} "
          f"(their Bayes limit: {bayes_limit:.0%})")
    print(f"out of distribution (held-out parts), vs gold labels: {accuracy_ood:.0%} ({len(ood)} pairs)")
from rlcore.readings import compare_sentence, say

say(compare_sentence("the reward model", "the word count", accuracy, length_accuracy, len(test),
                     what=f"held-out accuracy (vs {test_labels}, the same pairs)"))

# %% [markdown]
# On the tiny world track the reward model ranks held-out pairs well above chance against gold, and better
# against gold than against its own noisy labels, which it matches less often than their Bayes limit. It does not
# exceed the labels' own measured agreement with gold by more than a few points, and may stay below it (compare the
# numbers above):  from 1,500 noisy comparisons this small reward model learns
# about as much as its labels know (course/world.md tries more data, gold labels and a larger body). On
# the out-of-distribution prompts it does worse: what it learned carries only part of the way to new parts.
# Set it beside "the longer response wins", a cue that needs no training (the reading under the numbers says whether
# the reward model beats it on the same pairs): a reward model that learned only length would score that much.
# The cell below checks these there; that the loss fell is checked on every track. This reward model
# (`course_path("rm_human")`) is the one later lessons load (`rlcore.course.load_human_reward_model`).

# %%
k = max(1, len(losses) // 10)
assert sum(losses[-k:]) / k < sum(losses[:k]) / k, "the ranking loss fell"
if data.is_world:  # gold's verdicts, which the text states for the world track
    assert accuracy > 0.65, "the reward model ranks held-out pairs well above chance (gold labels)"
    assert accuracy > accuracy_human, "against gold it does better than against its own noisy labels"
    assert accuracy_human < bayes_limit, "it agrees with noisy labels less often than their Bayes limit"
    assert accuracy_ood < accuracy, "out of distribution it does worse"
    assert 0.6 < human_agreement < 0.9 and abs(human_agreement - bayes_limit) < 0.05, \
        "the simulated humans agree with gold only part of the time, as expected"
    assert accuracy < human_agreement + 0.05, "it does not beat its labels' agreement with gold by more than a few points"

# %% [markdown]
# ## You, the annotator
#
# The labels above came from simulated annotators. Now label twenty of the very same pairs yourself: read the
# prompt and both answers, and click the better one (helpful, honest, harmless: your judgement). The cells after the
# form train a reward model on your twenty labels plus the simulated humans' for the rest, and measure how often you
# agreed with the others who labelled these pairs.

# %%
from IPython.display import display

from rlcore.annotate import AnnotationForm

to_label = data.comparisons(profile.rm.pairs, policy=course_path("sft"))[:20]  # the first 20 pairs the humans labelled
form = AnnotationForm(to_label)
display(form.widget())

# %% [markdown]
# When you have clicked all twenty, run the cells below. Where no widget front end runs (nbval in CI, the course
# site), nobody can click, and a pre-filled set of labels stands in: on the world track another simulated annotator's,
# on preference data the data's own labels with one in four flipped (a careless annotator). The cell says which.
# The cell branches on the data here because only the world has a gold preference to compare you with.

# %%
from rlcore.labeler import AILabeler
from rlcore.models import load_frozen

prompts_20, a_20, b_20 = (list(x) for x in zip(*to_label))
simulated = [pair["chosen"] == a for pair, a in zip(human_pairs[:20], a_20)]  # the simulated humans' verdicts (a wins?)
careless = random.Random(f"a student with no widget front end, seed {profile.seed}")
if data.is_world:  # only the world has gold to compare you with, and a simulated annotator to stand in for you
    temperature = data.human_temperature(policy=course_path("sft"))
    prefilled = [world.human_label(p, a, b, careless, temperature) for p, a, b in to_label]
    truth, truth_name = [world.gold_score(p, a) > world.gold_score(p, b) for p, a, b in to_label], "gold"
else:
    prefilled = [s != (careless.random() < 0.25) for s in simulated]
    truth, truth_name = simulated, "the data's labels"  # the data's labels are the only truth there is
yours, source = form.labels(prefilled)
labeler_model, labeler_tokenizer = load_frozen(profile.labeler_model, profile)
labeler = AILabeler(labeler_model, labeler_tokenizer, swap=True, seed=profile.seed)
ai = (labeler.prefer_batch(prompts_20, a_20, b_20)["p"] > 0.5).tolist()


def agree(x, y):
    return sum(i == j for i, j in zip(x, y)) / len(x)


from rlcore.readings import agreement_sentence, say

you_vs = {truth_name: agree(yours, truth),
          "the simulated humans": agree(yours, simulated), f"the AI labeler ({profile.labeler_model})": agree(yours, ai)}
print(f"labels used: {source}")
annotator = "you" if source.startswith("your") else "the pre-filled annotator"  # who labelled, in the readings
say(*(agreement_sentence(annotator, other, rate, len(yours)) for other, rate in you_vs.items()),
    agreement_sentence(f"the AI labeler", truth_name, agree(ai, truth), len(ai)))

# %% [markdown]
# Twenty pairs are few: each rate above carries a 95% interval of about ±20 points, so a low rate does not say that
# you and the AI labeler disagree more than chance would; it says 20 pairs cannot tell. Compare the last line: on
# the tiny world track, on these very 20 pairs, the AI labeler is not shown to agree with gold more often than chance
# (checked below), while over its 1,500 labels (lesson 08) it agrees with gold about as often as the simulated
# humans do. A small sample of pairs, not the
# labeler, is what is odd here; lesson 06 measures the labeler on held-out pairs by the hundred.

# %%
your_pairs = [(PreferencePair(p, a, b) if a_wins else PreferencePair(p, b, a)).to_dict()
              for (p, a, b), a_wins in zip(to_label, yours)] + human_pairs[20:]
rm_yours = stages.reward_model(profile, data, your_pairs, course_path("sft"), course_path("rm_yours"), reuse=False,
                               progress=False)
accuracy_yours = preference_accuracy(*pair_rewards(rm_yours, tokenizer, test, profile.lengths))
print(f"reward model with your 20 labels: held-out accuracy {accuracy_yours:.0%} vs {test_labels} "
      f"(with the simulated humans' only: {accuracy:.0%})")

# %%
from rlcore.readings import seed_spread, spread_sd, spread_sentence, within_spread

spread = seed_spread(profile.name)  # the pipeline on several seeds (course/results.md); None where none is published
rm_sd = spread_sd(spread, "rm_human_test_accuracy")
say(spread_sentence("held-out accuracy, your labels minus the simulated humans'", accuracy_yours - accuracy, rm_sd,
                    percent=True))

# %% [markdown]
# Twenty labels out of thousands barely move a reward model: the two accuracies differ by a few points, no more than
# the reward model's accuracy moves when only the seed changes (the reading above; on the tiny world track it checks
# the difference against the published seed table, below). The same few points are the noise floor of every
# reward-model comparison in this course: two reward models whose accuracies differ by less than that are not shown
# to differ. That is why RLHF needs many annotator-hours, and why agreement between annotators (your lines above)
# matters more than any one of them: the reward model learns what the labels have in common.

# %%
assert all(0.0 <= rate <= 1.0 for rate in you_vs.values())
assert abs(accuracy_yours - accuracy) < 0.05, "twenty labels out of thousands barely move the reward model"
if data.is_world:  # gold's verdicts, which the text states for the world track
    from rlcore.readings import share_interval, versus

    assert versus(share_interval(agree(ai, truth), len(ai))) != "beats", \
        "on these 20 pairs the AI labeler is not shown to agree with gold more often than chance"
if data.is_world and rm_sd is not None:  # the published seed table is the tiny world's
    assert within_spread(accuracy_yours - accuracy, rm_sd), "the difference lies within the seed spread"

# %% [markdown]
# ## Things to try
# - Train on half the human pairs (`profile.replace(rm__pairs=...)`). How far does held-out accuracy fall, and
#   does the out-of-distribution accuracy fall faster?
# - Relabel the pairs by gold itself (the side with the higher `world.gold_score` is chosen) and retrain: can the
#   reward model now pass the 75% Bayes limit of the human labels? By how much?
# - Score a long, repetitive answer and a short, correct one with the reward model. Which does it prefer, and
#   what would PPO learn from that (lesson 09)?
