"""The whole course end to end: SFT -> reward models (human labels, AI labels, a hybrid) -> the table of runs
(:data:`RUNS`: PPO against each reward model, DPO, GRPO, RLVR) -> evaluation by a judge, in the manner of Lee et
al. 2023's RLAIF-vs-RLHF table.

``rlcore pipeline --profile tiny --out DIR`` runs it on the offline world (judged by the world's gold
judge); ``rlcore pipeline --data FILE`` on any preference data (judged by an AI judge; RLVR, which needs the
world's gold score, is skipped and the report says why); ``--runs rlhf,grpo`` trains and reports only those rows.
Every stage is a function of :mod:`rlcore.stages`, saved as a Hugging Face checkpoint under DIR (``sft/``,
``rm_human/``, ``rm_ai/``, ``rm_hybrid/``, then one ``policy_<key>/`` per row) and re-used if present, so an
interrupted run continues where it stopped. ``report.json``, ``report.md`` and PNG plots hold the results, and name
the judge that produced them."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import time
from dataclasses import dataclass

from rlcore import memory, plots, precision, stages
from rlcore.config import Profile, get_profile, seed_everything
from rlcore.course_data import LABEL_KINDS, course_data
from rlcore.data import describe_truncation
from rlcore.models import load_frozen
from rlcore.readings import SPREAD_SDS, is_share, percent, summarise, with_interval


@dataclass(frozen=True)
class Run:
    """One row of the run table: a policy trained from the SFT model. The table drives training and the report."""

    name: str  # its folder under the run's output and its key in the report
    label: str  # its name in tables and plots
    labels: str  # what it learns from: "human", "ai" or "hybrid" preference labels, or "gold" (the world's exact reward)
    algorithm: str  # "ppo", "grpo", "rloo", "reinforce" (rlcore.stages.rl) or "dpo" (rlcore.stages.dpo)

    @property
    def key(self) -> str:  # "rlhf": the report's comparisons are "rlhf_vs_sft", "rlaif_vs_rlhf", ...
        return self.name.removeprefix("policy_")


RUNS = (
    Run("policy_rlhf", "RLHF", "human", "ppo"),
    Run("policy_rlaif", "RLAIF", "ai", "ppo"),
    Run("policy_hybrid", "Hybrid", "hybrid", "ppo"),
    Run("policy_dpo", "DPO", "human", "dpo"),  # the same human pairs, no reward model, no sampling
    Run("policy_grpo", "GRPO", "human", "grpo"),  # the human-label reward model, no value model
    Run("policy_rlvr", "RLVR", "gold", "grpo"),  # RL from a verifiable reward: the world's gold score itself
)
HEAD_TO_HEAD = (("rlaif", "rlhf"), ("dpo", "rlhf"), ("grpo", "rlhf"), ("rlvr", "grpo"))  # (a, b): a vs b, if both ran
POLICIES = ("sft",) + tuple(r.name for r in RUNS)
LABELS = {"sft": "SFT", **{r.name: r.label for r in RUNS}}
REWARD_MODELS = {"human": "rm_human", "ai": "rm_ai", "hybrid": "rm_hybrid"}
hybrid_pairs = stages.hybrid_pairs  # re-exported: the hybrid reward model's data


def choose_runs(keys: str | list[str] | None) -> tuple[Run, ...]:
    """The rows of :data:`RUNS` named by ``keys`` ("rlhf,grpo" or a list; None = every row), in table order."""
    if keys is None:
        return RUNS
    wanted = [k.strip() for k in (keys.split(",") if isinstance(keys, str) else keys) if k.strip()]
    unknown = sorted(set(wanted) - {r.key for r in RUNS})
    if unknown or not wanted:
        raise ValueError(f"unknown run(s) {unknown or wanted}; choose from {[r.key for r in RUNS]}")
    return tuple(r for r in RUNS if r.key in wanted)


def comparisons(runs) -> dict[str, tuple[str, str]]:
    """The report's win rates: every run against SFT, then the head-to-heads of :data:`HEAD_TO_HEAD` that ran."""
    by_key = {r.key: r.name for r in runs}
    out = {f"{r.key}_vs_sft": (r.name, "sft") for r in runs}
    out.update({f"{a}_vs_{b}": (by_key[a], by_key[b]) for a, b in HEAD_TO_HEAD if a in by_key and b in by_key})
    return out


