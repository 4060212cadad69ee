"""Shared fixtures: real handwritten digits (scikit-learn) written out as PNG folders, one sub-folder per label."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


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


@pytest.fixture(scope="session")
def digits_dir(tmp_path_factory) -> Path:
    """All 1,797 digits as 32 px PNGs in ten labelled folders."""
    return write_digits(tmp_path_factory.mktemp("digits"))


@pytest.fixture(scope="session")
def small_digits_dir(tmp_path_factory) -> Path:
    """30 digits of each class (300 images): enough to train tiny models in seconds."""
    return write_digits(tmp_path_factory.mktemp("digits-small"), per_class=30)
