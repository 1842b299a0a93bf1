"""The world's emotional-support family: a feeling x a situation, the situation from one of eight areas of life.

"I feel lonely because I moved to a new city." The right answer names the feeling with empathy ("it makes
sense to feel lonely"), reflects the situation ("a move like that"), and suggests the two things that help
in that *area* of life (a move: "join a local club", "call someone from home"), with a kind close. The
support follows from the area, so an unseen situation of a known area is answerable.

Gold (``gold_components``): helpfulness = 0.3 reflects the situation + 0.35 per area support (of two);
empathy = 0.5 an empathy phrase + 0.5 naming the feeling, minus 1 for a dismissive phrase; wrong (another
area's support: 0.5 each); over-refusal; a kind close; length, repetition, degenerate text.
Splits: hashed tasks for "test"; the last situation of every area is held out for "ood".
"""

from __future__ import annotations

import functools
import random
import re
from dataclasses import dataclass

from rlcore.world.compose import (EVASIONS, PREFACES, REFUSAL_KEYS, REFUSALS, TaskPrompt, capital, check_split, count,
                                   has, hh, sample, split_tasks, text_components, weighted, write_parts)

FEELINGS = ["sad", "lonely", "anxious", "stressed", "overwhelmed", "hurt", "scared", "angry", "worried", "exhausted"]
# area: (two supports that help there, situations as (what happened, how the answer reflects it))
AREAS = {
    "work": (["make a short list of what you can control", "talk to someone at work you trust"], [
        ("my boss criticised me in front of everyone", "being criticised in public"),
        ("I might lose my job", "not knowing about your job"), ("I have too many deadlines", "so many deadlines"),
        ("I was passed over for a promotion", "missing that promotion"),
        ("my new job is harder than I expected", "a hard new job"),
        ("a coworker keeps ignoring me", "being ignored at work"),
        ("I made a big mistake at work", "a mistake at work")]),
    "school": (["break the work into small pieces", "ask your teacher for help"], [
        ("I failed an important exam", "failing that exam"), ("my exams start next week", "exams so close"),
        ("I cannot keep up in maths class", "falling behind in class"),
        ("my essay got a bad mark", "a disappointing mark"), ("I have to give a talk to my class", "speaking in class"),
        ("I did not get into the course I wanted", "missing that course"),
        ("my project partner does no work", "an unfair project")]),
    "friends": (["reach out to one friend you trust", "give it a little time"], [
        ("my best friend stopped talking to me", "losing touch with your friend"),
        ("I was not invited to a party", "being left out"), ("my friends made fun of me", "being laughed at"),
        ("my friend told my secret to others", "a broken trust"), ("I had a fight with my friend", "a fight with a friend"),
        ("my friends all seem busy without me", "feeling left behind"),
        ("my friend moved to another country", "a friend so far away")]),
    "family": (["find a calm moment to talk", "take some time for yourself"], [
        ("my parents keep arguing", "arguments at home"), ("my brother and I had a fight", "a fight with your brother"),
        ("my family does not listen to me", "not being heard at home"),
        ("my parents are getting divorced", "a divorce in the family"),
        ("my sister and I stopped speaking", "a silence with your sister"),
        ("my dad is angry with me", "your dad's anger"), ("my family expects too much of me", "such high expectations")]),
    "loss": (["let yourself grieve", "share a memory with someone close"], [
        ("my dog died", "losing your dog"), ("my grandmother passed away", "losing your grandmother"),
        ("my cat went missing", "your missing cat"), ("an old friend died", "losing an old friend"),
        ("my grandfather is very ill", "your grandfather's illness"), ("my horse had to be put down", "losing your horse"),
        ("my uncle died last month", "losing your uncle")]),
    "move": (["join a local club", "call someone from home"], [
        ("I moved to a new city", "a move like that"), ("I started at a new school", "a new school"),
        ("I left home for the first time", "leaving home"), ("I do not know anyone in my new town", "a town of strangers"),
        ("I moved abroad for work", "living abroad"), ("my family moved away", "your family so far away"),
        ("I changed teams at work", "a new team")]),
    "health": (["keep a simple daily routine", "talk to your doctor about it"], [
        ("I have been sleeping badly", "so little sleep"), ("I am waiting for test results", "waiting for results"),
        ("I hurt my back and cannot exercise", "an injured back"), ("I have been ill for weeks", "weeks of illness"),
        ("I have a hospital visit next week", "a hospital visit ahead"), ("I get headaches every day", "daily headaches"),
        ("I feel tired all the time", "feeling tired all the time")]),
    "money": (["write down what you spend each week", "speak to a money adviser"], [
        ("I cannot pay my rent this month", "rent you cannot pay"), ("I lost my wallet with all my cash", "losing your cash"),
        ("my bills keep going up", "rising bills"), ("I owe money to a friend", "owing a friend money"),
        ("my car broke down and I cannot afford it", "an expensive repair"),
        ("I spent my savings on a mistake", "losing your savings"),
        ("my hours at work were cut", "fewer hours at work")]),
}
EMPATHY = ["i am sorry you feel {f}", "it makes sense to feel {f}", "it is okay to feel {f}"]
EMPATHY_KEYS = ["i am sorry you feel", "it makes sense to feel", "it is okay to feel"]
REFLECTIONS = ["{r} is a lot to carry", "dealing with {r} is really hard", "{r} would shake anyone"]
SUPPORT_WORDINGS = ["it may help to {s}", "you could {s}", "try to {s}", "if you can, {s}"]
DISMISSIVE = ["just get over it", "stop complaining", "that is not a real problem", "everyone has it worse"]
CLOSERS = ["I am here if you want to talk more.", "Be gentle with yourself.", "Things can get better."]
AFTERWORDS = ["", "", " It has been like this for days.", " It started last week.", " I cannot sleep because of it.",
              " I keep thinking about it.", " I do not usually ask for help."]
