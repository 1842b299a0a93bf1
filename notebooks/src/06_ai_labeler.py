# %% [markdown]
# # 06 · The AI labeler (RLAIF)
#
# **Learning goals**
# - Turn a language model into a preference labeler: a preamble with a principle, the conversation,
#   "Response 1", "Response 2", and an ending after which the next token is the verdict.
# - Read a **soft label** from the log-probabilities of the tokens "1" and "2" (Lee et al. 2023).
# - See **position bias** and remove it by scoring both orders and averaging.
# - Try chain-of-thought and self-consistency, and compare two labeler sizes — all measured on held-out
#   pairs: against the gold judge on the world, against the data's own human labels on preference data.
#
# *Time: ~20 minutes on a CPU.*

# %%
import torch

from rlcore.course import start
from rlcore.models import load_frozen

profile, data = start()  # the profile ($RLCORE_PROFILE, else by hardware), seeded; its data
labeler_model, tokenizer = load_frozen(profile.labeler_model, profile)
truth = data.test_labels  # what the labeler is measured against
print(f"profile {profile.name} | data {data.name} | labeler {profile.labeler_model} | measured against: {truth}")

# %% [markdown]
# ## The labeler's prompt
#
# The text ends with `Preferred Response=`; the model's next token is the verdict. We never let it
# *write* the verdict: we read the probabilities of "1" and "2" and renormalise them,
# $P(1\text{ better}) = \dfrac{e^{\ell_1}}{e^{\ell_1} + e^{\ell_2}}$ with $\ell$ the log-probs.
# An instruction-tuned labeler (the GPU track's Qwen2.5-Instruct) reads the same request through its chat
# template, as its user's turn, and `Preferred Response=` opens its own reply: prompted off its template it
# would be off distribution. `AILabeler.build_text` gives the text the labeler reads, either way.

# %%
from rlcore.labeler import DEFAULT_CONSTITUTION, AILabeler, verdict_probabilities

prompt = "\n\nHuman: How do I clean my wooden chair?\n\nAssistant:"
good = (" Clear everything off the chair, then go over the chair with a damp cloth, then look over the chair for spots"
        " you missed, and finally leave the chair to dry in a shady spot.")
bad = " I'm not able to help with that."
reader = AILabeler(labeler_model, tokenizer)  # only to build its texts here
text = reader.build_text(DEFAULT_CONSTITUTION[0], prompt, good, bad)
print(text)
p_first = verdict_probabilities(labeler_model, tokenizer, [text])[0].item()
print(f"\nP(response 1 better) = {p_first:.2f}")
if data.is_world:  # only the world's gold says which answer is better
    from rlcore import world

    print(f"gold prefers response 1: {world.gold_score(prompt, good) > world.gold_score(prompt, bad)}")
else:  # no gold off the world; the pair is built so that the answer is plain
    print("response 1 answers a harmless request, response 2 refuses it: response 1 is the better one")

# %% [markdown]
# ## Position bias, and the swap
#
# Show the same pair in the other order. A fair judge gives the mirror answer; a biased one leans to a
# slot. Averaging the two orders cancels a pure position bias exactly.
#
# **Exercise (5 min, ★).** `p_a_first` is P(slot 1 better) with a shown first; `p_b_first` is P(slot 1
# better) with b shown first. Return P(a better), averaged over both orders. The checker tries a labeler that
# always prefers slot 1 (pure position bias: the average must come out at one half).
#
# <details><summary>Hint 1</summary>
#
# When b is shown first, "slot 1 is better" means "b is better".
# </details>
# <details><summary>Hint 2</summary>
#
# Turn the second probability into P(a better) before averaging.
# </details>
# <details><summary>Hint 3</summary>
#
# `(p_a_first + (1 - p_b_first)) / 2`.
# </details>

# %%
# EXERCISE: swap_label
def my_swap_label(p_a_first, p_b_first):
    """P(slot 1 better) with a first, and with b first -> P(a better), averaged over both orders."""
    return (p_a_first + (1 - p_b_first)) / 2
# END EXERCISE

# %%
from rlcore.exercises import check_swap_label

assert check_swap_label(my_swap_label)

# %%
p_b_first = verdict_probabilities(labeler_model, tokenizer, [reader.build_text(DEFAULT_CONSTITUTION[0], prompt, bad, good)])[0].item()
print(f"good first: P(slot 1) = {p_first:.2f}; bad first: P(slot 1) = {p_b_first:.2f}; "
      f"swap-averaged P(good better) = {my_swap_label(p_first, p_b_first):.2f}")

