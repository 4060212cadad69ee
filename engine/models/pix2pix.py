"""pix2pix (Isola et al. 2017): a U-Net learns A -> B from aligned pairs, judged by a PatchGAN that sees the input
beside the output, with an L1 term that keeps the colours where the target has them.

The discriminator reads the pair (input and output stacked as channels), so it asks "is this B right for this A",
not only "is this a B" (§3.1). Both images of a pair get the same random shift (engine/augment.augment_pair).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..augment import augment_pair
from .base import adam, chunks, preset_width
from .family import FamilyInfo, image_channels
from .translation import (PatchDiscriminator, TranslationFamily, TranslationLearner, Translator, UNet, patch_layers,
                          unet_depth)

L1_WEIGHT = 100.0  # λ of §3.1 and §4


class Pix2PixLearner(TranslationLearner):
    def __init__(self, cfg, device, distributed=False):
        super().__init__(cfg, device, distributed)
        channels = image_channels(cfg)
        generator = Pix2Pix.build_sampler(cfg)
        discriminator = PatchDiscriminator(2 * channels, cfg.width, patch_layers(cfg.size))
        self.nets = {"generator": self.wrap(generator), "discriminator": self.wrap(discriminator)}
        self.opts = {name: adam(net.parameters(), device, cfg.lr, (0.5, 0.999))
                     for name, net in (("generator", generator), ("discriminator", discriminator))}
        self.ema = self.make_ema(generator)

    def step(self, batch, gen, amp_dtype, shard):
        G, D = self.nets["generator"], self.nets["discriminator"]
        a, b = augment_pair(batch["a"], batch["b"], gen, flip=self.cfg.flip, shard=shard)
        parts = list(zip(chunks(a, self.micro_batches), chunks(b, self.micro_batches)))

        # the generator: fool D on (a, G(a)) and stay near b in L1
        self.opts["generator"].zero_grad(set_to_none=True)
        D.requires_grad_(False)
        fakes, g_total, l1_total = [], torch.zeros((), device=self.device), torch.zeros((), device=self.device)
        for x, y in parts:
            with self.autocast(amp_dtype):
                fake = G(x)
                fakes.append(fake.detach())
                l1 = F.l1_loss(fake.float(), y.float())
                loss = F.softplus(-D(torch.cat([x, fake], 1))).float().mean() + L1_WEIGHT * l1
            self.backward(loss)
            g_total += loss.detach() / self.micro_batches
            l1_total += l1.detach() / self.micro_batches
        D.requires_grad_(True)
        self.opt_step("generator")

        # the discriminator: real pairs up, made pairs down, halved as in §3.3 (D learns slower than G)
        self.opts["discriminator"].zero_grad(set_to_none=True)
        d_total = torch.zeros((), device=self.device)
        for (x, y), fake in zip(parts, fakes):
            with self.autocast(amp_dtype):
                loss = 0.5 * (F.softplus(-D(torch.cat([x, y], 1))).float().mean()
                              + F.softplus(D(torch.cat([x, fake], 1))).float().mean())
            self.backward(loss)
            d_total += loss.detach() / self.micro_batches
        self.opt_step("discriminator")
        self.update_ema(G)
        return {"d": d_total, "g": g_total, "l1": l1_total}

    @torch.no_grad()
    def quality(self, real_holdout, labels=None):
        """Mean absolute error between the EMA's translations of held-out A pictures and their B, on 0-1 pixels."""
        made = torch.cat([self.ema(a) for a in real_holdout["a"].split(64)])
        return float((made.float() - real_holdout["b"].float()).abs().mean() / 2)


class Pix2Pix(TranslationFamily):
    info = FamilyInfo(
        name="pix2pix",
        title="pix2pix",
        description="Learns to turn each A picture into its B partner (sketch to painting, edges to colour) from "
                    "pairs of pictures with the same names.",
        capabilities=frozenset(),
    )
    Learner = Pix2PixLearner
    layout = "paired"
    directions = ("a2b",)

    @staticmethod
    def preset(n_images: int, size: int, device_kind: str) -> dict:
        return {"latent_dim": 1, "width": preset_width(n_images, size, device_kind),
                "batch": 16 if device_kind != "cpu" else 8, "lr": 2e-4, "kid_every": 0}

    @staticmethod
    def build_sampler(cfg) -> nn.Module:
        channels = image_channels(cfg)
        return Translator(a2b=UNet(channels, channels, cfg.width, unet_depth(cfg.size)))
