"""Thumbnails of a paired (image-to-image) project: one card per pair, its A picture beside its B picture, and a card
for each picture still waiting for its partner (an empty slot where the partner goes).

Like gui/widgets/thumbnails.py it is given the engine's N x H x W x 4 array and manifest rows and makes pixmaps only
for the cards on screen; it never reads files or pairs pictures itself (the engine's Dataset.pairs says which go
together).
"""
from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QAbstractListModel, QModelIndex, QSize, Qt
from PySide6.QtGui import QPainter, QPixmap

from ..imaging import placeholder
from .thumbnails import CACHE_ROWS, THUMB_PX, ThumbnailGrid, crisp_pixmap

GAP = 4  # pixels between a pair's two pictures
CARD = QSize(2 * THUMB_PX + GAP, THUMB_PX)


class PairModel(QAbstractListModel):
    """One row per pair: (row of A, row of B) in the manifest, -1 for a partner that is missing."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._images = None
        self._rows: list[dict] = []
        self._pairs: list[tuple[int, int]] = []
        self._cache: OrderedDict[int, QPixmap] = OrderedDict()

    def set_pairs(self, images, rows: list[dict], pairs: list[tuple[int, int]]) -> None:
        self.beginResetModel()
        self._images, self._rows, self._pairs = images, rows, list(pairs)
        self._cache.clear()
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() or self._images is None else len(self._pairs)

    def pair(self, row: int) -> tuple[int, int]:
        return self._pairs[row]

    def hashes(self, row: int) -> list[str]:
        """The content hashes of the pair's pictures (both, or the one that waits)."""
        return [self._rows[i]["hash"] for i in self._pairs[row] if i >= 0]

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.DecorationRole:
            return self._pixmap(index.row())
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(index.row())
        return None

    def _tooltip(self, row: int) -> str:
        lines = []
        for side, i in zip("AB", self._pairs[row]):
            if i >= 0:
                lines.append(f"{side}: {self._rows[i]['source']}")
            else:
                name = self._rows[self._pairs[row][0 if side == "B" else 1]]["pair"]
                lines.append(f"{side}: none yet; add a {side} picture named {name}")
        return "\n".join(lines)

    def _pixmap(self, row: int) -> QPixmap:
        pixmap = self._cache.get(row)
        if pixmap is not None:
            self._cache.move_to_end(row)
            return pixmap
        pixmap = QPixmap(CARD)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        for x, i in zip((0, THUMB_PX + GAP), self._pairs[row]):
            part = crisp_pixmap(self._images[i], THUMB_PX) if i >= 0 else placeholder(THUMB_PX, "no partner")
            painter.drawPixmap(x + (THUMB_PX - part.width()) // 2, (THUMB_PX - part.height()) // 2, part)
        painter.end()
        self._cache[row] = pixmap
        if len(self._cache) > CACHE_ROWS:
            self._cache.popitem(last=False)
        return pixmap


class PairGrid(ThumbnailGrid):
    """The pairs as a grid of A | B cards; Delete asks to remove the selected pairs (`delete_requested`)."""

    def __init__(self, model: PairModel, parent=None):
        super().__init__(model, parent)  # type: ignore[arg-type] - the same view, cards twice as wide
        self.setIconSize(CARD)
        self.setGridSize(CARD + QSize(20, 12))  # more room between cards than within one: the pairs read as pairs
        self.setToolTip("Each pair: its A picture beside its B picture. Select some and press Delete to remove "
                        "them from the dataset.")

    def selected_hashes(self) -> list[str]:
        model = self.model()
        return [h for index in self.selectionModel().selectedIndexes() for h in model.hashes(index.row())]

    def side_at(self, position) -> str:
        """The side a drop at `position` (in the viewport) means: the half of the card under it, else of the view."""
        index = self.indexAt(position)
        rect = self.visualRect(index) if index.isValid() else self.viewport().rect()
        return "A" if position.x() < rect.center().x() else "B"
