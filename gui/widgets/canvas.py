"""The explorer's canvas: shows one image, zooms (wheel, +/-, fit), scales pixel-exact or smooth, takes PNG drops.

It is given a QImage and paints it; it never renders, reads files or knows about models. A dropped file is only
reported (`file_dropped`); the room decides what it means. With no image it shows a short message instead.
"""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QKeySequence, QPainter, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

from .. import shortcuts
from ..drops import TakesDrops
from ..imaging import checkerboard

ZOOM_STEPS = (0.25, 0.5, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32)


class Canvas(TakesDrops, QWidget):
    file_dropped = Signal(str)  # a local file path dropped onto the canvas
    zoom_changed = Signal(str)  # "400 %" or "Fit · 375 %", for a label next to the zoom buttons

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(200, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("Wheel or +/- to zoom, 0 to fit. Drop a PNG exported here to return to its exact point.")
        self._image = QImage()
        self._pixmap = QPixmap()
        self._zoom: float | None = None  # None: fit to the widget
        self._smooth = False
        self._message = ""
        self._zoom_text = ""
        for keys, slot, what in ((QKeySequence.StandardKey.ZoomIn, self.zoom_in, "Zoom in"),
                                 ("=", self.zoom_in, "Zoom in"),
                                 (QKeySequence.StandardKey.ZoomOut, self.zoom_out, "Zoom out"),
                                 ("0", self.fit, "Fit the image to the canvas")):
            shortcuts.bind(keys, self, slot, what, Qt.ShortcutContext.WidgetWithChildrenShortcut)

    # --- what is shown ---------------------------------------------------------------------------------------
    def set_image(self, image: QImage) -> None:
        self._image = image
        self._pixmap = QPixmap.fromImage(image)
        self._message = ""
        self._report_zoom()
        self.update()

    def image(self) -> QImage:
        return self._image

    def show_message(self, text: str) -> None:
        """Replace the image by a centred message (empty states: "Train a model first", "Opening…")."""
        self._image, self._pixmap, self._message = QImage(), QPixmap(), text
        self.update()

    def set_smooth(self, smooth: bool) -> None:
        self._smooth = bool(smooth)
        self.update()

    def smooth(self) -> bool:
        return self._smooth

    # --- zoom ------------------------------------------------------------------------------------------------
    def zoom(self) -> float:
        """The scale in use: screen pixels per image pixel."""
        if self._zoom is not None or self._pixmap.isNull():
            return self._zoom or 1.0
        return self._fit_scale()

    def fit(self) -> None:
        self._zoom = None
        self._after_zoom()

    def zoom_in(self) -> None:
        current = self.zoom()
        self._set_zoom(next((z for z in ZOOM_STEPS if z > current * 1.001), ZOOM_STEPS[-1]))

    def zoom_out(self) -> None:
        current = self.zoom()
        self._set_zoom(next((z for z in reversed(ZOOM_STEPS) if z < current * 0.999), ZOOM_STEPS[0]))

    def _set_zoom(self, zoom: float) -> None:
        self._zoom = zoom
        self._after_zoom()

    def _after_zoom(self) -> None:
        self._report_zoom()
        self.update()

    def _report_zoom(self) -> None:
        text = f"{self.zoom() * 100:.0f} %"
        text = f"Fit · {text}" if self._zoom is None else text
        if text != self._zoom_text:
            self._zoom_text = text
            self.zoom_changed.emit(text)

    def _fit_scale(self) -> float:
        size = self._pixmap.size()
        return max(1e-3, min(self.width() / size.width(), self.height() / size.height()))

    # --- Qt events -------------------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(25, 28, 33))
        if self._pixmap.isNull():
            painter.setPen(QColor(170, 170, 170))
            painter.drawText(self.rect().adjusted(20, 20, -20, -20),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._message)
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self._smooth)
        scale = self.zoom()
        width, height = self._pixmap.width() * scale, self._pixmap.height() * scale
        target = QRectF((self.width() - width) / 2, (self.height() - height) / 2, width, height)
        if self._pixmap.hasAlphaChannel():  # transparency shows as the usual grey checkerboard
            painter.fillRect(target, checkerboard())
        painter.drawPixmap(target, self._pixmap, QRectF(self._pixmap.rect()))

    def resizeEvent(self, event) -> None:
        self._report_zoom()
        super().resizeEvent(event)

    def wheelEvent(self, event) -> None:
        if event.angleDelta().y() > 0:
            self.zoom_in()
        elif event.angleDelta().y() < 0:
            self.zoom_out()
        event.accept()

    def paths_dropped(self, paths: list[str]) -> None:  # drops.TakesDrops
        self.file_dropped.emit(paths[0])

