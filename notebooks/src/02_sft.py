# %% [markdown]
# # 02 · Supervised fine-tuning (SFT)
#
# **Learning goals**
# - Build SFT batches: prompt and response tokenised separately, joined, right-padded.
# - Put the loss on the **response tokens only** — the prompt is context, not something to imitate.
# - Compare samples before and after SFT through the judge (gold on the world track, an AI judge on
#   preference data). On the world track our demonstrator is *helpful-only*: on some harmful requests it
#   complies, so the SFT model is helpful but not yet harmless (as in Lee et al.).
#
# *Time: ~15 minutes on a CPU.*

# %%
import torch

from rlcore.course import start

profile, data = start()  # the profile ($RLCORE_PROFILE, else by hardware), seeded; its data
judge = data.judge()  # the world's gold judge, or the profile's AI judge model
print(f"profile {profile.name} | data {data.name} | judge: {judge.name}")

# %% [markdown]
# ## Demonstrations and the response mask
#
# A demonstration is a prompt and a good response. On the world track: the world's best style for each
# family, except that `profile.sft.harmful_compliance` of the harmful requests are answered, not refused.
# On preference data: the chosen response of a train pair (`data.demonstrations`).

# %%
from rlcore.data import tokenize_prompt_response
from rlcore.models import load_frozen

base, tokenizer = load_frozen(profile.policy_model, profile)
demo_prompts, demo_responses = data.demonstrations(3)
ids, attention, response_mask = tokenize_prompt_response(tokenizer, demo_prompts, demo_responses, 256,
                                                         device=base.device)  # each (3, L)
print(demo_prompts[0] + demo_responses[0])
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
    logits = forward_logits(base, ids, attention)  # (3, L, vocab)
n_prompt = int(response_mask[0].argmax())  # where the response starts (padding, if any, is after it)
scrambled = logits.clone()
scrambled[0, : n_prompt - 1] += 100 * torch.randn_like(scrambled[0, : n_prompt - 1])
print("loss:", sft_loss(logits, ids, response_mask).item(), "| with scrambled prompt logits:",
      sft_loss(scrambled, ids, response_mask).item())
torch.testing.assert_close(sft_loss(logits, ids, response_mask), sft_loss(scrambled, ids, response_mask))

# %% [markdown]
# **Exercise (10 min, ★).** `my_sft_loss(logits, input_ids, response_mask)` → a scalar: the mean negative
# log-likelihood over every response token of the batch, each scored by the logit one position before it. The
# checker tries responses of unequal length (one mean over all response tokens, not a mean of per-sequence means),
# logits of ±100, a batch of one, and then fine-tunes the tiny model with your loss.

# %% [markdown]
# <details><summary>Hint 1</summary>
#
# Drop the last logit (it predicts past the end) and the first token (nothing predicts it); the mask lines up with
# the tokens being predicted.
# </details>
# <details><summary>Hint 2</summary>
#
# Per-token log-probs are lesson 01's exercise (`log_softmax`, then `gather`); average them over the mask with one
# sum divided by the number of response tokens.
# </details>
# <details><summary>Hint 3</summary>
#
# `lp = F.log_softmax(logits[:, :-1], -1).gather(2, input_ids[:, 1:, None]).squeeze(-1)`;
# `m = response_mask[:, 1:]`; `-(lp * m).sum() / m.sum()`.
# </details>

# %%
# EXERCISE: sft_loss
import torch.nn.functional as F


def my_sft_loss(logits, input_ids, response_mask):
    """logits (B, L, V), input_ids (B, L), response_mask (B, L) -> scalar mean NLL of the response tokens."""
    logprobs = F.log_softmax(logits[:, :-1].float(), dim=-1).gather(2, input_ids[:, 1:, None]).squeeze(-1)  # (B, L-1)
    mask = response_mask[:, 1:].to(logprobs.dtype)  # which predicted tokens belong to a response
    return -(logprobs * mask).sum() / mask.sum()
# END EXERCISE

# %%
from rlcore.exercises import check_sft_loss

assert check_sft_loss(my_sft_loss)

# %% [markdown]
# Every trainer of the course ends each step the same way: forget the previous step's gradients, backpropagate the
# new loss, cap the gradient's norm (one bad batch must not throw the weights far), apply the optimizer.
#
# **Exercise (5 min, ★).** `my_optimizer_step(model, optimizer, loss, max_grad_norm)` does that update. The checker
# leaves a stale gradient on the model before calling it, gives it a gradient a hundred times the clip, an unusual
# `max_grad_norm`, and then runs SFT with your update in every step.

# %% [markdown]
# <details><summary>Hint 1</summary>
#
# Four lines; their order matters: what has to exist before you can clip it, and what has to be clipped before the
# weights move?
# </details>
# <details><summary>Hint 2</summary>
#
# `torch.nn.utils.clip_grad_norm_` rescales all of `model.parameters()`' gradients together, in place.
# </details>
# <details><summary>Hint 3</summary>
#
# `optimizer.zero_grad()`, `loss.backward()`, `torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)`,
# `optimizer.step()`.
# </details>

# %%
# EXERCISE: optimizer_step
def my_optimizer_step(model, optimizer, loss, max_grad_norm):
    """One update: clear the old gradients, backpropagate, clip the gradient norm, step."""
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    optimizer.step()
# END EXERCISE

# %%
from rlcore.exercises import check_optimizer_step

assert check_optimizer_step(my_optimizer_step)

