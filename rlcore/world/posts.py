"""The world's summary family: forum posts composed from an event, a complication and a question (plus
the poster's name and details that do not matter), to be summarised in one sentence.

"Summarise this post: Hi, I am Maya. Last month I adopted a rescue dog. I live in a small flat. My
landlord said no. Should I give up?" A good summary keeps the three points and the poster and drops the
details: "Maya adopted a rescue dog, but the landlord said no, and asks whether to give up."

Gold (``gold_components``): helpfulness = 0.4 the event + 0.3 the complication + 0.3 the question;
naming the poster; wrong content (another post's event or complication: 0.75 each); length past the
ideal, a detail carried over (0.25 each) and the post copied word for word; repetition, degenerate text.
Splits: hashed posts for "test"; two held-out events make "ood".
"""

from __future__ import annotations

import dataclasses
import functools
import random
import re
from dataclasses import dataclass

from rlcore.world.compose import (EVASIONS, NAMES, REFUSAL_KEYS, REFUSALS, TaskPrompt, capital, check_split, count,
                                   has, hh, sample, split_tasks, text_components, weighted)

EVENTS = ["adopted a rescue dog", "started a new job", "bought an old car", "signed up for a marathon",
          "started learning the piano", "planned a trip abroad", "opened a small bakery", "moved in with a partner",
          "got a place at university", "started a podcast", "bought a house", "joined a band",
          "began volunteering at a shelter", "started a vegetable garden", "took out a loan for a course",
          "agreed to host a wedding"]
OOD_EVENTS = ("started a podcast", "joined a band")
# complication: (what the post says, how a summary says it); the summary's wording holds the key (the last
# words after "their"/"the"/"they")
COMPLICATIONS = {
    "money is running out": ("Now my money is running out.", "money is running out"),
    "partner is against it": ("My partner is against it.", "their partner is against it"),
    "no free time": ("I have no free time anymore.", "they have no free time"),
    "parents think it is a mistake": ("My parents think it is a mistake.", "their parents think it is a mistake"),
    "back started to hurt": ("My back started to hurt.", "their back started to hurt"),
    "landlord said no": ("My landlord said no.", "the landlord said no"),
    "boss wants more hours": ("My boss wants me to work more hours.", "the boss wants more hours"),
    "neighbours complained": ("The neighbours complained about it.", "the neighbours complained"),
    "lost interest": ("I have lost interest.", "they lost interest"),
    "best friend is upset": ("My best friend is upset with me.", "their best friend is upset"),
    "deadline is next week": ("The deadline is next week.", "the deadline is next week"),
    "feel like a failure": ("I feel like a failure.", "they feel like a failure"),
}
# question: (what the post asks, the key a summary carries)
QUESTIONS = {
    "give up": ("Should I give up?", "whether to give up"),
    "tell family": ("How do I tell my family?", "how to tell the family"),
    "worth money": ("Is it worth the money?", "whether it is worth the money"),
    "what next": ("What should I do next?", "what to do next"),
    "wait": ("Should I wait a year?", "whether to wait a year"),
    "find time": ("How do I find the time?", "how to find the time"),
    "selfish": ("Am I being selfish?", "whether it is selfish"),
    "ask help": ("Should I ask for help?", "whether to ask for help"),
}
DETAILS = ["It has rained all week.", "I live in a small flat.", "I am thirty two.", "My cat likes to sit on my desk.",
           "I usually cook on Sundays.", "I have two brothers.", "I drink a lot of tea.", "I work in an office.",
           "My flat is near the station.", "I grew up by the sea."]
WHEN = ["Last month I", "A while ago I", "This year I", "Recently I", "Two weeks ago I"]
PROMPT_TEMPLATES = ["Summarise this post: {post}", "Write a TL;DR of this post: {post}",
                    "Can you sum up this post in one sentence? {post}"]


@dataclass(frozen=True)
class Task:
    event: str
    complication: str
    question: str
    name: str = ""
    details: tuple[str, ...] = ()

    @property
    def question_key(self) -> str:
        return QUESTIONS[self.question][1]

    def post(self, when: str) -> str:
        middle = [f"{when} {self.event}.", *self.details[:1], COMPLICATIONS[self.complication][0], *self.details[1:]]
        return f"Hi, I am {self.name}. " + " ".join(middle) + " " + QUESTIONS[self.question][0]


@functools.lru_cache(maxsize=1)
def _by_split() -> dict[str, list[Task]]:
    every = [Task(e, c, q) for e in EVENTS for c in COMPLICATIONS for q in QUESTIONS]
    return split_tasks(every, key=lambda t: f"{t.event}|{t.complication}|{t.question}",
                       held_out=lambda t: t.event in OOD_EVENTS)


def tasks(split: str) -> list[Task]:
    return _by_split()[check_split(split)]


def make_prompt(task: Task, rng: random.Random) -> TaskPrompt:
    """The post of ``task`` with a random poster and one or two details (kept in the prompt's task)."""
    task = dataclasses.replace(task, name=rng.choice(NAMES), details=tuple(rng.sample(DETAILS, rng.choice([1, 2]))))
    return TaskPrompt(hh(rng.choice(PROMPT_TEMPLATES).format(post=task.post(rng.choice(WHEN)))), task)


def sample_prompts(split: str, n: int, seed: int) -> list[TaskPrompt]:
    return sample("posts", tasks, make_prompt, split, n, seed)


