"""The Trainer: one step at a time over the cached dataset, with EMA, mixed precision, events, pause/stop,
checkpoints and exact resume. It knows nothing of the window or the terminal: callers pass `on_event` and a
`Control` (StyleGAN3's progress_fn/abort_fn). The same code runs alone or under `torchrun` (one process per
device, DistributedDataParallel): every rank trains on its shard of each batch, rank 0 alone writes.

A run also takes care of itself, between steps:
- learning-rate decay (`lr_decay`), applied from the step count so a resumed run follows the same curve;
- rollback: NaN/inf losses, or a loss beyond DIVERGENCE x its recent median, send the run back to its last
  complete checkpoint with half the learning rate and a new seed; after MAX_ROLLBACKS it gives up with a message;
- KID on ImageNet features (engine/features.py) every `kid_every` steps, the GAN families' checkpoint measure;
- early stopping once the held-out measure has not improved for `early_stop_patience` checkpoints;
- fine-tuning (`from_model`, `train --from`): a new run starts from another model of the same family.
Each of these is reported as an event and written to the run's log.jsonl.
"""
from __future__ import annotations

import hashlib
import math
import os
import statistics
import time
import uuid
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import torch

from . import checkpoints, devices, files
from .control import Control
from .dataset import dataset_stats, load_dataset
from .events import (CheckpointSaved, Message, Paused, QualityMeasured, RunFinished, RunStarted, SamplesReady,
                     Snapshot, StepDone)
from .models import default_family, get_family
from .models.base import LABELS, unwrapped
from .project import Project
from .sampling import grid, to_uint8

SCHEMA_VERSION = 1
SAMPLE_SEED = 1234  # the fixed seeds of the progress grid
KID_SEED = 4321  # the fixed latents of every KID measurement, so successive values differ by the model only
KID_SAMPLES = 512  # generated images per KID (Binkowski et al. use 1,000s; 500 keeps a CPU measurement ~10 s)
KID_REAL = 2048  # real images whose features are cached per dataset and size
MAX_ROLLBACKS = 3  # tries before a diverging run gives up
DIVERGENCE = 50.0  # a logged loss beyond this many times its recent median (and beyond 50) counts as divergence
LR_FLOOR = 0.1  # cosine decay ends at this fraction of the learning rate
# fields whose 0 means "off", not "the preset's", when complete_config fills a config
_ZERO_IS_A_CHOICE = {"minutes", "seed", "r1", "ada_target", "kid_every", "early_stop_patience", "num_classes"}


@dataclass
class TrainConfig:
    family: str = ""  # a name from engine.models.FAMILIES; "" = the default for the size (models.default_family)
    size: int = 0  # training resolution; 0 = the project's dataset size
    steps: int = 0  # stop after this many steps in total; 0 = the preset's
    minutes: float = 0.0  # also stop after this many minutes of this session; 0 = no limit
    batch: int = 0  # images per step over all devices; 0 = the preset's
    lr: float = 0.0  # Adam learning rate; 0 = the preset's
    latent_dim: int = 0  # size of the latent vector; 0 = the preset's (sized to the data)
    width: int = 0  # channel multiplier of the networks; 0 = the preset's (sized to data and device)
    beta: float = 0.0  # VAEs: weight of the KL term; 0 = the family's (1, or 4 for the conditional VAE)
    num_classes: int = 0  # conditional families: number of labels (sub-folders); set from the dataset
    flip: bool = False  # horizontal flips as augmentation (off: many artworks are not mirror-symmetric)
    checkpoint_every: int = 500  # steps between checkpoints
    checkpoint_minutes: float = 5.0  # and at least this often in wall time
    keep_checkpoints: int = 3  # newest checkpoints kept, besides the best one
    sample_every: int = 100  # steps between progress grids (and explorer snapshots)
    log_every: int = 10  # steps between loss reports
    device: str = "auto"  # auto, cpu, cuda, mps
    precision: str = "auto"  # auto (bf16/fp16 where it pays), fp32, bf16, fp16
    seed: int = 0  # fixes initial weights, batches, noise and augmentation
    loss: str = ""  # GANs that take it (fastgan): "bce", "hinge" or "wgan-gp"; "" = the family's preset
    spectral_norm: bool | None = None  # spectral normalisation of the discriminator; None = the family's preset
    r1: float = 0.0  # R1 penalty weight gamma on real images (Mescheder et al. 2018); 0 = off
    ada_target: float = 0.6  # fastgan: ADA's target for E[sign(D(real))] (Karras et al. 2020); 0 = fixed DiffAugment
    lr_decay: str = "none"  # "none", or "cosine": down to LR_FLOOR of lr at the last step
    early_stop_patience: int | None = None  # checkpoints without a better measure before stopping; 0 = never;
    #                                         None = 5 for families judged on held-out images (VAEs), else 0
    kid_every: int | None = None  # steps between ImageNet-feature KIDs; 0 = never; None = 2,000 on a CPU, else 5,000
    from_model: str = ""  # train --from: the model this run was fine-tuned from; "" = trained from scratch
    schema_version: int = SCHEMA_VERSION

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        """Read a saved config; fields added since it was written take their defaults."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def suggest_config(project: Project, family: str | None = None, device: str = "auto", size: int | None = None,
                   **overrides) -> TrainConfig:
    """A complete config for this project: the family's preset sized to the dataset, resolution and device."""
    size = size or project.dataset.size
    family = family or default_family(size)
    kind = devices.pick_device(device).type
    n_images = dataset_stats(project)["count"]
    preset = get_family(family).preset(n_images, size, kind)
    steps = 20000 if kind == "cuda" else 3000
    cfg = TrainConfig(family=family, size=size, steps=steps, device=device, **preset)
    return settle(replace(cfg, **{k: v for k, v in overrides.items() if v is not None}))


