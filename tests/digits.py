"""Real handwritten digits (scikit-learn's) written out as PNG folders, one sub-folder per label. Used by the tests
and by the benches, so it imports nothing from pytest: the benches run where the test extras are not installed."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def write_digits(root: Path, per_class: int | None = None, px: int = 32, indices=None) -> Path:
    """Write scikit-learn's 8x8 digits (those at `indices`, or all) as px x px grey PNGs in root/<label>/; with
    `per_class`, only the first that many of each label. Returns root."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    chosen = range(len(digits.target)) if indices is None else sorted(int(i) for i in indices)
    counts: dict[int, int] = {}
    for i in chosen:
        img, label = digits.images[i], int(digits.target[i])
        if per_class is not None and counts.get(label, 0) >= per_class:
            continue
        counts[label] = counts.get(label, 0) + 1
        grey = (img / 16.0 * 255).round().astype(np.uint8)
        folder = root / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(grey, "L").resize((px, px), Image.BICUBIC).save(folder / f"digit-{i:04d}.png")
    return root


def write_sprite_digits(root: Path, per_class: int | None = None, px: int = 32, indices=None,
                        colour=(40, 60, 160)) -> Path:
    """The same real digits as sprites: the ink in `colour` with its darkness as alpha, the paper transparent
    (RGBA PNGs, like cut-outs an artist brings)."""
    from PIL import Image

    write_digits(root, per_class, px, indices)
    for path in root.rglob("*.png"):
        ink = np.asarray(Image.open(path).convert("L"))
        rgba = np.empty(ink.shape + (4,), np.uint8)
        rgba[..., :3] = colour
        rgba[..., 3] = ink
        Image.fromarray(rgba, "RGBA").save(path)
    return root


def write_wide_digits(root: Path, count: int = 200, px: int = 32) -> Path:
    """Pairs of real digits side by side, as 2:1 pictures (2 * px wide, px tall): wide pictures from real data."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    root.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        left, right = ((digits.images[j] / 16.0 * 255).round().astype(np.uint8) for j in (2 * i, 2 * i + 1))
        pair = np.concatenate([left, right], axis=1)
        Image.fromarray(pair, "L").resize((2 * px, px), Image.BICUBIC).save(root / f"pair-{i:04d}.png")
    return root
