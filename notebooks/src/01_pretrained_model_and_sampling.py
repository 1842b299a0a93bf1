# %% [markdown]
# # 01 · The pretrained model and sampling
#
# **Learning goals**
# - Load the course's base model (the shipped `tiny` GPT-Neo on CPU, GPT-Neo-125M on a GPU).
# - See how temperature and top-k reshape the next-token distribution.
# - Meet the profile's data, and measure what the *pretrained* model does on it through a judge (the gold
#   judge on the world track, an AI judge on preference data).
#
# *Time: ~15 minutes on a CPU.*

# %%
import torch

from rlcore.course import start
from rlcore.models import load_frozen

profile, data = start()  # the profile ($RLCORE_PROFILE, else by hardware), seeded; its data
judge = data.judge()  # the world's gold judge, or the profile's AI judge model
model, tokenizer = load_frozen(profile.policy_model, profile)  # inference only: the profile's device and dtype
device = model.device
print(f"profile {profile.name} | data {data.name} | judge: {judge.name}")
print(f"{profile.policy_model}: {sum(p.numel() for p in model.parameters()):,} parameters, "
      f"vocabulary {len(tokenizer)}, context {model.config.max_position_embeddings} tokens, on {device}")

# %% [markdown]
# ## The next-token distribution
#
# A causal LM gives $p(\text{next token} \mid \text{text so far})$. Sampling with **temperature** $T$
# divides the logits by $T$ (T < 1 sharpens, T > 1 flattens); **top-k** keeps only the k most likely
# tokens.

# %%
import matplotlib.pyplot as plt

prompt = "\n\nHuman: How do I bake bread?\n\nAssistant: To bake bread, first"
ids = tokenizer(prompt, return_tensors="pt")["input_ids"].to(device)
with torch.no_grad():
    logits = model(input_ids=ids).logits[0, -1].float()  # (vocab,)


def next_token_probs(temperature=1.0, top_k=0):
    scaled = logits / temperature
    if top_k:
        kth = torch.topk(scaled, top_k).values[-1]
        scaled = torch.where(scaled < kth, torch.full_like(scaled, -float("inf")), scaled)
    return torch.softmax(scaled, -1)


top = torch.topk(logits, 8).indices
labels = [repr(tokenizer.decode([int(t)])) for t in top]
fig, ax = plt.subplots(figsize=(9, 3))
for k, (temperature, top_k) in enumerate([(0.5, 0), (1.0, 0), (2.0, 0), (1.0, 3)]):
    probs = next_token_probs(temperature, top_k)[top].cpu()
    ax.bar([i + 0.2 * k for i in range(8)], probs, 0.2, label=f"T={temperature}" + (f", top-k={top_k}" if top_k else ""))
ax.set_xticks([i + 0.3 for i in range(8)], labels, rotation=20)
ax.set_xlabel("next token (the 8 most likely at T = 1)")
ax.set_ylabel("probability")
ax.legend()
plt.show()

# %%
# Temperature is a knob on entropy: lower T, lower entropy.
entropies = [-(p * p.clamp_min(1e-12).log()).sum().item() for p in (next_token_probs(t) for t in (0.5, 1.0, 2.0))]
print("entropy at T = 0.5, 1, 2:", [round(e, 2) for e in entropies])
assert entropies[0] < entropies[1] < entropies[2]

# %% [markdown]
# Play with the sliders (in Jupyter or Colab): sample a response at a temperature and a top-k.

# %%
import ipywidgets as widgets

from rlcore.rollout import generate


def sample(temperature=1.0, top_k=0, seed=0):
    out = generate(model, tokenizer, ["\n\nHuman: How do I plant tomatoes?\n\nAssistant:"], max_new_tokens=40,
                   temperature=temperature, top_k=top_k, seed=seed)
    print(out.responses[0])


widgets.interact(sample, temperature=widgets.FloatSlider(value=1.0, min=0.1, max=2.0, step=0.1),
                 top_k=widgets.IntSlider(value=0, min=0, max=50), seed=widgets.IntSlider(value=0, min=0, max=20));

# %% [markdown]
# ## The log-probability of a response, and where it ends
#
# Every RL algorithm of the course needs, for each token the policy sampled, its log-probability under the policy
# (and under a frozen reference). Two pieces of plumbing sit under that, and you write both.
#
# **Exercise (10 min, ★).** `my_token_logprobs(logits, tokens, mask)`: the logits are already lined up with the
# tokens they score, `(B, T, V)` and `(B, T)`; return `(B, T)`, log π(token) at every position and 0 where `mask`
# is 0 (padding). The checker feeds logits of ±100, where a careless formula returns `-inf`, and then runs GRPO's
# trainer with your function computing its log-probs, gradients included.

