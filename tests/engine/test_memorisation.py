"""The memorisation meter on real digits: lightly altered training images count as copies, unseen real digits do
not, a mirrored digit counts only when the run trained with flips; and `nearest` on the command line, from a
project or from a model file beside its project."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from engine import api
from engine.memorisation import CALIBRATION_SEED, alter

from .. import clipart
from ..digits import write_digits
from .helpers import cli, digits_project, tiny

TEST_SEED = 7  # alterations the calibration never saw
assert TEST_SEED != CALIBRATION_SEED


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("meter")
    return digits_project(root / "project", write_digits(root / "seen", indices=range(600), px=32), size=32)


@pytest.fixture(scope="module")
def unseen_dir(tmp_path_factory):
    """Real digits of the same kind that are not in the project."""
    return write_digits(tmp_path_factory.mktemp("unseen"), indices=range(1400, 1600), px=32)


@pytest.fixture(scope="module")
def unseen(unseen_dir):
    return api.load_images(sorted(unseen_dir.rglob("*.png")), 32)[1]


def test_altered_training_images_are_copies_and_unseen_digits_are_not(project, unseen):
    meter = api.meter_for(project)
    assert meter.calibration["separated"] and (project.root / "dataset" / "meter-32.json").is_file()
    training = api.load_dataset(project).rgb()
    rng = np.random.default_rng(TEST_SEED)
    picked = rng.choice(len(training), 200, replace=False)
    verdicts = meter.judge(np.stack([alter(training[i], rng) for i in picked]))
    assert np.mean([v.copy for v in verdicts]) >= 0.95
    assert np.mean([v.nearest[0] == i for v, i in zip(verdicts, picked)]) >= 0.95  # the image it was made from
    assert np.mean([v.copy for v in meter.judge(unseen)]) <= 0.10


def test_a_mirrored_training_image_is_a_copy_only_when_the_run_trained_with_flips(project):
    training = api.load_dataset(project).rgb()
    mirrored = training[:100, :, ::-1]
    plain, flipped = api.meter_for(project), api.meter_for(project, flips=True)
    assert np.mean([v.copy for v in flipped.judge(mirrored)]) >= 0.95
    assert np.mean([v.copy for v in plain.judge(mirrored)]) < 0.5  # digits are rarely their own mirror image
    assert np.mean([v.copy for v in flipped.judge(training[:100])]) >= 0.95


def test_nearest_on_the_command_line_from_a_project_and_from_a_model_file(project, unseen_dir, tmp_path):
    source = api.manifest(project)[3]["source"]
    other = sorted(unseen_dir.rglob("*.png"))[0]
    done = cli("nearest", str(project.root), source, str(other), "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert rows[0]["copy"] and rows[0]["nearest"] == source and rows[0]["similarity"] > 0.99
    assert not rows[1]["copy"] and set(rows[1]) == {"image", "nearest", "similarity", "copy"}

    result = api.train(project, tiny("dcgan", size=32, steps=2, checkpoint_every=2, sample_every=2), new=True)
    model_file = project.root.parent / "digits-model.safetensors"
    api.export_model(result.checkpoint, model_file)
    done = cli("nearest", str(model_file), source)
    assert done.returncode == 0, done.stderr
    assert "COPY of" in done.stdout and source in done.stdout

    alone = tmp_path / "alone" / "digits-model.safetensors"
    alone.parent.mkdir()
    shutil.copy(model_file, alone)
    done = cli("nearest", str(alone), source)
    assert done.returncode != 0 and "give it with --project" in done.stderr and len(done.stderr.splitlines()) == 1
    done = cli("nearest", str(alone), source, "--project", str(project.root), "--json")
    assert done.returncode == 0 and json.loads(done.stdout)[0]["copy"]


@pytest.mark.skipif(not clipart.available(), reason="clip art needs `apt-get install openclipart-png`")
def test_on_64_px_clip_art_altered_pictures_are_copies_and_other_pictures_are_not():
    from engine.memorisation import Meter, calibrate

    pictures = clipart.distinct_pictures(700)
    seen, unseen = pictures[:500], pictures[500:]
    meter = Meter(seen, [""] * len(seen), *calibrate(seen))
    rng = np.random.default_rng(TEST_SEED)
    picked = rng.choice(len(seen), 200, replace=False)
    flagged = np.mean([v.copy for v in meter.judge(np.stack([alter(seen[i], rng) for i in picked]))])
    assert flagged >= 0.95, flagged
    assert np.mean([v.copy for v in meter.judge(unseen)]) <= 0.10
