"""The Train room around a real project of handwritten digits: start, watch, pause, stop, continue."""
from __future__ import annotations

import re

import pytest
from PySide6.QtCore import Qt

from gui.train_room import TrainRoom


def test_the_room_shows_a_preset_sized_to_the_dataset_and_the_device(room):
    config = room.config()
    assert config.size == 16  # the project's resolution
    assert config.steps > 0 and config.batch > 0
    assert room.family_box.count() >= 1 and room.family_text.text()
    assert "GB" in room.device_label.text()
    assert room.start_button.isEnabled() and not room.stop_button.isEnabled()


def test_start_trains_a_few_steps_and_updates_the_sample_grid(qtbot, room, tiny_config):
    room.set_config(tiny_config(room.config()))
    grids = []
    room.step_done.connect(lambda event: grids.append(room.samples.image.pixmap().cacheKey()))
    with qtbot.waitSignals([room.training_state_changed, room.run_finished], timeout=60_000):
        room.start()
    assert not room.is_training()
    assert room.step == 30
    assert not room.samples.image.pixmap().isNull()
    assert len(set(grids)) >= 2  # the grid changed as training went on
    assert room.samples.count() == 3 and room.samples.slider.isEnabled()  # grids at steps 10, 20, 30 can be scrubbed
    room.samples.slider.setValue(0)
    assert room.samples.step_label.text() == "step 10"
    assert room.reports.checkpoints.count() >= 1
    assert room.reports.loss_plot.point_count() >= 2


def test_pause_holds_the_step_and_stop_leaves_a_checkpoint_to_continue_from(qtbot, room, tiny_config):
    room.set_config(tiny_config(room.config(), steps=100_000, log_every=1, sample_every=1000,
                                checkpoint_every=100_000))
    with qtbot.waitSignal(room.step_done, timeout=60_000):
        room.start()
    with qtbot.waitSignal(room.paused, timeout=10_000) as paused:  # the run confirms, between two steps
        room.pause()
        assert room.resume_button.isEnabled() and not room.pause_button.isEnabled()
    paused_at = paused.args[0]
    assert room.step == paused_at and f"Paused at step {paused_at}" in room.state_label.text()
    with qtbot.assertNotEmitted(room.step_done, wait=700):
        pass
    assert room.step == paused_at

    room.resume()
    qtbot.waitUntil(lambda: room.step > paused_at, timeout=10_000)
    with qtbot.waitSignal(room.run_finished, timeout=60_000) as finished:
        room.stop()
    result = finished.args[0]
    assert result.reason == "stopped"
    assert result.checkpoint is not None and result.checkpoint.exists()
    assert list((room.run_dir / "checkpoints").glob("step-*.json"))
    # The stopped run is offered to be continued.
    qtbot.waitUntil(lambda: not room.banner.isHidden(), timeout=10_000)
    assert room.run_dir.name in room.banner_label.text()
    assert f"from step {result.step:,}, its newest checkpoint" in room.banner_label.text()


def test_the_room_shows_sample_quality_and_why_a_run_stopped_early(qtbot, room, tiny_config, monkeypatch):
    from engine import features, sample_quality, training_data
    from engine.models.vae import VAELearner

    monkeypatch.setattr(features, "INPUT_SIZE", 64)  # a smaller KID, so the test takes seconds
    monkeypatch.setattr(sample_quality, "KID_SAMPLES", 64)
    monkeypatch.setattr(training_data, "KID_REAL", 64)
    errors = iter([1.0, 0.8, 0.9, 0.95] + [1.0] * 20)  # held-out error: best at the 2nd checkpoint, then worse
    monkeypatch.setattr(VAELearner, "quality", lambda self, holdout, labels=None: next(errors))
    room.set_config(tiny_config(room.config(), family="vae", steps=1000, kid_every=4, checkpoint_every=4,
                                early_stop_patience=2, sample_every=1000))
    with qtbot.waitSignal(room.run_finished, timeout=120_000) as finished:
        room.start()
    assert finished.args[0].reason == "early_stop" and finished.args[0].step == 16
    assert "stopped early" in room.state_label.text()
    assert not room.reports.notes_box.isHidden()
    note = room.reports.notes.item(0).text()
    assert note.startswith("step 16: Stopping early") and "step 8" in note  # where the best checkpoint is
    assert not room.reports.quality_box.isHidden()
    assert room.reports.quality_plot.point_count() == 4  # a KID at steps 4, 8, 12 and 16
    quality = room.reports.quality_label.text()
    assert re.match(r"-?\d+\.\d{4} at step 16; the best: -?\d+\.\d{4} at step \d+<br>", quality), quality
    assert re.search(r"(\d+% of the samples copy|No sample copies) a training image", quality)

    # opened again later, the room shows what the run reported, read back from its folder
    reopened = TrainRoom()
    qtbot.addWidget(reopened)
    reopened.set_api(room.api)
    reopened.set_project(room.project)
    again = reopened.reports
    qtbot.waitUntil(lambda: again.quality_plot.point_count() == 4, timeout=20_000)
    assert again.quality_label.text() == quality
    assert again.loss_plot.point_count() == room.reports.loss_plot.point_count() > 0
    assert again.notes.item(0).text() == note
    kept = [again.checkpoints.item(i).text() for i in range(again.checkpoints.count())]
    assert kept[0] == "step 16" and "step 8  ★ best" in kept  # newest first, the best marked


