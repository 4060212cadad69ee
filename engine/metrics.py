"""Sample-quality measures. KID (Bińkowski et al. 2018): the unbiased squared MMD with the cubic polynomial
kernel k(x, y) = (x.y / d + 1)^3 between feature sets; unlike FID it is unbiased for small sample counts."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def kid(a: torch.Tensor, b: torch.Tensor, subsets: int = 10, subset_size: int = 200, seed: int = 0) -> float:
    """Mean KID over random subsets of two N x D feature sets."""
    a, b = a.double(), b.double()
    d = a.shape[1]
    m = min(subset_size, len(a), len(b))
    gen = torch.Generator().manual_seed(seed)
    total = 0.0
    for _ in range(subsets):
        x = a[torch.randperm(len(a), generator=gen)[:m]]
        y = b[torch.randperm(len(b), generator=gen)[:m]]
        kxx = (x @ x.T / d + 1) ** 3
        kyy = (y @ y.T / d + 1) ** 3
        kxy = (x @ y.T / d + 1) ** 3
        total += ((kxx.sum() - kxx.diag().sum()) / (m * (m - 1))
                  + (kyy.sum() - kyy.diag().sum()) / (m * (m - 1)) - 2 * kxy.mean()).item()
    return total / subsets


def pixel_features(images: torch.Tensor, side: int = 16) -> torch.Tensor:
    """A cheap feature for in-training quality: images in [-1, 1] pooled to side x side, flattened."""
    return F.adaptive_avg_pool2d(images.float(), side).flatten(1)
