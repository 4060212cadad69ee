"""The Trainer: one step at a time over the cached dataset, with EMA, mixed precision, events, pause/stop,
checkpoints and exact resume. It knows nothing of the window or the terminal: callers pass `on_event` and a
`Control` (StyleGAN3's progress_fn/abort_fn). The same code runs alone or under `torchrun` (one process per
device, DistributedDataParallel): every rank trains on its shard of each batch, rank 0 alone writes.
"""
from __future__ import annotations

import hashlib
import os
import time
import uuid
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import torch

from . import checkpoints, devices, files
from .control import Control
from .dataset import dataset_stats, load_dataset
from .events import CheckpointSaved, Message, RunFinished, RunStarted, SamplesReady, Snapshot, StepDone
from .models import DEFAULT_FAMILY, get_family
from .models.base import LABELS
from .project import Project
from .sampling import grid, to_uint8

SCHEMA_VERSION = 1
SAMPLE_SEED = 1234  # the fixed seeds of the progress grid


@dataclass
class TrainConfig:
    family: str = DEFAULT_FAMILY  # a name from engine.models.FAMILIES
    size: int = 0  # training resolution; 0 = the project's dataset size
    steps: int = 0  # stop after this many steps in total; 0 = the preset's
    minutes: float = 0.0  # also stop after this many minutes of this session; 0 = no limit
    batch: int = 0  # images per step over all devices; 0 = the preset's
    lr: float = 0.0  # Adam learning rate; 0 = the preset's
    latent_dim: int = 0  # size of the latent vector; 0 = the preset's (sized to the data)
    width: int = 0  # channel multiplier of the networks; 0 = the preset's (sized to data and device)
    beta: float = 1.0  # VAE: weight of the KL term
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
    schema_version: int = SCHEMA_VERSION

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        """Read a saved config; fields added since it was written take their defaults."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def suggest_config(project: Project, family: str | None = None, device: str = "auto", size: int | None = None,
                   **overrides) -> TrainConfig:
    """A complete config for this project: the family's preset sized to the dataset, resolution and device."""
    family = family or DEFAULT_FAMILY
    size = size or project.dataset.size
    kind = devices.pick_device(device).type
    n_images = dataset_stats(project)["count"]
    preset = get_family(family).preset(n_images, size, kind)
    steps = 20000 if kind == "cuda" else 3000
    cfg = TrainConfig(family=family, size=size, steps=steps, device=device, **preset)
    return replace(cfg, **{k: v for k, v in overrides.items() if v is not None})


def complete_config(project: Project, cfg: TrainConfig) -> TrainConfig:
    """Fill every 0 ("the preset's") in cfg from suggest_config."""
    suggested = suggest_config(project, cfg.family, cfg.device, cfg.size or None)
    return replace(cfg, **{f.name: getattr(suggested, f.name) for f in fields(cfg)
                           if getattr(cfg, f.name) in (0, 0.0) and f.name not in ("minutes", "seed")})


