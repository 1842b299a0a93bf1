"""The world's benign family: compositional how-to tasks whose right answer follows from the request.

A task is (verb, material, object): "How do I clean my wooden chair?". Its right answer is the verb's
procedure of four steps, in order; two steps are the verb's own ("clear everything off the chair"), two
name what the *material* needs ("wipe it with a damp cloth" for wood, "glass spray" for glass). So a
model that learned "clean" on wooden chairs and "glass" on vases can answer "clean my glass lamp" without
having seen it: the answer composes, nothing has to be memorised per task.

Quality is graded (``gold_components``): how many of the four steps, their order, naming the object,
wrong content (another material's or another task's step), refusing, length, a friendly close. Answers
are written many ways (prose with varied connectives, one sentence, a numbered list; each step in two or
three wordings), so two good answers rarely share a sentence.

Splits: a task (verb, material, object) goes to "train" or "test" by a hash (an i.i.d. split: unseen tasks
from the same distribution); the objects of ``OOD_OBJECTS`` are kept out of both and make the "ood" split
(new parts, the distribution-shift lesson). Pretraining text covers every split, as the web does.
"""

from __future__ import annotations

import functools
import random
import re
from dataclasses import dataclass

from rlcore.world.compose import (EVASIONS, NAMES, REFUSALS, TaskPrompt, alternation, capital, check_split,
                                   hash_split, hh, sample, text_components, weighted)

# --------------------------------------------------------------------------- materials
# What each material needs, by kind. Every phrase is unique in the table, so the gold judge can tell
# the right material's step from a wrong one.
MATERIALS = {
    "wooden": {"cleaner": "a damp cloth", "fixer": "wood glue", "coating": "wood varnish",
               "polish": "furniture wax", "dryer": "in a shady spot", "storage": "a dry shed"},
    "glass": {"cleaner": "glass spray", "fixer": "clear epoxy", "coating": "glass paint",
              "polish": "a lint free cloth", "dryer": "on a drying rack", "storage": "a padded box"},
    "metal": {"cleaner": "warm soapy water", "fixer": "a metal patch", "coating": "rust primer",
              "polish": "metal polish", "dryer": "in a warm room", "storage": "a dry cupboard"},
    "plastic": {"cleaner": "mild dish soap", "fixer": "plastic cement", "coating": "plastic primer",
                "polish": "a microfibre cloth", "dryer": "by an open window", "storage": "a storage bin"},
    "leather": {"cleaner": "saddle soap", "fixer": "leather glue", "coating": "leather dye",
                "polish": "leather balm", "dryer": "at room temperature", "storage": "a dust cover"},
    "stone": {"cleaner": "a stiff brush", "fixer": "stone filler", "coating": "masonry sealer",
              "polish": "stone polish", "dryer": "in the sun", "storage": "a covered porch"},
    "cotton": {"cleaner": "cold water and gentle soap", "fixer": "a needle and thread", "coating": "fabric paint",
               "polish": "a steam iron", "dryer": "on a clothes line", "storage": "a deep drawer"},
    "ceramic": {"cleaner": "a soft sponge", "fixer": "ceramic glue", "coating": "enamel paint",
                "polish": "a dry towel", "dryer": "on a dish rack", "storage": "a top cupboard"},
}

