"""The Train room: pick a model family, see the suggested preset, the device and the speed measured here, then
Start / Pause / Resume / Stop a run and watch its samples, losses, ETA and checkpoints live.

Its widgets are made in gui/train_layout.py. The run lives on its own QThread (workers.TrainRun); pause and stop
are `Control` flags set from here. Presets, device facts and speed come from `engine.api` on pool jobs. Other rooms
follow training through `snapshot`, `checkpoint_saved` and `training_state_changed`. Must not import torch or
compute anything but display arithmetic (an ETA from a measured speed).
"""
from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from . import train_layout
from .widgets.duration import duration
from .workers import TrainRun, run_task


class TrainRoom(QWidget):
    notify = Signal(str, str)
    snapshot = Signal(object)  # api.Snapshot: new EMA weights for the explorer's generator
    checkpoint_saved = Signal(object)  # api.CheckpointSaved
    training_state_changed = Signal(bool)  # True when a run starts, False once it has ended (checkpoint saved)
    step_done = Signal(object)  # api.StepDone, after the room has shown it
    paused = Signal(int)  # the run is waiting between steps, at this step
    run_finished = Signal(object)  # api.RunFinished, or None when the run failed
    explore_picture = Signal(int)  # a picture of the progress grid was clicked: its index, row by row

    def __init__(self, parent=None):
        super().__init__(parent)
        self.api = None
        self.project = None
        self.control = None  # the Control of the current run (the explorer yields to it); a fresh one when idle
        self.run: TrainRun | None = None
        self.run_dir = None
        self.step = 0
        self._config = None  # the suggested config; the form edits a copy of it
        self._speeds: dict[tuple, float] = {}  # images/s measured per network shape
        self._measuring = None  # the Control of the speed measurement under way, if one is
        self._generation = 0  # drops preparation results for an older project or family
        self._resumable_family: str | None = None  # the family of the run left unfinished, if one is
        self._base = ""  # the base model a new run of the suggested settings would start from, if one fits
        self._eta_s = 0.0  # the seconds left of the run training now, as its last StepDone said
        train_layout.build(self)
        self._connect()
        self._set_state("idle")

    def _connect(self) -> None:
        """The widgets gui/train_layout.py made, to what they do here."""
        self.family.picked.connect(self._on_family_changed)
        self.measure_button.clicked.connect(self.measure_speed)
        self.settings.changed.connect(self._show_estimate)
        self.duration.changed.connect(self._show_estimate)
        for button, slot in ((self.start_button, lambda: self.start(new=True)), (self.pause_button, self.pause),
                             (self.resume_button, self.resume), (self.stop_button, self.stop),
                             (self.queue_button, self.add_to_queue), (self.continue_button, self.continue_run)):
            button.clicked.connect(slot)
        self.queue_panel.blocked_by = lambda: self.run is not None  # one training at a time
        self.queue_panel.queue_finished.connect(lambda: self._set_state("idle" if self.run is None else "running"))
        self.samples.picture_clicked.connect(self.explore_picture)

    # --- what the window calls ------------------------------------------------------------------------------------
    def set_api(self, api) -> None:
        self.api = api
        self.samples.grid_shape = (api.GRID_ROWS, api.GRID_COLUMNS)
        self._fold_settings()
        self.queue_panel.set_api(api)
        self.settings.set_demo(str(api.DEMO_MODEL) if api.demo_available() else "")
        self.control = api.Control()
        self.family.set_api(api)
        self.prepare()

    def _fold_settings(self) -> None:
        """superqt costs 0.4 s of imports, so the fold is made once the engine is there (the loader imported
        superqt on its thread), not while the window is first shown."""
        if self.advanced is None:
            from superqt import QCollapsible

            self.advanced = QCollapsible("Advanced settings")
            self.advanced.addWidget(self.settings)
            self.advanced_holder.layout().addWidget(self.advanced)
            queue = QCollapsible("Queue of runs")
            queue.addWidget(self.queue_panel)
            self.queue_holder.layout().addWidget(queue)

    def set_project(self, project) -> None:
        self.project = project
        self._speeds.clear()
        if not self.is_training():
            self.live.clear()  # the samples of this project's newest run come with the facts
        self.prepare()

    def prepare(self, keep_settings: bool = False) -> None:
        """Ask the engine (on a job) for the preset, device, dataset counts and any run left unfinished; the
        preset replaces the form's values unless `keep_settings` (after a run, the artist's edits stay)."""
        self._set_state("running" if self.is_training() else "idle")
        self.family.show_description()
        if self.api is None:
            return
        self._generation += 1
        generation, api, project = self._generation, self.api, self.project
        family = self.family_box.currentData()

        def facts(on_event, control):
            stats = api.dataset_stats(project) if project is not None else {"count": 0, "median_size": 0}
            config = api.suggest_config(project, family) if stats["count"] else None
            resumable = api.resumable_run(project) if project is not None else None
            runs = project.runs() if project is not None else []
            base = api.base_fitting(project, config) if config is not None else ""
            return {"stats": stats, "config": config, "device": api.device_info(), "resumable": resumable, "base": base,
                    "resumable_family": api.family_of(resumable) if resumable is not None else None,
                    "resume_step": api.resume_step(resumable) if resumable is not None else None,
                    "resume_state": api.run_state(resumable) if resumable is not None else None,
                    "newest_run": runs[-1].name if runs else "", "grids": api.sample_grids(runs[-1]) if runs else [],
                    "history": api.run_history(runs[-1]) if runs else None,
                    "newest_minutes": api.budget_of(runs[-1]) if runs else 0.0,
                    "newest_draws_points": draws_points(api, api.family_of(runs[-1]) if runs else None)}

        run_task(facts, on_done=lambda result: self._on_facts(generation, result, keep_settings),
                 on_failed=lambda text: self.notify.emit(text, "error"), owner=self)

    def config(self):
        """The settings shown; a time chosen under "Train for" is the run's budget (its steps follow)."""
        if self._config is None:
            return None
        config = self.settings.apply(self._config)
        minutes = self.duration.minutes()
        return replace(config, minutes=minutes, steps=0) if minutes else config

    def set_config(self, config) -> None:
        self._config = config
        self.settings.set_config(config, self.api.family_options(config.family) if config.family else frozenset())
        self.duration.set_budget(config.minutes if config.minutes and not config.steps else 0.0)

    def is_training(self) -> bool:
        return self.run is not None

    def start(self, new: bool = True) -> None:
        config = self.config()
        if config is None or self.is_training():
            return
        if self.queue_panel.is_running():
            self.notify.emit("The queue of runs is training: stop it first, or add this run to it", "warning")
            return
        if self._measuring is not None:
            self._measuring.request_stop()  # the run needs the CPU; its own images/s replace the estimate
        self.run = TrainRun(self.api, self.project, config, new=new, parent=self)
        self.control = self.run.control
        self.run.event.connect(self._on_event)
        self.run.failed.connect(lambda text: self.notify.emit(f"Training failed: {text}", "error"))
        self.run.finished.connect(self._on_run_finished)
        self.live.clear()
        self.samples.show_points(draws_points(self.api, config.family))
        self.banner.hide()
        self._set_state("starting")
        self.run.start()
        self.training_state_changed.emit(True)

    def add_to_queue(self) -> None:
        config = self.config()
        if config is not None and self.project is not None:
            self.queue_panel.add(self.project, config)
            if self.advanced is not None:
                self.queue_holder.layout().itemAt(0).widget().expand(animate=False)
            self.notify.emit(f"Added a {config.family or 'default'} run of {self.project.root.name} to the queue",
                             "info")

    def continue_run(self) -> None:
        """Resume the interrupted run, whatever family the box shows (a new run of another family otherwise)."""
        if self._resumable_family and self._config is not None and self._config.family != self._resumable_family:
            self._config = replace(self._config, family=self._resumable_family)
        self.start(new=False)

    def pause(self) -> None:
        if self.run is not None:
            self.control.pause()
            self._set_state("paused")

    def resume(self) -> None:
        if self.run is not None:
            self.control.resume()
            self._set_state("running")

    def stop(self) -> None:
        """Ask the run to stop; it saves a checkpoint first, then `training_state_changed(False)` arrives."""
        if self.run is not None:
            self.control.request_stop()
            self._set_state("saving")

    def shutdown(self) -> None:
        """Blocking last resort (the app is exiting): stop the run and wait for its checkpoint."""
        if self.run is not None:
            self.run.stop_and_wait()
        self.queue_panel.shutdown()

    def measure_speed(self) -> None:
        config = self.config()
        if config is None or self._measuring is not None or self.is_training():
            return
        self._measuring = self.api.Control()
        self.speed_label.setText("Measuring the real training step…")
        self.measure_button.setEnabled(False)
        api, project, key = self.api, self.project, _speed_key(config)

        def measure(on_event, control):
            with api.every_core():  # as the run will train (workers.TrainWorker)
                return api.measure_speed(project, config, seconds=2, control=control)

        def done(images_per_s):
            self._speeds[key] = images_per_s

        def finished():
            self._measuring = None
            self.measure_button.setEnabled(not self.is_training())
            self._show_estimate()

        run_task(measure, control=self._measuring, on_done=done, on_finished=finished,
                 on_failed=lambda text: self.notify.emit(f"Could not measure the speed: {text}", "warning"),
                 owner=self)

    # --- preparation results --------------------------------------------------------------------------------------
    def _on_facts(self, generation: int, facts: dict, keep_settings: bool) -> None:
        if generation != self._generation:
            return
        info = facts["device"]
        memory = "memory" if info.kind != "cpu" else "RAM"
        self.device_label.setText(f"{info.name} · {info.memory_gb:.0f} GB {memory}")
        stats = facts["stats"]
        self._base = facts["base"]
        self.settings.set_base(self._base)
        self._resumable_family = facts["resumable_family"]
        if self.project is not None and not self.is_training() and \
                self.family.offer(stats, self.project.dataset.size, self._resumable_family):
            self._on_family_changed()  # the family asked about cannot train on these images: ask for another
            return
        # the artist's settings stay after a run, unless that run was of another family than the box shows (a
        # run continued with Continue): then the box's family's preset, so Start trains what the box says
        kept = keep_settings and self._config is not None and self._config.family == self.family_box.currentData()
        if facts["config"] is not None and not self.is_training() and not kept:
            self.set_config(facts["config"])
            if facts["newest_minutes"]:  # the time the artist gave the last run, rather than the preset's steps
                self.duration.set_budget(facts["newest_minutes"])
        size = facts["config"].size if facts["config"] is not None else 0
        small = stats["count"] and stats["median_size"] < size
        self.warning_label.setText(f"Most of your images are smaller ({stats['median_size']} px) than the training "
                                   f"resolution ({size} px): they are upscaled and samples will look soft. "
                                   "Pick a lower resolution in the Dataset room." if small else "")
        self.warning_label.setVisible(bool(small))
        if not stats["count"]:
            self._config = None
            self.speed_label.setText("Add images in the Dataset room first" if self.project is not None else
                                     "Open or create a project first")
        if facts["grids"] and not self.is_training() and not self.samples.count():
            self.live.show_earlier(facts["newest_run"], facts["grids"], facts["history"])
            self.samples.show_points(facts["newest_draws_points"])
        resumable = facts["resumable"]
        self.banner_label.setText(_unfinished(resumable.name, facts["resume_step"], facts["resume_state"])
                                  if resumable else "")
        self.banner.setVisible(resumable is not None and not self.is_training())
        self._set_state("running" if self.is_training() else "idle")
        if self.isVisible():
            self._measure_if_unknown()

    def _on_family_changed(self) -> None:
        self._config = None
        self.prepare()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._measure_if_unknown()

    def _measure_if_unknown(self) -> None:
        config = self.config()
        if config is not None and _speed_key(config) not in self._speeds:
            self.measure_speed()

    def _show_estimate(self) -> None:
        config = self.config()
        speed = self._speeds.get(_speed_key(config)) if config is not None else None
        if config is None or self._measuring is not None:
            return
        base = self._base if config.base and not config.from_model else ""  # the curve of the base it starts from
        self.duration.show_expected(speed, config.batch, config.steps, lambda images: self.api.describe_expectation(
            config.family, config.size, images, base), after_s=self._eta_s if self.run is not None else 0.0)
        if speed is None:
            self.speed_label.setText("Not measured yet for these settings")
            return
        if not config.steps:
            self.speed_label.setText(f"{speed:,.0f} images/s on this machine")
            return
        seconds = config.steps * config.batch / max(speed, 1e-9)
        if config.minutes:
            seconds = min(seconds, config.minutes * 60)
        self.speed_label.setText(f"{speed:,.0f} images/s on this machine · about {duration(seconds)} for "
                                 f"{config.steps:,} steps")

    # --- the live run ---------------------------------------------------------------------------------------------
    def _on_event(self, event) -> None:
        api = self.api
        if isinstance(event, api.StepDone):
            self.step, self._eta_s = event.step, max(1.0, event.eta_s)
            if self.run is not None and not self.control.paused and not self.control.should_stop():
                self._set_state("running")
            self.live.show_step(event)
            self.step_done.emit(event)
        elif isinstance(event, api.QualityMeasured):
            self.reports.add_quality(event.step, event.kid, event.copies)
        elif isinstance(event, api.Paused):
            self.step = event.step
            self._set_state("paused")
            self.paused.emit(event.step)
        elif isinstance(event, api.SamplesReady):
            self.samples.add(event.step, event.grid, event.path)
        elif isinstance(event, api.Snapshot):
            self.snapshot.emit(event)
        elif isinstance(event, api.CheckpointSaved):
            self.reports.add_checkpoint(event.step, event.path, event.best)
            self.checkpoint_saved.emit(event)
        elif isinstance(event, api.RunStarted):
            self.run_dir = event.run_dir
            self.step, self._eta_s = event.step, 0.0
            self.live.show_started(event)
        elif isinstance(event, api.Message):
            self.notify.emit(event.text, event.level)
            if event.step is not None:
                self.reports.add_note(event.step, event.text, event.level)

    def _on_run_finished(self, result) -> None:
        self.run.deleteLater()  # its thread has ended; a new run gets a new thread
        self.run = None
        self.control = self.api.Control()
        self._set_state("idle")
        self._show_estimate()  # "Ends about", no longer queued after this run
        if result is not None:
            sentence = self.live.show_finished(result)
            if result.reason == "failed" and result.error:  # the cause, not only that it failed
                self.notify.emit(result.error, "error")
            else:
                self.notify.emit(sentence, "info")
        self.training_state_changed.emit(False)
        self.run_finished.emit(result)
        self.prepare(keep_settings=True)  # an interrupted run may now be continued: show the banner

    def _set_state(self, state: str) -> None:
        ready = self.api is not None and self.project is not None and self._config is not None
        training = self.run is not None
        self.start_button.setEnabled(ready and not training)
        self.queue_button.setEnabled(ready)
        self.continue_button.setEnabled(ready and not training)
        self.pause_button.setEnabled(training and state in ("running", "starting"))
        self.resume_button.setEnabled(training and state == "paused")
        self.stop_button.setEnabled(training and state != "saving")
        self.family_box.setEnabled(not training)
        self.settings.setEnabled(not training)
        self.measure_button.setEnabled(ready and not training and self._measuring is None)
        texts = {"starting": "Starting… (building the networks)", "paused": f"Paused at step {self.step:,}",
                 "saving": "Saving a checkpoint…"}
        if state in texts:
            self.state_label.setText(texts[state])


def _unfinished(name: str, step: int | None, state: str) -> str:
    """The banner over an unfinished run: stopped (by the artist), failed, or interrupted (the app or the machine
    went down while it trained)."""
    what = {"stopped": "was stopped", "failed": "failed"}.get(state, "was interrupted")
    if step is None:
        return f"The run “{name}” {what} before its first checkpoint: Continue starts it again, or Start a new one."
    return f"The run “{name}” {what}. Continue it from step {step:,}, its newest checkpoint, or Start a new one."


def _speed_key(config) -> tuple:
    return (config.family, config.size, config.batch, config.width, config.latent_dim, config.precision)


def draws_points(api, family: str | None) -> bool:
    """Whether a family's progress grid shows points to explore (a family of single images), not translations."""
    return family in {info.name for info in api.families()} and api.family_layout(family) == "images"
