"""FastGAN (Liu et al. 2021, "Towards Faster and Stabilized GAN Training for High-fidelity Few-shot Image
Synthesis"): the default family from 64 px up.

Why FastGAN rather than a StyleGAN-lite: it was designed for exactly our case, 100-1,000 images and one modest
device (the paper trains 1024 px models on one RTX 2080 in hours, where StyleGAN2 needs days), and its two ideas are
cheap: skip-layer excitation gives the generator a short path from coarse to fine layers, and a discriminator that
must also reconstruct its input from its own features cannot get away with memorising the few images it is shown.
A StyleGAN needs a mapping network, modulated convolutions, path-length and lazy R1 regularisation to be stable, and
is many times slower per image on a CPU for no gain at these sizes.

What differs from the paper, and why:
- The generator has no per-pixel noise injection: a latent must map to one image, or the explorer's sliders would
  flicker and a PNG's stored latent would not reproduce it. Spectral norm is on the discriminator only (the
  generator keeps BatchNorm and its EMA copy stays a plain network for sampling and export).
- The discriminator has no BatchNorm (called on real, fake and penalty batches separately, and averaged across ranks
  under DDP, batch statistics make it ill-defined and gradient penalties meaningless) and no second 128 px branch;
  the reconstruction loss is mean squared error, not LPIPS, which would need another pretrained network.
- Augmentation is DiffAugment with an adaptive strength p (ADA, see adversarial.AdaptiveAugment), logged and
  checkpointed.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..augment import diff_augment
from .adversarial import (ADA_TARGET, GP_WEIGHT, AdaptiveAugment, GANLearner, check_loss, d_loss,
                          g_loss, gradient_penalty, lazy_r1)
from ..distributed import share
from .base import channels, chunks, dcgan_init, levels, unwrapped
from .family import Capability, Family, FamilyInfo, Milestone, first_grid, image_channels


class SkipLayerExcitation(nn.Module):
    """SLE (§3.1, eq. 1): a coarse feature map, pooled to 4 x 4 and squeezed to one gate per channel, scales the
    channels of a fine one: y = x_high * sigmoid(W2 swish(W1 pool4(x_low)))."""

    def __init__(self, c_low: int, c_high: int):
        super().__init__()
        self.gate = nn.Sequential(nn.AdaptiveAvgPool2d(4), nn.Conv2d(c_low, c_high, 4, 1, 0, bias=False), nn.SiLU(),
                                  nn.Conv2d(c_high, c_high, 1, 1, 0, bias=False), nn.Sigmoid())

    def forward(self, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
        return high * self.gate(low)


def _up(c_in: int, c_out: int, double: bool) -> nn.Sequential:
    """Nearest up-sampling, 3 x 3 convolution, BatchNorm, GLU (which halves the channels: hence 2 * c_out);
    `double` adds a second convolution (the paper's UpBlockComp, used on every other level)."""
    layers = [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, 2 * c_out, 3, 1, 1, bias=False),
              nn.BatchNorm2d(2 * c_out), nn.GLU(dim=1)]
    if double:
        layers += [nn.Conv2d(c_out, 2 * c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(2 * c_out), nn.GLU(dim=1)]
    return nn.Sequential(*layers)


def _sle_sources(n: int) -> dict[int, int]:
    """target level -> source level of the generator's excitations (level 0 = 4 x 4). The paper excites 128 and
    256 px from 8 and 16 px (16x coarser); smaller images excite their top two levels from as coarse as they have."""
    return {t: max(0, t - 4) for t in (n, n - 1) if t >= 2}


class Generator(nn.Module):
    def __init__(self, latent_dim: int, width: int, size: int, image_channels: int = 3, grid=(4, 4)):
        super().__init__()
        self.latent_dim, self.size = latent_dim, size
        n = levels(size)
        c = [channels(width, level, n) for level in range(n + 1)]
        # latent_dim x 1 x 1 -> c0 x 4 x 4 (the paper's InitLayer; the first grid: 2 x 4 for a 2:1 model)
        self.init = nn.Sequential(nn.ConvTranspose2d(latent_dim, 2 * c[0], grid, 1, 0, bias=False),
                                  nn.BatchNorm2d(2 * c[0]), nn.GLU(dim=1))
        # state size. c[level - 1] x 2^(level+1) -> c[level] x 2^(level+2)
        self.ups = nn.ModuleList(_up(c[level - 1], c[level], double=level % 2 == 1) for level in range(1, n + 1))
        self.sources = _sle_sources(n)
        self.excite = nn.ModuleDict({str(t): SkipLayerExcitation(c[s], c[t]) for t, s in self.sources.items()})
        self.to_rgb = nn.Conv2d(c[n], image_channels, 3, 1, 1)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.init(z.view(z.shape[0], -1, 1, 1))
        feats = [h]
        for level, up in enumerate(self.ups, start=1):
            h = up(h)
            if level in self.sources:
                h = self.excite[str(level)](feats[self.sources[level]], h)
            feats.append(h)
        return torch.tanh(self.to_rgb(h))

    def early_features(self, z: torch.Tensor) -> torch.Tensor:
        """Activations of the 4 x 4 layer, where GANSpace finds meaningful directions."""
        return self.init(z.view(z.shape[0], -1, 1, 1)).flatten(1)


class _Down(nn.Module):
    """The paper's DownBlockComp: a strided 4 x 4 then a 3 x 3 convolution, averaged with an average-pooled 1 x 1
    shortcut (a residual path that keeps gradients flowing when the discriminator is deep)."""

    def __init__(self, c_in: int, c_out: int, conv):
        super().__init__()
        self.main = nn.Sequential(conv(c_in, c_out, 4, 2, 1), nn.LeakyReLU(0.2), conv(c_out, c_out, 3, 1, 1),
                                  nn.LeakyReLU(0.2))
        self.direct = nn.Sequential(nn.AvgPool2d(2, 2), conv(c_in, c_out, 1, 1, 0), nn.LeakyReLU(0.2))

    def forward(self, x):
        return (self.main(x) + self.direct(x)) / 2


class _Decoder(nn.Module):
    """The paper's SimpleDecoder: 8 x 8 features -> a small image, so D must keep what describes its input."""

    def __init__(self, c_in: int, out_size: int, image_channels: int = 3):
        super().__init__()
        layers, c = [], c_in
        for _ in range(levels(out_size) - 1):  # 8 -> out_size
            c_out = max(8, min(32, c // 2))  # narrow: on a CPU the two decoders would otherwise cost more than D
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c, 2 * c_out, 3, 1, 1), nn.GLU(dim=1)]
            c = c_out
        self.net = nn.Sequential(*layers, nn.Conv2d(c, image_channels, 3, 1, 1), nn.Tanh())

    def forward(self, x):
        return self.net(x)


class Discriminator(nn.Module):
    """Down to 8 x 8, with excitations from 8x finer features where the image is large enough, patch logits
    (5 x 5 per image) and two decoders: the whole image from the 8 x 8 features and a random quarter of it from the
    matching 8 x 8 quarter of the 16 x 16 features (§3.2, eq. 3)."""

    def __init__(self, width: int, size: int, spectral_norm: bool = True, image_channels: int = 3):
        super().__init__()
        n = levels(size)
        sn = nn.utils.parametrizations.spectral_norm

        def conv(*args):
            layer = nn.Conv2d(*args)
            dcgan_init(layer)  # before spectral norm, whose power iteration starts from these weights
            return sn(layer) if spectral_norm else layer

        self.rec_size = min(size, 32)
        if size >= 32:  # state size. 3 x size -> c x size/2
            level = n - 1
            self.stem = nn.Sequential(conv(image_channels, channels(width, level, n), 4, 2, 1), nn.LeakyReLU(0.2))
        else:  # 16 px: no room to halve before the 16 x 16 features
            level = n
            self.stem = nn.Sequential(conv(image_channels, channels(width, level, n), 3, 1, 1), nn.LeakyReLU(0.2))
        self.top = level
        # state size. c(level) x 2^(level+2) -> c(level - 1) x 2^(level+1), down to 8 x 8 (level 1)
        self.downs = nn.ModuleDict({str(lv): _Down(channels(width, lv, n), channels(width, lv - 1, n), conv)
                                    for lv in range(level, 1, -1)})
        self.excite = nn.ModuleDict({str(t): SkipLayerExcitation(channels(width, t + 3, n), channels(width, t, n))
                                     for t in (2, 1) if t + 3 <= level})
        c8, c16 = channels(width, 1, n), channels(width, 2, n)
        self.logits = nn.Sequential(conv(c8, c8, 1, 1, 0), nn.LeakyReLU(0.2), conv(c8, 1, 4, 1, 0))
        self.decode_whole = _Decoder(c8, self.rec_size, image_channels)
        self.decode_part = _Decoder(c16, self.rec_size, image_channels)
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None, quarters: torch.Tensor | None = None):
        """N x 25 patch logits; with `quarters` (N indices in 0..3) also (whole, part) reconstructions."""
        h = self.stem(x)
        feats = {self.top: h}
        for level in range(self.top, 1, -1):
            h = self.downs[str(level)](h)
            if str(level - 1) in self.excite:
                h = self.excite[str(level - 1)](feats[level + 2], h)
            feats[level - 1] = h
        logits = self.logits(h).flatten(1)
        if quarters is None:
            return logits
        return logits, self.decode_whole(h), self.decode_part(quarter(feats[2], quarters))


