"""The Explore room around real (tiny) image-to-image models trained on real digits, edge maps (A) to colour (B):
the room shows the Translate view, translates dropped pictures at their own size, switches direction, exports.

Every test waits on signals or conditions, never sleeps, and stops the render thread in teardown.
"""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QThreadPool, QUrl
from PySide6.QtGui import QDropEvent

from engine import api
from gui.explore_room import ExploreRoom
from tests.digits import digit_views, write_paired_digits

WAIT = 30_000
FAMILIES = {"one way": "pix2pix", "both ways": "cyclegan"}  # the models trained below


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """60 real digit pairs at 32 px, edges (A) and colour (B), in two projects: one with a model that translates
    A to B (trained on the pairs), one with a model that goes both ways (it also trains on paired projects); and
    the EMA snapshots each run sent (steps 10 and 20)."""
    tmp = tmp_path_factory.mktemp("translate")
    root = write_paired_digits(tmp / "pairs", 60)
    made, snapshots = {}, {}
    for ways, family in FAMILIES.items():
        project = api.Project.create(tmp / family)
        api.ingest(project, [root / "A"], layout="paired", side="A", size=32)
        api.ingest(project, [root / "B"], side="B")
        sent = snapshots[ways] = []
        api.train(project, api.TrainConfig(family=family, steps=20, width=8, device="cpu", precision="fp32",
                                           sample_every=10, checkpoint_every=10, kid_every=0),
                  on_event=lambda event, sent=sent: sent.append(event) if isinstance(event, api.Snapshot) else None)
        made[ways] = project
    return made, snapshots


@pytest.fixture(scope="module")
def projects(trained):
    return trained[0]


def open_room(qtbot, project) -> ExploreRoom:
    room = ExploreRoom()
    qtbot.addWidget(room)
    room.resize(1100, 760)
    room.show()
    with qtbot.waitSignal(room.model_ready, timeout=WAIT):
        room.set_project(project)
    return room


@pytest.fixture
def room_of(qtbot):
    """Opens an Explore room on a project; every room opened is shut down after the test."""
    rooms = []

    def room(project) -> ExploreRoom:
        rooms.append(open_room(qtbot, project))
        return rooms[-1]

    yield room
    for opened in rooms:
        opened.shutdown()
        assert not opened.render.isRunning()
    QThreadPool.globalInstance().waitForDone(WAIT)


@pytest.fixture
def pictures(tmp_path):
    """An edge map of a digit the models never saw, at 48 x 40 px (not the 32 px they trained at), and a file
    that only pretends to be a picture."""
    _, edges, _ = digit_views(1, px=48, start=500)[0]
    edges.crop((0, 0, 48, 40)).save(tmp_path / "unseen.png")
    (tmp_path / "notes.png").write_text("not a picture at all")
    return tmp_path / "unseen.png", tmp_path / "notes.png"


