"""DCGAN (Radford et al. 2016): transposed-convolution generator, strided-convolution discriminator.

Trained with the non-saturating loss on DiffAugmented images (Zhao et al. 2020): from 1,000 pictures up as often as
ADA's heuristic asks (adversarial.AdaptiveAugment, starting from none), below that every image every time. 1,797 real
digits at 32 px for 4 CPU minutes came out far better under ADA than augmented every time (bench/digits.py); 989
crawl-tiles sprites the other way round (KID in random-weight features 41 under ADA, 15 augmented every time,
bench/quality.py): this discriminator is too weak in minutes for ADA's overfitting heuristic to call for
augmentation, yet a small set gains from it. The discriminator has no BatchNorm: it is called on real and generated
batches separately, and under DistributedDataParallel batch statistics in a twice-called network are a source of rank
divergence. The generator keeps BatchNorm (DCGAN §3).

A lazy R1 on the augmented reals (Mescheder et al. 2018; option `r1`, as in the conditional GAN) is there but off by
default: at weight 3, 4 minutes, three seeds, it split the judges. Digits (bench/digits.py): Fréchet 20.1 ± 3.1
against 25.3 ± 1.5 off, better on every seed. 989 crawl-tiles sprites at 32 px (bench/quality.py): KID x 10^3 in
random-weight features 5.0 ± 1.5 against 12.9 ± 2.2, but in ImageNet features 372 ± 51 against 296 ± 54, worse on
every seed; both sets of samples were noisy patches by eye. It cost 13% of the steps on both sets.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..augment import diff_augment
from .adversarial import ADA_TARGET, AdaptiveAugment, GANLearner, ResumesAdaptiveAugment, lazy_r1
from .base import channels, chunks, dcgan_init, levels, preset_width, unwrapped
from .family import Capability, Family, FamilyInfo, Milestone, first_grid, image_channels


class Generator(nn.Module):
    def __init__(self, latent_dim: int, width: int, size: int, image_channels: int = 3, grid=(4, 4)):
        super().__init__()
        self.latent_dim, self.size = latent_dim, size
        n = levels(size)
        c0 = channels(width, 0, n)
        # latent_dim x 1 x 1 -> c0 x 4 x 4 (the first grid: 2 x 4 for a 2:1 model)
        layers = [nn.ConvTranspose2d(latent_dim, c0, grid, 1, 0, bias=False), nn.BatchNorm2d(c0), nn.ReLU(True)]
        for level in range(1, n):
            # state size. c_in x 2^(level+1) -> c_out x 2^(level+2)
            c_in, c_out = channels(width, level - 1, n), channels(width, level, n)
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(channels(width, n - 1, n), image_channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(z.view(z.shape[0], -1, 1, 1))

    def early_features(self, z: torch.Tensor) -> torch.Tensor:
        """Activations of the first block (c0 x 4 x 4), where GANSpace finds meaningful directions."""
        return self.net[:3](z.view(z.shape[0], -1, 1, 1)).flatten(1)


class Discriminator(nn.Module):
    def __init__(self, width: int, size: int, image_channels: int = 3, grid=(4, 4)):
        super().__init__()
        n = levels(size)
        layers = []
        c_in = image_channels
        for level in reversed(range(n)):
            # state size. c_in x 2^(level+3) -> c_out x 2^(level+2)
            c_out = channels(width, level, n)
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1), nn.LeakyReLU(0.2, True)]
            c_in = c_out
        layers += [nn.Conv2d(c_in, 1, grid, 1, 0)]  # c0 x 4 x 4 (the first grid) -> 1 x 1 x 1
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(x).flatten()


class DCGANLearner(ResumesAdaptiveAugment, GANLearner):
    def __init__(self, cfg, device, distributed=False):
        super().__init__(cfg, device, DCGAN.sampler(cfg),
                         Discriminator(cfg.width, cfg.size, image_channels(cfg), first_grid(cfg)), distributed)
        self.ada = AdaptiveAugment(device, cfg.ada_target)

    def step(self, batch, gen, amp_dtype, shard):
        G, D = self.nets["generator"], self.nets["discriminator"]
        real = batch["image"]
        z = self.latents(real.shape[0], gen, shard)
        r1_now = self.r1_due(self.cfg.r1)
        aug = dict(gen=gen, strength=self.ada.p, flip=self.cfg.flip, shard=shard)

        # discriminator: real up, fake down (non-saturating loss, Goodfellow et al. 2014 §3), and a lazy R1 on the
        # augmented reals
        self.opts["discriminator"].zero_grad(set_to_none=True)
        d_total = torch.zeros((), device=self.device)
        fakes = []
        for x, zz in zip(chunks(real, self.micro_batches), chunks(z, self.micro_batches)):
            with self.autocast(amp_dtype):
                fake = G(zz)
                fakes.append(fake)
                x_aug = diff_augment(x, **aug)
                real_logits = D(x_aug)
                loss = F.softplus(-real_logits).mean() + F.softplus(D(diff_augment(fake.detach(), **aug))).mean()
            d_total += loss.detach() / self.micro_batches
            if r1_now:
                loss = loss + lazy_r1(unwrapped(D), x_aug, self.cfg.r1)
            self.backward(loss)
            self.ada.observe(real_logits)
        self.opt_step("discriminator")

        # generator: make D call the fakes real
        g_total = self.generator_pass(fakes, lambda fake: F.softplus(-D(diff_augment(fake, **aug))).mean(),
                                      amp_dtype)
        self.ada.update(real.shape[0] * shard[1], self.distributed)
        return {"d": d_total, "g": g_total, "p": self.ada.p.clone()}


class DCGAN(Family):
    info = FamilyInfo(
        name="dcgan",
        title="DCGAN",
        description="A fast, classic GAN. Sharp images from a few thousand pictures; the quickest to try.",
        capabilities=frozenset({Capability.CONTINUOUS_LATENT, Capability.TRUNCATION, Capability.LAYER_FEATURES,
                                Capability.ANY_ASPECT}),
    )
    Learner = DCGANLearner
    options = frozenset({"ada_target", "r1"})
    choices = {"ada_target": ADA_TARGET, "r1": 0.0}
    before = {"r1": 0.0}  # runs saved before R1 existed here had none
    curves = {64: (Milestone(47_200, 536, "ragged blobs in one or two colours"),
                   Milestone(236_000, 219, "rough silhouettes in flat colours and faint grey ghosts, nothing "
                                           "recognisable yet"))}

    @staticmethod
    def preset(n_images: int, size: int, device_kind: str) -> dict:
        """Networks sized to the data: small sets and CPUs get narrow networks that learn in minutes. On a CPU at
        32 px and below, width 16 whatever the set: 4 minutes on the 1,797 digits made better digits at 16 than at
        32 (three times the steps) or 8 (bench/digits.py). Augmentation as the module's docstring says."""
        width = preset_width(n_images, size, device_kind)
        if device_kind == "cpu" and size <= 32:
            width = min(width, 16)
        return {"latent_dim": 64 if n_images < 5000 else 128, "width": width,
                "batch": 64 if device_kind != "cpu" else 32, "lr": 2e-4,
                "ada_target": ADA_TARGET if n_images >= 1000 else 0.0}

    @staticmethod
    def build_sampler(cfg) -> nn.Module:
        return Generator(cfg.latent_dim, cfg.width, cfg.size, image_channels(cfg), first_grid(cfg))
