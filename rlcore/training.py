"""What every training loop here shares: shuffled minibatches, one optimizer step, a
:class:`TrainingRun` that adds checkpoints / resume, numerical guards and multi-process training, and
:class:`RLTrainer`, what the RL trainers (PPO, GRPO, REINFORCE / RLOO) share, none of it an algorithm."""

from __future__ import annotations

import functools
import json
import os
import random
import time
from typing import Callable, Iterator

import torch

from rlcore.checkpoint import latest_checkpoint, load_checkpoint, rng_state, save_checkpoint, set_rng_state
from rlcore.config import Lengths, env_name
from rlcore.precision import grad_scaler, scaled_step
from rlcore.progress import progress_bar
from rlcore.rollout import Experience, collect, require_pad_token, scorer


def shuffled_batches(n: int, batch_size: int, epochs: int, seed: int) -> Iterator[list[int]]:
    """Indices of each minibatch: every epoch a fresh seeded shuffle of range(n), cut into batches."""
    if n <= 0:
        raise ValueError("no examples to train on")
    if batch_size <= 0 or epochs <= 0:
        raise ValueError(f"batch_size and epochs must be > 0, got {batch_size} and {epochs}")
    rng = random.Random(seed)
    for _ in range(epochs):
        order = list(range(n))
        rng.shuffle(order)
        for i in range(0, n, batch_size):
            yield order[i:i + batch_size]


def n_batches(n: int, batch_size: int, epochs: int) -> int:
    return epochs * ((n + batch_size - 1) // batch_size)


def make_optimizer(model: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
    if not lr > 0:
        raise ValueError(f"learning rate must be > 0, got {lr}")
    params = [p for p in model.parameters() if p.requires_grad]
    # The fused AdamW (one kernel for all parameters) is several times faster than the default loop on
    # CPU and GPU alike; it needs floating-point parameters on one of those devices.
    fused = all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)
    return torch.optim.AdamW(params, lr=lr, fused=fused or None)


def optimizer_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, loss: torch.Tensor,
                   max_grad_norm: float = 1.0, scaler: torch.amp.GradScaler | None = None) -> int:
    """zero_grad -> backward -> clip the gradient norm -> step; with a float16 loss ``scaler``
    (:func:`rlcore.precision.grad_scaler`) the loss is scaled and a step whose gradients overflowed is skipped.
    Returns 1 if the step was skipped, else 0."""
    optimizer.zero_grad()
    if scaler is None:
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        return 0
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)  # true gradients, for the clip
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    return scaled_step(scaler, optimizer)


class NonFiniteError(RuntimeError):
    """A loss or statistic became NaN or infinite: the run stops before the bad update is applied."""


class OutOfMemory(RuntimeError):
    """The GPU ran out of memory in a stage: one line that names the stage, its sizes and what to lower."""


def guard_memory(stage: str, lower: tuple[str, ...] = (), raise_: tuple[str, ...] = (), smaller: str = ""):
    """Decorator for a stage ``fn(profile, ...)``: a CUDA out-of-memory error inside it becomes one
    :class:`OutOfMemory` line (the stage, the profile's sizes in use, the fields to lower or raise, or the model
    field ``smaller`` to point at a smaller model), as a NaN becomes a :class:`NonFiniteError`, instead of a long
    traceback from deep inside a model."""
    def decorate(fn):
        @functools.wraps(fn)
        def run(profile, *args, **kwargs):
            try:
                return fn(profile, *args, **kwargs)
            except torch.cuda.OutOfMemoryError:
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                fields = lower + raise_ + ((smaller,) if smaller else ())
                sizes = ", ".join(f"{f}={profile.get(f)}" for f in fields)
                advice = [f"lower {f}" for f in lower] + [f"raise {f}" for f in raise_] + (
                    [f"choose a smaller {smaller}"] if smaller else [])
                example = f" (e.g. {env_name(lower[0])}={max(1, profile.get(lower[0]) // 2)})" if lower else ""
                raise OutOfMemory(
                    f"out of GPU memory in the {stage} stage ({sizes}; dtype {profile.dtype} -> "
                    f"{str(profile.compute_dtype).removeprefix('torch.')}): {', or '.join(advice)}, in the profile "
                    f"or the environment{example}") from None
        return run
    return decorate


STEP_LOG = "RLCORE_STEP_LOG"  # a file: every finished training step appends {"run", "id", "time"} (the GPU check)


def log_step_time(run: str, run_id: int) -> None:
    """Append one line {"run", "id", "time"} to the file ``$RLCORE_STEP_LOG`` names, if it names one: how
    ``scripts/gpu_check.py`` times a step of each training loop (after the GPU's queued work is done)."""
    path = os.environ.get(STEP_LOG)
    if path:
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            torch.cuda.synchronize()
        with open(path, "a") as f:
            f.write(json.dumps({"run": run, "id": f"{os.getpid()}-{run_id}", "time": time.perf_counter()}) + "\n")


