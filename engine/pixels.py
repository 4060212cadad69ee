"""Pixels between the two forms they take: uint8 N x H x W x C arrays (files, caches, the screen) and float
N x C x H x W tensors in [-1, 1] (what networks read and make). The one place that converts either way.

Four channels are colour and alpha. Files and screens hold straight colour; networks see colour premultiplied by
alpha (a transparent pixel's colour is then black whatever it was), so a blurred or averaged edge never takes the
colour of what was behind it: no fringes.
"""
from __future__ import annotations

import numpy as np
import torch


def to_unit(images, device: torch.device | str | None = None) -> torch.Tensor:
    """uint8 N x H x W x C (NumPy or torch) -> float N x C x H x W in [-1, 1], on `device` (else where it is);
    RGBA comes out premultiplied."""
    if not torch.is_tensor(images):
        images = np.asarray(images)
        if not images.flags.writeable:  # a memory-mapped cache: torch shares only memory it may write (a uint8
            images = images.copy()  # copy, small beside the float one below)
    images = torch.as_tensor(images, device=device)
    if images.shape[-1] != 4:
        return images.permute(0, 3, 1, 2).float().div_(127.5).sub_(1)
    x = images.permute(0, 3, 1, 2).float().div_(255)
    return torch.cat([x[:, :3] * x[:, 3:], x[:, 3:]], 1).mul_(2).sub_(1)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """float N x C x H x W in [-1, 1] -> uint8 N x H x W x C NumPy (values outside the range are clipped); four
    channels are taken as premultiplied and come out straight."""
    if images.shape[1] != 4:
        return ((images.float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()
    x = (images.float().clamp(-1, 1) + 1) / 2
    alpha = x[:, 3:]
    colour = torch.where(alpha > 1 / 510, (x[:, :3] / alpha.clamp_min(1e-6)).clamp(0, 1), torch.zeros_like(x[:, :3]))
    return (torch.cat([colour, alpha], 1) * 255).round().byte().permute(0, 2, 3, 1).cpu().numpy()


def over(x: torch.Tensor, background) -> torch.Tensor:
    """Premultiplied N x 4 x H x W in [-1, 1] laid over a background colour (uint8 RGB): N x 3 x H x W in [-1, 1].
    Three channels pass through."""
    if x.shape[1] != 4:
        return x
    colour, alpha = (x[:, :3] + 1) / 2, (x[:, 3:] + 1) / 2
    back = torch.tensor(background, dtype=x.dtype, device=x.device).view(1, 3, 1, 1) / 255
    return (colour + back * (1 - alpha)) * 2 - 1