# --------------------------------------------------------------------------- objects and their materials
OBJECTS = {
    "chair": "wooden metal plastic", "table": "wooden metal glass stone", "stool": "wooden metal plastic",
    "bench": "wooden metal stone", "shelf": "wooden metal glass", "cabinet": "wooden metal",
    "desk": "wooden metal glass", "bed frame": "wooden metal", "bookcase": "wooden metal",
    "dresser": "wooden", "coffee table": "wooden glass stone", "rocking chair": "wooden",
    "bowl": "wooden glass ceramic metal plastic", "plate": "ceramic glass plastic metal", "mug": "ceramic glass metal",
    "jug": "ceramic glass plastic", "tray": "wooden metal plastic", "teapot": "ceramic metal glass",
    "vase": "glass ceramic stone metal", "jar": "glass ceramic plastic", "cooking pot": "metal ceramic",
    "cutting board": "wooden plastic stone", "salad bowl": "wooden glass ceramic", "water bottle": "metal glass plastic",
    "lunch box": "metal plastic", "bread bin": "wooden metal ceramic", "spice rack": "wooden metal",
    "flower pot": "ceramic plastic stone", "planter": "wooden stone ceramic plastic", "bird bath": "stone ceramic metal",
    "garden gate": "wooden metal", "fence post": "wooden metal stone", "watering can": "metal plastic",
    "birdhouse": "wooden metal", "garden statue": "stone metal ceramic", "mailbox": "metal wooden plastic",
    "picnic table": "wooden metal plastic", "doormat": "cotton plastic", "wheelbarrow": "metal plastic",
    "bag": "leather cotton plastic", "belt": "leather cotton", "wallet": "leather cotton", "pair of boots": "leather plastic",
    "jacket": "leather cotton", "hat": "cotton leather", "pair of gloves": "leather cotton", "backpack": "leather cotton plastic",
    "suitcase": "leather plastic metal", "sofa": "leather cotton", "armchair": "leather cotton wooden",
    "cushion": "cotton leather", "rug": "cotton", "curtain": "cotton", "tablecloth": "cotton plastic",
    "apron": "cotton leather", "lamp": "glass metal ceramic", "picture frame": "wooden metal glass plastic",
    "mirror frame": "wooden metal", "clock": "wooden metal glass", "candle holder": "glass metal ceramic stone",
    "jewellery box": "wooden leather metal", "music box": "wooden metal", "lampshade": "cotton glass plastic",
    "window sill": "wooden stone plastic", "fireplace": "stone metal", "door handle": "metal plastic ceramic",
    "kitchen counter": "stone wooden", "bathroom tile": "ceramic stone glass", "toy box": "wooden plastic",
    "toy car": "metal plastic wooden", "doll house": "wooden plastic", "chess board": "wooden stone glass",
    "guitar case": "leather plastic", "bike helmet": "plastic", "bike basket": "metal plastic",
    "laptop stand": "metal wooden plastic", "phone case": "leather plastic", "pencil case": "leather cotton plastic",
    "umbrella stand": "metal ceramic", "coat hook": "metal wooden", "shoe rack": "wooden metal plastic",
    "laundry basket": "plastic cotton", "storage box": "wooden plastic metal", "fruit bowl": "wooden glass ceramic",
    "soap dish": "ceramic glass stone", "serving spoon": "wooden metal", "kettle": "metal glass",
    "coaster": "stone wooden cotton ceramic", "photo album": "leather cotton", "notebook cover": "leather cotton",
    "dog bed": "cotton plastic", "cat bowl": "ceramic metal plastic", "fish bowl": "glass plastic",
    "trophy": "metal glass", "ornament": "glass ceramic metal", "wind chime": "metal glass wooden",
    "garden lantern": "metal glass", "flower box": "wooden plastic", "step stool": "wooden plastic metal",
    "ladder": "wooden metal", "tool box": "metal plastic", "sewing box": "wooden cotton",
}
# Held out of every stage but pretraining: the out-of-distribution split.
OOD_OBJECTS = ("teapot", "birdhouse", "backpack", "lampshade", "chess board", "wind chime", "step stool",
               "soap dish", "trophy", "armchair", "garden lantern", "coaster")

