"""Projected FastGAN (Sauer et al. 2021, "Projected GANs Converge Faster"): FastGAN's generator against
discriminators that read frozen ImageNet features instead of pixels.

Why: on a few hundred pictures and a CPU, a discriminator learning its own features from scratch spends most of
the run learning to see. A pretrained network already sees edges, parts and textures; small heads on its features
only have to learn what tells real from fake, and the paper reports convergence an order of magnitude faster on
small sets. The feature network is EfficientNet-Lite0, whose weights the KID already ships (engine/features.py), so
nothing downloads. Because the model is trained against ImageNet features, a KID in ImageNet features flatters it:
bench/quality.py also judges in a random-weight space for that reason.

The paper's parts, as built here:
- the feature network is frozen and in eval mode; four of its stages are read (strides 4, 8, 16 and 32 of its input,
  at least 64 px: 16, 8, 4 and 2 px maps for a 64 px picture);
- cross-channel mixing (CCM): a fixed random 1 x 1 projection of each stage, and cross-scale mixing (CSM): each
  coarser projection, through a fixed random 3 x 3 convolution, upsampled and added to the next finer one. Fixed
  and random, so no head can pick the few ImageNet channels that are easiest to beat;
- one small discriminator per scale (strided convolutions with spectral norm down to 4 x 4 or less, then patch
  logits), their hinge losses summed;
- DiffAugment (colour, translation, cutout) on every image, real and fake, at full strength.

What differs, and why: transparent pictures reach the feature network laid over a random grey per image (the same
draw for real and fake), and the heads read their alpha beside the features (a grey drawn per image alone cannot
tell a transparent background from an opaque grey one: a first 15-minute run on clip art drew grey cards); the
heads have no BatchNorm (see fastgan.py); the feature network is not part of the discriminator's weights, so
checkpoints stay small and a resume or a DDP rank takes it from the same package.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .. import aspect, features
from ..augment import diff_augment
from .adversarial import GANLearner, d_loss, g_loss
from ..distributed import share
from .base import chunks
from .family import Capability, Family, FamilyInfo, Milestone, image_channels
from .fastgan import FastGAN

TAPS = (2, 4, 10, 14)  # EfficientNet-Lite0 blocks read: the ends of stages 2, 3, 5 and 6 (24, 40, 112, 192 channels)
TAP_CHANNELS = (24, 40, 112, 192)
MIN_INPUT = 64  # smaller pictures are upsampled first: at 32 px the coarsest stage would be 1 x 1
PROJECTION = (32, 64, 128, 256)  # CCM's channels per scale (the paper's 64-512, halved for a CPU)


class FeaturePyramid:
    """The frozen feature network's four stages, N x 3 x H x W in [-1, 1] -> four maps. Not an nn.Module on
    purpose: it is nobody's weights (never saved, never optimised, never wrapped by DDP)."""

    def __init__(self, device: torch.device):
        self.net = features.network(device)

    def __call__(self, x: torch.Tensor) -> list[torch.Tensor]:
        if min(x.shape[-2:]) < MIN_INPUT:
            x = F.interpolate(x, scale_factor=MIN_INPUT / min(x.shape[-2:]), mode="bilinear", align_corners=False)
        net = self.net
        h = F.relu6(net._bn0(net._conv_stem(x)))
        maps = []
        for i, block in enumerate(net._blocks[:TAPS[-1] + 1]):
            h = block(h)
            if i in TAPS:
                maps.append(h)
        return maps


def _fixed_conv(c_in: int, c_out: int, kernel: int, gen: torch.Generator) -> torch.Tensor:
    """A random convolution kernel (Kaiming-uniform, as PyTorch initialises a convolution), drawn once and kept."""
    bound = (6 / (c_in * kernel * kernel)) ** 0.5
    return (torch.rand(c_out, c_in, kernel, kernel, generator=gen) * 2 - 1) * bound


