"""The Trainer: one step at a time over the cached dataset, with EMA, mixed precision, events, pause/stop,
checkpoints and exact resume. Callers pass `on_event` and a `Control` (StyleGAN3's progress_fn/abort_fn); it knows
nothing of the window or the terminal. Alone or under `torchrun` (engine/distributed.py), every rank trains on its
share of each batch and rank 0 alone writes. It asks the family (engine/models/family.py) for everything
family-specific and branches on none. Its jobs, each in a place of its own:
- the data and the held-out split: training_data.py; the run folder (config, status, log, samples): run_folder.py;
- the loop, here: learning-rate schedule (schedule.py), an out-of-memory step undone and split finer;
- rollback: self_care.py notices NaN/inf losses or an exploded loss, and the run goes back to its last complete
  checkpoint with half the learning rate and a new seed, giving up after MAX_ROLLBACKS;
- KID on ImageNet features every `kid_every` steps, the GAN families' checkpoint measure: sample_quality.py;
- the best checkpoint, and early stopping after `early_stop_patience` checkpoints without one: self_care.py;
- what the run says and keeps (progress, grids, KID, checkpoints, messages): trainer_reports.py.
Fine-tuning (`from_model`) starts a new run from another model of the same family (transfer.py). Each of these is
reported as an event and written to the run's log.jsonl.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import asdict, replace
from pathlib import Path

import torch

from . import base_model, checkpoints, devices, distributed, files, schedule, transfer
from .aspect import suffix
from .control import Control
from .events import Message, Paused, RunFinished, RunStarted
from .models import Capability, get_family
from .project import Project
from .run_folder import RunFolder, resumable_run, run_to_resume
from .sample_quality import CopyShare, KidMeter
from .sampling import GRID_COLUMNS, GRID_ROWS, SAMPLE_SEED
from .self_care import MAX_ROLLBACKS, RESEED, BestSoFar, DivergenceWatch, gave_up
from .train_config import TrainConfig, for_project
from .trainer_reports import TrainerReports
from .training_data import TrainingData

__all__ = ["Trainer", "train", "resumable_run"]


class Trainer(TrainerReports):
    """Owns one run: call `run()` to train to the end, or `start()` and `step()` yourself (tests, benchmarks)."""

    def __init__(self, project: Project, cfg: TrainConfig, on_event=None, control: Control | None = None,
                 run_dir: Path | None = None, clock=time.monotonic):
        self.project = project
        self.clock = clock  # seconds; tests give a fake one
        self.on_event = on_event or (lambda event: None)
        self.control = control or Control()
        self.rank, self.world = distributed.setup(cfg.device)
        self.is_main = self.rank == 0
        self.device = distributed.rank_device(cfg.device, self.rank)
        self.amp_dtype = devices.autocast_dtype(self.device, cfg.precision)

        cfg, note = for_project(project, cfg)
        if note:
            self.on_event(Message(note))
        family = get_family(cfg.family)
        labelled = Capability.LABELS in family.info.capabilities
        self.data = TrainingData(project, cfg.size, self.device, labelled, family.judged_on_holdout, bool(cfg.alpha),
                                 cfg.aspect, family.layout)
        if labelled:
            if not self.data.fully_labelled:
                raise ValueError(f"{family.info.title} needs images sorted into at least two labelled sub-folders")
            cfg = replace(cfg, num_classes=len(self.data.label_names))
        self.cfg, self.family = cfg, family
        # steps, or (minutes without steps) a budget of training time across resumes; minutes beside steps only
        # cap this session
        self.horizon = schedule.Horizon(cfg.steps, 0.0 if cfg.steps else cfg.minutes * 60)
        self.step_seconds = 0.0  # how long the last step took: the next one is expected to take as long
        self.learner = self._new_learner(cfg.seed)
        self.gen = torch.Generator(self.device).manual_seed(cfg.seed + 1)  # batches, noise, augmentation
        self.grid_inputs = family.progress_inputs(cfg, self.data, SAMPLE_SEED, GRID_ROWS, GRID_COLUMNS, self.device)
        self.kid_meter = KidMeter(project.dataset_dir / f"features-{cfg.size}{suffix(cfg.aspect)}.safetensors",
                                  self.data.hash, self.data.real_for_kid, self.device, project.dataset.background,
                                  self.data.kid_real_count)
        self.copy_share = CopyShare(project, cfg.size, cfg.flip, project.dataset.background, cfg.aspect)
        self.step_count = 0
        self.best = BestSoFar()
        self.saved_step = -1
        self.folder = RunFolder(run_dir, self.is_main) if run_dir is not None else None
        self.run_uid = uuid.uuid4().hex[:8]
        self.lr_scale = 1.0  # halved by every rollback
        self.rollbacks = 0
        self.seconds = 0.0  # time spent training, across resumes, pauses left out: checkpoints and model files say it
        self.last_kid: tuple[int, float] | None = None  # (step, value) of the newest KID
        self.watch = DivergenceWatch()
        self._nonfinite = torch.zeros((), dtype=torch.bool, device=self.device)
        # copy the state before each step, so a step that runs out of memory can be undone and split finer; off
        # on the CPU, where running out of memory is not an exception one can recover from
        self.memory_guard = self.device.type != "cpu"

    @property
    def holdout(self) -> torch.Tensor | None:  # the held-out images a checkpoint is judged on
        return self.data.holdout

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
        if self.folder is None:
            path = self.project.new_run_dir(f"{self.cfg.family}-{self.cfg.size}") if self.is_main else None
            self.folder = RunFolder(distributed.broadcast(str(path), self.world), self.is_main)
        if self.is_main:
            self.run_uid = self.folder.saved_uid() or self.run_uid
            self.folder.begin(dict(asdict(self.cfg), run_uid=self.run_uid, dataset_hash=self.data.hash))
        self.run_uid = distributed.broadcast(self.run_uid, self.world)
        if resumed:
            record = self._restore(resume_from)
            self.best = BestSoFar.from_record(record)
            self.lr_scale = record.get("lr_scale", 1.0)
            self.rollbacks = record.get("rollbacks", 0)
            self.seconds = record.get("train_seconds", 0.0)
            if record.get("dataset_hash") != self.data.hash:
                self._say("the dataset changed since this run started; training goes on with the new images",
                          "warning")
        elif self.cfg.from_model:
            self._start_from_source(self.cfg.from_model)
        self.settle_precision(record.get("precision") if resumed else None)
        self._emit(RunStarted(self.folder.path, self.step_count, self.planned_steps(), resumed, str(self.device),
                              asdict(self.cfg)))
        if self.cfg.grey:
            self._say("every picture is black and white: the model draws in grey")

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

    def settle_precision(self, recorded: str | None = None) -> None:
        """Where "auto" is decided by timing, time fp32 against bf16 and keep the faster (or the run's `recorded`
        choice); start() does it, and so does a speed measurement, so that it times what the run will train in."""
        if self._times_precision():
            self._choose_precision(recorded)

    def _times_precision(self) -> bool:
        """Whether "auto" precision is decided by timing: on the CPU or a CUDA GPU with bf16, for a run long enough
        that 8 timed steps are noise beside the time bf16 may save (a minute of budget, or 1,000 steps)."""
        long_enough = self.horizon.budget_s >= 60 or self.cfg.steps >= 1000
        return devices.times_precision(self.device) and self.cfg.precision == "auto" and long_enough

    def _choose_precision(self, recorded: str | None) -> None:
        """bf16 or fp32, as timed on this machine (devices.timed_precision); a resumed run keeps its run's choice,
        so it goes on exactly. The timed steps are undone: the run starts from the state it had."""
        names = {name: dtype for dtype, name in devices.PRECISIONS.items()}
        if recorded in names:
            self.amp_dtype = names[recorded]
            return
        memory, rng = self.learner.remember(), self.gen.get_state()
        batch = self.data.next_batch(self.cfg.batch, self.gen, (self.rank, self.world))
        chosen, gain = devices.timed_precision(
            lambda dtype: self.learner.step(batch, self.gen, dtype, (self.rank, self.world)), self._settled_clock)
        self.learner.forget_since(memory)
        self.gen.set_state(rng)
        self.amp_dtype = names[distributed.broadcast(devices.PRECISIONS[chosen], self.world)]  # rank 0's decides
        self._say(f"training in {devices.PRECISIONS[self.amp_dtype]}: bf16 timed {gain:.2f}x as fast as fp32 on "
                  "this machine")  # the sentence starts with a word, as the window capitalises it

    def _settled_clock(self) -> float:
        """The clock once the device has finished the work queued so far: a GPU runs behind the Python that
        launches its kernels, so a plain clock would time the launches."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return self.clock()

    def _start_from_source(self, path: str) -> None:
        source_step, fresh = transfer.start_from(self.learner, path, self.device)
        if base_model.is_base(path):
            self._say(f"starting from the base model {Path(path).stem}, which already draws clean shapes; to train "
                      "from random weights, untick 'Start from the base model' (train --scratch)")
            return
        self._say(f"fine-tuning {Path(path).name} (step {source_step})"
                  + (f"; {', '.join(fresh)} from scratch" if fresh else ""))

    def progress(self) -> float:
        return self.horizon.progress(self.step_count, self.seconds, self.step_seconds)

    def planned_steps(self) -> int:
        return self.horizon.planned_steps(self.step_count, self.seconds)

    def step(self) -> dict[str, torch.Tensor]:
        """One optimisation step on a fresh batch; returns the losses as tensors (no host sync)."""
        self.learner.progress = self.progress()
        self.learner.planned_steps = self.planned_steps() or 10**9
        self._set_learning_rate()
        batch = self.data.next_batch(self.cfg.batch, self.gen, (self.rank, self.world))
        while True:
            memory = (self.learner.remember(), self.gen.get_state()) if self.memory_guard else None
            try:
                self.learner.updates = self.step_count
                losses = self.learner.step(batch, self.gen, self.amp_dtype, (self.rank, self.world))
                break
            except torch.cuda.OutOfMemoryError:
                if memory is None or self.learner.micro_batches >= batch["image"].shape[0]:
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
        """lr = the optimizer's initial lr x decay(progress) x rollback scale; left alone when both are 1."""
        factor = self.lr_scale * schedule.learning_rate_factor(self.learner.progress, self.cfg.lr_decay)
        if factor == 1.0 and self.cfg.lr_decay == "none":
            return
        for name, opt in self.learner.opts.items():
            for group, base in zip(opt.param_groups, self.base_lrs[name]):
                group["lr"] = base * factor

    def run(self, resume_from: Path | None = None) -> RunFinished:
        try:
            self.start(resume_from)
            reason, error, checkpoint = self._loop()
            if reason == "failed":
                state, checkpoint = "failed", checkpoints.latest(self.folder.path)
            else:
                finished = self.horizon.done(self.step_count, self.seconds) or reason == "early_stop"
                state = "finished" if finished else "stopped"
            self.folder.set_status(state, step=self.step_count, reason=reason)
            result = RunFinished(self.step_count, reason, checkpoint, error=error)
        except files.WriteFailed as e:  # a full disk, say: every file written before is whole; end cleanly
            result = self._write_failed(e)
        self._emit(result)
        return result

    def _loop(self) -> tuple[str, str | None, Path | None]:
        """Steps until the end (of the steps or of the time budget, spent across resumes), a stop, early stopping
        or failure: (reason, error, checkpoint)."""
        cfg, clock = self.cfg, self.clock
        started = last_log = last_ckpt = last_pass = clock()
        steps_at_start = last_log_step = self.step_count
        checkpoint = None
        self._kid_clock = (self.seconds, 0.0)  # (training time at the end of the last KID, how long it took)
        self._kid_parts = None  # a time budget's measurements, decided at the first step (_kid_due)
        while not self._finished():
            if self.control.paused:
                self._emit(Paused(self.step_count))
                paused_at = clock()
                self.control.wait_if_paused()
                started += clock() - paused_at  # a pause spends none of the run's minutes
                last_pass += clock() - paused_at
            if self.control.should_stop():
                return "stopped", None, self._last_checkpoint(checkpoint)
            if cfg.steps and cfg.minutes and clock() - started >= cfg.minutes * 60:
                return "time", None, self._last_checkpoint(checkpoint)
            self.control.yield_to_renders()
            step_started = clock()
            losses = self.step()
            self._nonfinite |= ~torch.isfinite(torch.stack([v.detach().float().sum() for v in losses.values()])).all()
            now = clock()
            self.step_seconds = now - step_started
            self.seconds, last_pass = self.seconds + now - last_pass, now  # this pass: its step, the last's checkpoint
            last = self._finished()
            log_now = self.step_count % cfg.log_every == 0 or last
            kid_now = self._kid_due(last)
            checkpoint_now = (self.step_count % cfg.checkpoint_every == 0 or kid_now
                              or now - last_ckpt >= cfg.checkpoint_minutes * 60)
            if log_now or checkpoint_now:
                values = {k: float(v) for k, v in losses.items()}  # the one host sync, only when logging
                trouble = self._trouble(values)
                if trouble:
                    error = self._roll_back(trouble)
                    if error:
                        return "failed", error, None
                    last_log, last_log_step = clock(), self.step_count
                    continue
                if log_now:
                    images_per_s = (self.step_count - last_log_step) * cfg.batch / max(now - last_log, 1e-9)
                    last_log, last_log_step = now, self.step_count
                    self._log(values, images_per_s, started, steps_at_start)
            if self.step_count % cfg.sample_every == 0:
                self._samples()
            if kid_now and self.learner.can_sample():
                measured = clock()
                self._measure_kid()
                self._kid_clock = (self.seconds + clock() - measured, clock() - measured)
                if not last:  # its real cost plans the rest (rank 0's, so that every rank asks _kid_due alike)
                    self._plan_kids(distributed.broadcast(clock() - measured, self.world))
            if checkpoint_now:
                checkpoint = self._checkpoint()
                last_ckpt = clock()
                if self._patience_ran_out():
                    return "early_stop", None, self._last_checkpoint(checkpoint)
        return "done", None, self._last_checkpoint(checkpoint)

    def _finished(self) -> bool:
        """The end of the steps or of the budget; every rank ends on the same step (rank 0's clock decides)."""
        done = self.horizon.done(self.step_count, self.seconds)
        return distributed.broadcast(done, self.world) if self.horizon.budget_s else done

    def _kid_due(self, last: bool) -> bool:
        """Every kid_every steps, and on the last step of a run that measured before; with a time budget, at the
        end of each of its parts (schedule.kid_parts) and on the last step. So the last measurement judges the
        model the run ends with (a 2-minute run measured once, at a tenth of its time, and the preset's 3,000 steps
        at step 2,000: each kept that earlier model as its best); none where one alone would take more than its
        share of a budget."""
        if not self.cfg.kid_every:
            return False
        if not self.horizon.by_time:
            return self.step_count % self.cfg.kid_every == 0 or (last and self.step_count > self.cfg.kid_every)
        if self._kid_parts is None:  # the first step: from the estimate (the real images' features included)
            expected = distributed.broadcast(self.kid_meter.expected_seconds() if self.is_main else 0.0, self.world)
            self._plan_kids(expected)
            if not self._kid_parts and self.is_main:
                budget = schedule.minutes_text(self.horizon.budget_s / 60)
                self._say(f"No quality measurements (KID) in this run: one would take about {expected:.0f} s, "
                          f"more than {schedule.KID_SHARE:.0%} of its {budget}", record=True)
        if not self._kid_parts:
            return False
        due = last or schedule.kid_due(self.seconds, self._kid_clock[0], self.horizon.training_s, self._kid_parts)
        return distributed.broadcast(due, self.world)

    def _plan_kids(self, seconds_each: float) -> None:
        """A time budget's measurements, each taking `seconds_each`: how many parts, and the time kept back for
        the one after the last step, so that the run ends on time with it."""
        self._kid_parts = schedule.kid_parts(self.horizon.budget_s, seconds_each)
        self.horizon = replace(self.horizon, reserve_s=seconds_each if self._kid_parts else 0.0)

    # --- taking care of itself --------------------------------------------------------------------------------
    def _trouble(self, values: dict[str, float]) -> str | None:
        """Why the run must go back, or None. Every rank takes the same decision (any rank's trouble is all's)."""
        trouble = self.watch.trouble(values, bool(self._nonfinite))
        self._nonfinite.zero_()
        if distributed.any_rank(trouble is not None, self.world, self.device) and trouble is None:
            trouble = "trouble on another device"
        return trouble

    def _roll_back(self, trouble: str) -> str | None:
        """Go back to the last complete checkpoint (or to fresh weights before the first) with half the learning
        rate and a new seed. Returns None, or the error that ends the run once MAX_ROLLBACKS were not enough."""
        at = self.step_count
        self.rollbacks += 1
        if self.rollbacks > MAX_ROLLBACKS:
            last = checkpoints.latest(self.folder.path)
            text = gave_up(trouble, at, checkpoints.step_of(last) if last else None)
            self.folder.note({"step": at, "event": "gave_up", "reason": trouble})
            self._say(text, "error")
            return text
        self.lr_scale *= 0.5
        seed = self.cfg.seed + 1 + RESEED * self.rollbacks
        last = checkpoints.latest(self.folder.path)
        if last is not None:
            self.best = BestSoFar.from_record(self._restore(last))
        else:
            self.learner = self._new_learner(self.cfg.seed + RESEED * self.rollbacks)
            self.step_count = 0
            if self.cfg.from_model:
                self._start_from_source(self.cfg.from_model)
        self.gen.manual_seed(seed)
        self.saved_step = self.step_count
        self.watch.forget()
        self._nonfinite.zero_()
        lr = self.base_lrs[next(iter(self.base_lrs))][0] * self.lr_scale
        self.folder.note({"step": at, "event": "rollback", "reason": trouble, "to_step": self.step_count,
                          "lr_scale": self.lr_scale, "seed": seed})
        self._say(f"{trouble} at step {at}: went back to step {self.step_count} with half the learning rate "
                  f"(now {lr:.3g}) and a new seed (rollback {self.rollbacks} of {MAX_ROLLBACKS})", "warning")
        return None

def train(project: Project, cfg: TrainConfig, on_event=None, control: Control | None = None,
          new: bool = False) -> RunFinished:
    """Train `project` with `cfg`, resuming its newest unfinished run of the same family unless `new` (see
    run_folder.run_to_resume). With `cfg.from_model` a new run fine-tunes that model on this project's images."""
    cfg, run_dir, resume_from = run_to_resume(project, cfg, new)
    trainer = Trainer(project, cfg, on_event, control, run_dir=run_dir)
    try:
        return trainer.run(resume_from)
    finally:
        distributed.teardown()