def quarter(x: torch.Tensor, which: torch.Tensor) -> torch.Tensor:
    """N x C x H x W -> N x C x H/2 x W/2: quarter which[i] (0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right)
    of image i, gathered on the device without a host sync."""
    n, c, h, w = x.shape
    parts = x.view(n, c, 2, h // 2, 2, w // 2).permute(0, 2, 4, 1, 3, 5).reshape(n, 4, c, h // 2, w // 2)
    return parts[torch.arange(n, device=x.device), which]


class FastGANLearner(GANLearner):
    def __init__(self, cfg, device, distributed=False):
        loss = check_loss(cfg.loss or FastGAN.choices["loss"])
        spectral = FastGAN.choices["spectral_norm"] if cfg.spectral_norm is None else cfg.spectral_norm
        # Adam's betas (0.5, 0.999), GANLearner's default, are the paper's code's too
        # the discriminator is shaped by its input: a 2:1 image gives 4 x 8 features and 1 x 5 patch logits
        super().__init__(cfg, device, FastGAN.sampler(cfg),
                         Discriminator(cfg.width, cfg.size, spectral_norm=spectral, image_channels=image_channels(cfg)),
                         distributed)
        self.loss = loss
        self.ada = AdaptiveAugment(device, cfg.ada_target)

    def step(self, batch, gen, amp_dtype, shard):
        G, D = self.nets["generator"], self.nets["discriminator"]
        plain_d = unwrapped(D)  # penalties bypass DDP's hooks; see adversarial.py
        real = batch["image"]
        n, world = real.shape[0], shard[1]
        z = self.latents(n, gen, shard)
        which = share(torch.randint(4, (n * world,), generator=gen, device=self.device), shard)
        aug = dict(gen=gen, strength=self.ada.p, flip=self.cfg.flip, shard=shard)
        r1_now = self.r1_due(self.cfg.r1)

        # discriminator: adversarial loss + reconstruction of real images from its own features (eq. 3)
        self.opts["discriminator"].zero_grad(set_to_none=True)
        d_total = torch.zeros((), device=self.device)
        rec_total = torch.zeros((), device=self.device)
        fakes = []
        for x, zz, q in zip(chunks(real, self.micro_batches), chunks(z, self.micro_batches),
                            chunks(which, self.micro_batches)):
            with self.autocast(amp_dtype):
                fake = G(zz)
                fakes.append(fake)
                x_aug = diff_augment(x, **aug)
                fake_aug = diff_augment(fake.detach(), **aug)
                real_logits, whole, part = D(x_aug, quarters=q)
                fake_logits = D(fake_aug)
                adversarial = d_loss(self.loss, real_logits, fake_logits)
                size = whole.shape[-2:]  # rows and columns: wide and tall images too
                rec = (F.mse_loss(whole.float(), F.interpolate(x_aug.float(), size=size, mode="area"))
                       + F.mse_loss(part.float(), F.interpolate(quarter(x_aug.float(), q), size=size, mode="area")))
            loss = adversarial + rec
            if self.loss == "wgan-gp":
                loss = loss + GP_WEIGHT * gradient_penalty(plain_d, x_aug, fake_aug, gen, shard)
            if r1_now:
                loss = loss + lazy_r1(plain_d, x_aug, self.cfg.r1)
            self.backward(loss)
            self.ada.observe(real_logits)
            d_total += adversarial.detach() / self.micro_batches
            rec_total += rec.detach() / self.micro_batches
        self.opt_step("discriminator")

        # generator: fool D on augmented fakes
        g_total = self.generator_pass(fakes, lambda fake: g_loss(self.loss, D(diff_augment(fake, **aug))), amp_dtype)
        self.ada.update(n * world, self.distributed)
        return {"d": d_total, "g": g_total, "rec": rec_total, "p": self.ada.p.clone(), "rt": self.ada.rt.clone()}

    def extra_state(self) -> dict:
        return {"ada": self.ada.state()}

    def load_extra_state(self, state: dict) -> None:
        self.ada.load(state.get("ada", {}))  # older runs also saved "steps", which the Trainer's step now gives


class FastGAN(Family):
    info = FamilyInfo(
        name="fastgan",
        title="FastGAN",
        description="A GAN made for small sets (a hundred to a few thousand pictures): stable, and quick even on "
                    "a CPU.",
        capabilities=frozenset({Capability.CONTINUOUS_LATENT, Capability.TRUNCATION, Capability.LAYER_FEATURES,
                                Capability.ANY_ASPECT}),
    )
    Learner = FastGANLearner
    curves = {64: (Milestone(13_900, 375, "blurred, striped blobs of colour"),
                   Milestone(69_300, 326, "blobs in flat colours with rough edges and dotted textures, a few "
                                          "repeated, nothing recognisable yet"))}
    options = frozenset({"loss", "spectral_norm", "r1", "ada_target"})
    # the paper's pair: hinge loss with spectral normalisation in the discriminator
    choices = {"loss": "hinge", "spectral_norm": True, "ada_target": ADA_TARGET, "r1": 0.0}

    @staticmethod
    def preset(n_images: int, size: int, device_kind: str) -> dict:
        """Networks sized to the data and device; on a CPU narrow enough to learn in minutes. Batch 32 on the CPU
        lost to 16 (Projected, the demo from the base, 15 minutes, seeds 0-1: KID x 10^3 88.6 ± 8.9 / 2.1 ± 2.8
        against 83.2 ± 6.1 / 0.49 ± 0.03; more images a second, 40% fewer steps); batch 8 tied with it at 4 minutes
        (seeds 0-2: 153.7 ± 19.1 / 1.2 ± 1.4 against 153.5 ± 10.8 / 1.2 ± 1.1). Narrower lost to 16 too (from
        scratch, 4 minutes, seeds 0-1): width 12 is no faster and 8, 32% faster, was worse in the random-weight space
        (47.6 ± 7.7 against 26.7 ± 22.3; ImageNet 554 ± 124 against 780 ± 529, within the noise); 24 is 37% slower."""
        base = {"cuda": 32, "mps": 24}.get(device_kind, 16)
        if size >= 128:
            base //= 2
        return {"latent_dim": 64 if n_images < 5000 else 128, "width": max(8, base),
                "batch": 32 if device_kind != "cpu" else 16, "lr": 2e-4, **FastGAN.choices}

    @staticmethod
    def build_sampler(cfg) -> nn.Module:
        return Generator(cfg.latent_dim, cfg.width, cfg.size, image_channels(cfg), first_grid(cfg))
