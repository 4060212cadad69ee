"""The Explore room's tools around a real tiny StyleGAN2-lite trained on real digits: style mixing shown live and
undoable, its PNG dropped back, the crossbreed grid drawn on the render thread, direction sliders in W on a range
of styles, a training image projected; and the tool interface itself: a new tool is one module and one line.

Every test waits on signals or conditions, never sleeps, and stops the render thread in teardown.
"""
from __future__ import annotations

import shutil
from pathlib import Path
import threading

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt, QThreadPool, Signal
from PySide6.QtWidgets import QLabel

from engine import api
from gui import explore_tools
from gui.explore_room import ExploreRoom
from gui.explore_tools.tool import Tool

from .helpers import WAIT, drop_png, open_room, png_pixels, shown


@pytest.fixture(scope="module")
def styled(tmp_path_factory, digits_template):
    """300 real digits at 16 px with a StyleGAN2-lite trained for 30 steps (its 8 styles split in thirds)."""
    project = api.Project.open(shutil.copytree(digits_template, tmp_path_factory.mktemp("styles") / "Digits"))
    api.train(project, api.TrainConfig(family="stylegan", size=16, steps=30, batch=8, width=4, latent_dim=16,
                                       lr=2e-3, precision="fp32", checkpoint_every=30, sample_every=30))
    return project


@pytest.fixture
def room(qtbot, styled):
    room = open_room(qtbot, styled)
    yield room
    room.shutdown()
    QThreadPool.globalInstance().waitForDone(WAIT)


def settle(qtbot, room) -> None:
    qtbot.waitUntil(lambda: room._shown_stamp == room.last_stamp, timeout=WAIT)


def test_a_style_model_shows_mixing_psi_and_style_ranges_for_its_sliders(room):
    info = room.model_info()
    assert info.in_w and info.num_styles == 8 and set(info.style_ranges) == {"coarse", "middle", "fine"}
    assert room.tool("mixing").widget.isVisibleTo(room) and room.point_form.isRowVisible(room.truncation)
    assert not room.tool("modes").widget.isVisibleTo(room)  # no encoder, no modes
    directions = room.tool("directions")
    assert directions.directions.space == "w" and directions.layers.isVisibleTo(room)
    assert [directions.layers.itemText(i) for i in range(directions.layers.count())] == \
        ["All styles", "Coarse", "Middle", "Fine"]


def test_a_slider_on_the_coarse_styles_moves_only_those_styles_in_w(qtbot, room):
    directions = room.tool("directions")
    directions.layers.setCurrentIndex(1)
    directions.layers.activated.emit(1)
    coarse = room.model_info().style_ranges["coarse"]
    assert room.current_point().layers == tuple(coarse)
    before = shown(room)
    directions.sliders.sliders()[0].setValue(3.0)
    directions.sliders.edit_finished.emit()
    settle(qtbot, room)
    shift = room.look().w_shift
    moved = np.abs(shift).sum(axis=1) > 0
    assert moved[coarse[0]:coarse[1]].all() and not moved[coarse[1]:].any()
    assert np.array_equal(room.look().latent, api.latents_for_seed(room.current_point().seed, 16)[0])  # z stays
    assert shown(room) != before
    room.undo_stack.undo()
    assert room.look().w_shift is None or not np.abs(room.look().w_shift).any()


def test_mixing_shows_live_and_a_mixed_png_dropped_back_restores_both_points_and_the_range(qtbot, room, tmp_path):
    mixing = room.tool("mixing")
    room.seed.setValue(4)
    mixing.seed.setValue(21)
    settle(qtbot, room)
    alone = shown(room)
    coarse = tuple(room.model_info().style_ranges["coarse"])
    index = mixing.range_choice.findData("coarse")
    mixing.range_choice.setCurrentIndex(index)
    mixing.range_choice.activated.emit(index)
    settle(qtbot, room)
    mixed = shown(room)
    point = room.current_point()
    assert mixed != alone and point.mix_layers == coarse
    assert np.allclose(point.mix, api.latents_for_seed(21, 16)[0])
    assert room.undo_stack.undoText() == "Mix styles"

    path = tmp_path / "mixed.png"
    with qtbot.waitSignal(room.exported, timeout=WAIT):
        room.export_png(str(path))
    record = api.read_png_latent(path)
    assert record["mix_layers"] == list(coarse) and len(record["w"]) == len(record["mix_w"]) == 16
    assert np.allclose(record["mix_latent"], point.mix)

    room.undo_stack.undo()  # back to A alone, then elsewhere
    room.seed.setValue(9)
    settle(qtbot, room)
    assert room.current_point().mix is None and shown(room) != mixed
    drop_png(qtbot, room, path)
    restored = room.current_point()
    assert restored.mix_layers == coarse and np.allclose(restored.mix, point.mix)
    assert np.allclose(restored.latent, api.latents_for_seed(4, 16)[0])
    assert mixing.range_choice.currentData() == "coarse" and np.allclose(mixing.b_latent(), point.mix)
    qtbot.waitUntil(lambda: shown(room) == mixed, timeout=WAIT)
    assert shown(room) == png_pixels(path)


