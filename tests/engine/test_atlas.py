"""The latent atlas on real digits: a VAE's map, laid out without the labels, keeps each digit among its own kind;
it is stored beside the checkpoint; a click stands for a blend of the nearest points; a GAN's images are placed by a
learned encoder that gives back the latents of its own samples."""
from __future__ import annotations

import numpy as np
import pytest

from engine import api
from engine.encoder import encode_with, train_encoder

from ..digits import write_digits
from .helpers import digits_project, tiny


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("atlas")
    return digits_project(root / "project", write_digits(root / "digits", indices=range(500), px=16), size=16)


def test_a_vae_map_keeps_each_digit_among_its_own_kind(project):
    result = api.train(project, tiny("vae", steps=300, checkpoint_every=300, sample_every=300, lr=2e-3), new=True)
    atlas = api.atlas_for(result.checkpoint, samples=32)
    own = atlas.images >= 0
    assert own.sum() == len(api.manifest(project)) and (~own).sum() == 32 and atlas.method == "t-SNE"
    labels = np.asarray(api.load_dataset(project).labels)[atlas.images[own]]
    mapped = atlas.positions[own]
    distance = np.linalg.norm(mapped[:, None] - mapped[None], axis=2)
    np.fill_diagonal(distance, np.inf)
    neighbours = np.argsort(distance, axis=1)[:, :10]
    agreement = (labels[neighbours] == labels[:, None]).mean()
    assert agreement >= 0.7, agreement
    stored = result.checkpoint.parent / f"atlas-{result.checkpoint.stem}.safetensors"
    assert stored.is_file()
    again = api.atlas_for(result.checkpoint, samples=32)  # read back, not laid out again
    np.testing.assert_array_equal(again.positions, atlas.positions)

    x, y = atlas.positions[5]
    np.testing.assert_allclose(atlas.point_at(x, y), atlas.latents[5], atol=1e-5)  # on a point: that point
    between = atlas.point_at(*(atlas.positions[5] + atlas.positions[6]) / 2)
    assert not np.allclose(between, atlas.latents[5]) and np.isfinite(between).all()
    loop = atlas.path([atlas.positions[1], atlas.positions[2], atlas.positions[1]], 6)
    assert loop.shape == (13, atlas.latents.shape[1])


def test_a_gans_encoder_gives_back_the_latents_of_its_own_samples(project):
    result = api.train(project, tiny("dcgan", steps=40, checkpoint_every=40, sample_every=40), new=True)
    model = api.open_model(result.checkpoint)
    encoder = train_encoder(model, steps=300)
    z = api.latents_for_seed(99, model.latent_dim, 64)
    found = encode_with(encoder, model.render(z), model.device)
    error = np.mean((found - z) ** 2)
    assert error < 0.5 * np.mean(z ** 2), error  # far nearer than guessing the mean (error 1)
