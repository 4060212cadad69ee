"""VQ-VAE + Transformer stories: one run trains both stages, samples are reproducible and steerable, a resumed run
crosses the stage boundary exactly, and a collapsed codebook is reported."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from engine import api, checkpoints, cli, features, sample_quality, training_data
from engine.models.vqvae import settings
from engine.training import Trainer

from ..digits import write_digits
from .helpers import cli as run_cli
from .helpers import digits_project, tiny

STEPS = 200  # 120 for the VQ-VAE, 80 for the prior


def vq(**overrides) -> api.TrainConfig:
    return tiny("vqvae", **dict(dict(lr=1e-3), **overrides))


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny networks on a shared two-core machine run many times faster on one thread (DESIGN.md, Threads)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def project(tmp_path_factory, small_digits_dir):
    return digits_project(tmp_path_factory.mktemp("vqvae"), small_digits_dir)


@pytest.fixture(scope="module")
def trained(project):
    """(run folder, events) of one finished run, shared by the tests that only read it. A KID is asked for every
    50 steps (a small one: 64 samples at 64 px), and a checkpoint comes with each."""
    events = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(features, "INPUT_SIZE", 64)
        patch.setattr(sample_quality, "KID_SAMPLES", 64)
        patch.setattr(training_data, "KID_REAL", 64)
        result = api.train(project, vq(steps=STEPS, checkpoint_every=100, sample_every=100, log_every=10,
                                       kid_every=50), on_event=events.append, new=True)
    assert result.reason == "done" and result.step == STEPS
    return result.checkpoint.parent.parent, events


def images_of(paths) -> list[np.ndarray]:
    return [np.asarray(Image.open(p).convert("RGB")) for p in sorted(paths)]


def test_one_run_trains_the_vq_vae_then_the_prior_and_logs_each_stage(trained):
    run, events = trained
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    log = [row for row in log if "lr" in row]  # the loss reports (KID rows and notes aside)
    first, second = [row for row in log if row["step"] <= 120], [row for row in log if row["step"] > 120]
    assert all({"recon", "commitment", "perplexity_share", "usage"} <= row.keys() for row in first)
    assert all("prior_ce" in row and "recon" not in row for row in second)
    assert first[-1]["recon"] < first[0]["recon"] and second[-1]["prior_ce"] < second[0]["prior_ce"]
    assert first[-1]["usage"] >= 0.25
    told = [e.text for e in events if isinstance(e, api.Message)]
    assert any("stage 2 of 2" in text for text in told), told
    assert not any(e.level == "warning" for e in events if isinstance(e, api.Message))
    record = json.loads(checkpoints.latest(run).read_text())
    assert record["extra"] == {"steps": STEPS, "stage": 2, "collapsed": False}


def test_the_prior_stage_is_judged_by_its_own_held_out_measure_and_kid_waits_for_the_prior(trained):
    run, events = trained
    assert [e.step for e in events if isinstance(e, api.QualityMeasured)] == [150, 200]  # the prior starts at 120
    measures = {checkpoints.step_of(p): json.loads(p.read_text()) for p in checkpoints.complete(run)}
    assert {step: r["measure"] for step, r in measures.items()} == {
        100: "held-out reconstruction error", 150: "held-out prior cross-entropy",
        200: "held-out prior cross-entropy"}  # step 50 was pruned: no longer the best of the newest measure
    assert 0 < measures[200]["quality"] < np.log(settings(vq()).codebook_size)  # the prior beats guessing
    assert checkpoints.step_of(checkpoints.best(run)) in (150, 200)  # the best holds a trained prior


def test_reconstructions_of_held_out_digits_beat_the_mean_image_with_much_of_the_codebook_in_use(trained, project):
    run, _ = trained
    model = api.open_model(run)
    data = api.load_dataset(project, 16)
    images = data.rgb()
    train, holdout = images[~data.split], images[data.split]
    assert len(holdout) >= 10

    def floats(x):
        return np.asarray(x, np.float32) / 127.5 - 1

    mean_image_error = ((floats(holdout) - floats(train).mean(0)) ** 2).mean()
    recon = api.reconstruct(model, holdout)
    assert recon.shape == holdout.shape and recon.dtype == np.uint8
    error = ((floats(recon) - floats(holdout)) ** 2).mean()
    assert error <= 0.5 * mean_image_error, (error, mean_image_error)

    x = torch.from_numpy(floats(train)).permute(0, 3, 1, 2)
    with torch.no_grad():
        codes = model.net.vqvae.encode_codes(x)
    used = codes.unique().numel() / settings(model.cfg).codebook_size
    assert used >= 0.25, used


def test_generate_writes_pngs_that_the_same_seed_and_their_latent_make_again(trained, tmp_path):
    run, _ = trained
    result = run_cli("generate", str(run), "--count", "4", "--seed", "5", "--out", str(tmp_path / "a"))
    assert result.returncode == 0, result.stderr
    assert cli.main(["generate", str(run), "--count", "4", "--seed", "5", "--out", str(tmp_path / "b")]) == 0
    a, b = sorted((tmp_path / "a").glob("*.png")), sorted((tmp_path / "b").glob("*.png"))
    assert len(a) == 4 and all(np.array_equal(x, y) for x, y in zip(images_of(a), images_of(b)))
    assert len({x.tobytes() for x in images_of(a)}) > 1

    model = api.open_model(run)
    for path, pixels in zip(a, images_of(a)):
        record = api.read_png_latent(path)
        assert record["temperature"] == 1.0 and record["top_k"] == 0
        assert np.array_equal(model.render(record["latent"][None])[0], pixels)

    assert cli.main(["generate", str(run), "--count", "2", "--seed", "5", "--temperature", "0.5", "--top-k", "3",
                     "--out", str(tmp_path / "c")]) == 0
    model.set_sampling(temperature=0.5, top_k=3)
    for path in sorted((tmp_path / "c").glob("*.png")):
        record = api.read_png_latent(path)
        assert record["temperature"] == 0.5 and record["top_k"] == 3
        assert np.array_equal(model.render(record["latent"][None])[0], images_of([path])[0])


def test_temperature_and_top_k_change_samples_and_top_1_ignores_the_latent(trained):
    model = api.open_model(trained[0])
    z = api.latents_for_seed(11, model.latent_dim, 6)
    plain = model.render(z)
    model.set_sampling(temperature=2.0)
    assert not np.array_equal(model.render(z), plain)
    model.set_sampling(temperature=1.0, top_k=2)
    assert not np.array_equal(model.render(z), plain)
    model.set_sampling(top_k=1)
    greedy = model.render(np.concatenate([z, -z, 3 * z]))
    assert all(np.array_equal(image, greedy[0]) for image in greedy)
    with pytest.raises(ValueError, match="temperature"):
        model.set_sampling(temperature=0)


def weights_of(checkpoint_json) -> dict:
    _, tensors = checkpoints.read(checkpoint_json)
    return {k: v for k, v in tensors.items() if k.startswith(("net.", "ema.", "opt.", "rng."))}


def test_stopping_before_the_prior_and_resuming_past_it_matches_an_uninterrupted_run(project):
    cfg = dict(steps=40, log_every=5)  # the prior starts at step 24
    straight = api.train(project, vq(checkpoint_every=40, **cfg), new=True)
    control = api.Control()

    def stop_at_20(event):
        if isinstance(event, api.StepDone) and event.step == 20:
            control.request_stop()

    first = api.train(project, vq(checkpoint_every=1000, **cfg), on_event=stop_at_20, control=control, new=True)
    assert first.reason == "stopped" and first.step == 20
    assert json.loads(first.checkpoint.read_text())["extra"]["stage"] == 1
    resumed = api.train(project, vq(checkpoint_every=1000, **cfg))
    assert resumed.step == 40 and json.loads(resumed.checkpoint.read_text())["extra"]["stage"] == 2
    a, b = weights_of(straight.checkpoint), weights_of(resumed.checkpoint)
    assert a.keys() == b.keys() and any(k.startswith("opt.prior.") for k in a)
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6, msg=key)


def test_a_checkpoint_of_another_family_is_refused_with_its_family_named(tmp_path, trained):
    project = digits_project(tmp_path / "p", write_digits(tmp_path / "digits", per_class=2, px=16))
    dcgan = api.train(project, tiny(steps=2, checkpoint_every=2, sample_every=2), new=True)
    with pytest.raises(api.FileRefused, match="holds a dcgan model, not vqvae"):
        Trainer(project, vq(steps=4)).run(dcgan.checkpoint)
    model = api.open_model(trained[0])
    with pytest.raises(api.FileRefused, match="do not fit a vqvae"):
        model.load_snapshot(api.open_model(dcgan.checkpoint).net.state_dict())


def collapse_run(project, restarts: bool) -> list[api.Message]:
    """A run whose codebook starts with every code but one far out of the encoder's reach."""
    events = []
    cfg = vq(steps=70, log_every=5, checkpoint_every=1000, sample_every=1000)  # the prior starts at step 42
    trainer = Trainer(project, cfg, on_event=events.append)
    q = trainer.learner.quantizer
    far = torch.arange(len(q.embedding)) > 0
    q.reseed(far, torch.full_like(q.embedding, 1e3), 0)
    if not restarts:
        q.restart_after = 0
    trainer.run(None)
    return [e for e in events if isinstance(e, api.Message)]


def test_a_collapsed_codebook_is_reported_and_restarts_bring_it_back(project):
    stuck = collapse_run(project, restarts=False)
    warnings = [m.text for m in stuck if m.level == "warning"]
    assert len(warnings) == 1 and "collapsed: only 1 of 64 codes" in warnings[0], stuck
    assert any("frozen with 1 of 64 codes" in m.text for m in stuck)

    recovered = collapse_run(project, restarts=True)
    assert [m.level for m in recovered if "collapsed" in m.text] == ["warning"]
    assert any(m.level == "info" and "recovered" in m.text for m in recovered), recovered
