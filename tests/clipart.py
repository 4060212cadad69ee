"""Real clip art from Debian's openclipart-png (`apt-get install openclipart-png`), for the tests and benches that
want a 64 px set of objects: a fixed random draw of its pictures with the near-duplicates removed (the collection
holds the same drawing in several colours and sizes, which no meter should call different pictures)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

FOLDER = Path("/usr/share/openclipart/png")


def available() -> bool:
    return FOLDER.is_dir()


def difference_hash(image: np.ndarray) -> np.ndarray:
    """256 bits: whether each pixel of a 17 x 16 grey thumbnail is brighter than its left neighbour (dHash)."""
    from PIL import Image

    grey = np.asarray(Image.fromarray(image).convert("L").resize((17, 16), Image.BILINEAR), np.int16)
    return (grey[:, 1:] > grey[:, :-1]).ravel()


def distinct_pictures(count: int, size: int = 64, seed: int = 0, min_bits: int = 11) -> np.ndarray:
    """Up to `count` clip-art pictures at `size` px (uint8 N x S x S x 3), drawn at random with `seed`, each at
    least `min_bits` of its difference hash away from every one kept before it, blank ones left out."""
    import warnings

    from engine import api

    files = sorted(FOLDER.rglob("*.png"))
    order = np.random.default_rng(seed).permutation(len(files))
    kept, hashes = [], []
    for start in range(0, len(order), 256):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a few are huge: Pillow warns of decompression bombs
            _, images, _ = api.load_images([files[i] for i in order[start:start + 256]], size)
        for image in images:
            if image.std() <= 1:
                continue
            code = difference_hash(image)
            if all((code != other).sum() >= min_bits for other in hashes):
                kept.append(image)
                hashes.append(code)
            if len(kept) == count:
                return np.stack(kept)
    return np.stack(kept)
