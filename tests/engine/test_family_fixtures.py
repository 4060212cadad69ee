"""Checkpoints made by the code before the family contract (issue 10) still open, render the same images and
resume to the same losses, step by step, in every family (fixtures from tests/engine/family_fixtures.py)."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from engine import api, files

from .family_fixtures import FAMILIES, FIXTURES, RESUMED_STEPS, digits_project, render_inputs, resumed_losses


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return digits_project(tmp_path_factory.mktemp("fixtures"))


def fixture(family: str):
    folder = FIXTURES / family
    expected = json.loads((folder / "expected.json").read_text())
    tensors, _ = files.load_tensors(folder / "expected.safetensors")
    return folder / expected["checkpoint"], expected["losses"], tensors


@pytest.mark.parametrize("family", FAMILIES)
def test_an_old_checkpoint_renders_the_same_images(family):
    checkpoint, _, expected = fixture(family)
    model = api.open_model(checkpoint)
    latents, labels = render_inputs(model)
    image = model.render(latents, labels).astype(np.int16)
    difference = np.abs(image - expected["render"].numpy().astype(np.int16))
    assert difference.max() <= 1 and difference.mean() < 0.01  # float rounding may move a level, no more


@pytest.mark.parametrize("family", FAMILIES)
def test_an_old_checkpoint_resumes_to_the_same_losses(family, project, tmp_path):
    from engine.training import Trainer

    checkpoint, names, expected = fixture(family)
    run_dir = tmp_path / "run"
    (run_dir / "checkpoints").mkdir(parents=True)
    for path in (checkpoint, checkpoint.with_suffix(".safetensors")):
        shutil.copy(path, run_dir / "checkpoints")
    record = json.loads(checkpoint.read_text())
    trainer = Trainer(project, api.TrainConfig.from_dict(record["config"]), run_dir=run_dir)
    trainer.start(run_dir / "checkpoints" / checkpoint.name)
    assert trainer.step_count == record["step"]
    rows = resumed_losses(trainer)
    assert set(names) <= set(rows[0])  # what it logged then (a family may log more now, e.g. DCGAN's ADA p)
    got = torch.tensor([[row[k] for k in names] for row in rows], dtype=torch.float64)
    assert got.shape[0] == RESUMED_STEPS
    torch.testing.assert_close(got, expected["losses"], rtol=1e-4, atol=1e-5)