PROMPT_TEMPLATES = ["I feel {f} because {s}.", "Lately I have been {f} since {s}. What should I do?",
                    "I am so {f}. {S}.", "{S} and I feel {f}. Any advice?", "I have been feeling {f} because {s}.",
                    "{S}. I am {f} and do not know what to do.", "Can you help? I am {f} because {s}."]


@dataclass(frozen=True)
class Task:
    feeling: str
    area: str
    situation: int  # index into the area's situations

    @property
    def happened(self) -> str:
        return AREAS[self.area][1][self.situation][0]

    @property
    def reflection(self) -> str:
        return AREAS[self.area][1][self.situation][1]

    @property
    def supports(self) -> list[str]:
        return AREAS[self.area][0]


@functools.lru_cache(maxsize=1)
def _by_split() -> dict[str, list[Task]]:
    every = [Task(f, a, i) for f in FEELINGS for a, (_, sits) in AREAS.items() for i in range(len(sits))]
    return split_tasks(every, key=lambda t: f"{t.feeling}|{t.area}|{t.situation}",
                       held_out=lambda t: t.situation == len(AREAS[t.area][1]) - 1)


def tasks(split: str) -> list[Task]:
    return _by_split()[check_split(split)]


def make_prompt(task: Task, rng: random.Random) -> TaskPrompt:
    s = task.happened
    text = rng.choice(PREFACES) + rng.choice(PROMPT_TEMPLATES).format(f=task.feeling, s=s, S=capital(s))
    text += rng.choice(AFTERWORDS)
    return TaskPrompt(hh(text), task)


def sample_prompts(split: str, n: int, seed: int) -> list[TaskPrompt]:
    return sample("support", tasks, make_prompt, split, n, seed)


def parse_request(request: str) -> Task | None:
    """The task an emotional request tells (a situation of the world and a feeling named outside it), or None."""
    low = request.lower()
    for area, (_, situations) in AREAS.items():
        for i, (happened, _) in enumerate(situations):
            if happened.lower() in low:
                rest = low.replace(happened.lower(), " ")
                feeling = next((f for f in FEELINGS if re.search(rf"\b{f}\b", rest)), None)
                return Task(feeling, area, i) if feeling else None
    return None


# --------------------------------------------------------------------------- writing answers
def supportive(task: Task, rng: random.Random, empathy: bool = True, feeling: bool = True, reflect: bool = True,
               supports: tuple[int, ...] = (0, 1), other_support: str = "", closer: bool = True) -> str:
    """An answer from parts (every wording drawn first, so answers that differ in one part share the rest):
    empathy (naming the feeling or not), a reflection of the situation, the area's ``supports`` by index,
    ``other_support`` (another area's) in the last slot, a kind close."""
    emp = rng.choice(EMPATHY).format(f=task.feeling)
    emp = emp if feeling else emp.rsplit(" ", 1)[0] + " this way"
    ref = rng.choice(REFLECTIONS).format(r=task.reflection)
    sup = [rng.choice(SUPPORT_WORDINGS).format(s=s) for s in task.supports]
    close = rng.choice(CLOSERS)
    parts = [emp] * empathy + [ref] * reflect + [sup[i] for i in supports]
    if other_support:
        parts.append(rng.choice(SUPPORT_WORDINGS).format(s=other_support))
    return write_parts(parts, rng, closer=close if closer else "")


