"""The first run: missing Qt libraries are named with the line that installs them, a folder given on the command
line opens, and a full disk under the settings or a training run shows a message while every thread lives on."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from gui import system_check
from gui.app import MainWindow
from gui.settings import settings

from ..disks import fill, small_disk

ROOT = Path(__file__).resolve().parents[2]
LDD = ROOT / "tests" / "fixtures" / "ldd"
DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n'
FEDORA = 'NAME="Fedora Linux"\nID=fedora\n'


def test_the_libraries_qt_lacks_are_read_from_ldd_and_named_with_one_install_line():
    missing = system_check.missing_libraries((LDD / "libqxcb-debian12-missing.txt").read_text())
    assert missing == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]  # each once, though ldd lists them twice
    assert system_check.install_line(missing, DEBIAN) == "sudo apt-get install -y libxcb-icccm4 libxcb-keysyms1"
    assert system_check.install_line(missing, FEDORA) == "sudo dnf install -y xcb-util-wm xcb-util-keysyms"
    assert system_check.missing_libraries((LDD / "libqxcb-debian12-present.txt").read_text()) == []
    # a library not in the table gets Debian's soname rule
    assert system_check.debian_package("libxcb-xinput.so.0") == "libxcb-xinput0"
    assert system_check.debian_package("libfoo-2.so.0") == "libfoo-2-0"


def test_the_check_follows_the_platform_qt_will_use():
    assert system_check.platform_plugin({}) == "xcb"
    assert system_check.platform_plugin({"WAYLAND_DISPLAY": "wayland-0"}) == "wayland"
    assert system_check.platform_plugin({"QT_QPA_PLATFORM": "offscreen"}) is None
    assert system_check.platform_plugin({"QT_QPA_PLATFORM": "xcb;wayland"}) == "xcb"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ldd is Linux's")
@pytest.mark.parametrize("recorded,fails", [("libqxcb-debian12-missing.txt", True),
                                            ("libqxcb-debian12-present.txt", False)])
def test_launching_where_libraries_are_missing_prints_the_fix_and_exits(tmp_path, recorded, fails):
    """The real entry point, with an `ldd` on PATH that answers what a fresh Debian's ldd answered."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "ldd").write_text(f"#!/bin/sh\ncat '{LDD / recorded}'\n")
    (fake / "ldd").chmod(0o755)
    env = dict(os.environ, PATH=f"{fake}:{os.environ['PATH']}", HOME=str(tmp_path))
    env.pop("QT_QPA_PLATFORM", None)
    env.pop("WAYLAND_DISPLAY", None)
    code = ("import sys, runpy; import gui.app; gui.app.run = lambda folder=None: sys.exit(0); "
            "sys.argv = ['main.py']; runpy.run_path('main.py', run_name='__main__')")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    if fails:
        assert done.returncode == 3
        assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in done.stderr
        assert "apt-get install -y libxcb-icccm4 libxcb-keysyms1" in done.stderr or "dnf install" in done.stderr
    else:
        assert done.returncode == 0, done.stderr


@pytest.fixture
def window(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    return window


def load_engine(qtbot, window):
    with qtbot.waitSignal(window.engine_ready, timeout=60_000):
        window.start_engine()


def test_a_project_folder_on_the_command_line_opens_that_project(qtbot, digits_project, api, tmp_path):
    other = api.Project.create(tmp_path / "Other")
    settings().setValue("last_project", str(other.root))  # the folder named wins over the last one opened
    window = MainWindow()
    qtbot.addWidget(window)
    window.open_path(str(digits_project.root))
    load_engine(qtbot, window)
    assert window.project is not None and window.project.root == digits_project.root
    assert window.current_room() in ("Dataset", "Train")


def test_a_folder_of_images_on_the_command_line_starts_a_project_from_them(qtbot, window, small_digits_dir):
    window.open_path(str(small_digits_dir))
    with qtbot.waitSignal(window.dataset_room.dataset_changed, timeout=120_000):
        load_engine(qtbot, window)
    assert window.project is not None and window.project.root != small_digits_dir
    assert window.project.root.name.startswith(small_digits_dir.name)  # "name 2" when one exists already
    assert len(window.api.manifest(window.project)) == 300
    assert window.current_room() == "Dataset"


def test_settings_on_a_full_disk_say_so_and_keep_the_previous_file(qtbot, window, tmp_path):
    with small_disk(tmp_path / "disk", "1m") as disk:
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(disk))
        window.set_theme("dark")
        path = Path(settings().fileName())
        before = path.read_bytes()
        fill(disk)
        window.set_theme("light")
        assert "Settings not saved" in window.statusBar().currentMessage()
        assert path.read_bytes() == before


