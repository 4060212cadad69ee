"""The Dataset room's view of an image-to-image project, whose pictures sit on two sides, A and B: a paired project's
pairs side by side (A | B on each card), an unpaired project's two collections as two grids. Each side takes drops
(and has an Add… menu) for itself; the pictures still waiting for a partner are counted, and listed in a tooltip.
Also the Add images… menu, which offers the sides of such a project and, while a project is empty, the kinds.

Shows what the room hands it and reports what the artist asks (`dropped`, `delete_requested`); the room runs every
engine call. Must not read the project's files, decode pictures or import the engine.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QMenu, QSplitter, QStackedWidget, QToolButton,
                               QVBoxLayout, QWidget)

from .drops import dropped_paths
from .widgets.pair_grid import PairGrid, PairModel
from .settings import pictures_folder, remember_pictures_folder
from .widgets.thumbnails import ThumbnailGrid, ThumbnailModel

SIDES = ("A", "B")
KINDS = (("images", "Single images (to generate new ones)"), ("paired", "Pairs: A becomes B (translate)"),
         ("unpaired", "Two collections: A and B (translate both ways)"))
IMAGE_FILTER = "Images or zip (*.png *.jpg *.jpeg *.webp *.bmp *.gif *.tif *.tiff *.zip);;All files (*)"
ROLES = {"paired": ("the inputs", "what each input becomes"), "unpaired": ("one collection", "the other")}


def ask_sources(parent, side: str, folder: bool) -> list[str]:
    """A folder, or image files and zips, to add (to `side`, or "" for a project of single images), from a dialog;
    tests replace it."""
    where = f" to side {side}" if side else ""
    if folder:
        chosen = QFileDialog.getExistingDirectory(parent, f"Add a folder of images{where}", pictures_folder())
        return remember_pictures_folder([chosen] if chosen else [])
    return remember_pictures_folder(
        QFileDialog.getOpenFileNames(parent, f"Add images or a .zip{where}", pictures_folder(), IMAGE_FILTER)[0])


def has_sides(layout: str) -> bool:
    """Whether a project of this layout holds pictures on sides A and B."""
    return layout in ROLES


class _Rows:
    """Some rows of the images array, indexed from 0, without copying them (the array is memory-mapped)."""

    def __init__(self, images, rows: list[int]):
        self._images, self._rows = images, rows

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, row: int):
        return self._images[self._rows[row]]


class _Drops(QObject):
    """Takes file drops on a widget (a grid's viewport) for the side `side_at(position)` names."""

    def __init__(self, widget, side_at, dropped: Signal):
        super().__init__(widget)
        self._side_at, self._dropped = side_at, dropped
        widget.setAcceptDrops(True)
        widget.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if event.type() in (QEvent.Type.DragEnter, QEvent.Type.DragMove) and dropped_paths(event):
            event.acceptProposedAction()
            return True
        if event.type() == QEvent.Type.Drop and dropped_paths(event):
            event.acceptProposedAction()
            self._dropped.emit(self._side_at(event.position().toPoint()), dropped_paths(event))
            return True
        return False


class SidesView(QWidget):
    dropped = Signal(str, list)  # side ("A" or "B"), the paths dropped on it or chosen in its Add… menu
    delete_requested = Signal()
    selection_changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._layout = ""
        self.headers: dict[str, QLabel] = {}
        header_row = QHBoxLayout()
        for side in SIDES:
            header = self.headers[side] = QLabel(textFormat=Qt.TextFormat.RichText)
            header.setObjectName("sideHeader")
            _Drops(header, lambda _position, side=side: side, self.dropped)
            add = QToolButton(text=f"Add to {side}…", popupMode=QToolButton.ToolButtonPopupMode.InstantPopup)
            add.setToolTip(f"Add a folder, image files or a .zip to side {side} (or drop them on this side)")
            menu = QMenu(add)
            menu.addAction("A folder…", lambda side=side: self.choose(side, folder=True))
            menu.addAction("Image files or a .zip…", lambda side=side: self.choose(side, folder=False))
            add.setMenu(menu)
            header_row.addWidget(header, 1)
            header_row.addWidget(add)
            header_row.addSpacing(12)

        self.pair_model = PairModel(self)
        self.pair_grid = PairGrid(self.pair_model)
        _Drops(self.pair_grid.viewport(), self.pair_grid.side_at, self.dropped)
        self.side_models = {side: ThumbnailModel(self) for side in SIDES}
        self.side_grids = {side: ThumbnailGrid(self.side_models[side]) for side in SIDES}
        collections = QSplitter()
        for side, grid in self.side_grids.items():
            _Drops(grid.viewport(), lambda _position, side=side: side, self.dropped)
            collections.addWidget(grid)
        for grid in (self.pair_grid, *self.side_grids.values()):
            grid.delete_requested.connect(self.delete_requested)
            grid.selectionModel().selectionChanged.connect(self.selection_changed)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.pair_grid)
        self.pages.addWidget(collections)
        self.unmatched = QLabel()
        self.unmatched.setObjectName("unmatched")
        self.unmatched.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header_row)
        layout.addWidget(self.pages, 1)
        layout.addWidget(self.unmatched)

    def choose(self, side: str, folder: bool) -> None:
        """Ask for a folder (or files) to add to `side`."""
        paths = ask_sources(self, side, folder)
        if paths:
            self.dropped.emit(side, paths)

    # --- what the room shows -------------------------------------------------------------------------------
    def show_dataset(self, layout: str, images, rows: list[dict], pairs) -> None:
        """Show `rows` (the manifest) and `images` (the Dataset's array, or None when empty) of a `layout` project;
        `pairs` is Dataset.pairs, the (A row, B row) of each pair in a paired project."""
        self._layout = layout
        on_side = {side: [i for i, row in enumerate(rows) if row.get("side") == side] for side in SIDES}
        for side, role in zip(SIDES, ROLES[layout]):
            count = len(on_side[side])
            self.headers[side].setText(f"<b>{side}</b> · {count:,} picture{'s' * (count != 1)} · {role}"
                                       + ("" if count else " · drop some here"))
            self.headers[side].setToolTip(f"Side {side}: drop pictures or folders here to add them to it"
                                          + (". An A pairs with the B of the same file name" if layout == "paired"
                                             else ""))
        waiting = []
        if layout == "paired":
            pairs = [] if pairs is None else [(int(a), int(b)) for a, b in pairs]
            matched = {i for pair in pairs for i in pair}
            waiting = [i for side in SIDES for i in on_side[side] if i not in matched]
            self.pair_model.set_pairs(images, rows, pairs + [(i, -1) if rows[i]["side"] == "A" else (-1, i)
                                                             for i in waiting])
            self.pages.setCurrentWidget(self.pair_grid)
        else:
            for side in SIDES:
                self.side_models[side].set_images(None if images is None else _Rows(images, on_side[side]),
                                                  [rows[i] for i in on_side[side]])
            self.pages.setCurrentIndex(1)
        self.unmatched.setText(f"{len(waiting):,} picture{'s' * (len(waiting) != 1)} without a partner yet: each "
                               "waits for the picture of its name on the other side (hover for the list)")
        self.unmatched.setToolTip("\n".join(f"{Path(rows[i]['source']).name}: side {rows[i]['side']}, waits for "
                                             f"a side {'B' if rows[i]['side'] == 'A' else 'A'} picture named "
                                             f"{rows[i]['pair']}" for i in waiting))
        self.unmatched.setVisible(bool(waiting))

    def selected_hashes(self) -> list[str]:
        grids = [self.pair_grid] if self._layout == "paired" else self.side_grids.values()
        return [h for grid in grids for h in grid.selected_hashes()]


def fill_add_menu(menu: QMenu, layout: str, empty: bool, add, choose_kind) -> None:
    """The Add images… menu: what `add(side, folder)` adds (to a side, for a project of two sides), and while the
    project is `empty`, the kind it holds (`choose_kind(layout)`); the kind is fixed by its first pictures."""
    menu.clear()
    for side in SIDES if has_sides(layout) else ("",):
        for folder, title in ((True, "a folder…"), (False, "image files or a .zip…")):
            menu.addAction(f"Side {side}: {title}" if side else title.capitalize(),
                           lambda side=side, folder=folder: add(side, folder))
    menu.addSeparator()
    kinds = menu.addMenu("Kind of project")
    for name, title in KINDS:
        action = kinds.addAction(title, lambda name=name: choose_kind(name))
        action.setCheckable(True)
        action.setChecked(name == layout)
    kinds.setEnabled(empty)
    kinds.setTitle("Kind of project" if empty else "Kind of project (fixed by its pictures: start a new project)")
