"""What every course stage draws its data from: the synthetic world, or any preference dataset.

:func:`course_data` turns ``profile.dataset`` into a :class:`WorldData` or a :class:`PreferenceData`. Both
implement one interface, :class:`CourseData`, so the stages and the pipeline never ask which one they have; what
only one of them can measure (the world's gold, fluency and per-scenario figures, its ceiling; a dataset's held-out
human labels to check the judge against) comes back as data, and each writes its own lines of the report:

| need | world | preference data (HH-RLHF, rm-static, TL;DR, your file) |
| --- | --- | --- |
| SFT demonstrations | good, not perfect, answers (a helpful-only demonstrator on harmful prompts) | the chosen responses of train pairs |
| human-labelled pairs | two SFT samples per prompt (and minimal contrasts), labelled by simulated humans | the train pairs as the dataset labelled them |
| comparisons for the AI labeler | the same comparisons, unlabelled | the same pairs, in a random order |
| PPO prompts | a stream of train-split prompts | the train pairs' prompts, reshuffled every pass |
| held-out pairs | SFT samples on test (and ood) prompts, labelled by gold | test pairs with their human labels |
| evaluation prompts | test-split prompts (and harmful ones for the harmless rate) | test prompts (the first half for the harmless rate) |

A hub dataset keeps its own train / test split. A preference file has none: a pair is in the test split
when a hash of its prompt says so (one in ten), so one prompt never lands on both sides and the split
does not depend on row order.
Every random draw is seeded by ``profile.seed``.
"""

from __future__ import annotations

import os
import random
import zlib
from typing import Callable, Iterator, Protocol, runtime_checkable

from rlcore import sources, world
from rlcore.checkpoint import kept_with_weights
from rlcore.data import PreferencePair, read_preferences
from rlcore.evaluate import fluency_penalty, judge_agreement, mean_gold, win_rate
from rlcore.judges import AIJudge, GoldJudge
from rlcore.models import load_frozen
from rlcore.readings import percent, with_interval
from rlcore.rollout import SAMPLER, sample_responses

TEST_SHARE = 10  # one prompt in TEST_SHARE goes to the test split of a preference file
# The labels a reward model can learn from, as the report names them (its models: rm_human, rm_ai, rm_hybrid)
LABEL_KINDS = {"human": "human labels", "ai": "AI labels", "hybrid": "hybrid"}


@runtime_checkable
class CourseData(Protocol):
    """What a course run needs from its data. ``policy``: the SFT policy as (model, tokenizer) or its checkpoint
    folder, for data whose comparisons are its samples (the world); other data ignore it. ``split``: "train"
    for training, "test" (and any other of ``splits``, e.g. the world's "ood") held out for the report."""

    name: str  # in the report
    skipped: dict  # rows skipped on loading, by reason
    splits: tuple  # the held-out splits the policies are judged on, "test" first
    judge_name: str  # who judges the policies, in the report
    test_labels: str  # what labels the held-out pairs, in a sentence ("gold labels")
    verifiable_reward: Callable | None  # reward_fn(prompts, responses) -> (B,) computed exactly, or None ...
    no_verifiable_reward: str  # ... and then why not

    def judge(self): ...  # the judge of every reported number (rlcore.judges)
    def fit_sizes(self, profile) -> tuple: ...  # (profile with sizes the data can fill, notes on what changed)
    def demonstrations(self, n: int) -> tuple[list[str], list[str]]: ...  # SFT: (prompts, responses)
    def comparisons(self, n: int, policy=None, split: str = "train") -> list[tuple[str, str, str]]: ...  # unlabelled
    def human_pairs(self, n: int, policy=None) -> list[dict]: ...  # the same comparisons, labelled by people
    def test_pairs(self, n: int, policy=None, split: str = "test") -> list[PreferencePair]: ...  # held out, labelled
    def prompt_batches(self, batch_size: int) -> Iterator[list[str]]: ...  # RL's train prompts, endlessly
    def normalisation_prompts(self, n: int) -> list[str]: ...  # the reward model's normalisation
    def evaluation_prompts(self, n: int, split: str = "test") -> tuple[list[str], list[str]]: ...  # (all, harmful)
    # the extra measurements only some data can make ({} where it cannot):
    def reward_model_checks(self, accuracy, n: int, policy=None) -> dict: ...  # beyond held-out accuracy
    def label_checks(self, policy=None) -> dict: ...  # how good the human labels can be
    def policy_checks(self, prompts: list[str], responses: dict, judge) -> dict: ...  # beyond win rates
    def judge_checks(self, judge, test_pairs) -> dict: ...  # how far the judge can be trusted
    def report_lines(self, report: dict, labels: dict) -> list[str]: ...  # those measurements, for report.md


