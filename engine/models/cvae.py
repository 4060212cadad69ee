"""A conditional VAE (Sohn et al. 2015, "Learning Structured Output Representation using Deep Conditional
Generative Models"): the VAE of vae.py with the label given to both the encoder, q(z|x, y), and the decoder,
p(x|z, y). The label carries the class, so the latent is left to carry the style; sampling a label with
z ~ N(0, I) draws that class.

Only the conditioning lives here: the convolutional blocks, the ELBO and the learner's step are vae.py's.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .family import Capability, FamilyInfo, first_grid, image_channels
from .vae import VAE, ConvVAE, VAELearner


class CVAE(VAE):
    def __init__(self, latent_dim: int, width: int, size: int, num_classes: int, image_channels: int = 3,
                 grid=(4, 4)):
        super().__init__(latent_dim, width, size, image_channels, grid)
        self.num_classes = num_classes
        # the one-hot label joins the encoder's features (c0 x 4 x 4, flattened) and the latent (Sohn et al. §4.1)
        self.to_stats = nn.Linear(self.features + num_classes, 2 * latent_dim)
        self.from_latent = nn.Linear(latent_dim + num_classes, self.features)

    def one_hot(self, labels: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
        if labels is None:
            raise ValueError("a conditional VAE needs the label of every image it encodes or decodes")
        return F.one_hot(labels.long(), self.num_classes).to(like.dtype)

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.encoder(x)  # N x c0 x the first grid, flattened
        return self.posterior(torch.cat([features, self.one_hot(labels, features)], dim=1))

    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.pixels(self.from_latent(torch.cat([z, self.one_hot(labels, z)], dim=1)))


class CVAELearner(VAELearner):
    """The VAE learner over a CVAE; labels reach the ELBO and the held-out reconstruction error."""

    @staticmethod
    def network(cfg) -> CVAE:
        return ConditionalVAE.sampler(cfg)


class ConditionalVAE(ConvVAE):
    info = FamilyInfo(
        name="cvae",
        title="Conditional VAE",
        description="A VAE that learns your labelled sub-folders: pick the label, the latent picks the style. "
                    "It can encode your pictures too.",
        capabilities=frozenset({Capability.CONTINUOUS_LATENT, Capability.ENCODER, Capability.LABELS,
                                Capability.ANY_ASPECT}),
    )
    Learner = CVAELearner
    # A heavier KL term: at beta 1 the latent keeps the class and the decoder learns to ignore the label (digits,
    # 300 steps: 24% of samples were the asked-for digit; at beta 4, 69%). A choice, so a bare config gets it too.
    choices = {"beta": 4.0}

    @staticmethod
    def preset(n_images: int, size: int, device_kind: str) -> dict:
        """The VAE's sizes with the family's heavier KL term."""
        return dict(ConvVAE.preset(n_images, size, device_kind), **ConditionalVAE.choices)

    @staticmethod
    def build_sampler(cfg) -> nn.Module:
        return CVAE(cfg.latent_dim, cfg.width, cfg.size, cfg.num_classes, image_channels(cfg), first_grid(cfg))
