"""Training stories: a model learns, stops and resumes exactly, survives SIGKILL (a full disk: test_full_disk.py)."""
from __future__ import annotations

import json
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch

from engine import api, checkpoints, files, sample_quality
from engine.training import Trainer

from .helpers import ROOT, cli, digits_project, tiny


@pytest.fixture(scope="module")
def project(tmp_path_factory, small_digits_dir):
    return digits_project(tmp_path_factory.mktemp("train"), small_digits_dir)


def weights_of(checkpoint_json) -> dict:
    record, tensors = checkpoints.read(checkpoint_json)
    return {k: v for k, v in tensors.items() if k.startswith(("net.", "ema.", "opt."))}


def test_a_vae_learns_to_reconstruct_held_out_digits(project):
    trainer = Trainer(project, tiny("vae", steps=150))
    trainer.start(None)
    before = trainer.learner.quality(trainer.holdout)
    for _ in range(150):
        trainer.step()
    after = trainer.learner.quality(trainer.holdout)
    assert after <= 0.7 * before, (before, after)


def test_a_run_of_steps_that_measured_its_quality_measures_its_last_step_too(project, monkeypatch):
    """The preset's 3,000 steps measured KID at step 2,000 only and kept that model as its best."""
    runs, measured = [], []  # a quality that improves at every measurement
    monkeypatch.setattr(sample_quality.KidMeter, "measure",
                        lambda self, *a, **k: measured.append(runs[-1].step_count) or 1 / len(measured))
    monkeypatch.setattr(sample_quality.CopyShare, "measure", lambda self, *a, **k: 0.0)
    runs.append(Trainer(project, tiny(steps=7, kid_every=3, checkpoint_every=100)))
    assert runs[-1].run().reason == "done"
    assert measured == [3, 6, 7] and runs[-1].best.step == 7
    runs.append(Trainer(project, tiny(steps=2, kid_every=3)))  # too short to measure: stays unmeasured
    runs[-1].run()
    assert measured == [3, 6, 7]


def test_events_arrive_in_order_and_samples_and_checkpoints_are_written(project):
    events = []
    result = api.train(project, tiny(steps=20), on_event=events.append, new=True)
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "RunStarted" and kinds[-1] == "RunFinished"
    assert result.reason == "done" and result.step == 20
    assert {"StepDone", "SamplesReady", "CheckpointSaved", "Snapshot"} <= set(kinds)
    grid = next(e for e in events if kinds[events.index(e)] == "SamplesReady").grid
    assert grid.dtype.name == "uint8" and grid.ndim == 3 and grid.std() > 0
    run = result.checkpoint.parent.parent
    assert (run / "samples" / "step-000010.png").is_file()
    assert len((run / "log.jsonl").read_text().splitlines()) == 4
    assert [checkpoints.step_of(p) for p in checkpoints.complete(run)] == [10, 20]


def test_each_picture_of_the_progress_grid_is_made_again_from_its_point(project):
    """Clicking a picture of the Train room's grid explores it: its point draws the same picture (label included)."""
    from PIL import Image

    result = api.train(project, tiny("cgan", steps=60, sample_every=60, checkpoint_every=60), new=True)
    model = api.open_model(result.checkpoint)
    picture = np.asarray(Image.open(api.sample_grids(result.checkpoint.parent.parent)[-1][1]))
    side, pad = model.size, 2
    for index in (0, 9, 35):
        latent, label = api.progress_point(index, model.latent_dim, model.cfg.num_classes)
        row, column = divmod(index, api.GRID_COLUMNS)
        assert label == row % model.cfg.num_classes  # a conditional grid shows one label per row
        top, left = pad + row * (side + pad), pad + column * (side + pad)
        made = model.render(latent[None], [label])[0]
        assert np.abs(made.astype(int) - picture[top:top + side, left:left + side].astype(int)).mean() < 1.0
    other = model.render(api.progress_point(1, model.latent_dim, model.cfg.num_classes)[0][None], [0])[0]
    assert np.abs(other.astype(int) - picture[pad:pad + side, pad:pad + side].astype(int)).mean() > 1.0


