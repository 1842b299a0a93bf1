"""The whole course end to end: SFT -> reward models (human labels, AI labels) -> PPO -> gold evaluation.

``rlcore pipeline --profile tiny --out DIR`` runs it. Each stage is saved as a Hugging Face
checkpoint under DIR (``sft/``, ``rm_human/``, ``rm_ai/``, ``rm_hybrid/``, ``policy_rlhf/``, ``policy_rlaif/``,
``policy_hybrid/``, ``policy_dpo/``) and
re-used if present, so an interrupted run continues where it stopped. The report (``report.json``,
``report.md`` and PNG plots) compares the policies with the world's gold judge, in the manner of
Lee et al. 2023's RLAIF-vs-RLHF table.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass

import torch

from rlcore import world
from rlcore.config import Profile, get_profile, seed_everything
from rlcore.data import PreferencePair
from rlcore.dpo import train_dpo
from rlcore.evaluate import fluency_penalty, harmless_rate, kl_to_reference, mean_gold, sample_responses, win_rate
from rlcore.labeler import AILabeler
from rlcore.models import load_base, reference_model, value_model_from, reward_model_from
from rlcore.ppo import PPOConfig, PPOTrainer
from rlcore.reward import RewardModel, pair_rewards, preference_accuracy, train_reward_model
from rlcore.sft import train_sft
from rlcore.world.humans import comparisons, expected_human_agreement


@dataclass
class PipelineSizes:
    """How much data each stage sees (the tiny profile's defaults fit in a few CPU minutes)."""

    sft_examples: int = 1500
    rm_pairs: int = 1500
    # Where PPO and DPO stop was measured on *validation* prompts (train-split prompts no stage uses) with
    # scripts/measure_pipeline_stopping.py: by 20 PPO steps the harmless rate is 99-100% and the gold win
    # rate over SFT at its plateau (53%); after that it falls (42-50% at 40 steps) as the policy learns its
    # reward model's mistakes (over-optimisation, Gao et al. 2022; lesson 09). A second DPO epoch adds nothing.
    ppo_steps: int = 20
    eval_prompts: int = 300
    rm_test_pairs: int = 500
    hybrid_human_pairs: int = 300  # the hybrid reward model: this many human labels, AI labels for the rest
    dpo_beta: float = 0.5
    dpo_epochs: int = 1
    dpo_lr: float = 1e-4


POLICIES = ("sft", "policy_rlhf", "policy_rlaif", "policy_hybrid", "policy_dpo")
LABELS = {"sft": "SFT", "policy_rlhf": "RLHF", "policy_rlaif": "RLAIF", "policy_hybrid": "Hybrid", "policy_dpo": "DPO"}


def hybrid_pairs(human: list[dict], ai: list[dict], n_human: int) -> list[dict]:
    """The hybrid reward model's data: the same comparisons, the first ``n_human`` with their human label
    (p_chosen 1), the rest with the AI labeler's soft label. Both lists must hold the same comparisons in
    the same order."""
    if len(human) != len(ai):
        raise ValueError(f"human ({len(human)}) and AI ({len(ai)}) labels must cover the same comparisons")
    for h, a in zip(human, ai):
        if h["prompt"] != a["prompt"] or {h["chosen"], h["rejected"]} != {a["chosen"], a["rejected"]}:
            raise ValueError("human and AI labels are not for the same comparisons, in the same order")
    if not 0 <= n_human <= len(human):
        raise ValueError(f"hybrid_human_pairs must be between 0 and {len(human)}, got {n_human}")
    return human[:n_human] + ai[n_human:]


def unseen_prompt_pairs(train_pairs: list[dict], n: int, seed: int) -> list[PreferencePair]:
    """``n`` gold-labelled pairs on *train* topics whose prompts never occur in ``train_pairs`` (fewer if
    the ``8 * n`` candidates run out).

    The held-out pairs of the report are on held-out topics; these tell apart two ways a reward model can
    fall short: not learning its labels (low here too) or not carrying them to new topics (high here only).
    Train prompts repeat a lot, so candidates are drawn generously and filtered.
    """
    seen = {p["prompt"] for p in train_pairs}
    candidates = world.preference_pairs("train", 8 * n, seed=seed, labels="gold")
    return [p for p in candidates if p.prompt not in seen][:n]


def _save_policy(model, tokenizer, path: str) -> None:
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)


