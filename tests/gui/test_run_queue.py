"""The queue of runs in the Train room, on real digits: three runs, one of which fails, leave the other two done
with their figures; the queue survives the app closing mid-run and resumes that run from its checkpoint."""
from __future__ import annotations

import pytest

from gui.train_room import TrainRoom

WAIT = 120_000


def make_room(qtbot, api, project):
    room = TrainRoom()
    qtbot.addWidget(room)
    room.set_api(api)
    room.set_project(project)
    qtbot.waitUntil(lambda: room.config() is not None, timeout=20_000)
    return room


@pytest.fixture
def runs(api, digits_project, tiny_config, tmp_path, monkeypatch):
    """Three runs: a DCGAN, one that cannot train (a project without images), a VAE; each with a KID pass (of 64
    samples against 64 real images: the figure only has to be there)."""
    from engine import sample_quality, training_data

    monkeypatch.setattr(sample_quality, "KID_SAMPLES", 64)
    monkeypatch.setattr(training_data, "KID_REAL", 64)
    base = api.suggest_config(digits_project, "dcgan")
    good = tiny_config(base, steps=12, kid_every=12, checkpoint_every=6, sample_every=6)
    empty = api.Project.create(tmp_path / "Empty")
    vae = tiny_config(api.suggest_config(digits_project, "vae"), steps=12, kid_every=12, checkpoint_every=6,
                      sample_every=6)
    return [(digits_project, good), (empty, good), (digits_project, vae)]


def test_a_queue_with_a_failing_run_completes_the_others_and_says_why(qtbot, api, digits_project, runs):
    room = make_room(qtbot, api, digits_project)
    for project, config in runs:
        room.queue_panel.add(project, config)
    assert [e["state"] for e in room.queue_panel.entries()] == ["waiting"] * 3
    with qtbot.waitSignal(room.queue_panel.queue_finished, timeout=WAIT):
        room.queue_panel.run_button.click()
    entries = room.queue_panel.entries()
    assert [e["state"] for e in entries] == ["done", "failed", "done"]
    assert "no images" in entries[1]["error"] or "empty" in entries[1]["error"]
    for entry in (entries[0], entries[2]):
        assert entry["step"] == 12 and entry["kid"] is not None and entry["seconds"] > 0 and entry["samples"]
    assert "2 done, 1 failed" in room.queue_panel.status.text()
    assert not room.queue_panel.is_running() and room.start_button.isEnabled()


def test_the_queue_survives_closing_the_app_mid_run_and_resumes_that_run(qtbot, api, digits_project, runs):
    room = make_room(qtbot, api, digits_project)
    first, vae = runs[0], runs[2]
    room.queue_panel.add(*first)
    room.queue_panel.add(*vae)
    seen = []

    def stop_mid_run(event):
        if isinstance(event, api.CheckpointSaved) and not seen:
            seen.append(event.step)
            room.shutdown()  # the app closes: the run stops with a checkpoint and stays in the queue

    room.queue_panel.run_button.click()
    room.queue_panel.run.event.connect(stop_mid_run)
    qtbot.waitUntil(lambda: bool(seen) and not room.queue_panel.is_running(), timeout=WAIT)
    states = [e["state"] for e in room.queue_panel.entries()]
    assert states == ["interrupted", "waiting"]
    run_dir = room.queue_panel.entries()[0]["run_dir"]

    again = make_room(qtbot, api, digits_project)  # the app opened again: the queue is read from its file
    assert [e["state"] for e in again.queue_panel.entries()] == ["interrupted", "waiting"]
    assert again.queue_panel.run_button.text() == "Continue the queue"
    starts = []
    again.queue_panel.run_button.click()
    again.queue_panel.run.event.connect(lambda e: starts.append(e) if isinstance(e, api.RunStarted) else None)
    with qtbot.waitSignal(again.queue_panel.queue_finished, timeout=WAIT):
        pass
    entries = again.queue_panel.entries()
    assert [e["state"] for e in entries] == ["done", "done"]
    assert entries[0]["run_dir"] == run_dir and entries[0]["step"] == 12  # the same run, resumed
    assert starts and starts[0].resumed and starts[0].step >= seen[0]
