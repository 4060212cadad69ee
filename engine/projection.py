"""Projection: the point of a model's latent space whose image is closest to an artist's own image.

Models with an encoder encode: a VAE takes its posterior mean, a VQ-VAE the point that draws exactly the codes it
encodes; a conditional model tries every label and keeps the best. GANs invert by optimisation (iGAN, Zhu et al.
2016; Image2StyleGAN, Abdal et al. 2019): many random starts are scored, the best few are refined by Adam on the
latent against a perceptual loss (the early layers of the ImageNet EfficientNet-Lite0 that KID uses, offline) plus
a pixel term, and the best result is kept. The point is a point like any other: a latent, and a label for
conditional models, so it can be bookmarked, interpolated and exported.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from . import devices
from .control import Control
from .events import Progress
from .models import Capability
from .dataset import composite
from .pixels import over, to_unit

STARTS = 256  # random latents scored per image and label before any optimisation
KEEP = 4  # of which the best are refined
STEPS = 120  # Adam steps on the latent: about 2.8 s per image at 64 px on this CPU (bench/projection.py)
LEARNING_RATE = 0.2  # at the start of a cosine ramp-down
PIXEL_WEIGHT = 30.0  # the pixel term beside the perceptual one (the error reported is the pixel one)
TYPICAL_WEIGHT = 0.01  # keeps |z|^2 / D near 1, where the model was trained (a Gaussian's typical shell)
PERCEPTUAL_SIDE = 64  # images are seen by the feature network at this side at least
CHUNK = 16  # images projected at once


@dataclass(frozen=True)
class Projection:
    latent: np.ndarray  # the point, D float32
    label: int | None  # its label index, for conditional models
    image: np.ndarray  # what the point draws, H x W x C uint8
    error: float  # mean squared error per pixel between that and the target, in [-1, 1] units


def load_images(paths: list, size: int, crop: str = "auto", background=(255, 255, 255), aspect: str = "1:1"):
    """Image files, or folders of them, as N x H x W x 3 uint8 (`size` px, the long side, at `aspect`): (names,
    images, [(path, reason), ...] for what could not be read). Decoded like the dataset's images
    (engine/decode.py)."""
    from pathlib import Path

    from .aspect import shape
    from .decode import Rejected, decode_picture

    files = []
    for path in map(Path, paths):
        files += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    names, images, rejected = [], [], []
    for path in files:
        try:
            rgba, _, _, _ = decode_picture(path.read_bytes(), size, crop, aspect)
        except (Rejected, OSError) as error:
            rejected.append((str(path), str(error) if isinstance(error, Rejected) else error.strerror or str(error)))
            continue
        names.append(str(path))
        images.append(composite(rgba, background))
    return names, np.stack(images) if images else np.zeros((0, *shape(size, aspect), 3), np.uint8), rejected


def project(model, images: np.ndarray, labels=None, steps: int | None = None, seed: int = 0, on_event=None,
            control: Control | None = None, background=(255, 255, 255)) -> list[Projection]:
    """N x H x W x 3 uint8 images at the model's size -> their projections. `labels` (names or indices) fixes a
    conditional model's label; without them every label is tried. `steps`: a GAN's optimisation steps. A model
    with alpha is compared over `background`, the colour the pictures were laid on."""
    control = control or Control()
    steps = STEPS if steps is None else steps
    emit = on_event or (lambda event: None)
    images = np.asarray(images)
    labels = None if labels is None else model.label_indices(list(labels), len(images))

    def chunk(start: int, stop: int) -> list[Projection]:
        return _project_chunk(model, images[start:stop], None if labels is None else labels[start:stop], steps,
                              [seed + i for i in range(start, stop)], control,
                              lambda done: emit(Progress("projection", start + done, len(images))), background)

    # out of device memory, fewer images at a time: each image's random starts come from its own seed, so the
    # projections do not depend on how the images were split
    parts = devices.in_parts(chunk, len(images), CHUNK, model.on_message, "projection")
    return [found for part in parts for found in part]


def _project_chunk(model, images, labels, steps, seeds, control, progress, background) -> list[Projection]:
    target = to_unit(images, model.device)
    if model.output.channels == 4:  # the pictures are opaque: that is what an alpha model's encoder is shown
        opaque = np.concatenate([images, np.full(images.shape[:-1] + (1,), 255, np.uint8)], -1)
    else:
        opaque = images
    conditional = model.inputs.num_classes > 0
    options = [labels] if labels is not None or not conditional else \
        [[label] * len(images) for label in range(model.inputs.num_classes)]
    best = None
    for i, option in enumerate(options):
        if model.can(Capability.ENCODER):
            latents = model.encode(opaque, option)
        else:
            latents = _optimise(model, target, option, steps, [s + 1000 * i for s in seeds], control,
                                lambda done: progress(len(images) * (i * steps + done) // (len(options) * steps)),
                                background)
        drawn = model.render(latents, option)
        seen = composite(drawn, background) if drawn.shape[-1] == 4 else drawn
        errors = ((to_unit(seen, model.device) - target) ** 2).flatten(1).mean(1).cpu().numpy()
        found = [Projection(latents[j].astype(np.float32), None if option is None else int(option[j]), drawn[j],
                            float(errors[j])) for j in range(len(images))]
        best = found if best is None else [a if a.error <= b.error else b for a, b in zip(best, found)]
    progress(len(images))
    return best


def _optimise(model, target: torch.Tensor, labels, steps: int, seeds: list[int], control: Control,
              progress, background=(255, 255, 255)) -> np.ndarray:
    """GAN inversion: score STARTS random latents per image (from the image's seed), refine the KEEP best with
    Adam, keep the best one."""
    n, dim = target.shape[0], model.latent_dim
    with torch.no_grad():
        goal = _perceptual(target)
        scale = [g.square().mean() + 1e-6 for g in goal]  # each stage weighs alike, whatever its magnitude

    def losses(z: torch.Tensor, repeat: int, pixel_only: bool = False) -> torch.Tensor:
        batch = model.inputs.batch(z, None if labels is None else np.repeat(labels, repeat), model.device)
        images = over(model.contract.sample(model.net, batch), background)
        pixel = (images - target.repeat_interleave(repeat, 0)).square().flatten(1).mean(1)
        if pixel_only:
            return pixel
        perceptual = sum((m - g.repeat_interleave(repeat, 0)).square().flatten(1).mean(1) / s
                         for m, g, s in zip(_perceptual(images), goal, scale))
        typical = (z.square().mean(1) - 1).square()
        return perceptual + PIXEL_WEIGHT * pixel + TYPICAL_WEIGHT * typical

    net_grads = [p.requires_grad for p in model.net.parameters()]
    model.net.requires_grad_(False)
    try:
        with torch.no_grad():
            starts = torch.cat([torch.randn(STARTS, dim, generator=torch.Generator().manual_seed(s))
                                for s in seeds]).to(model.device)
            scores = losses(starts, STARTS).view(n, STARTS)
            keep = scores.argsort(dim=1)[:, :KEEP]  # n x KEEP
            z = starts.view(n, STARTS, dim)[torch.arange(n)[:, None], keep].reshape(n * KEEP, dim)
        z = z.clone().requires_grad_(True)
        optimizer = torch.optim.Adam([z], lr=LEARNING_RATE)
        for step in range(steps):
            control.check()
            for group in optimizer.param_groups:  # a cosine ramp-down settles each latent (StyleGAN2's projector)
                group["lr"] = LEARNING_RATE * 0.5 * (1 + math.cos(math.pi * step / steps))
            optimizer.zero_grad(set_to_none=True)
            losses(z, KEEP).sum().backward()
            optimizer.step()
            progress(step + 1)
        with torch.no_grad():  # the error the artist is shown decides among the refined starts
            final = losses(z, KEEP, pixel_only=True).view(n, KEEP)
            chosen = z.detach().view(n, KEEP, dim)[torch.arange(n), final.argmin(1)]
    finally:
        for p, flag in zip(model.net.parameters(), net_grads):
            p.requires_grad_(flag)
    return chosen.cpu().numpy()


def _perceptual(images: torch.Tensor) -> list[torch.Tensor]:
    """Feature maps of the first three stages of EfficientNet-Lite0 (edges, textures, small parts), pooled to
    8 x 8 so a slightly shifted stroke still counts as near."""
    from . import features

    net = features.network(images.device)
    x = images[:, :3].float()
    if x.shape[-1] < PERCEPTUAL_SIDE:
        x = F.interpolate(x, size=(PERCEPTUAL_SIDE, PERCEPTUAL_SIDE), mode="bilinear", align_corners=False)
    x = F.relu6(net._bn0(net._conv_stem(x)))
    maps = []
    for block in net._blocks[:5]:  # stages 1-3: 16, 24 and 40 channels, at 1/2, 1/4 and 1/8 of the side
        x = block(x)
        maps.append(x)
    return [F.adaptive_avg_pool2d(m, 8) for m in (maps[0], maps[2], maps[4])]

