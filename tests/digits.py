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
        folder = root / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(digit_picture(img, px), "L").save(folder / f"digit-{i:04d}.png")
    return root


def digit_picture(image: np.ndarray, px: int) -> np.ndarray:
    """One 8 x 8 digit of scikit-learn's (0-16) as a px x px uint8 grey picture, enlarged bicubically."""
    from PIL import Image

    grey = (image / 16.0 * 255).round().astype(np.uint8)
    return np.asarray(Image.fromarray(grey, "L").resize((px, px), Image.BICUBIC))


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


def digit_views(count: int, px: int = 32, start: int = 0) -> list[tuple[int, "object", "object"]]:
    """(index, edges, colour) of `count` real digits from `start`: the digit in colour (ink from deep blue to orange
    by its darkness, on cream paper) and its edge map (Pillow's FIND_EDGES of the grey digit, white on black): two
    views of one picture, the second derived from the first by Pillow."""
    from PIL import Image, ImageFilter, ImageOps
    from sklearn.datasets import load_digits

    digits = load_digits()
    paper, deep, warm = (np.array(c, np.float32) for c in ((245, 235, 210), (30, 50, 150), (230, 120, 30)))
    views = []
    for i in range(start, start + count):
        # the digit at 5/8 of the picture, somewhere on it (its place follows from its index), on black
        side = px * 5 // 8
        digit = Image.fromarray((digits.images[i] / 16.0 * 255).round().astype(np.uint8), "L")
        grey = Image.new("L", (px, px), 0)
        grey.paste(digit.resize((side, side), Image.BICUBIC), ((i * 7) % (px - side + 1), (i * 11) % (px - side + 1)))
        ink = np.asarray(grey, np.float32)[..., None] / 255
        colour = paper * (1 - ink) + (deep * ink + warm * (1 - ink)) * ink  # dark ink blue, its rim orange
        # framed in paper first, so the filter finds the strokes' edges and not the picture's border
        edges = ImageOps.expand(grey, 2, fill=0).filter(ImageFilter.FIND_EDGES).crop((2, 2, px + 2, px + 2))
        views.append((i, edges.convert("RGB"), Image.fromarray(colour.round().astype(np.uint8), "RGB")))
    return views


def write_paired_digits(root: Path, count: int = 200, px: int = 32, side_by_side: bool = False,
                        start: int = 0) -> Path:
    """Pairs of real digits, edges -> colour: root/A/<name>.png and root/B/<name>.png, or (side_by_side) one
    picture per pair, edges on the left and colour on the right, in root/. Returns root."""
    from PIL import Image

    for i, edges, colour in digit_views(count, px, start):
        if side_by_side:
            both = Image.new("RGB", (2 * px, px))
            both.paste(edges, (0, 0))
            both.paste(colour, (px, 0))
            root.mkdir(parents=True, exist_ok=True)
            both.save(root / f"pair-{i:04d}.png")
            continue
        for side, picture in (("A", edges), ("B", colour)):
            (root / side).mkdir(parents=True, exist_ok=True)
            picture.save(root / side / f"digit-{i:04d}.png")
    return root


def write_unpaired_digits(root: Path, count: int = 200, px: int = 32) -> Path:
    """Two collections from two halves of the real digits: root/A holds the first half in colour, root/B the
    second half's edge maps, so no picture has its partner on the other side. Returns root."""
    half = count // 2
    for side, start, pick in (("A", 0, 2), ("B", half, 1)):
        (root / side).mkdir(parents=True, exist_ok=True)
        for view in digit_views(half, px, start):
            view[pick].save(root / side / f"digit-{view[0]:04d}.png")
    return root