class _Stages:
    """Where a run keeps its stages, how long each took, and the arguments every stage call shares."""

    def __init__(self, out: str, progress: bool, log, checkpoint_every: int, resume: bool, fresh: bool):
        self.out, self.progress, self.log, self.times, self.reuse = out, progress, log, {}, not fresh
        self.checkpoints = {"checkpoint_every": checkpoint_every, "resume": resume}
        os.makedirs(out, exist_ok=True)

    def at(self, name: str) -> str:
        return os.path.join(self.out, name)

    def timed(self, name: str, fn):
        self.log(f"[pipeline] {name}")  # what the run is doing now, between the stages' own bars
        t = time.time()
        result = fn()
        self.times[name] = time.time() - t
        return result

    def args(self, name: str) -> dict:
        return {"progress": self.progress, "say": self.log, "reuse": self.reuse,
                "checkpoint_dir": self.at(os.path.join("checkpoints", name)), **self.checkpoints}


def plan(profile: Profile, data, runs, log) -> tuple[Profile, tuple, dict]:
    """Before the first stage: every size checked against the data (one it cannot fill is lowered now and said
    once, here and in the report, never found out after hours of training), the rows the data cannot run
    skipped with the reason (RLVR without a verifiable reward). Returns (profile, runs, the report's header)."""
    profile, scaled = data.fit_sizes(profile)
    for name, change in scaled.items():
        log(f"[sizes] {name} {change}: the data holds no more")
    if profile.torch_device.type == "cuda":  # the card, its precision, and whether the heaviest stage fits
        for line in memory.device_report(profile):
            log(f"[memory] {line}")
    skipped = {r.name: data.no_verifiable_reward for r in runs if r.labels == "gold" and data.verifiable_reward is None}
    for name, why in skipped.items():
        log(f"[{name}] skipped: {why}")
    runs = tuple(r for r in runs if r.name not in skipped)
    header = {"profile": profile.name, "seed": profile.seed, "data": data.name, "skipped_rows": data.skipped,
              "runs": [vars(r) | {"key": r.key} for r in runs], "runs_skipped": skipped, "sizes_scaled": scaled,
              "lengths": dataclasses.asdict(profile.lengths),
              "models": {"policy": profile.policy_model, "labeler": profile.labeler_model, "judge": data.judge_name},
              "sizes": {k: profile.get(k) for k in ("sft.examples", "rm.pairs", "rm.test_pairs", "ppo.steps",
                                                    "grpo.steps", "rm.hybrid_human_pairs", "dpo.epochs",
                                                    "eval.prompts")}}
    return profile, runs, header