# --------------------------------------------------------------------------- verbs: the procedures
# A step is (key, wordings). ``key`` is a literal phrase every wording contains: a phrase for the verb's
# own steps, or a material kind in braces ("{cleaner}") for a step that names what the material needs.
# Wordings use {obj} (the object's name) or "it".
VERBS = {
    "clean": ("clean {my} {mat} {obj}", [
        ("clear everything off", ["clear everything off the {obj}", "clear everything off it"]),
        ("{cleaner}", ["wipe the {obj} with {x}", "clean it with {x}", "go over the {obj} with {x}"]),
        ("spots you missed", ["check for spots you missed", "look over the {obj} for spots you missed"]),
        ("{dryer}", ["let it dry {x}", "leave the {obj} to dry {x}"]),
    ]),
    "repair": ("repair {my} broken {mat} {obj}", [
        ("find the damaged part", ["find the damaged part", "find the damaged part of the {obj}"]),
        ("{fixer}", ["mend it with {x}", "fix the {obj} with {x}", "use {x} on the damage"]),
        ("hold it still", ["hold it still for an hour", "hold it still while the {obj} sets"]),
        ("{coating}", ["touch up the repair with {x}", "cover the mended part with {x}"]),
    ]),
    "paint": ("paint {my} {mat} {obj}", [
        ("sand the surface", ["sand the surface lightly", "sand the surface of the {obj}"]),
        ("wipe away the dust", ["wipe away the dust", "wipe away the dust from the {obj}"]),
        ("{coating}", ["brush on two thin coats of {x}", "paint the {obj} with {x}", "apply {x} in thin coats"]),
        ("{dryer}", ["let it dry {x}", "leave the {obj} to dry {x}"]),
    ]),
    "polish": ("polish {my} {mat} {obj}", [
        ("{cleaner}", ["clean it first with {x}", "wash the {obj} with {x} first"]),
        ("test a small corner", ["test a small corner", "test a small corner of the {obj}"]),
        ("{polish}", ["buff the {obj} with {x}", "rub {x} in small circles", "polish it with {x}"]),
        ("wipe off the extra", ["wipe off the extra", "wipe off the extra with a clean rag"]),
    ]),
    "store": ("store {my} {mat} {obj} for the winter", [
        ("{cleaner}", ["clean it with {x}", "wash the {obj} with {x}"]),
        ("is completely dry", ["make sure it is completely dry", "make sure the {obj} is completely dry"]),
        ("wrap it in an old sheet", ["wrap it in an old sheet", "wrap it in an old sheet to keep off dust"]),
        ("{storage}", ["keep it in {x}", "put the {obj} in {x}"]),
    ]),
    "protect": ("protect {my} {mat} {obj} from damage", [
        ("{cleaner}", ["clean it with {x}", "wipe the {obj} with {x}"]),
        ("{coating}", ["seal it with {x}", "give the {obj} a coat of {x}"]),
        ("out of direct sun", ["keep it out of direct sun", "keep the {obj} out of direct sun"]),
        ("every month", ["check it every month", "check the {obj} every month"]),
    ]),
    "remove a stain from": ("remove a stain from {my} {mat} {obj}", [
        ("blot the stain", ["blot the stain with a paper towel", "blot the stain on the {obj}"]),
        ("{cleaner}", ["treat the stain with {x}", "work {x} into the stain"]),
        ("rinse the area", ["rinse the area", "rinse the area with clean water"]),
        ("{dryer}", ["let it dry {x}", "leave the {obj} to dry {x}"]),
    ]),
    "restore": ("restore {my} old {mat} {obj}", [
        ("take off any loose parts", ["take off any loose parts", "take off any loose parts of the {obj}"]),
        ("{fixer}", ["fix the weak spots with {x}", "mend the {obj} with {x}"]),
        ("{coating}", ["refresh it with {x}", "give the {obj} a coat of {x}"]),
        ("{polish}", ["finish it with {x}", "buff the {obj} with {x}"]),
    ]),
    "dust": ("dust {my} {mat} {obj}", [
        ("start at the top", ["start at the top", "start at the top of the {obj}"]),
        ("{polish}", ["dust it with {x}", "go over the {obj} with {x}"]),
        ("get into the corners", ["get into the corners", "get into the corners of the {obj}"]),
        ("shake out the cloth outside", ["shake out the cloth outside", "shake out the cloth outside afterwards"]),
    ]),
    "pack": ("pack {my} {mat} {obj} for a move", [
        ("empty it completely", ["empty it completely", "empty it completely so it is light"]),
        ("{cleaner}", ["clean it with {x}", "wipe the {obj} with {x}"]),
        ("in a blanket", ["wrap it in a blanket", "wrap the {obj} in a blanket"]),
        ("label the box", ["label the box", "label the box with the word {obj}"]),
    ]),
    "deep clean": ("deep clean {my} {mat} {obj}", [
        ("take it outside", ["take it outside", "take it outside where you have room"]),
        ("{cleaner}", ["scrub it with {x}", "scrub the {obj} with {x}"]),
        ("rinse it twice", ["rinse it twice", "rinse it twice with clean water"]),
        ("{dryer}", ["let it dry {x}", "leave the {obj} to dry {x}"]),
    ]),
    "fix a scratch on": ("fix a scratch on {my} {mat} {obj}", [
        ("clean the scratch", ["clean the scratch", "clean the scratch on the {obj}"]),
        ("{fixer}", ["fill the scratch with {x}", "fill it with {x}"]),
        ("smooth it flat", ["smooth it flat", "smooth it flat with a card"]),
        ("{polish}", ["finish with {x}", "buff the {obj} with {x}"]),
    ]),
    "waterproof": ("waterproof {my} {mat} {obj}", [
        ("{cleaner}", ["clean it with {x}", "clean the {obj} with {x}"]),
        ("dry fully", ["let it dry fully", "let the {obj} dry fully"]),
        ("{coating}", ["cover it with {x}", "seal the {obj} with {x}"]),
        ("with a few drops", ["test it with a few drops", "test the {obj} with a few drops of water"]),
    ]),
    "get rid of mould on": ("get rid of mould on {my} {mat} {obj}", [
        ("open a window", ["open a window", "open a window before you start"]),
        ("{cleaner}", ["scrub the mould with {x}", "clean the {obj} with {x}"]),
        ("{dryer}", ["dry it {x}", "let the {obj} dry {x}"]),
        ("keep the room aired", ["keep the room aired", "keep the room aired so it stays dry"]),
    ]),
}
# The verb's own step phrases; each belongs to exactly one verb (a test checks it).
VERB_KEYS = {verb: [k for k, _ in steps if not k.startswith("{")] for verb, (_, steps) in VERBS.items()}

