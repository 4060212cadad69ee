"""The Explore room around a real (tiny) DCGAN trained on real digits (tests/gui/explore/conftest.py): what an
artist does, what the canvas shows.

Every test waits on signals or conditions, never sleeps, and stops the render thread in teardown.
"""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from engine import api
from gui import imaging
from gui.explore_room import ExploreRoom

from .helpers import WAIT, drop_png, png_pixels, shown, wait_for_latest_frame


def test_a_gan_shows_seed_truncation_and_direction_controls_only(room):
    assert room.pages.currentIndex() == 1
    assert room.point_form.isRowVisible(room.truncation)
    assert not room.point_form.isRowVisible(room.label_choice)  # no labels in a DCGAN
    assert not room.point_form.isRowVisible(room.temperature)  # nor codes to draw
    assert not room.point_form.isRowVisible(room.top_k)
    assert room.model_info().sampling == {} and room.sampling() == {}
    assert len(room.tool("directions").sliders.sliders()) == 8
    assert not room.canvas.image().isNull() and room.canvas.image().width() == 16


def test_moving_a_direction_slider_changes_the_canvas(qtbot, room):
    before = shown(room)
    with qtbot.waitSignal(room.frame_shown, timeout=WAIT):
        room.tool("directions").sliders.sliders()[0].setValue(2.5)
    wait_for_latest_frame(qtbot, room)
    assert shown(room) != before
    assert room.current_point().amounts[0] == pytest.approx(2.5)


def test_changing_the_seed_changes_the_image_and_undo_brings_it_back(qtbot, room):
    room.seed.setValue(1)
    wait_for_latest_frame(qtbot, room)
    first = shown(room)
    room.seed.setValue(2)
    wait_for_latest_frame(qtbot, room)
    assert shown(room) != first
    room.undo_stack.undo()
    wait_for_latest_frame(qtbot, room)
    assert room.seed.value() == 1 and shown(room) == first
    room.undo_stack.redo()
    assert room.seed.value() == 2


def test_the_seed_box_says_none_at_a_point_that_is_not_a_seeds(qtbot, room):
    room.seed.setValue(3)
    seeds = api.latents_for_seed(3, room.model_info().latent_dim, 1)[0]
    room.go_to(room.current_point().with_latent(seeds), "The seed's own latent")
    assert room.seed.value() == 3  # an explicit latent that is the seed's still shows it
    room.go_to(room.current_point().with_latent(seeds * 0.5), "A point of its own")
    assert room.seed.text() == "none" and "not a seed's" in room.seed.toolTip()
    room.seed.stepDown()  # "none" is shown, never chosen
    assert room.seed.text() == "none" and room.current_point().latent is not None
    room.undo_stack.undo()
    assert room.seed.value() == 3 and "not a seed's" not in room.seed.toolTip()
    room.undo_stack.redo()
    room.seed.setValue(5)  # typing a seed goes back to seeds
    assert room.current_point().latent is None and room.current_point().seed == 5
    assert "not a seed's" not in room.seed.toolTip()


def test_an_exported_png_dropped_back_restores_its_exact_point(qtbot, room, tmp_path):
    room.seed.setValue(7)
    room.tool("directions").sliders.sliders()[1].setValue(-1.5)
    wait_for_latest_frame(qtbot, room)
    latent, picture = room.current_latent(), shown(room)
    path = tmp_path / "keep.png"
    with qtbot.waitSignal(room.exported, timeout=WAIT):
        room.export_png(str(path))
    assert np.array_equal(api.read_png_latent(path)["latent"], latent)

    room.seed.setValue(8)
    wait_for_latest_frame(qtbot, room)
    assert shown(room) != picture

    drop_png(qtbot, room, path)
    assert np.array_equal(room.current_latent(), latent)
    qtbot.waitUntil(lambda: shown(room) == picture, timeout=WAIT)


def release_truncation(room, value: float) -> None:
    """Drag the truncation slider to `value` and let go (one step of the history)."""
    room.truncation.setValue(value)
    room.truncation.sliderReleased.emit()