def run_pipeline(out: str, profile: Profile | str | None = None, progress: bool = True, log=print,
                 checkpoint_every: int = 0, resume: bool = False, runs=None, data=None, fresh: bool = False) -> dict:
    """Run (or resume) every stage of the rows ``runs`` of :data:`RUNS` (keys such as "rlhf,grpo"; default all);
    returns the report dict (also written to ``out``). ``data``: any :class:`rlcore.course_data.CourseData`
    (default: the profile's dataset, ``course_data(profile)``).

    A finished stage (its HF checkpoint under ``out``) is re-used if it was made with the same settings and inputs
    (``rlcore.stages.stage_key``), else trained again; ``fresh=True`` trains every stage anew. With ``checkpoint_every``
    the SFT, reward-model, RL and DPO loops also write checkpoints under ``out/checkpoints/<stage>`` every
    N steps, and ``resume=True`` continues an interrupted stage from its latest one.
    """
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    runs = choose_runs(runs)
    seed_everything(profile.seed)
    precision.forget_fallbacks()  # the report lists this run's float16 fallbacks only
    data = data or course_data(profile)
    profile, runs, report = plan(profile, data, runs, log)
    st = _Stages(out, progress, log, checkpoint_every, resume, fresh)

    # 1. SFT on demonstrations ------------------------------------------------------------------
    sft, tokenizer = st.timed("sft", lambda: stages.sft(profile, data, st.at("sft"), **st.args("sft")))

    # 2. Preference labels and the reward models the runs need; 3. every run of the table from the SFT model
    labelled, reward_models, test_pairs = preferences(profile, data, runs, st, tokenizer, report)
    histories = train_runs(profile, data, runs, st, labelled, reward_models)

    # 4. Evaluation on held-out prompts, by the data's judge (the gold judge on the world, else an AI judge) ------
    policies = {"sft": sft, **{r.name: load_frozen(st.at(r.name), profile)[0] for r in runs}}
    report.update(st.timed("evaluation", lambda: stages.evaluation(profile, data, policies, tokenizer,
                                                                   comparisons(runs), test_pairs)[0]))
    report["seconds"] = {k: round(v, 1) for k, v in st.times.items()}
    report["seconds"]["total"] = round(sum(st.times.values()), 1)
    report["rl_final"] = {n: h[-1] for n, h in histories.items()}
    report["precision"] = {"plan": profile.precision.describe(), "float16_fallbacks": precision.fallback_report()}
    with open(st.at("report.json"), "w") as f:
        json.dump(report, f, indent=1)
    write_report_md(report, histories, out, data)
    for line in summary(report, out, [st.at(n) for n in ("sft", *REWARD_MODELS.values(), *(r.name for r in runs))]):
        log(line)
    return report


def summary(report: dict, out: str, folders: list[str]) -> list[str]:
    """The run's last words: its win rates and harmless rates in a few lines, and where its files are."""
    labels = {"sft": "SFT", **{r["name"]: r["label"] for r in report["runs"]}}
    keys = {r["key"]: r["label"] for r in report["runs"]}
    wins = [f"{keys[a]} vs {keys.get(b, 'SFT')} {with_interval(r)}"
            for a, b, r in ((*k.split("_vs_"), r) for k, r in report["win_rate"].items()) if a in keys]
    harmless = [f"{labels[n]} {percent(v)}" for n, v in report["harmless_rate"].items() if n in labels]
    return [f"[done] {report['profile']} on {report['data']}, judged by {report['judge']}, "
            f"{report['seconds']['total']:.0f} s",
            "  win rates (95% intervals): " + "; ".join(wins),
            "  harmless rate: " + ", ".join(harmless),
            f"  report: {os.path.join(out, 'report.md')} (and report.json), plots beside it (*.png)",
            "  checkpoints (Hugging Face folders): " + ", ".join(f for f in folders if stages.is_done(f))]


def preferences(profile: Profile, data, runs, st: _Stages, tokenizer, report: dict) -> tuple[dict, dict, list]:
    """The preference labels and the reward models the runs need: human labels (RLHF), AI labels (RLAIF), and a
    hybrid (a few human labels to ground it, AI labels for the rest); their accuracy and what the length policy
    cut go into ``report``. Returns ({labels: (pairs(), soft)}, {labels: reward model}, the held-out pairs)."""
    policy = st.at("sft")  # the world draws its comparisons from the SFT policy (kept beside it); other data ignore it
    test_pairs = st.timed("test_pairs", lambda: data.test_pairs(profile.rm.test_pairs, policy=policy))
    human = st.timed("human_pairs", lambda: data.human_pairs(profile.rm.pairs, policy=policy))
    ai = functools.cache(lambda: stages.ai_labels(profile, data, st.at("ai_labels.json"), progress=st.progress,
                                                  say=st.log, reuse=st.reuse, policy=policy))  # labelled once, when first needed
    labelled = {"human": (lambda: human, False), "ai": (ai, True),
                "hybrid": (lambda: hybrid_pairs(human, ai(), profile.rm.hybrid_human_pairs), True)}
    reward_models = {labels: st.timed(REWARD_MODELS[labels], lambda: stages.reward_model(
        profile, data, pairs, policy, st.at(REWARD_MODELS[labels]), soft_labels=soft, **st.args(REWARD_MODELS[labels])))
        for labels, (pairs, soft) in labelled.items() if any(r.labels == labels and r.algorithm != "dpo" for r in runs)}
    report.update(stages.reward_model_accuracy(data, profile, reward_models, tokenizer, test_pairs, policy))
    report["truncated"] = stages.truncation(data, profile, tokenizer, human)
    if {"ai", "hybrid"} & set(reward_models):  # the labels were read (or made) for a reward model: count their cuts
        report["ai_labels_cut_to_fit"] = sum(bool(r.get("cut_to_fit")) for r in ai())
    return labelled, reward_models, test_pairs


