"""The Explore room on the families whose points carry more than a latent: a conditional GAN's class and a
VQ-VAE's sampling settings (temperature, top-k), on screen and in the PNGs they export.
"""
from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import QThreadPool

from engine import api
from gui import imaging
from gui.explore_room import ExploreRoom

from .helpers import WAIT, drop_png, png_pixels, shown, wait_for_latest_frame


def test_a_conditional_gan_offers_its_classes_and_the_png_records_the_class(qtbot, tmp_path, digits_template):
    project = api.Project.open(shutil.copytree(digits_template, tmp_path / "Classes"))
    api.train(project, api.TrainConfig(family="cgan", size=16, steps=4, batch=16, width=8, latent_dim=16,
                                       precision="fp32", checkpoint_every=4, sample_every=4))
    room = ExploreRoom()
    qtbot.addWidget(room)
    with qtbot.waitSignals([room.model_ready, room.frame_shown], timeout=WAIT):
        room.set_project(project)
    assert room.point_form.isRowVisible(room.label_choice)
    assert [room.label_choice.itemText(i) for i in range(room.label_choice.count())] == [str(d) for d in range(10)]
    before = shown(room)
    room.label_choice.setCurrentIndex(7)
    wait_for_latest_frame(qtbot, room)
    assert shown(room) != before
    with qtbot.waitSignal(room.exported, timeout=WAIT):
        room.export_png(str(tmp_path / "seven.png"))
    assert api.read_png_latent(tmp_path / "seven.png")["label"] == "7"
    room.shutdown()


@pytest.fixture(scope="module")
def vqvae_project(tmp_path_factory, digits_template):
    """The digits with a VQ-VAE + Transformer trained for 20 steps (12 for the VQ-VAE, 8 for the prior): a couple of
    seconds, and already a model whose temperature and top-k change what it draws."""
    project = api.Project.open(shutil.copytree(digits_template, tmp_path_factory.mktemp("vqvae") / "Digits"))
    api.train(project, api.TrainConfig(family="vqvae", size=16, steps=20, batch=16, width=8, latent_dim=16, lr=1e-3,
                                       precision="fp32", checkpoint_every=20, sample_every=20))
    return project


@pytest.fixture
def vq_room(qtbot, vqvae_project):
    room = ExploreRoom()
    qtbot.addWidget(room)
    room.show()
    with qtbot.waitSignals([room.model_ready, room.frame_shown], timeout=WAIT):
        room.set_project(vqvae_project)
    yield room
    room.shutdown()
    QThreadPool.globalInstance().waitForDone(WAIT)


def test_a_vq_vae_offers_temperature_and_top_k_and_its_pngs_bring_them_back(qtbot, tmp_path, vq_room,
                                                                             vqvae_project):
    room = vq_room
    assert room.point_form.isRowVisible(room.temperature) and room.point_form.isRowVisible(room.top_k)
    assert not room.point_form.isRowVisible(room.truncation)  # its latent picks codes; it has no truncation
    assert room.temperature.value() == 1.0 and room.top_k.value() == 0 and room.top_k.maximum() == 64
    assert "safer" in room.temperature.toolTip()

    room.seed.setValue(6)
    wait_for_latest_frame(qtbot, room)
    plain = shown(room)
    room.temperature.setValue(0.3)
    wait_for_latest_frame(qtbot, room)
    assert shown(room) != plain
    expected = api.open_model(vqvae_project.root)
    expected.set_sampling(temperature=0.3)
    assert shown(room) == imaging.image_bytes(imaging.to_qimage(expected.render(room.current_latent()[None])[0]))

    room.top_k.setValue(5)
    wait_for_latest_frame(qtbot, room)
    kept = shown(room)
    path = tmp_path / "cool.png"
    with qtbot.waitSignal(room.exported, timeout=WAIT):
        room.export_png(str(path))
    record = api.read_png_latent(path)
    assert record["temperature"] == pytest.approx(0.3) and record["top_k"] == 5
    assert png_pixels(path) == kept  # exported with the canvas's settings, not the model's defaults

    room.temperature.setValue(1.0)
    room.top_k.setValue(0)
    wait_for_latest_frame(qtbot, room)
    assert shown(room) != kept
    drop_png(qtbot, room, path)
    wait_for_latest_frame(qtbot, room)
    assert room.temperature.value() == pytest.approx(0.3) and room.top_k.value() == 5
    assert room.sampling() == {"temperature": record["temperature"], "top_k": 5}
    assert shown(room) == kept
