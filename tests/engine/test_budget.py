"""Time is the artist's budget: `--minutes` without `--steps` trains for that much training time, whatever the
speed, with every schedule (learning rate, EMA horizon, quality measurements) ending on the last step; a resumed
run spends what is left. Measured on a fake clock, so the test is exact and quick."""
from __future__ import annotations

import numpy as np
import pytest

from engine import api, sample_quality, schedule
from engine.run_folder import run_to_resume
from engine.train_config import complete_config
from engine.training import Trainer

from .helpers import digits_project, tiny


class FakeClock:
    """Seconds that pass only when a step (or a measurement) says so."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def project(tmp_path_factory, small_digits_dir):
    return digits_project(tmp_path_factory.mktemp("budget"), small_digits_dir)


def budget_config(project, **overrides):
    settings = dict(steps=0, minutes=1.0, checkpoint_every=10**6, sample_every=10**6,
                    log_every=10**6, kid_every=0)
    settings.update(overrides)
    return complete_config(project, tiny("dcgan", **settings))


def timed(trainer, clock, seconds_per_step, record):
    """Each step of `trainer` takes `seconds_per_step(training seconds so far)` on `clock`; records the lr."""
    step = trainer.learner.step

    def slow_step(*args, **kwargs):
        clock.now += seconds_per_step(trainer.seconds)
        record.append((next(iter(trainer.learner.opts.values())).param_groups[0]["lr"], trainer.learner.planned_steps,
                       trainer.learner.progress))
        return step(*args, **kwargs)

    trainer.learner.step = slow_step


def test_a_budget_run_ends_on_time_with_its_schedules_at_their_end_though_the_speed_halves(project, monkeypatch):
    cfg = budget_config(project, kid_every=1)
    assert cfg.steps == 0 and cfg.early_stop_patience == 0  # no step count: the speed decides it
    assert cfg.lr_decay == "cosine"  # a time budget's default: a whole schedule in the time given
    clock, record, measured = FakeClock(), [], []

    def kid(self, *args, **kwargs):  # a quality measurement that takes 1.5 s of the budget
        clock.now += 1.5
        measured.append(clock.now)
        return 0.1

    monkeypatch.setattr(sample_quality.KidMeter, "measure", kid)
    monkeypatch.setattr(sample_quality.KidMeter, "expected_seconds", lambda self: 1.5)
    monkeypatch.setattr(sample_quality.CopyShare, "measure", lambda self, *a, **k: 0.0)
    trainer = Trainer(project, cfg, clock=clock)
    timed(trainer, clock, lambda spent: 0.25 if spent < 30 else 0.5, record)  # half as fast after 30 s
    result = trainer.run()
    assert result.reason == "done"
    assert 0.95 * 60 <= trainer.seconds <= 1.05 * 60
    assert measured[-1] == clock.now <= 60 + 0.5  # the last KID is within the budget: it ends on time (one step)
    base = record[0][0]
    lr, planned, progress = record[-1]
    assert lr == pytest.approx(base * schedule.LR_FLOOR, rel=0.01)  # the last step is at the floor
    assert abs(planned - trainer.step_count) <= 0.05 * trainer.step_count  # the EMA's horizon as planned
    assert progress == pytest.approx(1.0, abs=0.01)
    assert 60 / 0.5 < trainer.step_count < 60 / 0.25  # what the two speeds reach, not a preset's step count
    assert measured and len(measured) * 1.5 <= schedule.KID_SHARE * trainer.seconds + 1.5  # at most 5% (+ one)
    assert len(measured) == 2 and trainer.last_kid[0] == trainer.step_count  # halfway, and the model it ends with
    lrs = np.array([r[0] for r in record])
    assert (np.diff(lrs) <= 1e-12).all()  # the cosine only goes down, even when the speed changes


def test_quality_measurements_end_equal_parts_of_a_budget_as_many_as_fit_in_its_share():
    assert schedule.kid_parts(120, 6) == 1  # 2 minutes, 6 s a KID: one, at the end
    assert schedule.kid_parts(900, 6) == 7 and schedule.kid_parts(8 * 3600, 6) == schedule.KID_MOST
    assert schedule.kid_parts(60, 4) == 0  # not even one fits in 3 s
    due = [t for t in range(1, 901) if schedule.kid_due(t, t - 1, 900, 3)]
    assert due == [300, 600, 900]
    assert not schedule.kid_due(620, 605, 900, 3) and schedule.kid_due(601, 590, 900, 3)


def test_the_learning_rate_decays_by_default_over_a_time_budget_only(project):
    assert budget_config(project, lr_decay="none").lr_decay == "none"  # the artist's choice stands
    steps = Trainer(project, complete_config(project, tiny("dcgan", steps=20, minutes=1.0)))
    assert steps.cfg.lr_decay == "none"  # a run of steps may be extended later: a decay to its first end would jump


def test_a_budget_too_short_for_one_quality_measurement_makes_none_and_says_so(project, monkeypatch):
    """The real estimate: the ImageNet network timed on this machine, times the real images (no cache yet) and the
    samples; a second of budget cannot hold 5% of that on any device."""
    clock, measured = FakeClock(), []
    monkeypatch.setattr(sample_quality.KidMeter, "measure", lambda self, *a, **k: measured.append(1) or 0.1)
    trainer = Trainer(project, budget_config(project, minutes=1 / 60, kid_every=1), clock=clock)
    timed(trainer, clock, lambda spent: 0.05, [])
    assert trainer.kid_meter.expected_seconds() > schedule.KID_SHARE * 1.0
    assert trainer.run().reason == "done"
    assert not measured
    notes = [line for line in (trainer.folder.path / "log.jsonl").read_text().splitlines() if "KID" in line]
    assert len(notes) == 1 and "more than 5% of its" in notes[0]


def test_a_resumed_budget_run_spends_what_is_left_with_no_jump_in_the_learning_rate(project):
    cfg = budget_config(project, checkpoint_every=5)
    clock, before, after = FakeClock(), [], []
    control = api.Control()
    first = Trainer(project, cfg, control=control, clock=clock)
    timed(first, clock, lambda spent: 0.3, before)
    steps = first.learner.step

    def stop_halfway(*args, **kwargs):
        if first.seconds >= 25 and first.step_count % 5 == 0:
            control.request_stop()
        return steps(*args, **kwargs)

    first.learner.step = stop_halfway
    assert first.run().reason == "stopped"
    spent = first.seconds
    assert 20 <= spent <= 35

    resumed_cfg, run_dir, checkpoint = run_to_resume(project, api.TrainConfig(family="dcgan"))  # no --minutes
    assert run_dir == first.folder.path and resumed_cfg.minutes == 1.0 and resumed_cfg.steps == 0
    second = Trainer(project, resumed_cfg, run_dir=run_dir, clock=clock)
    timed(second, clock, lambda spent: 0.3, after)
    assert second.run(checkpoint).reason == "done"
    assert 0.95 * 60 <= second.seconds <= 1.05 * 60  # the budget, not the budget again
    assert after[0][2] == pytest.approx(before[-1][2], abs=0.02)  # progress goes on where it stopped...
    assert after[0][0] == pytest.approx(before[-1][0], rel=0.03)  # ...and so does the learning rate


def test_what_a_budget_is_expected_to_reach_comes_from_measured_curves_that_improve_with_images_seen():
    from engine import expectations
    from engine.models import FAMILIES

    measured = [(name, size, curve) for name, family in FAMILIES.items() for size, curve in family.curves.items()]
    assert len(measured) >= 2, "no curves measured"
    for family, size, curve in measured:
        seen = [point.images for point in curve]
        assert seen == sorted(seen) and len(set(seen)) == len(seen)  # indexed by images seen, in order
        assert curve[-1].kid < curve[0].kid, family  # a longer budget is never promised worse samples
        assert expectations.expected(family, size, 0) == curve[0]  # before the first point: the first
        assert expectations.expected(family, size, seen[-1] * 10) == curve[-1]
        if len(curve) > 1:  # between two points: the last one passed, never one not reached yet
            assert expectations.expected(family, size, (seen[0] + seen[1]) / 2) == curve[0]
        assert curve[-1].look in api.describe_expectation(family, size, seen[-1])
    unmeasured = next(name for name, family in FAMILIES.items() if not family.curves)
    assert api.describe_expectation(unmeasured, 64, 10**6) == ""  # nothing measured: no promise
    assert api.describe_expectation(measured[0][0], 16, 10**6) == ""


def test_the_terminal_says_where_a_run_ends_its_steps_or_its_minutes():
    from pathlib import Path

    from engine.cli import _finish_line

    def started(resumed=False, **config):
        return api.RunStarted(Path("0001-dcgan-32"), 0, 0, resumed, "cpu", config)

    assert _finish_line(started(steps=3000, minutes=0)) == "to step 3000"
    assert _finish_line(started(steps=3000, minutes=5)) == "to step 3000, for at most 5 minutes this time"
    assert _finish_line(started(steps=0, minutes=1)).startswith("1 minute of training; the steps follow")
    assert _finish_line(started(True, steps=0, minutes=15)).startswith("the rest of 15 minutes of training")
