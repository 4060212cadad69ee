"""The window as a whole: it appears before the engine, rooms switch by keyboard, settings come back, and closing
during training saves a checkpoint first."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from gui import questions
from gui.app import MainWindow, apply_theme, settings

ROOT = Path(__file__).resolve().parents[2]

LAUNCH = """
import json, sys, time
started = time.perf_counter()
from gui.app import launch
app, window = launch()
facts = {"shown_s": time.perf_counter() - started, "visible": window.isVisible(),
         "torch_loaded_at_show": "torch" in sys.modules, "engine_loaded_at_show": "engine.api" in sys.modules}
def ready():
    facts.update(ready_s=time.perf_counter() - started, visible_at_ready=window.isVisible(),
                 rooms_enabled=window.train_room.isEnabled() and window.dataset_room.isEnabled())
    window.close()
window.engine_ready.connect(ready)
window.loader.failed.connect(lambda text: (facts.update(failed=text), window.close()))
app.exec()
print(json.dumps(facts))
"""


def test_the_window_is_on_screen_before_the_engine_has_loaded(tmp_path):
    """A fresh process, so torch is really imported during the test (in this process it already is)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path), HOME=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", LAUNCH], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    facts = json.loads(done.stdout.strip().splitlines()[-1])
    assert "failed" not in facts
    assert facts["visible"] and not facts["torch_loaded_at_show"] and not facts["engine_loaded_at_show"]
    # The target is under 2 s on an idle laptop (about 1 s here); a loaded CI box gets slack, but the window
    # must still come well before the engine, whatever the load.
    assert facts["shown_s"] < 5.0
    assert facts["shown_s"] < 0.6 * facts["ready_s"]
    assert facts["visible_at_ready"] and facts["rooms_enabled"]


@pytest.fixture
def window(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    return window


def test_ready_arrives_after_the_window_is_visible_and_ctrl_number_switches_rooms(qtbot, window):
    visible_when_ready = []
    window.engine_ready.connect(lambda: visible_when_ready.append(window.isVisible()))
    window.show()
    qtbot.waitExposed(window)
    assert not window.train_room.isEnabled()  # nothing to click before the engine is there
    with qtbot.waitSignal(window.engine_ready, timeout=60_000):
        window.start_engine()
    assert visible_when_ready == [True]
    assert window.train_room.isEnabled()

    from gui.explore_room import ExploreRoom

    assert not isinstance(window.explore_room, ExploreRoom)  # built when first shown, not in the launch's turns
    window.activateWindow()
    qtbot.waitActive(window)
    for key, room in ((Qt.Key.Key_2, "Train"), (Qt.Key.Key_3, "Explore"), (Qt.Key.Key_1, "Dataset"),
                      (Qt.Key.Key_0, "Start")):
        qtbot.keyClick(window, key, Qt.KeyboardModifier.ControlModifier)
        assert window.current_room() == room
        assert window.pages.currentIndex() == window.sidebar.currentRow()
    assert isinstance(window.explore_room, ExploreRoom) and window.explore_room.isEnabled()


def test_the_last_project_and_the_recent_list_come_back(qtbot, api, tmp_path):
    project = api.Project.create(tmp_path / "Moths")
    first = MainWindow()
    qtbot.addWidget(first)
    with qtbot.waitSignal(first.engine_ready, timeout=60_000):
        first.start_engine()
    first.open_project(str(project.root))
    assert first.windowTitle().startswith("Moths")
    first.close()

    second = MainWindow()
    qtbot.addWidget(second)
    assert second.start_page.recent.item(0).data(Qt.ItemDataRole.UserRole) == str(project.root)
    with qtbot.waitSignal(second.engine_ready, timeout=60_000):
        second.start_engine()
    qtbot.waitUntil(lambda: second.project is not None, timeout=10_000)
    assert second.project.root == project.root
    assert settings().value("last_project") == str(project.root)


def test_closing_during_training_asks_then_stops_with_a_checkpoint(qtbot, window, digits_project, tiny_config,
                                                                   monkeypatch):
    window.show()
    with qtbot.waitSignal(window.engine_ready, timeout=60_000):
        window.start_engine()
    window.open_project(str(digits_project.root))
    room = window.train_room
    qtbot.waitUntil(lambda: room.config() is not None, timeout=20_000)
    room.set_config(tiny_config(room.config(), steps=100_000, checkpoint_every=100_000, log_every=1))
    with qtbot.waitSignal(room.step_done, timeout=60_000):
        room.start()

    answers = [False, True]
    titles = []
    monkeypatch.setattr(questions, "yes_or_no", lambda parent, title, text: (titles.append(title), answers.pop(0))[1])
    window.close()  # "No": keep training
    assert window.isVisible() and room.is_training()
    window.close()  # "Yes": stop, save, then close
    assert titles == ["Training is running", "Training is running"]
    assert "Saving" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=60_000)
    assert not room.is_training()
    assert list((room.run_dir / "checkpoints").glob("step-*.json"))