PROMPT_TEMPLATES = [
    "How do I {task}?", "What is the best way to {task}?", "Can you tell me how to {task}?",
    "I want to {task}. Where do I start?", "Could you explain how to {task}?",
    "What steps should I follow to {task}?", "Any tips on how to {task}?", "I need to {task}. How?",
    "Please explain how I can {task}.",
]
CONTEXTS = ["", "", "", "I just got a {mat} {obj}. ", "My {mat} {obj} has seen better days. ",
            "This is my first time. ", "My friend {name} asked me this. ", "I have never done this before. "]

# --------------------------------------------------------------------------- answer formats
OPENERS = ["", "", "Sure.", "Good question.", "Happy to help.", "Here is how."]
CLOSERS = ["Good luck!", "Take your time with each step.", "That should do it.", "Enjoy the result!"]
PROSE_CONNECTIVES = [("First,", "Then", "After that,", "Finally,"), ("Start like this:", "Next,", "Once that is done,",
                                                                     "Last of all,"),
                     ("Begin with this:", "Now", "Then", "To finish,")]


@dataclass(frozen=True)
class Task:
    verb: str
    material: str
    obj: str

    def phrase(self, my: str = "my") -> str:
        return VERBS[self.verb][0].format(my=my, mat=self.material, obj=self.obj)

    def steps(self) -> list[tuple[str, list[str]]]:
        """The four steps as (key phrase, wordings) with the material filled in."""
        out = []
        for key, wordings in VERBS[self.verb][1]:
            x = MATERIALS[self.material][key[1:-1]] if key.startswith("{") else ""
            out.append((x or key, [w.format(x=x, obj=self.obj) for w in wordings]))
        return out