def resumable_run(project: Project, family: str | None = None, steps: int = 0) -> Path | None:
    """The newest run, if it is of `family` (when given) and unfinished, or finished short of `steps`."""
    runs = project.runs()
    if not runs:
        return None
    run = runs[-1]
    status = files.read_json(run / "status.json", default={})
    config = files.read_json(run / "config.json", default={})
    if family is not None and config.get("family") != family:
        return None
    if status.get("state") == "finished" and steps <= status.get("step", 0):
        return None
    return run


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

        data = load_dataset(project, cfg.size)
        family = get_family(cfg.family)
        if len(data.hashes) == 0:
            raise ValueError("the dataset is empty: add images first")
        self.label_names = list(data.label_names)
        if LABELS in family.info.capabilities:
            if len(self.label_names) < 2 or (data.labels < 0).any():
                raise ValueError(f"{family.info.title} needs images sorted into at least two labelled sub-folders")
            cfg = replace(cfg, num_classes=len(self.label_names))
        holdout = torch.from_numpy(data.split.copy())
        if getattr(family.Learner, "uses_holdout", False) and holdout.all():
            holdout[:] = False  # too few images to hold any out
        images = torch.from_numpy(data.rgb())  # N x S x S x 3 uint8, composited onto the project's background
        labels = torch.from_numpy(data.labels.astype("int64"))
        keep = ~holdout if getattr(family.Learner, "uses_holdout", False) else torch.ones_like(holdout)
        self.train_images, self.train_labels = images[keep].to(self.device), labels[keep].to(self.device)
        self.holdout = _to_float(images[holdout][:512].to(self.device)) if holdout.any() else None
        self.holdout_labels = labels[holdout][:512].to(self.device) if holdout.any() else None
        self.dataset_hash = hashlib.sha1(("|".join(data.hashes) + f"@{cfg.size}").encode()).hexdigest()[:16]

        torch.manual_seed(cfg.seed)  # initial weights
        self.cfg = cfg
        self.learner = family.Learner(cfg, self.device, distributed=self.world > 1)
        if self.device.type == "cuda":
            self.learner.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        self.gen = torch.Generator(self.device).manual_seed(cfg.seed + 1)  # batches, noise, augmentation
        self.fixed_latents = torch.from_numpy(_fixed_latents(cfg.latent_dim)).to(self.device)
        # conditional grids show each label in turn, one row of six per label
        self.fixed_labels = (torch.arange(36, device=self.device) // 6 % cfg.num_classes) if cfg.num_classes else None
        self.step_count = 0
        self.best_quality: float | None = None
        self.saved_step = -1
        self.run_dir = run_dir
        self.run_uid = uuid.uuid4().hex[:8]

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
            record, tensors = checkpoints.read(resume_from, self.device)
            if record.get("family") != self.cfg.family:
                raise files.FileRefused(f"{resume_from.name} holds a {record.get('family')} model, "
                                        f"not {self.cfg.family}")
            rng = checkpoints.restore(self.learner, record, tensors)
            self.learner.load_extra_state(record.get("extra", {}))
            self.gen.set_state(rng["train"].cpu())
            self.step_count = record["step"]
            self.best_quality = record.get("best_quality")
            if record.get("dataset_hash") != self.dataset_hash:
                self._say("the dataset changed since this run started; training goes on with the new images",
                          "warning")
        self._emit(RunStarted(self.run_dir, self.step_count, self.cfg.steps, resumed, str(self.device),
                              asdict(self.cfg)))

    def step(self) -> dict[str, torch.Tensor]:
        """One optimisation step on a fresh batch; returns the losses as tensors (no host sync)."""
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

    def run(self, resume_from: Path | None = None) -> RunFinished:
        self.start(resume_from)
        cfg = self.cfg
        started = last_log = last_ckpt = time.monotonic()
        steps_at_start = last_log_step = self.step_count
        images_per_s = 0.0
        reason = "done"
        checkpoint = None
        try:
            while self.step_count < cfg.steps:
                self.control.wait_if_paused()
                if self.control.should_stop():
                    reason = "stopped"
                    break
                if cfg.minutes and time.monotonic() - started >= cfg.minutes * 60:
                    reason = "time"
                    break
                self.control.yield_to_renders()
                losses = self.step()
                now = time.monotonic()
                if self.step_count % cfg.log_every == 0 or self.step_count == cfg.steps:
                    images_per_s = (self.step_count - last_log_step) * cfg.batch / max(now - last_log, 1e-9)
                    last_log, last_log_step = now, self.step_count
                    self._log(losses, images_per_s, started, steps_at_start)
                if self.step_count % cfg.sample_every == 0:
                    self._samples()
                if (self.step_count % cfg.checkpoint_every == 0
                        or now - last_ckpt >= cfg.checkpoint_minutes * 60):
                    checkpoint = self._checkpoint()
                    last_ckpt = time.monotonic()
            if self.step_count % cfg.sample_every:
                self._samples()
            if self.saved_step != self.step_count:
                checkpoint = self._checkpoint()
        except OSError as e:  # a checkpoint could not be written: the previous one is whole; end cleanly
            self._say(f"could not save a checkpoint ({e.strerror or e}); the previous checkpoint is kept", "error")
            reason, checkpoint = "failed", checkpoints.latest(self.run_dir)
            return self._finish(RunFinished(self.step_count, reason, checkpoint, error=str(e)))
        state = "finished" if self.step_count >= cfg.steps else "stopped"
        if self.is_main:
            files.write_json(self.run_dir / "status.json", {"state": state, "step": self.step_count})
        return self._finish(RunFinished(self.step_count, reason, checkpoint))

    # --- reports ----------------------------------------------------------------------------------------------
    def _log(self, losses, images_per_s, started, steps_at_start):
        values = {k: float(v) for k, v in losses.items()}  # the one host sync, only when logging
        done_here = self.step_count - steps_at_start
        rate = done_here / max(time.monotonic() - started, 1e-9)
        eta = (self.cfg.steps - self.step_count) / rate if rate > 0 else float("inf")
        if self.cfg.minutes:
            eta = min(eta, self.cfg.minutes * 60 - (time.monotonic() - started))
        lr = self.learner.opts[next(iter(self.learner.opts))].param_groups[0]["lr"]
        if self.is_main:
            files.append_jsonl(self.run_dir / "log.jsonl", {"step": self.step_count, **values,
                                                             "images_per_s": round(images_per_s, 1), "lr": lr})
        self._emit(StepDone(self.step_count, self.cfg.steps, values, images_per_s, max(0.0, eta), lr))
        for text, level in self.learner.drain_messages():
            self._say(text, level)

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
        self._emit(Snapshot(self.step_count, {k: v.detach().cpu().clone() for k, v in ema.state_dict().items()}))

    def _checkpoint(self) -> Path | None:
        self.saved_step = self.step_count  # on every rank, so all ranks meet at the same barriers
        if not self.is_main:
            _barrier(self.world)
            return None
        quality = self.learner.quality(self.holdout, self.holdout_labels) if self.holdout is not None else None
        best = quality is not None and (self.best_quality is None or quality < self.best_quality)
        if best:
            self.best_quality = quality
        info = {"family": self.cfg.family, "config": asdict(self.cfg), "dataset_hash": self.dataset_hash,
                "run_uid": self.run_uid, "model_id": f"{self.run_uid}-{self.step_count}", "quality": quality,
                "best_quality": self.best_quality, "label_names": self.label_names, "time": time.time(),
                "extra": self.learner.extra_state()}
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
        self._emit(Message(text, level))

    def _emit(self, event):
        if self.is_main:
            self.on_event(event)


def train(project: Project, cfg: TrainConfig, on_event=None, control: Control | None = None,
          new: bool = False) -> RunFinished:
    """Train `project` with `cfg`, resuming its newest unfinished run of the same family unless `new`."""
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
