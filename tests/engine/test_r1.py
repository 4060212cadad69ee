"""R1 (Mescheder et al. 2018) keeps a discriminator smooth at the real images: the DCGAN-style families on real digits,
and which weight each family takes when a run leaves it to the family."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from engine import api
from engine.models.adversarial import r1_penalty
from engine.models.cgan import CGANLearner
from engine.models.dcgan import DCGANLearner
from engine.train_config import settle

from .helpers import digits_project, tiny


@pytest.fixture(scope="module")
def project(tmp_path_factory, small_digits_dir):
    return digits_project(tmp_path_factory.mktemp("r1"), small_digits_dir)


@pytest.mark.parametrize("family, Learner", [("cgan", CGANLearner), ("dcgan", DCGANLearner)])
def test_r1_keeps_the_discriminator_smooth_on_real_digits(project, family, Learner):
    """R1 penalises the discriminator's gradient on real images every fourth step: the same steps on real digits
    leave that gradient far smaller than without it."""
    cfg = api.suggest_config(project, family, device="cpu", width=8, latent_dim=16, batch=16, lr=2e-3,
                             precision="fp32", **({"num_classes": 10} if family == "cgan" else {}))
    assert cfg.r1 == {"cgan": 3.0, "dcgan": 0.0}[family]  # the family's default (see its docstring)
    data = api.load_dataset(project, cfg.size)
    images = torch.as_tensor(data.rgb(np.arange(64))).permute(0, 3, 1, 2).float() / 127.5 - 1
    labels = torch.as_tensor(data.labels[:64]).long() if family == "cgan" else None
    slope = {}
    for gamma in (0.0, 10.0):
        torch.manual_seed(0)
        learner = Learner(replace(cfg, r1=gamma), torch.device("cpu"))
        gen = torch.Generator().manual_seed(0)
        for step in range(12):
            learner.updates = step
            pick = torch.randint(64, (16,), generator=gen)
            batch = {"image": images[pick], **({"label": labels[pick]} if labels is not None else {})}
            learner.step(batch, gen, None, (0, 1))
        slope[gamma] = float(r1_penalty(learner.nets["discriminator"], images, labels).detach())
    assert slope[10.0] < 0.5 * slope[0.0], slope


def test_each_family_takes_its_own_r1_weight_and_runs_saved_before_it_had_none():
    assert settle(tiny("cgan")).r1 == 3.0 and settle(tiny("dcgan")).r1 == 0.0
    assert settle(tiny("dcgan", r1=3.0)).r1 == 3.0
    for family in ("cgan", "dcgan"):
        saved = {k: v for k, v in vars(settle(tiny(family))).items() if k != "r1"}
        assert api.TrainConfig.from_dict(saved).r1 == 0.0, family
    assert settle(tiny("fastgan")).r1 == 0.0 and settle(tiny("stylegan")).r1 is None  # off; StyleGAN's heuristic
