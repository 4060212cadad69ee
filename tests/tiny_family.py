"""A model family that exists only in the tests: a linear generator that learns the mean and spread of the
training pixels (moment matching). It uses nothing but the family contract, so registering it with one line
(`FAMILIES["moments"] = Moments`) must be enough for it to train, resume, generate and appear in the app."""
from __future__ import annotations

import torch
from torch import nn

from engine.models.base import Learner
from engine.models.family import Capability, Family, FamilyInfo


class LinearGenerator(nn.Module):
    def __init__(self, latent_dim: int, size: int):
        super().__init__()
        self.size = size
        self.net = nn.Linear(latent_dim, 3 * size * size)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return torch.tanh(self.net(z)).view(-1, 3, self.size, self.size)


class MomentsLearner(Learner):
    """Matches the per-pixel mean and standard deviation of a batch of samples to those of the real batch."""

    def __init__(self, cfg, device, distributed=False):
        super().__init__(cfg, device, distributed)
        g = LinearGenerator(cfg.latent_dim, cfg.size)
        self.nets = {"generator": self.wrap(g)}
        self.opts = {"generator": torch.optim.Adam(g.parameters(), lr=cfg.lr)}
        self.ema = self.make_ema(g)

    def step(self, batch, gen, amp_dtype, shard):
        real = batch["image"]
        z = torch.randn(real.shape[0], self.cfg.latent_dim, generator=gen, device=self.device)
        fake = self.nets["generator"](z)
        loss = (fake.mean(0) - real.mean(0)).square().mean() + (fake.std(0) - real.std(0)).square().mean()
        self.opts["generator"].zero_grad(set_to_none=True)
        self.backward(loss)
        self.opt_step("generator")
        self.update_ema(self.nets["generator"])
        return {"moments": loss.detach()}


class Moments(Family):
    info = FamilyInfo(name="moments", title="Moment matcher (tests)",
                      description="A linear generator that matches pixel statistics; defined by the tests.",
                      capabilities=frozenset({Capability.CONTINUOUS_LATENT}))
    Learner = MomentsLearner

    @staticmethod
    def preset(n_images: int, size: int, device_kind: str) -> dict:
        return {"latent_dim": 8, "width": 1, "batch": 16, "lr": 1e-2}

    @staticmethod
    def build_sampler(cfg) -> nn.Module:
        return LinearGenerator(cfg.latent_dim, cfg.size)