def world_size() -> int:
    """Number of processes of this run (``accelerate launch --num_processes N`` sets WORLD_SIZE)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


class TrainingRun:
    """Checkpoints, resume, numerical guards and multi-process training for one training loop.

    The loops of SFT, the reward model and DPO read like this::

        run = TrainingRun("SFT", {"model": model}, {"model": optimizer}, checkpoint_dir, every, resume)
        net = run.wrapped("model")                        # the model, or its DDP wrapper
        for idx in run.batches(n, batch_size, epochs, seed):  # skips steps done before a resume
            loss = ...                                    # computed with `net`
            run.update("model", loss)                     # guard -> backward -> clip -> step
            run.end_step(loss.item())                     # count, log, checkpoint every N steps

    * **Checkpoints** (``checkpoint_dir``, ``checkpoint_every`` steps) hold weights, optimizers, RNG
      states and ``extra_state()``; ``resume=True`` continues from the latest one and ends with the
      same weights as a run that was never interrupted (CPU, same seed, same thread count).
    * **Guards**: a non-finite loss stops the run *before* the update, naming the step and the
      statistic; the last checkpoint on disk stays the last good one.
    * **Several processes**: under ``accelerate launch`` (WORLD_SIZE > 1) each module is wrapped in
      DistributedDataParallel and every global batch is split between the processes; gradients are
      averaged, so a batch of B pairs on 2 processes updates the weights as B pairs on one.
    """

    def __init__(self, name: str, modules: dict, optimizers: dict, checkpoint_dir: str | None = None,
                 checkpoint_every: int = 0, resume: bool = False,
                 generators: dict[str, torch.Generator] | None = None,
                 extra_state: Callable[[], dict] | None = None, load_extra: Callable[[dict], None] | None = None,
                 hint: str = "lower the learning rate", distributed: bool = True):
        self.name, self.modules, self.optimizers = name, modules, optimizers
        self.generators = generators or {}
        self.extra_state, self.load_extra, self.hint = extra_state, load_extra, hint
        self.step, self.losses, self.last_checkpoint = 0, [], None
        # float16 training (a T4) scales its losses; elsewhere each scaler is disabled, every call the identity
        self.scalers = {k: grad_scaler(m) for k, m in modules.items()}
        self.skipped_steps = 0  # updates skipped because a float16 gradient overflowed
        self.rank, self.world = 0, world_size() if distributed else 1
        self._wrapped = dict(modules)
        if self.world > 1:
            from accelerate import Accelerator

            # joins the process group accelerate launch set up (gloo when there is no GPU)
            accelerator = Accelerator(cpu=not torch.cuda.is_available())
            if accelerator.num_processes != self.world:
                raise RuntimeError(f"WORLD_SIZE is {self.world} but accelerate set up {accelerator.num_processes} "
                                   "process(es); launch with `accelerate launch --multi_gpu --num_processes N`")
            self.rank = accelerator.process_index
            self._wrapped = {k: accelerator.prepare_model(m) for k, m in modules.items()}
        self.use_checkpoints(checkpoint_dir, checkpoint_every, resume)

    def use_checkpoints(self, checkpoint_dir: str | None, checkpoint_every: int, resume: bool) -> None:
        """Where and how often to write checkpoints; with ``resume``, load the latest one now."""
        if checkpoint_every < 0:
            raise ValueError(f"checkpoint_every must be >= 0, got {checkpoint_every}")
        if checkpoint_every and not checkpoint_dir:
            raise ValueError("checkpoint_every needs a checkpoint_dir to write to")
        self.checkpoint_dir, self.checkpoint_every = checkpoint_dir, checkpoint_every
        if resume:
            self.restore()

    def wrapped(self, name: str):
        """The module to call in the forward pass (its DDP wrapper when there are several processes)."""
        return self._wrapped[name]

    # -- the loop ---------------------------------------------------------------------------------
    def batches(self, n: int, batch_size: int, epochs: int, seed: int) -> Iterator[list[int]]:
        """This process's share of every global batch not yet done (see :func:`shuffled_batches`)."""
        if self.world > 1 and batch_size % self.world:
            raise ValueError(f"batch_size {batch_size} is not divisible by the {self.world} processes")
        for i, idx in enumerate(shuffled_batches(n, batch_size, epochs, seed)):
            if i < self.step:  # done before the checkpoint we resumed from
                continue
            yield idx[self.rank::self.world]

    def check_finite(self, **stats) -> None:
        """Stop with a clear message if any statistic is NaN or infinite."""
        for key, value in stats.items():
            v = value.detach().float() if torch.is_tensor(value) else torch.tensor(float(value))
            if not torch.isfinite(v).all():
                kept = f"the last good checkpoint is {self.last_checkpoint}" if self.last_checkpoint else \
                    "no checkpoint was written yet (set checkpoint_every to keep one)"
                raise NonFiniteError(f"{self.name} step {self.step}: {key} is {v.flatten()[0].item()}; "
                                     f"stopped before the update, {kept}; try to {self.hint}")

    def update(self, name: str, loss: torch.Tensor, max_grad_norm: float = 1.0) -> None:
        """Guard, then one optimizer step of module ``name`` on ``loss``."""
        self.check_finite(**{f"{name} loss" if len(self.modules) > 1 else "loss": loss})
        scaler = self.scalers[name]
        if scaler.is_enabled():  # float16: the loss scaled, an overflowing step skipped and counted
            self.skipped_steps += optimizer_step(self.modules[name], self.optimizers[name], loss, max_grad_norm, scaler)
        else:  # the update lesson 02's exercise writes: zero_grad, backward, clip, step
            optimizer_step(self.modules[name], self.optimizers[name], loss, max_grad_norm)

    def end_step(self, loss: float | None = None) -> None:
        self.step += 1
        log_step_time(self.name, id(self))
        if loss is not None:
            self.losses.append(loss)
        if self.checkpoint_every and self.step % self.checkpoint_every == 0:
            self.save()

    # -- checkpoints ------------------------------------------------------------------------------
    def save(self) -> str | None:
        if self.rank != 0:  # every process holds the same weights; one writes them
            return None
        for k, m in self.modules.items():  # never let a checkpoint hold broken weights
            if not all(torch.isfinite(p).all() for p in m.parameters()):
                raise NonFiniteError(f"{self.name} step {self.step}: the weights of {k} are not finite; "
                                     f"the last good checkpoint is {self.last_checkpoint}; try to {self.hint}")
        state = {
            "name": self.name, "step": self.step, "losses": list(self.losses),
            "modules": {k: m.state_dict() for k, m in self.modules.items()},
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "scalers": {k: s.state_dict() for k, s in self.scalers.items()}, "skipped_steps": self.skipped_steps,
            "rng": rng_state(self.generators),
            "extra": self.extra_state() if self.extra_state else {},
        }
        self.last_checkpoint = save_checkpoint(self.checkpoint_dir, self.step, state)
        return self.last_checkpoint

    def restore(self) -> bool:
        """Load the latest checkpoint of ``checkpoint_dir`` if there is one; returns whether it did."""
        path = latest_checkpoint(self.checkpoint_dir)
        if path is None:
            return False
        state = load_checkpoint(path)
        if state.get("name") != self.name:
            raise ValueError(f"{path} is a checkpoint of {state.get('name')!r}, not of {self.name!r}; "
                             "use a separate checkpoint_dir per stage")
        for k, m in self.modules.items():
            m.load_state_dict(state["modules"][k])
        for k, o in self.optimizers.items():
            o.load_state_dict(state["optimizers"][k])
        for k, scaler in self.scalers.items():
            if state.get("scalers", {}).get(k):  # a disabled scaler's state is empty
                scaler.load_state_dict(state["scalers"][k])
        self.skipped_steps = state.get("skipped_steps", 0)
        set_rng_state(state["rng"], self.generators)
        if self.load_extra:
            self.load_extra(state["extra"])
        self.step, self.losses, self.last_checkpoint = state["step"], list(state["losses"]), path
        return True