def _head(c_in: int, spatial: int, width: int) -> nn.Sequential:
    """Strided 4 x 4 convolutions (spectral norm, LeakyReLU) halving down to 4 x 4 or less, then 1 x 1 logits."""
    sn = nn.utils.parametrizations.spectral_norm
    layers, c = [], c_in
    while spatial > 4:
        c_out = min(4 * width * 2 ** (len(layers) // 2), 256)
        layers += [sn(nn.Conv2d(c, c_out, 4, 2, 1)), nn.LeakyReLU(0.2)]
        c, spatial = c_out, spatial // 2
    return nn.Sequential(*layers, sn(nn.Conv2d(c, 1, 1)))


class ProjectedDiscriminator(nn.Module):
    """Four feature maps -> four N x K patch-logit tensors, through fixed random CCM and CSM then trained heads.
    A transparent model's heads also read its alpha, pooled to each scale: the feature network sees only colour
    laid over a background, and an opaque background drawn in that colour would pass for a transparent one."""

    def __init__(self, width: int, short_side: int, seed: int = 0, alpha: bool = False):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        for k, (c_in, c_out) in enumerate(zip(TAP_CHANNELS, PROJECTION)):
            self.register_buffer(f"ccm{k}", _fixed_conv(c_in, c_out, 1, gen))
        for k in range(len(PROJECTION) - 1):  # coarser scale k + 1 into finer scale k
            self.register_buffer(f"csm{k}", _fixed_conv(PROJECTION[k + 1], PROJECTION[k], 3, gen))
        side = max(short_side, MIN_INPUT)  # what the feature network reads (FeaturePyramid upsamples)
        self.heads = nn.ModuleList(_head(c + alpha, side // stride, width)
                                   for c, stride in zip(PROJECTION, (4, 8, 16, 32)))
        # 1 / the spread of each scale's mixed features on the first real batch (0: not measured yet). The
        # features spread over +-15 or so; brought to about 1, the heads start with logits near the hinge's
        # margin, and an alpha channel (in [-1, 1]) weighs as much as the features beside it
        self.register_buffer("scales", torch.zeros(len(PROJECTION)))

    def forward(self, maps: list[torch.Tensor], alpha: torch.Tensor | None = None) -> list[torch.Tensor]:
        projected = [F.conv2d(m, getattr(self, f"ccm{k}").to(m.dtype)) for k, m in enumerate(maps)]
        mixed = [projected[-1]]
        for k in range(len(projected) - 2, -1, -1):
            coarse = F.conv2d(mixed[0], getattr(self, f"csm{k}").to(mixed[0].dtype), padding=1)
            mixed.insert(0, projected[k] + F.interpolate(coarse, size=projected[k].shape[-2:], mode="nearest"))
        if not self.scales.any():
            self.scales.copy_(torch.stack([1 / m.detach().float().std().clamp_min(1e-6) for m in mixed]))
        mixed = [m * scale.to(m.dtype) for m, scale in zip(mixed, self.scales)]
        if alpha is not None:
            mixed = [torch.cat([m, F.adaptive_avg_pool2d(alpha.to(m.dtype), m.shape[-2:])], 1) for m in mixed]
        return [head(m).flatten(1) for head, m in zip(self.heads, mixed)]


def on_random_grey(x: torch.Tensor, gen: torch.Generator, shard: tuple[int, int]) -> torch.Tensor:
    """Premultiplied RGBA in [-1, 1] over a grey drawn per image (N x 3); colour passes through."""
    if x.shape[1] != 4:
        return x
    n, world = x.shape[0], shard[1]
    grey = share(torch.rand(n * world, 1, 1, 1, generator=gen, device=x.device), shard).to(x.dtype)
    colour, alpha = (x[:, :3] + 1) / 2, (x[:, 3:] + 1) / 2
    return (colour + (1 - alpha) * grey) * 2 - 1


class ProjectedLearner(GANLearner):
    def __init__(self, cfg, device, distributed=False):
        # the paper's Adam: no momentum in the first moment, a shorter second-moment memory
        super().__init__(cfg, device, FastGAN.sampler(cfg),
                         ProjectedDiscriminator(cfg.width, min(aspect.shape(cfg.size, cfg.aspect or aspect.SQUARE)),
                                                cfg.seed, alpha=image_channels(cfg) == 4), distributed,
                         betas=(0.0, 0.99))
        self.pyramid = FeaturePyramid(device)

    def _seen(self, images, gen, aug, shard):
        """What the heads read of images (real or fake): the feature maps of their augmented colour over a grey, and
        their augmented alpha (None for colour pictures)."""
        images = diff_augment(images, **aug)
        alpha = images[:, 3:] if images.shape[1] == 4 else None
        return self.pyramid(on_random_grey(images, gen, shard)), alpha

    def step(self, batch, gen, amp_dtype, shard):
        G, D = self.nets["generator"], self.nets["discriminator"]
        real = batch["image"]
        z = self.latents(real.shape[0], gen, shard)
        aug = dict(gen=gen, strength=1.0, flip=self.cfg.flip, shard=shard)

        # discriminator: hinge loss summed over the four heads; the frozen features need no gradient here
        self.opts["discriminator"].zero_grad(set_to_none=True)
        d_total = torch.zeros((), device=self.device)
        fakes = []
        for x, zz in zip(chunks(real, self.micro_batches), chunks(z, self.micro_batches)):
            with self.autocast(amp_dtype):
                fake = G(zz)
                fakes.append(fake)
                with torch.no_grad():
                    real_seen = self._seen(x, gen, aug, shard)
                    fake_seen = self._seen(fake.detach(), gen, aug, shard)
                loss = sum(d_loss("hinge", r, f) for r, f in zip(D(*real_seen), D(*fake_seen)))
            self.backward(loss)
            d_total += loss.detach() / self.micro_batches
        self.opt_step("discriminator")

        # generator: through the frozen features to the heads
        g_total = self.generator_pass(
            fakes, lambda fake: sum(g_loss("hinge", logits) for logits in D(*self._seen(fake, gen, aug, shard))),
            amp_dtype)
        return {"d": d_total, "g": g_total}


class ProjectedFastGAN(Family):
    info = FamilyInfo(
        name="projected",
        title="Projected FastGAN",
        description="FastGAN's generator judged on what a pretrained network sees: learns shapes and clean "
                    "edges from a few hundred pictures sooner than FastGAN does, even on a CPU.",
        capabilities=frozenset({Capability.CONTINUOUS_LATENT, Capability.TRUNCATION, Capability.LAYER_FEATURES,
                                Capability.ANY_ASPECT}),
    )
    Learner = ProjectedLearner
    curves = {64: (Milestone(8_600, 268, "small dark outlines and specks in a few repeated shapes"),
                   Milestone(44_000, 118, "rings, blobs and patterned cards in a few colours, clean edges and "
                                          "transparent backgrounds, a few shapes repeated (mode collapse), "
                                          "nothing recognisable yet"))}

    @staticmethod
    def preset(n_images: int, size: int, device_kind: str) -> dict:
        """FastGAN's sizes, without the options of its own discriminator (loss, spectral norm)."""
        return {k: v for k, v in FastGAN.preset(n_images, size, device_kind).items() if k not in FastGAN.choices}

    build_sampler = staticmethod(FastGAN.build_sampler)  # the same generator: files and exports treat it alike