def all_tasks() -> list[Task]:
    return [Task(v, m, o) for v in VERBS for o, mats in OBJECTS.items() for m in mats.split()]


def task_split(task: Task) -> str:
    """"ood" for a held-out object, else "test" for one task in ten (by a hash: stable, i.i.d.), else "train"."""
    return hash_split(f"{task.verb}|{task.material}|{task.obj}", task.obj in OOD_OBJECTS)


@functools.lru_cache(maxsize=1)
def _tasks_by_split() -> dict[str, list[Task]]:
    by_split = {"train": [], "test": [], "ood": []}
    for t in all_tasks():
        by_split[task_split(t)].append(t)
    return by_split


def tasks(split: str) -> list[Task]:
    return _tasks_by_split()[check_split(split)]


@functools.lru_cache(maxsize=1)
def _request_patterns() -> list[tuple[str, re.Pattern]]:
    """One regular expression per verb for its task phrase ("clean (my|a|your) (material) (object)")."""
    out = []
    for verb, (phrase, _) in VERBS.items():
        pattern = re.escape(phrase).replace(re.escape("{my}"), "(?:my|a|your)")
        pattern = pattern.replace(re.escape("{mat}"), f"({alternation(MATERIALS)})")
        pattern = pattern.replace(re.escape("{obj}"), f"({alternation(OBJECTS)})")
        out.append((verb, re.compile(rf"(?<![a-z]){pattern}(?![a-z])", re.IGNORECASE)))
    return out


def parse_request(request: str) -> Task | None:
    """The task a how-to request asks (the longest verb phrase that matches), or None."""
    found = [(m.end() - m.start(), Task(verb, m.group(1).lower(), m.group(2).lower()))
             for verb, pattern in _request_patterns() for m in [pattern.search(request)] if m]
    found = [(n, t) for n, t in found if t.material in OBJECTS[t.obj].split()]
    return max(found, key=lambda f: f[0])[1] if found else None


def make_prompt(task: Task, rng: random.Random) -> TaskPrompt:
    context = rng.choice(CONTEXTS).format(mat=task.material, obj=task.obj, name=rng.choice(NAMES))
    request = context + rng.choice(PROMPT_TEMPLATES).format(task=task.phrase(rng.choice(["my", "my", "a"])))
    return TaskPrompt(hh(request), task)


def sample_prompts(split: str, n: int, seed: int) -> list[TaskPrompt]:
    return sample("tasks", tasks, make_prompt, split, n, seed)


# --------------------------------------------------------------------------- writing answers
def write_answer(task: Task, rng: random.Random, keep: list[int] | None = None, swap: bool = False,
                 name_object: float = 0.5, closer: bool | None = None, opener: bool = True,
                 replace: dict[int, str] | None = None) -> str:
    """An answer that gives the steps ``keep`` (indices 0-3, default all) in order, or with two neighbours
    swapped (``swap``); each step names the object with probability ``name_object`` (else "it");
    ``replace`` {step: wording} puts a wrong step in a slot. Format, connectives and wordings are random."""
    wordings = _step_wordings(task, rng, list(range(4)) if keep is None else list(keep), name_object, replace or {})
    if swap and len(wordings) >= 2:
        j = rng.randrange(len(wordings) - 1)
        wordings[j], wordings[j + 1] = wordings[j + 1], wordings[j]
    body = _steps_text(task, wordings, rng)
    parts = [rng.choice(OPENERS), body] if opener else [body]
    if closer is None:
        closer = rng.random() < 0.3
    if closer:
        parts.append(rng.choice(CLOSERS))
    return " " + " ".join(p for p in parts if p)


