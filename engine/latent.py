"""Meaningful directions in a model's latent space, for the explorer's sliders.

GANs (GANSpace, Härkönen et al. 2020): PCA of an early layer's activations over many random latents, carried back
to the latent by linear regression of the latents on the principal coordinates. PCA of the latent itself would
be meaningless, since z ~ N(0, I) is isotropic. VAEs: the latent dimensions ranked by their mean KL over the
training images; dimensions with almost no KL are ignored by the decoder ("posterior collapse").
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .models import Capability


@dataclass(frozen=True)
class Directions:
    vectors: np.ndarray  # k x D unit vectors in latent space
    scales: np.ndarray  # k: a typical step along each (one standard deviation of the data along it)
    names: list[str]  # what the slider is called


@torch.inference_mode()
def fit_directions(model, count: int = 8, samples: int = 1024, images: np.ndarray | None = None,
                   seed: int = 0, labels=None) -> Directions:
    """Directions for `model`: GANSpace for generators with `early_features`, KL ranking for encoders.
    A conditional encoder needs the images' labels too; without them it gets the latent axes."""
    net = model.net
    if model.can(Capability.ENCODER) and model.can(Capability.CONTINUOUS_LATENT):  # a Gaussian posterior
        if images is not None and (labels is not None or not model.inputs.num_classes):
            return _kl_ranked(model, images, count, labels)
        return _axes(model.latent_dim, count)
    if not model.can(Capability.LAYER_FEATURES):
        return _axes(model.latent_dim, count)
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(samples, model.latent_dim, generator=gen).to(model.device)
    feats = torch.cat([net.early_features(part) for part in z.split(256)]).double().cpu()
    feats = feats - feats.mean(0)
    k = min(count, model.latent_dim, samples - 1)
    _, s, v = torch.linalg.svd(feats, full_matrices=False)
    coords = feats @ v[:k].T  # samples x k principal coordinates
    coords = coords / coords.std(0)
    # regress z on the coordinates: z ~ coords @ U, U's rows are the latent directions (GANSpace §3.1)
    u = torch.linalg.lstsq(coords, z.double().cpu()).solution  # k x D
    norms = u.norm(dim=1, keepdim=True)
    return Directions((u / norms).float().numpy(), norms.squeeze(1).float().numpy(),
                      [f"Direction {i + 1}" for i in range(k)])


def _kl_ranked(model, images: np.ndarray, count: int, labels=None) -> Directions:
    mu, logvar = model.net.encode(*model.encoder_inputs(images[:2048], None if labels is None else list(labels)[:2048]))
    per_dim = (0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar)).mean(0).cpu()
    order = per_dim.argsort(descending=True)[:count].numpy()
    vectors = np.eye(model.latent_dim, dtype=np.float32)[order]
    scales = mu.std(0).cpu().numpy()[order].astype(np.float32)
    return Directions(vectors, scales, [f"Dimension {i} (KL {per_dim[i]:.2f})" for i in order])


def _axes(dim: int, count: int) -> Directions:
    k = min(count, dim)
    return Directions(np.eye(dim, dtype=np.float32)[:k], np.ones(k, np.float32),
                      [f"Axis {i + 1}" for i in range(k)])


def apply(latent: np.ndarray, directions: Directions, amounts) -> np.ndarray:
    """The latent moved by `amounts[i]` typical steps along direction i."""
    amounts = np.asarray(amounts, np.float32)
    offset = (amounts[:, None] * directions.scales[:len(amounts), None] * directions.vectors[:len(amounts)]).sum(0)
    return (np.asarray(latent, np.float32).reshape(-1) + offset).astype(np.float32)