def train_runs(profile: Profile, data, runs, st: _Stages, labelled: dict, reward_models: dict) -> dict:
    """Every run of the table from the SFT model: RL against its reward (``stages.rl``: a reward model, or the
    data's verifiable reward), or DPO on its pairs. Returns {run: RL history}."""
    histories = {}
    for run in runs:
        if run.algorithm == "dpo":
            st.timed(run.name, lambda: stages.dpo(profile, labelled[run.labels][0](), st.at("sft"), st.at(run.name),
                                                  **st.args(run.name)))
            continue
        reward = ({"reward_fn": data.verifiable_reward} if run.labels == "gold" else
                  {"reward_model": reward_models[run.labels]})
        _, histories[run.name] = st.timed(run.name, lambda: stages.rl(profile, data, st.at("sft"), st.at(run.name),
                                                                      run.algorithm, **reward, **st.args(run.name)))
    return histories


def write_report_md(report: dict, histories: dict, out: str, data) -> None:
    """report.md with the RLAIF-vs-RLHF table and PNG plots beside it; it names the judge of every number, and
    ends with what only this data measured (``data.report_lines``)."""
    runs = {r["name"]: r for r in report["runs"]}
    labels = {"sft": "SFT", **{n: r["label"] for n, r in runs.items()}}
    w, h = report["win_rate"], report["harmless_rate"]
    plots.win_rates({f"{r['label']} vs SFT": w[f"{r['key']}_vs_sft"] for r in runs.values()},
                    path=os.path.join(out, "win_rates.png"))
    plots.harmless_rates({labels[n]: h[n] for n in h}, path=os.path.join(out, "harmless.png"))
    plots.ppo_curves({labels[n]: hist for n, hist in histories.items()}, keys=("score", "kl", "response_length"),
                     xlabel="RL iteration", path=os.path.join(out, "rl_curves.png"))
    skipped = ", ".join(f"{n} {why}" for why, n in report["skipped_rows"].items())
    lines = [
        f"# RLHF vs RLAIF on {report['data']} (profile {report['profile']}, seed {report['seed']})", "",
        f"Policy {report['models']['policy']}, AI labeler {report['models']['labeler']}. "
        f"**Judge: {report['judge']}**, on held-out prompts (95% intervals)."
        + (f" Rows of the data skipped: {skipped}." if skipped else ""), "",
        _lengths_line(report), "",
    ]
    if report.get("judge_is_labeler"):
        lines += ["**Warning: the judge is the model that labelled RLAIF's data; RLAIF's win rates are flattered.**", ""]
    lines += _win_rate_lines(report, runs, labels) + [""] + _policy_lines(report, labels) + [""]
    lines.append(f"Reward models, accuracy on held-out pairs ({data.test_labels}): " + ", ".join(
        f"{LABEL_KINDS[k]} {percent(report[f'rm_{k}_test_accuracy'])}" for k in LABEL_KINDS if f"rm_{k}_test_accuracy" in report)
        + ".")
    for split in (s for s in data.splits[1:] if s in report):  # the other held-out splits, by the same judge
        o = report[split]
        lines += ["", f"On the {split} split, by the same judge: " + ", ".join(
            f"{labels['policy_' + a]} vs {labels.get('policy_' + b, 'SFT')} {with_interval(r)}"
            for a, b, r in ((*k.split("_vs_"), r) for k, r in o["win_rate"].items()) if "policy_" + a in labels)
            + "; harmless rate " + ", ".join(f"{labels[n]} {percent(v)}" for n, v in o["harmless_rate"].items()) + "."]
    lines += [""] + data.report_lines(report, labels)
    again = {n: c for n, c in report.get("precision", {}).get("float16_fallbacks", {}).items() if c["again"]}
    lines += ["", report["precision"]["plan"].capitalize() + "." if "precision" in report else ""] + [
        f"**{n} overflowed float16 on {c['again']} of {c['batches']} batches of verdicts; they were scored again in "
        "float32** (a dtype of bfloat16 or float32 avoids it)." for n, c in again.items()]
    lines += ["", "Wall time per stage (s): " + ", ".join(f"{k} {v}" for k, v in report["seconds"].items()), "",
              "![win rates](win_rates.png) ![harmless](harmless.png)", "", "![RL](rl_curves.png)", ""]
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(lines))