def test_the_crossbreed_grid_is_drawn_on_the_render_thread_and_a_click_goes_to_a_child(qtbot, room):
    mixing = room.tool("mixing")
    mixing.seed.setValue(33)
    threads = []

    def record(key, _images, _stamp):  # runs where the images were drawn
        threads.append((key, threading.current_thread().name))

    room.render.strip_rendered.connect(record, Qt.ConnectionType.DirectConnection)
    with qtbot.waitSignal(mixing.children_ready, timeout=WAIT) as ready:
        mixing.crossbreed()
        assert mixing.grid.count() == 12 and not any(key == "mixing:children" for key, _ in threads)  # not yet drawn
    assert ready.args[0] == 12
    drawn_on = [name for key, name in threads if key == "mixing:children"]
    assert len(drawn_on) == 1 and drawn_on[0] != threading.main_thread().name
    mixing.grid.picked.emit(5)
    child = room.current_point()
    assert child.mix is not None and room.undo_stack.undoText().startswith("Child: ")
    settle(qtbot, room)
    assert not room.canvas.image().isNull()


def test_a_training_image_is_projected_into_the_model(qtbot, room):
    projection = room.tool("projection")
    with qtbot.waitSignal(projection.projected, timeout=60_000) as projected:
        projection.project_training_image(index=0)
    found = projected.args[0]
    assert found["name"].endswith(".png") and found["error"] >= 0
    assert np.allclose(room.current_point().latent, found["latent"])
    assert projection.found.isVisible() and found["name"] in projection.error.text()


class CountingTool(Tool):
    """A tool made only of this class and one line in the registry: it counts the hooks the room calls."""
    name = "counting"
    title = "Counting"
    drawn = Signal(int)

    def __init__(self, context):
        super().__init__(context)
        self.widget = QLabel("counting")
        self.calls: list[str] = []

    def model_opened(self, info) -> None:
        self.calls.append("model_opened")
        self.context.request_strip(self, "mine", [self.context.look()] * 3)

    def point_changed(self, point) -> None:
        self.calls.append(f"point {point.seed}")

    def strip_rendered(self, name: str, images) -> None:
        self.context.notify(f"counting drew {len(images)} {name}")
        self.drawn.emit(len(images))


def test_a_new_tool_is_one_module_and_one_line(qtbot, styled, monkeypatch):
    monkeypatch.setattr(explore_tools, "TOOLS", explore_tools.TOOLS + (f"{__name__}.CountingTool",))
    room = ExploreRoom()
    qtbot.addWidget(room)
    messages = []
    room.status.connect(messages.append)
    try:
        counting = room.tool("counting")
        with qtbot.waitSignals([room.model_ready, counting.drawn], timeout=WAIT):
            room.set_project(styled)
        room.seed.setValue(12)
        assert counting.calls[0] == "model_opened" and "point 12" in counting.calls
        assert "counting drew 3 mine" in messages
        assert counting.widget.parent() is not None and counting.widget.isVisibleTo(room)
    finally:
        room.shutdown()
        QThreadPool.globalInstance().waitForDone(WAIT)


