"""Wide and tall pictures, on real digits set side by side (2:1 pictures): the project picks 2:1 from its images'
median shape, a 2:1 model draws 2:1 images in every family that can, exports keep the shape, and a family that
draws squares only says so."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engine import api
from engine.decode import decode_picture

from ..digits import write_wide_digits
from .helpers import cli, tiny


@pytest.fixture(scope="module")
def wide(tmp_path_factory):
    root = tmp_path_factory.mktemp("wide")
    project = api.Project.create(root / "project")
    api.ingest(project, [write_wide_digits(root / "pairs", count=200, px=32)], size=32)
    return project


def test_a_picture_is_framed_at_the_aspect_by_cropping_its_middle_or_padding_it(tmp_path):
    path = sorted(write_wide_digits(tmp_path, count=1, px=32).glob("*.png"))[0]
    data, whole = path.read_bytes(), np.asarray(Image.open(path).convert("L"))
    wide, _, _, _ = decode_picture(data, 32, "center", "2:1")
    assert wide.shape == (16, 32, 4) and (wide[..., 3] == 255).all()
    square, _, _, _ = decode_picture(data, 32, "center", "1:1")
    middle = np.asarray(Image.fromarray(whole[:, 16:48]).resize((32, 32), Image.LANCZOS), np.int16)
    assert np.abs(square[..., 0].astype(np.int16) - middle).mean() < 8  # the middle square, not the whole
    tall, _, _, transparent = decode_picture(data, 32, "pad", "3:4")
    assert tall.shape == (32, 24, 4) and not transparent  # padding is not the picture's own transparency
    rows = np.flatnonzero(tall[..., 3].max(1) == 255)
    assert rows.min() > 0 and rows.max() < 31 and (tall[0, :, 3] == 0).all()  # bands above and below


def test_wide_cut_outs_leave_the_frame_square_as_each_is_padded_whole_at_the_same_scale(tmp_path):
    folder = write_wide_digits(tmp_path / "pairs", count=40, px=32)
    for path in folder.rglob("*.png"):  # cut-outs: the ink opaque, the paper transparent
        ink = np.asarray(Image.open(path).convert("L"))
        Image.fromarray(np.dstack([np.zeros(ink.shape + (3,), np.uint8), ink]), "RGBA").save(path)
    project = api.Project.create(tmp_path / "project")
    api.ingest(project, [folder], size=32)
    stats = api.dataset_stats(project)
    assert stats["transparent"] == 40 and api.chosen_aspect(project) == "1:1"
    project.dataset.crop = "center"  # cropped to fill the frame, the same pictures choose its shape
    assert api.chosen_aspect(project) == "2:1"


def test_a_2_to_1_set_trains_a_2_to_1_model_that_generates_2_to_1_images(wide, tmp_path):
    stats = api.dataset_stats(wide)
    assert stats["median_aspect"] == pytest.approx(2.0) and api.chosen_aspect(wide) == "2:1"
    measured = []
    result = api.train(wide, tiny("dcgan", size=32, steps=20, kid_every=20), new=True,
                       on_event=lambda e: measured.append(e) if isinstance(e, api.QualityMeasured) else None)
    assert measured and measured[0].kid > 0 and 0 <= measured[0].copies <= 1  # KID and the copy share, at 2:1
    model = api.open_model(result.checkpoint)
    assert model.aspect == "2:1" and (model.output.height, model.output.width) == (16, 32)
    png = api.generate(model, 2, tmp_path / "png")[0]
    assert Image.open(png).size == (32, 16)
    grid = sorted((result.checkpoint.parent.parent / "samples").glob("*.png"))[-1]
    assert Image.open(grid).width > Image.open(grid).height  # the progress grid of 2:1 samples
    mp4 = api.export_animation(model, api.latents_for_seed(0, model.latent_dim, 4), tmp_path / "loop.mp4")
    import imageio.v3 as iio

    frame = iio.imread(mp4, index=0)
    assert frame.shape[1] == 2 * frame.shape[0]
    resumed = api.train(wide, tiny("dcgan", size=32, steps=30))
    assert resumed.step == 30 and api.open_model(resumed.checkpoint).aspect == "2:1"


@pytest.mark.parametrize("family", ["vae", "stylegan", "fastgan", "projected"])
def test_the_vae_stylegan_and_both_fastgans_draw_wide_and_tall_pictures(wide, family):
    result = api.train(wide, tiny(family, size=32, steps=6, width=4, aspect="1:2"), new=True)
    model = api.open_model(result.checkpoint)
    assert model.render(api.latents_for_seed(0, model.latent_dim, 2)).shape == (2, 32, 16, 3)
    images = api.load_dataset(wide, 32, aspect="1:2").rgb([0, 1])
    assert [p.image.shape for p in api.project(model, images, steps=2)] == [(32, 16, 3)] * 2


def test_a_family_that_draws_squares_only_trains_squares_and_refuses_an_aspect(wide):
    said = []
    result = api.train(wide, tiny("vqvae", size=16, steps=2), new=True,
                       on_event=lambda e: said.append(e.text) if isinstance(e, api.Message) else None)
    assert api.open_model(result.checkpoint).output.height == 16 and any("draws squares" in s for s in said)
    done = cli("train", "--project", str(wide.root), "--model", "vqvae", "--aspect", "2:1", "--steps", "2")
    assert done.returncode != 0 and "VQ-VAE + Transformer draws square pictures only" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_adding_pictures_to_a_wide_project_grows_its_wide_cache_from_the_same_decoding(tmp_path):
    from engine.dataset_cache import valid_cache

    pairs = write_wide_digits(tmp_path / "pairs", count=60, px=32)
    first, later = tmp_path / "first", tmp_path / "later"
    first.mkdir(), later.mkdir()
    for i, path in enumerate(sorted(pairs.glob("*.png"))):
        path.rename((first if i < 40 else later) / path.name)
    project = api.Project.create(tmp_path / "project")
    api.ingest(project, [first], size=32)
    api.load_dataset(project, 32, aspect="2:1")  # the Dataset room's view builds it
    api.ingest(project, [later])
    grown = valid_cache(project, 32, 60, "2:1")
    assert grown is not None  # no second pass over all the pictures
    kept = np.load(grown)
    grown.unlink()
    np.testing.assert_array_equal(kept, np.asarray(api.load_dataset(project, 32, aspect="2:1").images))
