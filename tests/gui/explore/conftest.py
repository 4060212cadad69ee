"""The Explore room's tests share a project of real digits with a tiny DCGAN trained on it, and a room showing it."""
from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import QThreadPool

from engine import api

from .helpers import WAIT, open_room


@pytest.fixture(scope="module")
def trained(tmp_path_factory, digits_template):
    """A project of 300 real digits at 16 px (a copy of the session's ingested template) with a DCGAN trained for
    20 steps, and the EMA snapshots the run sent (steps 10 and 20)."""
    project = api.Project.open(shutil.copytree(digits_template, tmp_path_factory.mktemp("explore") / "Digits"))
    snapshots = []
    api.train(project, api.TrainConfig(family="dcgan", size=16, steps=20, batch=16, width=8, latent_dim=16,
                                       precision="fp32", checkpoint_every=20, sample_every=10),
              on_event=lambda e: snapshots.append(e) if isinstance(e, api.Snapshot) else None)
    return project, snapshots


@pytest.fixture
def room(qtbot, trained):
    """An Explore room showing the trained project's model, its directions fitted and its first frame on screen."""
    room = open_room(qtbot, trained[0])
    yield room
    room.shutdown()
    QThreadPool.globalInstance().waitForDone(WAIT)
    assert not room.render.isRunning()
