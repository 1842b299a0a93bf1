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
