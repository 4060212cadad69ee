"""Latents: from seeds, truncated, interpolated (slerp), varied; the points of a run's progress grid; and image
grids. Plain NumPy in and out.

A seed always maps to the same latent (NumPy's PCG64), so a PNG that records its seed can be made again anywhere.
"""
from __future__ import annotations

import numpy as np

SAMPLE_SEED = 1234  # the fixed seed of a run's progress grid: the same points at every snapshot
GRID_ROWS = GRID_COLUMNS = 6  # the progress grid; a conditional model shows one label per row


def latents_for_seed(seed: int, dim: int, count: int = 1, truncation: float = 1.0) -> np.ndarray:
    """`count` latents drawn from N(0, I) by `seed`, pulled towards the mean by `truncation` (1 = none)."""
    z = np.random.default_rng(seed).standard_normal((count, dim)).astype(np.float32)
    return truncate(z, truncation)


def grid_label(index: int, columns: int, num_classes: int) -> int | None:
    """The label of picture `index` (row by row) of a grid: a conditional model shows one label per row."""
    return (index // columns) % num_classes if num_classes else None


def progress_point(index: int, latent_dim: int, num_classes: int = 0) -> tuple[np.ndarray, int | None]:
    """The latent and the label of picture `index` (row by row) of a run's progress grid, as the families' inputs
    make the grid (models.family.Inputs.grid): the point to explore that picture."""
    count = GRID_ROWS * GRID_COLUMNS
    if not 0 <= index < count:
        raise IndexError(f"the progress grid has {count} pictures, not {index + 1}")
    return latents_for_seed(SAMPLE_SEED, latent_dim, count)[index], grid_label(index, GRID_COLUMNS, num_classes)


def truncate(z: np.ndarray, truncation: float) -> np.ndarray:
    """The truncation trick (Brock et al. 2019; Karras et al. 2019): trade variety for typicality."""
    return (z * np.float32(truncation)).astype(np.float32)


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation: stays on the shell where Gaussian latents live, unlike a straight line."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return ((1 - t) * a + t * b).astype(np.float32)
    cos = np.clip(np.dot(a / na, b / nb), -1.0, 1.0)
    omega = np.arccos(cos)
    if omega < 1e-6:
        return ((1 - t) * a + t * b).astype(np.float32)
    direction = (np.sin((1 - t) * omega) * a / na + np.sin(t * omega) * b / nb) / np.sin(omega)
    return (direction * ((1 - t) * na + t * nb)).astype(np.float32)


def interpolate(keyframes: list[np.ndarray], frames_per_segment: int = 24, loop: bool = True) -> np.ndarray:
    """Frames that visit every keyframe in order by slerp; with `loop`, the last frame leads back to the first."""
    keys = [np.asarray(k, np.float32).reshape(-1) for k in keyframes]
    if len(keys) < 2:
        raise ValueError("interpolation needs at least two keyframes")
    pairs = list(zip(keys, keys[1:] + keys[:1])) if loop else list(zip(keys, keys[1:]))
    frames = [slerp(a, b, i / frames_per_segment) for a, b in pairs for i in range(frames_per_segment)]
    if not loop:
        frames.append(keys[-1])
    return np.stack(frames)


def variations(latent: np.ndarray, count: int = 8, spread: float = 0.5, seed: int = 0) -> np.ndarray:
    """Neighbours of a point: the point plus scaled noise, rescaled to the point's norm so they stay typical."""
    latent = np.asarray(latent, np.float32).reshape(1, -1)
    noise = np.random.default_rng(seed).standard_normal((count, latent.shape[1])).astype(np.float32)
    out = latent + spread * noise
    norm = np.linalg.norm(latent) or 1.0
    return (out / np.linalg.norm(out, axis=1, keepdims=True) * norm).astype(np.float32)


def grid(images: np.ndarray, columns: int | None = None, pad: int = 2) -> np.ndarray:
    """N x H x W x C uint8 images tiled into one uint8 image with `pad` dark pixels between them (opaque, so a
    viewer's checkerboard shows only inside transparent pictures)."""
    n, h, w, c = images.shape
    columns = columns or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / columns))
    out = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad, c), 24, np.uint8)
    if c == 4:
        out[..., 3] = 255
    for i, img in enumerate(images):
        r, col = divmod(i, columns)
        out[pad + r * (h + pad):pad + r * (h + pad) + h, pad + col * (w + pad):pad + col * (w + pad) + w] = img
    return out
