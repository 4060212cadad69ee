"""Stories of the Dataset room, driven through the main window with real digit images and broken files."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from gui.app import MainWindow
from tests.digits import write_digits


@pytest.fixture
def window(qtbot, api, tmp_path):
    """The main window with the engine loaded and an empty project open."""
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.engine_ready, timeout=30_000):
        window.start_engine()
    project = api.Project.create(tmp_path / "Sketches")
    project.dataset.size = 16
    project.save()
    window.open_project(str(project.root))
    qtbot.waitUntil(lambda: window.project is not None and not window.dataset_room.is_busy(), timeout=10_000)
    return window


@pytest.fixture
def messy_folder(tmp_path):
    """40 digits in ten labelled folders, plus a truncated PNG and a text file pretending to be a PNG."""
    root = write_digits(tmp_path / "messy", per_class=4)
    good = next((root / "3").glob("*.png")).read_bytes()
    (root / "3" / "truncated.png").write_bytes(good[: len(good) // 2])
    (root / "x.png").write_text("this is not an image")
    return root


def drop(window, paths):
    """What a file manager does: drag file URLs over the window, then drop them (labelme's tests send the drop).

    Qt 6 delivers a drop only to a widget that accepted the drag's enter event, so both are sent.
    """
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    where = QPointF(window.width() / 2, window.height() / 2)
    enter = QDragEnterEvent(where, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted(), "the window refused the drag"
    QApplication.sendEvent(window, QDropEvent(where, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                              Qt.KeyboardModifier.NoModifier))


def test_an_empty_project_invites_a_drop(window):
    room = window.dataset_room
    assert window.current_room() == "Dataset"
    assert room.stack.currentWidget() is room.drop_hint
    assert "Drop a folder" in room.drop_hint.text()
    assert room.model.rowCount() == 0


def test_dropping_a_folder_with_broken_files_keeps_the_rest_and_lists_the_broken_ones(qtbot, window, messy_folder):
    room = window.dataset_room
    drop(window, [messy_folder])
    qtbot.waitUntil(lambda: room.model.rowCount() == 40 and not room.is_busy(), timeout=30_000)

    assert room.stack.currentWidget() is room.grid
    thumbnail = room.model.index(0).data(Qt.ItemDataRole.DecorationRole)
    assert not thumbnail.isNull()
    rejected = {room.report.rejected_table.item(r, 0).text(): room.report.rejected_table.item(r, 1).text()
                for r in range(room.report.rejected_table.rowCount())}
    assert set(rejected) == {"truncated.png", "x.png"}
    assert "truncated" in rejected["truncated.png"]
    assert "not an image" in rejected["x.png"]
    assert room.report.rejected_box.title() == "Rejected files (2)"
    table = room.report.rejected_table  # at the column's width in the app, names and reasons share the table
    room.splitter.setSizes([room.splitter.width() - 320, 320])  # (a long reason read in full had left "tr...")
    name_width = table.fontMetrics().horizontalAdvance("truncated.png")
    qtbot.waitUntil(lambda: room.report.width() <= 320 and table.columnWidth(0) >= name_width
                    and table.columnWidth(0) + table.columnWidth(1) <= table.viewport().width(), timeout=5_000)
    assert "truncated or corrupt" in table.item(0, 0).toolTip() + table.item(1, 0).toolTip()
    counts = {room.report.labels_table.item(r, 0).text(): room.report.labels_table.item(r, 1).text()
              for r in range(room.report.labels_table.rowCount())}
    assert counts == {str(digit): "4" for digit in range(10)}
    assert "kept 40, rejected 2" in window.statusBar().currentMessage()
    # the augmentation preview fills in after loading
    qtbot.waitUntil(lambda: not room.report.preview_labels[0].pixmap().isNull(), timeout=20_000)


def test_delete_removes_the_selected_images_and_ctrl_z_puts_them_back(qtbot, window, messy_folder, _questions):
    shutil.rmtree(messy_folder / "3")  # keep the story short: only good images
    (messy_folder / "x.png").unlink()
    room = window.dataset_room
    window.add_images([str(messy_folder)])
    qtbot.waitUntil(lambda: room.model.rowCount() == 36 and not room.is_busy(), timeout=30_000)

    room.grid.setFocus()
    room.grid.selectionModel().select(room.model.index(0), room.grid.selectionModel().SelectionFlag.Select)
    room.grid.selectionModel().select(room.model.index(5), room.grid.selectionModel().SelectionFlag.Select)
    removed = [room.model.index(i).data(room.model.HashRole) for i in (0, 5)]
    pixels = {row: room.dataset.images[row].copy() for row in (0, 5)}
    assert not room.undo_button.isEnabled()
    qtbot.keyClick(room.grid, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: room.model.rowCount() == 34 and not room.is_busy(), timeout=30_000)
    assert _questions == []  # no question: the removal can be undone
    assert room.undo_button.isEnabled() and "Ctrl+Z" in window.statusBar().currentMessage()

    qtbot.keyClick(room.grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: room.model.rowCount() == 36 and not room.is_busy(), timeout=30_000)
    back = [room.model.index(i).data(room.model.HashRole) for i in (34, 35)]  # at the end of the dataset
    assert back == removed and not room.undo_button.isEnabled()
    np.testing.assert_array_equal(room.dataset.images[34], pixels[0])
    np.testing.assert_array_equal(room.dataset.images[35], pixels[5])


def test_changing_the_resolution_rebuilds_the_images_in_the_background(qtbot, window, messy_folder):
    room = window.dataset_room
    window.add_images([str(messy_folder / "7")])
    qtbot.waitUntil(lambda: room.model.rowCount() == 4 and not room.is_busy(), timeout=30_000)
    assert room.dataset.images.shape[1] == 16

    room.image_settings.size_box.setCurrentIndex(room.image_settings.size_box.findData(32))
    room.image_settings.size_box.activated.emit(room.image_settings.size_box.currentIndex())
    qtbot.waitUntil(lambda: room.dataset is not None and room.dataset.images.shape[1] == 32
                    and not room.is_busy(), timeout=30_000)
    assert window.project.dataset.size == 32
    assert room.model.rowCount() == 4


def test_ten_thousand_images_make_only_the_thumbnails_on_screen(qtbot, monkeypatch):
    """The grid over 10,000 real digits (the 1,797 of scikit-learn, shifted so rows differ) makes a pixmap only for
    what the view shows, and the newest few thousand are kept: scrolling to the end costs one screenful more."""
    import numpy as np
    from sklearn.datasets import load_digits

    from gui.widgets import thumbnails

    digits = (load_digits().images / 16 * 255).astype(np.uint8)  # 1,797 x 8 x 8
    grey = np.stack([np.roll(digits[i % len(digits)], i // len(digits), axis=1) for i in range(10_000)])
    images = np.zeros((10_000, 16, 16, 4), np.uint8)
    images[..., :3] = grey.repeat(2, axis=1).repeat(2, axis=2)[..., None]
    images[..., 3] = 255
    rows = [{"hash": f"{i:05d}", "source": f"digit-{i}.png", "width": 8, "height": 8, "label": ""}
            for i in range(10_000)]
    made = []
    real_pixmap = thumbnails.crisp_pixmap
    monkeypatch.setattr(thumbnails, "crisp_pixmap", lambda *args: made.append(1) or real_pixmap(*args))

    model = thumbnails.ThumbnailModel()
    grid = thumbnails.ThumbnailGrid(model)
    qtbot.addWidget(grid)
    grid.resize(900, 600)
    grid.show()
    qtbot.waitExposed(grid)
    model.set_images(images, rows)
    qtbot.waitUntil(lambda: len(made) > 0, timeout=10_000)
    QApplication.processEvents()
    first_screen = len(made)
    assert model.rowCount() == 10_000
    assert 20 <= first_screen < 300, first_screen  # one screenful (about 80 cells), never all 10,000

    last = model.index(9_999)

    def end_in_view() -> bool:  # the batched layout places rows over a few event-loop turns
        grid.scrollTo(last)
        return grid.visualRect(last).intersects(grid.viewport().rect())

    qtbot.waitUntil(end_in_view, timeout=10_000)
    QApplication.processEvents()
    assert first_screen < len(made) < 2 * first_screen + 100  # the end costs about one more screenful


def test_wide_cut_outs_show_their_shape_and_transparency_and_the_artist_can_change_both(qtbot, window, tmp_path):
    from PySide6.QtGui import QColor

    from tests.digits import write_sprite_digits, write_wide_digits

    room = window.dataset_room
    settings = room.image_settings
    window.add_images([str(write_wide_digits(tmp_path / "wide", count=12, px=32))])
    qtbot.waitUntil(lambda: room.model.rowCount() == 12 and not room.is_busy(), timeout=30_000)
    assert settings.aspect_box.currentText() == "Automatic: 2:1" and room.dataset.images.shape[1:3] == (8, 16)
    thumbnail = room.model.index(0).data(Qt.ItemDataRole.DecorationRole)
    assert thumbnail.width() == 2 * thumbnail.height()  # the grid shows the shape models will draw
    assert settings.alpha_box.currentText() == "Automatic: off"
    assert room.summary.text().endswith("black and white") and "draw in grey" in room.summary.toolTip()
    assert window.minimumSizeHint().width() <= 1280  # the longest summary still fits a laptop's screen

    window.add_images([str(write_sprite_digits(tmp_path / "sprites", per_class=3, px=32))])
    qtbot.waitUntil(lambda: room.model.rowCount() == 42 and not room.is_busy(), timeout=30_000)
    assert settings.alpha_box.currentText() == "Automatic: on" and "30 of your 42" in settings.alpha_box.toolTip()
    assert "black and white" not in room.summary.text()  # blue ink
    settings.aspect_box.setCurrentIndex(settings.aspect_box.findData("1:1"))
    settings.aspect_box.activated.emit(settings.aspect_box.currentIndex())
    qtbot.waitUntil(lambda: room.dataset.images.shape[1:3] == (16, 16) and not room.is_busy(), timeout=30_000)
    room.choose_background(QColor(255, 0, 255))
    qtbot.waitUntil(lambda: not room.is_busy(), timeout=10_000)
    reopened = window.api.Project.open(window.project.root)
    assert (reopened.dataset.aspect, reopened.dataset.background) == ("1:1", (255, 0, 255))

    # a sprite's clear corner: on a checkerboard while models learn transparency, on the background once they do not
    sprite = next(i for i in range(42) if room.dataset.images[i, 0, 0, 3] == 0)

    def corner() -> QColor:
        return room.model.index(sprite).data(Qt.ItemDataRole.DecorationRole).toImage().pixelColor(0, 0)

    assert corner() in (QColor(153, 153, 153), QColor(204, 204, 204))
    settings.alpha_box.setCurrentIndex(settings.alpha_box.findData("off"))
    settings.alpha_box.activated.emit(settings.alpha_box.currentIndex())
    assert corner() == QColor(255, 0, 255)
    qtbot.waitUntil(lambda: not room.is_busy(), timeout=10_000)


def drop_on(widget, paths, where: QPointF | None = None):
    """Drag file URLs over one widget and drop them there (a side of an image-to-image project)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    where = where or QPointF(widget.width() / 2, widget.height() / 2)
    enter = QDragEnterEvent(where, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted(), "the side refused the drag"
    QApplication.sendEvent(widget, QDropEvent(where, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                              Qt.KeyboardModifier.NoModifier))


def add_menu(room) -> list:
    """The actions of the Add images… menu, as it is about to show."""
    room.add_button.menu().aboutToShow.emit()
    return [action for action in room.add_button.menu().actions() if not action.isSeparator()]


def test_a_paired_project_shows_its_pairs_side_by_side_and_a_drop_on_side_b_adds_to_side_b(qtbot, window, api,
                                                                                              tmp_path):
    from gui.widgets.pair_grid import CARD
    from tests.digits import write_paired_digits

    root = write_paired_digits(tmp_path / "pairs", 12, px=16)
    late = tmp_path / "late"
    late.mkdir()
    for path in sorted((root / "B").glob("*.png"))[10:]:  # two B pictures come later
        path.rename(late / path.name)
    room = window.dataset_room
    kinds = add_menu(room)[-1].menu()
    assert kinds.isEnabled()  # an empty project may still become one of pairs
    next(action for action in kinds.actions() if action.text().startswith("Pairs")).trigger()
    qtbot.waitUntil(lambda: room.stack.currentWidget() is room.sides and not room.is_busy(), timeout=10_000)
    assert "drop some here" in room.sides.headers["A"].text() and room.report.labels_box.isHidden()

    drop_on(room.sides.headers["A"], [root / "A"])
    qtbot.waitUntil(lambda: room.sides.pair_model.rowCount() == 12 and not room.is_busy(), timeout=30_000)
    assert room.sides.unmatched.text().startswith("12 pictures without a partner")
    drop_on(room.sides.headers["B"], [root / "B"])
    qtbot.waitUntil(lambda: "10 pictures" in room.sides.headers["B"].text() and not room.is_busy(), timeout=30_000)

    assert api.dataset_stats(window.project)["sides"] == {"A": 12, "B": 10}
    assert [action.text() for action in add_menu(room)[:4]] == [
        "Side A: a folder…", "Side A: image files or a .zip…", "Side B: a folder…", "Side B: image files or a .zip…"]
    assert not add_menu(room)[-1].menu().isEnabled()  # its pictures fix its kind
    grid = room.sides.pair_grid
    assert room.sides.pages.currentWidget() is grid and room.sides.pair_model.rowCount() == 12  # 10 pairs, 2 alone
    card = room.sides.pair_model.index(0).data(Qt.ItemDataRole.DecorationRole)
    assert card.size() == CARD  # A and B side by side
    assert room.sides.unmatched.text().startswith("2 pictures without a partner")
    waiting = room.sides.unmatched.toolTip().splitlines()
    assert len(waiting) == 2 and all("waits for a side B picture" in line for line in waiting)

    # the B half of a card is side B too
    first = grid.visualRect(room.sides.pair_model.index(0))
    drop_on(grid.viewport(), sorted(late.glob("*.png")), QPointF(first.right() - 4, first.center().y()))
    qtbot.waitUntil(lambda: room.sides.unmatched.isHidden() and not room.is_busy(), timeout=30_000)
    assert api.dataset_stats(window.project)["pairs"] == 12


def test_an_unpaired_project_shows_two_collections_and_a_drop_on_one_fills_that_one(qtbot, window, api, tmp_path):
    from tests.digits import write_unpaired_digits

    root = write_unpaired_digits(tmp_path / "two", 16, px=16)
    room = window.dataset_room
    room.set_kind("unpaired")
    qtbot.waitUntil(lambda: room.stack.currentWidget() is room.sides and not room.is_busy(), timeout=10_000)
    drop_on(room.sides.side_grids["B"].viewport(), [root / "B"])
    qtbot.waitUntil(lambda: room.sides.side_models["B"].rowCount() == 8 and not room.is_busy(), timeout=30_000)
    assert room.sides.side_models["A"].rowCount() == 0 and room.sides.unmatched.isHidden()
    assert api.dataset_stats(window.project)["sides"] == {"A": 0, "B": 8}

    drop(window, [root / "A"])  # not on a side: the room says where pictures go
    assert "side A or side B" in window.statusBar().currentMessage()


def test_pictures_outside_the_labelled_sub_folders_are_counted_apart(qtbot):
    from gui.widgets.dataset_report import NO_LABEL, DatasetReport

    report = DatasetReport()
    qtbot.addWidget(report)

    def counts() -> dict:
        table = report.labels_table
        return {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}

    report.show_figures({"flowers": 23, "trees": 13}, [], False, count=76)  # 40 loose at the top of the folder
    assert counts() == {"flowers": "23", "trees": "13", NO_LABEL: "40"}
    report.show_figures({"flowers": 23, "trees": 13}, [], False, count=36)
    assert counts() == {"flowers": "23", "trees": "13"}
