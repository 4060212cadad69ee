"""The Train room's durations around a real project of handwritten digits: a time as the run's budget, when a run
would end (queued after one that trains, too) and what it is expected to reach, from the measured speed and the
curve of the family or of the base model the run starts from."""
from __future__ import annotations

from dataclasses import replace

import pytest


def test_while_a_run_trains_the_duration_says_when_a_run_queued_after_it_would_end_and_then_when_one_would(
        qtbot, room, tiny_config):
    room.set_config(tiny_config(room.config(), steps=2000, sample_every=1000, checkpoint_every=1000))
    room.measure_speed()
    qtbot.waitUntil(lambda: "images/s" in room.speed_label.text(), timeout=30_000)
    with qtbot.waitSignal(room.step_done, timeout=30_000):
        room.start()
    room.duration.changed.emit()  # the clock's tick, every 30 s
    assert room.duration.expected.text().startswith("Queued after this run, it would end about")
    with qtbot.waitSignal(room.run_finished, timeout=30_000):
        room.stop()
    assert room.duration.expected.text().startswith("Ends about")  # at once, not at the next tick


def test_a_duration_makes_time_the_budget_and_shows_when_it_ends(qtbot, room):
    import datetime

    duration = room.duration
    assert room.config().steps > 0 and room.config().minutes == 0  # the preset's steps
    duration.choice.setCurrentIndex(duration.choice.findData("15"))
    config = room.config()
    assert config.minutes == 15 and config.steps == 0  # the speed decides the steps
    duration.choice.setCurrentIndex(duration.choice.findData("overnight"))
    duration.until.setTime(duration.until.time().fromString("07:00", "HH:mm"))
    evening = datetime.datetime(2026, 12, 1, 23, 30)
    assert duration.minutes(now=evening) == 7.5 * 60  # until 7:00 tomorrow
    duration.show_expected(images_per_s=400.0, batch=16, steps=3000)
    assert "Ends about" in duration.expected.text() and "steps" in duration.expected.text()
    duration.choice.setCurrentIndex(duration.choice.findData("15"))
    duration.show_expected(images_per_s=410.0, batch=16, steps=3000)  # 23,062 steps: an estimate, rounded
    assert "about 23,000 steps" in duration.expected.text()
    duration.show_expected(images_per_s=410.0, batch=16, steps=3000, after_s=600)  # a run trains now
    assert duration.expected.text().startswith("Queued after this run, it would end about")
    duration.choice.setCurrentIndex(duration.choice.findData("overnight"))
    room.set_config(room.config())  # a config with a budget shows it
    assert duration.choice.currentData() == "custom" and room.config().steps == 0
    seen = []
    duration.choice.setCurrentIndex(duration.choice.findData("15"))
    duration.show_expected(images_per_s=400.0, batch=16, steps=3000, expect=lambda images: seen.append(images) or
                           "Expected: rough shapes")
    assert seen == [pytest.approx(400.0 * 15 * 60)]  # the images the whole budget will see
    assert duration.expected.text().endswith("Expected: rough shapes")


def test_a_project_opens_with_the_time_its_newest_run_was_given(qtbot, room, api, digits_project, tiny_config):
    assert room.duration.minutes() == 0  # no run yet: the preset's steps
    control = api.Control()
    budget = replace(tiny_config(room.config()), steps=0, minutes=15.0)
    api.train(digits_project, budget, control=control, new=True,
              on_event=lambda e: control.request_stop() if isinstance(e, api.StepDone) else None)
    room.set_project(digits_project)  # reopened
    qtbot.waitUntil(lambda: room.duration.minutes() == 15, timeout=20_000)
    assert room.duration.choice.currentData() == "15" and room.config().minutes == 15 and room.config().steps == 0
    api.train(digits_project, tiny_config(room.config(), steps=5, minutes=0.0), new=True)  # a run of steps
    room.set_project(digits_project)
    qtbot.waitUntil(lambda: room.duration.minutes() == 0, timeout=20_000)


def test_the_expected_end_follows_the_clock_while_the_room_is_shown(qtbot, room):
    duration = room.duration
    room.show()
    qtbot.waitExposed(room)
    duration._tick.setInterval(10)
    with qtbot.waitSignal(duration.changed, timeout=2000):  # ticks with nothing touched
        pass
    room.hide()
    assert not duration._tick.isActive()


def test_a_run_that_starts_from_a_shipped_base_is_promised_that_base_curve(qtbot, room, api, tmp_path, monkeypatch):
    from engine import base_model
    from engine.models import Milestone

    room.family_box.setCurrentIndex(room.family_box.findData("dcgan"))  # the digits are labelled: the default
    room.family_box.activated.emit(room.family_box.currentIndex())  # family is conditional, and no base is
    qtbot.waitUntil(lambda: room.config() is not None and room.config().family == "dcgan", timeout=20_000)
    # no 16 px DCGAN ships: the box is off and says so
    assert not room.settings.base.isEnabled() and room.settings.base.text() == "No base model fits"
    config = room.config()  # a base of the preset's own shape fits the digits project
    trained = api.train(room.project, replace(config, steps=2, checkpoint_every=2, sample_every=10**9, kid_every=0,
                                              base=False, device="cpu", precision="fp32"))
    folder = tmp_path / "bases"
    folder.mkdir()
    api.export_model(trained.checkpoint, folder / "digits-16.safetensors")
    monkeypatch.setattr(base_model, "BASE_DIR", folder)
    monkeypatch.setitem(base_model.CURVES, "digits-16", ("300 digits", (Milestone(1_000, 50, "tidy digits"),)))
    room.prepare()  # the facts job finds the base
    room.measure_speed()
    qtbot.waitUntil(lambda: "images/s" in room.speed_label.text() and "tidy digits" in room.duration.expected.text(),
                    timeout=30_000)
    assert "drew on 300 digits (from the base model digits-16" in room.duration.expected.text()
    assert room.settings.base.isEnabled() and "digits-16" in room.settings.base.toolTip()
    room.settings.base.setChecked(False)  # from random weights: the family's curve (none for DCGAN at 16 px)
    assert "base model" not in room.duration.expected.text()
