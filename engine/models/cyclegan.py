"""CycleGAN (Zhu et al. 2017): two generators, A -> B and B -> A, learnt from two collections that hold no pairs.

Each generator is judged by a PatchGAN of its target domain (least-squares loss, §4), and the two keep each other
honest: a picture taken across and back must come home unchanged (the cycle loss, λ = 10), and a picture already
in the target domain must pass through unchanged (the identity loss, 0.5 λ, which keeps colours). The
discriminators also see older fakes from a history of 50 (translation.ImageHistory).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .. import features
from ..metrics import kid
from ..pixels import over
from .base import adam, chunks, preset_width
from .family import FamilyInfo, image_channels
from .translation import (ImageHistory, PatchDiscriminator, ResnetGenerator, TranslationFamily, TranslationLearner,
                          Translator, patch_layers)

CYCLE_WEIGHT = 10.0  # λ, §4
IDENTITY_WEIGHT = 0.5  # of λ, §5.2
HISTORY = 50  # fakes kept for the discriminators, §4


class CycleGANLearner(TranslationLearner):
    def __init__(self, cfg, device, distributed=False):
        super().__init__(cfg, device, distributed)
        channels = image_channels(cfg)
        translator = CycleGAN.build_sampler(cfg)
        judges = {side: PatchDiscriminator(channels, cfg.width, patch_layers(cfg.size)) for side in ("a", "b")}
        self.nets = {"generators": self.wrap(translator), "judge_a": self.wrap(judges["a"]),
                     "judge_b": self.wrap(judges["b"])}
        for side in ("a", "b"):  # buffers only: saved and restored with the networks, never trained
            self.nets[f"history_{side}"] = ImageHistory(HISTORY, channels, cfg.size, cfg.size).to(device)
        self.opts = {"generators": adam(translator.parameters(), device, cfg.lr, (0.5, 0.999)),
                     "judges": adam([*judges["a"].parameters(), *judges["b"].parameters()], device, cfg.lr,
                                    (0.5, 0.999))}
        self.ema = self.make_ema(translator)
        self._target_features = None  # the B pictures' features for the held-out KID, computed once

    def step(self, batch, gen, amp_dtype, shard):
        G, judge_a, judge_b = self.nets["generators"], self.nets["judge_a"], self.nets["judge_b"]
        parts = list(zip(chunks(batch["a"], self.micro_batches), chunks(batch["b"], self.micro_batches)))

        # the generators: fool both judges, come home across the cycle, leave the target domain alone
        self.opts["generators"].zero_grad(set_to_none=True)
        for judge in (judge_a, judge_b):
            judge.requires_grad_(False)
        made, g_total, cycle_total = [], torch.zeros((), device=self.device), torch.zeros((), device=self.device)
        for a, b in parts:
            with self.autocast(amp_dtype):
                fake_b, fake_a = G(a, "a2b"), G(b, "b2a")
                cycle = F.l1_loss(G(fake_b, "b2a").float(), a.float()) + F.l1_loss(G(fake_a, "a2b").float(), b.float())
                identity = F.l1_loss(G(b, "a2b").float(), b.float()) + F.l1_loss(G(a, "b2a").float(), a.float())
                fooled = ((judge_b(fake_b).float() - 1).square().mean() + (judge_a(fake_a).float() - 1).square().mean())
                loss = fooled + CYCLE_WEIGHT * cycle + IDENTITY_WEIGHT * CYCLE_WEIGHT * identity
            self.backward(loss)
            made.append((fake_a.detach(), fake_b.detach()))
            g_total += loss.detach() / self.micro_batches
            cycle_total += cycle.detach() / self.micro_batches
        for judge in (judge_a, judge_b):
            judge.requires_grad_(True)
        self.opt_step("generators")

        # the judges: their domain's pictures toward 1, fakes (some from the history) toward 0; halved (§4)
        self.opts["judges"].zero_grad(set_to_none=True)
        d_total = torch.zeros((), device=self.device)
        for (a, b), (fake_a, fake_b) in zip(parts, made):
            fake_a = self.nets["history_a"].mix(fake_a, gen)
            fake_b = self.nets["history_b"].mix(fake_b, gen)
            with self.autocast(amp_dtype):
                loss = 0.5 * ((judge_a(a).float() - 1).square().mean() + judge_a(fake_a).float().square().mean()
                              + (judge_b(b).float() - 1).square().mean() + judge_b(fake_b).float().square().mean())
            self.backward(loss)
            d_total += loss.detach() / self.micro_batches
        self.opt_step("judges")
        self.update_ema(G)
        return {"d": d_total, "g": g_total, "cycle": cycle_total}

    def measure(self) -> str:
        return "KID of translated held-out pictures"

    @torch.no_grad()
    def quality(self, real_holdout, labels=None):
        """KID on ImageNet features between the EMA's A -> B translations of held-out A pictures and the B
        collection."""
        def feats(images):
            return features.image_features(over(images.float(), (255, 255, 255)))

        if self._target_features is None:
            self._target_features = feats(real_holdout["b"])
        made = torch.cat([self.ema(a, "a2b") for a in real_holdout["a"].split(64)])
        return kid(feats(made.clamp(-1, 1)), self._target_features, subset_size=200)


class CycleGAN(TranslationFamily):
    info = FamilyInfo(
        name="cyclegan",
        title="CycleGAN",
        description="Learns to carry pictures from one collection into the look of another and back (photos to "
                    "your drawings), from two folders that need no pairs.",
        capabilities=frozenset(),
    )
    Learner = CycleGANLearner
    layout = "unpaired"
    directions = ("a2b", "b2a")

    @staticmethod
    def preset(n_images: int, size: int, device_kind: str) -> dict:
        return {"latent_dim": 1, "width": preset_width(n_images, size, device_kind),
                "batch": 8 if device_kind != "cpu" else 4, "lr": 6e-4, "kid_every": 0}

    @staticmethod
    def build_sampler(cfg) -> nn.Module:
        channels, blocks = image_channels(cfg), 6 if cfg.size >= 128 else 3
        return Translator(a2b=ResnetGenerator(channels, channels, cfg.width, blocks),
                          b2a=ResnetGenerator(channels, channels, cfg.width, blocks))
