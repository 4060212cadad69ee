"""The Explore room: a trained model's latent space as a canvas and a point (seed, truncation, class, sampling),
with tools around it (gui/explore_tools/: projection, style mixing, modes, directions, bookmarks with
interpolation, variations), each one module that knows the room only through the narrow context below. An
image-to-image model has no latent space: the room shows it in the Translate view (gui/translate_view.py) instead.

The room turns the point into an engine Look (the tools add theirs: a move along the directions) and looks into
pixels. Every image is made on the `RenderThread` (gui/render.py) from the newest request only; exports, PNG
reading, bookmark writes and the tools' jobs run on a QThreadPool. The GUI thread only computes latents (cheap
NumPy inside engine.api), keeps the undo history and paints. It must not import torch at module level, render,
or read and write files itself.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
from PySide6.QtCore import QCoreApplication, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QApplication, QWidget

from . import explore_layout, explore_tools, imaging, shortcuts
from .explore_following import FollowingMixin
from .explore_keeping import KeepingMixin
from .explore_point_box import PointBoxMixin
from .explore_point import Point, PointCommand
from .render import ModelInfo, RenderThread

SETTLE_MS = 600  # a change made without a held button (wheel, arrow keys) joins the history once it rests this long

def _api():
    from engine import api  # imported on first use: the window must not wait for torch

    return api


class ExploreRoom(FollowingMixin, KeepingMixin, PointBoxMixin, QWidget):
    status = Signal(str)
    frame_shown = Signal(int)  # stamp of the render request whose image the canvas now shows
    model_ready = Signal(object)  # ModelInfo
    exported = Signal(str)
    restored = Signal(object)  # the record of a dropped PNG whose point is now the current one
    strip_shown = Signal(str, int)  # "tool:name" and stamp of a strip of thumbnails now on screen

    def __init__(self, parent=None):
        super().__init__(parent)
        self.render = RenderThread(self)
        self.undo_stack = QUndoStack(self)
        self._project = None
        self._info: ModelInfo | None = None
        self._snapshot = None  # the newest api.Snapshot while a run trains: exports use its weights and id
        self._point = self._committed = Point()
        self._settle = QTimer(self, singleShot=True, interval=SETTLE_MS)
        self._settle.timeout.connect(self._on_settled)
        self._sampling: dict = {}  # the temperature and top-k the render thread's model uses ({}: it has none)
        self._stamp_floor = self._shown_stamp = self.last_stamp = 0
        self._current_image = None
        self._strips: dict[str, tuple] = {}  # "tool:name" -> (stamp, looks) of the newest request
        self._follow_checkpoints = False  # set when a snapshot did not fit the open model
        explore_layout.build(self)
        self.tools = explore_tools.create(self)
        for tool in self.tools:
            (self.below if tool.place == "below" else self.side).addWidget(tool.widget)
            if tool.below is not None:
                self.below.addWidget(tool.below)
            for keys, slot, what in tool.shortcuts:  # on the canvas: hidden behind the Translate view, they leave
                shortcuts.bind(keys, self.canvas, slot, what)  # it its keys
        self.side.addStretch(1)
        self._connect()
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
        self.render.computed.connect(self._on_computed)
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
        self.truncation.valueChanged.connect(lambda t: self.move(replace(self._point, truncation=float(t))))
        self.truncation.sliderReleased.connect(lambda: self.commit("Truncation"))
        self.truncation.editingFinished.connect(lambda: self.commit("Truncation"))
        self.label_choice.currentIndexChanged.connect(self._on_label_changed)
        self.temperature.valueChanged.connect(lambda _t: self._on_sampling_changed())
        self.top_k.valueChanged.connect(lambda _k: self._on_sampling_changed())
        for keys, slot, what in (("R", self.randomise, "A new random seed"),
                                 ("Ctrl+Z", self.undo_stack.undo, "Go back to the previous point"),
                                 ("Ctrl+Shift+Z", self.undo_stack.redo, "Go forward again"),
                                 ("Ctrl+Y", self.undo_stack.redo, "Go forward again"),
                                 ("Ctrl+E", lambda: self.export_png(), "Export the image as a PNG with its point"),
                                 ("S", self.smooth_button.toggle, "Smooth scaling or exact pixels")):
            shortcuts.bind(keys, self.canvas, slot, what)

    # --- the interface the main window uses ------------------------------------------------------------------
    def set_project(self, project) -> None:
        """Explore `project`: its bookmarks, and its newest model."""
        self._project = project
        self._pending_picture = None  # a grid picture of another project's run
        self.tool("bookmarks").load(list(_api().load_bookmarks(project)) if project is not None else [])
        self.refresh_saved_models()
        self.set_model(None)

    def set_model(self, path=None) -> None:
        """Open `path` (a model, checkpoint or run) on the render thread; None: the project's newest model."""
        for tool in self.tools:
            tool.model_closed()
        self.translate_view.model_closed()
        self._info, self._snapshot = None, None
        self._strips.clear()
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
        for tool in self.tools:
            tool.shutdown()
        self.render.stop()

    # --- reading the state (tests, benches, the main window) -------------------------------------------------
    def tool(self, name: str):
        return next(tool for tool in self.tools if tool.name == name)

    def model_info(self) -> ModelInfo | None:
        return self._info

    def current_point(self) -> Point:
        return self._point

    def current_latent(self) -> np.ndarray:
        """The latent rendered: the seed's or the explicit one, truncated (in z), moved along the directions."""
        return self.look().latent

    def label_name(self) -> str | None:
        """The class drawn, by name, for models with labels."""
        label = self._point.label
        return None if label is None or self._info is None else self._info.label_names[label]

    def label_index(self, name) -> int | None:
        """Index of a recorded label name in this model's labels; None when it has none or not that one."""
        if self._info is None or not self._info.can(_api().Capability.LABELS) or name is None:
            return None
        return self._info.label_names.index(name) if name in self._info.label_names else None

    def sampling(self) -> dict:
        """The temperature and top-k images are drawn with now; {} for models that draw no codes."""
        return dict(self._sampling)

    def strip_request(self, key: str) -> tuple | None:
        """(stamp, looks) of the newest request of a strip, "tool:name"."""
        return self._strips.get(key)

    # --- the context the tools see (gui/explore_tools/tool.py) ------------------------------------------------
    def info(self) -> ModelInfo | None:
        return self._info

    def project(self):
        return self._project

    def point(self) -> Point:
        return self._point

    def look(self, point: Point | None = None):
        """The engine Look `point` renders as: the seed's or explicit latent, truncated in z (or with ψ, a mix and a
        move in W for a style-based model), and what each tool adds."""
        api, point = _api(), point or self._point
        if point.latent is not None:
            base = np.asarray(point.latent, np.float32)
        else:
            base = api.latents_for_seed(point.seed, self._info.latent_dim, 1)[0]
        if self._info.in_w:
            shift = None if point.shift is None else np.asarray(point.shift, np.float32).reshape(
                self._info.num_styles, -1)
            look = api.Look(base, point.label, point.truncation,
                            None if point.mix is None else np.asarray(point.mix, np.float32), point.mix_layers, shift)
        else:
            look = api.Look(api.truncate(base, point.truncation), point.label)
        for tool in self._tools_shown():
            look = tool.shape(point, look)
        return look

    def look_of(self, record: dict):
        return _api().Look.from_record(record, self.label_index(record.get("label")) if record.get("label")
                                       is not None else self._point.label, self._info.in_w)

    def go_to(self, point: Point, text: str) -> None:
        """Make `point` current, as one undoable step."""
        before = self._committed
        self._show_point(point)
        if point != before:
            self.undo_stack.push(PointCommand(self._show_point, before, point, text))

    def move(self, point: Point) -> None:
        """A continuous change (a drag): render it now, commit to the history when the drag ends, or once it rests
        when nothing was held (a wheel turn or an arrow key on a slider has no release)."""
        if self._info is None or point == self._point:
            return
        self._point = point
        self._request_canvas()
        self._settle.start()

    def _on_settled(self) -> None:
        if QApplication.mouseButtons() != Qt.MouseButton.NoButton:  # still dragging: its release commits it
            self._settle.start()
        else:
            self.commit("Adjust")

    def commit(self, text: str) -> None:
        if self._point != self._committed:
            self.undo_stack.push(PointCommand(self._show_point, self._committed, self._point, text))
            self._committed = self._point
            self.refresh()

    def refresh(self) -> None:
        for tool in self._tools_shown():
            tool.point_changed(self._point)

    def request_strip(self, tool, name: str, looks: list) -> int:
        key = f"{tool.name}:{name}"
        stamp = self.render.request_strip(key, looks)
        self._strips[key] = (stamp, list(looks))
        return stamp

    def compute(self, tool, name: str, work) -> None:
        self.render.compute(f"{tool.name}:{name}", work)

    def model_source(self) -> tuple:
        return self._info.path, self._snapshot, self.sampling()

    def show_frame(self, image) -> None:
        shown = self._current_image if image is None else imaging.to_qimage(image)
        if shown is not None:
            self.canvas.set_image(shown)

    def bookmarks(self) -> list[dict]:
        return self.tool("bookmarks").bookmarks()

    def offered_variations(self, point):
        for tool in self._tools_shown():
            offered = tool.variations(point)
            if offered is not None:
                return offered
        return None

    def notify(self, text: str) -> None:
        self.status.emit(text)

    def _tools_shown(self) -> list:
        return [tool for tool in self.tools if self._explores() and tool.applies_to(self._info)]

    def _explores(self) -> bool:
        """A model with a latent space is open (not none, nor one that translates pictures)."""
        return self._info is not None and not self._info.translates

    # --- rendering -------------------------------------------------------------------------------------------
    def _request_canvas(self) -> None:
        if self._explores():
            self.last_stamp = self.render.request(self.look())

    # The render thread's signals arrive queued. Each receiver is a declared Slot: PySide6 then delivers through
    # Qt's own slot table, which drops a call whose receiver is gone; an undeclared method went through PySide's
    # dynamic slot and once read a freed object here (a segmentation fault in 1 of ~30 test runs, caught in gdb).
    @Slot(object, int)
    def _on_rendered(self, image: np.ndarray, stamp: int) -> None:
        if stamp <= max(self._shown_stamp, self._stamp_floor) or self._info is None:
            return  # older than what is on screen, or made by the previous model
        self._shown_stamp = stamp
        self._current_image = imaging.to_qimage(image)
        self.canvas.set_image(self._current_image)
        self.frame_shown.emit(stamp)

    @Slot(str, object, int)
    def _on_strip_rendered(self, key: str, images: np.ndarray, stamp: int) -> None:
        request = self._strips.get(key)
        if request is None or request[0] != stamp:
            return
        name, part = key.split(":", 1)
        self.tool(name).strip_rendered(part, images)
        self.strip_shown.emit(key, stamp)

    @Slot(str, object)
    def _on_computed(self, key: str, result) -> None:
        name, part = key.split(":", 1)
        if self._info is not None:
            self._asker(name).computed(part, result)

    def _asker(self, name: str):
        """Whoever asked the render thread for work under `name`: a tool, or the Translate view."""
        return self.translate_view if name == self.translate_view.name else self.tool(name)

    @Slot(object)
    def _on_model_opened(self, info: ModelInfo) -> None:
        self._info = info
        Capability = _api().Capability
        form = self.point_form
        form.setRowVisible(self.truncation, info.can(Capability.TRUNCATION))
        form.setRowVisible(self.label_choice, info.can(Capability.LABELS))
        self._sampling = dict(info.sampling)
        for widget, key in ((self.temperature, "temperature"), (self.top_k, "top_k")):
            form.setRowVisible(widget, key in info.sampling)
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
        shown = self._tools_shown()
        for tool in self.tools:
            for widget in (tool.widget, tool.below):
                if widget is not None:
                    widget.setVisible(tool in shown)
        self.undo_stack.clear()
        label = 0 if info.can(Capability.LABELS) and info.label_names else None
        self._point = self._committed = Point(seed=max(0, self.seed.value()), truncation=1.0, label=label)
        for tool in shown:
            tool.model_opened(info)
        self._show_point(self._point)
        for widget in self.latent_only:
            widget.setVisible(not info.translates)
        self.translate_view.bar.setVisible(info.translates)
        self.views.setCurrentWidget(self.translate_view if info.translates else self.canvas)
        if info.translates:
            self.translate_view.model_opened(info)
        self.pages.setCurrentIndex(1)
        self.model_label.setText(f"{info.family} · step {info.step} · {info.size} px")
        self.status.emit(f"Exploring {info.family} model {info.id} (step {info.step}, {info.size} px)")
        self.model_ready.emit(info)
        if self._pending_picture is not None:
            self.explore_grid_picture(self._pending_picture)

    @Slot(int)
    def _on_snapshot_loaded(self, step: int) -> None:
        for tool in self._tools_shown():
            tool.weights_changed(step)
        if self._info.translates:
            self.translate_view.weights_changed(step)
        self.model_label.setText(f"{self._info.family} · step {step} · {self._info.size} px · training")
        self.status.emit(f"Explore shows the training run's newest weights (step {step})")

    @Slot(str, str)
    def _on_render_failed(self, what: str, reason: str) -> None:
        if ":" in what:  # work a tool gave the render thread
            name, part = what.split(":", 1)
            if self._info is not None:
                self._asker(name).computed_failed(part, reason)
            what = f"finish {part}"
        elif what == "open":
            self._info = None
            self._show_empty(reason)
        elif what == "snapshot":
            self._follow_checkpoints = True
        self.status.emit(f"Explore could not {what}: {reason}")

    def _show_empty(self, reason: str) -> None:
        self.pages.setCurrentIndex(0)
        self.canvas.show_message("")
        self.empty.setText(f"<h2>Train a model first</h2><p>{reason}</p>"
                           "<p>The Train room makes one; it appears here with its first checkpoint.</p>"
                           if "Opening" not in reason else f"<h3>{reason}</h3>")
