"""Differentiable augmentation applied on the training device (DiffAugment, Zhao et al. 2020).

The same random transform family is applied to real and generated images before the discriminator sees them,
so a GAN can learn from a few hundred images without the discriminator memorising them. Every random number
comes from the caller's `torch.Generator`, so a resumed run draws exactly what an uninterrupted one would.
`strength` is the per-image probability of each transform (1.0 = classic DiffAugment). ADA adapts it during
training (models/adversarial.py) and passes it as a 0-dim tensor on the device, so reading it costs no host sync;
a tensor strength always draws the same random numbers, whatever its value, so a resumed run stays exact.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .distributed import share
from .pixels import to_uint8, to_unit


def diff_augment(x: torch.Tensor, gen: torch.Generator, strength: float | torch.Tensor = 1.0, flip: bool = False,
                 ops: tuple[str, ...] = ("color", "translation", "cutout"),
                 shard: tuple[int, int] = (0, 1)) -> torch.Tensor:
    """x: N x C x H x W in [-1, 1]; returns an augmented copy, differentiable with respect to x.

    Under DistributedDataParallel every rank draws the random numbers of the whole batch and keeps its
    `shard = (rank, world)` slice, so the ranks' generators stay in step and a checkpoint of rank 0's is complete.
    """
    if not torch.is_tensor(strength) and strength <= 0 and not flip:
        return x
    n, world = x.shape[0], shard[1]

    def rand(*shape):
        return share(torch.rand(shape[0] * world, *shape[1:], generator=gen, device=x.device, dtype=torch.float32),
                     shard)

    def chosen():  # which images get this transform
        return (rand(n, 1, 1, 1) < strength).to(x.dtype)

    if flip:
        x = torch.where(rand(n, 1, 1, 1) < 0.5, x.flip(3), x)
    alpha = x.shape[1] == 4  # premultiplied colour and alpha (engine/pixels.py): the colour changes, alpha stays
    if "color" in ops:
        on = chosen()
        colour = x[:, :3] if alpha else x
        shine = on * (rand(n, 1, 1, 1).to(x.dtype) - 0.5)
        colour = colour + (shine * (x[:, 3:] + 1) / 2 if alpha else shine)  # brightness (of the straight colour)
        mean = colour.mean(dim=1, keepdim=True)
        colour = mean + (colour - mean) * (1 + on * (rand(n, 1, 1, 1).to(x.dtype) * 2 - 1))  # saturation, x0..x2
        contrast = 1 + on * (rand(n, 1, 1, 1).to(x.dtype) - 0.5)  # x0.5..x1.5
        if alpha:  # around the mean straight colour, scaled by each pixel's alpha: transparent stays transparent
            a, c = (x[:, 3:] + 1) / 2, (colour + 1) / 2
            mean = c.sum(dim=(1, 2, 3), keepdim=True) / (3 * a.sum(dim=(1, 2, 3), keepdim=True)).clamp_min(1e-6)
            x = torch.cat([((mean * a + (c - mean * a) * contrast) * 2 - 1), x[:, 3:]], 1)
        else:
            mean = colour.mean(dim=(1, 2, 3), keepdim=True)
            x = mean + (colour - mean) * contrast
    if "translation" in ops:
        on = chosen().view(n, 1)
        shift = (rand(n, 2) * 2 - 1) * 0.25 * on.float()  # up to 1/8 of the image, in [-1, 1] coordinates
        theta = torch.zeros(n, 2, 3, device=x.device, dtype=torch.float32)
        theta[:, 0, 0] = 1
        theta[:, 1, 1] = 1
        theta[:, :, 2] = shift
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        if alpha:  # what moves in from outside is transparent (-1 in every premultiplied channel)
            x = F.grid_sample(x + 1, grid.to(x.dtype), mode="nearest", padding_mode="zeros", align_corners=False) - 1
        else:
            x = F.grid_sample(x, grid.to(x.dtype), mode="nearest", padding_mode="zeros", align_corners=False)
    if "cutout" in ops:
        on = chosen()
        h, w = x.shape[2:]
        cy, cx = rand(n, 1, 1) * h, rand(n, 1, 1) * w
        ys = torch.arange(h, device=x.device).view(1, h, 1)
        xs = torch.arange(w, device=x.device).view(1, 1, w)
        hole = ((ys - cy).abs() < h / 4) & ((xs - cx).abs() < w / 4)  # a square half the image wide
        keep = 1 - on * hole.unsqueeze(1).to(x.dtype)
        x = (x + 1) * keep - 1 if alpha else x * keep  # an alpha image's hole is transparent, colour and alpha
    return x


def preview(images_uint8, count: int = 8, seed: int = 0, flip: bool = False):
    """What the discriminator sees: `count` augmented copies of N x H x W x 3 (or 4, with alpha) uint8 images, as
    uint8 again."""
    import numpy as np

    gen = torch.Generator().manual_seed(seed)
    idx = torch.randint(len(images_uint8), (count,), generator=gen).numpy()
    x = to_unit(np.ascontiguousarray(images_uint8[idx]))
    with torch.no_grad():
        y = diff_augment(x, gen, flip=flip)
    return to_uint8(y)


def augment_pair(a: torch.Tensor, b: torch.Tensor, gen: torch.Generator, flip: bool = False,
                 shard: tuple[int, int] = (0, 1)) -> tuple[torch.Tensor, torch.Tensor]:
    """The same random shift (and flip) applied to both images of each pair, so B stays aligned with A (pix2pix's
    jitter). Colour is left alone: it is what a translation learns."""
    state = gen.get_state()
    moved_a = diff_augment(a, gen, flip=flip, ops=("translation",), shard=shard)
    gen.set_state(state)  # the same random numbers for B
    return moved_a, diff_augment(b, gen, flip=flip, ops=("translation",), shard=shard)
