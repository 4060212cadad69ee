"""The shipped base models: a new run starts from the one that fits its project, unless asked for scratch; a
resumed run, another shape or an explicit --from are left alone."""
from __future__ import annotations

import shutil

import pytest
import torch

from engine import api, base_model, files
from engine.run_folder import run_to_resume
from engine.training import Trainer

from .helpers import cli, digits_project, tiny


@pytest.fixture(scope="module")
def unsorted_digits(tmp_path_factory, small_digits_dir):
    """The 300 small digits in one folder: no labels, so a new run's default family is DCGAN (labelled sets below
    64 px train the conditional GAN, and no base model is conditional)."""
    folder = tmp_path_factory.mktemp("unsorted")
    for i, path in enumerate(sorted(small_digits_dir.rglob("*.png"))):
        shutil.copy(path, folder / f"{i:03d}.png")
    return folder


@pytest.fixture(scope="module")
def bases(tmp_path_factory, unsorted_digits):
    """A folder of base models holding one 16 px DCGAN trained for a few steps on real digits."""
    root = tmp_path_factory.mktemp("base")
    source = digits_project(root / "source", unsorted_digits)
    result = api.train(source, tiny("dcgan", steps=4, checkpoint_every=4))
    folder = root / "bases"
    folder.mkdir()
    api.export_model(result.checkpoint, folder / "digits-16.safetensors")
    return folder


@pytest.fixture
def shipped(bases, monkeypatch):
    monkeypatch.setattr(base_model, "BASE_DIR", bases)
    return bases / "digits-16.safetensors"


def new_config(project, **overrides):
    cfg = api.TrainConfig(steps=2, device="cpu", precision="fp32", checkpoint_every=2, **overrides)
    return run_to_resume(project, cfg)[0]


def test_a_new_run_starts_from_the_base_that_fits_with_its_weights(tmp_path, unsorted_digits, shipped):
    project = digits_project(tmp_path / "p", unsorted_digits)
    assert api.base_fitting(project, api.TrainConfig()) == "digits-16"  # what the Train room asks before a run
    cfg = new_config(project)
    assert cfg.from_model == str(shipped.resolve())
    assert (cfg.family, cfg.size, cfg.width, cfg.latent_dim) == ("dcgan", 16, 8, 16)  # the base's shape

    events = []
    trainer = Trainer(project, cfg, on_event=events.append)
    trainer.start(None)
    weights, _ = files.load_tensors(shipped)
    for key, value in trainer.learner.nets["generator"].state_dict().items():
        assert torch.equal(value, weights[key]), key
    said = [e.text for e in events if isinstance(e, api.Message)]
    assert any("starting from the base model digits-16" in text and "--scratch" in text for text in said), said


def test_scratch_another_shape_or_an_explicit_source_leave_the_base_alone(tmp_path, unsorted_digits, small_digits_dir,
                                                                          shipped):
    project = digits_project(tmp_path / "p", unsorted_digits)
    assert new_config(project, base=False).from_model == ""
    assert new_config(project, size=32).from_model == ""
    assert new_config(project, width=16).from_model == ""  # the artist asked for another width
    assert new_config(project, family="vae").from_model == ""
    wide = digits_project(tmp_path / "wide", unsorted_digits, size=32)
    assert new_config(wide).from_model == ""  # a 32 px project: the 16 px base does not fit
    labelled = digits_project(tmp_path / "labelled", small_digits_dir)
    assert new_config(labelled).family == "cgan" and new_config(labelled).from_model == ""  # no base is conditional


def test_a_damaged_base_is_passed_over_and_the_run_trains_from_scratch(tmp_path, unsorted_digits, monkeypatch):
    folder = tmp_path / "bases"
    folder.mkdir()
    (folder / "cut-short.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{")  # a truncated header
    monkeypatch.setattr(base_model, "BASE_DIR", folder)
    project = digits_project(tmp_path / "p", unsorted_digits)
    assert new_config(project).from_model == ""


def test_a_resumed_run_is_not_restarted_from_the_base(tmp_path, unsorted_digits, shipped):
    project = digits_project(tmp_path / "p", unsorted_digits)
    first = api.train(project, tiny("dcgan", steps=4, checkpoint_every=2, base=False, minutes=0))
    assert files.read_json(first.checkpoint.parent.parent / "config.json")["from_model"] == ""
    cfg, run_dir, resume_from = run_to_resume(project, tiny("dcgan", steps=8))
    assert resume_from is not None and cfg.from_model == ""


def test_the_cli_trains_from_scratch_when_asked(tmp_path, small_digits_dir):
    # the real resources/base/ ships 64 px models only: a 16 px run never fits one; --scratch must still parse
    done = cli("train", "--project", str(tmp_path / "p"), "--data", str(small_digits_dir), "--size", "16",
               "--steps", "2", "--width", "8", "--scratch", "--device", "cpu")
    assert done.returncode == 0, done.stderr
    run = next((tmp_path / "p" / "runs").iterdir())
    assert files.read_json(run / "config.json")["base"] is False


def test_the_shipped_bases_fit_64_px_pictures_with_and_without_transparency(tmp_path):
    from engine.demo import DEMO_IMAGES

    shipped = {files.read_meta(path)["config"]["alpha"]: path for path in base_model.BASE_DIR.glob("*.safetensors")}
    assert set(shipped) == {True, False}, "resources/base/ ships a transparent and an opaque base"
    for alpha, mode in ((True, "on"), (False, "off")):  # real clip art, kept transparent or laid on white
        project = api.Project.create(tmp_path / mode)
        api.ingest(project, [DEMO_IMAGES / "fruit"], size=64, alpha=mode)
        cfg = new_config(project)
        assert cfg.from_model == str(shipped[alpha].resolve()) and cfg.family == "projected" and cfg.alpha == alpha
    assert new_config(project, family="dcgan").from_model == ""  # no base of that family


def test_a_run_from_a_shipped_base_is_promised_that_base_curve_not_the_one_from_random_weights():
    for name, (measured_on, curve) in base_model.CURVES.items():
        assert (base_model.BASE_DIR / f"{name}.safetensors").is_file(), f"a curve for {name}, which does not ship"
        seen = [point.images for point in curve]
        assert seen == sorted(seen) and curve[-1].kid < curve[0].kid
        line = api.describe_expectation("projected", 64, seen[-1], base=name)
        assert curve[-1].look in line and name in line and measured_on in line
        assert "random weights" in api.describe_expectation("projected", 64, seen[-1])  # no base: the family's curve
    assert api.describe_expectation("projected", 64, 10**6, base="unmeasured-64") == ""  # no curve: no promise