def test_start_cancels_a_speed_measurement_under_way(qtbot, room, tiny_config):
    room.set_config(tiny_config(room.config(), steps=10))
    room.measure_speed()
    assert room.speed_label.text().startswith("Measuring") and not room.measure_button.isEnabled()
    with qtbot.waitSignal(room.run_finished, timeout=60_000):
        room.start()  # at once: the measurement is stopped at its next step, not left to compete for the CPU
    qtbot.waitUntil(lambda: room.measure_button.isEnabled(), timeout=20_000)
    assert room.speed_label.text() == "Not measured yet for these settings"


def test_labelled_sub_folders_put_the_conditional_models_first(room, api):
    names = [room.family_box.itemData(i) for i in range(room.family_box.count())]
    conditional = [f.name for f in api.families() if "labels" in f.capabilities]
    assert names[:len(conditional)] == conditional  # the digits sit in ten folders, 0 to 9
    enabled = [name for i, name in enumerate(names) if room.family_box.model().item(i).isEnabled()]
    assert enabled == [name for name in names if api.family_layout(name) == "images"]  # translators need pairs
    assert not room.labels_hint.isHidden() and "10 labels (0, 1, 2, 3, …)" in room.labels_hint.text()


def test_images_without_labels_grey_out_the_conditional_models(qtbot, api, tmp_path):
    from PIL import Image

    from tests.digits import write_digits

    flat = tmp_path / "flat"
    flat.mkdir()
    for i, path in enumerate(sorted(write_digits(tmp_path / "sorted", per_class=3).rglob("*.png"))):
        Image.open(path).save(flat / f"{i:02d}.png")  # the same digits, no sub-folders
    project = api.Project.create(tmp_path / "Unsorted")
    api.ingest(project, [flat], size=16)
    room = TrainRoom()
    qtbot.addWidget(room)
    room.set_api(api)
    conditional = room.family_box.findData("cgan")
    room.family_box.setCurrentIndex(conditional)  # chosen before the facts arrive
    room.set_project(project)
    qtbot.waitUntil(lambda: room.config() is not None, timeout=20_000)
    names = [room.family_box.itemData(i) for i in range(room.family_box.count())]
    usable = api.recommended_families(0, "images")
    assert names[:len(usable)] == usable and {"cgan", "cvae"} <= set(names[len(usable):])  # greyed out, last
    assert room.labels_hint.isHidden()
    assert not room.family_box.model().item(names.index("cgan")).isEnabled()
    assert "labelled sub-folders" in room.family_box.itemData(names.index("cgan"), Qt.ItemDataRole.ToolTipRole)
    assert room.config().family == room.family_box.currentData() == api.default_family(16)


def test_a_64_px_project_opens_on_the_default_family_for_its_size_until_the_artist_picks_one(qtbot, api, tmp_path):
    from tests.digits import write_digits

    project = api.Project.create(tmp_path / "Big")
    api.ingest(project, [write_digits(tmp_path / "digits", per_class=3)], size=64)
    room = TrainRoom()
    qtbot.addWidget(room)
    room.set_api(api)
    room.set_project(project)
    qtbot.waitUntil(lambda: room.config() is not None, timeout=20_000)
    assert room.family_box.currentData() == room.config().family == api.default_family(64) != "dcgan"
    room.family_box.setCurrentIndex(room.family_box.findData("dcgan"))
    room.family_box.activated.emit(room.family_box.currentIndex())  # as a click on the item does
    room.set_project(project)  # the facts arrive again (after a run, or the project reopened)
    qtbot.waitUntil(lambda: room.config() is not None and room.config().family == "dcgan", timeout=20_000)
    assert room.family_box.currentData() == "dcgan"


