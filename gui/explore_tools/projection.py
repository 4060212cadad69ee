"""Projection: a picture of the artist's own (dropped on the canvas) or one of the training images becomes the
model's closest point, as one undoable move. Encoders encode; GANs search by optimisation (engine/projection.py),
off the GUI thread with progress, and Esc or another picture cancels. The panel shows the picture as the model
sees it beside what its point draws, with the error."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QToolButton, QVBoxLayout

from .. import explore_jobs, imaging
from ..workers import run_task
from .tool import Tool


class ProjectionTool(Tool):
    name = "projection"
    title = "Your picture, and its closest point"
    projected = Signal(object)  # the projection now current: {latent, label, image, target, error, name}

    def __init__(self, context):
        super().__init__(context)
        self.target, self.found = QLabel(), QLabel()
        self.error = QLabel(wordWrap=True, toolTip="The mean squared difference between the two, with pixels "
                                                   "from -1 to 1: 0 is identical")
        self.progress = QProgressBar(textVisible=False, maximumHeight=8)
        self.cancel_button = QToolButton(text="Cancel", toolTip="Stop the projection under way (Esc)")
        self.training_button = QPushButton("Project a training image",
                                           toolTip="Find the model's closest point to one of your training images, "
                                                   "picked at random: how well does the model know them?")
        self.widget = QGroupBox(self.title)
        self.widget.setToolTip("Drop a picture of your own on the canvas: the model's closest point becomes the "
                               "current one. Left: your picture as the model sees it; right: what the point draws")
        pair = QHBoxLayout()
        pair.addWidget(self.target)
        pair.addWidget(self.found)
        pair.addStretch(1)
        working = QHBoxLayout()
        working.addWidget(self.progress, 1)
        working.addWidget(self.cancel_button)
        box = QVBoxLayout(self.widget)
        box.addWidget(QLabel("Drop a picture on the canvas to find the model's closest point to it.", wordWrap=True))
        box.addLayout(pair)
        box.addWidget(self.error)
        box.addLayout(working)
        box.addWidget(self.training_button)
        self._control = None  # the Control of the projection under way
        self._picks = np.random.default_rng()
        self.shortcuts = [("Esc", self.cancel, "Stop finding a picture's closest point")]
        self.cancel_button.clicked.connect(self.cancel)
        self.training_button.clicked.connect(self.project_training_image)
        self._show_result(None)

    def model_closed(self) -> None:
        self.cancel()
        self._show_result(None)  # a projection belongs to the model it was made with

    def model_opened(self, info) -> None:
        self.training_button.setVisible(self.context.project() is not None)

    def shutdown(self) -> None:
        self.cancel()

    def picture_dropped(self, path: str) -> bool:
        self.project_image(path)
        return True

    def project_image(self, path: str) -> None:
        """The current point becomes the model's closest point to the picture at `path`."""
        project = self.context.project()
        background = project.dataset.background if project is not None else (255, 255, 255)
        self._start(Path(path).name, lambda source, on_event, control: explore_jobs.project_image(
            *source, path, background, on_event, control))

    def project_training_image(self, index: int | None = None) -> None:
        """The same for training image `index` (None: one at random)."""
        project = self.context.project()
        if project is None:
            return
        seed = int(self._picks.integers(0, 2**31 - 1))
        self._start("a training image", lambda source, on_event, control: explore_jobs.project_training_image(
            *source, project, index, seed, on_event, control))

    def cancel(self) -> None:
        if self._control is not None:
            self._control.request_stop()

    def _start(self, name: str, job) -> None:
        if self.context.info() is None:
            return
        from engine.api import Control  # loaded with the model, on the engine's thread

        self.cancel()
        control = self._control = Control()
        source = self.context.model_source()
        self.context.notify(f"Projecting {name} into the model…")
        self.progress.setValue(0)
        self.progress.show()
        self.cancel_button.show()
        self.widget.show()

        def progress(event) -> None:
            if event.total and control is self._control:
                self.progress.setMaximum(event.total)
                self.progress.setValue(event.done)

        def done(found: dict) -> None:
            shown = found.get("name", name)
            self.context.go_to(self.context.point().with_latent(found["latent"], None, found["label"]),
                               f"Projected {shown}")
            self._show_result(found, shown)
            self.projected.emit(found)
            self.context.notify(f"Projected {shown}: the closest point draws it with an error of "
                                f"{found['error']:.4f} (mean squared, -1..1 pixels); Ctrl+Z goes back")

        def finished() -> None:
            if self._control is control:
                self._control = None
                self.progress.hide()
                self.cancel_button.hide()

        run_task(lambda on_event, task_control: job(source, on_event, task_control), control=control,
                 on_event=progress, on_done=done, on_finished=finished,
                 on_cancelled=lambda: self.context.notify(f"Projection of {name} cancelled"),
                 owner=self.widget, on_failed=lambda reason: self.context.notify(f"Could not project {name}: {reason}"))

    def _show_result(self, found: dict | None, name: str = "") -> None:
        self.progress.hide()
        self.cancel_button.hide()
        for label in (self.target, self.found, self.error):
            label.setVisible(found is not None)
        if found is None:
            return
        self.target.setPixmap(imaging.thumbnail(found["target"], 96))
        self.found.setPixmap(imaging.thumbnail(found["image"], 96))
        self.error.setText(f"{name} · error {found['error']:.4f}")
