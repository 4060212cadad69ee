"""The Explore room's modes around real tiny models trained on real digits: a VAE shows the components of the
Gaussian mixture fitted to its encoded training images as thumbnails, a click draws a fresh image from one, and the
GAN families show no modes at all.

Every test waits on signals or conditions, never sleeps, and stops the render thread in teardown.
"""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from PySide6.QtCore import QSize, Qt, QThreadPool

from engine import api
from gui import imaging
from gui.explore_room import ExploreRoom

WAIT = 20_000


def tiny(family: str, steps: int) -> api.TrainConfig:
    return api.TrainConfig(family=family, size=16, steps=steps, batch=16, width=8, latent_dim=16, lr=1e-3,
                           precision="fp32", checkpoint_every=steps, sample_every=steps)


@pytest.fixture(scope="module")
def vae_template(tmp_path_factory, digits_template):
    """The 300 digits with a VAE trained for 120 steps (two seconds): its mixture has several components. No test
    opens this one; each copies it, so each fits its own mixture."""
    project = api.Project.open(shutil.copytree(digits_template, tmp_path_factory.mktemp("modes") / "Digits"))
    api.train(project, tiny("vae", 120))
    return project


@pytest.fixture(scope="module")
def dcgan_project(tmp_path_factory, digits_template):
    project = api.Project.open(shutil.copytree(digits_template, tmp_path_factory.mktemp("gan") / "Digits"))
    api.train(project, tiny("dcgan", 2))
    return project


@pytest.fixture
def vae_project(tmp_path, vae_template):
    return api.Project.open(shutil.copytree(vae_template.root, tmp_path / "Digits"))


@pytest.fixture
def room(qtbot):
    room = ExploreRoom()
    qtbot.addWidget(room)
    room.resize(1100, 760)
    room.show()
    yield room
    room.shutdown()
    QThreadPool.globalInstance().waitForDone(WAIT)
    assert not room.render.isRunning()


def open_with_modes(qtbot, room, project) -> None:
    """Open `project` and wait until its modes are fitted and their thumbnails drawn."""
    shown_strips = []
    room.strip_shown.connect(lambda name, stamp: shown_strips.append((name, stamp)))
    with qtbot.waitSignals([room.model_ready, room.tool("modes").ready], timeout=WAIT):
        room.set_project(project)
    qtbot.waitUntil(lambda: ("modes:modes", room.strip_request("modes:modes")[0]) in shown_strips, timeout=WAIT)


def mixture_files(project) -> list[str]:
    return sorted(p.name for p in (project.runs()[-1] / "checkpoints").glob("mixture-*"))


def shown(room) -> bytes:
    return imaging.image_bytes(room.canvas.image())


def wait_for_latest_frame(qtbot, room) -> None:
    qtbot.waitUntil(lambda: room._shown_stamp == room.last_stamp, timeout=WAIT)


def icon_bytes(strip, row: int, side: int) -> bytes:
    return imaging.image_bytes(strip.item(row).icon().pixmap(QSize(side, side)).toImage())


def test_a_vae_shows_one_thumbnail_per_mode_heaviest_first_and_stores_the_fit(qtbot, room, vae_project):
    assert mixture_files(vae_project) == []
    waiting = []
    room.model_ready.connect(lambda _info: waiting.append(room.tool("modes").panel.message.text()))
    open_with_modes(qtbot, room, vae_project)
    assert waiting == ["Finding the modes of your images…"]
    assert room.tool("modes").widget.isVisibleTo(room)

    assert mixture_files(vae_project) == ["mixture-step-000120.json", "mixture-step-000120.safetensors"]
    stored = api.mixture_for(vae_project.root)  # loads the fit the room stored
    assert stored.components >= 2 and room.tool("modes").mixture().components == stored.components
    np.testing.assert_array_equal(room.tool("modes").mixture().means, stored.means)

    strip = room.tool("modes").panel.strip
    heaviest_first = sorted(range(stored.components), key=lambda k: -stored.weights[k])
    assert room.tool("modes").mode_components() == heaviest_first and strip.count() == stored.components
    for position, k in enumerate(heaviest_first):
        assert strip.item(position).toolTip().startswith(
            f"Mode {position + 1} of {stored.components}: {stored.weights[k]:.0%} of your images")
    assert "checkpoint opened (step 120)" in room.tool("modes").panel.message.toolTip()

    drawn = api.open_model(vae_project.root).render(stored.means[heaviest_first].astype(np.float32))
    for position, image in enumerate(drawn):  # each thumbnail is its mode's centre, as the model draws it
        assert icon_bytes(strip, position, 56) == imaging.image_bytes(imaging.thumbnail(image, 56).toImage())