def test_truncation_scales_a_bookmarked_point_and_its_export_comes_back_exactly(qtbot, room, tmp_path):
    room.seed.setValue(5)
    release_truncation(room, 0.6)
    wait_for_latest_frame(qtbot, room)
    calm, calm_picture = room.current_latent(), shown(room)
    assert np.array_equal(calm, api.latents_for_seed(5, 16)[0] * np.float32(0.6))
    with qtbot.waitSignal(room.tool("bookmarks").saved, timeout=WAIT):
        room.tool("bookmarks").add("Calm five")
    row = len(room.bookmarks()) - 1

    room.seed.setValue(9)
    wait_for_latest_frame(qtbot, room)
    assert shown(room) != calm_picture
    room.tool("bookmarks").panel.picked.emit(row)  # as a click on its thumbnail
    wait_for_latest_frame(qtbot, room)
    assert room.current_point().truncation == 1.0 and room.truncation.value() == 1.0  # the bookmark as kept
    assert room.truncation.isEnabled()
    assert np.array_equal(room.current_latent(), calm) and shown(room) == calm_picture

    release_truncation(room, 0.5)
    wait_for_latest_frame(qtbot, room)
    half, half_picture = room.current_latent(), shown(room)
    assert np.array_equal(half, calm * np.float32(0.5))
    assert half_picture != calm_picture

    path = tmp_path / "half.png"
    with qtbot.waitSignal(room.exported, timeout=WAIT):
        room.export_png(str(path))
    record = api.read_png_latent(path)
    assert np.array_equal(record["latent"], half) and record["truncation"] == 0.5
    assert png_pixels(path) == half_picture  # the file holds the image that was on the canvas

    room.seed.setValue(3)
    wait_for_latest_frame(qtbot, room)
    drop_png(qtbot, room, path)
    wait_for_latest_frame(qtbot, room)
    assert room.current_point().truncation == 1.0 and room.truncation.value() == 1.0
    assert np.array_equal(room.current_latent(), half) and shown(room) == half_picture

    room.undo_stack.undo()  # back to seed 3
    room.undo_stack.undo()  # back to the bookmark at truncation 0.5
    wait_for_latest_frame(qtbot, room)
    assert room.truncation.value() == 0.5 and np.array_equal(room.current_latent(), half)
    assert shown(room) == half_picture
    room.undo_stack.undo()  # the bookmark as kept
    wait_for_latest_frame(qtbot, room)
    assert room.truncation.value() == 1.0 and shown(room) == calm_picture


def test_a_picked_variation_starts_at_truncation_1_and_the_slider_scales_it(qtbot, room):
    room.seed.setValue(4)
    with qtbot.waitSignal(room.render.strip_rendered, timeout=WAIT,
                          check_params_cb=lambda name, images, stamp: name == "variations:neighbours"
                          and stamp == room.strip_request("variations:neighbours")[0]):
        release_truncation(room, 0.7)
    wait_for_latest_frame(qtbot, room)
    seed_picture = shown(room)
    variation = room.strip_request("variations:neighbours")[1][3].latent.copy()

    strip = room.tool("variations").strip
    qtbot.mouseClick(strip.viewport(), Qt.MouseButton.LeftButton, pos=strip.visualItemRect(strip.item(3)).center())
    wait_for_latest_frame(qtbot, room)
    assert room.current_point().truncation == 1.0 and room.truncation.value() == 1.0
    assert np.array_equal(room.current_latent(), variation)
    variation_picture = shown(room)
    assert variation_picture != seed_picture

    release_truncation(room, 0.3)
    wait_for_latest_frame(qtbot, room)
    assert np.array_equal(room.current_latent(), variation * np.float32(0.3))
    assert shown(room) != variation_picture

    room.undo_stack.undo()
    wait_for_latest_frame(qtbot, room)
    assert room.truncation.value() == 1.0 and shown(room) == variation_picture


def test_bookmarks_are_saved_in_the_project(qtbot, room, trained):
    project, _ = trained
    count = len(api.load_bookmarks(project))
    room.seed.setValue(11)
    with qtbot.waitSignal(room.tool("bookmarks").saved, timeout=WAIT):
        room.tool("bookmarks").add("Round three")
    saved = api.load_bookmarks(project)
    assert len(saved) == count + 1
    assert saved[-1]["name"] == "Round three" and saved[-1]["seed"] == 11
    assert saved[-1]["model_id"] == room.model_info().id
    assert np.allclose(saved[-1]["latent"], room.current_latent())

    with qtbot.waitSignal(room.tool("bookmarks").saved, timeout=WAIT):
        room.tool("bookmarks").panel.strip.item(count).setText("Round four")  # as a double-click edit would
    assert api.load_bookmarks(project)[-1]["name"] == "Round four"


def test_interpolating_two_bookmarks_plays_and_exports_a_looping_gif(qtbot, room, tmp_path):
    import imageio.v3 as iio

    start = len(room.bookmarks())
    for seed in (3, 4):
        room.seed.setValue(seed)
        room.tool("bookmarks").add(f"Seed {seed}")
    panel = room.tool("bookmarks").panel  # none selected: the button goes through all of them
    assert panel.interpolate_button.isEnabled() and panel.interpolate_button.text() == "Interpolate all"
    with qtbot.waitSignal(panel.interpolate_requested, timeout=WAIT) as asked:
        panel.interpolate_button.click()
    assert asked.args[0] == list(range(start + 2))
    room.tool("bookmarks").interpolation.steps.setValue(6)
    with qtbot.waitSignal(room.render.strip_rendered, timeout=WAIT,
                          check_params_cb=lambda name, images, stamp: name == "bookmarks:frames"):
        room.tool("bookmarks").interpolate([start, start + 1])
    assert len(room.tool("bookmarks").frame_latents()) == 12  # 2 segments of 6 frames, looping back to the first
    qtbot.waitUntil(lambda: len(room.tool("bookmarks").interpolation.frames()) == 12, timeout=WAIT)

    with qtbot.waitSignal(room.tool("bookmarks").interpolation.frame_shown, timeout=WAIT):
        room.tool("bookmarks").interpolation.toggle()
    room.tool("bookmarks").interpolation.toggle()
    assert not room.tool("bookmarks").interpolation.playing()

    path = tmp_path / "loop.gif"
    with qtbot.waitSignal(room.exported, timeout=WAIT):
        room.tool("bookmarks").export_animation(str(path))
    frames = iio.imread(path, index=None)
    assert frames.shape[0] > 1