def train_steps(trainer, prompt_batches, steps: int, desc: str, progress: bool = True, callback=None,
                checkpoint_dir: str | None = None, checkpoint_every: int = 0, resume: bool = False) -> list[dict]:
    """The outer loop of an RL trainer (``trainer.step(prompts) -> stats``, with ``trainer.run``, ``.iteration``
    and ``.history``): up to ``steps`` iterations in all, one batch of prompts each, a progress bar, the
    callback; checkpoints every ``checkpoint_every`` steps, and on ``resume`` the prompt batches already used
    are skipped. Returns every step's stats."""
    trainer.run.use_checkpoints(checkpoint_dir, checkpoint_every, resume)
    batches = iter(prompt_batches)
    for _ in range(trainer.iteration):  # batches used before the checkpoint
        next(batches)
    bar = progress_bar(total=steps, initial=trainer.iteration, desc=desc, disable=not progress)
    while trainer.iteration < steps:
        stats = trainer.step(next(batches))
        bar.update(1)
        bar.set_postfix(score=f"{stats['score']:.2f}", kl=f"{stats['kl']:.2f}", refresh=False)
        if callback is not None:
            callback(stats)
    bar.close()
    return list(trainer.history)


class RLTrainer:
    """What every RL trainer shares, none of it the algorithm: the policy and what it trains beside it (PPO's value
    model), each with its optimizer; the frozen reference and reward (a reward model, read as it was trained, or a
    reward function); the seeded sampling generator; guards and checkpoints (:class:`TrainingRun`); one batch of
    experience (:meth:`experience`); the outer loop (:meth:`train`). A subclass writes ``step(prompts) -> stats``
    and ends it with :meth:`finish`.

    ``trained``: the other models this trainer optimises, ``{name: (model, learning rate)}``; each gets an optimizer,
    ``self.optimizers[name]``, beside the policy's (``self.optimizer``)."""

    hint = "lower the learning rate or raise the KL coefficient"  # what a NaN's one-line error suggests

    def __init__(self, policy, ref_policy, tokenizer, config, lengths: Lengths = Lengths(), seed: int = 0,
                 reward_model=None, reward_fn=None, trained: dict | None = None):
        require_pad_token(tokenizer)
        if tokenizer.eos_token_id is None:
            raise ValueError("the tokenizer has no EOS token; responses could never end")
        self.policy, self.ref_policy, self.tokenizer, self.config, self.lengths = (policy, ref_policy, tokenizer,
                                                                                  config, lengths)
        # score(rollout) -> (B,): the reward model reads the text as it was trained (rlcore.rollout.scorer)
        self.score = scorer(tokenizer, reward_model, reward_fn, lengths)
        for frozen in (ref_policy, reward_model):
            if frozen is not None:
                frozen.eval().requires_grad_(False)
        models = {"policy": (policy, config.lr), **(trained or {})}
        self.optimizers = {name: make_optimizer(model, lr) for name, (model, lr) in models.items()}
        self.optimizer = self.optimizers["policy"]
        self.generator = torch.Generator().manual_seed(seed)
        self.iteration, self.history, self.last_experience = 0, [], None
        self.run = TrainingRun(self.name, {name: model for name, (model, _) in models.items()}, self.optimizers,
                               generators={"rollout": self.generator}, extra_state=self._extra_state,
                               load_extra=self._load_extra, distributed=False, hint=self.hint)

    @property
    def name(self) -> str:
        return type(self).__name__.removesuffix("Trainer").upper()

    def experience(self, prompts: list[str], group_size: int = 1, top_k: int = 0) -> Experience:
        """One batch of experience (rlcore.rollout.collect) from the policy in eval mode (no dropout: the same
        forward pass for old and new log-probs), seeded from the trainer's generator: ``group_size`` samples of each
        prompt, group by group, cut after the first EOS, their log-probs under the policy and the reference, scored."""
        if len(prompts) != self.config.batch_size:
            raise ValueError(f"step() got {len(prompts)} prompts; the config's batch_size is {self.config.batch_size}")
        for model in self.run.modules.values():
            model.eval()
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=self.generator))
        return collect(self.policy, self.ref_policy, self.tokenizer, prompts, self.score, self.lengths.max_new_tokens,
                       self.lengths.max_prompt_tokens, temperature=self.config.temperature, top_k=top_k, seed=seed,
                       group_size=group_size)

    def minibatches(self, n: int, size: int, epochs: int = 1):
        """Indices of each minibatch of ``size`` rows: every epoch a fresh shuffle of range(n), seeded from the
        trainer's generator (so a resumed run draws what an uninterrupted one would)."""
        for _ in range(epochs):
            order = torch.randperm(n, generator=self.generator)
            for start in range(0, n, size):
                yield order[start:start + size]

    def finish(self, stats: dict, experience: Experience) -> dict:
        """End an iteration: count it, keep its statistics (with the float16 updates skipped so far) and experience,
        and write a checkpoint when one is due. Returns ``stats``."""
        stats["skipped_steps"] = self.run.skipped_steps  # float16 updates that overflowed (rlcore.precision)
        self.iteration += 1
        self.history.append(stats)
        self.last_experience = experience
        self.run.end_step()
        return stats

    def _extra_state(self) -> dict:
        return {"iteration": self.iteration, "history": list(self.history)}

    def _load_extra(self, extra: dict) -> None:
        self.iteration, self.history = extra["iteration"], list(extra["history"])

    def train(self, prompt_batches, steps: int, progress: bool = True, callback=None, checkpoint_dir=None,
              checkpoint_every: int = 0, resume: bool = False) -> list[dict]:
        """Up to ``steps`` iterations in all, one batch of prompts each (:func:`train_steps`). With
        ``checkpoint_dir`` and ``checkpoint_every`` a checkpoint (the trained models, their optimizers, RNG states,
        the history) is written every N steps; ``resume=True`` continues from the latest one."""
        return train_steps(self, prompt_batches, steps, self.name, progress, callback, checkpoint_dir,
                           checkpoint_every, resume)
