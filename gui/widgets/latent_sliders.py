"""Sliders along a model's main latent directions, in "typical steps" (about ±3), with a Reset button.

The widget is given the directions' names and reports amounts; it knows nothing of latents or models (the room
turns amounts into a latent through `api.apply_directions`). `amounts_changed` fires continuously while a
slider is dragged, `edit_finished` once when the drag (or a typed value) ends, for the undo history.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget
from superqt import QLabeledDoubleSlider

RANGE = 3.0  # typical steps either side of the current point


class LatentSliders(QWidget):
    amounts_changed = Signal(object)  # tuple of floats, one per direction
    edit_finished = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._sliders: list[QLabeledDoubleSlider] = []
        self._grid = QGridLayout()
        self._grid.setColumnStretch(1, 1)
        self._grid.setHorizontalSpacing(8)
        self._empty = QLabel("Finding the main directions…")
        self._empty.setWordWrap(True)
        self._reset = QPushButton("Reset")
        self._reset.setToolTip("Put every direction slider back to 0")
        self._reset.clicked.connect(self.reset)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self._reset)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._empty)
        layout.addLayout(self._grid)
        layout.addLayout(buttons)
        self.set_directions([])

    def set_directions(self, names: list[str], tips: list[str] | None = None) -> None:
        """One slider per name, all at 0; an empty list shows the waiting message."""
        for slider in self._sliders:
            slider.deleteLater()
        while self._grid.count():
            item = self._grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self._sliders = []
        for row, name in enumerate(names):
            label = QLabel(name)
            slider = QLabeledDoubleSlider(Qt.Orientation.Horizontal)
            slider.setRange(-RANGE, RANGE)
            slider.setSingleStep(0.05)
            slider.setDecimals(2)
            slider.setValue(0.0)
            tip = (tips[row] if tips else name) + ": drag to move the point along this direction " \
                "(in typical steps; ±3 is far)."
            slider.setToolTip(tip)
            label.setToolTip(tip)
            label.setBuddy(slider)
            slider.valueChanged.connect(self._on_value_changed)
            slider.sliderReleased.connect(self.edit_finished)
            slider.editingFinished.connect(self.edit_finished)
            self._grid.addWidget(label, row, 0)
            self._grid.addWidget(slider, row, 1)
            self._sliders.append(slider)
        self._empty.setVisible(not names)
        self._reset.setEnabled(bool(names))

    def set_waiting_text(self, text: str) -> None:
        self._empty.setText(text)

    def sliders(self) -> list[QLabeledDoubleSlider]:
        return list(self._sliders)

    def amounts(self) -> tuple:
        return tuple(float(slider.value()) for slider in self._sliders)

    def set_amounts(self, amounts) -> None:
        """Move the sliders without emitting (undo, restoring a point)."""
        amounts = list(amounts) + [0.0] * (len(self._sliders) - len(amounts))
        for slider, value in zip(self._sliders, amounts):
            slider.blockSignals(True)
            slider.setValue(float(value))
            slider.blockSignals(False)

    def reset(self) -> None:
        if any(self.amounts()):
            self.set_amounts([0.0] * len(self._sliders))
            self.amounts_changed.emit(self.amounts())
            self.edit_finished.emit()

    def _on_value_changed(self, _value: float) -> None:
        self.amounts_changed.emit(self.amounts())