def test_clicking_a_mode_draws_from_it_fills_the_variations_and_undo_goes_back(qtbot, room, vae_project):
    open_with_modes(qtbot, room, vae_project)
    wait_for_latest_frame(qtbot, room)
    # the draws are random by design; this test wants them repeatable
    room.tool("modes")._mode_seeds = np.random.default_rng(0)
    before_latent, before_picture = room.current_latent(), shown(room)
    mixture, position = room.tool("modes").mixture(), room.tool("modes").mixture().components - 1  # the lightest mode
    component = room.tool("modes").mode_components()[position]

    strip = room.tool("modes").panel.strip
    with qtbot.waitSignal(room.render.strip_rendered, timeout=WAIT,
                          check_params_cb=lambda name, images, stamp: name == "variations:neighbours"
                          and stamp == room.strip_request("variations:neighbours")[0]):
        qtbot.mouseClick(strip.viewport(), Qt.MouseButton.LeftButton,
                         pos=strip.visualItemRect(strip.item(position)).center())
    wait_for_latest_frame(qtbot, room)
    first = room.current_latent()
    assert shown(room) != before_picture
    assert mixture.members(first[None])[0] == component
    assert room.undo_stack.undoText() == f"Mode {position + 1}"

    samples = np.stack([look.latent for look in room.strip_request("variations:neighbours")[1]])
    assert len(samples) == 8 and room.tool("variations").strip.count() == 8
    assert (mixture.members(samples) == component).all()  # draws from the same mode, not neighbours of the point
    assert room.tool("variations").widget.title() == f"Variations: more from Mode {position + 1}"
    assert strip.selected_rows() == [position]

    qtbot.mouseClick(strip.viewport(), Qt.MouseButton.LeftButton,
                     pos=strip.visualItemRect(strip.item(position)).center())
    wait_for_latest_frame(qtbot, room)
    assert not np.array_equal(room.current_latent(), first)  # clicking again draws another
    assert mixture.members(room.current_latent()[None])[0] == component

    room.undo_stack.undo()
    room.undo_stack.undo()
    wait_for_latest_frame(qtbot, room)
    assert np.array_equal(room.current_latent(), before_latent) and shown(room) == before_picture
    assert room.tool("variations").widget.title() == "Variations"  # neighbours again, once the artist has moved away
    assert strip.selected_rows() == []


def test_a_gan_shows_no_modes_and_fits_none(qtbot, room, dcgan_project):
    with qtbot.waitSignals([room.model_ready, room.frame_shown], timeout=WAIT):
        room.set_project(dcgan_project)
    assert room.pages.currentIndex() == 1 and room.tool("variations").widget.isVisibleTo(room)
    assert not room.tool("modes").widget.isVisibleTo(room)
    assert room.tool("modes")._modes_jobs == 0 and room.tool("modes").mixture() is None
    assert mixture_files(dcgan_project) == []


def test_modes_found_for_a_model_no_longer_shown_are_dropped(qtbot, room, vae_project, dcgan_project):
    api.mixture_for(vae_project.root)  # stored already, so the room's fetch loads it at once and cannot be stopped
    room.model_ready.connect(lambda info: room.set_project(dcgan_project) if info.family == "vae" else None)
    with qtbot.waitSignal(room.model_ready, timeout=WAIT, check_params_cb=lambda info: info.family == "dcgan"):
        room.set_project(vae_project)
    qtbot.waitUntil(lambda: room.tool("modes")._modes_jobs == 0, timeout=WAIT)
    assert room.model_info().family == "dcgan"
    modes = room.tool("modes")
    assert modes.mixture() is None and not modes.widget.isVisibleTo(room) and modes.panel.count() == 0


def test_a_model_file_outside_its_project_says_why_it_has_no_modes(qtbot, room, vae_project, tmp_path):
    exported = api.open_model(vae_project.root).export(tmp_path / "digits-vae.safetensors")
    with qtbot.waitSignal(room.status, timeout=WAIT, check_params_cb=lambda text: "modes" in text):
        room.set_model(exported)
    assert room.tool("modes").widget.isVisibleTo(room) and room.tool("modes").panel.count() == 0
    text = room.tool("modes").panel.message.text()
    assert text.startswith("No modes for this model:") and "stored beside checkpoints" in text
    assert room.tool("modes").panel.refit_button.isEnabled()


