"""Projection on real digits that neither the models nor the judge saw: the digit survives the trip into the
latent space and out, and the point found is much nearer than chance."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine import api
from engine.sampling import latents_for_seed

from ..digit_judge import judge_split, read_digits
from ..digits import write_digits
from .family_fixtures import FIXTURES
from .helpers import cli, digits_project, tiny

LEARN, UNSEEN = judge_split()


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """600 digits to train on (the judge's side of the split) and 40 that no model or judge has seen."""
    root = tmp_path_factory.mktemp("projection")
    return write_digits(root / "train", indices=LEARN[:600]), write_digits(root / "unseen", indices=UNSEEN[:40])


def trained(tmp_path_factory, folders, family: str, steps: int, size: int = 32, **options):
    project = digits_project(tmp_path_factory.mktemp(family), folders[0], size=size)
    api.train(project, tiny(family, size=size, steps=steps, checkpoint_every=steps, sample_every=steps, kid_every=0,
                            **options))
    return api.open_model(project.root)


def unseen(folders, model):
    names, images, rejected = api.load_images([folders[1]], model.size, background=(0, 0, 0))
    assert not rejected
    return images, np.array([int(Path(name).parent.name) for name in names])


def best_of_random(model, images, count: int = 1000) -> np.ndarray:
    """Per image, the error of the nearest of `count` random points: what chance does."""
    drawn = model.render(latents_for_seed(123, model.latent_dim, count)).astype(np.float32) / 127.5 - 1
    x = images.astype(np.float32) / 127.5 - 1
    return np.array([((drawn - xi[None]) ** 2).reshape(count, -1).mean(1).min() for xi in x])


def test_the_held_out_judge_is_trustworthy(folders):
    names, images, _ = api.load_images([folders[1]], 32, background=(0, 0, 0))
    truth = np.array([int(Path(name).parent.name) for name in names])
    every = write_digits(folders[1].parent / "all-unseen", indices=UNSEEN)
    names, all_images, _ = api.load_images([every], 32, background=(0, 0, 0))
    all_truth = np.array([int(Path(name).parent.name) for name in names])
    accuracy = (read_digits(all_images) == all_truth).mean()
    print(f"\nheld-out judge on {len(all_truth)} unseen real digits after the 32 px trip: {accuracy:.3f}")
    assert accuracy >= 0.97 and (read_digits(images) == truth).mean() >= 0.97


def test_a_vae_projection_keeps_the_digit_and_beats_chance(tmp_path_factory, folders):
    model = trained(tmp_path_factory, folders, "vae", 300)
    images, truth = unseen(folders, model)
    found = api.project(model, images)
    read = (read_digits(np.stack([p.image for p in found])) == truth).mean()
    errors = np.array([p.error for p in found])
    better = (errors <= 0.7 * best_of_random(model, images)).mean()
    print(f"\nVAE: the judge reads {read:.0%} of projections right; {better:.0%} are 30% nearer than chance")
    assert read >= 0.8 and better >= 0.9


def test_a_conditional_vae_tries_every_label_and_keeps_the_best(tmp_path_factory, folders):
    model = trained(tmp_path_factory, folders, "cvae", 300)
    images, truth = unseen(folders, model)
    found = api.project(model, images[:12])
    assert all(p.label is not None for p in found)
    fixed = api.project(model, images[:12], labels=["3"] * 12)
    assert all(p.label == model.label_index("3") for p in fixed)
    assert all(a.error <= b.error + 1e-6 for a, b in zip(found, fixed))  # the best label is at least as near


def test_a_vq_vae_projection_draws_exactly_the_codes_it_encodes(tmp_path):
    model = api.open_model(next((FIXTURES / "vqvae").glob("step-*.json")))
    source = write_digits(tmp_path / "d", indices=UNSEEN[:6], px=16)
    _, images, _ = api.load_images([source], model.size, background=(0, 0, 0))
    found = api.project(model, images)
    np.testing.assert_array_equal(np.stack([p.image for p in found]), api.reconstruct(model, images))


def test_a_gan_projection_optimises_toward_the_image_and_can_be_cancelled(tmp_path_factory, folders, monkeypatch):
    # the model these thresholds were set on: fixed augmentation, as DCGAN trained before it had ADA
    model = trained(tmp_path_factory, folders, "dcgan", 300, ada_target=0.0)
    images, _ = unseen(folders, model)
    images = images[:6]
    events = []
    found = api.project(model, images, steps=30, on_event=events.append)
    errors = np.array([p.error for p in found])
    assert np.median(errors / best_of_random(model, images, 200)) < 0.95
    assert events and events[-1].done == events[-1].total == 6
    again = api.project(model, images, steps=30)
    assert [p.error for p in again] == [p.error for p in found]  # the same starts: the same points
    control = api.Control()
    control.request_stop()
    with pytest.raises(api.Cancelled):
        api.project(model, images, control=control)


def test_the_project_command_writes_one_png_per_image_and_skips_bad_files(tmp_path_factory, folders, tmp_path):
    model_dir = digits_project(tmp_path_factory.mktemp("cli"), folders[0], size=16)
    api.train(model_dir, tiny("vae", steps=20))
    inputs = tmp_path / "in"
    write_digits(inputs, indices=UNSEEN[:3])
    (inputs / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    done = cli("project", str(model_dir.root), str(inputs), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    written = sorted(p.name for p in (tmp_path / "out").glob("*.png"))
    assert written == sorted(f"digit-{i:04d}.png" for i in UNSEEN[:3])
    assert len([line for line in done.stdout.splitlines() if ": error " in line]) == 3
    assert "skipped" in done.stderr and "broken.png" in done.stderr
    record = api.read_png_latent(tmp_path / "out" / written[0])
    assert record["projected_from"].endswith(written[0]) and len(record["latent"]) == 16


@pytest.mark.slow
def test_a_trained_gan_projection_keeps_the_digit_and_beats_chance(tmp_path_factory, folders):
    """A DCGAN as the preset sizes it (the tiny test networks cannot draw most digits closely), 1,500 steps."""
    project = digits_project(tmp_path_factory.mktemp("gan"), folders[0], size=32)
    api.train(project, api.TrainConfig(family="dcgan", size=32, steps=1500, device="cpu", checkpoint_every=1500,
                                       sample_every=1500, kid_every=0))
    model = api.open_model(project.root)
    images, truth = unseen(folders, model)
    found = api.project(model, images)
    read = (read_digits(np.stack([p.image for p in found])) == truth).mean()
    better = (np.array([p.error for p in found]) <= 0.7 * best_of_random(model, images)).mean()
    print(f"\nDCGAN: the judge reads {read:.0%} of projections right; {better:.0%} are 30% nearer than chance")
    assert read >= 0.6 and better >= 0.9