def drop(view, paths) -> None:
    """Drop files on the view as a file manager would."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    view.dropEvent(QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                              Qt.KeyboardModifier.NoModifier))


def translated(view) -> list:
    return [card for card in view.cards() if card.translation is not None and card.direction == view.direction()]


def test_a_translation_model_opens_in_the_translate_view_instead_of_the_latent_canvas(room_of, projects):
    room = room_of(projects["one way"])
    view = room.translate_view
    assert room.model_info().translates and room.model_info().directions == ("a2b",)
    assert room.pages.currentIndex() == 1 and room.views.currentWidget() is view
    assert not any(widget.isVisibleTo(room) for widget in room.latent_only)  # no seed, sliders, zoom or undo
    assert view.bar.isVisibleTo(room)  # its buttons are in the room's toolbar
    assert [button.text() for button in view.direction_buttons.buttons()] == ["A → B"]
    assert not view.export_button.isEnabled() and not view.wipe.has_pictures()


def test_a_dropped_picture_is_translated_at_its_own_size_and_a_broken_file_is_listed_with_its_reason(
        qtbot, room_of, projects, pictures, tmp_path):
    room = room_of(projects["one way"])
    view = room.translate_view
    unseen, broken = pictures
    said = []
    room.status.connect(said.append)
    drop(view, [unseen, broken])
    qtbot.waitUntil(lambda: len(translated(view)) == 1 and bool(view.refused()), timeout=WAIT)

    card = view.cards()[0]
    assert card.name == "unseen.png" and card.picture.shape == (40, 48, 4) and card.translation.shape == (40, 48, 4)
    assert view.wipe.after().size().toTuple() == (48, 40)  # the selected card is in the wipe
    assert len(view.refused()) == 1 and view.refused()[0].startswith("notes.png: ")
    assert "notes.png" in view.refused_label.text() and not view.refused_label.isHidden()
    assert any(text.startswith("Could not translate notes.png: ") for text in said)

    view.wipe.set_divider(0.25)
    assert view.wipe.divider() == 0.25

    with qtbot.waitSignal(view.exported, timeout=WAIT) as done:
        view.export(str(tmp_path / "out"))
    assert [path.name for path in done.args[0].written] == ["unseen.png"]
    assert Image.open(tmp_path / "out" / "unseen.png").size == (48, 40)


def test_held_out_pictures_are_the_a_side_pictures_training_never_saw(qtbot, room_of, projects, tmp_path):
    room = room_of(projects["one way"])
    view = room.translate_view
    held_out = [row for row in api.manifest(projects["one way"]) if row["split"] == "holdout" and row["side"] == "A"]
    assert held_out, "the fixture's project holds pictures out"
    view.held_out_button.click()
    qtbot.waitUntil(lambda: len(translated(view)) == min(len(held_out), 8), timeout=WAIT)
    assert {card.name for card in view.cards()} <= {row["source"].rsplit("/", 1)[-1] for row in held_out}

    with qtbot.waitSignal(view.exported, timeout=WAIT):
        view.export(str(tmp_path / "held-out"))
    assert sorted(path.name for path in (tmp_path / "held-out").glob("*.png")) == \
        sorted(card.name for card in view.cards())


def test_a_model_that_goes_both_ways_switches_direction_and_translates_everything_again(
        qtbot, room_of, projects, pictures):
    room = room_of(projects["both ways"])
    view = room.translate_view
    assert room.model_info().directions == ("a2b", "b2a")
    assert [button.text() for button in view.direction_buttons.buttons()] == ["A → B", "B → A"]
    view.add_files([str(pictures[0])])
    qtbot.waitUntil(lambda: len(translated(view)) == 1, timeout=WAIT)
    there = view.cards()[0].translation.copy()

    with qtbot.waitSignal(view.translated, timeout=WAIT):
        view.direction_buttons.buttons()[1].click()
    card = view.cards()[0]
    assert view.direction() == "b2a" and card.direction == "b2a"
    assert card.translation.shape == there.shape and not np.array_equal(card.translation, there)
    assert view.direction_buttons.buttons()[1].isChecked() and not view.direction_buttons.buttons()[0].isChecked()


def test_the_train_room_offers_the_translation_families_first_for_a_project_of_pairs(qtbot, projects):
    from gui.train_room import TrainRoom

    room = TrainRoom()
    qtbot.addWidget(room)
    room.set_api(api)
    room.set_project(projects["one way"])
    qtbot.waitUntil(lambda: room.config() is not None, timeout=WAIT)
    usable = api.recommended_families(0, "paired")
    names = [room.family_box.itemData(i) for i in range(room.family_box.count())]
    assert names[:len(usable)] == usable and room.config().family == usable[0]
    assert not room.family_box.model().item(len(usable)).isEnabled()  # pictures from noise need single images


def test_new_training_weights_translate_every_picture_again(qtbot, room_of, trained, pictures):
    projects, snapshots = trained
    room = room_of(projects["one way"])
    view = room.translate_view
    view.add_files([str(pictures[0])])
    qtbot.waitUntil(lambda: len(translated(view)) == 1, timeout=WAIT)
    at_20 = view.cards()[0].translation.copy()

    earlier = snapshots["one way"][0]
    assert earlier.step == 10 and room.following()
    with qtbot.waitSignal(view.translated, timeout=WAIT):
        room.on_snapshot(earlier)  # the run the room shows sends weights: they replace the model's
    assert not np.array_equal(view.cards()[0].translation, at_20)


def test_held_out_halves_of_side_by_side_pictures_export_from_their_pixels(qtbot, room_of, tmp_path):
    sheets = write_paired_digits(tmp_path / "sheets", 60, side_by_side=True)
    project = api.Project.create(tmp_path / "Side by side")
    api.ingest(project, [sheets], halves=True, size=32)
    api.train(project, api.TrainConfig(family=FAMILIES["one way"], steps=10, width=8, device="cpu",
                                       precision="fp32", sample_every=10, checkpoint_every=10, kid_every=0))
    view = room_of(project).translate_view
    view.held_out_button.click()
    qtbot.waitUntil(lambda: len(translated(view)) > 0 and len(translated(view)) == len(view.cards()), timeout=WAIT)
    assert all(card.path is None for card in view.cards())  # halves: no file of their own to read again
    with qtbot.waitSignal(view.exported, timeout=WAIT) as done:
        view.export(str(tmp_path / "out"))
    assert len(done.args[0].written) == len(view.cards()) and not done.args[0].skipped
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == sorted(c.name for c in view.cards())
