"""The bookmark list of the explorer: thumbnails with editable names, add, delete, pick, choose keyframes.

It shows bookmark records it is given ({"name", "model_id", "latent", "seed"}) and reports what the user did;
the room renders the thumbnails and saves the list (api.save_bookmarks). Nothing here reads or writes files.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from .. import shortcuts
from .strip import ImageStrip


class BookmarkPanel(QWidget):
    add_requested = Signal()
    picked = Signal(int)  # make bookmark i the current point
    renamed = Signal(int, str)
    delete_requested = Signal(list)  # rows
    interpolate_requested = Signal(list)  # rows, in list order, two or more

    def __init__(self, parent=None):
        super().__init__(parent)
        self.strip = ImageStrip(side=56, captions=True, multi=True)
        self.strip.setToolTip("Click to go to a bookmark; double-click its name to rename it; "
                              "Ctrl/Shift-click two or more to interpolate between them.")
        self.strip.picked.connect(self._on_picked)
        self.strip.itemChanged.connect(self._on_item_changed)
        self.strip.itemSelectionChanged.connect(self._update_buttons)
        self._empty = QLabel("No bookmarks yet: Ctrl+B keeps the current point.")
        self._empty.setWordWrap(True)
        self.add_button = QPushButton("Add")
        self.add_button.setToolTip("Bookmark the current point (Ctrl+B)")
        self.add_button.clicked.connect(self.add_requested)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Delete the selected bookmarks (Del)")
        self.delete_button.clicked.connect(self._on_delete)
        self.interpolate_button = QPushButton("Interpolate")
        self.interpolate_button.setToolTip("Make a looping path through the bookmarks, in list order: the selected "
                                           "ones (Ctrl+click to pick), or all of them")
        self.interpolate_button.clicked.connect(self._on_interpolate)
        shortcuts.bind(QKeySequence.StandardKey.Delete, self.strip, self._on_delete,
                       "Delete the selected bookmarks (in the bookmark list)", Qt.ShortcutContext.WidgetShortcut)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.delete_button, self.interpolate_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._empty)
        layout.addWidget(self.strip)
        layout.addLayout(buttons)
        self._names: list[str] = []
        self.set_bookmarks([])

    def set_bookmarks(self, bookmarks: list[dict], notes: list[str] | None = None) -> None:
        """Show `bookmarks` (thumbnails come later through `set_thumbnails`); `notes` explain unusable ones."""
        self._names = [str(b.get("name", "")) for b in bookmarks]
        self.strip.blockSignals(True)
        self.strip.set_count(len(bookmarks), self._names)
        for row in range(self.strip.count()):
            item = self.strip.item(row)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
            note = notes[row] if notes and notes[row] else ""
            item.setToolTip(self._names[row] + (f"\n{note}" if note else ""))
            if note:
                self.strip.set_placeholder(row, "other model")
        self.strip.blockSignals(False)
        self.strip.setVisible(bool(bookmarks))
        self._empty.setVisible(not bookmarks)
        self._update_buttons()

    def set_thumbnails(self, images, rows: list[int]) -> None:
        for image, row in zip(images, rows):
            if row < self.strip.count():
                self.strip.set_images(image[None], first=row)

    def select_rows(self, rows: list[int]) -> None:
        self.strip.clearSelection()
        for row in rows:
            self.strip.item(row).setSelected(True)

    def _on_picked(self, row: int) -> None:
        if len(self.strip.selected_rows()) <= 1:  # a click that extends a selection only selects
            self.picked.emit(row)

    def _on_item_changed(self, item) -> None:
        row = self.strip.row(item)
        name = item.text().strip()
        if 0 <= row < len(self._names) and name and name != self._names[row]:
            self._names[row] = name
            self.renamed.emit(row, name)

    def _on_delete(self) -> None:
        rows = self.strip.selected_rows()
        if rows:
            self.delete_requested.emit(rows)

    def _on_interpolate(self) -> None:
        rows = self._rows_to_interpolate()
        if len(rows) >= 2:
            self.interpolate_requested.emit(rows)

    def _rows_to_interpolate(self) -> list[int]:
        """The selected bookmarks when two or more are; else all of them (a click on one selects it, too)."""
        rows = self.strip.selected_rows()
        return rows if len(rows) >= 2 else list(range(self.strip.count()))

    def _update_buttons(self) -> None:
        selected, rows = len(self.strip.selected_rows()), self._rows_to_interpolate()
        self.delete_button.setEnabled(selected > 0)
        self.interpolate_button.setEnabled(len(rows) >= 2)
        self.interpolate_button.setText(f"Interpolate {selected}" if selected >= 2 else "Interpolate all")
