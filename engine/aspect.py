"""The shapes a model can draw: a square, or one of four common aspects for wide and tall pictures.

An aspect is written width:height. `size` is always the long side, so a 64 px 2:1 model draws 32 x 64 images and
every network keeps the number of resolution levels it has for a square; only its first grid (the generator's
4 x 4 start, the discriminator's last 4 x 4) follows the aspect: 2 x 4 for 2:1, 3 x 4 for 4:3.
"""
from __future__ import annotations

import math

SQUARE = "1:1"
ASPECTS = {SQUARE: (1, 1), "2:1": (2, 1), "1:2": (1, 2), "4:3": (4, 3), "3:4": (3, 4)}  # width, height


def check(aspect: str) -> str:
    if aspect not in ASPECTS:
        raise ValueError(f"the aspect is one of {', '.join(ASPECTS)} (width:height), not {aspect!r}")
    return aspect


def shape(size: int, aspect: str = SQUARE) -> tuple[int, int]:
    """(height, width) of a picture at `size` px (its long side) in `aspect`."""
    width, height = ASPECTS[check(aspect)]
    return (size * height // width, size) if width >= height else (size, size * width // height)


def suffix(aspect: str) -> str:
    """What file names of things made at `aspect` end with: nothing for squares, "-2x1" for 2:1."""
    return "" if check(aspect) == SQUARE else "-" + aspect.replace(":", "x")


def first_grid(aspect: str = SQUARE) -> tuple[int, int]:
    """(rows, columns) of the generator's first feature map and of the discriminator's last."""
    return shape(4, aspect)


def nearest(ratio: float) -> str:
    """The aspect nearest to a width / height ratio (compared as logarithms, so 2:1 and 1:2 are equally far from
    a square); a square wins ties."""
    return min(ASPECTS, key=lambda name: (abs(math.log(ASPECTS[name][0] / ASPECTS[name][1]) - math.log(ratio)),
                                          name != SQUARE))