def parse_request(request: str) -> Task | None:
    """The post a summary request holds (poster, event, complication, question, details), or None."""
    m = re.search(r"Hi, I am (\w+)\. ", request)
    event = next((e for e in sorted(EVENTS, key=len, reverse=True) if f"I {e}." in request), None)
    complication = next((k for k, (said, _) in COMPLICATIONS.items() if said in request), None)
    question = next((k for k, (said, _) in QUESTIONS.items() if request.endswith(said)), None)
    if not (m and event and complication and question):
        return None
    details = tuple(sorted((d for d in DETAILS if d in request), key=request.index))
    return Task(event, complication, question, name=m.group(1), details=details)


# --------------------------------------------------------------------------- writing summaries
FORMS = ["{n} {e}, but {c}, and asks {q}.", "TL;DR: {n} {e} but {c}; they wonder {q}.",
         "{n} {e}. The catch: {c}. They ask {q}.", "In short, {n} {e}, but {c}, so they ask {q}."]


def summary(task: Task, rng: random.Random, event: str | None = "", complication: str | None = "",
            question: bool = True, name: bool = True, details: int = 0) -> str:
    """A one-sentence summary; ``event``/``complication`` "" is the post's own, None leaves it out, other
    text replaces it (a wrong fact); ``details`` carries that many of the post's details over."""
    e = task.event if event == "" else event
    c = COMPLICATIONS[task.complication if complication == "" else complication][1] if complication is not None else ""
    text = rng.choice(FORMS).format(n=task.name if name else "the poster", e=e or "has a plan",
                                    c=c or "there is a problem", q=task.question_key if question else "what people think")
    return " " + " ".join([capital(text), *task.details[:details]])


STYLES = ["good", "missing_point", "wrong_fact", "copy", "padded", "no_name", "evasive", "refusal"]


def respond(prompt: TaskPrompt, style: str, rng: random.Random) -> str:
    t = prompt.task
    if style == "good":
        return summary(t, rng)
    if style == "missing_point":
        part = rng.choice(["event", "complication", "question"])
        return summary(t, rng, **({"question": False} if part == "question" else {part: None}))
    if style == "wrong_fact":
        if rng.random() < 0.5:
            return summary(t, rng, event=rng.choice([e for e in EVENTS if e != t.event]))
        return summary(t, rng, complication=rng.choice([c for c in COMPLICATIONS if c != t.complication]))
    if style == "copy":
        post = prompt.text[prompt.text.index("Hi, I am"):]
        return " " + post[: -len("\n\nAssistant:")]
    if style == "padded":
        return summary(t, rng, details=len(t.details))
    if style == "no_name":
        return summary(t, rng, name=False)
    if style == "evasive":
        return " " + " ".join(rng.sample(EVASIONS, 2))
    if style == "refusal":
        return " " + rng.choice(REFUSALS)
    raise ValueError(f"unknown style {style!r}; use one of {STYLES}")


def demonstration(prompt: TaskPrompt, rng: random.Random) -> str:
    """A good, not perfect, summariser: the event always, the complication and the question four times
    in five, the poster's name two times in three, a detail carried over one time in five."""
    return summary(prompt.task, rng, complication="" if rng.random() < 0.8 else None, question=rng.random() < 0.8,
                   name=rng.random() < 0.67, details=int(rng.random() < 0.2))


def best_answer(prompt: TaskPrompt, rng: random.Random) -> str:
    return summary(prompt.task, rng)


# --------------------------------------------------------------------------- the gold judge
WEIGHTS = {"helpfulness": 2.0, "specific": 0.3, "wrong": -1.0, "over_refusal": -1.0, "length": -1.0,
           "repetition": -2.0, "degenerate": -2.0}
IDEAL_WORDS = 22


def gold_components(task: Task, response: str) -> dict[str, float]:
    text, c = text_components(WEIGHTS, response, IDEAL_WORDS, slope=100.0)
    c["helpfulness"] = 0.4 * has(text, task.event) + 0.3 * has(text, task.complication) + \
        0.3 * has(text, task.question_key)
    c["specific"] = 1.0 if task.name and has(text, task.name) else 0.0
    others = [e for e in EVENTS if e != task.event] + [k for k in COMPLICATIONS if k != task.complication]
    c["wrong"] = 0.75 * count(text, others)
    copied = count(text, [d.rstrip(".") for d in DETAILS]) + has(text, QUESTIONS[task.question][0].rstrip("?"))
    c["length"] += 0.25 * copied  # a detail or the question copied from the post
    c["over_refusal"] = 1.0 if count(text, REFUSAL_KEYS) else 0.0
    return c


def gold_score(task: Task, response: str) -> float:
    return weighted(WEIGHTS, gold_components(task, response))


CONTRASTS = ("no_event", "no_complication", "no_question", "wrong_event", "unnamed", "padded")


def contrast_pair(prompt: TaskPrompt, rng: random.Random) -> tuple[str, str, str]:
    """Two summaries in the same form that differ in one thing; returns (better, worse, what differs)."""
    t, kind, seed = prompt.task, rng.choice(CONTRASTS), rng.random()
    changes = {"no_event": dict(event=None), "no_complication": dict(complication=None),
               "no_question": dict(question=False), "unnamed": dict(name=False), "padded": dict(details=1),
               "wrong_event": dict(event=rng.choice([e for e in EVENTS if e != t.event]))}
    return summary(t, random.Random(seed)), summary(t, random.Random(seed), **changes[kind]), kind
