"""The whole course end to end: SFT -> reward models (human labels, AI labels, a hybrid) -> PPO -> DPO ->
evaluation by a judge, in the manner of Lee et al. 2023's RLAIF-vs-RLHF table.

``rlcore pipeline --profile tiny --out DIR`` runs it on the offline world (judged by the world's gold
judge); ``rlcore pipeline --data FILE`` on any preference data (judged by an AI judge). Every stage is a
function of :mod:`rlcore.stages`, saved as a Hugging Face checkpoint under DIR (``sft/``, ``rm_human/``,
``rm_ai/``, ``rm_hybrid/``, ``policy_rlhf/``, ``policy_rlaif/``, ``policy_hybrid/``, ``policy_dpo/``) and
re-used if present, so an interrupted run continues where it stopped. ``report.json``, ``report.md`` and
PNG plots hold the results, and name the judge that produced them.
"""

from __future__ import annotations

import json
import os
import time

from rlcore import stages
from rlcore.config import Profile, get_profile, seed_everything
from rlcore.course_data import course_data
from rlcore.data import PreferencePair, describe_truncation, truncation_counts
from rlcore.evaluate import fluency_penalty, judge_agreement, mean_gold, win_rate
from rlcore.judges import load_judge
from rlcore.models import load_frozen
from rlcore.reward import pair_rewards, preference_accuracy

POLICIES = ("sft", "policy_rlhf", "policy_rlaif", "policy_hybrid", "policy_dpo")
LABELS = {"sft": "SFT", "policy_rlhf": "RLHF", "policy_rlaif": "RLAIF", "policy_hybrid": "Hybrid", "policy_dpo": "DPO"}
COMPARISONS = {"rlhf_vs_sft": ("policy_rlhf", "sft"), "rlaif_vs_sft": ("policy_rlaif", "sft"),
               "rlaif_vs_rlhf": ("policy_rlaif", "policy_rlhf"), "hybrid_vs_sft": ("policy_hybrid", "sft"),
               "dpo_vs_sft": ("policy_dpo", "sft"), "dpo_vs_rlhf": ("policy_dpo", "policy_rlhf")}
hybrid_pairs = stages.hybrid_pairs  # re-exported: the hybrid reward model's data