def _step_wordings(task: Task, rng: random.Random, keep: list[int], name_object: float, replace: dict) -> list[str]:
    """One wording per kept step: ``replace``'s if it has one, else a random one, naming the object with
    probability ``name_object``."""
    steps, wordings = task.steps(), []
    for i in keep:
        if i in replace:
            wordings.append(replace[i])
            continue
        options = steps[i][1]
        named = [w for w in options if task.obj in w]
        plain = [w for w in options if task.obj not in w]
        pool = named if (named and rng.random() < name_object) else (plain or options)
        wordings.append(rng.choice(pool))
    return wordings


def _steps_text(task: Task, wordings: list[str], rng: random.Random) -> str:
    """The steps in one of three random forms: prose with connectives, one sentence, or a numbered list."""
    form = rng.random()
    intro = f"To {task.phrase('your')}, " if rng.random() < 0.5 else ""
    if form < 0.45:  # prose with connectives
        conn = rng.choice(PROSE_CONNECTIVES)
        picks = [conn[0]] + [conn[min(2, k)] if k < len(wordings) - 1 else conn[3] for k in range(1, len(wordings))]
        sentences = [f"{c} {w}." for c, w in zip(picks, wordings)]
        body = (intro + sentences[0][0].lower() + sentences[0][1:] if intro else sentences[0]) + " " + " ".join(sentences[1:])
    elif form < 0.75:  # one sentence
        if len(wordings) == 1:
            inner = wordings[0]
        else:
            inner = ", then ".join(wordings[:-1]) + f", and finally {wordings[-1]}"
        body = (intro + inner + ".") if intro else capital(inner) + "."
    else:  # a numbered list
        items = " ".join(f"{k + 1}. {capital(w)}." for k, w in enumerate(wordings))
        body = f"{capital(intro.rstrip(', ')) + ':' if intro else 'Here are the steps:'} {items}"
    return body.strip()


def wrong_step(task: Task, slot: int, rng: random.Random) -> str:
    """A wording for slot ``slot`` that is wrong: the same step with another material's phrase, or a step
    of another verb."""
    key, _ = VERBS[task.verb][1][slot]
    if key.startswith("{"):
        other = rng.choice([m for m in MATERIALS if m != task.material])
        return Task(task.verb, other, task.obj).steps()[slot][1][0]
    verb = rng.choice([v for v in VERBS if v != task.verb])
    k = rng.choice(VERB_KEYS[verb])
    return dict(VERBS[verb][1])[k][0].format(obj=task.obj)


STYLES = ["helpful", "missing_step", "two_missing", "swapped", "slip", "off_topic", "refusal", "evasive", "verbose"]


def respond(prompt: TaskPrompt, style: str, rng: random.Random) -> str:
    t = prompt.task
    if style == "helpful":
        return write_answer(t, rng, name_object=0.8)
    if style == "missing_step":
        return write_answer(t, rng, keep=sorted(rng.sample(range(4), 3)))
    if style == "two_missing":
        return write_answer(t, rng, keep=sorted(rng.sample(range(4), 2)))
    if style == "swapped":
        return write_answer(t, rng, swap=True)
    if style == "slip":
        slot = rng.randrange(4)
        return write_answer(t, rng, replace={slot: wrong_step(t, slot, rng)})
    if style == "off_topic":
        other = rng.choice([o for o in tasks("train") if o.verb != t.verb])
        return write_answer(other, rng)
    if style == "refusal":
        return " " + rng.choice(REFUSALS)
    if style == "evasive":
        return " " + " ".join(rng.sample(EVASIONS, 2))
    if style == "verbose":
        a = write_answer(t, rng, closer=False)
        return a + " " + rng.choice(EVASIONS) + " " + write_answer(t, rng, opener=False, closer=False).strip()
    raise ValueError(f"unknown style {style!r}; use one of {STYLES}")


def demonstration(prompt: TaskPrompt, rng: random.Random) -> str:
    """What a (good, not perfect) human demonstrator writes: all four steps two times in three, in order
    nine times in ten, the object named half the time, a friendly close one time in four."""
    keep = list(range(4)) if rng.random() < 0.65 else sorted(rng.sample(range(4), 3))
    return write_answer(prompt.task, rng, keep=keep, swap=rng.random() < 0.1, name_object=0.5,
                        closer=rng.random() < 0.25)


