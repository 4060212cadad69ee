"""The memorisation meter: how right and how fast, on real digits and on real 64 px clip art
(`apt-get install openclipart-png`).

For each set: the meter is calibrated on the "seen" pictures (engine/memorisation.py: altered copies drawn with the
calibration seed, each picture against the others); then lightly altered copies of seen pictures (alterations the
calibration never drew) and real pictures of the same kind it never saw are judged. Prints the shares flagged as
copies, the seconds per judged picture, and its ratio to a plain nearest-neighbour search (pixel correlation without
the shifts) run side by side. Clip art is measured twice: split at random, and split after removing near-duplicates
(pictures within 10 bits of each other's difference hash: the collection holds many drawings in several colours).

    python bench/meter.py [--count 1000]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.memorisation import Meter, _pixels, _unit, alter, calibrate  # noqa: E402
from tests import clipart  # noqa: E402


def digits(count: int) -> np.ndarray:
    from PIL import Image
    from sklearn.datasets import load_digits

    images = load_digits().images[:count] / 16.0 * 255
    return np.stack([np.asarray(Image.fromarray(img.round().astype(np.uint8)).resize((32, 32), Image.BICUBIC)
                                .convert("RGB")) for img in images])


def measure(name: str, seen: np.ndarray, unseen: np.ndarray) -> None:
    started = time.perf_counter()
    meter = Meter(seen, [""] * len(seen), *calibrate(seen))
    calibrated = time.perf_counter() - started
    rng = np.random.default_rng(7)
    picked = rng.choice(len(seen), min(300, len(seen)), replace=False)
    altered = np.stack([alter(seen[i], rng) for i in picked])
    started = time.perf_counter()
    copies = meter.judge(altered)
    seconds = (time.perf_counter() - started) / len(altered)
    started = time.perf_counter()
    (_unit(_pixels(altered, meter.side)) @ meter._bank.T).max(1)
    plain = (time.perf_counter() - started) / len(altered)
    others = np.mean([v.copy for v in meter.judge(unseen)])
    print(f"| {name} | {len(seen)} at {seen.shape[1]} px | {meter.threshold:.4f} | "
          f"{np.mean([v.copy for v in copies]):.1%} of {len(altered)} | {others:.1%} of {len(unseen)} | "
          f"{seconds * 1000:.2f} ms | {seconds / plain:.1f}x | {calibrated:.1f} s |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000, help="seen pictures per set")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("| set | seen | threshold | altered copies flagged | unseen real flagged | judge / picture | vs plain "
          "nearest | calibration |")
    print("|---|---|---|---|---|---|---|---|")
    pictures = digits(1797)
    measure("digits", pictures[:args.count], pictures[args.count:])
    if clipart.available():
        pictures = clipart.distinct_pictures(2 * args.count, min_bits=0)
        measure("clip art, random split", pictures[:args.count], pictures[args.count:])
        pictures = clipart.distinct_pictures(2 * args.count)
        measure("clip art, near-duplicates removed", pictures[:args.count], pictures[args.count:])


if __name__ == "__main__":
    main()