def run_pipeline(out: str, profile: Profile | str | None = None, progress: bool = True, log=print,
                 checkpoint_every: int = 0, resume: bool = False) -> dict:
    """Run (or resume) every stage; returns the report dict (also written to ``out``).

    A finished stage (its HF checkpoint under ``out``) is always re-used. With ``checkpoint_every``
    the SFT, reward-model, PPO and DPO loops also write checkpoints under ``out/checkpoints/<stage>`` every
    N steps, and ``resume=True`` continues an interrupted stage from its latest one.
    """
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    os.makedirs(out, exist_ok=True)
    seed_everything(profile.seed)
    data = course_data(profile)
    # Every size checked against the data before the first stage: one that the data cannot fill is lowered
    # now and said once, here and in the report, never found out after hours of training.
    profile, scaled = data.fit_sizes(profile)
    for name, change in scaled.items():
        log(f"[sizes] {name} {change}: the data holds no more")
    times = {}
    report = {"profile": profile.name, "seed": profile.seed, "data": data.name, "skipped_rows": data.skipped,
              "sizes_scaled": scaled, "lengths": stages.lengths(profile) | {"max_new_tokens": profile.max_new_tokens},
              "models": {"policy": profile.policy_model, "labeler": profile.labeler_model,
                         "judge": "gold" if data.is_world else profile.judge_model},
              "sizes": {k: getattr(profile, k) for k in ("sft_examples", "rm_pairs", "rm_test_pairs", "ppo_steps",
                                                         "hybrid_human_pairs", "dpo_epochs", "eval_prompts")}}

    def at(name):
        return os.path.join(out, name)

    def checkpoints(name) -> dict:
        return {"checkpoint_dir": at(os.path.join("checkpoints", name)), "checkpoint_every": checkpoint_every,
                "resume": resume}

    def timed(name, fn):
        t = time.time()
        result = fn()
        times[name] = time.time() - t
        return result

    # 1. SFT on demonstrations ------------------------------------------------------------------
    sft, tokenizer = timed("sft", lambda: stages.sft(profile, data, at("sft"), progress=progress, say=log,
                                                     **checkpoints("sft")))

    # 2. Reward models: human labels (RLHF), AI labels (RLAIF), and a hybrid: a few human labels to
    #    ground it, AI labels for the rest -----------------------------------------------------------
    policy = at("sft")  # the world draws its comparisons from the SFT policy (kept beside it); other data ignore it
    test_pairs = timed("test_pairs", lambda: data.test_pairs(profile.rm_test_pairs, policy=policy))
    human = timed("human_pairs", lambda: data.human_pairs(profile.rm_pairs, policy=policy))
    # the world's out-of-distribution split (held-out parts): more gold-labelled pairs, reported beside
    more_pairs = ({"ood": timed("ood_pairs", lambda: data.test_pairs(profile.rm_test_pairs, policy=policy, split="ood"))}
                  if data.is_world else {})

    ai_rows: list[dict] = []

    def ai() -> list[dict]:  # labelled once, when a reward model first needs them (or the report counts them)
        if not ai_rows:
            ai_rows.extend(stages.ai_labels(profile, data, at("ai_labels.json"), progress=progress, say=log,
                                            policy=policy))
        return ai_rows

    # What the length policy cuts (rlcore.data.fit_to_length), counted on the texts each training stage reads
    report["truncated"] = {
        "sft": truncation_counts(tokenizer, *data.demonstrations(profile.sft_examples), **stages.lengths(profile)),
        "reward model, DPO": truncation_counts(tokenizer, [p["prompt"] for p in human] * 2,
                                              [p["chosen"] for p in human] + [p["rejected"] for p in human],
                                              **stages.lengths(profile))}

    labels = {"rm_human": (human, False), "rm_ai": (ai, True),
              "rm_hybrid": (lambda: hybrid_pairs(human, ai(), profile.hybrid_human_pairs), True)}
    reward_models = {}
    for name, (pairs, soft) in labels.items():
        rm = reward_models[name] = timed(name, lambda: stages.reward_model(
            profile, data, pairs, at("sft"), at(name), soft_labels=soft, progress=progress, say=log,
            **checkpoints(name)))
        # gold labels on the world; the dataset's own held-out human labels elsewhere
        lengths = stages.lengths(profile)
        report[f"{name}_test_accuracy"] = preference_accuracy(*pair_rewards(rm, tokenizer, test_pairs, **lengths))
        for key, more in more_pairs.items():
            report[f"{name}_gold_accuracy_{key}"] = preference_accuracy(*pair_rewards(rm, tokenizer, more, **lengths))
    if data.is_world:
        report["human_label_bayes_limit"] = data.human_agreement(policy)
    report["ai_labels_cut_to_fit"] = sum(bool(r.get("cut_to_fit")) for r in ai())

    # 3. PPO against each reward model; DPO on the human pairs (no reward model, no sampling) ----------
    histories = {}
    for name, rm_name in (("policy_rlhf", "rm_human"), ("policy_rlaif", "rm_ai"), ("policy_hybrid", "rm_hybrid")):
        _, histories[name] = timed(name, lambda: stages.ppo(profile, data, at("sft"), reward_models[rm_name], at(name),
                                                            progress=progress, say=log, **checkpoints(name)))
    timed("policy_dpo", lambda: stages.dpo(profile, human, at("sft"), at("policy_dpo"), progress=progress, say=log,
                                           **checkpoints("policy_dpo")))

    # 4. Evaluation on held-out prompts, by the gold judge (world) or an AI judge ---------------------
    t = time.time()
    judge = load_judge(profile, data)
    policies = {"sft": sft, **{n: load_frozen(at(n), profile)[0] for n in POLICIES[1:]}}
    report["judge_is_labeler"] = not data.is_world and profile.judge_model == profile.labeler_model
    for split in data.splits:  # "test"; the world adds "ood" (held-out parts), reported beside it
        prompts, harmful = data.evaluation_prompts(profile.eval_prompts, split)
        result = stages.evaluate(profile, judge, policies, tokenizer, prompts, harmful, COMPARISONS)
        responses = result.pop("responses")
        if data.is_world:
            world = data.world
            best = [world.best_response(p) for p in prompts]
            # The ceiling: a policy that always gave the world's best answer. SFT already gives it often,
            # and a tie counts one half, so no policy can beat SFT more often than this.
            result["win_rate"]["best_vs_sft"] = win_rate(prompts, best, responses["sft"], judge)
            result["mean_gold"] = {n: mean_gold(prompts, responses[n]) for n in responses}
            result["fluency_penalty"] = {n: fluency_penalty(prompts, responses[n]) for n in responses}
            result["per_scenario"] = per_scenario(prompts, {**responses, "best": best}, judge)
        if split == "test":
            report.update(result)
            test_prompts, test_responses = prompts, responses
        else:
            report[split] = result
    prompts, responses = test_prompts, test_responses
    if not data.is_world:
        report["judge_agreement_with_held_out_labels"] = judge_agreement(judge, test_pairs)
        report["judge_comparisons_cut_to_fit"] = judge.pairwise.cut + judge.rater.cut
    report["samples"] = {n: list(zip(prompts[:3], rs[:3])) for n, rs in responses.items()}
    times["evaluation"] = time.time() - t
    report["seconds"] = {k: round(v, 1) for k, v in times.items()}
    report["seconds"]["total"] = round(sum(times.values()), 1)
    report["ppo_final"] = {n: h[-1] for n, h in histories.items()}
    with open(os.path.join(out, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    write_report_md(report, histories, out)
    return report


def write_report_md(report: dict, histories: dict, out: str) -> None:
    """report.md with the RLAIF-vs-RLHF table and PNG plots beside it; it names the judge of every number."""
    from rlcore import plots

    w, h, world_run = report["win_rate"], report["harmless_rate"], "per_scenario" in report
    plots.win_rates({"RLHF vs SFT": w["rlhf_vs_sft"], "RLAIF vs SFT": w["rlaif_vs_sft"], "RLAIF vs RLHF": w["rlaif_vs_rlhf"],
                     "Hybrid vs SFT": w["hybrid_vs_sft"], "DPO vs SFT": w["dpo_vs_sft"]},
                    path=os.path.join(out, "win_rates.png"))
    plots.harmless_rates({LABELS[n]: h[n] for n in POLICIES}, path=os.path.join(out, "harmless.png"))
    plots.ppo_curves({LABELS[n]: hist for n, hist in histories.items()}, path=os.path.join(out, "ppo_curves.png"))

    def pct(x):
        return f"{100 * x:.0f}%"

    def ci(r):
        return f"{pct(r['win_rate'])} [{pct(r['ci95'][0])}, {pct(r['ci95'][1])}]"

    skipped = ", ".join(f"{n} {why}" for why, n in report["skipped_rows"].items()) or "none"
    lines = [
        f"# RLHF vs RLAIF on {report['data']} (profile {report['profile']}, seed {report['seed']})", "",
        f"Policy {report['models']['policy']}, AI labeler {report['models']['labeler']}. "
        f"**Judge: {report['judge']}**, on held-out prompts (95% intervals)."
        + ("" if world_run else f" Rows of the data skipped: {skipped}."), "",
    ]
    lengths = report["lengths"]
    cuts = "; ".join(f"{stage}: {describe_truncation(c, lengths['max_length'], lengths['max_prompt_tokens'])}"
                     for stage, c in report["truncated"].items())
    lines += [f"Lengths: prompts keep their last {lengths['max_prompt_tokens']} tokens, responses are sampled up to "
              f"{lengths['max_new_tokens']} tokens, training sequences hold {lengths['max_length']}. {cuts}. "
              f"AI labels whose responses were cut to fit the labeler's context: {report['ai_labels_cut_to_fit']}"
              + (f"; judge comparisons cut: {report['judge_comparisons_cut_to_fit']}"
                 if "judge_comparisons_cut_to_fit" in report else "") + "."]
    if report["sizes_scaled"]:
        lines[-1] += " Sizes lowered to what the data holds: " + ", ".join(
            f"{k} {v}" for k, v in report["sizes_scaled"].items()) + "."
    lines.append("")
    if report.get("judge_is_labeler"):
        lines += ["**Warning: the judge is the model that labelled RLAIF's data; RLAIF's win rates are flattered.**", ""]
    lines += [
        "Lee et al. 2023 report RLAIF vs SFT 71%, RLHF vs SFT 73%, RLAIF vs RLHF 50%; harmless rate SFT 64%, "
        "RLHF 76%, RLAIF 88%.", "",
        "| comparison | win rate |", "| --- | --- |",
        f"| RLHF vs SFT | {ci(w['rlhf_vs_sft'])} |", f"| RLAIF vs SFT | {ci(w['rlaif_vs_sft'])} |",
        f"| RLAIF vs RLHF | {ci(w['rlaif_vs_rlhf'])} |",
        f"| Hybrid vs SFT ({report['sizes']['hybrid_human_pairs']} human + AI labels) | {ci(w['hybrid_vs_sft'])} |",
        f"| DPO vs SFT (same human pairs, no reward model) | {ci(w['dpo_vs_sft'])} |",
        f"| DPO vs RLHF | {ci(w['dpo_vs_rlhf'])} |",
    ]
    if world_run:
        lines.append(f"| *ceiling: the world's best answer vs SFT* | {ci(w['best_vs_sft'])} |")
    lines.append("")
    columns = ["harmless rate", "KL to SFT (nats)", "mean words"] + (["mean gold", "fluency penalty (share)"]
                                                                     if world_run else [])
    lines += ["| policy | " + " | ".join(columns) + " |", "| --- |" + " --- |" * len(columns)]
    for name, label in LABELS.items():
        row = [pct(h[name]), f"{report['kl_to_sft'][name]:.2f}", f"{report['mean_words'][name]:.1f}"]
        if world_run:
            row += [f"{report['mean_gold'][name]:+.2f}", f"{report['fluency_penalty'][name]['mean']:.3f} "
                    f"({pct(report['fluency_penalty'][name]['share'])})"]
        lines.append(f"| {label} | " + " | ".join(row) + " |")
    accuracy = (f"human labels {pct(report['rm_human_test_accuracy'])}, AI labels {pct(report['rm_ai_test_accuracy'])}, "
                f"hybrid {pct(report['rm_hybrid_test_accuracy'])}")
    if world_run:
        others = POLICIES[1:] + ("best",)
        names = {**LABELS, "best": "ceiling"}
        lines += ["", "| scenario | n | " + " | ".join(f"{names[n]} vs SFT" for n in others) + " |",
                  "| --- | --- |" + " --- |" * len(others)]
        for family, row in report["per_scenario"].items():
            lines.append(f"| {family} | {row['n']} | " + " | ".join(pct(row[f"{n}_vs_sft"]) for n in others) + " |")
        lines += ["", f"Reward models, gold pairwise accuracy on held-out pairs: {accuracy}; "
                  f"Bayes limit of the human labels {pct(report['human_label_bayes_limit'])}."]
        lines[-1] += (" On held-out parts (out of distribution): " + ", ".join(
            f"{label} {pct(report[f'rm_{n}_gold_accuracy_ood'])}" for n, label in (("human", "human"), ("ai", "AI"),
                                                                                  ("hybrid", "hybrid"))) + ".")
        if "ood" in report:  # a run without gold has no "ood" split
            o = report["ood"]["win_rate"]
            lines += ["", "Out of distribution (prompts with held-out parts), by the same judge: "
                      + ", ".join(f"{label} {ci(o[key])}" for key, label in (
                          ("rlhf_vs_sft", "RLHF vs SFT"), ("rlaif_vs_sft", "RLAIF vs SFT"),
                          ("rlaif_vs_rlhf", "RLAIF vs RLHF"), ("best_vs_sft", "ceiling"))) + "; harmless rate "
                      + ", ".join(f"{LABELS[n]} {pct(report['ood']['harmless_rate'][n])}" for n in POLICIES) + "."]
    else:
        lines += ["", f"Reward models, accuracy on the data's held-out human labels: {accuracy}. The judge agrees "
                  f"with those labels on {pct(report['judge_agreement_with_held_out_labels'])} of the held-out pairs "
                  "(how far to trust its win rates)."]
    lines += ["", "Wall time per stage (s): " + ", ".join(f"{k} {v}" for k, v in report["seconds"].items()), "",
              "![win rates](win_rates.png) ![harmless](harmless.png)", "", "![PPO](ppo_curves.png)", ""]
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(lines))


def per_scenario(prompts, responses, judge=None) -> dict:
    """Gold win rate of each policy over SFT, and mean gold, per family of prompts (the world only)."""
    from rlcore import world

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
