"""GUI test fixtures: isolated settings, no thread left running, no modal question left open, real projects.

Every test gets its own QSettings folder (labelme), fails when a QThread it started is still running or the
thread pool is still busy at teardown (napari's `_dangling_qthreads`), and answers the window's yes/no questions
with "yes" unless it patches `ask` itself, so a forgotten question can never hang the suite.
"""
from __future__ import annotations

import shutil
from dataclasses import replace

import pytest
import shiboken6
from PySide6.QtCore import QSettings, QStandardPaths, QThread, QThreadPool

from gui import gui_thread_gc, wheel_guard


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, qapp):
    gui_thread_gc.install(qapp)  # as the app does: no worker thread may free a widget
    wheel_guard.install(qapp)  # and the wheel scrolls panels, not the controls passing under the pointer
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    QStandardPaths.setTestModeEnabled(True)
    qapp.setOrganizationName("LatentStudioTests")
    yield
    QStandardPaths.setTestModeEnabled(False)


@pytest.fixture(autouse=True)
def _dangling_qthreads(monkeypatch):
    """Fail the test when a QThread it started, or a pool job, outlives it (widgets are closed before this)."""
    started: list[QThread] = []
    original_start = QThread.start

    def tracking_start(thread, *args):
        started.append(thread)
        return original_start(thread, *args)

    monkeypatch.setattr(QThread, "start", tracking_start)
    yield
    pool_idle = QThreadPool.globalInstance().waitForDone(20_000)
    # A thread Qt has already deleted (its owner was deleteLater-ed after it finished) is not running.
    dangling = [thread for thread in started if shiboken6.isValid(thread) and thread.isRunning()]
    for thread in dangling:  # leave the next test a clean process
        thread.quit()
        thread.wait(30_000)
    assert pool_idle, "a thread-pool job was still running after the test"
    assert not dangling, f"QThreads left running: {[t.objectName() or repr(t) for t in dangling]}"


@pytest.fixture(autouse=True)
def _questions(monkeypatch):
    """Yes to every question unless the test patches `questions.yes_or_no` itself; the questions asked are recorded."""
    from gui import questions

    asked: list[str] = []

    def yes(parent, title, text):
        asked.append(title)
        return True

    monkeypatch.setattr(questions, "yes_or_no", yes)
    return asked


@pytest.fixture(scope="session")
def api():
    from engine import api as engine_api

    return engine_api


@pytest.fixture(scope="session")
def digits_template(tmp_path_factory, small_digits_dir, api):
    """A project holding the 300 small digits at 16 px, ingested once per session."""
    project = api.Project.create(tmp_path_factory.mktemp("template") / "Digits")
    project.dataset.size = 16
    project.save()
    api.ingest(project, [small_digits_dir], workers=1)
    return project.root


@pytest.fixture
def digits_project(tmp_path, digits_template, api):
    """A fresh copy of the digits project for one test."""
    return api.Project.open(shutil.copytree(digits_template, tmp_path / "Digits"))


@pytest.fixture
def tiny_config():
    """Turns a suggested config into a run that takes seconds on a laptop CPU."""
    def tiny(config, **changes):
        settings = dict(size=16, steps=30, batch=16, sample_every=10, checkpoint_every=10, width=8, latent_dim=16,
                        precision="fp32", device="cpu")
        if "family" in changes:  # as the family picker does: another family's options start from their defaults
            from engine.train_config import COMMON, TrainConfig
            config = TrainConfig(**{name: getattr(config, name) for name in COMMON})
        return replace(config, **{**settings, **changes})

    return tiny


@pytest.fixture
def room(qtbot, api, digits_project):
    """The Train room on a project of digits, its preset shown."""
    from gui.train_room import TrainRoom

    room = TrainRoom()
    qtbot.addWidget(room)
    room.set_api(api)
    room.set_project(digits_project)
    qtbot.waitUntil(lambda: room.config() is not None, timeout=20_000)  # the preset arrives from a pool job
    return room
