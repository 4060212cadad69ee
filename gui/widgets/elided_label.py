"""A one-line label that shortens its text with an ellipsis instead of wrapping or widening its row: a toolbar's
spare width varies with the window, and a wrapped line made the Explore toolbar two rows tall at 1400 px."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QLabel, QSizePolicy


class ElidedLabel(QLabel):
    """`text()` is the whole text, shown whole where it fits and always in the tooltip, after `tip`."""

    def __init__(self, tip: str = "", **kwargs):
        super().__init__(**kwargs)
        self._tip, self._full = tip, ""
        self.setToolTip(tip)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        self._full = text
        self.setToolTip(f"{text}\n{self._tip}" if text and self._tip else text or self._tip)
        self._fit()
        self.updateGeometry()

    def text(self) -> str:
        return self._full

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(self.fontMetrics().horizontalAdvance(self._full) + 4, super().sizeHint().height())

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        super().setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight,
                                                         self.contentsRect().width() - 2 * self.margin()))
