"""What a training budget can be expected to reach, from the quality curves families carry (`Family.curves`).

A curve is indexed by the images a run has seen (steps x batch), not by minutes: the same images take a fast GPU
seconds and this CPU a quarter of an hour, and the Train room knows this machine's images/s. Each point holds the
KID x 10^3 in ImageNet features of 512 samples against the real set, and what the samples looked like, in words.
Only families and sizes that were measured have a curve: for the rest no promise is made.

Where the figures come from (so they can be measured again):
    python bench/quality.py /usr/share/openclipart/png --size 64 --limit 1000 --minutes 15 --seeds 2 \\
        --families projected fastgan dcgan --threads 2 --points 5 --grids GRIDS
on 963 openclipart pictures at 64 px on a 2-core CPU; two random halves of that set are 1.4 apart. Those curves
start from random weights; a run that starts from a shipped base model is promised its base's own curve
(engine/base_model.py CURVES), measured fine-tuning it on pictures it never saw.
"""
from __future__ import annotations

from .base_model import CURVES as BASE_CURVES
from .models import Milestone, get_family

MEASURED_ON = "1,000 clip-art pictures at 64 px"


def expected(family: str, size: int, images: float, base: str = "") -> Milestone | None:
    """The measured point a run of `family` at `size` px reaches after seeing `images` images: the last point it
    has passed (the first one when it has passed none); None where nothing was measured. `base`: the name of the
    base model the run starts from ("" for random weights)."""
    if base:  # a base with no measured curve gets no promise, not the one from random weights
        curve = BASE_CURVES.get(base, ("", ()))[1]
    else:
        curve = get_family(family).curves.get(size) if family else None
    if not curve:
        return None
    passed = [point for point in curve if point.images <= images]
    return passed[-1] if passed else curve[0]


def describe(family: str, size: int, images: float, base: str = "") -> str:
    """A line for the Train room: what the budget is expected to reach, or "" where no curve was measured."""
    point = expected(family, size, images, base)
    if point is None:
        return ""
    # worded as what a run like this drew on the set it was measured on: that set may be nothing like the artist's
    start, measured_on = (f"the base model {base}", BASE_CURVES[base][0]) if base else ("random weights", MEASURED_ON)
    return (f"Expected, as a run like this drew on {measured_on} (from {start}, {point.images:,} images seen): "
            f"{point.look}")
