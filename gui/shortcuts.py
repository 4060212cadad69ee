"""Keyboard shortcuts: the one way the panels make them, each with the words that say what it does, and the sheet
(Help › Keyboard shortcuts, F1) that lists every shortcut the window holds.

The sheet reads the widgets themselves (menus, buttons with a shortcut, QShortcuts), so it cannot drift from the
keys that work. Must not hold any shortcut of its own beyond the sheet's.
"""
from __future__ import annotations

import re

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QAbstractButton, QDialog, QDialogButtonBox, QMenu, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)

NATIVE = QKeySequence.SequenceFormat.NativeText


def bind(keys, parent: QWidget, slot, what: str,
         context: Qt.ShortcutContext = Qt.ShortcutContext.WindowShortcut) -> QShortcut:
    """A shortcut on `parent` that calls `slot`; `what` is how the sheet names it."""
    shortcut = QShortcut(QKeySequence(keys), parent)
    shortcut.setWhatsThis(what)
    shortcut.setContext(context)
    shortcut.activated.connect(slot)
    return shortcut


def _plain(text: str) -> str:
    """A menu or tooltip text without its mnemonic, its ellipsis and the "(keys)" it ends with (an action's tooltip
    is its text unless it was given one)."""
    return re.sub(r"\s*\([^()]*\)\s*$", "", text.replace("&", "").replace("…", "")).strip()


def menu_rows(menus: list[QMenu]) -> list[tuple[str, str]]:
    """(keys, what) of every menu entry with a shortcut, sub-menus included."""
    rows = []
    for menu in menus:
        for action in menu.actions():
            if action.menu() is not None:
                rows += menu_rows([action.menu()])
            elif not action.shortcut().isEmpty():
                rows.append((action.shortcut().toString(NATIVE), _plain(action.toolTip())))
    return rows


def widget_rows(roots: list[QWidget], leave_out: tuple[QWidget, ...] = ()) -> list[tuple[str, str]]:
    """(keys, what) of every QShortcut and every button with a shortcut under `roots` but not under `leave_out`,
    sorted by what they do."""
    def kept(widget: QWidget) -> bool:
        return not any(other is widget or other.isAncestorOf(widget) for other in leave_out)

    rows = set()
    for root in roots:
        rows |= {(shortcut.key().toString(NATIVE), shortcut.whatsThis())
                 for shortcut in root.findChildren(QShortcut) if kept(shortcut.parent())}
        rows |= {(button.shortcut().toString(NATIVE), _plain(button.toolTip()) or _plain(button.text()))
                 for button in root.findChildren(QAbstractButton) if not button.shortcut().isEmpty() and kept(button)}
    return sorted(rows, key=lambda row: (row[1].lower(), row[0]))


class ShortcutSheet(QDialog):
    """Every shortcut, grouped as given: [(group, [(keys, what), ...]), ...]. Not modal: it can stay open."""

    def __init__(self, groups: list[tuple[str, list[tuple[str, str]]]], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(700, 640)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Keys", "What they do"])
        self.tree.setRootIsDecorated(False)
        for group, rows in groups:
            if not rows:
                continue
            heading = QTreeWidgetItem(self.tree, [group])
            heading.setFirstColumnSpanned(True)
            font = heading.font(0)
            font.setBold(True)
            heading.setFont(0, font)
            for keys, what in rows:
                QTreeWidgetItem(heading, [keys, what]).setToolTip(1, what)
        self.tree.expandAll()
        self.tree.resizeColumnToContents(0)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree)
        layout.addWidget(close)

    def rows(self) -> list[tuple[str, str, str]]:
        """(group, keys, what) of every line shown."""
        return [(self.tree.topLevelItem(g).text(0), item.text(0), item.text(1))
                for g in range(self.tree.topLevelItemCount())
                for item in (self.tree.topLevelItem(g).child(i) for i in range(self.tree.topLevelItem(g).childCount()))]