def test_a_family_defined_in_the_tests_appears_and_trains_in_the_room(qtbot, api, digits_project, tiny_config,
                                                                       monkeypatch):
    from engine.models import FAMILIES

    from ..tiny_family import Moments

    monkeypatch.setitem(FAMILIES, "moments", Moments)  # the one registry line
    room = TrainRoom()
    qtbot.addWidget(room)
    room.set_api(api)
    room.set_project(digits_project)
    qtbot.waitUntil(lambda: room.family_box.findData("moments") >= 0, timeout=20_000)
    index = room.family_box.findData("moments")
    assert room.family_box.itemText(index) == "Moment matcher (tests)"
    room.family_box.setCurrentIndex(index)
    room.family_box.activated.emit(index)  # as a click on it does
    qtbot.waitUntil(lambda: room.config() is not None and room.config().family == "moments", timeout=20_000)
    room.set_config(tiny_config(room.config(), latent_dim=8, width=1, steps=20))
    with qtbot.waitSignal(room.run_finished, timeout=60_000) as finished:
        room.start()
    assert finished.args[0].reason == "done" and finished.args[0].step == 20


def test_an_interrupted_run_of_another_family_is_shown_and_continued(qtbot, api, digits_project, tmp_path):
    """The box shows the unfinished run's family, not the default, and Continue resumes that very run."""
    control = api.Control()
    stopped = api.train(digits_project, api.TrainConfig(family="vae", size=16, steps=400, batch=16, width=8,
                                                        latent_dim=16, precision="fp32", checkpoint_every=5,
                                                        device="cpu"),
                        on_event=lambda e: control.request_stop() if isinstance(e, api.StepDone) and e.step >= 5
                        else None, control=control, new=True)
    assert stopped.reason == "stopped" and api.default_family(16) != "vae"
    room = TrainRoom()
    qtbot.addWidget(room)
    room.set_api(api)
    room.set_project(digits_project)
    qtbot.waitUntil(lambda: room.config() is not None and room.banner.isVisibleTo(room), timeout=20_000)
    assert room.family_box.currentData() == "vae"
    # the stopped run's samples are there to look at, its newest grid shown
    run = digits_project.runs()[-1]
    assert room.samples.count() == len(api.sample_grids(run)) > 0
    assert f"Samples of {run.name}" in room.state_label.text() and not room.samples.image.pixmap().isNull()
    assert room.live.progress.isHidden()  # no run is under way: no empty progress bar
    assert f"“{run.name}” was stopped. Continue it from step {stopped.step:,}" in room.banner_label.text()
    status = run / "status.json"
    status.write_text(status.read_text().replace('"stopped"', '"running"'))  # what a killed app leaves
    room.prepare(keep_settings=True)
    qtbot.waitUntil(lambda: "was interrupted" in room.banner_label.text(), timeout=20_000)
    room.family_box.setCurrentIndex(room.family_box.findData("dcgan"))  # the artist looks at another family...
    room.family_box.activated.emit(room.family_box.currentIndex())
    qtbot.waitUntil(lambda: room.config() is not None and room.config().family == "dcgan", timeout=20_000)
    events = []
    room.step_done.connect(events.append)
    with qtbot.waitSignal(room.step_done, timeout=60_000):
        room.continue_run()  # ...but continues the interrupted run
    room.stop()
    qtbot.waitUntil(lambda: not room.is_training(), timeout=60_000)
    assert events[0].step > stopped.step  # it went on from the stopped run's checkpoint
    assert not room.live.progress.isHidden() and room.live.progress.value() >= events[0].step
    assert len(digits_project.runs()) == 1
    # afterwards the settings are the family's the box shows, so Start trains what it says
    qtbot.waitUntil(lambda: room.config().family == room.family_box.currentData() == "dcgan", timeout=20_000)
    room.set_project(api.Project.open_or_create(tmp_path / "no runs yet"))  # another project's room starts empty
    assert room.samples.count() == 0 and room.state_label.text() == "" and not room.samples.slider.isEnabled()
    assert room.live.progress.isHidden()