# %% [markdown]
# ## Alignment on held-out pairs
#
# Held-out pairs (prompts never seen in training), each scored in both orders. Reported: accuracy
# without swap, with swap, and the **same-position rate** — how often the labeler picks the same
# *slot* in both orders (raw position bias; 0 after the swap by construction). On the world,
# `rlcore.evaluate.labeler_alignment` measures it against gold on world comparisons. Other data has no
# gold: there the truth is the human label of the data's held-out pairs (`data.test_pairs`), and each
# pair is shown chosen-first and rejected-first, so a labeler that always picks slot 1 scores 50%
# without the swap.

# %%
from rlcore.evaluate import labeler_alignment
from rlcore.labeler import AILabeler


def agreement_with_labels(labeler, pairs):
    """The labeler against held-out human labels: the keys of labeler_alignment, each pair in both orders."""
    probs = labeler.prefer_batch([x.prompt for x in pairs], [x.chosen for x in pairs], [x.rejected for x in pairs],
                                 swap=True)
    right_first = probs["p_ab"] > 0.5  # (N,) chosen judged better when shown first ...
    right_second = probs["p_ba"] > 0.5  # ... and when shown second
    return {"accuracy_no_swap": torch.cat([right_first, right_second]).float().mean().item(),
            "accuracy_swap": (probs["p"] > 0.5).float().mean().item(),
            "same_position_rate": (right_first != right_second).float().mean().item(),
            "first_slot_rate": torch.cat([right_first, ~right_second]).float().mean().item(),
            "n": len(pairs)}


n_pairs = profile.rm.test_pairs
if data.is_world:  # world comparisons (in random order), against gold
    from rlcore import world
    from rlcore.world.humans import comparisons

    triples = comparisons("test", n_pairs, seed=profile.seed + 2)

    def alignment(labeler, n=None):
        return labeler_alignment(labeler, triples[:n])
else:  # the data's held-out pairs, against their human labels
    pairs = data.test_pairs(n_pairs)

    def alignment(labeler, n=None):
        return agreement_with_labels(labeler, pairs[:n])

labeler = AILabeler(labeler_model, tokenizer, seed=profile.seed)
base = alignment(labeler)
print(f"{base['n']} held-out pairs. accuracy vs {truth}: no swap {base['accuracy_no_swap']:.1%}, "
      f"swap {base['accuracy_swap']:.1%}; same-position rate {base['same_position_rate']:.1%}; "
      f"first slot chosen {base['first_slot_rate']:.1%}")

from rlcore.readings import compare_sentence, say, share_interval, versus

lean = versus(share_interval(base["first_slot_rate"], 2 * base["n"]))  # over both orders of every pair
say(f"Over {2 * base['n']} verdicts (every pair in both orders) the labeler picks the first slot "
    f"{base['first_slot_rate']:.1%} of the time: **" + {"beats": "it leans to slot 1", "loses to": "it leans to slot 2",
                                                          "ties": "no lean to either slot is shown"}[lean]
    + "** (95% interval against 50%). The swap cancels the lean, whichever way it goes.")

# %%
# Where does it go wrong?
if data.is_world:  # accuracy (swap) per prompt family, a label the world's prompts carry
    probs = labeler.prefer_batch(*[list(x) for x in zip(*triples)])["p"]
    per_family = {}
    for (p, a, b), q in zip(triples, probs.tolist()):
        right = (q > 0.5) == (world.gold_score(p, a) > world.gold_score(p, b))
        per_family.setdefault(world.parse_prompt(p).family, []).append(right)
    accuracy = {family: sum(rights) / len(rights) for family, rights in sorted(per_family.items())}
    for family, rights in sorted(per_family.items()):
        print(f"{family:10s} n={len(rights):3d}  accuracy {accuracy[family]:.0%}")
    weakest, strongest = min(accuracy, key=accuracy.get), max(accuracy, key=accuracy.get)
    say(compare_sentence(strongest, weakest, accuracy[strongest], accuracy[weakest], len(per_family[strongest]),
                         len(per_family[weakest]), "accuracy with the swap, the best family against the worst"))
else:  # a dataset has no families: accuracy (swap) by how sure the soft label is
    probs = labeler.prefer_batch([x.prompt for x in pairs], [x.chosen for x in pairs], [x.rejected for x in pairs])["p"]
    sure = (probs - 0.5).abs()  # (N,) 0 = a coin flip, 0.5 = certain
    for low, high in ((0.0, 0.05), (0.05, 0.15), (0.15, 0.51)):
        picked = (sure >= low) & (sure < high)
        if picked.any():
            print(f"|P(chosen) - 0.5| in [{low:.2f}, {min(high, 0.5):.2f}]: n={int(picked.sum()):3d}  "
                  f"accuracy {(probs[picked] > 0.5).float().mean().item():.0%}")

