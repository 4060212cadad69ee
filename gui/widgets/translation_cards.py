"""The Translate view's list of cards: each picture the artist brought beside its translation, with its name and
size, one card a row; Delete asks to take the current one off (`remove_requested`).

It is given uint8 arrays and paints them (a dark square where a translation is still to come); it never
translates, reads files or knows about models. Cards are known by the ids the view gives them.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QKeySequence, QPainter, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem

from .. import shortcuts
from ..imaging import placeholder
from .thumbnails import crisp_pixmap

CARD_PX = 72  # side of each picture on a card
CARD_GAP = 8  # pixels between a card's picture and its translation


class CardList(QListWidget):
    remove_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._items: dict[int, QListWidgetItem] = {}
        self.setIconSize(QSize(2 * CARD_PX + CARD_GAP, CARD_PX))
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setSpacing(2)
        self.setToolTip("Each picture beside its translation; the selected one is in the wipe. Delete takes it off "
                        "the list")
        shortcuts.bind(QKeySequence.StandardKey.Delete, self, self.remove_requested,
                       "Take the selected picture off the list (in the list)", Qt.ShortcutContext.WidgetShortcut)

    def add_card(self, card_id: int, name: str, tooltip: str) -> None:
        item = self._items[card_id] = QListWidgetItem(name)
        item.setData(Qt.ItemDataRole.UserRole, card_id)
        item.setToolTip(tooltip)
        self.addItem(item)
        self.paint_card(card_id, name, None, None)

    def remove_card(self, card_id: int) -> None:
        self.takeItem(self.row(self._items.pop(card_id)))

    def paint_card(self, card_id: int, name: str, picture: np.ndarray | None, translation: np.ndarray | None) -> None:
        """Show the card's picture (None: not read yet) and translation (None: still to come)."""
        pixmap = QPixmap(2 * CARD_PX + CARD_GAP, CARD_PX)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        for x, pixels in ((0, picture), (CARD_PX + CARD_GAP, translation)):
            part = placeholder(CARD_PX, "…") if pixels is None else crisp_pixmap(pixels, CARD_PX)
            painter.drawPixmap(x + (CARD_PX - part.width()) // 2, (CARD_PX - part.height()) // 2, part)
        painter.end()
        icon = QIcon(pixmap)
        icon.addPixmap(pixmap, QIcon.Mode.Selected)  # the pictures as they are, not tinted by the selection
        item = self._items[card_id]
        item.setIcon(icon)
        item.setText(name if picture is None else f"{name}\n{picture.shape[1]} × {picture.shape[0]} px")

    def card_ids(self) -> list[int]:
        """The cards in the order shown."""
        return [self.item(row).data(Qt.ItemDataRole.UserRole) for row in range(self.count())]

    def current_card(self) -> int | None:
        item = self.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)
