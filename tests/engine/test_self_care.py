"""Training that takes care of itself: early stopping, learning-rate decay, rollback from NaN or exploding losses,
and KID on ImageNet features with the real images' features cached in the project."""
from __future__ import annotations

import json

import pytest
import torch

from engine import api, checkpoints, features, files, sample_quality, training_data
from engine.metrics import kid
from engine.models.dcgan import DCGANLearner, Generator
from engine.models.vae import VAELearner
from engine.train_config import settle
from engine.training import Trainer

from .helpers import digits_project, tiny


@pytest.fixture(scope="module")
def project(tmp_path_factory, small_digits_dir):
    return digits_project(tmp_path_factory.mktemp("care"), small_digits_dir)


def log_of(result) -> list[dict]:
    run = result.checkpoint.parent.parent
    return [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]


def test_a_vae_stops_early_when_its_held_out_error_stops_improving(project, monkeypatch):
    assert settle(tiny("vae")).early_stop_patience == 5  # on by default for families judged on held-out images
    errors = iter([1.0, 0.8, 0.85, 0.9, 0.95, 0.7, 0.6])  # the best is at the 2nd checkpoint, then 2 worse ones
    monkeypatch.setattr(VAELearner, "quality", lambda self, holdout, labels=None: next(errors))
    events = []
    result = api.train(project, tiny("vae", steps=40, checkpoint_every=2, sample_every=1000, early_stop_patience=2),
                       on_event=events.append, new=True)
    assert result.reason == "early_stop" and result.step == 8
    note = next(e.text for e in events if isinstance(e, api.Message) and "stopping early" in e.text)
    assert "held-out reconstruction error" in note and "step 4" in note
    run = result.checkpoint.parent.parent
    assert files.read_json(run / "status.json")["reason"] == "early_stop"
    assert checkpoints.step_of(checkpoints.best(run)) == 4
    assert api.resumable_run(project, "vae", 40) is None  # a run that stopped early is finished


def test_cosine_decay_brings_the_learning_rate_down_to_a_tenth(project):
    trainer = Trainer(project, tiny(steps=5, lr_decay="cosine"))
    rates = []
    for _ in range(5):
        trainer.step()
        rates.append(trainer.learner.opts["generator"].param_groups[0]["lr"])
    assert rates[0] == pytest.approx(2e-4) and rates == sorted(rates, reverse=True)
    assert rates[-1] < 0.11 * 2e-4


def _poisoned(monkeypatch, bad_from: int, bad_until: int, value: float):
    """DCGANLearner.step returns `value` as its d loss on calls bad_from..bad_until (1-based); the weights are real."""
    real_step = DCGANLearner.step
    calls = []

    def step(self, *args, **kwargs):
        losses = real_step(self, *args, **kwargs)
        calls.append(1)
        if bad_from <= len(calls) <= bad_until:
            losses["d"] = torch.tensor(value)
        return losses

    monkeypatch.setattr(DCGANLearner, "step", step)


@pytest.mark.parametrize("value", [float("nan"), 1e6], ids=["nan", "exploded"])
def test_bad_losses_roll_back_to_the_last_checkpoint_with_half_the_learning_rate(project, monkeypatch, value):
    _poisoned(monkeypatch, 6, 6, value)
    events = []
    result = api.train(project, tiny(steps=8, checkpoint_every=4, sample_every=1000, log_every=1),
                       on_event=events.append, new=True)
    assert result.reason == "done" and result.step == 8
    warnings = [e.text for e in events if isinstance(e, api.Message) and e.level == "warning"]
    assert len(warnings) == 1 and "went back to step 4 with half the learning rate" in warnings[0]
    assert "rollback 1 of 3" in warnings[0]
    rates = [e.lr for e in events if isinstance(e, api.StepDone)]
    assert rates[0] == pytest.approx(2e-4) and rates[-1] == pytest.approx(1e-4)
    rollback = next(row for row in log_of(result) if row.get("event") == "rollback")
    assert (rollback["step"], rollback["to_step"], rollback["lr_scale"]) == (6, 4, 0.5)
    assert files.read_json(result.checkpoint)["lr_scale"] == 0.5


def test_a_run_that_keeps_diverging_gives_up_after_three_rollbacks(project, monkeypatch):
    _poisoned(monkeypatch, 6, 10**9, float("nan"))
    events = []
    result = api.train(project, tiny(steps=8, checkpoint_every=4, sample_every=1000, log_every=1),
                       on_event=events.append, new=True)
    assert result.reason == "failed" and checkpoints.step_of(result.checkpoint) == 4
    warnings = [e.text for e in events if isinstance(e, api.Message) and e.level == "warning"]
    errors = [e.text for e in events if isinstance(e, api.Message) and e.level == "error"]
    assert len(warnings) == 3 and len(errors) == 1
    assert "gave up" in errors[0] and "last good checkpoint is step 4" in errors[0] and errors[0] == result.error
    rows = log_of(result)
    assert [row["lr_scale"] for row in rows if row.get("event") == "rollback"] == [0.5, 0.25, 0.125]
    assert rows[-1]["level"] == "error"


def test_kid_tells_real_digits_from_an_untrained_generator(project, monkeypatch):
    monkeypatch.setattr(features, "INPUT_SIZE", 64)  # the mechanism, at a quarter of the trainer's cost
    images = api.load_dataset(project).rgb()[::3]  # 100 digits of every class
    real = features.uint8_features(images)
    half = len(real) // 2
    torch.manual_seed(0)
    with torch.no_grad():
        fake = features.image_features(Generator(16, 8, 16)(torch.randn(half, 16)))
    real_vs_real = kid(real[:half], real[half:])
    real_vs_fake = kid(real[:half], fake)
    assert real_vs_fake > 0.05 and real_vs_real < real_vs_fake / 10, (real_vs_real, real_vs_fake)


def test_kid_during_training_is_logged_and_the_real_features_are_cached(project, monkeypatch):
    monkeypatch.setattr(features, "INPUT_SIZE", 64)
    monkeypatch.setattr(sample_quality, "KID_SAMPLES", 64)
    monkeypatch.setattr(training_data, "KID_REAL", 64)
    computed = []
    real_compute = features.uint8_features
    monkeypatch.setattr(features, "uint8_features", lambda *a, **k: computed.append(1) or real_compute(*a, **k))
    cached = project.dataset_dir / "features-16.safetensors"
    cached.unlink(missing_ok=True)
    events = []
    result = api.train(project, tiny(steps=4, kid_every=2, checkpoint_every=4), on_event=events.append, new=True)
    measured = [e for e in events if isinstance(e, api.QualityMeasured)]
    assert [e.step for e in measured] == [2, 4] and all(e.kid > 0 for e in measured)
    assert all(0 <= e.copies <= 1 for e in measured)  # the share of samples the memorisation meter calls copies
    assert [row["copies"] for row in log_of(result) if "kid" in row] == [e.copies for e in measured]
    assert [row["kid"] for row in log_of(result) if "kid" in row] == [e.kid for e in measured]
    assert files.read_json(result.checkpoint)["quality"] == measured[-1].kid  # KID is the GAN's checkpoint measure
    assert cached.is_file() and computed == [1]
    again = api.train(project, tiny(steps=2, kid_every=2), new=True)
    assert computed == [1] and again.reason == "done"  # the second run read the cached features
