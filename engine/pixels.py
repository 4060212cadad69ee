"""Pixels between the two forms they take: uint8 N x H x W x C arrays (files, caches, the screen) and float
N x C x H x W tensors in [-1, 1] (what networks read and make). The one place that converts either way."""
from __future__ import annotations

import numpy as np
import torch


def to_unit(images, device: torch.device | str | None = None) -> torch.Tensor:
    """uint8 N x H x W x C (NumPy or torch) -> float N x C x H x W in [-1, 1], on `device` (else where it is)."""
    images = torch.as_tensor(np.asarray(images) if not torch.is_tensor(images) else images, device=device)
    return images.permute(0, 3, 1, 2).float().div_(127.5).sub_(1)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """float N x C x H x W in [-1, 1] -> uint8 N x H x W x C NumPy (values outside the range are clipped)."""
    return ((images.float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()