def test_refit_fits_again_and_keeps_showing_the_modes_meanwhile(qtbot, room, vae_project):
    open_with_modes(qtbot, room, vae_project)
    json_path = vae_project.runs()[-1] / "checkpoints" / "mixture-step-000120.json"
    written = json_path.stat().st_mtime_ns
    count = room.tool("modes").panel.count()
    with qtbot.waitSignal(room.tool("modes").ready, timeout=WAIT):
        room.tool("modes").panel.refit_button.click()
        assert room.tool("modes").panel.message.text() == "Fitting the modes again…"
        assert room.tool("modes").panel.count() == count and not room.tool("modes").panel.refit_button.isEnabled()
    assert json_path.stat().st_mtime_ns != written  # fitted and stored again, not loaded
    modes = room.tool("modes")
    assert modes.panel.count() == modes.mixture().components and modes.panel.refit_button.isEnabled()


def test_a_conditional_vae_draws_its_modes_in_the_class_chosen(qtbot, room, tmp_path, digits_template):
    project = api.Project.open(shutil.copytree(digits_template, tmp_path / "Classes"))
    api.train(project, tiny("cvae", 20))
    open_with_modes(qtbot, room, project)
    model, strip = api.open_model(project.root), room.tool("modes").panel.strip
    centres = room.tool("modes").mixture().means[room.tool("modes").mode_components()].astype(np.float32)

    def drawn_in(label: str) -> bool:
        images = model.render(centres, [label] * len(centres))
        return all(icon_bytes(strip, row, 56) == imaging.image_bytes(imaging.thumbnail(image, 56).toImage())
                   for row, image in enumerate(images))

    assert room.label_name() == "0" and drawn_in("0")
    room.label_choice.setCurrentIndex(7)
    qtbot.waitUntil(lambda: drawn_in("7"), timeout=WAIT)
    room.tool("modes")._mode_seeds = np.random.default_rng(1)
    strip.picked.emit(0)
    assert room.label_name() == "7"  # a mode click keeps the class
    modes = room.tool("modes")
    assert modes.mixture().members(room.current_latent()[None])[0] == modes.mode_components()[0]


def test_a_wheel_turn_over_a_slider_is_left_to_the_tool_panel_and_one_on_a_focused_slider_is_undoable(
        qtbot, room, dcgan_project):
    """Scrolling the tools with the pointer over the truncation slider moved the point (1.00 to 0.91) and left
    nothing to undo; now the turn is left to the panel, and a slider that has the focus takes it as one undoable
    step."""
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication, QScrollArea, QSlider

    room.set_model(str(dcgan_project.runs()[-1]))
    qtbot.waitUntil(lambda: room.model_info() is not None, timeout=WAIT)
    slider = room.truncation.findChild(QSlider)
    assert any(area.isAncestorOf(slider) for area in room.findChildren(QScrollArea))  # in the scrolled tools

    def turn() -> bool:
        """A wheel turn on the slider; whether something took it. (Qt hands a turn nobody took to the parents only
        when it comes from the system, so the panel's scrolling itself is seen under Xvfb, not here.)"""
        centre = QPointF(slider.rect().center())
        event = QWheelEvent(centre, slider.mapToGlobal(centre), QPoint(), QPoint(0, -120), Qt.MouseButton.NoButton,
                            Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(slider, event)
        return event.isAccepted()

    assert not turn() and room.truncation.value() == 1.0  # left for the panel to scroll
    slider.setFocus()
    qtbot.waitUntil(slider.hasFocus, timeout=WAIT)
    assert turn() and room.truncation.value() < 1.0
    qtbot.waitUntil(room.undo_stack.canUndo, timeout=WAIT)  # once the turn rests
    room.undo_stack.undo()
    assert room.current_point().truncation == 1.0 and room.truncation.value() == 1.0
    # Qt focuses a control under a system wheel turn (WheelFocus) before any filter sees the turn: none may
    from PySide6.QtWidgets import QAbstractSpinBox, QComboBox

    controls = room.findChildren(QAbstractSpinBox) + room.findChildren(QComboBox) + [slider]
    assert len(controls) > 3 and all(c.focusPolicy() == Qt.FocusPolicy.StrongFocus for c in controls)