def test_stopping_at_40_and_resuming_to_80_matches_an_uninterrupted_run_augmentation_strength_included(project):
    # DCGAN's augmentation follows ADA; a target its real scores beat at once makes the strength rise from 0
    straight = api.train(project, tiny(steps=80, checkpoint_every=40, ada_target=0.01), new=True)
    control = api.Control()

    def stop_at_40(event):
        if isinstance(event, api.StepDone) and event.step == 40:
            control.request_stop()

    first = api.train(project, tiny(steps=80, checkpoint_every=1000, log_every=5, ada_target=0.01),
                      on_event=stop_at_40, control=control, new=True)
    assert first.reason == "stopped" and first.step == 40
    events = []
    resumed = api.train(project, tiny(steps=80, checkpoint_every=1000, ada_target=0.01), on_event=events.append)
    assert events[0].resumed and events[0].step == 40 and resumed.step == 80
    a, b = weights_of(straight.checkpoint), weights_of(resumed.checkpoint)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6, msg=key)
    ada = [files.read_json(result.checkpoint)["extra"]["ada"] for result in (straight, resumed)]
    assert ada[0]["p"] > 0 and ada[0] == ada[1]
    logged = [json.loads(line) for line in (straight.checkpoint.parent.parent / "log.jsonl").read_text().splitlines()]
    assert all("p" in row for row in logged if "d" in row)  # the strength is logged beside the losses


def test_a_run_killed_with_sigkill_resumes_from_its_last_checkpoint(tmp_path, small_digits_dir):
    project = digits_project(tmp_path / "p", small_digits_dir)
    args = [sys.executable, str(ROOT / "main.py"), "train", "--project", str(project.root), "--steps", "100000",
            "--size", "16", "--width", "8", "--latent-dim", "16", "--batch", "16", "--checkpoint-every", "5",
            "--device", "cpu", "--jsonl"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    saved = 0
    for line in proc.stdout:
        event = json.loads(line)
        if event["event"] == "CheckpointSaved":
            saved = event["step"]
            if saved >= 15:
                break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    run = project.runs()[-1]
    last = checkpoints.step_of(checkpoints.latest(run))
    assert last >= saved  # nothing written after the kill is lost; a half-written one is ignored
    assert api.resumable_run(project) == run and api.resume_step(run) == last  # what the Train room offers
    again = cli("train", "--project", str(project.root), "--steps", str(last + 5), "--device", "cpu")
    assert again.returncode == 0, again.stderr
    assert f"resuming {run.name} from step {last}" in again.stdout
    with (run / "log.jsonl").open("a") as log:
        log.write('{"step": 99999, "d": 1.')  # a line cut off mid-write
    history = api.run_history(run)  # what the Train room shows of the run when the project opens again
    steps = [step for step, _losses in history["losses"]]
    assert steps == sorted(set(steps)) and 0 < steps[-1] <= last + 5  # steps the resumed run repeated, once
    assert history["checkpoints"][-1][:2] == (last + 5, checkpoints.latest(run))


def test_a_run_that_died_before_its_first_checkpoint_is_offered_from_its_start(tmp_path, small_digits_dir):
    project = digits_project(tmp_path / "p", small_digits_dir)
    trainer = Trainer(project, tiny(steps=50))
    trainer.start(None)  # the folder and its "running" status are written, as a run that dies now leaves them
    assert api.resumable_run(project) == trainer.folder.path and api.resume_step(trainer.folder.path) is None


def test_ctrl_c_stops_with_a_checkpoint(tmp_path, small_digits_dir):
    project = digits_project(tmp_path / "p", small_digits_dir)
    args = [sys.executable, str(ROOT / "main.py"), "train", "--project", str(project.root), "--steps", "100000",
            "--size", "16", "--width", "8", "--latent-dim", "16", "--batch", "16", "--checkpoint-every", "100000",
            "--device", "cpu", "--jsonl"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    for line in proc.stdout:
        if json.loads(line)["event"] == "StepDone":
            break
    proc.send_signal(signal.SIGINT)
    rest = proc.stdout.read()
    assert proc.wait(timeout=60) == 0
    finished = json.loads(rest.strip().splitlines()[-1])
    assert finished["event"] == "RunFinished" and finished["reason"] == "stopped"
    assert checkpoints.step_of(checkpoints.latest(project.runs()[-1])) == finished["step"]


def test_pause_holds_the_run_between_steps(project):
    import threading

    control = api.Control()
    steps = []
    paused_at = threading.Event()

    def on_event(event):
        if isinstance(event, api.StepDone):
            steps.append(event.step)
            if event.step == 5:
                control.pause()
                paused_at.set()

    thread = threading.Thread(target=api.train, args=(project, tiny(steps=10, log_every=1)),
                              kwargs=dict(on_event=on_event, control=control, new=True))
    thread.start()
    assert paused_at.wait(60)
    thread.join(0.5)
    assert steps[-1] == 5 and thread.is_alive()
    control.resume()
    thread.join(60)
    assert steps[-1] == 10


def test_a_speed_measurement_stops_when_asked(project):
    control = api.Control()
    control.request_stop()
    with pytest.raises(api.Cancelled):
        api.measure_speed(project, tiny(), seconds=30, control=control)
    assert api.measure_speed(project, tiny(), seconds=0.2) > 0
