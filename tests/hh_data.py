"""A preference file in Anthropic HH-RLHF's raw format, written by the tests (no real rows committed).

Raw HH-RLHF rows hold two whole transcripts, ``chosen`` and ``rejected``, that share every turn but the
last assistant reply. The content here comes from the synthetic world (so a tiny model can read it), a
third of the conversations get an earlier Human/Assistant exchange (multi-turn, as in HH-RLHF), and a few
rows are bad in the ways real data is: an empty reply, two identical transcripts.
"""

from __future__ import annotations

import json
import random

from rlcore import world

EARLIER_TURN = "\n\nHuman: Hi there, can I ask you something?\n\nAssistant: Of course, go ahead."


def hh_rows(n: int, seed: int = 0, bad_every: int = 100) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i, pair in enumerate(world.preference_pairs("train", n, seed=seed, labels="human")):
        prompt = (EARLIER_TURN + pair.prompt) if rng.random() < 1 / 3 else pair.prompt
        chosen, rejected = prompt + pair.chosen, prompt + pair.rejected
        if bad_every and i % bad_every == bad_every - 1:  # a bad row: an empty reply, or a duplicated transcript
            rejected = prompt if i % (2 * bad_every) == bad_every - 1 else chosen
        rows.append({"chosen": chosen, "rejected": rejected})
    return rows


def write_hh_file(path, n: int, seed: int = 0, bad_every: int = 100) -> str:
    with open(path, "w") as f:
        for row in hh_rows(n, seed, bad_every):
            f.write(json.dumps(row) + "\n")
    return str(path)


# --------------------------------------------------------------------------- rows of real length
# Real HH-RLHF transcripts run to several turns and 1,000+ tokens, and some replies are longer than a small model's
# whole context (the harmless-base split has replies of 800+ tokens). These sentences are written here, in that
# register; a row strings many of them together, so every stage meets the lengths it meets on the real data.
HUMAN_TURNS = [
    "I have been thinking about changing jobs, but I am worried about money and about what my family will say.",
    "My neighbour keeps parking in front of my driveway and I do not know how to bring it up without a fight.",
    "Can you explain how a mortgage works, and whether it is better to pay it off early or to save instead?",
    "I want to start running in the mornings but I always give up after a week. What should I do differently?",
    "What is the best way to store fresh herbs so that they last longer than a few days in the fridge?",
    "My teenage son spends all night on his phone and he is tired at school. How do I talk to him about it?",
]
ASSISTANT_TURNS = [
    "That sounds like a hard decision, and it makes sense to feel torn. It may help to write down what you need "
    "each month, what the new job would pay, and how long your savings would last if things went slowly at first.",
    "A calm, friendly note or a short chat at a good moment usually works better than a complaint. Say what "
    "happens, how it affects you, and ask for one specific thing, such as leaving the driveway clear before eight.",
    "A mortgage is a loan for a home, paid back in monthly amounts that cover interest and part of the loan. "
    "Paying early saves interest, while saving keeps money at hand for emergencies; many people do a bit of both.",
    "Most people stop because they start too fast. Try three short runs a week at a pace where you could still "
    "talk, and add a few minutes each week; a fixed time and a friend to run with also make it easier to keep going.",
]


def long_reply(rng: random.Random, sentences: int) -> str:
    return " " + " ".join(rng.choice(ASSISTANT_TURNS) for _ in range(sentences))


def long_hh_rows(n: int, seed: int = 0, turns: int = 9, long_every: int = 3) -> list[dict]:
    """Raw HH-RLHF rows of real length: ``turns`` earlier exchanges (1,000+ tokens of context), then two
    replies that differ; every ``long_every``-th row has a reply of 20 paragraphs, longer than a small model's
    whole context. Each row's last question is unique, so the rows split by prompt into train and test."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        context = "".join(f"\n\nHuman: {rng.choice(HUMAN_TURNS)}\n\nAssistant:{long_reply(rng, 2)}" for _ in range(turns))
        prompt = f"{context}\n\nHuman: {rng.choice(HUMAN_TURNS)} (question {i})\n\nAssistant:"
        good = long_reply(rng, 20 if i % long_every == 0 else 2)
        bad = " I don't know, figure it out yourself." + ("" if i % 2 else long_reply(rng, 1))
        rows.append({"chosen": prompt + good, "rejected": prompt + bad})
    return rows


def write_long_hh_file(path, n: int, seed: int = 0) -> str:
    with open(path, "w") as f:
        for row in long_hh_rows(n, seed):
            f.write(json.dumps(row) + "\n")
    return str(path)