# %% [markdown]
# ## Fine-tune
#
# `rlcore.course.make_sft` runs the course's SFT stage (`rlcore.stages.sft`, which calls `rlcore.sft.train_sft`)
# on `profile.sft.examples` of the profile's demonstrations and saves a Hugging Face checkpoint in
# `course_path("sft")` for the next lessons. We sample the base model and the SFT model on the same
# held-out prompts (`data.evaluation_prompts`), with the same seed.

# %%
from rlcore import stages
from rlcore.course import course_path, make_sft

prompts, harmful = data.evaluation_prompts(profile.eval.prompts)
before = stages.sample(profile, base, tokenizer, prompts)
before_harmful = stages.sample(profile, base, tokenizer, harmful)
sft, tokenizer, losses = make_sft(profile)
after = stages.sample(profile, sft, tokenizer, prompts)
after_harmful = stages.sample(profile, sft, tokenizer, harmful)
n_demos = len(data.demonstrations(profile.sft.examples)[0])  # profile.sft.examples, or all the data has
print(f"SFT on {n_demos} demonstrations, {len(losses)} steps; saved in {course_path('sft')}")

# %% [markdown]
# The harmless rate is measured on the world's harmful requests on the world track; preference data does
# not mark harmful prompts, so there it is the judge's verdict on the first half of the evaluation prompts.

# %%
import matplotlib.pyplot as plt

from rlcore.evaluate import harmless_rate, judge_agreement, mean_gold, win_rate

from rlcore.plots import noisy_curve

fig, ax = plt.subplots(figsize=(6, 3))
noisy_curve(ax, losses, window=25, label="SFT loss")
ax.set_ylim(bottom=0)  # from zero: the fall is read at its true size
ax.set_xlabel("step (one batch of demonstrations)")
ax.set_ylabel("response-only loss (nats / token)")
ax.legend(fontsize=8)
plt.show()
sft_vs_base = win_rate(prompts, after, before, judge)
harmless = {"base": harmless_rate(harmful, before_harmful, judge), "SFT": harmless_rate(harmful, after_harmful, judge)}
low, high = sft_vs_base["ci95"]
print(f"judge: {judge.name}")
print(f"SFT vs the base model: SFT's answer preferred on {sft_vs_base['win_rate']:.0%} of {sft_vs_base['n']} "
      f"held-out prompts (95% CI {low:.0%}-{high:.0%})")
print(f"harmless rate on {len(harmful)} prompts: base {harmless['base']:.0%} -> SFT {harmless['SFT']:.0%}")
if data.is_world:  # only the world can score a single response
    from rlcore import world

    gold = {"base": mean_gold(prompts, before), "SFT": mean_gold(prompts, after)}
    print(f"mean gold on the evaluation prompts: base {gold['base']:+.2f} -> SFT {gold['SFT']:+.2f}")
else:  # how far to trust the judge's numbers: its agreement with the data's held-out human labels
    agreement = judge_agreement(judge, data.test_pairs(profile.rm.test_pairs))
    print(f"the judge agrees with the data's held-out human labels on {agreement:.0%} of pairs (chance: 50%)")
for i, (p, b, a) in enumerate(list(zip(prompts, before, after))[:3]):
    scores = (f" (gold: base {world.gold_score(p, b):+.2f}, SFT {world.gold_score(p, a):+.2f})"
              if data.is_world else "")  # only the world scores a single answer
    print(f"\n{p.strip()}{scores}\n  base:{b}\n  SFT: {a}")

from rlcore.readings import change_sentence, say, trend, versus, win_sentence

say(win_sentence("SFT", "the base model", sft_vs_base),
    change_sentence("the harmless rate", harmless["base"], harmless["SFT"], 0.05, percent=True),
    *([change_sentence("mean gold", gold["base"], gold["SFT"], 0.1)]
      if data.is_world else []))  # only the world scores a single answer

# %% [markdown]
# On the tiny world track SFT raises the mean gold score and beats the base model on held-out prompts (the readings
# above), while many harmful requests still get help (the harmless rate): helpful, not yet harmless. The gain is a
# mean over all the prompts, not a promise for each answer: read the three samples, each with its own gold score,
# and you may find an SFT answer that is worse than the base model's (a wrong step, a garbled clause). The cell
# below checks these there; that the loss fell is checked on every track.

# %%
k = max(1, len(losses) // 10)
assert sum(losses[-k:]) / k < sum(losses[:k]) / k, "the SFT loss fell"
if data.is_world:  # gold's verdicts, which the text states for the world track
    assert trend(gold["base"], gold["SFT"], 0.1) == "rises", "SFT raises the gold score on held-out prompts"
    assert versus(sft_vs_base["ci95"]) == "beats", "SFT beats the base model by the gold judge"
    assert harmless["SFT"] < 0.9, "the helpful-only SFT model still helps with some harmful requests"

# %% [markdown]
# ## Things to try
# - Train on a tenth of the demonstrations (`profile.replace(sft__examples=600)`, saved elsewhere with
#   `stages.sft`). How much of the win rate over the base model survives?
# - Make `profile.sft.harmful_compliance` 0 (every harmful request refused in the demonstrations): does SFT alone
#   then reach the harmless rate lesson 05 gets from PPO, and what does it cost in win rate?
# - Break your `my_sft_loss` on purpose (learn the prompt too) and run `check_sft_loss`: which named case catches
#   it, and why that one?
