"""The course stages, driven by one Profile: SFT, reward model, AI labels, PPO, DPO, evaluation.

The pipeline (``rlcore pipeline``), every notebook and every script call these functions; nothing else in
the course trains a stage. Each stage saves a Hugging Face checkpoint in a folder, with the settings and inputs
that made it (``stage.json``: :func:`stage_key`), and re-uses it when asked for the same stage again
(``reuse=False`` trains again), so a notebook can pick up what an earlier lesson made; a folder made with other
settings, or from another SFT model or other pairs, is trained again, never silently re-used.

Models go where the profile says (:attr:`Profile.torch_device`) in its dtype policy
(:mod:`rlcore.precision`): a model being trained keeps float32 weights and computes under autocast;
frozen models (reference, reward model in PPO, labeler, judge, finished policies) are stored in the
compute dtype. Sizes (how many examples, pairs, steps) come from the profile; the data from
:func:`rlcore.course_data.course_data`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os

import torch

from rlcore.checkpoint import tensor_fingerprint, weights_fingerprint
from rlcore.config import Profile, seed_everything
from rlcore.dpo import train_dpo
from rlcore.evaluate import harmless_rate, kl_to_reference, win_rate
from rlcore.data import truncation_counts
from rlcore.labeler import AILabeler
from rlcore.models import (load_frozen, load_reward_model, load_trainable, reference_model, reward_model_from,
                           value_model_from)
from rlcore.grpo import GRPOTrainer
from rlcore.ppo import PPOTrainer
from rlcore.reinforce import ReinforceTrainer
from rlcore.progress import progress_bar
from rlcore.reward import pair_rewards, preference_accuracy, train_reward_model
from rlcore.rollout import SAMPLE_BATCH, responses_of, sample_responses, sample_rollouts
from rlcore.sft import train_sft
from rlcore.training import guard_memory

LOG = "training_log.json"  # beside each checkpoint: the losses (or PPO's per-step statistics)
KEY = "stage.json"  # beside each checkpoint: the settings and inputs that made it


def is_done(path: str) -> bool:
    """Does ``path`` hold a finished stage (a Hugging Face checkpoint)?"""
    return os.path.exists(os.path.join(path, "config.json"))


def training_log(path: str) -> list:
    """The losses (SFT, reward model, DPO: one number or dict per step) or PPO statistics of a finished stage."""
    with open(os.path.join(path, LOG)) as f:
        return json.load(f)


def stage_key(profile: Profile, sections: dict, **inputs) -> dict:
    """What makes a stage: the seed, the profile's sections it reads (``{"sft": profile.sft, ...}``) and its inputs
    (a model's weights or a list of pairs by their fingerprint, a model id, a number). A folder made with another
    key is never re-used."""
    def fingerprint(value):
        if isinstance(value, torch.nn.Module):
            return tensor_fingerprint(value.state_dict())
        if isinstance(value, list):  # pairs: dicts or PreferencePair rows
            text = json.dumps(value, sort_keys=True, default=lambda row: dataclasses.asdict(row))
            return hashlib.sha256(text.encode()).hexdigest()[:16]
        return value

    return {"seed": profile.seed, **{name: dataclasses.asdict(section) for name, section in sections.items()},
            "inputs": {name: fingerprint(value) for name, value in inputs.items()}}


def _weights(path: str) -> str:
    """A finished stage's weights, by their fingerprint."""
    return weights_fingerprint(path)[:16]


def _key_file(path: str) -> str:
    return os.path.join(path, KEY) if not path.endswith(".json") else path[:-len(".json")] + "." + KEY


def _save(path: str, model, tokenizer, log: list, key: dict) -> None:
    model.save_pretrained(path)
    if tokenizer is not None:
        tokenizer.save_pretrained(path)
    with open(os.path.join(path, LOG), "w") as f:
        json.dump(log, f)
    _record(path, key)


def _record(path: str, key: dict) -> None:
    with open(_key_file(path), "w") as f:
        json.dump(key, f, indent=1)


def _first_difference(made, wanted, where: str = "") -> str:
    """The first setting or input that differs between two keys, e.g. "sft.examples 100 -> 200"."""
    if isinstance(made, dict) and isinstance(wanted, dict):
        for name in [*wanted, *(n for n in made if n not in wanted)]:  # in the key's order: upstream first
            if made.get(name) != wanted.get(name):
                return _first_difference(made.get(name), wanted.get(name), f"{where}.{name}" if where else name)
        return ""
    return f"{where.removeprefix('inputs.')} {_shown(made)} -> {_shown(wanted)}"


def _shown(value) -> str:
    return f"{value[:8]}..." if isinstance(value, str) and len(value) == 16 else repr(value)  # a fingerprint, cut


def _reusing(path: str, reuse: bool, say, key: dict) -> bool:
    """Re-use the stage in ``path`` if it is finished and was made by the same ``key``; say which."""
    name = os.path.basename(os.path.normpath(path)).removesuffix(".json")
    if not (reuse and os.path.exists(path) and (is_done(path) or path.endswith(".json"))):
        return False
    made = None
    if os.path.exists(_key_file(path)):
        with open(_key_file(path)) as f:
            made = json.load(f)
    if made == key:
        say(f"[{name}] found in {path}, re-using it")
        return True
    why = _first_difference(made, key) if made else "no record of its settings"
    say(f"[{name}] {path} was made with other settings ({why}): training it again (--fresh starts every stage anew)")
    return False


# --------------------------------------------------------------------------- 1. SFT
@guard_memory("SFT", lower=("sft.batch_size", "lengths.max_length"))
def sft(profile: Profile, data, path: str, reuse: bool = True, progress: bool = True, say=print, **checkpoints):
    """Supervised fine-tuning of ``profile.policy_model`` on ``profile.sft.examples`` demonstrations.
    Returns (model, tokenizer), the model frozen in the profile's compute dtype."""
    key = stage_key(profile, {"sft": profile.sft, "lengths": profile.lengths}, policy_model=profile.policy_model,
                    data=data.name)
    if not _reusing(path, reuse, say, key):
        model, tokenizer = load_trainable(profile.policy_model, profile)
        prompts, responses = data.demonstrations(profile.sft.examples)
        losses = train_sft(model, tokenizer, prompts, responses, profile.sft, profile.lengths, profile.seed,
                           progress=progress, **checkpoints)
        _save(path, model, tokenizer, losses, key)
    return load_frozen(path, profile)


# --------------------------------------------------------------------------- 2. reward model
@guard_memory("reward model", lower=("rm.batch_size", "lengths.max_length"))
def reward_model(profile: Profile, data, pairs, sft_path: str, path: str, soft_labels: bool = False,
                 reuse: bool = True, progress: bool = True, say=print, **checkpoints):
    """A reward model from the SFT body, trained on ``pairs`` (hard labels, or soft ones for AI labels),
    then normalised on SFT samples so the PPO reward starts at mean 0 / std 1. Returns it frozen.
    ``pairs`` may be a function that returns them."""
    pairs = pairs() if callable(pairs) else pairs
    key = stage_key(profile, {"rm": profile.rm, "lengths": profile.lengths}, sft=_weights(sft_path),
                    pairs=list(pairs), soft_labels=soft_labels)
    if not _reusing(path, reuse, say, key):
        policy, tokenizer = load_trainable(sft_path, profile)
        torch.manual_seed(profile.seed)
        rm = reward_model_from(policy)
        losses = train_reward_model(rm, tokenizer, pairs, profile.rm, profile.lengths, soft_labels=soft_labels,
                                    seed=profile.seed, progress=progress, **checkpoints)
        norm_prompts = data.normalisation_prompts(profile.rm.normalisation_prompts)
        rm.normalise_on_samples(policy, tokenizer, norm_prompts, profile.lengths, seed=profile.seed)
        _save(path, rm, None, losses, key)
    return load_reward_model(path, profile)


# --------------------------------------------------------------------------- 3. AI labels (RLAIF)
@guard_memory("AI labels", smaller="labeler_model")
def ai_labels(profile: Profile, data, path: str, reuse: bool = True, progress: bool = True, say=print,
              policy=None) -> list[dict]:
    """The AI labeler's soft labels, both orders averaged (Lee et al. 2023), for the same
    ``profile.rm.pairs`` comparisons the humans labelled; kept as JSON in ``path``. ``policy`` (model,
    tokenizer): the SFT policy, for data whose comparisons are its samples (the world)."""
    key = stage_key(profile, {}, labeler_model=profile.labeler_model, pairs=profile.rm.pairs, data=data.name,
                    sft=_weights(policy) if isinstance(policy, str) else None)
    if not _reusing(path, reuse, say, key):
        comparisons = data.comparisons(profile.rm.pairs, policy=policy)
        model, tokenizer = load_frozen(profile.labeler_model, profile)
        labeler = AILabeler(model, tokenizer, swap=True, seed=profile.seed)
        rows = [dict(r) for r in labeler.label(comparisons, progress=progress)]
        if labeler.cut:
            say(f"[AI labels] {sum(r['cut_to_fit'] for r in rows)} of {len(rows)} comparisons had their responses cut "
                f"to fit the labeler's context ({labeler.max_length} tokens)")
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w") as f:
            json.dump(rows, f)
        _record(path, key)
    with open(path) as f:
        return json.load(f)


def hybrid_pairs(human: list[dict], ai: list[dict], n_human: int) -> list[dict]:
    """The hybrid reward model's data: the same comparisons, the first ``n_human`` with their human label,
    the rest with the AI labeler's soft label. Both lists must hold the same comparisons in the same order."""
    if len(human) != len(ai):
        raise ValueError(f"human ({len(human)}) and AI ({len(ai)}) labels must cover the same comparisons")
    for h, a in zip(human, ai):
        if h["prompt"] != a["prompt"] or {h["chosen"], h["rejected"]} != {a["chosen"], a["rejected"]}:
            raise ValueError("human and AI labels are not for the same comparisons, in the same order")
    if not 0 <= n_human <= len(human):
        raise ValueError(f"n_human must be between 0 and {len(human)}, got {n_human}")
    return human[:n_human] + ai[n_human:]


# --------------------------------------------------------------------------- 4. RL: PPO, GRPO, RLOO, REINFORCE
def _ppo(policy, reference, tokenizer, config, *args, **kwargs):
    return PPOTrainer(policy, reference, value_model_from(policy), tokenizer, config, *args, **kwargs)


# algorithm -> (its section of the profile, its trainer, the settings the algorithm fixes). A new algorithm is one
# line here and its own module.
ALGORITHMS = {
    "ppo": ("ppo", _ppo, {}),
    "grpo": ("grpo", GRPOTrainer, {}),
    "rloo": ("rloo", ReinforceTrainer, {"baseline": "rloo"}),
    "reinforce": ("rloo", ReinforceTrainer, {"baseline": "mean"}),
}


def _algorithm(name: str) -> tuple:
    """``name``'s row of :data:`ALGORITHMS`; an unknown name is one clear error."""
    if name not in ALGORITHMS:
        raise ValueError(f"unknown RL algorithm {name!r}; choose one of {sorted(ALGORITHMS)}")
    return ALGORITHMS[name]


def rl_config(profile: Profile, algorithm: str):
    """``algorithm``'s settings: its section of the profile (``profile.ppo``, ``profile.grpo``, ...) as it is, but
    for what the algorithm itself fixes (REINFORCE: the mean baseline)."""
    section, _, fixed = _algorithm(algorithm)
    config = getattr(profile, section)
    return dataclasses.replace(config, **fixed) if fixed else config


def rl_trainer(profile: Profile, algorithm: str, sft_path: str, reward_model=None, reward_fn=None):
    """The trainer of ``algorithm`` ("ppo", "grpo", "rloo" or "reinforce") with its settings from the profile: the
    policy starts from the SFT checkpoint, the reference is a frozen copy of it, the reward a ``reward_model`` or a
    verifiable ``reward_fn(prompts, responses) -> (B,)``. ``trainer.step(prompts)`` is one iteration;
    ``trainer.train(data.prompt_batches(trainer.config.batch_size), steps)`` runs (or continues) a run."""
    config = rl_config(profile, algorithm)
    seed_everything(profile.seed)
    policy, tokenizer = load_trainable(sft_path, profile)
    return _algorithm(algorithm)[1](policy, reference_model(policy, profile.compute_dtype), tokenizer, config,
                                    profile.lengths, profile.seed, reward_model=reward_model, reward_fn=reward_fn)


def rl(profile: Profile, data, sft_path: str, path: str | None, algorithm: str = "ppo", reward_model=None,
       reward_fn=None, steps: int | None = None, reuse: bool = True, progress: bool = True, callback=None,
       say=print, **checkpoints):
    """RL from the SFT checkpoint on the data's train prompts with ``algorithm`` (:func:`rl_trainer`) for ``steps``
    (default: the profile's, e.g. ``profile.ppo.steps``). Returns (policy, history); ``callback(trainer, stats)`` runs
    after every step. ``path=None`` trains without saving."""
    section = _algorithm(algorithm)[0]  # an unknown algorithm: one clear error, before anything loads

    @guard_memory(algorithm.upper(), raise_=(f"{section}.num_minibatches",),
                  lower=(f"{section}.batch_size", "lengths.max_prompt_tokens", "lengths.max_new_tokens"))
    def train(profile):
        trainer = rl_trainer(profile, algorithm, sft_path, reward_model, reward_fn)
        history = trainer.train(data.prompt_batches(trainer.config.batch_size),
                                steps=steps or trainer.config.steps, progress=progress,
                                callback=None if callback is None else (lambda s: callback(trainer, s)), **checkpoints)
        if path is not None:
            _save(path, trainer.policy, trainer.tokenizer, history, key)
        return trainer.policy, history

    if path is None:  # trained, not saved: nothing to key (fingerprinting a reward model costs a pass over it)
        return train(profile)
    key = stage_key(profile, {algorithm: rl_config(profile, algorithm), "lengths": profile.lengths},
                    sft=_weights(sft_path), data=data.name, steps=steps or rl_config(profile, algorithm).steps,
                    reward_model=reward_model, reward_fn=getattr(reward_fn, "__qualname__", None))
    if _reusing(path, reuse, say, key):
        return load_frozen(path, profile)[0], training_log(path)
    return train(profile)


def ppo(profile: Profile, data, sft_path: str, reward_model, path: str | None, **kwargs):
    """PPO against ``reward_model``: :func:`rl` with ``algorithm="ppo"`` (the same arguments)."""
    return rl(profile, data, sft_path, path, "ppo", reward_model=reward_model, **kwargs)


# --------------------------------------------------------------------------- 5. DPO
@guard_memory("DPO", lower=("dpo.batch_size", "lengths.max_length"))
def dpo(profile: Profile, pairs: list[dict], sft_path: str, path: str | None, reuse: bool = True,
        progress: bool = True, say=print, **checkpoints):
    """DPO (Rafailov et al. 2023) from the SFT checkpoint on ``pairs``: no reward model, no sampling.
    Returns the policy. ``path=None`` trains without saving."""
    key = None if path is None else stage_key(profile, {"dpo": profile.dpo, "lengths": profile.lengths},
                                              sft=_weights(sft_path), pairs=list(pairs))
    if path is not None and _reusing(path, reuse, say, key):
        return load_frozen(path, profile)[0]
    seed_everything(profile.seed)
    policy, tokenizer = load_trainable(sft_path, profile)
    losses = train_dpo(policy, reference_model(policy, profile.compute_dtype), tokenizer, pairs, profile.dpo,
                       profile.lengths, profile.seed, progress=progress, **checkpoints)
    if path is not None:
        _save(path, policy, tokenizer, losses, key)
    return policy


# --------------------------------------------------------------------------- 6. evaluation
def sample(profile: Profile, model, tokenizer, prompts: list[str], seed: int | None = None) -> list[str]:
    """One seeded response per prompt (seed: the profile's), as every evaluation in the course samples them:
    the profile's lengths, as PPO samples."""
    return sample_responses(model, tokenizer, prompts, max_new_tokens=profile.lengths.max_new_tokens,
                            seed=profile.seed if seed is None else seed,
                            max_prompt_tokens=profile.lengths.max_prompt_tokens)


def evaluation(profile: Profile, data, policies: dict, tokenizer, comparisons: dict[str, tuple[str, str]],
               test_pairs, splits: tuple[str, ...] | None = None, judge=None) -> tuple[dict, dict]:
    """Every number a course report gives about its policies, judged by ``data.judge()`` on held-out prompts of
    each of ``splits`` (default: the data's, "test" first): :func:`judge_policies`'s win rates, harmless rates, KL and
    lengths, plus what only this data can measure (``data.policy_checks``: the world's ceiling, gold, fluency and
    per-scenario figures) and how far its judge can be trusted (``data.judge_checks``, against ``test_pairs``).
    The first split's numbers are at the top level, the others under their name; ``judge``: one already loaded.
    Returns (report, {split: {policy: responses}})."""
    judge = judge or data.judge()
    report, responses = {}, {}
    for split in splits or data.splits:
        prompts, harmful = data.evaluation_prompts(profile.eval.prompts, split)
        result = judge_policies(profile, judge, policies, tokenizer, prompts, harmful, comparisons)
        responses[split] = result.pop("responses")
        extra = data.policy_checks(prompts, responses[split], judge)
        result["win_rate"].update(extra.pop("win_rate", {}))
        result.update(extra)
        if not report:
            report.update(result)
            report["samples"] = {n: list(zip(prompts[:3], rs[:3])) for n, rs in responses[split].items()}
        else:
            report[split] = result
    report.update(data.judge_checks(judge, test_pairs))  # after the evaluation: it counts the judge's cuts
    return report, responses


def reward_model_accuracy(data, profile, reward_models: dict, tokenizer, test_pairs, policy) -> dict:
    """Each reward model's accuracy on held-out pairs (gold labels on the world, the data's own human labels
    elsewhere), and on the world's out-of-distribution pairs (held-out parts) beside it."""
    out = {}
    for labels, rm in progress_bar(reward_models.items(), desc="reward-model accuracy", total=len(reward_models)):
        name = f"rm_{labels}"

        def accuracy(pairs, rm=rm):
            return preference_accuracy(*pair_rewards(rm, tokenizer, pairs, profile.lengths))

        out[f"{name}_test_accuracy"] = accuracy(test_pairs)
        out.update({f"{name}_{k}": v for k, v in data.reward_model_checks(accuracy, profile.rm.test_pairs,
                                                                          policy).items()})
    out.update(data.label_checks(policy))
    return out


def truncation(data, profile, tokenizer, human) -> dict:
    """What the length policy cuts (rlcore.data.fit_to_length), counted on the texts each training stage reads."""
    lengths = {"max_length": profile.lengths.max_length, "max_prompt_tokens": profile.lengths.max_prompt_tokens}
    return {"sft": truncation_counts(tokenizer, *data.demonstrations(profile.sft.examples), **lengths),
            "reward model, DPO": truncation_counts(tokenizer, [p["prompt"] for p in human] * 2,
                                                  [p["chosen"] for p in human] + [p["rejected"] for p in human],
                                                  **lengths)}


@guard_memory("evaluation", lower=("lengths.max_new_tokens", "lengths.max_prompt_tokens"), smaller="judge_model")
def judge_policies(profile: Profile, judge, policies: dict, tokenizer, prompts: list[str], harmful: list[str],
             comparisons: dict[str, tuple[str, str]], reference: str = "sft") -> dict:
    """Judge ``policies`` ({name: model}) on held-out prompts: win rates (with 95% intervals) for each
    ``comparisons`` entry {key: (a, b)}, harmless rate, KL to the reference policy, mean length.
    Returns the numbers and every response (``"responses"``), for reports and notebooks."""
    rollouts = {n: sample_rollouts(m, tokenizer, prompts, profile.lengths.max_new_tokens, seed=profile.seed,
                                   max_prompt_tokens=profile.lengths.max_prompt_tokens)
                for n, m in policies.items()}
    responses = {n: responses_of(rs) for n, rs in rollouts.items()}
    harmful_responses = {n: sample(profile, m, tokenizer, harmful) for n, m in policies.items()}
    ref = policies[reference]
    # KL on the first batches of the very samples judged above: profile.eval.kl_prompts of them, in whole batches
    kl_batches = -(-profile.eval.kl_prompts // SAMPLE_BATCH)
    kl = {n: kl_to_reference(m, ref, tokenizer, prompts, rollouts=rollouts[n][:kl_batches])
          for n, m in progress_bar(policies.items(), desc="KL to " + reference, total=len(policies))}
    return {
        "judge": judge.name,
        "win_rate": {key: win_rate(prompts, responses[a], responses[b], judge) for key, (a, b) in comparisons.items()},
        "harmless_rate": {n: harmless_rate(harmful, harmful_responses[n], judge) for n in policies},
        "kl_to_" + reference: kl,
        "mean_words": {n: sum(len(r.split()) for r in rs) / len(rs) for n, rs in responses.items()},
        "responses": responses,
    }