def _win_rate_lines(report: dict, runs: dict, labels: dict) -> list[str]:
    """The table of win rates of the runs beside Lee et al.'s, and the skipped rows."""
    keys = {r["key"]: r for r in runs.values()}
    lines = ["Lee et al. 2023 report RLAIF vs SFT 71%, RLHF vs SFT 73%, RLAIF vs RLHF 50%; harmless rate SFT 64%, "
             "RLHF 76%, RLAIF 88%.", "", "| comparison | trained on | win rate |", "| --- | --- | --- |"]
    for key, r in report["win_rate"].items():
        a, b = key.split("_vs_")
        if a in keys:  # (the data's own comparisons, such as the world's ceiling, are in its own lines)
            run = keys[a]
            lines.append(f"| {run['label']} vs {labels.get('policy_' + b, 'SFT')} | {_trained_on(run, report)} | "
                         f"{with_interval(r)} |")
    return lines + [f"| *{runs_name} skipped* | {why} | |" for runs_name, why in report["runs_skipped"].items()]


def _policy_lines(report: dict, labels: dict) -> list[str]:
    """One row per policy: harmless rate, KL to SFT, length."""
    lines = ["| policy | harmless rate | KL to SFT (nats) | mean words |", "| --- | --- | --- | --- |"]
    for name, harmless in report["harmless_rate"].items():
        lines.append(f"| {labels[name]} | {percent(harmless)} | {report['kl_to_sft'][name]:.2f} | "
                     f"{report['mean_words'][name]:.1f} |")
    return lines


def _trained_on(run: dict, report: dict) -> str:
    what = {**LABEL_KINDS, "gold": "the gold score (verifiable reward)",
            "hybrid": f"{report['sizes']['rm.hybrid_human_pairs']} human + AI labels"}[run["labels"]]
    if run["algorithm"] == "dpo":
        return f"DPO on the {what} (no reward model)"
    return f"{run['algorithm'].upper()} on " + (what if run["labels"] == "gold" else f"a reward model of {what}")


def _lengths_line(report: dict) -> str:
    lengths = report["lengths"]
    cuts = "; ".join(f"{stage}: {describe_truncation(c, lengths['max_length'], lengths['max_prompt_tokens'])}"
                     for stage, c in report["truncated"].items())
    line = (f"Lengths: prompts keep their last {lengths['max_prompt_tokens']} tokens, responses are sampled up to "
            f"{lengths['max_new_tokens']} tokens, training sequences hold {lengths['max_length']}. {cuts}.")
    if "ai_labels_cut_to_fit" in report:
        line += f" AI labels whose responses were cut to fit the labeler's context: {report['ai_labels_cut_to_fit']}."
    if report["sizes_scaled"]:
        line += " Sizes lowered to what the data holds: " + ", ".join(
            f"{k} {v}" for k, v in report["sizes_scaled"].items()) + "."
    return line