def complete_config(project: Project, cfg: TrainConfig) -> TrainConfig:
    """Fill every 0, "" or None ("the preset's") in cfg from suggest_config."""
    suggested = suggest_config(project, cfg.family or None, cfg.device, cfg.size or None)
    return replace(cfg, **{f.name: getattr(suggested, f.name) for f in fields(cfg)
                           if getattr(cfg, f.name) is None
                           or (_unset(getattr(cfg, f.name)) and f.name not in _ZERO_IS_A_CHOICE)})


def settle(cfg: TrainConfig) -> TrainConfig:
    """Give the choices left to the family or the device (None, "") their values, so config.json records them."""
    family = get_family(cfg.family)
    learner = family.Learner
    kind = devices.pick_device(cfg.device).type
    choices = getattr(family, "preset_choices", {})
    options = getattr(learner, "options", frozenset())
    for name, flag, used in (("loss", "--loss", cfg.loss), ("spectral_norm", "--spectral-norm", cfg.spectral_norm),
                             ("r1", "--r1", cfg.r1 or None)):
        if used is not None and used != "" and name not in options and used != choices.get(name):
            raise ValueError(f"{family.info.title} does not take {flag}; FastGAN does (--model fastgan)")
    if cfg.lr_decay not in ("none", "cosine"):
        raise ValueError(f"unknown learning-rate decay {cfg.lr_decay!r}; choose none or cosine")
    return replace(
        cfg,
        loss=cfg.loss or choices.get("loss", ""),
        beta=cfg.beta or choices.get("beta", 1.0),
        spectral_norm=choices.get("spectral_norm") if cfg.spectral_norm is None else cfg.spectral_norm,
        early_stop_patience=(5 if getattr(learner, "uses_holdout", False) else 0)
        if cfg.early_stop_patience is None else cfg.early_stop_patience,
        kid_every=(2000 if kind == "cpu" else 5000) if cfg.kid_every is None else cfg.kid_every)


def _unset(value) -> bool:
    return value is None or value == "" or (type(value) in (int, float) and value == 0)


def resumable_run(project: Project, family: str | None = None, steps: int = 0) -> Path | None:
    """The newest run, if it is of `family` (when given) and unfinished, or finished short of `steps`.
    A run that stopped early (its measure had stopped improving) is finished whatever `steps` says."""
    runs = project.runs()
    if not runs:
        return None
    run = runs[-1]
    status = files.read_json(run / "status.json", default={})
    config = files.read_json(run / "config.json", default={})
    if family is not None and config.get("family") != family:
        return None
    if status.get("state") == "finished" and (steps <= status.get("step", 0) or status.get("reason") == "early_stop"):
        return None
    return run