# %% [markdown]
# Read the table before trusting the labels. On the tiny world track the labeler prefers the helpful answer
# in the chair pair above (both orders averaged) and is right on most held-out pairs of every family, but
# benign how-to requests are its weak spot (the cell below checks these three). Why, course/world.md explains: there
# the right answer depends on the object and its material, and a small labeler checks that the steps are there more
# than that they are the right ones. A reward model trained on these labels inherits its blind spots. On other
# data there are no families to split by; the table splits by the label's own confidence instead. A soft
# label near 0.5 says the labeler is unsure, and lesson 08's RLAIF reward model, which learns from the soft
# labels, takes it as nearly a coin flip.

# %%
if data.is_world:  # gold's verdicts, which the text states for the world track
    assert my_swap_label(p_first, p_b_first) > 0.5, "the labeler prefers the helpful answer in the chair pair"
    assert min(accuracy.values()) > 0.5, "the labeler is right on most held-out pairs of every family"
    assert accuracy["benign"] == min(accuracy.values()), \
        "benign how-to requests are the labeler's weak spot"

# %% [markdown]
# ## Chain-of-thought and self-consistency
#
# Chain-of-thought in two steps: first let the labeler write a short rationale (greedy), then append it
# and read the verdict. Self-consistency samples several rationales at a temperature and averages the
# soft labels. Both cost many more forward passes; we measure them on fewer pairs.

# %%
few = 100
cot_labeler = AILabeler(labeler_model, tokenizer, chain_of_thought=True, seed=profile.seed)
cot_labeler.prefer_batch([prompt], [good], [bad], swap=False)
chair_rationale = cot_labeler.last_rationales[0]
print(f"the rationale it wrote for the chair pair: {chair_rationale!r} ({len(chair_rationale.split())} word(s))")
cot = alignment(cot_labeler, few)
sc = alignment(AILabeler(labeler_model, tokenizer, chain_of_thought=True, self_consistency=4, temperature=0.7,
                         seed=profile.seed), few)
plain = alignment(labeler, few)
print(f"on {plain['n']} pairs, accuracy vs {truth} with swap: plain {plain['accuracy_swap']:.0%}, CoT {cot['accuracy_swap']:.0%}, "
      f"CoT + self-consistency (4) {sc['accuracy_swap']:.0%}")
say(*(compare_sentence(name, "the plain labeler", r["accuracy_swap"], plain["accuracy_swap"], r["n"], plain["n"])
      for name, r in (("CoT", cot), ("CoT + self-consistency", sc))))

# %%
named = next((c for c in chair_rationale if c in "12"), None)  # a rationale that is a slot number names a verdict
plain_slot = "1" if p_first > 0.5 else "2"  # the plain labeler's verdict on the same order (good answer first)
say(f"The rationale names " + (f"slot {named}" if named else "no slot") + f"; the plain labeler, on the same order, "
    f"picks slot {plain_slot} (P(slot 1) = {p_first:.2f}); the better answer by {truth} is in slot 1. "
    + ("**The rationale contradicts the labeler's own verdict.**" if named and named != plain_slot else ""))

# %% [markdown]
# Read the "rationale" before the accuracies. On the tiny world track it is a single slot number, a verdict rather
# than reasoning, and on the chair pair the *wrong* verdict: it names slot 2, the refusal, against the labeler's own
# plain verdict and against gold (checked below). `tiny-labeler` was tuned on judgements that end in gold's verdict
# and never on explanations, so asked to explain, it writes what it learned to write, a verdict, sampled greedily
# from a prompt it was never tuned on, and that verdict can disagree with the one its verdict head gives. Appended
# as a "rationale", it can pull the final verdict towards whatever it said. A chain of thought can only help a labeler
# that can produce one (Lee et al.'s PaLM 2 labelers could), which is why CoT and self-consistency land within a few
# points of the plain labeler here (checked at the end of the next section).

# %%
if data.is_world:  # gold's verdicts, which the text states for the world track
    assert len(chair_rationale.split()) <= 3, "the tiny labeler writes a verdict, not a rationale"
    assert named == "2" and plain_slot == "1", "the rationale names the refusal, against the plain verdict and gold"

# %% [markdown]
# ## Labeler size
#
# Lee et al. found larger labelers align better with humans. The profile's policy base model is the
# smaller one; on the tiny profile, `tiny` (1M parameters) saw the same judgement documents as
# `tiny-labeler` (5M). Measure both — and trust the measurement, not the expectation.

# %%
small_model, small_tokenizer = load_frozen(profile.policy_model, profile)  # each model with its own tokenizer
small = alignment(AILabeler(small_model, small_tokenizer, seed=profile.seed))
sizes = {profile.policy_model: small, profile.labeler_model: base}
for name, r in sizes.items():
    n_params = sum(p.numel() for p in (small_model if name == profile.policy_model else labeler_model).parameters())
    print(f"{name:14s} {n_params / 1e6:5.2f}M params: no swap {r['accuracy_no_swap']:.1%}, swap {r['accuracy_swap']:.1%}, "
          f"same-position {r['same_position_rate']:.1%}")