def test_training_in_the_app_on_a_full_disk_says_why_and_the_thread_ends_cleanly(qtbot, window, api, tmp_path,
                                                                                   small_digits_dir, tiny_config):
    from gui.train_room import TrainRoom

    with small_disk(tmp_path / "disk") as disk:
        project = api.Project.create(disk / "Digits")
        project.dataset.size = 16
        project.save()
        api.ingest(project, [small_digits_dir], workers=1)
        room = TrainRoom()
        qtbot.addWidget(room)
        messages = []
        room.notify.connect(lambda text, level: messages.append((level, text)))
        room.set_api(api)
        room.set_project(project)
        qtbot.waitUntil(lambda: room.config() is not None, timeout=20_000)
        room.set_config(tiny_config(room.config(), steps=400, log_every=1000, sample_every=1000,
                                    checkpoint_every=10))
        room.checkpoint_saved.connect(lambda *args: fill(disk) if not (disk / "filler.bin").exists() else None)
        with qtbot.waitSignal(room.run_finished, timeout=120_000) as finished:
            room.start()
        assert finished.args[0].reason == "failed"
        assert not room.is_training() and room.start_button.isEnabled()
        errors = [text for level, text in messages if level == "error"]
        assert errors and "No space left on device" in errors[-1]


def test_a_new_project_is_named_in_its_dialog_and_made_where_the_dialog_says(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QDialogButtonBox

    from gui import window_projects
    from gui.new_project_dialog import NewProjectDialog

    home = tmp_path / "Documents" / "Latent Studio"  # not there yet, as on a first run
    monkeypatch.setattr(window_projects, "projects_home", lambda: home)
    seen = {}

    def answer():
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, NewProjectDialog)
        seen["default"] = dialog.name.text()
        dialog.name.setText("Clip/art")  # a slash cannot be in a folder's name
        seen["slash"] = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()
        dialog.name.setText("Clip art")
        seen["line"] = dialog.result_line.text()
        dialog.accept()

    QTimer.singleShot(0, answer)
    window.new_project()
    assert seen == {"default": "Untitled project", "slash": False,
                    "line": f"Creates the folder {home / 'Clip art'}"}
    load_engine(qtbot, window)  # the project opens once the engine is there
    assert window.project is not None and window.project.root == (home / "Clip art").resolve()
    assert (home / "Clip art" / "project.json").is_file()


def test_the_new_project_dialog_refuses_a_full_folder_and_offers_to_open_a_project(qtbot, tmp_path, api):
    from PySide6.QtWidgets import QDialogButtonBox

    from gui.new_project_dialog import NewProjectDialog

    (tmp_path / "Untitled project").mkdir()
    (tmp_path / "Holiday").mkdir()
    (tmp_path / "Holiday" / "beach.png").write_bytes(b"not ours")
    api.Project.create(tmp_path / "Cats")
    dialog = NewProjectDialog(tmp_path)
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert dialog.name.text() == "Untitled project 2"  # the first name is taken
    dialog.name.setText("Holiday")
    assert not ok.isEnabled() and "not empty" in dialog.result_line.text()
    dialog.name.setText("Cats")
    assert ok.isEnabled() and ok.text() == "Open"
    dialog.name.setText("  ")
    assert not ok.isEnabled() and dialog.result_line.text() == "Give the project a name."


def test_picture_dialogs_open_where_pictures_last_came_from(qtbot, tmp_path, monkeypatch):
    from gui import dataset_sides
    from gui.settings import pictures_folder

    assert Path(pictures_folder()).is_dir()  # Pictures, or home: never the folder the app was launched from
    shots = tmp_path / "shots"
    shots.mkdir()
    starts = []

    def dialog(parent, caption, start, pattern):
        starts.append(start)
        return [str(shots / "a.png")], pattern

    monkeypatch.setattr(dataset_sides.QFileDialog, "getOpenFileNames", dialog)
    assert dataset_sides.ask_sources(None, "", folder=False) == [str(shots / "a.png")]
    dataset_sides.ask_sources(None, "", folder=False)
    assert starts[1] == str(shots) and pictures_folder() == str(shots)