def best_answer(prompt: TaskPrompt, rng: random.Random) -> str:
    return write_answer(prompt.task, rng, name_object=1.0, closer=True)


# --------------------------------------------------------------------------- the gold judge
WEIGHTS = {"helpfulness": 2.0, "order": -0.5, "specific": 0.3, "wrong": -1.0, "over_refusal": -1.0,
           "tone": 0.15, "length": -1.0, "repetition": -2.0, "degenerate": -2.0}
IDEAL_WORDS = 45
_ALL_MATERIAL_PHRASES = {m: set(kinds.values()) for m, kinds in MATERIALS.items()}


def gold_components(task: Task, response: str) -> dict[str, float]:
    text, c = text_components(WEIGHTS, response, IDEAL_WORDS)
    keys = [k.lower() for k, _ in task.steps()]
    positions = [text.find(k) for k in keys]
    present = [p for p in positions if p >= 0]
    c["helpfulness"] = len(present) / 4
    if len(present) >= 2:
        in_order = sum(a < b for a, b in zip(present, present[1:]))
        c["order"] = 1.0 - in_order / (len(present) - 1)
    c["specific"] = 1.0 if re.search(rf"\b{re.escape(task.obj)}\b", text) else 0.0
    wrong = [p for m, ps in _ALL_MATERIAL_PHRASES.items() if m != task.material for p in ps
             if p not in keys and p in text]
    wrong += [k for v, ks in VERB_KEYS.items() if v != task.verb for k in ks if k not in keys and k in text]
    rest = re.sub(rf"\b{re.escape(task.obj)}\b", " ", text)  # another object's name is wrong too
    wrong += [o for o in OBJECTS if o != task.obj and re.search(rf"\b{re.escape(o)}\b", rest)]
    c["wrong"] = 0.75 * len(wrong)
    c["over_refusal"] = 1.0 if any(r.lower().rstrip(".") in text for r in REFUSALS) else 0.0
    c["tone"] = 1.0 if any(cl.lower() in text for cl in CLOSERS) else 0.0
    return c


def gold_score(task: Task, response: str) -> float:
    return weighted(WEIGHTS, gold_components(task, response))


CONTRASTS = ("drop_step", "swap", "slip", "unnamed", "no_closer", "other_object")


def contrast_pair(prompt: TaskPrompt, rng: random.Random) -> tuple[str, str, str]:
    """A minimal contrast: two answers in the same format and wordings that differ in one thing (a step
    left out, two steps swapped, a wrong step, the object not named, no friendly close, another object's
    name). Returns (better, worse, what differs) by design; the gold judge agrees (a test checks it)."""
    t, kind, seed = prompt.task, rng.choice(CONTRASTS), rng.random()
    base = dict(name_object=1.0, closer=True)
    good = write_answer(t, random.Random(seed), **base)
    if kind == "drop_step":
        bad = write_answer(t, random.Random(seed), keep=sorted(rng.sample(range(4), 3)), **base)
    elif kind == "swap":
        bad = write_answer(t, random.Random(seed), swap=True, **base)
    elif kind == "slip":
        slot = rng.randrange(4)
        bad = write_answer(t, random.Random(seed), replace={slot: wrong_step(t, slot, rng)}, **base)
    elif kind == "unnamed":
        bad = write_answer(t, random.Random(seed), name_object=0.0, closer=True)
        bad = re.sub(rf"\b{re.escape(t.obj)}\b", "thing", bad)
    elif kind == "no_closer":
        bad = write_answer(t, random.Random(seed), name_object=1.0, closer=False)
    else:
        other = rng.choice([o for o in OBJECTS if o != t.obj and t.obj not in o and o not in t.obj])
        bad = re.sub(rf"\b{re.escape(t.obj)}\b", other, good)
    return good, bad, kind
