"""Transparency end to end, on real digits made into sprites (ink opaque, paper transparent): the project turns
alpha on by itself, the augmentation keeps colour premultiplied and moves alpha with it, a 4-channel model learns
how much of a picture is transparent, and its exports keep the alpha (PNG, GIF) or lay it over a colour (MP4)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from engine import api
from engine.augment import diff_augment
from engine.pixels import to_uint8, to_unit

from ..digits import write_digits, write_sprite_digits
from .helpers import tiny


@pytest.fixture(scope="module")
def sprites(tmp_path_factory):
    root = tmp_path_factory.mktemp("sprites")
    project = api.Project.create(root / "project")
    api.ingest(project, [write_sprite_digits(root / "digits", per_class=30, px=32)], size=32)
    return project


def shares(images: np.ndarray) -> tuple[float, float]:
    alpha = images[..., 3]
    return float((alpha < 16).mean()), float((alpha > 240).mean())


def test_a_project_of_cut_outs_turns_alpha_on_and_an_image_without_alpha_counts_as_opaque(sprites, tmp_path):
    assert api.dataset_stats(sprites)["transparent"] == 300 and api.suggest_config(sprites, "dcgan").alpha
    opaque = write_digits(tmp_path / "plain", per_class=2, px=32)  # RGB: no alpha
    api.ingest(sprites, [opaque])
    rows = api.manifest(sprites)
    images = np.asarray(api.load_dataset(sprites).images)
    plain = [i for i, row in enumerate(rows) if row["source"].startswith(str(opaque))]
    assert len(plain) == 20 and (images[plain][..., 3] == 255).all()
    assert not any(rows[i]["transparent"] for i in plain)
    sprites.dataset.alpha = "off"
    assert not api.suggest_config(sprites, "dcgan").alpha  # the project's setting wins
    sprites.dataset.alpha = "auto"


def test_augmentation_changes_colour_not_alpha_and_moves_alpha_with_the_colour(sprites):
    images = np.asarray(api.load_dataset(sprites).images)[:16]
    x = to_unit(images)
    coloured = diff_augment(x, torch.Generator().manual_seed(0), ops=("color",))
    torch.testing.assert_close(coloured[:, 3], x[:, 3])  # colour jitter leaves alpha alone
    assert not torch.allclose(coloured[:, :3], x[:, :3])
    for ops in (("color",), ("translation",), ("cutout",), ("color", "translation", "cutout")):
        y = (diff_augment(x, torch.Generator().manual_seed(1), ops=ops) + 1) / 2
        clear = (y[:, 3:] == 0).expand(-1, 3, -1, -1)
        assert clear.any() and (y[:, :3][clear].abs() < 1e-5).all(), ops  # still premultiplied: no colour there
    moved = diff_augment(x, torch.Generator().manual_seed(2), ops=("translation",))
    changed = (moved != x).any(1)
    assert changed.any() and ((moved[:, 3] != x[:, 3]) == changed).all()  # alpha moves exactly where colour does
    holed = diff_augment(x, torch.Generator().manual_seed(3), ops=("cutout",))
    assert ((holed[:, 3] == -1) | (holed[:, 3] == x[:, 3])).all()  # a hole is transparent


def test_premultiplied_pixels_come_back_straight():
    rgba = np.random.default_rng(0).integers(0, 256, (2, 8, 8, 4), dtype=np.uint8)
    rgba[..., 3] = np.where(rgba[..., 3] < 128, 0, 255)
    back = to_uint8(to_unit(rgba))
    opaque = rgba[..., 3] == 255
    assert (back[..., 3] == rgba[..., 3]).all() and (back[opaque] == rgba[opaque]).all()
    assert (back[~opaque][:, :3] == 0).all()  # a fully transparent pixel has no colour


def test_a_four_channel_model_learns_how_much_is_transparent_and_exports_keep_it(sprites, tmp_path):
    result = api.train(sprites, tiny("dcgan", size=32, steps=400, batch=16, width=8, lr=1e-3, checkpoint_every=400,
                                     sample_every=400, kid_every=0), new=True)
    model = api.open_model(result.checkpoint)
    assert model.output.channels == 4 and model.cfg.alpha
    made = model.render(api.latents_for_seed(0, model.latent_dim, 200))
    real = np.asarray(api.load_dataset(sprites).images)
    (clear_real, solid_real), (clear_made, solid_made) = shares(real), shares(made)
    assert abs(clear_made - clear_real) <= 0.15 and abs(solid_made - solid_real) <= 0.15, \
        (clear_real, clear_made, solid_real, solid_made)

    grid = np.asarray(Image.open(api.sample_grids(result.checkpoint.parent.parent)[-1][1]))
    assert (grid[0, :, 3] == 255).all() and (grid[..., 3] < 16).any()  # opaque gaps between see-through pictures

    png = api.generate(model, 1, tmp_path / "png")[0]
    assert Image.open(png).mode == "RGBA" and (np.asarray(Image.open(png))[..., 3] < 16).any()
    latents = api.latents_for_seed(1, model.latent_dim, 4)
    gif = api.export_animation(model, latents, tmp_path / "loop.gif")
    with Image.open(gif) as frames:
        assert "transparency" in frames.info and frames.n_frames == 4
    mp4 = api.export_animation(model, latents, tmp_path / "loop.mp4", background=(255, 0, 255))
    import imageio.v3 as iio

    first = iio.imread(mp4, index=0)
    assert first.shape[-1] == 3 and (np.abs(first[0, 0].astype(int) - [255, 0, 255]) < 40).all()  # laid on magenta


def test_automatic_framing_pads_a_cut_out_whole_and_crops_an_opaque_picture_to_fill_the_frame(tmp_path):
    import io

    from engine.decode import decode_picture

    from ..digits import write_wide_digits

    pair = Image.open(next(write_wide_digits(tmp_path, count=1, px=32).glob("*.png"))).convert("L")  # 64 x 32
    cut_out = Image.merge("RGBA", (*Image.new("RGB", pair.size, (40, 60, 160)).split(), pair))  # ink opaque

    def framed(picture: Image.Image, crop: str) -> np.ndarray:
        data = io.BytesIO()
        picture.save(data, "PNG")
        return decode_picture(data.getvalue(), 32, crop)[0]

    padded = framed(cut_out, "auto")
    assert np.array_equal(padded, framed(cut_out, "pad")) and not np.array_equal(padded, framed(cut_out, "center"))
    alpha = padded[..., 3]
    assert (alpha[:8] == 0).all() and (alpha[-8:] == 0).all()  # a transparent band above and below
    assert alpha[:, :16].any() and alpha[:, 16:].any()  # both digits of the pair, whole
    photo = framed(pair, "auto")
    assert np.array_equal(photo, framed(pair, "center")) and (photo[..., 3] == 255).all()  # it fills the frame


def test_a_project_of_pairs_frames_a_cut_out_and_its_opaque_partner_alike_so_they_stay_aligned(tmp_path):
    from ..digits import write_paired_digits

    root = write_paired_digits(tmp_path / "pairs", count=4, px=32)
    for path in root.rglob("*.png"):  # wide pictures; the A side's are cut-outs (their left columns transparent)
        wide = Image.open(path).convert("RGBA").resize((64, 32))
        if path.parent.name == "A":
            wide.putalpha(Image.fromarray(np.where(np.arange(64) < 4, 0, 255).astype(np.uint8)[None].repeat(32, 0)))
        wide.save(path)
    project = api.Project.create(tmp_path / "project")
    assert project.dataset.crop == "auto"
    api.ingest(project, [root / "A"], layout="paired", side="A", size=32, aspect="1:1")
    api.ingest(project, [root / "B"], side="B")
    data = api.load_dataset(project)
    for a, b in data.pairs:  # the cut-out cropped like its partner (its transparent edge cut off), not padded
        assert (data.images[a, ..., 3] == 255).all() and (data.images[b, ..., 3] == 255).all()


def test_the_copy_check_shows_its_nearest_cut_outs_with_their_transparency_beside_a_model_that_draws_it(sprites):
    from engine.dataset import composite

    meter = api.meter_for(sprites)
    index = next(i for i, source in enumerate(meter.sources) if "plain" not in source)  # a sprite, not an opaque digit
    shown, compared = meter.image(index, alpha=True), meter.image(index)
    assert shown.shape[-1] == 4 and (shown[..., 3] < 16).mean() > 0.3  # the paper shows as see-through
    assert compared.shape[-1] == 3 and np.array_equal(compared, composite(shown[None], meter.background)[0])


def test_rgb_composites_transparent_pixels_onto_the_background():
    images = np.zeros((2, 2, 2, 4), np.uint8)
    images[..., :3] = 200
    images[0, ..., 3] = 255
    images[1, 0, :, 3] = 128
    from engine.dataset import Dataset

    data = Dataset(images=images, labels=np.array([-1, -1]), label_names=[], split=np.zeros(2, bool),
                   hashes=["a", "b"], background=(0, 100, 255))
    rgb = data.rgb()
    assert rgb.shape == (2, 2, 2, 3) and rgb.dtype == np.uint8
    assert (rgb[0] == 200).all()  # opaque: untouched
    assert (rgb[1, 1] == (0, 100, 255)).all()  # transparent: the background
    assert rgb[1, 0, 0].tolist() == [100, 150, 227]  # half: the blend
    assert data.rgb([1]).tolist() == rgb[1:].tolist()


def test_shrinking_a_cut_out_keeps_its_edges_clean(tmp_path):
    cut_out = np.zeros((64, 64, 4), np.uint8)  # right half fully transparent black, as most editors save it
    cut_out[:, :32] = 255  # left half opaque white
    Image.fromarray(cut_out, "RGBA").save(tmp_path / "cut-out.png")
    project = api.Project.create(tmp_path / "project")
    api.ingest(project, [tmp_path / "cut-out.png"], size=12)

    pixels = api.load_dataset(project).images[0]
    edge = (pixels[..., 3] > 16) & (pixels[..., 3] < 255)
    assert edge.any()
    assert pixels[edge][:, :3].min() > 235  # no dark fringe: transparent black never bleeds into the white
