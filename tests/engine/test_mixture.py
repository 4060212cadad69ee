"""Mixtures in a VAE's latent space: the training set's modes, stored beside the checkpoint, browsed one at a time."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors import safe_open

from engine import api

from .helpers import digits_project, tiny


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """One intra-op thread: on a busy two-core machine it trains several times faster than two (DESIGN.md)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def project(tmp_path_factory, small_digits_dir):
    project = digits_project(tmp_path_factory.mktemp("mixture"), small_digits_dir)
    api.train(project, tiny("vae", steps=60, checkpoint_every=60))
    return project


@pytest.fixture(scope="module")
def mixture(project):
    return api.mixture_for(project.root)


@pytest.fixture(scope="module")
def encoded(project):
    """(latents, images) of the training split, as the mixture saw them."""
    model = api.open_model(project.root)
    data = api.load_dataset(project, model.size)
    images = data.rgb(np.flatnonzero(~data.split))
    return model.encode(images), images


def test_the_mixture_is_stored_beside_the_newest_checkpoint_as_json_and_safetensors(project, mixture):
    checkpoint = project.runs()[-1] / "checkpoints" / "step-000060.json"
    stem = checkpoint.parent / "mixture-step-000060"
    record = json.loads((stem.parent / f"{stem.name}.json").read_text())
    assert record["kind"] == "mixture" and record["components"] == mixture.components
    assert record["model_id"] == api.open_model(project.root).id
    with safe_open(str(stem.parent / f"{stem.name}.safetensors"), framework="numpy") as f:
        assert {"weights", "means", "covariances", "precisions_cholesky"} <= set(f.keys())
    assert not [p for p in checkpoint.parent.iterdir() if p.suffix in (".pkl", ".joblib", ".pickle")]
    again = api.load_mixture(stem)
    for name in ("weights", "means", "covariances", "precisions_cholesky"):
        np.testing.assert_allclose(getattr(again, name), getattr(mixture, name))
    assert api.mixture_for(project.root).means.tobytes() == mixture.means.tobytes()  # loaded, not refitted


def test_bic_chooses_the_number_of_components_within_the_range(mixture, encoded):
    latents, _ = encoded
    assert sorted(mixture.bic) == list(range(1, min(12, len(latents) // 20) + 1))
    assert mixture.components == min(mixture.bic, key=mixture.bic.get) and mixture.components >= 2
    assert np.isclose(mixture.weights.sum(), 1)


def test_sampling_one_component_lands_among_its_own_training_members(mixture, encoded):
    latents, _ = encoded
    members = mixture.members(latents)
    for component in range(mixture.components):
        own, others = latents[members == component], latents[members != component]
        if len(own) < 5:
            continue
        samples = mixture.sample(200, component=component, seed=component)
        to_own = np.linalg.norm(samples[:, None] - own[None], axis=-1).mean()
        to_others = np.linalg.norm(samples[:, None] - others[None], axis=-1).mean()
        assert to_own < to_others, (component, to_own, to_others)


def test_decoded_component_samples_look_like_that_components_pictures(project, mixture, encoded):
    latents, images = encoded
    members = mixture.members(latents)
    biggest = np.bincount(members).argmax()
    drawn = api.open_model(project.root).render(mixture.sample(64, component=int(biggest), seed=1)).astype(float)
    mean_own = images[members == biggest].astype(float).mean(0)
    mean_others = images[members != biggest].astype(float).mean(0)
    assert np.abs(drawn - mean_own).mean() < np.abs(drawn - mean_others).mean()


def test_sampling_is_seeded_and_follows_the_weights(mixture):
    a, b = mixture.sample(2000, seed=3), mixture.sample(2000, seed=3)
    assert a.dtype == np.float32 and np.array_equal(a, b)
    assert not np.array_equal(a, mixture.sample(2000, seed=4))
    shares = np.bincount(mixture.members(a), minlength=mixture.components) / len(a)
    assert np.abs(shares - mixture.weights).max() < 0.08
    with pytest.raises(ValueError, match=f"this mixture has {mixture.components}"):
        mixture.sample(1, component=mixture.components)


def test_a_broken_or_foreign_mixture_file_is_refused(tmp_path, mixture):
    stem = tmp_path / "m"
    mixture.save(stem)
    (tmp_path / "m.safetensors").write_bytes((tmp_path / "m.safetensors").read_bytes()[:100])
    with pytest.raises(api.FileRefused, match="missing or incomplete"):
        api.load_mixture(stem)
    (tmp_path / "other.json").write_text(json.dumps({"kind": "model"}))
    with pytest.raises(api.FileRefused, match="not a Latent Studio mixture"):
        api.load_mixture(tmp_path / "other")


def test_models_without_an_encoder_have_no_mixture(tmp_path, small_digits_dir):
    project = digits_project(tmp_path / "p", small_digits_dir)
    api.train(project, tiny("dcgan", steps=2))
    with pytest.raises(ValueError, match="has no encoder"):
        api.mixture_for(project.root)


def test_a_conditional_vae_mixture_encodes_with_the_labels(tmp_path, small_digits_dir):
    project = digits_project(tmp_path / "p", small_digits_dir)
    api.train(project, tiny("cvae", steps=10))
    mixture = api.mixture_for(project.root, max_components=3)
    model = api.open_model(project.root)
    assert 1 <= mixture.components <= 3 and mixture.latent_dim == model.latent_dim
    assert model.render(mixture.sample(4, component=0), "5").shape == (4, 16, 16, 3)