# %% [markdown]
# <details><summary>Hint 1</summary>
#
# A log-probability is a log of a softmax over the vocabulary, read at one index per position.
# </details>
# <details><summary>Hint 2</summary>
#
# `torch.log(torch.softmax(x))` rounds tiny probabilities to 0 first; PyTorch has one function that computes
# both steps together without that rounding. Reading one entry per position is a `gather` along the last dim.
# </details>
# <details><summary>Hint 3</summary>
#
# `F.log_softmax(logits, dim=-1).gather(2, tokens.unsqueeze(-1)).squeeze(-1)`, times the mask.
# </details>

# %%
# EXERCISE: token_logprobs
import torch.nn.functional as F


def my_token_logprobs(logits, tokens, mask):
    """logits (B, T, V), tokens (B, T), mask (B, T) -> (B, T) log pi(token), 0 where mask is 0."""
    return F.log_softmax(logits, dim=-1).gather(2, tokens.unsqueeze(-1)).squeeze(-1) * mask
# END EXERCISE

# %%
from rlcore.exercises import check_token_logprobs

assert check_token_logprobs(my_token_logprobs)

# %% [markdown]
# A batch is sampled together, so each row keeps producing tokens until the last row has ended: after a row's
# first end-of-sequence token (EOS) come tokens that are not part of its response.
#
# **Exercise (10 min, ★).** `my_eos_mask(response_ids, eos_token_id)`: `(B, T)` → `(B, T)` of 0/1, 1 on every
# token up to *and including* the first EOS (the policy chose to stop: that choice is learned too), 0 after it; a
# row without EOS is all 1. The checker tries EOS in the first and in the last slot, several EOS in a row, none,
# and then runs GRPO with your mask cutting every sampled response.

# %% [markdown]
# <details><summary>Hint 1</summary>
#
# A token is kept when no EOS came *strictly before* it.
# </details>
# <details><summary>Hint 2</summary>
#
# A running count along the row (`cumsum`) tells how many EOS came up to and including each position; subtract the
# token's own.
# </details>
# <details><summary>Hint 3</summary>
#
# `is_eos = (response_ids == eos_token_id).long()`, then `((is_eos.cumsum(1) - is_eos) == 0).long()`.
# </details>

# %%
# EXERCISE: eos_mask
def my_eos_mask(response_ids, eos_token_id):
    """response_ids (B, T) -> (B, T) of 0/1: 1 up to and including the first EOS, 0 after."""
    is_eos = (response_ids == eos_token_id).long()
    return ((is_eos.cumsum(1) - is_eos) == 0).long()
# END EXERCISE

# %%
from rlcore.exercises import check_eos_mask

assert check_eos_mask(my_eos_mask)

# %% [markdown]
# Both at work on four sampled responses: the tokens after each EOS carry no log-probability, and the sum of a row's
# log-probs is the log-probability of the whole response, the number every policy-gradient method pushes up or down.

# %%
from rlcore.rollout import forward_logits

batch = generate(model, tokenizer, ["\n\nHuman: How do I plant tomatoes?\n\nAssistant:"] * 4, max_new_tokens=24,
                 seed=profile.seed)
eos_mask = my_eos_mask(batch.response_ids, tokenizer.eos_token_id)  # (4, 24)
with torch.no_grad():  # the logit at position i scores the token at i + 1: the last 24 + 1 positions but one
    logits = forward_logits(model, batch.input_ids, batch.attention_mask)[:, -25:-1]  # (4, 24, V)
token_logprobs = my_token_logprobs(logits.float(), batch.response_ids, eos_mask.float())  # (4, 24)
for row in range(4):
    print(f"{int(eos_mask[row].sum()):2d} tokens, log p(response) = {token_logprobs[row].sum().item():7.2f}  "
          f"{batch.responses[row][:60]!r}")
assert torch.equal(eos_mask, batch.response_mask.to(eos_mask.dtype))  # the mask rlcore.rollout.generate made
assert (token_logprobs[eos_mask == 0] == 0).all()
drifts = {"a corpus template": sum(("request:" in r) for r in batch.responses),
          "a new Human: turn": sum(("Human:" in r) for r in batch.responses)}
from rlcore.readings import say

say("Of these four samples, " + " and ".join(f"**{n}** {'drifts' if n == 1 else 'drift'} into {what}"
                                             for what, n in drifts.items()) + ".")

# %% [markdown]
# Read the sampled responses themselves, not only their numbers. A base model continues text the way its
# pretraining corpus does, and nothing in pretraining says "answer now, then stop". On the tiny world track the
# corpus holds more than assistant dialogues: a share of it is judgement documents, ratings, and critique /
# revision documents (a response, then "Critique request: ...", "Revision request: ...", `course/world.md`), which
# lessons 06 and 07 use. So a base-model sample may drift into such a template ("Revision request: ..."), or start
# a new "Human:" turn of its own; on the tiny world track the four above do both (counted under them). That is not a bug of the sampler: it is what the base model
# learned, and what SFT (lesson 02) trains away by showing it only answers that end with EOS. On the GPU track,
# GPT-Neo-125M was pretrained on the Pile, and its drifts are the web's.

