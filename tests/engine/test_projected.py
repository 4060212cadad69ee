"""Projected FastGAN stories: its heads learn quickly on the frozen features, resumes exactly, never trains or saves
the frozen feature network, and shows transparent pictures to that network over a grey drawn per image."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engine import api, checkpoints, features
from engine.models.projected import on_random_grey
from engine.pixels import to_unit

from .helpers import digits_project, tiny


@pytest.fixture(scope="module")
def project(tmp_path_factory, small_digits_dir):
    return digits_project(tmp_path_factory.mktemp("projected"), small_digits_dir)


def test_projected_resumes_exactly_and_keeps_the_frozen_network_out_of_its_files(project):
    frozen = {k: v.clone() for k, v in features.network("cpu").state_dict().items()}
    straight = api.train(project, tiny("projected", steps=8, checkpoint_every=8), new=True)
    control = api.Control()

    def stop_at_5(event):
        if isinstance(event, api.StepDone) and event.step == 5:
            control.request_stop()

    cfg = tiny("projected", steps=8, checkpoint_every=1000)
    first = api.train(project, cfg, on_event=stop_at_5, control=control, new=True)
    assert first.reason == "stopped" and first.step == 5
    resumed = api.train(project, cfg)
    _, a = checkpoints.read(straight.checkpoint)
    _, b = checkpoints.read(resumed.checkpoint)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6, msg=key)
    # the discriminator holds its heads and fixed projections, not the 3.4 M weights of the feature network
    disc = sum(t.numel() for k, t in a.items() if k.startswith("net.discriminator."))
    assert 0 < disc < 1_000_000 and not any("_blocks" in k for k in a)
    for key, value in features.network("cpu").state_dict().items():
        assert torch.equal(value, frozen[key]), key  # frozen: never stepped, its BatchNorm statistics never moved


def test_heads_on_frozen_features_learn_to_tell_real_digits_from_samples_in_a_few_dozen_steps(project):
    from engine.models.projected import ProjectedLearner

    data = api.load_dataset(project, 16)
    real = to_unit(data.rgb(np.arange(len(data.hashes))))
    torch.manual_seed(0)
    learner = ProjectedLearner(tiny("projected", aspect="1:1"), torch.device("cpu"))
    gen = torch.Generator().manual_seed(0)
    D, aug = learner.nets["discriminator"], dict(gen=gen, strength=1.0, flip=False, shard=(0, 1))

    def margin() -> float:  # how much higher the heads score real digits than the generator's samples
        with torch.no_grad():
            fake = learner.nets["generator"](learner.latents(64, gen, (0, 1)))
            scores = [sum(logits.mean() for logits in D(*learner._seen(x, gen, aug, (0, 1))))
                      for x in (real[:64], fake)]
        return float(scores[0] - scores[1])

    before = margin()
    for step in range(30):
        learner.step({"image": real[step * 16 % 96:][:16]}, gen, None, (0, 1))
    after = margin()
    assert after > before + 1.0, (before, after)


def test_transparent_pictures_reach_the_feature_network_over_a_grey_per_image():
    opaque = torch.rand(3, 3, 8, 8) * 2 - 1
    rgba = torch.cat([opaque, torch.ones(3, 1, 8, 8)], 1)
    rgba[1] = -1  # fully transparent: premultiplied colour and alpha both 0 (-1 in [-1, 1])
    out = on_random_grey(rgba, torch.Generator().manual_seed(0), (0, 1))
    assert out.shape == (3, 3, 8, 8)
    torch.testing.assert_close(out[0], opaque[0])  # opaque pixels keep their colour
    grey = out[1]
    assert grey.std() < 1e-6 and -1 < grey.mean() < 1  # one grey over the whole transparent picture
    again = on_random_grey(rgba, torch.Generator().manual_seed(1), (0, 1))[1]
    assert not torch.allclose(grey, again)  # drawn, not fixed: no background can be learned as part of the shape
    assert on_random_grey(opaque, torch.Generator(), (0, 1)) is opaque  # colour pictures pass through


def test_projected_is_the_default_from_64_px_and_dcgan_below():
    assert api.default_family(64) == "projected" and api.default_family(256) == "projected"
    assert api.default_family(32) == "dcgan"
    assert "projected" in api.recommended_families(0)
