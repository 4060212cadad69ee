"""Variations: a strip of neighbours of the current point under the canvas, or what another tool offers instead
(more draws from a mode just clicked); a click goes there. A style-based point's neighbours keep its ψ, mix and
move in W, so they vary the point as it is shown."""
from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QVBoxLayout
from superqt import QLabeledDoubleSlider

from ..widgets.strip import ImageStrip
from .tool import Tool

COUNT = 8  # thumbnails


class VariationsTool(Tool):
    name = "variations"
    title = "Variations"
    place = "below"

    def __init__(self, context):
        super().__init__(context)
        self.spread = QLabeledDoubleSlider(Qt.Orientation.Horizontal, toolTip="How far the variations stray")
        self.spread.setRange(0.05, 1.5)
        self.spread.setValue(0.5)
        self.spread.setMaximumWidth(220)
        self.strip = ImageStrip(side=64)
        self.strip.setToolTip("Variations around the current point: click one to go there")
        self.widget = QGroupBox(self.title)
        row = QHBoxLayout()
        row.addWidget(QLabel("Spread"))
        row.addWidget(self.spread)
        row.addStretch(1)
        box = QVBoxLayout(self.widget)
        box.addLayout(row)
        box.addWidget(self.strip)
        self._looks: list = []
        self.spread.sliderReleased.connect(self.refresh)
        self.spread.editingFinished.connect(self.refresh)
        self.strip.picked.connect(self._on_picked)

    def applies_to(self, info) -> bool:
        from engine.api import Capability

        return info.can(Capability.CONTINUOUS_LATENT)

    def point_changed(self, point) -> None:
        self.refresh()

    def weights_changed(self, step: int) -> None:
        self.refresh()

    def refresh(self) -> None:
        from engine import api

        context = self.context
        if context.info() is None:
            return
        point, look = context.point(), context.look()
        offered = context.offered_variations(point)
        if offered is not None:
            title, latents = offered
            self._looks = [replace(look, latent=latent) for latent in latents]
        else:
            title = self.title
            latents = api.variations(look.latent, COUNT, float(self.spread.value()), seed=point.seed)
            self._looks = [replace(look, latent=latent) for latent in latents]
        self.widget.setTitle(title)
        context.request_strip(self, "neighbours", self._looks)

    def strip_rendered(self, name: str, images) -> None:
        self.strip.set_count(len(images))
        self.strip.set_images(images)

    def _on_picked(self, index: int) -> None:
        if index < len(self._looks):
            self.context.go_to(self.context.point().at(self._looks[index]), "Variation")
