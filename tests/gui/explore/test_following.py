"""The Explore room beside training: it follows a new run's weights, stops following when the artist opens a
checkpoint, asks before leaving a point that is not bookmarked, and offers every checkpoint of every run.
"""
from __future__ import annotations

import shutil

from PySide6.QtCore import QThreadPool

from engine import api
from gui import questions
from gui.explore_room import ExploreRoom

from .helpers import WAIT, wait_for_latest_frame


def second_run(project, steps: int = 20):
    """A new run's Snapshot and CheckpointSaved events, in the order the Train room relays them."""
    events = []
    api.train(project, api.TrainConfig(family="dcgan", size=16, steps=steps, batch=16, width=8, latent_dim=16,
                                       precision="fp32", checkpoint_every=10, sample_every=10), new=True,
              on_event=lambda e: events.append(e) if isinstance(e, (api.Snapshot, api.CheckpointSaved)) else None)
    return events


def relay(qtbot, room, events) -> None:
    for event in events:
        (room.on_snapshot if isinstance(event, api.Snapshot) else room.on_checkpoint)(event)
        qtbot.waitUntil(lambda: not room.render.is_opening() and room.model_info() is not None, timeout=WAIT)


def test_explore_follows_a_new_run_then_stops_when_a_checkpoint_is_opened(qtbot, room, trained):
    project, _ = trained
    first = room.model_info().id.rsplit("-", 1)[0]
    events = second_run(project)
    relay(qtbot, room, events)
    new_run = events[-1].path.parents[1]
    assert room.model_info().id.rsplit("-", 1)[0] != first  # it follows the run that trains now
    qtbot.waitUntil(lambda: "step 20" in room.model_label.text(), timeout=WAIT)  # and its newest weights

    opened = sorted((project.runs()[0] / "checkpoints").glob("step-*.json"))[-1]
    with qtbot.waitSignal(room.model_ready, timeout=WAIT):
        room.open_model_file(str(opened))
    assert not room.follow_button.isChecked() and room.model_info().id.startswith(first)
    relay(qtbot, room, second_run(project))  # a third run trains: the opened checkpoint stays
    assert room.model_info().id.startswith(first)

    room.follow_button.setChecked(True)
    third = second_run(project)
    relay(qtbot, room, third)
    assert room.model_info().id.rsplit("-", 1)[0] == third[0].model_id.rsplit("-", 1)[0] != first
    assert new_run.is_dir()


def test_explore_asks_before_leaving_a_point_that_is_not_bookmarked(qtbot, room, trained, monkeypatch):
    project, _ = trained
    asked = []
    monkeypatch.setattr(questions, "yes_or_no", lambda parent, title, text: asked.append(text) or False)
    shown = room.model_info().id
    room.seed.setValue(42)  # a move, in the history, not bookmarked
    wait_for_latest_frame(qtbot, room)
    relay(qtbot, room, second_run(project))
    assert len(asked) == 1 and "not bookmarked" in asked[0]
    assert room.model_info().id == shown and not room.follow_button.isChecked()  # the artist said no: it stays


def test_the_open_menu_offers_every_checkpoint_of_every_run_and_opening_one_stops_following(qtbot, tmp_path,
                                                                                          digits_template):
    project = api.Project.open(shutil.copytree(digits_template, tmp_path / "Digits"))
    api.train(project, api.TrainConfig(family="dcgan", size=16, steps=20, batch=16, width=8, latent_dim=16,
                                       precision="fp32", checkpoint_every=10, sample_every=10, kid_every=10))
    room = ExploreRoom()
    qtbot.addWidget(room)
    try:
        with qtbot.waitSignal(room.model_ready, timeout=WAIT):
            room.set_project(project)
        qtbot.waitUntil(lambda: room.saved_models() != [], timeout=WAIT)
        room._fill_open_menu()
        menu = room.open_button.menu()
        titles = [action.text() for action in menu.actions()]
        best = next(c for c in room.saved_models()[0]["checkpoints"] if c["best"])
        assert titles[0] == f"{room.saved_models()[0]['run']}: best (step {best['step']})"
        every = menu.actions()[1].menu()
        assert [a.text().split("  ")[0] for a in every.actions()] == ["step 20", "step 10"]
        assert sum("★ best" in a.text() for a in every.actions()) == 1
        with qtbot.waitSignal(room.model_ready, timeout=WAIT) as opened:
            every.actions()[1].trigger()  # the earlier checkpoint
        assert opened.args[0].step == 10 and not room.following()
        assert titles[-1].startswith("A model file")
    finally:
        room.shutdown()
        QThreadPool.globalInstance().waitForDone(WAIT)
