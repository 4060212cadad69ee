"""The dataset's thumbnail grid: a list model over the cached image array and an icon-mode view of it.

Stays smooth with 10,000 images because nothing is made up front: a row becomes a pixmap only when the view asks
for it (DecorationRole), from the memory-mapped cache, and the newest few thousand are kept in an LRU cache.
Must not decode files or touch torch: it only reads rows of the uint8 array the engine cached.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListView

from .. import shortcuts
from ..imaging import on_checkerboard, to_qimage

THUMB_PX = 72  # shown size of a thumbnail; small images are scaled up with nearest pixels so they stay crisp
CACHE_ROWS = 3000  # pixmaps kept; about 60 MB at 72 px, and more than a full screen of thumbnails


def crisp_pixmap(pixels: np.ndarray, side: int, ground: QColor | None = None) -> QPixmap:
    """A pixmap that fits `side` px: a whole-pixel nearest zoom when small (16 px digits stay crisp), smooth when
    large; transparency on a checkerboard, or on the colour `ground`."""
    image = to_qimage(pixels)
    if max(image.width(), image.height()) != side:
        big = max(image.width(), image.height())
        mode = (Qt.TransformationMode.FastTransformation if big < side
                else Qt.TransformationMode.SmoothTransformation)
        if big < side:
            side = big * max(1, side // big)
        image = image.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio, mode)
    return on_checkerboard(QPixmap.fromImage(image), ground=ground)


class ThumbnailModel(QAbstractListModel):
    """One row per kept image. `images` is the engine's N x S x S x 4 array; `rows` its manifest rows."""

    HashRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self, parent=None):
        super().__init__(parent)
        self._images = None
        self._rows: list[dict] = []
        self._cache: OrderedDict[int, QPixmap] = OrderedDict()
        self._ground: QColor | None = None  # None: transparency on a checkerboard

    def set_ground(self, colour: QColor | None) -> None:
        """Lay transparent images on `colour`, as models that do not learn transparency see them (None: on a
        checkerboard, as the files are)."""
        if colour == self._ground:
            return
        self._ground = colour
        self._cache.clear()
        if self.rowCount():
            self.dataChanged.emit(self.index(0), self.index(self.rowCount() - 1), [Qt.ItemDataRole.DecorationRole])

    def set_images(self, images, rows: list[dict]) -> None:
        self.beginResetModel()
        self._images, self._rows = images, rows
        self._cache.clear()
        self.endResetModel()

    def clear(self) -> None:
        self.set_images(None, [])

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        if parent.isValid() or self._images is None:
            return 0
        return min(len(self._images), len(self._rows))

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = index.row()
        if role == Qt.ItemDataRole.DecorationRole:
            return self._pixmap(row)
        if role == Qt.ItemDataRole.ToolTipRole:
            info = self._rows[row]
            label = f"\nlabel: {info['label']}" if info.get("label") else ""
            return f"{info['source']}\n{info['width']} x {info['height']} px{label}"
        if role == self.HashRole:
            return self._rows[row]["hash"]
        return None

    def _pixmap(self, row: int) -> QPixmap:
        pixmap = self._cache.get(row)
        if pixmap is not None:
            self._cache.move_to_end(row)
            return pixmap
        pixmap = crisp_pixmap(self._images[row], THUMB_PX, self._ground)
        self._cache[row] = pixmap
        if len(self._cache) > CACHE_ROWS:
            self._cache.popitem(last=False)
        return pixmap


class ThumbnailGrid(QListView):
    """Icon-mode view of a ThumbnailModel; Delete asks to remove the selection (`delete_requested`)."""
    delete_requested = Signal()

    def __init__(self, model: ThumbnailModel, parent=None):
        super().__init__(parent)
        self.setModel(model)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setUniformItemSizes(True)  # layout without asking every row its size: what makes 10k rows cheap
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(500)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setIconSize(QSize(THUMB_PX, THUMB_PX))
        self.setGridSize(QSize(THUMB_PX + 10, THUMB_PX + 10))
        self.setSpacing(2)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setToolTip("Your images. Select some and press Delete to remove them from the dataset.")
        for keys in (QKeySequence.StandardKey.Delete, Qt.Key.Key_Backspace):
            shortcuts.bind(keys, self, self._delete_selected, "Remove the selected images (in the image grid)",
                           Qt.ShortcutContext.WidgetShortcut)

    def selected_hashes(self) -> list[str]:
        return [index.data(ThumbnailModel.HashRole) for index in self.selectionModel().selectedIndexes()]

    def _delete_selected(self) -> None:
        if self.selectionModel().hasSelection():
            self.delete_requested.emit()