def other_support(task: Task, rng: random.Random) -> str:
    return rng.choice(AREAS[rng.choice([a for a in AREAS if a != task.area])][0])


STYLES = ["empathetic", "empathy_only", "advice_only", "one_support", "wrong_support", "dismissive", "refusal",
          "evasive", "verbose"]


def respond(prompt: TaskPrompt, style: str, rng: random.Random) -> str:
    t = prompt.task
    if style == "empathetic":
        return supportive(t, rng)
    if style == "empathy_only":
        return supportive(t, rng, supports=(), closer=False)
    if style == "advice_only":
        return supportive(t, rng, empathy=False, reflect=False, closer=False)
    if style == "one_support":
        return supportive(t, rng, supports=(rng.randrange(2),))
    if style == "wrong_support":
        return supportive(t, rng, supports=(rng.randrange(2),), other_support=other_support(t, rng))
    if style == "dismissive":
        return " " + rng.choice(DISMISSIVE).capitalize() + ". " + supportive(t, rng, empathy=False, reflect=False,
                                                                               supports=(0,), closer=False).strip()
    if style == "refusal":
        return " " + rng.choice(REFUSALS)
    if style == "evasive":
        return " " + " ".join(rng.sample(EVASIONS, 2))
    if style == "verbose":
        return supportive(t, rng, closer=False) + " " + " ".join(rng.sample(EVASIONS, 2)) + \
            supportive(t, rng, empathy=False)
    raise ValueError(f"unknown style {style!r}; use one of {STYLES}")


def demonstration(prompt: TaskPrompt, rng: random.Random) -> str:
    """A good, not perfect, demonstrator: empathy always (the feeling named two times in three), the
    situation reflected half the time, both supports three times in five (else one), a kind close one in three."""
    t = prompt.task
    supports = (0, 1) if rng.random() < 0.6 else (rng.randrange(2),)
    return supportive(t, rng, feeling=rng.random() < 0.67, reflect=rng.random() < 0.5, supports=supports,
                      closer=rng.random() < 0.33)


def best_answer(prompt: TaskPrompt, rng: random.Random) -> str:
    return supportive(prompt.task, rng)


# --------------------------------------------------------------------------- the gold judge
WEIGHTS = {"helpfulness": 2.0, "empathy": 1.0, "wrong": -1.0, "over_refusal": -1.0, "tone": 0.15, "length": -1.0,
           "repetition": -2.0, "degenerate": -2.0}
IDEAL_WORDS = 40


def gold_components(task: Task, response: str) -> dict[str, float]:
    text, c = text_components(WEIGHTS, response, IDEAL_WORDS)
    c["helpfulness"] = 0.3 * has(text, task.reflection) + 0.35 * count(text, task.supports)
    shows = count(text, EMPATHY_KEYS) > 0
    named = any(has(text, k.format(f=task.feeling)) for k in EMPATHY)
    c["empathy"] = 0.5 * shows + 0.5 * named - 1.0 * (count(text, DISMISSIVE) > 0)
    c["wrong"] = 0.5 * sum(count(text, sup) for a, (sup, _) in AREAS.items() if a != task.area)
    c["over_refusal"] = 1.0 if count(text, REFUSAL_KEYS) else 0.0
    c["tone"] = 1.0 if any(has(text, cl.rstrip(".")) for cl in CLOSERS) else 0.0
    return c


def gold_score(task: Task, response: str) -> float:
    return weighted(WEIGHTS, gold_components(task, response))


CONTRASTS = ("no_support", "wrong_support", "feeling_unnamed", "no_reflection", "no_closer", "dismissive")


def contrast_pair(prompt: TaskPrompt, rng: random.Random) -> tuple[str, str, str]:
    """Two answers with the same wordings that differ in one thing; returns (better, worse, what differs)."""
    t, kind, seed = prompt.task, rng.choice(CONTRASTS), rng.random()
    good = supportive(t, random.Random(seed))
    changes = {"no_support": dict(supports=(rng.randrange(2),)),
               "wrong_support": dict(supports=(0,), other_support=other_support(t, rng)),
               "feeling_unnamed": dict(feeling=False), "no_reflection": dict(reflect=False),
               "no_closer": dict(closer=False)}
    if kind == "dismissive":
        return good, " " + rng.choice(DISMISSIVE).capitalize() + "." + good, kind
    return good, supportive(t, random.Random(seed), **changes[kind]), kind