def adopt_source(cfg: TrainConfig) -> TrainConfig:
    """cfg for fine-tuning from `cfg.from_model`: the source's family and architecture (size, latent_dim, width),
    which must match whatever cfg already asks for. Raises FileRefused (unreadable source) or ValueError."""
    from .model import open_model  # model.py imports this module

    source = open_model(cfg.from_model)
    name = Path(cfg.from_model).name
    if cfg.family and cfg.family != source.family:
        raise ValueError(f"{name} holds a {source.family} model: fine-tuning continues a model of the same family, "
                         f"not {cfg.family} (leave --model out, or train from scratch)")
    src = source.cfg
    described = f"{name} is a {src.size} px {source.family} (latent_dim {src.latent_dim}, width {src.width})"
    for field, flag in (("size", "--size"), ("latent_dim", "--latent-dim"), ("width", "--width")):
        asked = getattr(cfg, field)
        if asked and asked != getattr(src, field):
            raise ValueError(f"{described}; this run asks for {field.replace('_', ' ')} {asked}. Fine-tuning keeps "
                             f"the model's shape: leave {flag} out (or set it to {getattr(src, field)}), "
                             f"or train from scratch without --from")
    return replace(cfg, family=source.family, size=src.size, latent_dim=src.latent_dim, width=src.width,
                   num_classes=src.num_classes,
                   spectral_norm=src.spectral_norm if cfg.spectral_norm is None else cfg.spectral_norm,
                   from_model=str(Path(cfg.from_model).resolve()))