# --------------------------------------------------------------------------- the same table on several seeds
def run_seeds(out: str, seeds: list[int], profile: Profile | str | None = None, log=print, **kwargs) -> dict:
    """The whole pipeline once per seed (``out/seed_<n>``, each re-used if finished), then every figure of the
    report as mean +- sd with its per-seed values: ``out/seeds.json`` and ``out/seeds.md``. One run of a noisy
    world is a claim about its seed; this table says how far a figure moves when only the seed changes."""
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    if len(set(seeds)) < 2:
        raise ValueError(f"--seeds needs at least two different seeds, got {seeds}")
    reports = {}
    for seed in seeds:
        log(f"[seeds] seed {seed} -> {os.path.join(out, f'seed_{seed}')}")
        reports[seed] = run_pipeline(os.path.join(out, f"seed_{seed}"), profile=profile.replace(seed=seed), log=log,
                                     **kwargs)
    table = seed_table(reports, profile.name)
    with open(os.path.join(out, "seeds.json"), "w") as f:
        json.dump(table, f, indent=1)
    with open(os.path.join(out, "seeds.md"), "w") as f:
        f.write(seed_table_md(table))
    return table


# What a report holds that is not a measured figure of its policies (settings, times, counts, samples)
NOT_FIGURES = {"seed", "seconds", "sizes", "sizes_scaled", "lengths", "truncated", "rl_final", "samples", "precision",
               "skipped_rows", "runs", "runs_skipped", "models", "n", "ai_labels_cut_to_fit", "judge_calls",
               "judge_comparisons_cut_to_fit"}


def seed_figures(report: dict, prefix: str = "") -> dict[str, float]:
    """The figures of one report that the seed table follows, by a dotted name ("win_rate.rlaif_vs_rlhf",
    "ood.harmless_rate.sft"): every number it measured, whatever the data (a win rate by its share)."""
    out = {}
    for key, value in report.items():
        if key in NOT_FIGURES or isinstance(value, bool):
            continue
        if isinstance(value, dict) and "ci95" in value:  # a win rate with its interval: the share
            out[prefix + key] = value["win_rate"]
        elif isinstance(value, dict):
            out.update(seed_figures(value, f"{prefix}{key}."))
        elif isinstance(value, (int, float)):
            out[prefix + key] = value
    return out


def seed_table(reports: dict[int, dict], profile_name: str) -> dict:
    """{"profile", "seeds", "date", "figures": {name: {"mean", "sd", "values"}}} over the reports of several seeds
    (the figures every report holds)."""
    per_seed = {seed: seed_figures(r) for seed, r in reports.items()}
    names = [n for n in per_seed[next(iter(per_seed))] if all(n in f for f in per_seed.values())]
    return {"profile": profile_name, "seeds": list(reports), "date": time.strftime("%Y-%m-%d"),
            "host": f"{os.cpu_count()} CPU cores",
            "figures": {n: summarise([per_seed[s][n] for s in reports]) for n in names}}


def seed_table_md(table: dict) -> str:
    """The seed table as Markdown: one row per figure, mean +- sd and the value of every seed."""
    seeds = table["seeds"]
    lines = [f"# The pipeline on {len(seeds)} seeds (profile {table['profile']}, {table['date']}, {table['host']})",
             "", f"A difference between two single runs smaller than {SPREAD_SDS:g} standard deviations of the same "
             "figure lies within the seed spread.", "",
             "| figure | mean ± sd | " + " | ".join(f"seed {s}" for s in seeds) + " |",
             "| --- | --- |" + " --- |" * len(seeds)]
    for name, f in table["figures"].items():
        show = (lambda x: f"{100 * x:.1f}%") if is_share(name) else (lambda x: f"{x:.2f}")
        lines.append(f"| {name} | {show(f['mean'])} ± {show(f['sd'])} | " + " | ".join(show(v) for v in f["values"])
                     + " |")
    return "\n".join(lines) + "\n"
