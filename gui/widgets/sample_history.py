"""The run's sample grids: the newest one large, and a slider to look back at earlier ones. A click on a picture
of a grid of points (not of translations) says which picture it was, so the Explore room can go there.

Grids arrive as uint8 arrays with the PNG path the engine saved them to; only the newest is kept as a pixmap,
earlier ones are loaded back from their PNG when the artist scrubs to them (a long run makes hundreds).
Must not render or save anything itself.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QSlider, QVBoxLayout, QWidget

from ..imaging import on_checkerboard, to_pixmap


PLACEHOLDER = "Samples appear here as the model learns"


class SampleHistory(QWidget):
    picture_clicked = Signal(int)  # the index, row by row, of the grid's picture clicked

    def __init__(self, parent=None):
        super().__init__(parent)
        self._grids: list[tuple[int, str]] = []  # (step, PNG path) of every grid of this run
        self.grid_shape: tuple[int, int] = (0, 0)  # rows and columns of a progress grid (the engine's)
        self._points = False  # the grids show points a click can explore
        self.image = QLabel(PLACEHOLDER)
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setMinimumSize(240, 240)
        self.image.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.image.installEventFilter(self)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("Look back at earlier sample grids of this run")
        self.slider.valueChanged.connect(self._on_scrubbed)
        self.step_label = QLabel()
        row = QHBoxLayout()
        row.addWidget(self.slider, 1)
        row.addWidget(self.step_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.image, 1)
        layout.addLayout(row)
        self.show_points(False)
        self._fit_slider(follow=True)  # a QSlider starts at 0 of 0-99, which would read as "looking back"

    def clear(self) -> None:
        self._grids.clear()
        self._fit_slider(follow=True)
        self.image.setText(PLACEHOLDER)  # drops the picture
        self.step_label.clear()

    def show_points(self, points: bool) -> None:
        """Whether the grids show points to explore (a click then names the picture), or translations."""
        self._points = points
        self.image.setCursor(Qt.CursorShape.PointingHandCursor if points else Qt.CursorShape.ArrowCursor)
        self.image.setToolTip("The same points at each snapshot, so you see the model improve"
                              + ("; click a picture to explore it" if points else ""))

    def picture_at(self, position: QPointF) -> int | None:
        """The index of the grid's picture under `position` (in the image's coordinates), or None."""
        pixmap, (rows, columns) = self.image.pixmap(), self.grid_shape
        if pixmap.isNull() or not rows or not columns:
            return None
        x = position.x() - (self.image.width() - pixmap.width()) / 2  # the picture is centred in the label
        y = position.y() - (self.image.height() - pixmap.height()) / 2
        if not (0 <= x < pixmap.width() and 0 <= y < pixmap.height()):
            return None
        return int(y / pixmap.height() * rows) * columns + int(x / pixmap.width() * columns)

    def eventFilter(self, watched, event) -> bool:
        if (watched is self.image and self._points and event.type() == QEvent.Type.MouseButtonRelease
                and event.button() == Qt.MouseButton.LeftButton):
            index = self.picture_at(event.position())
            if index is not None:
                self.picture_clicked.emit(index)
                return True
        return super().eventFilter(watched, event)

    def count(self) -> int:
        return len(self._grids)

    def set_history(self, grids: list[tuple[int, str]]) -> None:
        """An earlier run's grids, (step, PNG path) oldest first: the newest shown, the others a scrub away."""
        self._grids = [(step, str(path)) for step, path in grids]
        self._fit_slider(follow=True)
        self._on_scrubbed(self.slider.value())

    def add(self, step: int, grid, path) -> None:
        """A new grid (H x W x 3 uint8): shown at once unless the artist is looking at an older one."""
        following = self.slider.value() == self.slider.maximum()
        self._grids.append((step, str(path)))
        self._fit_slider(following)
        if following:
            self._show(to_pixmap(grid), step)

    def _fit_slider(self, follow: bool) -> None:
        """The slider spans the grids, usable from two on; `follow` moves it to the newest (showing nothing)."""
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, len(self._grids) - 1))
        if follow:
            self.slider.setValue(self.slider.maximum())
        self.slider.blockSignals(False)
        self.slider.setEnabled(len(self._grids) > 1)

    def _on_scrubbed(self, index: int) -> None:
        if 0 <= index < len(self._grids):
            step, path = self._grids[index]
            self._show(QPixmap(path), step)

    def _show(self, pixmap: QPixmap, step: int) -> None:
        if pixmap.isNull():
            return
        side = min(self.image.width(), self.image.height())
        factor = max(1, side // max(1, pixmap.width(), pixmap.height()))  # whole-pixel zoom stays crisp
        if factor > 1:
            pixmap = pixmap.scaled(pixmap.width() * factor, pixmap.height() * factor,
                                   Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation)
        self.image.setPixmap(on_checkerboard(pixmap, square=8))  # dark strokes on transparency stay visible
        self.step_label.setText(f"step {step:,}")
