"""The latent atlas: a map of the training images and of samples by where they lie in the model's space
(engine/atlas.py). A click goes to the point the map stands for there; a path drawn with Shift held down becomes a
loop that plays on the canvas and exports as a GIF or MP4. The map is made on a worker (encoding the images, a
GAN's encoder learned once, the layout) with progress, and kept beside the checkpoint."""
from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QToolButton, QVBoxLayout

from .. import explore_jobs
from ..widgets.atlas_view import AtlasView
from ..widgets.duration import duration
from ..workers import run_task
from .tool import Tool

SAMPLE_THUMBNAILS = 64  # samples drawn on the map (the rest of the atlas's samples stay as positions)
PATH_FRAMES = 12  # frames per leg of a drawn path


def time_left(elapsed: float, done: int, left: int) -> str:
    """' about 12 min left' at the pace so far, once there is a pace to go by (a few seconds of it)."""
    if done <= 0 or elapsed < 3 or left <= 0:
        return ""
    return f" about {duration(elapsed / done * left)} left"


class AtlasTool(Tool):
    name = "atlas"
    title = "Atlas"
    ready = Signal(int)  # the number of points on the map
    path_ready = Signal(int)  # the frames of the loop a path made

    def __init__(self, context):
        super().__init__(context)
        self._atlas = None
        self._control = None
        self._generation = 0
        self._loop: np.ndarray | None = None  # latents of the path's loop
        self._path_images: np.ndarray | None = None  # its frames, once rendered
        self.view = AtlasView()
        self.view.setMinimumHeight(300)
        self.info = QLabel("", wordWrap=True)
        self.make_button = QPushButton("Map the space", toolTip="Place your images and samples on a map of the "
                                       "model's space (a GAN first learns an encoder: about a minute)")
        self.progress = QProgressBar(textVisible=False, maximumHeight=8)
        self.cancel_button = QToolButton(text="Cancel")
        self.play_button = QPushButton("Play path", checkable=True, toolTip="Play the loop of the path drawn")
        self.export_button = QPushButton("Export loop…", toolTip="Save the loop of the path drawn as a GIF or MP4")
        self.widget = QGroupBox(self.title)
        top = QHBoxLayout()
        top.addWidget(self.make_button)
        top.addWidget(self.progress, 1)
        top.addWidget(self.cancel_button)
        bottom = QHBoxLayout()
        bottom.addWidget(self.play_button)
        bottom.addWidget(self.export_button)
        bottom.addStretch(1)
        box = QVBoxLayout(self.widget)
        box.addWidget(self.info)
        box.addLayout(top)
        box.addWidget(self.view)
        box.addLayout(bottom)
        self._timer = QTimer(self, interval=1000 // 24, timeout=self._next_frame)
        self._frame = 0
        self.make_button.clicked.connect(self.make)
        self.cancel_button.clicked.connect(self.cancel)
        self.view.clicked.connect(self.go_to_map_point)
        self.view.path_drawn.connect(self.use_path)
        self.play_button.toggled.connect(self._on_play)
        self.export_button.clicked.connect(lambda: self.export_loop())
        self._busy(False)
        self._has_path(False)

    def applies_to(self, info) -> bool:
        from engine.api import Capability

        return info.can(Capability.CONTINUOUS_LATENT)

    def atlas(self):
        return self._atlas

    # --- hooks -------------------------------------------------------------------------------------------
    def model_opened(self, info) -> None:
        self._generation += 1
        self._atlas = None
        self.view.scene().clear()
        self._has_path(False)
        if self.context.project() is None:
            self.info.setText("Off: the atlas maps the project's training images, and this model was opened "
                              "without its project.")
            self.make_button.setEnabled(False)
            return
        self.make_button.setEnabled(True)
        self.info.setText("A map of your images and of samples, by where they lie in the model's space.")

    def model_closed(self) -> None:
        self.cancel()
        self._generation += 1
        self._on_play(False)

    def shutdown(self) -> None:
        self.cancel()
        self._timer.stop()

    def strip_rendered(self, name: str, images) -> None:
        if name == "path":
            self._path_images = images
        elif self._atlas is not None:
            first = int(np.flatnonzero(self._atlas.images < 0)[0])
            self.view.set_thumbnails(range(first, first + len(images)), images)

    def weights_changed(self, step: int) -> None:
        self._request_samples()

    # --- making the map ----------------------------------------------------------------------------------
    def make(self) -> None:
        from engine.api import Control

        info = self.context.info()
        if info is None or self.context.project() is None:
            return
        self.cancel()
        control = self._control = Control()
        generation, path, project = self._generation, info.path, self.context.project()
        size, aspect = info.size, info.aspect
        self._busy(True)
        self.info.setText("Placing your images…")

        stage = {"what": None}

        def progress(event) -> None:
            if event.total and control is self._control:
                if event.what != stage["what"]:  # a new stage: its own clock
                    stage.update(what=event.what, since=time.monotonic(), done=event.done)
                self.progress.setMaximum(event.total)
                self.progress.setValue(event.done)
                self.info.setText(f"{event.what[0].upper()}{event.what[1:]}…"
                                  + time_left(time.monotonic() - stage["since"], event.done - stage["done"],
                                              event.total - event.done))

        run_task(lambda on_event, task_control: explore_jobs.atlas(path, project, size, aspect, on_event,
                                                                   task_control),
                 control=control, on_event=progress, on_done=lambda result: self._on_atlas(generation, result),
                 owner=self.widget, on_failed=lambda reason: self._on_failed(generation, reason),
                 on_cancelled=lambda: self.info.setText("Map cancelled."),
                 on_finished=lambda: self._busy(False) if self._control is control else None)

    def cancel(self) -> None:
        if self._control is not None:
            self._control.request_stop()

    def _on_atlas(self, generation: int, result) -> None:
        if generation != self._generation:
            return
        atlas, picture = result
        self._atlas = atlas
        own = atlas.images >= 0
        self.view.set_points(atlas.positions, own)
        self.view.set_mosaic(picture, explore_jobs.MOSAIC_THUMB)
        self._request_samples()
        self.info.setText(f"{int(own.sum())} of your images (framed) and {int((~own).sum())} samples, laid out by "
                          f"{atlas.method}. Click to go there; Shift-drag to draw a path.")
        self.ready.emit(len(atlas.positions))

    def _on_failed(self, generation: int, reason: str) -> None:
        if generation == self._generation:
            self.info.setText(f"No map: {reason}")
            self.context.notify(f"The atlas could not be made: {reason}")

    def _request_samples(self) -> None:
        if self._atlas is None:
            return
        from engine.api import Look

        label = self.context.look().label
        samples = self._atlas.latents[self._atlas.images < 0][:SAMPLE_THUMBNAILS]
        self.context.request_strip(self, "samples", [Look(latent, label) for latent in samples])

    # --- clicking and paths --------------------------------------------------------------------------------
    def go_to_map_point(self, x: float, y: float) -> None:
        if self._atlas is None:
            return
        self.view.mark(x, y)
        self.context.go_to(self.context.point().with_latent(self._atlas.point_at(x, y)), "Atlas")

    def use_path(self, points) -> None:
        """A path drawn on the map: its loop (there and back to the start) plays and can be exported."""
        if self._atlas is None or len(points) < 2:
            return
        step = max(1, len(points) // 8)  # a hand-drawn stroke has many points; its shape needs a few
        corners = list(points[::step])
        if tuple(corners[-1]) != tuple(points[-1]):
            corners.append(points[-1])
        corners.append(points[0])  # and back: a loop
        self._loop = self._atlas.path(corners, PATH_FRAMES)[:-1]  # its last frame would repeat the first
        self.view.draw_path(corners)
        self._has_path(True)
        from engine.api import Look

        label = self.context.look().label
        self.context.request_strip(self, "path", [Look(latent, label) for latent in self._loop])
        self.path_ready.emit(len(self._loop))

    def loop_latents(self) -> np.ndarray | None:
        return self._loop

    def export_loop(self, path: str | None = None, kind: str = "gif") -> None:
        frames = self._loop
        if frames is None or self.context.info() is None:
            return
        model_path, snapshot, sampling = self.context.model_source()
        project = self.context.project()
        pattern = "GIF animations (*.gif)" if kind == "gif" else "MP4 videos (*.mp4)"
        self.context.export(f"Export {kind.upper()}", f"atlas-path.{kind}", pattern, path, f"{len(frames)} frames",
                            lambda out: explore_jobs.export_animation(model_path, snapshot, frames, out, 24, sampling,
                                                                      project))

    def _on_play(self, on: bool) -> None:
        if on and self._path_images is not None:
            self._frame = 0
            self._timer.start()
        else:
            self._timer.stop()
            self.play_button.setChecked(False)
            self.context.show_frame(None)

    def _next_frame(self) -> None:
        if self._path_images is None or not len(self._path_images):
            return
        self.context.show_frame(self._path_images[self._frame % len(self._path_images)])
        self._frame += 1

    def _busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.make_button.setEnabled(not busy)

    def _has_path(self, has: bool) -> None:
        self._path_images = None
        self.play_button.setEnabled(has)
        self.export_button.setEnabled(has)
