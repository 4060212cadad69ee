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
- fine-tuning (`from_model`, `train --from`, engine/transfer.py): a new run starts from another model of the same
  family.
Each of these is reported as an event and written to the run's log.jsonl.
"""
from __future__ import annotations

import hashlib
import math
import os
import statistics
import time
import uuid
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from . import checkpoints, devices, files, transfer
from .control import Control
from .dataset import load_dataset
from .events import (CheckpointSaved, Message, Paused, QualityMeasured, RunFinished, RunStarted, SamplesReady,
                     Snapshot, StepDone)
from .models import default_family, get_family
from .models.base import LABELS
from .project import Project
from .sampling import grid, to_uint8
from .train_config import TrainConfig, complete_config, settle

SAMPLE_SEED = 1234  # the fixed seeds of the progress grid
KID_SEED = 4321  # the fixed latents of every KID measurement, so successive values differ by the model only
KID_SAMPLES = 512  # generated images per KID (Binkowski et al. use 1,000s; 500 keeps a CPU measurement ~10 s)
KID_REAL = 2048  # real images whose features are cached per dataset and size
MAX_ROLLBACKS = 3  # tries before a diverging run gives up
DIVERGENCE = 50.0  # a logged loss beyond this many times its recent median (and beyond 50) counts as divergence
LR_FLOOR = 0.1  # cosine decay ends at this fraction of the learning rate


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
        # copy the state before each step, so a step that runs out of memory can be undone and split finer; off
        # on the CPU, where running out of memory is not an exception one can recover from
        self.memory_guard = self.device.type != "cpu"

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
        source_step, fresh = transfer.start_from(self.learner, path, self.device)
        self._say(f"fine-tuning {Path(path).name} (step {source_step})"
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
            memory = (self.learner.remember(), self.gen.get_state()) if self.memory_guard else None
            try:
                self.learner.updates = self.step_count  # drives the EMA warm-up; restored with the step
                losses = self.learner.step(real, labels, self.gen, self.amp_dtype, (self.rank, self.world))
                break
            except torch.cuda.OutOfMemoryError:
                if memory is None or self.learner.micro_batches >= real.shape[0]:
                    raise
                # the step may have failed anywhere, even after an optimizer stepped: undo all of it, then retry
                self.learner.forget_since(memory[0])
                self.gen.set_state(memory[1])
                del memory
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
                self.learner.micro_batches *= 2
                self._say(f"the {self.device.type.upper()} ran out of memory: step {self.step_count + 1} starts "
                          f"again with each batch split in {self.learner.micro_batches} parts (same effective "
                          "batch, slower)", "warning")
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
        try:
            self.start(resume_from)
        except files.WriteFailed as e:
            return self._finish(self._write_failed(e))
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
            if reason == "failed":
                state, checkpoint = "failed", checkpoints.latest(self.run_dir)
            else:
                state = "finished" if self.step_count >= cfg.steps or reason == "early_stop" else "stopped"
            if self.is_main:
                files.write_json(self.run_dir / "status.json", {"state": state, "step": self.step_count,
                                                                "reason": reason})
        except files.WriteFailed as e:  # a full disk, say: every file written before is whole; end cleanly
            return self._finish(self._write_failed(e))
        return self._finish(RunFinished(self.step_count, reason, checkpoint, error=error))

    def _write_failed(self, error: files.WriteFailed) -> RunFinished:
        """The run ends at once, with one line that names the cause; the same command resumes it later."""
        last = checkpoints.latest(self.run_dir)
        kept = f"the checkpoint of step {checkpoints.step_of(last)} is kept" if last else "no checkpoint was saved yet"
        text = f"training stopped: {error}; {kept}. Make room, then train again to resume."
        self._emit(Message(text, "error", self.step_count))
        return RunFinished(self.step_count, "failed", last, error=text)

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
        z = torch.randn(KID_SAMPLES, self.cfg.latent_dim, generator=gen, device=self.device)
        y = torch.arange(KID_SAMPLES, device=self.device) % self.cfg.num_classes if self.cfg.num_classes else None

        def features_of(start, stop):
            images = sampler(z[start:stop], None if y is None else y[start:stop]).float().clamp(-1, 1)
            return features.image_features(images, batch=stop - start)

        with torch.no_grad():
            feats = devices.in_parts(features_of, KID_SAMPLES, 64, lambda text: self._say(text, "warning"), "KID")
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
        labels = self.fixed_labels

        def draw(start, stop):
            return to_uint8(ema(self.fixed_latents[start:stop], None if labels is None else labels[start:stop]))

        images = np.concatenate(devices.in_parts(draw, len(self.fixed_latents), len(self.fixed_latents),
                                                 lambda text: self._say(text, "warning"), "the progress grid"))
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
        cfg, new = transfer.adopt_source(cfg), True
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
