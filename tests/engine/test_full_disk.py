"""A real full disk (a small tmpfs, filled up) under every write path: checkpoints, samples, logs, exports, caches,
bookmarks. Each fails with one line naming the cause, keeps the previous file whole and leaves no temporary file;
a training run ends cleanly and the same command resumes it once there is room."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from engine import api, checkpoints, files

from ..disks import fill, small_disk, temporary_files
from .helpers import cli, digits_project, tiny


@pytest.fixture
def disk(tmp_path):
    with small_disk(tmp_path / "disk") as where:
        yield where


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, small_digits_dir):
    """A small trained model on an ordinary disk, for the export paths."""
    project = digits_project(tmp_path_factory.mktemp("model"), small_digits_dir)
    api.train(project, tiny(steps=10))
    return project.root


def run_until_full(project, disk, **overrides):
    """Train; once step 10's checkpoint is written the disk fills up. Returns (result, error messages, filler)."""
    filler = []
    messages = []

    def on_event(event):
        if isinstance(event, api.CheckpointSaved) and event.step == 10:
            filler.append(fill(disk))
        if isinstance(event, api.Message) and event.level == "error":
            messages.append(event.text)

    result = api.train(project, tiny(steps=30, **overrides), on_event=on_event, new=True)
    return result, messages, filler[0]


# which write meets the full disk first: a checkpoint (safetensors), a progress grid (PNG) or a log line (JSON)
FIRST_TO_FAIL = {"checkpoint": dict(log_every=1000, sample_every=1000),
                 "samples": dict(log_every=1000, sample_every=15),
                 "log": dict(log_every=5, sample_every=1000)}


@pytest.mark.parametrize("first", FIRST_TO_FAIL)
def test_a_full_disk_ends_the_run_cleanly_and_the_run_resumes_once_there_is_room(first, disk, small_digits_dir):
    project = digits_project(disk / "project", small_digits_dir)
    result, messages, filler = run_until_full(project, disk, **FIRST_TO_FAIL[first])
    assert result.reason == "failed" and 10 <= result.step < 30
    assert len(messages) == 1 and "No space left on device" in messages[0], messages
    assert "step 10 is kept" in messages[0]
    run = project.runs()[-1]
    assert [checkpoints.step_of(p) for p in checkpoints.complete(run)] == [10]
    assert api.open_model(run).step == 10
    assert not temporary_files(project.root)
    log = run / "log.jsonl"
    for line in log.read_text().splitlines() if log.exists() else []:  # never half a line
        json.loads(line)

    filler.unlink()
    events = []
    again = api.train(project, tiny(steps=30, **FIRST_TO_FAIL[first]), on_event=events.append)
    assert events[0].resumed and events[0].step == 10 and events[0].run_dir == run
    assert again.reason == "done" and again.step == 30


def test_the_cli_says_one_line_on_a_full_disk_and_the_same_command_resumes(disk, small_digits_dir):
    project = digits_project(disk / "project", small_digits_dir)
    command = ["train", "--project", str(project.root), "--steps", "40", "--size", "16", "--width", "8",
               "--latent-dim", "16", "--batch", "16", "--checkpoint-every", "10", "--device", "cpu"]
    first = cli(*command, "--steps", "10")
    assert first.returncode == 0, first.stderr
    filler = fill(disk)
    full = cli(*command)
    assert full.returncode == 1
    said = [line for line in (full.stdout + full.stderr).splitlines() if "No space left on device" in line]
    assert len(said) == 1 and "Traceback" not in full.stderr, full.stdout + full.stderr
    assert "could not write" in said[0] and "step 10 is kept" in said[0]
    assert not temporary_files(project.root)

    filler.unlink()
    resumed = cli(*command)
    assert resumed.returncode == 0, resumed.stderr
    assert "from step 10" in resumed.stdout and "finished at step 40" in resumed.stdout


def previous(path, content: bytes = b"the previous version"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return content


EXPORTS = {
    "png": lambda model, out: api.export_png(model, np.zeros(model.latent_dim, np.float32), out / "point.png"),
    "generate": lambda model, out: api.generate(model, 4, out),
    "gif": lambda model, out: api.export_animation(model, api.interpolate(
        [np.zeros(model.latent_dim), np.ones(model.latent_dim)], 4), out / "loop.gif"),
    "mp4": lambda model, out: api.export_animation(model, api.interpolate(
        [np.zeros(model.latent_dim), np.ones(model.latent_dim)], 4), out / "loop.mp4"),
    "model file": lambda model, out: model.export(out / "model.safetensors"),
}
TARGET = {"png": "point.png", "generate": "seed-000000.png", "gif": "loop.gif", "mp4": "loop.mp4",
          "model file": "model.safetensors"}


@pytest.mark.parametrize("kind", EXPORTS)
def test_an_export_to_a_full_disk_fails_in_one_line_and_keeps_the_previous_file(kind, disk, model_dir):
    model = api.open_model(model_dir)
    out = disk / "exports"
    kept = previous(out / TARGET[kind])
    fill(disk)
    with pytest.raises(api.WriteFailed) as failure:
        EXPORTS[kind](model, out)
    assert str(failure.value) == f"could not write {TARGET[kind]}: No space left on device"
    assert (out / TARGET[kind]).read_bytes() == kept
    assert not temporary_files(out)


def test_ingest_bookmarks_and_the_features_cache_on_a_full_disk_keep_what_was_there(disk, small_digits_dir,
                                                                                   digits_dir):
    project = digits_project(disk / "project", small_digits_dir)
    manifest = project.manifest_path.read_bytes()
    api.save_bookmarks(project, [{"name": "first", "latent": [0.0] * 16}])
    bookmarks = project.bookmarks_path.read_bytes()
    filler = fill(disk)
    with pytest.raises(api.WriteFailed, match="No space left on device"):
        api.ingest(project, [digits_dir], size=16)  # more images: a bigger cache that does not fit
    hashes = api.manifest(project)[:5]
    with pytest.raises(api.WriteFailed, match="No space left on device"):
        api.remove_images(project, [row["hash"] for row in hashes])  # their pixels, kept for Undo, do not fit
    with pytest.raises(api.WriteFailed, match="could not write bookmarks.json: No space left on device"):
        api.save_bookmarks(project, [{"name": "second", "latent": [1.0] * 16}])
    with pytest.raises(api.WriteFailed, match="No space left on device"):
        files.save_tensors(project.dataset_dir / "features-16.safetensors", {"features": torch.ones(64, 1280)})
    assert project.manifest_path.read_bytes() == manifest
    assert project.bookmarks_path.read_bytes() == bookmarks
    assert len(api.load_dataset(project)) == 300 and api.dataset_stats(project)["undoable_removals"] == 0
    assert not temporary_files(project.root)
    filler.unlink()  # room again: the same removal works, and Undo puts the images back
    assert api.remove_images(project, [row["hash"] for row in hashes]) == 5 and api.restore_removed(project) == 5
    assert len(api.load_dataset(project)) == 300