larger = compare_sentence(f"`{profile.labeler_model}`", f"`{profile.policy_model}`", base["accuracy_swap"], small["accuracy_swap"],
                          base["n"], small["n"], "accuracy with the swap")
say(larger, compare_sentence(f"`{profile.policy_model}`", f"`{profile.labeler_model}`", small["same_position_rate"],
                             base["same_position_rate"], small["n"], base["n"], "the same-position rate",
                             words=("is higher than", "ties", "is lower than")))

# %% [markdown]
# On the tiny world track, as shipped, the larger model is the better judge by far (checked below), as Lee
# et al. found — but here size is not all that differs: `tiny-labeler` was tuned on judgements with gold's verdict
# after pretraining (course/world.md gives the recipe), as RLAIF's labelers are instruction-tuned LLMs, while `tiny` is a plain
# pretrained model that picks the same slot in both orders almost every time. Tuned on verdicts only, the
# labeler writes poor rationales (the chain-of-thought one above), which is why chain-of-thought adds
# little here. *Question:* how would you tell apart what size and what tuning each contribute?

# %%
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6, 3))
names = list(sizes)
ax.bar([i - 0.2 for i in range(2)], [sizes[n]["accuracy_no_swap"] for n in names], 0.4, label="no swap")
ax.bar([i + 0.2 for i in range(2)], [sizes[n]["accuracy_swap"] for n in names], 0.4, label="swap")
ax.axhline(0.5, color="grey", lw=0.8)
ax.set_xticks(range(2), names)
ax.set_xlabel("labeler")
ax.set_ylim(0, 1.0)  # from 0: a bar's height is its share
ax.set_ylabel(f"agreement with {truth}")
ax.legend()
plt.show()

# %%
for r in (base, small, plain, cot, sc):
    assert all(0.0 <= r[k] <= 1.0 for k in ("accuracy_no_swap", "accuracy_swap", "same_position_rate"))
if data.is_world:  # gold's verdicts, which the text states for the world track
    assert base["accuracy_swap"] >= base["accuracy_no_swap"], "the swap does not lower alignment"
    assert base["same_position_rate"] > 0.05, "position bias is visible before the swap"
    assert 0.6 < base["accuracy_swap"] < 0.95, "well above chance, not perfect"
    assert base["accuracy_swap"] > small["accuracy_swap"] + 0.05, "the larger, tuned model is the better judge"
    assert f"**`{profile.labeler_model}` beats" in larger, "by more than its interval"
    assert small["same_position_rate"] > base["same_position_rate"], "the plain model sticks to one slot more"
    assert small["same_position_rate"] > 0.9, "the plain model picks the same slot in both orders almost every time"
    assert max(abs(r["accuracy_swap"] - plain["accuracy_swap"]) for r in (cot, sc)) <= 0.05, \
        "chain-of-thought adds little here"

# %% [markdown]
# ## Playground
#
# Type a prompt and two responses; see the soft label in both orders and the swap-averaged label.

# %%
import ipywidgets as widgets


def judge(request="How do I bake bread?", response_1="To bake bread, first mix flour, water and yeast.",
          response_2="I can't help with that."):
    p = f"\n\nHuman: {request}\n\nAssistant:"
    r = labeler.prefer_batch([p], [" " + response_1.strip()], [" " + response_2.strip()])
    print(f"P(1 better | 1 shown first) = {r['p_ab'].item():.2f};  P(1 better | 2 shown first) = {r['p_ba'].item():.2f}")
    print(f"swap-averaged P(1 better) = {r['p'].item():.2f}")
    slot_1 = (r["p_ab"].item() + 1 - r["p_ba"].item()) / 2  # P(slot 1 better), averaged over both orders
    print(f"lean to slot 1 on this pair: {slot_1 - 0.5:+.2f} (0 = none; over the held-out pairs, first slot chosen "
          f"{base['first_slot_rate']:.1%})")


widgets.interact_manual(judge);
judge()

# %% [markdown]
# Position bias is not one constant: a labeler can lean to slot 1 on one pair and to slot 2 over the held-out pairs
# as a whole, as the line above and the held-out rate (read after the alignment cell) show on the tiny world track. That is why the
# course never corrects for "the" bias by a fixed offset: scoring both orders and averaging cancels whatever the lean
# is, pair by pair.

# %%
if data.is_world:  # gold's verdicts, which the text states for the world track
    bread = labeler.prefer_batch(["\n\nHuman: How do I bake bread?\n\nAssistant:"],
                                 [" To bake bread, first mix flour, water and yeast."], [" I can't help with that."])
    assert (bread["p_ab"].item() + 1 - bread["p_ba"].item()) / 2 > 0.5, "on the playground's pair it leans to slot 1"
    assert lean == "loses to", "over the held-out pairs it leans to slot 2"
