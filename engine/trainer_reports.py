"""What a run tells and keeps, as it trains: progress lines and losses, sample grids and the weights Explore
follows, KID and the copy share, checkpoints with the record a resume needs, early stopping's verdict, and messages
for the user. A mixin of the Trainer (engine/training.py), split out to keep each file to one concern: the Trainer
decides when; these say and write what. Only rank 0 writes or emits.
"""
from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from . import checkpoints, devices, distributed, files
from .events import CheckpointSaved, Message, QualityMeasured, RunFinished, SamplesReady, Snapshot, StepDone
from .models import part
from .models.base import plain
from .pixels import to_uint8
from .sampling import GRID_COLUMNS, grid


class TrainerReports:
    def _measure_kid(self) -> None:
        if not self.is_main:
            return
        value = self.kid_meter.measure(self.family, self.learner.sampler(), self.cfg,
                                      lambda text: self._say(text, "warning"))
        copies = self.copy_share.measure(self.family, self.learner.sampler(), self.cfg, self.device)
        self.last_kid = (self.step_count, value)
        self.folder.note({"step": self.step_count, "kid": value, "copies": copies})
        self._emit(QualityMeasured(self.step_count, value, copies))

    def _patience_ran_out(self) -> bool:
        patience = self.cfg.early_stop_patience
        stop = distributed.broadcast(self.best.ran_out(patience), self.world)
        if stop:
            self.folder.note({"step": self.step_count, "event": "early_stop", "best_step": self.best.step,
                              "best_quality": self.best.quality})
            self._say(f"stopping early: the {self._measure_name()} has not improved for {patience} checkpoints "
                      f"(best {self.best.quality:.4g} at step {self.best.step}, whose checkpoint is kept)", record=True)
        return stop

    # --- the run's record -------------------------------------------------------------------------------------
    def _log(self, values, images_per_s, started, steps_at_start):
        done_here = self.step_count - steps_at_start
        rate = done_here / max(self.clock() - started, 1e-9)
        planned = self.planned_steps()
        eta = (planned - self.step_count) / rate if rate > 0 else float("inf")
        if self.horizon.budget_s:
            eta = self.horizon.budget_s - self.seconds
        elif self.cfg.minutes:
            eta = min(eta, self.cfg.minutes * 60 - (self.clock() - started))
        lr = self.learner.opts[next(iter(self.learner.opts))].param_groups[0]["lr"]
        self.folder.note({"step": self.step_count, **values, "images_per_s": round(images_per_s, 1), "lr": lr})
        self._emit(StepDone(self.step_count, planned, values, images_per_s, max(0.0, eta), lr))
        for text, level in self.learner.drain_messages():
            self._say(text, level)

    @torch.no_grad()
    def _samples(self):
        if not self.is_main:
            return
        sampler, inputs = self.learner.sampler(), self.grid_inputs
        count = len(next(iter(inputs.values())))
        parts = devices.in_parts(lambda a, b: to_uint8(self.family.progress_images(sampler, part(inputs, a, b))),
                                 count, count, lambda text: self._say(text, "warning"), "the progress grid")
        picture = grid(np.concatenate(parts), columns=GRID_COLUMNS)
        path = self.folder.save_samples(self.step_count, picture)
        self._emit(SamplesReady(self.step_count, picture, path))
        self._emit(Snapshot(self.step_count, {k: v.detach().cpu().clone() for k, v in sampler.state_dict().items()},
                            self._model_id()))

    def _model_id(self) -> str:
        """The id of the EMA weights at this step: a checkpoint saved at this step carries the same one."""
        return f"{self.run_uid}-{self.step_count}"

    def _measure_name(self) -> str:
        if self.family.judged_on_holdout:
            return self.learner.measure()
        return "KID" if self.cfg.kid_every else "quality measure"

    def _quality(self) -> float | None:
        """The checkpoint's measure, lower is better: held-out error for the families judged on it; for the others
        the KID measured at this step when KID is on (None between measurements), else the learner's own."""
        if not self.family.judged_on_holdout and self.cfg.kid_every:
            return self.last_kid[1] if self.last_kid and self.last_kid[0] == self.step_count else None
        if self.holdout is None:
            return None
        return self.learner.quality(self.holdout, self.data.holdout_labels)

    def _last_checkpoint(self, checkpoint: Path | None) -> Path | None:
        """The grid and checkpoint of the step the run ends on, unless they were just made."""
        if self.step_count % self.cfg.sample_every:
            self._samples()
        return self._checkpoint() if self.saved_step != self.step_count else checkpoint

    def _write_failed(self, error: files.WriteFailed) -> RunFinished:
        """The run ends at once, with one line that names the cause; the same command resumes it later."""
        last = checkpoints.latest(self.folder.path) if self.folder else None
        kept = f"the checkpoint of step {checkpoints.step_of(last)} is kept" if last else "no checkpoint was saved yet"
        text = f"training stopped: {error}; {kept}. Make room, then train again to resume."
        self._emit(Message(text, "error", self.step_count))
        return RunFinished(self.step_count, "failed", last, error=text)

    def _checkpoint(self) -> Path | None:
        self.saved_step = self.step_count  # on every rank, so all ranks meet at the same barriers
        if not self.is_main:
            distributed.barrier(self.world)
            return None
        measure = self._measure_name()
        quality = self._quality()
        best = self.best.judge(quality, measure, self.step_count)
        info = {"family": self.cfg.family, "config": asdict(self.cfg), "dataset_hash": self.data.hash,
                "run_uid": self.run_uid, "model_id": self._model_id(), "quality": quality, "measure": measure,
                **self.best.record(), "lr_scale": self.lr_scale, "rollbacks": self.rollbacks,
                "label_names": self.data.label_names, "time": time.time(), "extra": plain(self.learner.extra_state()),
                "train_seconds": round(self.seconds, 3), "image_count": self.data.count,
                "precision": devices.PRECISIONS[self.amp_dtype]}
        try:
            path = checkpoints.save(self.folder.path, self.step_count, self.learner, {"train": self.gen.get_state()},
                                    info, keep=self.cfg.keep_checkpoints)
        finally:
            distributed.barrier(self.world)
        self._emit(CheckpointSaved(self.step_count, path, best))
        return path

    def _say(self, text, level="info", record=False):
        """Tell the user; warnings and errors (and what `record` asks) go in the run's log too."""
        if (level != "info" or record) and self.folder is not None:
            self.folder.note({"step": self.step_count, "message": text, "level": level})
        self._emit(Message(text, level, self.step_count))

    def _emit(self, event):
        if self.is_main:
            self.on_event(event)