def test_every_train_flag_has_a_train_room_control_that_changes_the_run(room, api):
    from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QSpinBox

    from engine.cli_parser import parser

    commands = next(a for a in parser()._actions if a.dest == "command").choices
    set_elsewhere = {"help": "argparse", "project": "the project open", "data": "the Dataset room's sources",
                     "model": room.family_box, "size": "the Dataset room's size",
                     "new": room.start_button,  # or Continue
                     "jsonl": "the CLI's output only", "alpha": "the Dataset room's transparency (the project's)",
                     "aspect": "the Dataset room's shape (the project's)",
                     "scratch": room.settings.base}  # "Start from the base model", unticked
    flags = [a.dest for a in commands["train"]._actions if a.dest not in set_elsewhere]
    assert set(flags) <= set(room.settings.fields()), set(flags) - set(room.settings.fields())

    config = room.config()
    for name in room.settings.fields():
        editor = getattr(room.settings, name)
        room.settings.form.setRowVisible(editor, True)  # a family option shows for its family only
        if isinstance(editor, QComboBox):
            editor.setCurrentIndex((editor.currentIndex() + 1) % editor.count())
        elif isinstance(editor, QCheckBox):
            editor.setChecked(not editor.isChecked())
        elif isinstance(editor, (QSpinBox, QDoubleSpinBox)):
            editor.setValue(editor.value() + editor.singleStep() if editor.value() < editor.maximum()
                            else editor.value() - editor.singleStep())
        else:
            editor.setValue("/somewhere/model.safetensors")
        changed = room.settings.apply(config)
        assert getattr(changed, name) != getattr(config, name), name
        room.settings.set_config(config, api.family_options(config.family))


def test_the_family_options_show_for_the_families_that_read_them(qtbot, room, api):
    room.set_config(api.suggest_config(room.project, "stylegan"))
    visible = {name for name in room.settings.options if room.settings.form.isRowVisible(getattr(room.settings, name))}
    assert visible == set(api.family_options("stylegan")) and "path_length" in visible and "beta" not in visible
    room.set_config(api.suggest_config(room.project, "vae"))
    assert room.settings.form.isRowVisible(room.settings.beta)
    assert not room.settings.form.isRowVisible(room.settings.path_length)


def test_transparent_samples_lie_on_a_checkerboard_so_dark_ink_shows(qtbot):
    import numpy as np

    from engine.sampling import grid
    from gui.widgets.sample_history import SampleHistory

    from ..digits import digit_picture
    from sklearn.datasets import load_digits

    ink = np.stack([digit_picture(image, 16) for image in load_digits().images[:4]])
    sprites = np.zeros(ink.shape + (4,), np.uint8)
    sprites[..., 3] = ink  # black ink, its darkness as alpha, the paper transparent: as on a dark window, unseen
    history = SampleHistory()
    qtbot.addWidget(history)
    history.resize(300, 300)
    history.show()
    history.add(10, grid(sprites, columns=2), "step-000010.png")
    shown = history.image.pixmap().toImage()
    paper = shown.pixelColor(shown.width() // 2 - 12, 4 * shown.height() // 10)  # in the first digit's margin
    gap = shown.pixelColor(0, 0)
    assert paper.red() == paper.green() == paper.blue() and paper.red() in (153, 204)  # a checkerboard square
    assert gap.red() == 24  # the gaps between pictures stay dark


def test_the_quality_axis_fits_one_kid_and_never_goes_below_zero():
    from gui.widgets.loss_plot import axis_range

    assert axis_range([0.1042]) == pytest.approx((0.07815, 0.13025))  # it was -0.40 to 0.60 around one KID
    assert axis_range([0.0]) == (0.0, 0.5)
    assert axis_range([0.02, 0.3]) == (0.02, 0.3)
    assert axis_range([-0.4, 1.2]) == (-0.4, 1.2)  # losses may be negative


def test_losses_of_very_different_sizes_share_a_log_axis():
    from gui.widgets.loss_plot import log_axis

    assert log_axis([59.0, 5.2, 0.51, 0.043])  # pix2pix: the generator's loss, the discriminator's, the L1
    assert not log_axis([8.5, -0.57, 0.6])  # a GAN's losses go below zero: a plain axis
    assert not log_axis([0.9, 0.2, 0.05])  # within a factor of 100
