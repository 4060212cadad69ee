"""Black-and-white projects: a folder of grey pictures (real digits, as PNG and as JPEG) is seen as grey, one colour
picture makes it colour, and a grey project's models draw in grey, during training and after loading, with the
weights' shapes unchanged."""
from __future__ import annotations

import numpy as np
from PIL import Image

from engine import api
from engine.events import Message

from ..digits import write_digits, write_sprite_digits
from .helpers import tiny


def channel_spread(images: np.ndarray) -> int:
    """The largest difference between a pixel's red, green and blue."""
    colour = images[..., :3].astype(np.int16)
    return int((colour.max(-1) - colour.min(-1)).max())


def test_grey_pictures_make_a_grey_project_and_one_colour_picture_a_colour_one(tmp_path):
    digits = write_digits(tmp_path / "digits", per_class=3, px=32)
    for path in list((digits / "7").glob("*.png")):  # JPEGs of grey pictures carry a little colour noise
        Image.open(path).convert("RGB").save(path.with_suffix(".jpg"), quality=80)
        path.unlink()
    project = api.Project.create(tmp_path / "project")
    api.ingest(project, [digits], size=32)
    assert api.dataset_stats(project)["grey"] and api.suggest_config(project, "dcgan").grey
    assert not api.suggest_config(project, "pix2pix").grey  # image-to-image keeps its inputs' colours
    assert not api.suggest_config(project, "vqvae").grey  # draws through code grids too: kept in colour

    api.ingest(project, [write_sprite_digits(tmp_path / "blue", per_class=1, px=32)])  # blue ink
    assert not api.dataset_stats(project)["grey"] and not api.suggest_config(project, "dcgan").grey


def test_a_grey_projects_model_draws_in_grey_and_its_file_keeps_three_channels(small_digits_dir, tmp_path):
    project = api.Project.create(tmp_path / "project")
    api.ingest(project, [small_digits_dir], size=16)
    said = []
    run = dict(steps=30, checkpoint_every=30, sample_every=30, kid_every=0)
    grey = api.train(project, tiny("dcgan", **run), on_event=said.append, new=True)
    assert any(isinstance(e, Message) and "black and white" in e.text for e in said)

    model = api.open_model(grey.checkpoint)
    assert model.cfg.grey and model.output.channels == 3
    assert channel_spread(model.render(api.latents_for_seed(0, model.latent_dim, 16))) == 0
    assert channel_spread(np.asarray(Image.open(api.generate(model, 1, tmp_path / "png")[0]))) == 0

    # the same run asked for colour draws colour: it is the tie that makes the grey
    colour = api.open_model(api.train(project, tiny("dcgan", grey=False, **run), new=True).checkpoint)
    assert channel_spread(colour.render(api.latents_for_seed(0, colour.latent_dim, 16))) > 0
    assert set(colour.net.state_dict()) == set(model.net.state_dict())
    assert all(colour.net.state_dict()[k].shape == v.shape for k, v in model.net.state_dict().items())


def test_configs_saved_before_the_grey_setting_draw_in_colour():
    assert api.TrainConfig.from_dict({"family": "dcgan", "size": 32}).grey is False
    assert api.TrainConfig.from_dict({"family": "dcgan", "grey": True}).grey is True