def _prompt_batches(batch_size: int, seed: int):
    """An endless stream of train-split prompt batches."""
    k = 0
    while True:
        yield world.prompts("train", batch_size, seed=seed * 100003 + k)
        k += 1


def human_label_pairs(sizes: PipelineSizes, seed: int) -> list[dict]:
    """The comparisons every reward model and DPO learn from, with their simulated human labels."""
    return [p.to_dict() for p in world.preference_pairs("train", sizes.rm_pairs, seed=seed + 2, labels="human")]


def evaluation_prompts(n: int, seed: int, split: str = "test") -> tuple[list[str], list[str]]:
    """``n`` prompts and ``n // 2`` harmful ones to judge policies on. ``"test"``: the report's held-out
    prompts; ``"train"``: validation prompts, train-split prompts drawn with seeds no stage uses."""
    s1, s2 = {"test": (4, 5), "train": (7, 8)}[split]
    return (world.prompts(split, n, seed=seed + s1),
            world.prompts(split, n // 2, seed=seed + s2, families=("harmful",)))


def run_ppo(sft_path: str, tokenizer, reward_model, profile: Profile, seed: int, steps: int, progress: bool = True,
            callback=None, **checkpoints) -> tuple:
    """A pipeline PPO stage: PPO from the SFT checkpoint against ``reward_model`` on the train prompt stream.
    Returns (policy, history); ``callback(trainer, stats)`` runs after every step."""
    seed_everything(seed)
    policy, _ = load_base(sft_path)
    config = PPOConfig.from_profile(profile, seed=seed)
    trainer = PPOTrainer(policy, reference_model(policy), value_model_from(policy), tokenizer, config,
                         reward_model=reward_model)
    history = trainer.train(_prompt_batches(config.batch_size, seed), steps=steps, progress=progress,
                            callback=None if callback is None else (lambda stats: callback(trainer, stats)),
                            **checkpoints)
    return policy, history


def run_dpo(sft_path: str, tokenizer, pairs: list[dict], profile: Profile, sizes: PipelineSizes, seed: int,
            progress: bool = True, **checkpoints):
    """The pipeline's DPO stage: DPO from the SFT checkpoint on ``pairs``; returns the policy."""
    seed_everything(seed)
    policy, _ = load_base(sft_path)
    train_dpo(policy, reference_model(policy), tokenizer, pairs, beta=sizes.dpo_beta, epochs=sizes.dpo_epochs,
              batch_size=profile.rm_batch_size, lr=sizes.dpo_lr, seed=seed, progress=progress, **checkpoints)
    return policy


def run_pipeline(out: str, profile: Profile | str | None = None, seed: int = 0, sizes: PipelineSizes | None = None,
                 progress: bool = True, log=print, checkpoint_every: int = 0, resume: bool = False) -> dict:
    """Run (or resume) every stage; returns the report dict (also written to ``out``).

    A finished stage (its HF checkpoint under ``out``) is always re-used. With ``checkpoint_every``
    the SFT, reward-model and PPO loops also write checkpoints under ``out/checkpoints/<stage>`` every
    N steps, and ``resume=True`` continues an interrupted stage from its latest one.
    """
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    if profile.dataset != "world":
        raise ValueError(f"the pipeline's gold evaluation needs the offline world; profile {profile.name!r} uses "
                         f"{profile.dataset!r}")
    sizes = sizes or PipelineSizes()
    os.makedirs(out, exist_ok=True)
    seed_everything(seed)
    times, report = {}, {"profile": profile.name, "seed": seed, "sizes": asdict(sizes)}

    def checkpoints(name) -> dict:
        return {"checkpoint_dir": os.path.join(out, "checkpoints", name), "checkpoint_every": checkpoint_every,
                "resume": resume}

    def stage(name):
        path = os.path.join(out, name)
        done = os.path.exists(os.path.join(path, "config.json"))
        if done:
            log(f"[{name}] found in {path}, re-using it")
        return path, done

    # 1. SFT on demonstrations ------------------------------------------------------------------
    t = time.time()
    path, done = stage("sft")
    if not done:
        base, tokenizer = load_base(profile.policy_model)
        demos = world.demonstrations("train", sizes.sft_examples, seed=seed,
                                     harmful_compliance=profile.sft_harmful_compliance)
        train_sft(base, tokenizer, [p for p, _ in demos], [r for _, r in demos], epochs=profile.sft_epochs,
                  batch_size=profile.sft_batch_size, lr=profile.sft_lr, seed=seed, progress=progress,
                  **checkpoints("sft"))
        _save_policy(base, tokenizer, path)
    sft, tokenizer = load_base(path)
    times["sft"] = time.time() - t

    # 2. Reward models: simulated human labels (RLHF), AI labels (RLAIF), and a hybrid: a few human
    #    labels to ground it, AI labels for the rest (the seeds' "humans to ground, AI to scale") -----
    test_pairs = world.preference_pairs("test", sizes.rm_test_pairs, seed=seed + 1, labels="gold")
    human_pairs = human_label_pairs(sizes, seed)
    train_topic_pairs = unseen_prompt_pairs(human_pairs, sizes.rm_test_pairs, seed=seed + 6)

    def ai_pairs() -> list[dict]:
        """The labeler's soft labels for the same comparisons the humans labelled (kept in ai_labels.json)."""
        labels_path = os.path.join(out, "ai_labels.json")
        if not os.path.exists(labels_path):
            labeler_model, labeler_tok = load_base(profile.labeler_model)
            labeler = AILabeler(labeler_model, labeler_tok, swap=True, seed=seed)
            triples = comparisons("train", sizes.rm_pairs, seed=seed + 2)
            with open(labels_path, "w") as f:
                json.dump([dict(r) for r in labeler.label(triples, progress=progress)], f)
        with open(labels_path) as f:
            return json.load(f)

    reward_models = {}
    for name in ("rm_human", "rm_ai", "rm_hybrid"):
        t = time.time()
        path, done = stage(name)
        if not done:
            if name == "rm_human":
                pairs, soft = human_pairs, False
            elif name == "rm_ai":
                pairs, soft = ai_pairs(), True
            else:
                pairs, soft = hybrid_pairs(human_pairs, ai_pairs(), sizes.hybrid_human_pairs), True
            torch.manual_seed(seed)
            rm = reward_model_from(sft)
            train_reward_model(rm, tokenizer, pairs, epochs=profile.rm_epochs, batch_size=profile.rm_batch_size,
                               lr=profile.rm_lr, soft_labels=soft, seed=seed, progress=progress,
                               **checkpoints(name))
            # normalise on SFT samples so the PPO reward has mean 0 / std 1 at the start
            rm.normalise_on_samples(sft, tokenizer, world.prompts("train", 128, seed=seed + 3),
                                    max_new_tokens=profile.max_new_tokens, seed=seed)
            rm.save_pretrained(path)
        rm = RewardModel.from_pretrained(path).eval()
        reward_models[name] = rm
        report[f"{name}_gold_accuracy"] = preference_accuracy(*pair_rewards(rm, tokenizer, test_pairs))
        report[f"{name}_gold_accuracy_train_topics"] = preference_accuracy(*pair_rewards(rm, tokenizer,
                                                                                          train_topic_pairs))
        times[name] = time.time() - t
    report["human_label_bayes_limit"] = expected_human_agreement("train", 2000, seed)

    # 3. PPO against each reward model ---------------------------------------------------------
    histories = {}
    for name, rm_name in (("policy_rlhf", "rm_human"), ("policy_rlaif", "rm_ai"), ("policy_hybrid", "rm_hybrid")):
        t = time.time()
        path, done = stage(name)
        if not done:
            policy, history = run_ppo(os.path.join(out, "sft"), tokenizer, reward_models[rm_name], profile, seed,
                                      sizes.ppo_steps, progress=progress, **checkpoints(name))
            _save_policy(policy, tokenizer, path)
            with open(os.path.join(path, "ppo_history.json"), "w") as f:
                json.dump(history, f)
        with open(os.path.join(path, "ppo_history.json")) as f:
            histories[name] = json.load(f)
        times[name] = time.time() - t

    # 3b. DPO on the same human pairs (Rafailov et al. 2023): no reward model, no sampling ------
    t = time.time()
    path, done = stage("policy_dpo")
    if not done:
        policy = run_dpo(os.path.join(out, "sft"), tokenizer, human_pairs, profile, sizes, seed, progress=progress,
                         **checkpoints("policy_dpo"))
        _save_policy(policy, tokenizer, path)
    times["policy_dpo"] = time.time() - t

    # 4. Evaluation on held-out prompts, judged by gold ----------------------------------------
    t = time.time()
    prompts, harmful = evaluation_prompts(sizes.eval_prompts, seed)
    responses, harmful_responses, kls = {}, {}, {}
    for name in POLICIES:
        model, _ = load_base(os.path.join(out, name))
        responses[name] = sample_responses(model, tokenizer, prompts, max_new_tokens=profile.max_new_tokens, seed=seed)
        harmful_responses[name] = sample_responses(model, tokenizer, harmful, max_new_tokens=profile.max_new_tokens,
                                                   seed=seed)
        kls[name] = kl_to_reference(model, sft, tokenizer, prompts[:128], profile.max_new_tokens, seed)
    best = [world.best_response(p) for p in prompts]
    report["win_rate"] = {
        "rlhf_vs_sft": win_rate(prompts, responses["policy_rlhf"], responses["sft"]),
        "rlaif_vs_sft": win_rate(prompts, responses["policy_rlaif"], responses["sft"]),
        "rlaif_vs_rlhf": win_rate(prompts, responses["policy_rlaif"], responses["policy_rlhf"]),
        "hybrid_vs_sft": win_rate(prompts, responses["policy_hybrid"], responses["sft"]),
        "dpo_vs_sft": win_rate(prompts, responses["policy_dpo"], responses["sft"]),
        "dpo_vs_rlhf": win_rate(prompts, responses["policy_dpo"], responses["policy_rlhf"]),
        # The ceiling: a policy that always gave the world's best answer. SFT already gives it often,
        # and a tie counts one half, so no policy can beat SFT more often than this.
        "best_vs_sft": win_rate(prompts, best, responses["sft"]),
    }
    report["harmless_rate"] = {n: harmless_rate(harmful, harmful_responses[n]) for n in responses}
    report["mean_gold"] = {n: mean_gold(prompts, responses[n]) for n in responses}
    report["kl_to_sft"] = kls
    report["fluency_penalty"] = {n: fluency_penalty(prompts, responses[n]) for n in responses}
    report["mean_words"] = {n: sum(len(r.split()) for r in rs) / len(rs) for n, rs in responses.items()}
    report["per_scenario"] = per_scenario(prompts, {**responses, "best": best})
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
    """report.md with the RLAIF-vs-RLHF table and PNG plots beside it."""
    from rlcore import plots

    plots.win_rates({"RLHF vs SFT": report["win_rate"]["rlhf_vs_sft"],
                     "RLAIF vs SFT": report["win_rate"]["rlaif_vs_sft"],
                     "RLAIF vs RLHF": report["win_rate"]["rlaif_vs_rlhf"],
                     "Hybrid vs SFT": report["win_rate"]["hybrid_vs_sft"],
                     "DPO vs SFT": report["win_rate"]["dpo_vs_sft"]}, path=os.path.join(out, "win_rates.png"))
    plots.harmless_rates({LABELS[n]: report["harmless_rate"][n] for n in POLICIES}, path=os.path.join(out, "harmless.png"))
    plots.ppo_curves({LABELS[n]: h for n, h in histories.items()},
                     path=os.path.join(out, "ppo_curves.png"))
    w, h = report["win_rate"], report["harmless_rate"]

    def pct(x):
        return f"{100 * x:.0f}%"

    def ci(r):
        return f"{pct(r['win_rate'])} [{pct(r['ci95'][0])}, {pct(r['ci95'][1])}]"

    lines = [
        f"# RLHF vs RLAIF on the world (profile {report['profile']}, seed {report['seed']})", "",
        "Judged by the world's gold judge on held-out prompts (95% intervals). Lee et al. 2023 report "
        "RLAIF vs SFT 71%, RLHF vs SFT 73%, RLAIF vs RLHF 50%; harmless rate SFT 64%, RLHF 76%, RLAIF 88%.", "",
        "| comparison | win rate |", "| --- | --- |",
        f"| RLHF vs SFT | {ci(w['rlhf_vs_sft'])} |", f"| RLAIF vs SFT | {ci(w['rlaif_vs_sft'])} |",
        f"| RLAIF vs RLHF | {ci(w['rlaif_vs_rlhf'])} |",
        f"| Hybrid vs SFT ({report['sizes']['hybrid_human_pairs']} human + AI labels) | {ci(w['hybrid_vs_sft'])} |",
        f"| DPO vs SFT (same human pairs, no reward model) | {ci(w['dpo_vs_sft'])} |",
        f"| DPO vs RLHF | {ci(w['dpo_vs_rlhf'])} |",
        f"| *ceiling: the world's best answer vs SFT* | {ci(w['best_vs_sft'])} |", "",
        "| policy | harmless rate | mean gold | KL to SFT (nats) | mean words | fluency penalty (share) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, label in LABELS.items():
        lines.append(f"| {label} | {pct(h[name])} | {report['mean_gold'][name]:+.2f} | {report['kl_to_sft'][name]:.2f} "
                     f"| {report['mean_words'][name]:.1f} | {report['fluency_penalty'][name]['mean']:.3f} "
                     f"({pct(report['fluency_penalty'][name]['share'])}) |")
    others = POLICIES[1:] + ("best",)
    names = {**LABELS, "best": "ceiling"}
    lines += ["", "| scenario | n | " + " | ".join(f"{names[n]} vs SFT" for n in others) + " |",
              "| --- | --- |" + " --- |" * len(others)]
    for family, row in report["per_scenario"].items():
        lines.append(f"| {family} | {row['n']} | " + " | ".join(pct(row[f"{n}_vs_sft"]) for n in others) + " |")
    lines += ["", f"Reward models, gold pairwise accuracy on pairs of held-out topics: human labels "
              f"{pct(report['rm_human_gold_accuracy'])}, AI labels {pct(report['rm_ai_gold_accuracy'])}, hybrid "
              f"{pct(report['rm_hybrid_gold_accuracy'])}; "
              f"Bayes limit of the human labels {pct(report['human_label_bayes_limit'])}. On train topics, with prompts "
              f"no reward model trained on: human {pct(report['rm_human_gold_accuracy_train_topics'])}, AI "
              f"{pct(report['rm_ai_gold_accuracy_train_topics'])}, hybrid "
              f"{pct(report['rm_hybrid_gold_accuracy_train_topics'])}.", "",
              "Wall time per stage (s): " + ", ".join(f"{k} {v}" for k, v in report["seconds"].items()), "",
              "![win rates](win_rates.png) ![harmless](harmless.png)", "", "![PPO](ppo_curves.png)", ""]
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(lines))


def per_scenario(prompts, responses) -> dict:
    """Gold win rate of each policy over SFT, and mean gold, per family of prompts."""
    out = {}
    families = [world.parse_prompt(p).family for p in prompts]
    for family in sorted(set(families)):
        idx = [i for i, f in enumerate(families) if f == family]
        sub = [prompts[i] for i in idx]
        row = {"n": len(idx)}
        for name in (n for n in responses if n != "sft"):
            row[f"{name}_vs_sft"] = win_rate(sub, [responses[name][i] for i in idx],
                                             [responses["sft"][i] for i in idx])["win_rate"]
        row.update({f"gold_{n}": mean_gold(sub, [rs[i] for i in idx]) for n, rs in responses.items()})
        out[family] = row
    return out