class Trainer:
    """Owns one run: call `run()` to train to the end, or `step()` yourself (tests, benchmarks)."""

    def __init__(self, project: Project, cfg: TrainConfig, on_event=None, control: Control | None = None,
                 run_dir: Path | None = None):
        self.project = project
        self.on_event = on_event or (lambda event: None)
        self.control = control or Control()
        self.rank, self.world = _distributed_setup(cfg.device)
        self.is_main = self.rank == 0
        self.device = _rank_device(cfg.device, self.rank)
        self.amp_dtype = devices.autocast_dtype(self.device, cfg.precision)

        if not cfg.family:
            cfg = replace(cfg, family=default_family(cfg.size or project.dataset.size))
        cfg = settle(cfg)
        data = load_dataset(project, cfg.size)
        family = get_family(cfg.family)
        if len(data.hashes) == 0:
            raise ValueError("the dataset is empty: add images first")
        self.label_names = list(data.label_names)
        if LABELS in family.info.capabilities:
            if len(self.label_names) < 2 or (data.labels < 0).any():
                raise ValueError(f"{family.info.title} needs images sorted into at least two labelled sub-folders")
            cfg = replace(cfg, num_classes=len(self.label_names))
        self.judged_on_holdout = getattr(family.Learner, "uses_holdout", False)
        holdout = torch.from_numpy(data.split.copy())
        if self.judged_on_holdout and holdout.all():
            holdout[:] = False  # too few images to hold any out
        images = torch.from_numpy(data.rgb())  # N x S x S x 3 uint8, composited onto the project's background
        labels = torch.from_numpy(data.labels.astype("int64"))
        keep = ~holdout if self.judged_on_holdout else torch.ones_like(holdout)
        self.train_images, self.train_labels = images[keep].to(self.device), labels[keep].to(self.device)
        self.holdout = _to_float(images[holdout][:512].to(self.device)) if holdout.any() else None
        self.holdout_labels = labels[holdout][:512].to(self.device) if holdout.any() else None
        self.dataset_hash = hashlib.sha1(("|".join(data.hashes) + f"@{cfg.size}").encode()).hexdigest()[:16]
        pick = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))[:KID_REAL].sort().values
        self._real_for_kid = lambda: data.rgb(pick.numpy())  # read only when the features are not cached yet

        self.cfg = cfg
        self.family = family
        self.learner = self._new_learner(cfg.seed)
        self.gen = torch.Generator(self.device).manual_seed(cfg.seed + 1)  # batches, noise, augmentation
        self.fixed_latents = torch.from_numpy(_fixed_latents(cfg.latent_dim)).to(self.device)
        # conditional grids show each label in turn, one row of six per label
        self.fixed_labels = (torch.arange(36, device=self.device) // 6 % cfg.num_classes) if cfg.num_classes else None
        self.step_count = 0
        self.best_quality: float | None = None
        self.best_step: int | None = None
        self.best_measure: str | None = None  # what best_quality measures (engine.models.base.Learner.measure)
        self.since_best = 0  # checkpoints with a quality measure but no improvement
        self.saved_step = -1
        self.run_dir = run_dir
        self.run_uid = uuid.uuid4().hex[:8]
        self.lr_scale = 1.0  # halved by every rollback
        self.rollbacks = 0
        self.kid: tuple[int, float] | None = None  # (step, value) of the newest KID
        self._real_features = None
        self._nonfinite = torch.zeros((), dtype=torch.bool, device=self.device)
        self._history: dict[str, list[float]] = {}  # recent logged losses, for the divergence test

    def _new_learner(self, seed: int):
        torch.manual_seed(seed)  # initial weights
        learner = self.family.Learner(self.cfg, self.device, distributed=self.world > 1)
        if self.device.type == "cuda":
            learner.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        self.base_lrs = {name: [group["lr"] for group in opt.param_groups] for name, opt in learner.opts.items()}
        return learner

    # --- the run ----------------------------------------------------------------------------------------------
    def start(self, resume_from: Path | None) -> None:
        """Create or reopen the run folder; restore the newest complete checkpoint when resuming."""
        resumed = resume_from is not None
        if self.is_main and self.run_dir is None:
            self.run_dir = self.project.new_run_dir(f"{self.cfg.family}-{self.cfg.size}")
        self.run_dir = Path(_broadcast(str(self.run_dir), self.world))
        config_path = self.run_dir / "config.json"
        if self.is_main:
            saved = files.read_json(config_path, default={})
            self.run_uid = saved.get("run_uid", self.run_uid)
            files.write_json(config_path, dict(asdict(self.cfg), run_uid=self.run_uid,
                                               dataset_hash=self.dataset_hash))
            files.write_json(self.run_dir / "status.json", {"state": "running"})
        self.run_uid = _broadcast(self.run_uid, self.world)
        if resumed:
            record = self._restore(resume_from)
            self._restore_best(record)
            self.lr_scale = record.get("lr_scale", 1.0)
            self.rollbacks = record.get("rollbacks", 0)
            if record.get("dataset_hash") != self.dataset_hash:
                self._say("the dataset changed since this run started; training goes on with the new images",
                          "warning")
        elif self.cfg.from_model:
            self._start_from_source(self.cfg.from_model)
        self._emit(RunStarted(self.run_dir, self.step_count, self.cfg.steps, resumed, str(self.device),
                              asdict(self.cfg)))

    def _restore(self, checkpoint: Path) -> dict:
        """Weights, optimizers, learner state, RNG and step from a checkpoint of this run."""
        record, tensors = checkpoints.read(checkpoint, self.device)
        if record.get("family") != self.cfg.family:
            raise files.FileRefused(f"{Path(checkpoint).name} holds a {record.get('family')} model, "
                                    f"not {self.cfg.family}")
        rng = checkpoints.restore(self.learner, record, tensors)
        self.learner.load_extra_state(record.get("extra", {}))
        self.gen.set_state(rng["train"].cpu())
        self.step_count = record["step"]
        return record

    def _restore_best(self, record: dict) -> None:
        self.best_quality, self.best_step = record.get("best_quality"), record.get("best_step")
        self.since_best = record.get("since_best", 0)
        self.best_measure = record.get("measure")

    def _start_from_source(self, path: str) -> None:
        """Fine-tuning: the sampled network (and its EMA) from the source's EMA weights; the other networks (a
        discriminator) from the source's checkpoint when it is one and they fit, else from scratch."""
        from .model import open_model

        source = open_model(path, device=str(self.device))
        ema = {k: v.to(self.device) for k, v in source.net.state_dict().items()}
        self.learner.ema.load_state_dict(ema)
        others = {}
        checkpoint = _checkpoint_of(Path(path))
        if checkpoint is not None:
            _, tensors = checkpoints.read(checkpoint, self.device)
            others = tensors
        fresh = []
        for name, net in self.learner.nets.items():
            module = unwrapped(net)
            if module.state_dict().keys() == ema.keys():
                module.load_state_dict(ema)
                continue
            saved = {k[len(f"net.{name}."):]: v for k, v in others.items() if k.startswith(f"net.{name}.")}
            mine = module.state_dict()
            if saved.keys() == mine.keys() and all(saved[k].shape == mine[k].shape for k in mine):
                module.load_state_dict(saved)
            else:
                fresh.append(name)
        self._say(f"fine-tuning {Path(path).name} (step {source.step})"
                  + (f"; {', '.join(fresh)} from scratch" if fresh else ""))

    def step(self) -> dict[str, torch.Tensor]:
        """One optimisation step on a fresh batch; returns the losses as tensors (no host sync)."""
        self._set_learning_rate()
        n = self.cfg.batch // self.world
        idx = torch.randint(len(self.train_images), (n * self.world,), generator=self.gen, device=self.device)
        mine = idx[self.rank * n:(self.rank + 1) * n]
        real = _to_float(self.train_images[mine])
        labels = self.train_labels[mine] if self.cfg.num_classes else None
        if self.device.type == "cuda":
            real = real.contiguous(memory_format=torch.channels_last)
        while True:
            state = self.gen.get_state() if self.device.type == "cuda" else None
            try:
                self.learner.updates = self.step_count  # drives the EMA warm-up; restored with the step
                losses = self.learner.step(real, labels, self.gen, self.amp_dtype, (self.rank, self.world))
                break
            except torch.cuda.OutOfMemoryError:
                if self.learner.micro_batches >= real.shape[0]:
                    raise
                for opt in self.learner.opts.values():
                    opt.zero_grad(set_to_none=True)
                torch.cuda.empty_cache()
                self.gen.set_state(state)
                self.learner.micro_batches *= 2
                self._say(f"the GPU ran out of memory: the batch is now split in {self.learner.micro_batches} "
                          "parts (same effective batch, slower)", "warning")
        self.step_count += 1
        return losses

    def _set_learning_rate(self) -> None:
        """lr = the optimizer's initial lr x decay(step) x rollback scale; left alone when both are 1."""
        factor = self.lr_scale
        if self.cfg.lr_decay == "cosine":
            progress = min(1.0, self.step_count / max(1, self.cfg.steps - 1))  # the last step gets LR_FLOOR
            factor *= LR_FLOOR + (1 - LR_FLOOR) * 0.5 * (1 + math.cos(math.pi * progress))
        if factor == 1.0 and self.cfg.lr_decay == "none":
            return
        for name, opt in self.learner.opts.items():
            for group, base in zip(opt.param_groups, self.base_lrs[name]):
                group["lr"] = base * factor

    def run(self, resume_from: Path | None = None) -> RunFinished:
        self.start(resume_from)
        cfg = self.cfg
        started = last_log = last_ckpt = time.monotonic()
        steps_at_start = last_log_step = self.step_count
        images_per_s = 0.0
        reason, error = "done", None
        checkpoint = None
        try:
            while self.step_count < cfg.steps:
                if self.control.paused:
                    self._emit(Paused(self.step_count))
                    paused_at = time.monotonic()
                    self.control.wait_if_paused()
                    started += time.monotonic() - paused_at  # a pause spends none of the run's minutes
                if self.control.should_stop():
                    reason = "stopped"
                    break
                if cfg.minutes and time.monotonic() - started >= cfg.minutes * 60:
                    reason = "time"
                    break
                self.control.yield_to_renders()
                losses = self.step()
                self._nonfinite |= ~torch.isfinite(torch.stack([v.detach().float().sum() for v in losses.values()])
                                                   ).all()
                now = time.monotonic()
                kid_now = bool(cfg.kid_every) and self.step_count % cfg.kid_every == 0
                checkpoint_now = (self.step_count % cfg.checkpoint_every == 0 or kid_now
                                  or now - last_ckpt >= cfg.checkpoint_minutes * 60)
                if self.step_count % cfg.log_every == 0 or self.step_count == cfg.steps or checkpoint_now:
                    values = {k: float(v) for k, v in losses.items()}  # the one host sync, only when logging
                    trouble = self._trouble(values)
                    if trouble:
                        error = self._roll_back(trouble)
                        if error:
                            reason = "failed"
                            break
                        last_log, last_log_step = time.monotonic(), self.step_count
                        continue
                    if self.step_count % cfg.log_every == 0 or self.step_count == cfg.steps:
                        images_per_s = (self.step_count - last_log_step) * cfg.batch / max(now - last_log, 1e-9)
                        last_log, last_log_step = now, self.step_count
                        self._log(values, images_per_s, started, steps_at_start)
                if self.step_count % cfg.sample_every == 0:
                    self._samples()
                if kid_now and self.learner.can_sample():
                    self._measure_kid()
                if checkpoint_now:
                    checkpoint = self._checkpoint()
                    last_ckpt = time.monotonic()
                    if self._patience_ran_out():
                        reason = "early_stop"
                        break
            if reason != "failed":
                if self.step_count % cfg.sample_every:
                    self._samples()
                if self.saved_step != self.step_count:
                    checkpoint = self._checkpoint()
        except OSError as e:  # a checkpoint could not be written: the previous one is whole; end cleanly
            self._say(f"could not save a checkpoint ({e.strerror or e}); the previous checkpoint is kept", "error")
            reason, checkpoint = "failed", checkpoints.latest(self.run_dir)
            return self._finish(RunFinished(self.step_count, reason, checkpoint, error=str(e)))
        if reason == "failed":
            state, checkpoint = "failed", checkpoints.latest(self.run_dir)
        else:
            state = "finished" if self.step_count >= cfg.steps or reason == "early_stop" else "stopped"
        if self.is_main:
            files.write_json(self.run_dir / "status.json", {"state": state, "step": self.step_count,
                                                            "reason": reason})
        return self._finish(RunFinished(self.step_count, reason, checkpoint, error=error))

    # --- taking care of itself --------------------------------------------------------------------------------
    def _trouble(self, values: dict[str, float]) -> str | None:
        """Why the run must go back, or None: a NaN/inf loss since the last look, or a loss that exploded.
        Every rank takes the same decision (any rank's trouble is everyone's)."""
        trouble = None
        if bool(self._nonfinite) or not all(math.isfinite(v) for v in values.values()):
            trouble = "NaN or infinite losses"
        else:
            for key, value in values.items():
                recent = self._history.setdefault(key, [])
                if len(recent) >= 5:
                    median = statistics.median(abs(v) for v in recent)
                    if abs(value) > DIVERGENCE * max(median, 1.0):
                        trouble = f"the {key} loss exploded ({value:.3g}, recent median {median:.3g})"
                        break
            for key, value in values.items():
                self._history.setdefault(key, []).append(value)
                del self._history[key][:-20]
        self._nonfinite.zero_()
        if self.world > 1:
            import torch.distributed as dist

            flag = torch.tensor(0 if trouble is None else 1, device=self.device)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            if flag.item() and trouble is None:
                trouble = "trouble on another device"
        return trouble

    def _roll_back(self, trouble: str) -> str | None:
        """Go back to the last complete checkpoint (or to fresh weights before the first) with half the learning
        rate and a new seed. Returns None, or the error that ends the run once MAX_ROLLBACKS were not enough."""
        at = self.step_count
        self.rollbacks += 1
        if self.rollbacks > MAX_ROLLBACKS:
            last = checkpoints.latest(self.run_dir)
            text = (f"training failed: {trouble} at step {at}, even after {MAX_ROLLBACKS} rollbacks with a lower "
                    f"learning rate each time; gave up. The last good checkpoint "
                    + (f"is step {checkpoints.step_of(last)}" if last else "does not exist")
                    + ". Try a smaller --lr, another --loss, or more images.")
            self._note({"step": at, "event": "gave_up", "reason": trouble})
            self._say(text, "error")
            return text
        self.lr_scale *= 0.5
        seed = self.cfg.seed + 1 + 7919 * self.rollbacks
        last = checkpoints.latest(self.run_dir)
        if last is not None:
            self._restore_best(self._restore(last))
        else:
            self.learner = self._new_learner(self.cfg.seed + 7919 * self.rollbacks)
            self.step_count = 0
            if self.cfg.from_model:
                self._start_from_source(self.cfg.from_model)
        self.gen.manual_seed(seed)
        self.saved_step = self.step_count
        self._history.clear()
        self._nonfinite.zero_()
        lr = self.base_lrs[next(iter(self.base_lrs))][0] * self.lr_scale
        self._note({"step": at, "event": "rollback", "reason": trouble, "to_step": self.step_count,
                    "lr_scale": self.lr_scale, "seed": seed})
        self._say(f"{trouble} at step {at}: went back to step {self.step_count} with half the learning rate "
                  f"(now {lr:.3g}) and a new seed (rollback {self.rollbacks} of {MAX_ROLLBACKS})", "warning")
        return None

    def _measure_kid(self) -> None:
        """KID between KID_SAMPLES EMA samples (fixed latents) and the cached features of real images."""
        if not self.is_main:
            return
        from . import features
        from .metrics import kid

        if self._real_features is None:
            path = self.project.dataset_dir / f"features-{self.cfg.size}.safetensors"
            self._real_features = features.cached_features(path, self.dataset_hash, self._real_for_kid,
                                                           self.device)
        sampler = self.learner.sampler()
        gen = torch.Generator(self.device).manual_seed(KID_SEED)
        feats = []
        with torch.no_grad():
            for start in range(0, KID_SAMPLES, 64):
                z = torch.randn(64, self.cfg.latent_dim, generator=gen, device=self.device)
                y = (torch.arange(start, start + 64, device=self.device) % self.cfg.num_classes
                     if self.cfg.num_classes else None)
                feats.append(features.image_features(sampler(z, y).float().clamp(-1, 1)))
        value = kid(torch.cat(feats), self._real_features, subset_size=500)
        self.kid = (self.step_count, value)
        self._note({"step": self.step_count, "kid": value})
        self._emit(QualityMeasured(self.step_count, value))

    def _patience_ran_out(self) -> bool:
        patience = self.cfg.early_stop_patience
        stop = bool(patience) and self.since_best >= patience
        stop = _broadcast(stop, self.world)
        if stop:
            measure = self._measure_name()
            self._note({"step": self.step_count, "event": "early_stop", "best_step": self.best_step,
                        "best_quality": self.best_quality})
            self._say(f"stopping early: the {measure} has not improved for {patience} checkpoints "
                      f"(best {self.best_quality:.4g} at step {self.best_step}, whose checkpoint is kept)")
        return stop

    # --- reports ----------------------------------------------------------------------------------------------
    def _log(self, values, images_per_s, started, steps_at_start):
        done_here = self.step_count - steps_at_start
        rate = done_here / max(time.monotonic() - started, 1e-9)
        eta = (self.cfg.steps - self.step_count) / rate if rate > 0 else float("inf")
        if self.cfg.minutes:
            eta = min(eta, self.cfg.minutes * 60 - (time.monotonic() - started))
        lr = self.learner.opts[next(iter(self.learner.opts))].param_groups[0]["lr"]
        self._note({"step": self.step_count, **values, "images_per_s": round(images_per_s, 1), "lr": lr})
        self._emit(StepDone(self.step_count, self.cfg.steps, values, images_per_s, max(0.0, eta), lr))
        for text, level in self.learner.drain_messages():
            self._say(text, level)

    def _note(self, row: dict) -> None:
        """One line of the run's log.jsonl (rank 0, once the run folder exists)."""
        if self.is_main and self.run_dir is not None:
            files.append_jsonl(self.run_dir / "log.jsonl", row)

    @torch.no_grad()
    def _samples(self):
        if not self.is_main:
            return
        ema = self.learner.sampler()
        images = to_uint8(ema(self.fixed_latents, self.fixed_labels))
        picture = grid(images, columns=6)
        path = self.run_dir / "samples" / f"step-{self.step_count:06d}.png"
        files.save_png(path, picture)
        self._emit(SamplesReady(self.step_count, picture, path))
        self._emit(Snapshot(self.step_count, {k: v.detach().cpu().clone() for k, v in ema.state_dict().items()},
                            self._model_id()))

    def _model_id(self) -> str:
        """The id of the EMA weights at this step: a checkpoint saved at this step carries the same one."""
        return f"{self.run_uid}-{self.step_count}"

    def _measure_name(self) -> str:
        if self.judged_on_holdout:
            return self.learner.measure()
        return "KID" if self.cfg.kid_every else "quality measure"

    def _quality(self) -> float | None:
        """The checkpoint's measure, lower is better: held-out error for the families judged on it; for the others
        the KID measured at this step when KID is on (None between measurements), else the learner's own."""
        if not self.judged_on_holdout and self.cfg.kid_every:
            return self.kid[1] if self.kid and self.kid[0] == self.step_count else None
        return self.learner.quality(self.holdout, self.holdout_labels) if self.holdout is not None else None

    def _checkpoint(self) -> Path | None:
        self.saved_step = self.step_count  # on every rank, so all ranks meet at the same barriers
        if not self.is_main:
            _barrier(self.world)
            return None
        quality, measure = self._quality(), self._measure_name()
        if measure != self.best_measure:  # a new stage: its figures do not compare with the last stage's
            self.best_quality, self.best_step, self.since_best, self.best_measure = None, None, 0, measure
        best = quality is not None and (self.best_quality is None or quality < self.best_quality)
        if best:
            self.best_quality, self.best_step, self.since_best = quality, self.step_count, 0
        elif quality is not None:
            self.since_best += 1
        info = {"family": self.cfg.family, "config": asdict(self.cfg), "dataset_hash": self.dataset_hash,
                "run_uid": self.run_uid, "model_id": self._model_id(), "quality": quality, "measure": measure,
                "best_quality": self.best_quality, "best_step": self.best_step, "since_best": self.since_best,
                "lr_scale": self.lr_scale, "rollbacks": self.rollbacks,
                "label_names": self.label_names, "time": time.time(), "extra": self.learner.extra_state()}
        try:
            path = checkpoints.save(self.run_dir, self.step_count, self.learner, {"train": self.gen.get_state()},
                                    info, keep=self.cfg.keep_checkpoints)
        finally:
            _barrier(self.world)
        self._emit(CheckpointSaved(self.step_count, path, best))
        return path

    def _finish(self, result: RunFinished) -> RunFinished:
        self._emit(result)
        return result

    def _say(self, text, level="info"):
        if level != "info":
            self._note({"step": self.step_count, "message": text, "level": level})
        self._emit(Message(text, level, self.step_count))

    def _emit(self, event):
        if self.is_main:
            self.on_event(event)


def train(project: Project, cfg: TrainConfig, on_event=None, control: Control | None = None,
          new: bool = False) -> RunFinished:
    """Train `project` with `cfg`, resuming its newest unfinished run of the same family unless `new`.
    With `cfg.from_model` a new run fine-tunes that model (same family and shape) on this project's images."""
    if cfg.from_model:
        cfg, new = adopt_source(cfg), True
    elif not cfg.family:
        cfg = replace(cfg, family=default_family(cfg.size or project.dataset.size))
    run_dir = None if new else resumable_run(project, cfg.family, cfg.steps)
    resume_from = checkpoints.latest(run_dir) if run_dir else None
    if resume_from is not None:
        saved = TrainConfig.from_dict(files.read_json(run_dir / "config.json"))
        # the saved run decides the networks; this call may move the finish line and the clock
        cfg = replace(saved, steps=cfg.steps or saved.steps, minutes=cfg.minutes, device=cfg.device)
    else:
        cfg = complete_config(project, cfg)
    trainer = Trainer(project, cfg, on_event, control, run_dir=run_dir)
    try:
        return trainer.run(resume_from)
    finally:
        _distributed_teardown()


# --- helpers --------------------------------------------------------------------------------------------------

def _to_float(images_uint8: torch.Tensor) -> torch.Tensor:
    """N x S x S x 3 uint8 -> N x 3 x S x S float in [-1, 1], on the device."""
    return images_uint8.permute(0, 3, 1, 2).float().div_(127.5).sub_(1)


def _checkpoint_of(path: Path) -> Path | None:
    """The checkpoint JSON that open_model reads for `path` (project, run or checkpoint), or None for a model file."""
    if path.is_dir():
        run = path
        if Project.is_project(path):
            runs = [r for r in Project.open(path).runs() if checkpoints.latest(r)]
            run = runs[-1] if runs else None
        return checkpoints.latest(run) if run else None
    if path.suffix == ".json" or (path.suffix == ".safetensors" and path.with_suffix(".json").is_file()):
        return path.with_suffix(".json")
    return None


def _fixed_latents(dim: int, count: int = 36):
    from .sampling import latents_for_seed

    return latents_for_seed(SAMPLE_SEED, dim, count)


def _distributed_setup(device: str) -> tuple[int, int]:
    """(rank, world) under torchrun, (0, 1) otherwise: gloo on the CPU, nccl on CUDA."""
    world = int(os.environ.get("WORLD_SIZE", 1))
    if world <= 1:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        backend = "nccl" if devices.pick_device(device).type == "cuda" else "gloo"
        dist.init_process_group(backend)
    return dist.get_rank(), dist.get_world_size()


def _rank_device(requested: str, rank: int) -> torch.device:
    device = devices.pick_device(requested)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    if device.type == "cuda":
        torch.cuda.set_device(device)
    return device


def _broadcast(value, world: int):
    if world <= 1:
        return value
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def _barrier(world: int) -> None:
    if world > 1:
        import torch.distributed as dist

        dist.barrier()


def _distributed_teardown() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