def test_the_demo_opens_with_its_model_every_room_fits_a_laptop_screen_and_the_theme_sticks(
        qtbot, api, window, tmp_path, monkeypatch):
    monkeypatch.setattr("gui.window_projects.demo_target", lambda: tmp_path / "Demo")
    apply_theme("dark")  # as the app starts: the theme's padding decides how wide the rooms are
    window.show()
    assert not window.start_page.demo_button.isEnabled()  # nothing to open before the engine is there
    with qtbot.waitSignal(window.engine_ready, timeout=60_000):
        window.start_engine()
    assert window.start_page.demo_button.isEnabled()
    window.start_page.demo_button.click()
    qtbot.waitUntil(lambda: window.project is not None, timeout=60_000)
    assert window.project.root == tmp_path / "Demo"
    assert api.dataset_stats(window.project)["count"] > 200 and api.open_model(window.project.root).size == 64
    window.show_room(3)
    qtbot.waitUntil(lambda: getattr(window.explore_room, "model_info", lambda: None)() is not None, timeout=60_000)
    # on a 1,400 px screen the window opens 1,260 px wide: every room fits beside the sidebar, without scrolling
    assert window.minimumSizeHint().width() <= 1260
    assert window.sidebar.width() + window.explore_room.minimumSizeHint().width() <= 1260 - 20

    window.set_theme("light")
    assert settings().value("theme") == "light"
    assert [action.data() for action in window.theme_group.actions() if action.isChecked()] == ["light"]


def test_file_menu_exports_the_model_and_its_onnx(qtbot, api, window, digits_project, tmp_path, monkeypatch):
    from gui import model_exports

    api.train(digits_project, api.TrainConfig(family="dcgan", size=16, steps=4, batch=8, width=8, latent_dim=16,
                                              precision="fp32", checkpoint_every=4, sample_every=4))
    with qtbot.waitSignal(window.engine_ready, timeout=60_000):
        window.start_engine()
    window.open_project(str(digits_project.root))
    qtbot.waitUntil(lambda: window.project is not None, timeout=20_000)
    starts = []
    monkeypatch.setattr(model_exports, "ask_path", lambda parent, caption, start, pattern: starts.append(start) or
                        str(tmp_path / ("digits.onnx" if "ONNX" in caption else "digits.safetensors")))
    monkeypatch.setattr(model_exports, "ask_licence", lambda parent: "CC0-1.0")
    actions = {action.text().replace("&", ""): action for action in window.menuBar().actions()[0].menu().actions()}
    for title, name in (("Export model…", "digits.safetensors"), ("Export ONNX…", "digits.onnx")):
        actions[title].trigger()
        qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Saved"), timeout=60_000)
        assert (tmp_path / name).is_file()
        window.statusBar().clearMessage()
    # the dialog opened in the project's exports folder, made for it (pointed at a missing folder, Qt's dialog opens
    # in the folder the app was launched from)
    assert [Path(start).parent for start in starts] == [digits_project.exports_dir] * 2
    assert digits_project.exports_dir.is_dir()
    from engine import files

    _, header = files.load_tensors(tmp_path / "digits.safetensors")
    assert header["licence"] == "CC0-1.0" and header["family"] == "dcgan" and header["image_count"] == 300
    assert api.open_model(tmp_path / "digits.safetensors").size == 16


