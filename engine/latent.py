"""Meaningful directions in a model's latent space, for the explorer's sliders.

Style-based GANs (GANSpace §3.1 on StyleGAN): PCA of w itself over many random latents; the sliders then move
the styles in W, all of them or a range (coarse, middle, fine), where the principal directions separate best. Other
GANs (GANSpace): PCA of an early layer's activations over many random latents, carried back
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
    space: str = "latent"  # "latent": vectors move z (`apply`); "w": they move a style-based model's styles (`shift`)


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
    if model.can(Capability.STYLE_MIXING):
        return _principal_in_w(torch.cat([net.map(part) for part in z.split(256)]).double().cpu(), count)
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


def _principal_in_w(w: torch.Tensor, count: int) -> Directions:
    w = w - w.mean(0)
    k = min(count, w.shape[1], w.shape[0] - 1)
    _, s, v = torch.linalg.svd(w, full_matrices=False)
    scales = (s[:k] / (len(w) - 1) ** 0.5).float().numpy()  # one standard deviation of w along each
    return Directions(v[:k].float().numpy(), scales, [f"Direction {i + 1}" for i in range(k)], space="w")


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


def _offset(directions: Directions, amounts) -> np.ndarray:
    amounts = np.asarray(amounts, np.float32)
    return (amounts[:, None] * directions.scales[:len(amounts), None] * directions.vectors[:len(amounts)]).sum(0)


def apply(latent: np.ndarray, directions: Directions, amounts) -> np.ndarray:
    """The latent moved by `amounts[i]` typical steps along direction i."""
    return (np.asarray(latent, np.float32).reshape(-1) + _offset(directions, amounts)).astype(np.float32)


def shift(directions: Directions, amounts, num_styles: int, layers: tuple | None = None,
          base: np.ndarray | None = None) -> np.ndarray:
    """A move in W by `amounts[i]` typical steps along direction i, given to the styles in `layers` (start, stop;
    None: all): a num_styles x D offset for Look.w_shift, added to `base` (an offset the point already has)."""
    out = np.zeros((num_styles, directions.vectors.shape[1]), np.float32) if base is None else \
        np.array(base, np.float32).reshape(num_styles, -1)
    start, stop = layers if layers is not None else (0, num_styles)
    out[start:stop] += _offset(directions, amounts)
    return out