def test_the_copy_check_says_a_training_image_copies_and_a_fresh_sample_does_not(qtbot, room, digits_template):
    meter = room.tool("meter")
    qtbot.waitUntil(lambda: meter.meter() is not None, timeout=WAIT)
    room.seed.setValue(77)
    with qtbot.waitSignal(meter.judged, timeout=WAIT, check_params_cb=lambda r: r["what"] == "canvas") as fresh:
        pass
    assert not fresh.args[0]["verdicts"][0].copy and "is not a copy" in meter.verdict.text()
    source = next(row["source"] for row in api.manifest(room.project()))
    with qtbot.waitSignal(meter.judged, timeout=WAIT, check_params_cb=lambda r: r["what"] == Path(source).name) \
            as training:  # not a late verdict on the canvas
        meter.check_picture(source)
    verdict = training.args[0]["verdicts"][0]
    assert verdict.copy and meter.meter().sources[verdict.nearest[0]] == source
    assert "copies" in meter.verdict.text() and not meter.nearest[0].pixmap().isNull()


@pytest.fixture(scope="module")
def vae_project(tmp_path_factory, digits_template):
    project = api.Project.open(shutil.copytree(digits_template, tmp_path_factory.mktemp("atlas") / "Digits"))
    api.train(project, api.TrainConfig(family="vae", size=16, steps=120, batch=16, width=8, latent_dim=16, lr=1e-3,
                                       precision="fp32", checkpoint_every=120, sample_every=120))
    return project


def test_the_atlas_maps_the_images_a_click_shows_a_frame_and_a_drawn_path_exports_its_loop(qtbot, vae_project,
                                                                                         tmp_path):
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QWheelEvent

    def wheel() -> bool:
        """Whether the map took a wheel turn (else it goes on to the panel around it)."""
        event = QWheelEvent(QPointF(20, 20), QPointF(20, 20), QPoint(), QPoint(0, 120), Qt.MouseButton.NoButton,
                            Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
        atlas_tool.view.wheelEvent(event)
        return event.isAccepted()

    room = open_room(qtbot, vae_project)
    atlas_tool = room.tool("atlas")
    try:
        assert not wheel()  # nothing mapped yet: the wheel scrolls the tools' panel
        with qtbot.waitSignal(atlas_tool.ready, timeout=60_000) as ready:
            atlas_tool.make_button.click()
        atlas = atlas_tool.atlas()
        assert ready.args[0] == len(atlas.positions) == 300 + 256
        mosaic = atlas_tool.view.mosaic.pixmap().toImage()  # the images, painted as one picture
        assert mosaic.width() == 2048 and mosaic.pixelColor(0, 0).alpha() == 0
        zoom = atlas_tool.view.transform().m11()
        assert wheel() and atlas_tool.view.transform().m11() == pytest.approx(zoom * 1.25)  # a map zooms
        qtbot.waitUntil(lambda: len(atlas_tool.view.scene().items()) >= 1 + 64, timeout=WAIT)  # and the samples
        x, y = atlas.positions[10]
        with qtbot.waitSignal(room.frame_shown, timeout=WAIT):
            atlas_tool.go_to_map_point(float(x), float(y))
        assert np.allclose(room.current_latent(), atlas.latents[10], atol=1e-3)
        assert room.undo_stack.undoText() == "Atlas" and not room.canvas.image().isNull()

        corners = [tuple(map(float, atlas.positions[i])) for i in (0, 40, 80)]
        with qtbot.waitSignal(atlas_tool.path_ready, timeout=WAIT) as made:
            atlas_tool.view.path_drawn.emit(corners)
        loop = atlas_tool.loop_latents()
        assert made.args[0] == len(loop) == 3 * 12  # three legs: there, on, and back to the start
        np.testing.assert_allclose(loop[0], atlas.point_at(*corners[0]), atol=1e-6)
        path = tmp_path / "loop.gif"
        with qtbot.waitSignal(room.exported, timeout=WAIT):
            atlas_tool.export_loop(str(path))
        import imageio.v3 as iio

        assert len(iio.imread(path, index=None)) == len(loop)
    finally:
        room.shutdown()
        QThreadPool.globalInstance().waitForDone(WAIT)


def test_a_long_map_says_how_long_is_left_at_its_pace():
    from gui.explore_tools.atlas import time_left

    assert time_left(60.0, 100, 1900) == " about 19 min left"  # 100 of 2,000 steps in a minute
    assert time_left(1.0, 10, 1990) == ""  # too soon to tell
    assert time_left(60.0, 0, 2000) == "" and time_left(60.0, 2000, 0) == ""
