"""The Explore room: a trained model's latent space as a canvas, a seed, sliders, variations, modes, bookmarks and
paths.

The room turns clicks into `engine.api` calls and rendered arrays into pixels. Every image is made on the
`RenderThread` (gui/render.py) from the newest request only; exports, PNG reading, bookmark writes and the
mixture behind the modes (gui/explore_modes.py) run on a QThreadPool (gui/explore_jobs.py). The GUI thread only
computes latents (cheap NumPy inside engine.api), keeps the undo history and paints. It must not import torch at
module level, render, or read and write files itself.
"""
from __future__ import annotations

from dataclasses import replace
from functools import partial

import numpy as np
from PySide6.QtCore import QCoreApplication, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QUndoStack
from PySide6.QtWidgets import QWidget

from . import explore_jobs, explore_layout, imaging
from .explore_following import FollowingMixin
from .explore_keeping import KeepingMixin
from .explore_layout import MAX_SEED, VARIATIONS
from .explore_modes import ModesMixin
from .explore_point import Point, PointCommand
from .render import ModelInfo, RenderThread

DIRECTIONS = 8


def _api():
    from engine import api  # imported on first use: the window must not wait for torch

    return api


class ExploreRoom(FollowingMixin, KeepingMixin, ModesMixin, QWidget):
    status = Signal(str)
    frame_shown = Signal(int)  # stamp of the render request whose image the canvas now shows
    model_ready = Signal(object)  # ModelInfo
    directions_ready = Signal()
    exported = Signal(str)
    bookmarks_saved = Signal(int)
    restored = Signal(object)  # the record of a dropped PNG whose latent is now the current point
    projected = Signal(object)  # a dropped picture's projection (latent, label, image, target, error), now current
    modes_ready = Signal(int)  # the count of modes now shown (their thumbnails follow)
    strip_shown = Signal(str, int)  # name and stamp of a strip of thumbnails now on screen

    def __init__(self, parent=None):
        super().__init__(parent)
        self.render = RenderThread(self)
        self.undo_stack = QUndoStack(self)
        self._project = None
        self._info: ModelInfo | None = None
        self._snapshot = None  # the newest api.Snapshot while a run trains: exports use its weights and id
        self._projecting = None  # the Control of the projection under way, if any
        self._directions = None
        self._point = self._committed = Point()
        self._sampling: dict = {}  # the temperature and top-k the render thread's model uses ({}: it has none)
        self._stamp_floor = self._shown_stamp = self.last_stamp = 0
        self._current_image = None
        self._bookmarks: list[dict] = []
        self._strips: dict[str, tuple] = {}  # name -> (stamp, latents or rows) of the newest request
        self._keyframes: list[np.ndarray] = []
        self._saving_bookmarks = self._bookmarks_dirty = False
        self._follow_checkpoints = False  # set when a snapshot did not fit the open model
        explore_layout.build(self)
        self._connect()
        self._init_modes()
        self._init_following()
        app = QCoreApplication.instance()
        if app is not None:  # a running QThread destroyed with its room would abort the process
            app.aboutToQuit.connect(self.shutdown)
        self._show_empty("Open a project to explore its model.")

    def _connect(self) -> None:
        self.render.rendered.connect(self._on_rendered)
        self.render.strip_rendered.connect(self._on_strip_rendered)
        self.render.model_opened.connect(self._on_model_opened)
        self.render.snapshot_loaded.connect(self._on_snapshot_loaded)
        self.render.directions_ready.connect(self._on_directions_ready)
        self.render.failed.connect(self._on_render_failed)
        self.render.message.connect(self.status)
        self.canvas.zoom_changed.connect(self.zoom_label.setText)
        self.canvas.file_dropped.connect(self.restore_png)
        self.smooth_button.toggled.connect(self.canvas.set_smooth)
        self.undo_button.clicked.connect(self.undo_stack.undo)
        self.redo_button.clicked.connect(self.undo_stack.redo)
        self.undo_stack.canUndoChanged.connect(self.undo_button.setEnabled)
        self.undo_stack.canRedoChanged.connect(self.redo_button.setEnabled)
        self.undo_button.setEnabled(False)
        self.redo_button.setEnabled(False)
        self.png_button.clicked.connect(lambda: self.export_png())
        self.seed.valueChanged.connect(self._on_seed_changed)
        self.randomise_button.clicked.connect(self.randomise)
        self.truncation.valueChanged.connect(lambda t: self._move(replace(self._point, truncation=float(t))))
        self.truncation.sliderReleased.connect(lambda: self._commit("Truncation"))
        self.truncation.editingFinished.connect(lambda: self._commit("Truncation"))
        self.label_choice.currentIndexChanged.connect(self._on_label_changed)
        self.temperature.valueChanged.connect(lambda _t: self._on_sampling_changed())
        self.top_k.valueChanged.connect(lambda _k: self._on_sampling_changed())
        self.sliders.amounts_changed.connect(lambda a: self._move(replace(self._point, amounts=tuple(a))))
        self.sliders.edit_finished.connect(lambda: self._commit("Directions"))
        self.spread.sliderReleased.connect(self._request_variations)
        self.spread.editingFinished.connect(self._request_variations)
        self.variation_strip.picked.connect(self._on_variation_picked)
        self.bookmark_panel.add_requested.connect(self.add_bookmark)
        self.bookmark_panel.picked.connect(self._on_bookmark_picked)
        self.bookmark_panel.renamed.connect(self._on_bookmark_renamed)
        self.bookmark_panel.delete_requested.connect(self._on_bookmarks_deleted)
        self.bookmark_panel.interpolate_requested.connect(self.interpolate)
        self.interpolation.frames_per_segment_changed.connect(lambda _n: self._request_frames())
        self.interpolation.frame_shown.connect(lambda image, _i: self.canvas.set_image(imaging.to_qimage(image)))
        self.interpolation.playing_changed.connect(self._on_playing_changed)
        self.interpolation.picked.connect(self._on_frame_picked)
        self.interpolation.export_requested.connect(lambda kind: self.export_animation(kind=kind))
        for keys, slot in (("R", self.randomise), ("Ctrl+B", self.add_bookmark), ("Ctrl+Z", self.undo_stack.undo),
                           ("Ctrl+Shift+Z", self.undo_stack.redo), ("Ctrl+Y", self.undo_stack.redo),
                           ("Ctrl+E", lambda: self.export_png()), ("Space", self.interpolation.toggle),
                           ("S", self.smooth_button.toggle), ("Esc", self.cancel_projection)):
            QShortcut(QKeySequence(keys), self, activated=slot)

    # --- the interface the main window uses ------------------------------------------------------------------
    def set_project(self, project) -> None:
        """Explore `project`: its bookmarks, and its newest model."""
        self._project = project
        self._bookmarks = list(_api().load_bookmarks(project)) if project is not None else []
        self._refresh_bookmarks()
        self.set_model(None)

    def set_model(self, path=None) -> None:
        """Open `path` (a model, checkpoint or run) on the render thread; None: the project's newest model."""
        self.interpolation.pause()
        self.projection_box.hide()  # a projection belongs to the model it was made with
        self._info, self._snapshot, self._directions = None, None, None
        self._forget_modes()
        if path is None and self._project is None:
            self._show_empty("Open a project to explore its model.")
            return
        self._show_empty("Opening the model…")
        if not self.render.isRunning():
            self.render.start()
        self._stamp_floor = self.render.current_stamp()
        self.render.open_model(path if path is not None else self._project.root)

    def set_training_control(self, control) -> None:
        self.render.set_control(control)

    def shutdown(self) -> None:
        self.cancel_projection()
        self.interpolation.pause()
        self._stop_modes_job()
        self.render.stop()

    # --- reading the state (tests, benches, the main window) -------------------------------------------------
    def model_info(self) -> ModelInfo | None:
        return self._info

    def current_point(self) -> Point:
        return self._point

    def current_latent(self) -> np.ndarray:
        """The latent rendered: the seed's or the explicit one, truncated, then moved along the directions."""
        api, point = _api(), self._point
        if point.latent is not None:
            base = np.asarray(point.latent, np.float32)
        else:
            base = api.latents_for_seed(point.seed, self._info.latent_dim, 1)[0]
        base = api.truncate(base, point.truncation)
        if self._directions is None or not any(point.amounts):
            return base
        return api.apply_directions(base, self._directions, point.amounts)

    def label_name(self) -> str | None:
        """The class drawn, by name, for models with labels."""
        label = self._point.label
        return None if label is None or self._info is None else self._info.label_names[label]

    def label_index(self, name) -> int | None:
        """Index of a recorded label name in this model's labels; None when it has none or not that one."""
        if self._info is None or not self._info.can(_api().Capability.LABELS) or name is None:
            return None
        return self._info.label_names.index(name) if name in self._info.label_names else None

    def bookmarks(self) -> list[dict]:
        return list(self._bookmarks)

    def sampling(self) -> dict:
        """The temperature and top-k images are drawn with now; {} for models that draw no codes."""
        return dict(self._sampling)

    # --- moving the point ------------------------------------------------------------------------------------
    def randomise(self) -> None:
        if self._info is not None:
            self.seed.setValue(int(np.random.default_rng().integers(0, MAX_SEED)))

    def go_to(self, point: Point, text: str) -> None:
        """Make `point` current, as one undoable step."""
        before = self._committed
        self._show_point(point)
        if point != before:
            self.undo_stack.push(PointCommand(self._show_point, before, point, text))

    def _move(self, point: Point) -> None:
        """A continuous change (a drag): render it now, commit to the history when the drag ends."""
        if self._info is None or point == self._point:
            return
        self.interpolation.pause()
        self._point = point
        self._request_canvas()

    def _commit(self, text: str) -> None:
        if self._point != self._committed:
            self.undo_stack.push(PointCommand(self._show_point, self._committed, self._point, text))
            self._committed = self._point
            self._request_variations()

    def _show_point(self, point: Point) -> None:
        """Set the widgets to `point` without their signals, then render it (also used by undo/redo)."""
        self._point = self._committed = point
        for widget, value in ((self.seed, point.seed), (self.truncation, point.truncation)):
            widget.blockSignals(True)
            widget.setValue(value)
            widget.blockSignals(False)
        self.sliders.set_amounts(point.amounts)
        if point.label is not None:
            self.label_choice.blockSignals(True)
            self.label_choice.setCurrentIndex(point.label)
            self.label_choice.blockSignals(False)
        self.interpolation.pause()
        self._request_canvas()
        self._request_variations()
        self._follow_class_in_modes()

    def _on_seed_changed(self, seed: int) -> None:
        self._move(self._point.with_seed(seed))
        self.sliders.set_amounts(self._point.amounts)
        self._commit("Seed")

    def _on_label_changed(self, index: int) -> None:
        self._move(replace(self._point, label=index))
        self._commit("Class")
        self._follow_class_in_modes()

    # --- sampling settings (models that draw codes) ---------------------------------------------------------
    def set_sampling(self, settings: dict) -> None:
        """Show and use `settings` (temperature, top_k; missing ones stay), e.g. those a dropped PNG recorded."""
        if self._info is None or not self._sampling:
            return
        settings = {key: settings[key] for key in self._sampling if settings.get(key) is not None}
        for widget, key in ((self.temperature, "temperature"), (self.top_k, "top_k")):
            if key in settings:
                widget.blockSignals(True)
                widget.setValue(settings[key])
                widget.blockSignals(False)
        self._use_sampling({**self._sampling, **settings})

    def _on_sampling_changed(self) -> None:
        if self._info is not None and self._sampling:
            values = {"temperature": float(self.temperature.value()), "top_k": int(self.top_k.value())}
            self._use_sampling({key: values[key] for key in self._sampling})

    def _use_sampling(self, settings: dict) -> None:
        """New temperature or top-k: the model takes them before the next render, and every image is made again."""
        if settings == self._sampling:
            return
        self._sampling = settings
        self.render.set_sampling(**settings)
        self.interpolation.pause()
        self._request_canvas()
        self._request_variations()
        self._request_bookmark_thumbnails()
        self._request_frames()

    # --- rendering -------------------------------------------------------------------------------------------
    def _request_canvas(self) -> None:
        self.last_stamp = self.render.request(self.current_latent(), self._point.label)

    def _request_strip(self, name: str, latents: np.ndarray, extra=None, labels: list | None = None) -> None:
        if labels is None and self._point.label is not None:
            labels = [self._point.label] * len(latents)
        self._strips[name] = (self.render.request_strip(name, latents, labels), latents, extra)

    def _request_variations(self) -> None:
        """Neighbours of the point; right after a mode click, more draws from that mode instead."""
        if self._info is None or not self._info.can(_api().Capability.CONTINUOUS_LATENT):
            return
        visit = self._mode_samples()
        if visit is not None:
            self.variations_box.setTitle(f"Variations: more from Mode {visit[0] + 1}")
            self._request_strip("variations", visit[1])
            return
        self.variations_box.setTitle("Variations")
        spread = float(self.spread.value())
        self._request_strip("variations", _api().variations(self.current_latent(), VARIATIONS, spread,
                                                            seed=self._point.seed))

    def _request_bookmark_thumbnails(self) -> None:
        rows = [i for i, b in enumerate(self._bookmarks) if self._usable(b)]
        if self._info is not None and rows:
            latents = np.asarray([self._bookmarks[i]["latent"] for i in rows], np.float32)
            labels = None
            if self._point.label is not None:  # each bookmark in its own class, where it recorded one
                labels = [self.label_index(self._bookmarks[i].get("label")) for i in rows]
                labels = [self._point.label if label is None else label for label in labels]
            self._request_strip("bookmarks", latents, rows, labels)

    def _request_frames(self) -> None:
        if self._info is None or len(self._keyframes) < 2:
            return
        frames = _api().interpolate(self._keyframes, frames_per_segment=self.interpolation.steps.value(), loop=True)
        self.interpolation.set_path(len(frames), len(self._keyframes))
        self._request_strip("frames", frames)

    def _on_rendered(self, image: np.ndarray, stamp: int) -> None:
        if stamp <= max(self._shown_stamp, self._stamp_floor) or self._info is None:
            return  # older than what is on screen, or made by the previous model
        self._shown_stamp = stamp
        self._current_image = imaging.to_qimage(image)
        if not self.interpolation.playing():
            self.canvas.set_image(self._current_image)
        self.frame_shown.emit(stamp)

    def _on_strip_rendered(self, name: str, images: np.ndarray, stamp: int) -> None:
        request = self._strips.get(name)
        if request is None or request[0] != stamp:
            return
        if name == "variations":
            self.variation_strip.set_count(len(images))
            self.variation_strip.set_images(images)
        elif name == "bookmarks":
            self.bookmark_panel.set_thumbnails(images, request[2])
        elif name == "frames":
            self.interpolation.set_frames(images)
        elif name == "modes":
            self.modes_panel.set_images(images)
        self.strip_shown.emit(name, stamp)

    def _on_model_opened(self, info: ModelInfo) -> None:
        self._info, self._directions = info, None
        Capability = _api().Capability
        continuous = info.can(Capability.CONTINUOUS_LATENT)
        self._point_form.setRowVisible(self.truncation, info.can(Capability.TRUNCATION))
        self._point_form.setRowVisible(self.label_choice, info.can(Capability.LABELS))
        self._sampling = dict(info.sampling)
        for widget, key in ((self.temperature, "temperature"), (self.top_k, "top_k")):
            self._point_form.setRowVisible(widget, key in info.sampling)
            widget.blockSignals(True)
            if widget is self.top_k:
                widget.setMaximum(max(info.codebook_size or 1024, int(info.sampling.get("top_k", 0))))
            if key in info.sampling:
                widget.setValue(info.sampling[key])
            widget.blockSignals(False)
        self.label_choice.blockSignals(True)
        self.label_choice.clear()
        self.label_choice.addItems(list(info.label_names))
        self.label_choice.blockSignals(False)
        for widget in (self.directions_box, self.variations_box, self.interpolation_box):
            widget.setVisible(continuous)
        self.sliders.set_directions([])
        self.sliders.set_waiting_text("Finding the main directions…")
        self.undo_stack.clear()
        label = 0 if info.can(Capability.LABELS) and info.label_names else None
        self._show_point(Point(seed=self.seed.value(), truncation=1.0, label=label))
        self.pages.setCurrentIndex(1)
        if continuous:
            load = None
            if info.can(Capability.ENCODER) and self._project is not None:
                load = partial(explore_jobs.direction_inputs, self._project, info.size, info.can(Capability.LABELS))
            self.render.fit_directions(DIRECTIONS, load)
        self._refresh_bookmarks()
        self._request_frames()
        self._open_modes(info)
        self.model_label.setText(f"{info.family} · step {info.step} · {info.size} px")
        self.status.emit(f"Exploring {info.family} model {info.id} (step {info.step}, {info.size} px)")
        self.model_ready.emit(info)

    def _on_snapshot_loaded(self, step: int) -> None:
        self._request_variations()
        self._request_bookmark_thumbnails()
        self._request_mode_thumbnails()  # the same modes, drawn with the newer weights
        self._request_frames()
        self.model_label.setText(f"{self._info.family} · step {step} · {self._info.size} px · training")
        self.status.emit(f"Explore shows the training run's newest weights (step {step})")

    def _on_directions_ready(self, directions) -> None:
        self._directions = directions
        tips = [f"{name}: one typical step is {scale:.2f} in latent units"
                for name, scale in zip(directions.names, directions.scales)]
        self.sliders.set_directions(list(directions.names), tips)
        self._point = self._committed = replace(self._point, amounts=tuple(0.0 for _ in directions.names))
        self.directions_ready.emit()

    def _on_render_failed(self, what: str, reason: str) -> None:
        if what == "open":
            self._info = None
            self._show_empty(reason)
        elif what == "directions":
            self.sliders.set_waiting_text(f"No directions: {reason}")
        elif what == "snapshot":
            self._follow_checkpoints = True
        self.status.emit(f"Explore could not {what}: {reason}")

    def _show_empty(self, reason: str) -> None:
        self.pages.setCurrentIndex(0)
        self.canvas.show_message("")
        self.empty.setText(f"<h2>Train a model first</h2><p>{reason}</p>"
                           "<p>The Train room makes one; it appears here with its first checkpoint.</p>"
                           if "Opening" not in reason else f"<h3>{reason}</h3>")
