"""The modes of a model's latent space as a strip of thumbnails, with a line saying what is known and a Refit button.

It is given captions, tooltips and uint8 images and reports clicks by position (heaviest mode first); the room
fetches the mixture, renders the thumbnails and moves the point. Nothing here calls the engine.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from .strip import ImageStrip


class ModeGrid(ImageStrip):
    """The thumbnails in rows as wide as the panel, as tall as they need: a dozen modes are seen at a glance."""

    def __init__(self, side: int, parent=None):
        super().__init__(side=side, parent=parent)
        self.setWrapping(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._fit_rows()

    def set_count(self, count: int, captions: list[str] | None = None, placeholder: str = "") -> None:
        super().set_count(count, captions, placeholder)
        self._fit_rows()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_rows()

    def _fit_rows(self) -> None:
        cell = self.gridSize()
        per_row = max(1, (self.viewport().width() - 2 * self.spacing()) // cell.width())
        rows = max(1, math.ceil(self.count() / per_row))
        self.setFixedHeight(rows * cell.height() + 2 * self.frameWidth() + 2 * self.spacing())


class ModesPanel(QWidget):
    picked = Signal(int)  # position of the clicked mode in the strip
    refit_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.message = QLabel(wordWrap=True)
        self.refit_button = QToolButton(text="Refit")
        self.refit_button.setToolTip("Fit the modes again on your training images, e.g. after more training or "
                                     "after adding images (a project's newest checkpoint)")
        self.refit_button.clicked.connect(self.refit_requested)
        self.strip = ModeGrid(side=56)
        self.strip.picked.connect(self.picked)
        row = QHBoxLayout()
        row.addWidget(self.message, 1)
        row.addWidget(self.refit_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.strip)
        self.show_message("")

    def show_message(self, text: str, busy: bool = False) -> None:
        """Only a line of text (waiting, or why there are no modes); Refit waits while `busy`."""
        self.message.setText(text)
        self.message.setToolTip("")
        self.strip.clear()
        self.strip.hide()
        self.refit_button.setEnabled(not busy)

    def show_busy(self, text: str) -> None:
        """A line of text while the modes shown are being replaced; they stay clickable meanwhile."""
        self.message.setText(text)
        self.refit_button.setEnabled(False)

    def set_modes(self, summary: str, explanation: str, tips: list[str]) -> None:
        """One placeholder per mode (images follow through `set_images`), each with its tooltip."""
        self.message.setText(summary)
        self.message.setToolTip(explanation)
        self.strip.setToolTip(explanation)
        self.strip.set_count(len(tips))
        for row, tip in enumerate(tips):
            self.strip.item(row).setToolTip(tip)
        self.strip.show()
        self.refit_button.setEnabled(True)

    def mark(self, position: int | None) -> None:
        """Select the thumbnail of the mode the point was drawn from; None: the point has moved away."""
        self.strip.blockSignals(True)
        self.strip.clearSelection()
        if position is not None and position < self.strip.count():
            self.strip.item(position).setSelected(True)
        self.strip.blockSignals(False)

    def set_images(self, images: np.ndarray) -> None:
        self.strip.set_images(images[:self.strip.count()])

    def count(self) -> int:
        return self.strip.count()