def test_garbage_is_collected_on_the_gui_thread_when_python_would_collect_it(qapp):
    import gc

    from PySide6.QtCore import QObject

    from gui import gui_thread_gc

    collector = gui_thread_gc.install(qapp)
    assert not gc.isenabled() and gui_thread_gc.install(qapp) is collector  # one per application

    class Cycle:  # garbage only the cyclic collector frees, holding a Qt object as the rooms' cycles do
        def __init__(self):
            self.me, self.qt = self, QObject()

    gc.collect()
    freed = []

    def probe(phase, info):
        if phase == "stop":
            freed.append(info["collected"])

    gc.callbacks.append(probe)
    try:
        collector.collect()
        assert freed == []  # nothing past a threshold: nothing to do
        for _ in range(gc.get_threshold()[0] + 10):
            Cycle()
        collector.collect()  # what the timer calls, on this (the GUI) thread
    finally:
        gc.callbacks.remove(probe)
    assert len(freed) == 1 and freed[0] >= gc.get_threshold()[0]


def test_the_shortcut_sheet_lists_every_shortcut_of_every_room_by_what_it_does(qtbot, window):
    from PySide6.QtGui import QShortcut

    with qtbot.waitSignal(window.engine_ready, timeout=60_000):
        window.start_engine()
    window.show_room(3)  # the Explore room is built when first shown
    help_menu = window.menuBar().actions()[-1].menu()
    sheet_action = next(action for action in help_menu.actions() if "Keyboard" in action.text())
    assert sheet_action.shortcut().toString() == "F1"
    sheet = window.show_shortcuts()
    qtbot.addWidget(sheet)
    rows = sheet.rows()
    for row in (("Everywhere", "Ctrl+N", "New project"), ("Everywhere", "Ctrl+2", "Go to the Train room"),
                ("Dataset", "Del", "Remove the selected images (in the image grid)"),
                ("Train", "Ctrl+Return", "Start a new run with these settings"),
                ("Explore", "Ctrl+B", "Bookmark the current point"), ("Explore", "R", "A new random seed"),
                ("Explore, for a model that translates pictures", "Ctrl+T", "Translate picture files")):
        assert row in rows, row
    # Ctrl+E exports the canvas's PNG in Explore and the translations in the Translate view: each in its own group
    assert [what for group, keys, what in rows if keys == "Ctrl+E" and group == "Explore"] == [
        "Export the image as a PNG with its point"]
    assert all(shortcut.whatsThis() for shortcut in window.findChildren(QShortcut))  # none left unnamed


def test_a_picture_clicked_in_the_training_grid_opens_in_explore_at_its_point(qtbot, api, window, digits_project):
    import numpy as np
    from PySide6.QtCore import QPoint

    api.train(digits_project, api.TrainConfig(family="dcgan", size=16, steps=4, batch=8, width=8, latent_dim=16,
                                              precision="fp32", checkpoint_every=4, sample_every=4))
    window.show()
    with qtbot.waitSignal(window.engine_ready, timeout=60_000):
        window.start_engine()
    window.open_project(str(digits_project.root))
    samples = window.train_room.samples
    qtbot.waitUntil(lambda: not samples.image.pixmap().isNull(), timeout=20_000)  # the run's grid, on opening
    assert samples.image.cursor().shape() == Qt.CursorShape.PointingHandCursor
    shown = samples.image.pixmap()
    left, top = (samples.image.width() - shown.width()) / 2, (samples.image.height() - shown.height()) / 2
    cell = shown.width() / 6
    at = QPoint(int(left + 2.5 * cell), int(top + 1.5 * cell))  # row 2, column 3
    with qtbot.waitSignal(samples.picture_clicked) as clicked:
        qtbot.mouseClick(samples.image, Qt.MouseButton.LeftButton, pos=at)
    assert clicked.args == [8]
    room = window.explore_room
    assert window.current_room() == "Explore"
    qtbot.waitUntil(lambda: room.current_point().latent is not None, timeout=60_000)  # once its model has opened
    latent, _label = api.progress_point(8, 16)
    np.testing.assert_allclose(room.current_point().latent, latent)
    assert "row 2, column 3" in window.statusBar().currentMessage()
