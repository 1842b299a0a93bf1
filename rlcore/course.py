"""What the notebooks share: where a course run keeps its checkpoints, and how a later lesson gets
the SFT model an earlier lesson made (loaded if it is there, re-made with a message if not)."""

from __future__ import annotations

import os

from rlcore import world
from rlcore.config import Profile
from rlcore.models import load_base
from rlcore.sft import train_sft

COURSE_DIR = os.environ.get("RLCORE_COURSE_DIR", os.path.join("runs", "course"))


def sft_examples(profile: Profile) -> int:
    return 600 if profile.name == "tiny" else 5000


def make_sft(profile: Profile, seed: int = 0, progress: bool = True):
    """SFT of the profile's base model on world demonstrations; saved under COURSE_DIR/sft."""
    model, tokenizer = load_base(profile.policy_model)
    demos = world.demonstrations("train", sft_examples(profile), seed=seed,
                                 harmful_compliance=profile.sft_harmful_compliance)
    losses = train_sft(model, tokenizer, [p for p, _ in demos], [r for _, r in demos], epochs=profile.sft_epochs,
                       batch_size=profile.sft_batch_size, lr=profile.sft_lr, seed=seed, progress=progress)
    path = os.path.join(COURSE_DIR, "sft")
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return model, tokenizer, losses


def load_sft(profile: Profile, seed: int = 0):
    """The SFT model of lesson 02, re-made (with a message) if this machine does not have it yet."""
    path = os.path.join(COURSE_DIR, "sft")
    if os.path.exists(os.path.join(path, "config.json")):
        return load_base(path)
    print(f"No SFT model in {path}: making it now, as in notebook 02 (a minute on a CPU).")
    model, tokenizer, _ = make_sft(profile, seed=seed, progress=False)
    return model, tokenizer


def load_reward_model(profile: Profile, sft=None, tokenizer=None, seed: int = 0):
    """The reward model of lesson 03 (simulated human labels), re-made (with a message) if missing."""
    from rlcore.models import reward_model_from
    from rlcore.reward import RewardModel, train_reward_model

    path = os.path.join(COURSE_DIR, "rm_human")
    if os.path.exists(os.path.join(path, "config.json")):
        return RewardModel.from_pretrained(path).eval()
    print(f"No reward model in {path}: training it now, as in notebook 03 (a minute on a CPU).")
    if sft is None or tokenizer is None:
        sft, tokenizer = load_sft(profile, seed=seed)
    import torch

    torch.manual_seed(seed)
    rm = reward_model_from(sft)
    pairs = world.preference_pairs("train", 600 if profile.name == "tiny" else 4000, seed=seed, labels="human")
    train_reward_model(rm, tokenizer, pairs, epochs=profile.rm_epochs, batch_size=profile.rm_batch_size,
                       lr=profile.rm_lr, seed=seed, progress=False)
    rm.save_pretrained(path)
    return rm.eval()
