"""A map of thumbnails that zooms (wheel) and pans (drag), reports clicks in map coordinates, and takes a path drawn
with Shift held down. It shows what it is given and knows nothing of latents.

The artist's images come as one picture (made off the GUI thread), so ten thousand of them paint as fast as one;
the few samples drawn on top are added a batch per event-loop turn.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsScene, QGraphicsView

from .. import imaging

EXTENT = 1000.0  # the map is scaled into a square of this side (scene units)
THUMB = 18.0  # a thumbnail's side in scene units
BATCH = 100  # thumbnails added per event-loop turn


class AtlasView(QGraphicsView):
    clicked = Signal(float, float)  # map coordinates (the positions' own units)
    path_drawn = Signal(object)  # list of (x, y) in map coordinates

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        # no spatial index: adding thousands of items stays quick (the map is redrawn whole when it moves anyway)
        self.scene().setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setBackgroundBrush(QColor(30, 33, 40))
        self.setToolTip("Your images (framed) and samples, placed by where they lie in the model's space. Click to "
                        "go there; Shift-drag to draw a path; wheel to zoom, drag to pan")
        self._items: dict[int, object] = {}
        self._pending: list = []
        self._scale = (np.zeros(2, np.float32), 1.0)
        self._positions, self._framed = np.zeros((0, 2), np.float32), np.zeros(0, bool)
        self.mosaic = None  # the picture of the images, once made
        self._drawing: list[QPointF] | None = None
        self._stroke = None
        self._marker = None
        self._press = None
        self._timer = QTimer(self, interval=0, timeout=self._add_batch)

    # --- what the tool gives -----------------------------------------------------------------------------
    def set_points(self, positions: np.ndarray, framed: np.ndarray) -> None:
        """Placeholders at `positions` (N x 2); `framed[i]` marks the artist's own images."""
        self.scene().clear()
        self._items, self._stroke, self._marker, self.mosaic = {}, None, None, None
        low, high = positions.min(0), positions.max(0)
        self._scale = (low, EXTENT / max(float((high - low).max()), 1e-6))
        self._framed = framed
        self._positions = positions
        self.scene().setSceneRect(QRectF(-THUMB, -THUMB, EXTENT + 2 * THUMB, EXTENT + 2 * THUMB))
        self.fitInView(self.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)

    def set_mosaic(self, picture: np.ndarray, thumb: int) -> None:
        """The map's images as one picture (engine.atlas.mosaic, with thumbnails of `thumb` pixels), drawn under
        everything else: one pixmap paints at once where thousands of items would not."""
        item = self.scene().addPixmap(QPixmap.fromImage(imaging.to_qimage(picture)))
        unit = EXTENT / (picture.shape[0] - 2 * thumb)  # scene units per mosaic pixel
        item.setScale(unit)
        item.setPos(-thumb * unit, -thumb * unit)
        item.setZValue(-1)
        self.mosaic = item

    def set_thumbnails(self, indices, images: np.ndarray) -> None:
        """Thumbnails for points `indices` (added over the next event-loop turns)."""
        self._pending.extend(zip(indices, images))
        self._timer.start()

    def pending(self) -> int:
        return len(self._pending)

    def mark(self, x: float, y: float) -> None:
        """Show where the current point is."""
        centre = self._to_scene(x, y)
        if self._marker is None:
            self._marker = self.scene().addEllipse(QRectF(-THUMB, -THUMB, 2 * THUMB, 2 * THUMB),
                                                   QPen(QColor(255, 200, 0), 3))
            self._marker.setZValue(10)
        self._marker.setPos(centre)

    # --- mouse ---------------------------------------------------------------------------------------------
    def wheelEvent(self, event) -> None:
        if not self.scene().items():  # an empty map has nothing to zoom: the wheel scrolls the panel it sits in
            event.ignore()
            return
        factor = 1.25 if event.angleDelta().y() > 0 else 0.8
        self.scale(factor, factor)

    def mousePressEvent(self, event) -> None:
        self._press = event.position()
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier and event.button() == Qt.MouseButton.LeftButton:
            self._drawing = [self.mapToScene(event.position().toPoint())]
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._drawing is not None:
            self._drawing.append(self.mapToScene(event.position().toPoint()))
            self._show_stroke(self._drawing)
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if self._drawing is not None:
            stroke, self._drawing = self._drawing, None
            if len(stroke) >= 2:
                self.path_drawn.emit([self._to_map(p) for p in stroke])
            return
        super().mouseReleaseEvent(event)
        moved = self._press is not None and (event.position() - self._press).manhattanLength() > 4
        if event.button() == Qt.MouseButton.LeftButton and not moved:
            self.clicked.emit(*self._to_map(self.mapToScene(event.position().toPoint())))

    def draw_path(self, points) -> None:
        """Show a path given in map coordinates (the one drawn, or one a test gives)."""
        self._show_stroke([self._to_scene(x, y) for x, y in points])

    # --- inside --------------------------------------------------------------------------------------------
    def _to_scene(self, x: float, y: float) -> QPointF:
        low, scale = self._scale
        return QPointF((x - low[0]) * scale, (y - low[1]) * scale)

    def _to_map(self, point: QPointF) -> tuple[float, float]:
        low, scale = self._scale
        return float(point.x() / scale + low[0]), float(point.y() / scale + low[1])

    def _show_stroke(self, points: list[QPointF]) -> None:
        path = QPainterPath(points[0])
        for point in points[1:]:
            path.lineTo(point)
        if self._stroke is None:
            self._stroke = self.scene().addPath(path, QPen(QColor(120, 200, 255), 3))
            self._stroke.setZValue(9)
        else:
            self._stroke.setPath(path)

    def _add_batch(self) -> None:
        batch, self._pending = self._pending[:BATCH], self._pending[BATCH:]
        for index, image in batch:
            old = self._items.pop(int(index), None)
            if old is not None:
                self.scene().removeItem(old)
            item = self.scene().addPixmap(imaging.thumbnail(image, int(THUMB * 2)))
            item.setScale(THUMB / max(1, item.pixmap().width()))
            centre = self._to_scene(*self._positions[int(index)])
            item.setPos(centre - QPointF(THUMB / 2, THUMB / 2))
            if self._framed[int(index)]:
                frame = self.scene().addRect(QRectF(0, 0, THUMB, THUMB), QPen(QColor(200, 200, 200), 0.8),
                                             QBrush(Qt.BrushStyle.NoBrush))
                frame.setPos(item.pos())
            self._items[int(index)] = item
        if not self._pending:
            self._timer.stop()
