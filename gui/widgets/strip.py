"""A horizontal strip of thumbnails (variations, interpolation frames, bookmarks) that reports clicks by index.

Given uint8 images (or placeholders and captions) it shows them; it never renders or knows what they stand for.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QAbstractItemView, QListView, QListWidget, QListWidgetItem

from .. import imaging


class ImageStrip(QListWidget):
    picked = Signal(int)  # the index of a clicked (or Enter-ed) thumbnail

    def __init__(self, side: int = 72, captions: bool = False, multi: bool = False, parent=None):
        super().__init__(parent)
        self._side = side
        self._captions = captions
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setIconSize(QSize(side, side))
        self.setSpacing(3)
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection if multi
                              else QAbstractItemView.SelectionMode.SingleSelection)
        caption_height = self.fontMetrics().height() + 6 if captions else 0
        self.setGridSize(QSize(side + 14, side + 10 + caption_height))
        self.setFixedHeight(side + 30 + caption_height)
        self.itemClicked.connect(lambda item: self.picked.emit(self.row(item)))
        self.itemActivated.connect(lambda item: self.picked.emit(self.row(item)))

    def set_count(self, count: int, captions: list[str] | None = None, placeholder: str = "") -> None:
        """`count` placeholder thumbnails (to be filled by `set_images`), keeping the selection where possible."""
        selected = self.selected_rows()
        self.blockSignals(True)
        self.clear()
        blank = QIcon(imaging.placeholder(self._side, placeholder))
        for index in range(count):
            item = QListWidgetItem(blank, captions[index] if captions and self._captions else "")
            item.setSizeHint(self.gridSize())
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            self.addItem(item)
        for row in selected:
            if row < count:
                self.item(row).setSelected(True)
        self.blockSignals(False)

    def set_images(self, images: np.ndarray, first: int = 0) -> None:
        """Thumbnails for items `first`, `first + 1`, ...; adds items when there are fewer."""
        for offset, image in enumerate(images):
            row = first + offset
            if row >= self.count():
                self._grow_to(row + 1)
            self.item(row).setIcon(QIcon(imaging.thumbnail(image, self._side)))

    def _grow_to(self, count: int) -> None:
        while self.count() < count:
            item = QListWidgetItem(QIcon(imaging.placeholder(self._side)), "")
            item.setSizeHint(self.gridSize())
            self.addItem(item)

    def set_placeholder(self, row: int, text: str) -> None:
        self.item(row).setIcon(QIcon(imaging.placeholder(self._side, text)))

    def selected_rows(self) -> list[int]:
        return sorted(self.row(item) for item in self.selectedItems())
