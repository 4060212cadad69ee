"""The memorisation meter: did the model copy one of the artist's images? For the image on the canvas (and, on
request, its variations or any picture on disk, such as an export) it shows the nearest training images, how
similar the closest is, and whether that counts as a copy, calibrated on the project's own images
(engine/memorisation.py). The meter is built and every verdict is reached off the GUI thread."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from .. import imaging
from ..workers import run_task
from ..settings import pictures_folder, remember_pictures_folder
from .tool import Tool
from .variations import COUNT as VARIATIONS

SIDE = 56  # thumbnail side


class MeterTool(Tool):
    name = "meter"
    title = "Copy check"
    judged = Signal(object)  # {"what", "verdicts"}: the verdicts just shown

    def __init__(self, context):
        super().__init__(context)
        self._meter = None  # an engine Meter, once built
        self._generation = 0  # bumped by every model change; results for an older model are dropped
        self._alpha = False  # whether the model draws transparency: its nearest images then show theirs
        self.verdict = QLabel("", wordWrap=True)
        self.nearest = [QLabel() for _ in range(3)]
        self.variations_button = QPushButton("Check the variations", toolTip="Do any of the variations copy a "
                                             "training image?")
        self.picture_button = QPushButton("Check a picture…", toolTip="Is a picture on disk (an export, a "
                                          "training image) a copy of one of your images?")
        self.widget = QGroupBox(self.title)
        self.widget.setToolTip("Is the image a copy of one of your training images? The meter compares pictures "
                               "pixel by pixel, allowing small shifts, re-encodings and resizes; its threshold is "
                               "set on your own images: lightly altered ones count as copies, the others do not")
        row = QHBoxLayout()
        for label in self.nearest:
            label.setFixedSize(SIDE, SIDE)
            row.addWidget(label)
        row.addStretch(1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.variations_button)
        buttons.addWidget(self.picture_button)
        box = QVBoxLayout(self.widget)
        box.addWidget(self.verdict)
        box.addLayout(row)
        box.addLayout(buttons)
        self.variations_button.clicked.connect(self.check_variations)
        self.picture_button.clicked.connect(lambda: self.check_picture())

    def meter(self):
        return self._meter

    # --- hooks -------------------------------------------------------------------------------------------
    def model_opened(self, info) -> None:
        self._generation += 1
        self._meter = None
        project = self.context.project()
        self._show_nearest([])
        self._enable(False)
        if project is None:
            self.verdict.setText("Off: the meter compares with the project's training images, and this model was "
                                 "opened without its project.")
            return
        self.verdict.setText("Preparing the copy check on your images…")
        generation, size, flips, aspect = self._generation, info.size, info.flips, info.aspect
        self._alpha = info.output[0] == 4

        def build(_on_event, control):
            from engine import api

            return api.meter_for(project, size=size, flips=flips, control=control, aspect=aspect)

        run_task(build, on_done=lambda meter: self._on_meter(generation, meter),
                 owner=self.widget, on_failed=lambda reason: self._on_meter_failed(generation, reason))

    def model_closed(self) -> None:
        self._generation += 1
        self._meter = None

    def point_changed(self, point) -> None:
        self._check_canvas()

    def weights_changed(self, step: int) -> None:
        self._check_canvas()

    def strip_rendered(self, name: str, images) -> None:
        self._judge(images, name)

    # --- checks ------------------------------------------------------------------------------------------
    def check_variations(self) -> None:
        from engine import api

        if self._meter is None:
            return
        look, point = self.context.look(), self.context.point()
        latents = api.variations(look.latent, VARIATIONS, 0.5, seed=point.seed)
        self.context.request_strip(self, "variations", [replace(look, latent=latent) for latent in latents])

    def check_picture(self, path: str | None = None) -> None:
        """The verdict on a picture on disk, read and judged off the GUI thread."""
        if self._meter is None:
            return
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self.widget, "Check a picture", pictures_folder(),
                                                  "Images (*.png *.jpg *.jpeg *.webp *.bmp *.gif)")
            remember_pictures_folder([path] if path else [])
            if not path:
                return
        meter, side, aspect = self._meter, self.context.info().size, self.context.info().aspect

        def read(_on_event, _control):
            from engine import api

            _, images, rejected = api.load_images([path], side, aspect=aspect)
            if rejected:
                raise ValueError(rejected[0][1])
            return images

        run_task(read, on_done=lambda images: self._judge(images, Path(path).name, meter),
                 owner=self.widget,
                 on_failed=lambda reason: self.context.notify(f"Could not check {Path(path).name}: {reason}"))

    def _check_canvas(self) -> None:
        if self._meter is not None:
            self.context.request_strip(self, "canvas", [self.context.look()])

    def _judge(self, images, what: str, meter=None) -> None:
        meter, generation = meter or self._meter, self._generation
        if meter is None:
            return
        run_task(lambda _on_event, _control: meter.judge(images),
                 on_done=lambda verdicts: self._show(generation, what, verdicts),
                 owner=self.widget, on_failed=lambda reason: self.context.notify(f"The copy check failed: {reason}"))

    def _show(self, generation: int, what: str, verdicts: list) -> None:
        if generation != self._generation or self._meter is None or not verdicts:
            return
        meter = self._meter
        if what == "variations":
            copies = sum(v.copy for v in verdicts)
            self.verdict.setText(f"{copies} of {len(verdicts)} variations copy a training image" if copies else
                                 f"None of the {len(verdicts)} variations copies a training image (the closest is "
                                 f"{max(v.similarity for v in verdicts):.3f} similar; copies are "
                                 f"{meter.threshold:.3f} and up)")
            self._show_nearest(max(verdicts, key=lambda v: v.similarity).nearest)
        else:
            verdict = verdicts[0]
            source = Path(meter.sources[verdict.nearest[0]]).name or "a training image"
            subject = "The image shown" if what == "canvas" else what
            self.verdict.setText(
                f"<b>{subject} copies {source}</b> (similarity {verdict.similarity:.3f}; copies are "
                f"{meter.threshold:.3f} and up)" if verdict.copy else
                f"{subject} is not a copy: the closest training image, {source}, is {verdict.similarity:.3f} "
                f"similar (copies are {meter.threshold:.3f} and up)")
            self._show_nearest(verdict.nearest)
        self.judged.emit({"what": what, "verdicts": verdicts})

    def _show_nearest(self, indices: list[int]) -> None:
        meter = self._meter
        for label, index in zip(self.nearest, list(indices) + [None] * len(self.nearest)):
            if index is None or meter is None:
                label.clear()
                continue
            label.setPixmap(imaging.thumbnail(meter.image(index, self._alpha), SIDE))
            label.setToolTip(meter.sources[index])

    def _on_meter(self, generation: int, meter) -> None:
        if generation != self._generation:
            return
        self._meter = meter
        self._enable(True)
        figures = meter.calibration
        self.verdict.setText("Checking the image shown…")
        self.widget.setToolTip(self.widget.toolTip().split("\n")[0] + f"\nCalibrated on {figures.get('images')} of "
                               f"your images: {figures.get('copies_flagged', 0):.0%} of altered copies and "
                               f"{figures.get('others_flagged', 0):.0%} of the others counted as copies")
        self._check_canvas()

    def _on_meter_failed(self, generation: int, reason: str) -> None:
        if generation == self._generation:
            self.verdict.setText(f"Off: {reason}")
            self.context.notify(f"The copy check could not start: {reason}")

    def _enable(self, on: bool) -> None:
        self.variations_button.setEnabled(on)
        self.picture_button.setEnabled(on)