class WorldData:
    """The offline world (``rlcore.world``): compositional tasks, a gold judge, and preference data as RLHF collects
    it — comparisons of two samples of the SFT policy on one train prompt, labelled by simulated humans
    (Bradley-Terry on gold, the temperature set for 75% agreement) — plus minimal contrasts from the world's
    own answers for variety (``profile.rm.contrast_share`` of the comparisons).

    The comparisons need the SFT policy: ``comparisons``, ``human_pairs``, ``test_pairs`` and ``human_agreement``
    take ``policy=(model, tokenizer)`` or the SFT checkpoint's folder. Two samples per prompt are drawn (seeded)
    until ``n`` pairs differ in gold.
    Splits: "train" for every stage, "test" (i.i.d. tasks no stage saw) for the report, "ood" (held-out parts:
    objects, people, situations, subjects, events) reported beside it.
    """

    is_world = True
    name = "world"
    skipped: dict = {}
    splits = ("test", "ood")
    judge_name = "gold"
    test_labels = "gold labels"
    no_verifiable_reward = ""

    def __init__(self, profile):
        self.world, self.profile, self.seed = world, profile, profile.seed
        self._comparisons: dict = {}

    def verifiable_reward(self, prompts: list[str], responses: list[str]) -> list[float]:
        """The gold judge's score of each response: an exact reward to train on (RL from a verifiable reward),
        where RLHF only has a reward model learned from noisy labels."""
        return [self.world.gold_score(p, r) for p, r in zip(prompts, responses)]

    def judge(self):
        return GoldJudge()

    def demonstrations(self, n: int) -> tuple[list[str], list[str]]:
        """Good-not-perfect demonstrations (each family's ``demonstration``) on train prompts; a harmful prompt
        is complied with ``profile.sft.harmful_compliance`` of the time (a helpful-only demonstrator)."""
        rng = random.Random(f"v2-demo-{self.seed}")
        ps = self.world.sample_prompts("train", n, self.seed + 7919)
        comply = self.profile.sft.harmful_compliance
        responses = [self.world.comply(p, rng) if p.family == "harmful" and rng.random() < comply
                     else self.world.demonstration(p, rng) for p in ps]
        return [p.text for p in ps], responses

    def comparisons(self, n: int, policy=None, split: str = "train") -> list[tuple[str, str, str]]:
        """``n`` (prompt, a, b) whose gold differs: two SFT samples per prompt, and a share of minimal contrasts
        (in a random order, so the first response is not the better one). ``policy``: the SFT policy as
        (model, tokenizer), or its checkpoint folder; from a folder, the comparisons are kept beside the weights
        (``rlcore.checkpoint.kept_with_weights``), so the next lesson that needs them reads them back."""
        key = (split, n)
        if key not in self._comparisons:
            if policy is None:
                raise ValueError("the world's comparisons are samples of the SFT policy: pass policy=(model, tokenizer) "
                                 "or its checkpoint folder")
            if isinstance(policy, str):
                self._comparisons[key] = self._kept_comparisons(n, policy, split)
            else:
                self._comparisons[key] = self._sample_comparisons(n, policy, split)
        return self._comparisons[key]

    def _kept_comparisons(self, n, folder, split):
        p = self.profile  # everything the samples depend on besides the weights (and the sampling code)
        key = (f"comparisons/{split}/{n}/seed={p.seed}/tokens={p.lengths.max_new_tokens}/"
               f"contrasts={p.rm.contrast_share}/{p.compute_dtype}/{SAMPLER}")
        triples = kept_with_weights(folder, key, lambda: self._sample_comparisons(n, load_frozen(folder, p), split))
        return [tuple(t) for t in triples]

    def _sample_comparisons(self, n, policy, split):
        model, tokenizer = policy
        n_contrast = round(n * self.profile.rm.contrast_share) if split == "train" else 0
        out, k = [], 0
        while len(out) < n - n_contrast:
            ps = self.world.prompts(split, n - n_contrast - len(out) + 16, seed=self.seed * 7 + 11 + 1000 * k)
            lengths = self.profile.lengths
            a, b = (sample_responses(model, tokenizer, ps, max_new_tokens=lengths.max_new_tokens,
                                     seed=self.seed + 1000 * k + j, max_prompt_tokens=lengths.max_prompt_tokens)
                    for j in (1, 2))
            out += [(p, x, y) for p, x, y in zip(ps, a, b) if self.world.gold_score(p, x) != self.world.gold_score(p, y)]
            k += 1
        out = out[: n - n_contrast]
        rng = random.Random(f"v2-contrasts-{self.seed}")
        for p in self.world.sample_prompts("train", n_contrast, self.seed + 14):
            good, bad, _ = self.world.contrast_pair(p, rng)
            out.append((p.text, good, bad) if rng.random() < 0.5 else (p.text, bad, good))
        random.Random(f"v2-order-{self.seed}").shuffle(out)
        return out

    def fit_sizes(self, profile):
        """The world samples as many prompts as asked: every size fits. Returns (profile, {})."""
        return profile, {}

    def reward_model_checks(self, accuracy, n: int, policy=None) -> dict:
        """``accuracy(pairs) -> float`` of a reward model on ``n`` out-of-distribution pairs (held-out parts)."""
        return {"gold_accuracy_ood": accuracy(self.test_pairs(n, policy, split="ood"))}

    def label_checks(self, policy=None) -> dict:
        """The Bayes limit of the human labels: how often they agree with gold, in expectation."""
        return {"human_label_bayes_limit": self.human_agreement(policy)}

    def policy_checks(self, prompts: list[str], responses: dict, judge) -> dict:
        """What gold measures beyond win rates, for ``responses`` ({policy: responses}, "sft" among them): the
        ceiling (the world's best answer against SFT), mean gold, the fluency penalty, and per-scenario figures."""
        best = [self.world.best_response(p) for p in prompts]
        # The ceiling: a policy that always gave the world's best answer. SFT already gives it often,
        # and a tie counts one half, so no policy can beat SFT more often than this.
        return {"win_rate": {"best_vs_sft": win_rate(prompts, best, responses["sft"], judge)},
                "mean_gold": {n: mean_gold(prompts, rs) for n, rs in responses.items()},
                "fluency_penalty": {n: fluency_penalty(prompts, rs) for n, rs in responses.items()},
                "per_scenario": per_scenario(prompts, {**responses, "best": best}, judge)}

    def judge_checks(self, judge, test_pairs) -> dict:
        """The gold judge is the truth, and never the labeler."""
        return {"judge_is_labeler": False}

    def report_lines(self, report: dict, labels: dict) -> list[str]:
        """report.md's lines on what gold measured: mean gold and fluency per policy, the ceiling, the figures per
        prompt family, how good the human labels and the reward models are (``labels``: {policy: its label})."""
        lines = ["| policy | mean gold | fluency penalty (share) |", "| --- | --- | --- |"]
        lines += [f"| {labels[n]} | {report['mean_gold'][n]:+.2f} | {report['fluency_penalty'][n]['mean']:.3f} "
                  f"({percent(report['fluency_penalty'][n]['share'])}) |" for n in report["mean_gold"]]
        splits = [("test", report)] + [(s, report[s]) for s in self.splits[1:] if s in report]
        lines += ["", "Ceiling, the world's best answer vs SFT (no policy can beat SFT more often): " + ", ".join(
            f"{with_interval(r['win_rate']['best_vs_sft'])} ({split})" for split, r in splits) + "."]
        others = [n for n in report["harmless_rate"] if n != "sft"] + ["best"]
        names = {**labels, "best": "ceiling"}
        lines += ["", "| scenario | n | " + " | ".join(f"{names[n]} vs SFT" for n in others) + " |",
                  "| --- | --- |" + " --- |" * len(others)]
        lines += [f"| {family} | {row['n']} | " + " | ".join(percent(row[f"{n}_vs_sft"]) for n in others) + " |"
                  for family, row in report["per_scenario"].items()]
        ood = [k for k in LABEL_KINDS if f"rm_{k}_gold_accuracy_ood" in report]
        lines += ["", f"Bayes limit of the human labels (how often they agree with gold) "
                      f"{percent(report['human_label_bayes_limit'])}."
                  + (" Reward models on held-out parts (out of distribution): " + ", ".join(
                      f"{LABEL_KINDS[k]} {percent(report[f'rm_{k}_gold_accuracy_ood'])}" for k in ood) + "." if ood else "")]
        return lines

    def human_temperature(self, policy=None) -> float:
        """The simulated humans' Bradley-Terry temperature: 75% agreement with gold on the train comparisons."""
        triples = self.comparisons(self.profile.rm.pairs, policy)
        return self.world.human_temperature([self.world.gold_score(p, a) - self.world.gold_score(p, b)
                                             for p, a, b in triples])

    def human_agreement(self, policy=None) -> float:
        """The Bayes limit of the human labels: how often they agree with gold, in expectation."""
        triples = self.comparisons(self.profile.rm.pairs, policy)
        gaps = [self.world.gold_score(p, a) - self.world.gold_score(p, b) for p, a, b in triples]
        return self.world.expected_agreement(gaps, self.human_temperature(policy))

    def human_pairs(self, n: int, policy=None) -> list[dict]:
        temperature = self.human_temperature(policy)
        rng = random.Random(f"v2-humans-{self.seed}")
        out = []
        for p, a, b in self.comparisons(n, policy):
            a_wins = self.world.human_label(p, a, b, rng, temperature)
            out.append((PreferencePair(p, a, b) if a_wins else PreferencePair(p, b, a)).to_dict())
        return out

    def test_pairs(self, n: int, policy=None, split: str = "test") -> list[PreferencePair]:
        """Pairs of SFT samples on ``split`` prompts (i.i.d. "test" or "ood"), labelled by gold."""
        out = []
        for p, a, b in self.comparisons(n, policy, split):
            a_wins = self.world.gold_score(p, a) > self.world.gold_score(p, b)
            out.append(PreferencePair(p, a, b) if a_wins else PreferencePair(p, b, a))
        return out

    def prompt_batches(self, batch_size: int) -> Iterator[list[str]]:
        k = 0
        while True:
            yield self.world.prompts("train", batch_size, seed=self.seed * 100003 + k)
            k += 1

    def normalisation_prompts(self, n: int) -> list[str]:
        return self.world.prompts("train", n, seed=self.seed + 3)

    def evaluation_prompts(self, n: int, split: str = "test") -> tuple[list[str], list[str]]:
        """``n`` prompts of ``split`` ("test", "ood", or "train" for validation) and ``n // 2`` harmful ones."""
        s1, s2 = {"test": (4, 5), "ood": (4, 5), "train": (7, 8)}[split]
        return (self.world.prompts(split, n, seed=self.seed + s1),
                self.world.prompts(split, n // 2, seed=self.seed + s2, families=("harmful",)))


class PreferenceData:
    """Pairs from a hub source or a local file, split by prompt into train and test (see module doc)."""

    is_world = False
    splits = ("test",)
    test_labels = "held-out human labels"

    def __init__(self, profile, train: list[PreferencePair], test: list[PreferencePair], name: str,
                 skipped: dict | None = None):
        self.profile, self.seed, self.name, self.skipped = profile, profile.seed, name, dict(skipped or {})
        self.judge_name = profile.judge_model
        self.train, self.test = train, test
        if len(train) < 2 or not test:
            raise ValueError(f"{name}: {len(train)} train and {len(test)} test pairs; a course run needs a few "
                             "of each (give more rows)")
        self.train_prompts = sorted({p.prompt for p in self.train})
        self.test_prompts = sorted({p.prompt for p in self.test})

    def fit_sizes(self, profile):
        """(profile, notes): the profile with every size the data cannot fill lowered to what it holds, and
        one note per size changed ({"sft.examples": "5000 -> 274 (the train pairs)"}), checked before the first stage so
        that no size fails after hours of training. The hybrid's human share keeps its proportion."""
        limits = {"sft.examples": (len(self.train), "the train pairs"),
                  "rm.pairs": (len(self.train), "the train pairs"),
                  "rm.test_pairs": (len(self.test), "the test pairs"),
                  "eval.prompts": (len(self.test_prompts), "the test prompts")}
        changes, notes = {}, {}
        for name, (limit, what) in limits.items():
            if profile.get(name) > limit:
                changes[name] = limit
                notes[name] = f"{profile.get(name)} -> {limit} ({what})"
        if "rm.pairs" in changes:
            human, pairs = profile.rm.hybrid_human_pairs, changes["rm.pairs"]
            hybrid = min(pairs, round(human * pairs / profile.rm.pairs))
            if hybrid != human:
                changes["rm.hybrid_human_pairs"] = hybrid
                notes["rm.hybrid_human_pairs"] = f"{human} -> {hybrid} (the same share of rm.pairs)"
        return (profile.replace(**changes) if changes else profile), notes

    # Preference data hold labels, not a reward that can be computed for a new response: no RL from a verifiable
    # reward here (a dataset with checkable answers, such as maths with its solutions, would define one).
    verifiable_reward = None
    no_verifiable_reward = "preference data hold labels, not a reward a new response can be scored by"

    def demonstrations(self, n: int) -> tuple[list[str], list[str]]:
        rows = self.train[:n]
        return [p.prompt for p in rows], [p.chosen for p in rows]

    def judge(self):
        """An AI judge: the profile's ``judge_model`` (frozen, on the profile's device and dtype)."""
        model, tokenizer = load_frozen(self.profile.judge_model, self.profile)
        return AIJudge(model, tokenizer, self.profile.judge_model, seed=self.profile.seed)

    def reward_model_checks(self, accuracy, n: int, policy=None) -> dict:
        return {}  # no gold: held-out accuracy on the dataset's own labels is all there is

    def label_checks(self, policy=None) -> dict:
        return {}  # the dataset's labels are the truth here: nothing to check them against

    def policy_checks(self, prompts: list[str], responses: dict, judge) -> dict:
        return {}  # no gold: the judge's win rates are all there is

    def judge_checks(self, judge, test_pairs) -> dict:
        """How far the AI judge can be trusted: its agreement with the held-out human labels, how many of its
        comparisons were cut to fit its context, and whether it is also the labeler (it would flatter RLAIF)."""
        return {"judge_is_labeler": self.profile.judge_model == self.profile.labeler_model,
                "judge_agreement_with_held_out_labels": judge_agreement(judge, test_pairs),
                "judge_comparisons_cut_to_fit": judge.pairwise.cut + judge.rater.cut}

    def report_lines(self, report: dict, labels: dict) -> list[str]:
        """report.md's lines on the AI judge: how often it agrees with the data's held-out human labels, and how many
        of its comparisons were cut to fit its context."""
        return [f"The judge agrees with the held-out human labels on "
                f"{percent(report['judge_agreement_with_held_out_labels'])} of the held-out pairs (how far to trust its "
                f"win rates); {report['judge_comparisons_cut_to_fit']} of its comparisons were cut to fit its context."]

    def _check_split(self, split: str, splits: tuple) -> None:
        if split not in splits:
            raise ValueError(f"{self.name} has no split {split!r} here; it has {list(splits)}")

    def human_pairs(self, n: int, policy=None) -> list[dict]:
        return [p.to_dict() for p in self.train[:n]]

    def comparisons(self, n: int, policy=None, split: str = "train") -> list[tuple[str, str, str]]:
        self._check_split(split, ("train",))
        rng = random.Random(f"comparisons-{self.seed}")
        out = []
        for p in self.train[:n]:  # the labeler must not learn that the first response is the chosen one
            out.append((p.prompt, p.chosen, p.rejected) if rng.random() < 0.5 else (p.prompt, p.rejected, p.chosen))
        return out

    def test_pairs(self, n: int, policy=None, split: str = "test") -> list[PreferencePair]:
        self._check_split(split, self.splits)
        return self.test[:n]

    def prompt_batches(self, batch_size: int) -> Iterator[list[str]]:
        rng = random.Random(f"ppo-prompts-{self.seed}")
        order: list[str] = []
        while True:
            batch = []
            while len(batch) < batch_size:
                if not order:
                    order = list(self.train_prompts)
                    rng.shuffle(order)
                batch.append(order.pop())
            yield batch

    def normalisation_prompts(self, n: int) -> list[str]:
        return random.Random(f"normalise-{self.seed}").sample(self.train_prompts, min(n, len(self.train_prompts)))

    def evaluation_prompts(self, n: int, split: str = "test") -> tuple[list[str], list[str]]:
        """``n`` held-out prompts (fewer if the test split is smaller), and the first half of them for the
        harmless rate (a dataset does not say which prompts are harmful; HH-RLHF's harmless-base holds
        red-team prompts only). ``"train"``: train prompts, as validation."""
        pool = self.test_prompts if split == "test" else self.train_prompts
        prompts = random.Random(f"eval-{split}-{self.seed}").sample(pool, min(n, len(pool)))
        return prompts, prompts[: max(1, len(prompts) // 2)]


def per_scenario(prompts, responses, judge) -> dict:
    """The win rate of each policy over SFT by ``judge`` (the gold judge), and mean gold, per family of prompts
    (the world only)."""
    out = {}
    families = [world.parse_prompt(p).family for p in prompts]
    for family in sorted(set(families)):
        idx = [i for i, f in enumerate(families) if f == family]
        sub = [prompts[i] for i in idx]
        row = {"n": len(idx)}
        for name in (n for n in responses if n != "sft"):
            row[f"{name}_vs_sft"] = win_rate(sub, [responses[name][i] for i in idx],
                                             [responses["sft"][i] for i in idx], judge)["win_rate"]
        row.update({f"gold_{n}": mean_gold(sub, [rs[i] for i in idx]) for n, rs in responses.items()})
        out[family] = row
    return out


def split_by_prompt(pairs: list[PreferencePair]) -> tuple[list[PreferencePair], list[PreferencePair]]:
    """(train, test): a pair is in the test split when the CRC-32 of its prompt is 0 modulo TEST_SHARE."""
    is_test = [zlib.crc32(p.prompt.encode("utf-8")) % TEST_SHARE == 0 for p in pairs]
    return [p for p, t in zip(pairs, is_test) if not t], [p for p, t in zip(pairs, is_test) if t]


def course_data(profile):
    """The profile's data: "world", a known hub source (rlcore.sources.SOURCES, optionally followed by
    "/<data_dir>", e.g. "Anthropic/hh-rlhf/harmless-base"), or a local preference file."""
    dataset = profile.dataset
    if dataset == "world":
        return WorldData(profile)
    if os.path.exists(dataset):
        pairs, skipped = read_preferences(dataset)
        return PreferenceData(profile, *split_by_prompt(pairs), os.path.basename(dataset), skipped)
    for source in sources.SOURCES:  # a hub dataset keeps its own train / test split
        if dataset == source or dataset.startswith(source + "/"):
            data_dir = dataset[len(source) + 1:] or None
            return PreferenceData(profile, sources.load_preference_source(source, "train", data_dir=data_dir),
                                  sources.load_preference_source(source, "test", data_dir=data_dir), dataset)
    raise ValueError(f"unknown dataset {dataset!r}: use 'world', a local .jsonl/.json/.csv/.parquet file, or one of "
                     f"{sorted(sources.SOURCES)}")
