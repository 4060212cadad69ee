"""Real handwritten digits (scikit-learn's) written out as PNG folders, one sub-folder per label. Used by the tests
and by the benches, so it imports nothing from pytest: the benches run where the test extras are not installed."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def write_digits(root: Path, per_class: int | None = None, px: int = 32) -> Path:
    """Write scikit-learn's 8x8 digits as px x px grey PNGs in root/<label>/; returns root."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    counts: dict[int, int] = {}
    for i, (img, label) in enumerate(zip(digits.images, digits.target)):
        label = int(label)
        if per_class is not None and counts.get(label, 0) >= per_class:
            continue
        counts[label] = counts.get(label, 0) + 1
        grey = (img / 16.0 * 255).round().astype(np.uint8)
        folder = root / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(grey, "L").resize((px, px), Image.BICUBIC).save(folder / f"digit-{i:04d}.png")
    return root