def test_a_burst_of_slider_moves_renders_far_fewer_frames_and_ends_on_the_last(qtbot, room, trained):
    project, _ = trained
    control = api.Control()  # as while training runs: training yields while renders are pending
    room.set_training_control(control)
    slider = room.tool("directions").sliders.sliders()[2]
    renders, first_stamp = room.render.renders, room.render.current_stamp()
    for i in range(200):
        slider.setValue(-3 + 6 * i / 199)
    assert room.last_stamp - first_stamp == 200
    wait_for_latest_frame(qtbot, room)
    assert room.render.renders - renders < 50
    qtbot.waitUntil(control._renders_idle.is_set, timeout=WAIT)  # and training gets the CPU back afterwards
    expected = api.open_model(project.root).render(room.current_latent()[None])[0]
    assert shown(room) == imaging.image_bytes(imaging.to_qimage(expected))


def test_new_training_weights_change_the_canvas_and_exports_name_them(qtbot, room, trained, tmp_path):
    _, snapshots = trained
    earlier = next(s for s in snapshots if s.step == 10)
    before = shown(room)
    with qtbot.waitSignal(room.frame_shown, timeout=WAIT):
        room.on_snapshot(earlier)
    assert shown(room) != before
    path = tmp_path / "mid-training.png"
    with qtbot.waitSignal(room.exported, timeout=WAIT):
        room.export_png(str(path))
    record = api.read_png_latent(path)
    assert record["model_id"] == earlier.model_id and earlier.model_id.endswith("-10")  # not the checkpoint's id
    assert record["model_id"] != room.model_info().id
    assert png_pixels(path) == shown(room)  # made with the snapshot's weights, as the canvas was


def test_a_project_without_a_model_says_to_train_one_then_opens_the_first_checkpoint(qtbot, tmp_path, trained):
    room = ExploreRoom()
    qtbot.addWidget(room)
    with qtbot.waitSignal(room.status, timeout=WAIT):
        room.set_project(api.Project.create(tmp_path / "Empty"))
    assert room.pages.currentIndex() == 0
    assert "Train a model first" in room.empty.text()

    run = trained[0].runs()[-1]
    saved = api.CheckpointSaved(20, sorted((run / "checkpoints").glob("*.json"))[-1])
    with qtbot.waitSignals([room.model_ready, room.frame_shown], timeout=WAIT):
        room.on_checkpoint(saved)
    assert room.pages.currentIndex() == 1 and room.model_info().step == 20
    room.shutdown()


def test_a_dropped_photo_is_projected_and_its_point_bookmarked_exported_and_undone(qtbot, room, tmp_path):
    from ...digits import write_digits

    photo = next(write_digits(tmp_path / "mine", indices=[1700]).rglob("*.png"))  # a digit no model here has seen
    room.seed.setValue(3)
    wait_for_latest_frame(qtbot, room)
    before = room.current_latent()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photo))])
    drop = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    messages = []
    room.status.connect(messages.append)
    with qtbot.waitSignal(room.tool("projection").projected, timeout=60_000) as projected:
        room.canvas.dropEvent(drop)
    found = projected.args[0]
    assert np.allclose(room.current_latent(), found["latent"])
    assert found["target"].shape == found["image"].shape and found["error"] >= 0
    assert any(f"Projected {photo.name}" in text and "error" in text for text in messages)
    assert room.tool("projection").found.isVisible() and photo.name in room.tool("projection").error.text()
    assert not room.tool("projection").target.pixmap().isNull() and not room.tool("projection").found.pixmap().isNull()

    room.tool("bookmarks").add()
    assert np.allclose(room.bookmarks()[-1]["latent"], found["latent"])  # a point like any other
    path = tmp_path / "projected.png"
    with qtbot.waitSignal(room.exported, timeout=WAIT):
        room.export_png(str(path))
    assert np.allclose(api.read_png_latent(path)["latent"], found["latent"])

    room.undo_stack.undo()  # the bookmark is not a move; the projection is
    assert np.allclose(room.current_latent(), before)


def test_an_export_to_a_full_disk_says_why_and_the_room_goes_on(qtbot, room, tmp_path):
    from ...disks import fill, small_disk

    with small_disk(tmp_path / "disk", "1m") as disk:
        fill(disk)
        messages = []
        room.status.connect(messages.append)
        room.export_png(str(disk / "full.png"))
        qtbot.waitUntil(lambda: any(text.startswith("Export failed") for text in messages), timeout=WAIT)
        assert any("could not write full.png: No space left on device" in text for text in messages), messages
        assert not list(disk.glob(".*tmp-*"))
    room.seed.setValue(11)  # the render thread and the room carry on
    wait_for_latest_frame(qtbot, room)
    assert room.render.isRunning()