# %% [markdown]
# ## The profile's data
#
# Every lesson draws its prompts, demonstrations and labelled pairs from `course_data(profile)`: on the
# tiny world track, the synthetic world; on the GPU track, Anthropic's HH-RLHF conversations (or the
# preference file you name with `RLCORE_DATASET`), split by prompt into train and test. Here are a few
# held-out prompts the policies will be judged on, and what a demonstration looks like.

# %%
prompts, harmful = data.evaluation_prompts(profile.eval.prompts)
print(f"{data.name}: {len(prompts)} held-out evaluation prompts, {len(harmful)} of them for the harmless rate")
for p in prompts[:3]:
    print("---", p.strip())
demo_prompts, demo_responses = data.demonstrations(1)
print("\n=== a demonstration (what lesson 02 imitates) ===" + demo_prompts[0] + demo_responses[0])

# %% [markdown]
# ## What the base model does on this data
#
# The base model only learned to continue text. We sample it on held-out prompts and let the judge
# compare each response with the response people preferred in a held-out pair (the `chosen` side; on
# the world track pairs the world writes — a minimal contrast or two demonstrations — labelled by gold), and rate its responses to the harmfulness prompts
# (on the world track, harmful requests; on preference data, which does not mark harmful prompts, the
# first half of the evaluation prompts). On the world track the pretraining corpus mimics web text, and
# on harmful requests the web often *complies*.

# %%
from rlcore.evaluate import harmless_rate, judge_agreement, mean_gold, win_rate
from rlcore import stages

if data.is_world:  # with no SFT policy yet, only the world can write new held-out pairs (contrasts, demonstrations)
    from rlcore import world

    test = world.preference_pairs("test", profile.eval.prompts, seed=profile.seed + 1)
else:
    test = data.test_pairs(profile.eval.prompts)
test_prompts = [p.prompt for p in test]
base_responses = stages.sample(profile, model, tokenizer, test_prompts)
harmful_responses = stages.sample(profile, model, tokenizer, harmful)
base_vs_chosen = win_rate(test_prompts, base_responses, [p.chosen for p in test], judge)
base_harmless = harmless_rate(harmful, harmful_responses, judge)
print(f"judge: {judge.name}")
low, high = base_vs_chosen["ci95"]
print(f"base model vs the preferred response: wins {base_vs_chosen['win_rate']:.0%} of {base_vs_chosen['n']} "
      f"held-out prompts (95% CI {low:.0%}-{high:.0%})")
print(f"harmless rate on {len(harmful)} prompts: {base_harmless:.0%}")
if data.is_world:  # only the world can score a single response
    print(f"mean gold score on these held-out pair prompts (lesson 02 scores the evaluation prompts): base model "
          f"{mean_gold(test_prompts, base_responses):+.2f}, preferred responses "
          f"{mean_gold(test_prompts, [p.chosen for p in test]):+.2f}")
else:  # how far to trust the judge: its agreement with the data's held-out human labels
    agreement = judge_agreement(judge, data.test_pairs(profile.rm.test_pairs))
    print(f"the judge agrees with the data's held-out human labels on {agreement:.0%} of pairs (chance: 50%)")
for p, r in list(zip(harmful, harmful_responses))[:3]:
    print(f"\n{p.strip()}\n  ->{r}")
from rlcore.readings import versus, win_sentence

say(win_sentence("the base model", "the preferred response", base_vs_chosen))

# %% [markdown]
# On the tiny world track the base model is often harmful (it helps with at least half of the harmful
# requests) and loses to the preferred responses (the reading above); the cell below checks both
# there. On preference data, read the numbers beside the judge's agreement with held-out human labels:
# the closer it is to 50%, the closer the judge's verdicts are to coin flips.

# %%
assert 0.0 <= base_vs_chosen["win_rate"] <= 1.0 and 0.0 <= base_harmless <= 1.0
if data.is_world:  # gold's verdicts, which the text states for the world track
    assert base_harmless <= 0.5, "the pretrained model should not be harmless yet"
    assert versus(base_vs_chosen["ci95"]) == "loses to", "the pretrained model loses to the preferred responses"
    assert min(drifts.values()) >= 1, "the four samples drift into a corpus template and into a new Human: turn"

# %% [markdown]
# ## Things to try
# - Sample the same prompt at T = 0.3 and T = 1.5 with the slider, five seeds each. Which temperature gives
#   five nearly identical answers, and which gives answers that stop making sense?
# - Sample many responses and plot each one's log-probability against its length. Why does a longer response have a
#   lower log-probability on average (each token adds a negative term), and why can a short one still score lower
#   than a longer one (is the shortest sample above the most probable)? What would that do to a loss that *sums*
#   log-probs?
# - On the world track, count how many of the sampled responses to harmful requests are harmless
#   (`world.is_harmless(prompt, response)`); count again after lesson 02 with the SFT model.
