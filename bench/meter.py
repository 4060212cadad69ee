"""The memorisation meter: how fast it judges, and how right, on real digits and optionally a folder of real images
(clip art: `apt-get install openclipart-png`).

For each set: a project of the first --count images, calibrated; then lightly altered copies of its images (with
alterations the calibration never drew) and real images of the same kind outside the project are judged. Prints the
share flagged as copies, the seconds per judged image, and the ratio of that time to a plain nearest-neighbour
search (pixel correlation without the shifts) run side by side.

    python bench/meter.py
    python bench/meter.py --folder /usr/share/openclipart/png --size 64 --count 1000
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import api  # noqa: E402
from engine.memorisation import Meter, _pixels, _unit, alter  # noqa: E402
from tests.digits import write_digits  # noqa: E402


def plain_nearest(meter: Meter, images: np.ndarray) -> None:
    """The baseline: one correlation per training image, no shifts."""
    query = _unit(_pixels(images, meter.side))
    (query @ meter._bank.T).max(1)


def measure(name: str, project_sources: list[Path], unseen: list[Path], size: int, root: Path) -> None:
    project = api.Project.create(root / name)
    started = time.perf_counter()
    api.ingest(project, project_sources, size=size)
    ingested = time.perf_counter() - started
    started = time.perf_counter()
    meter = api.meter_for(project)
    calibrated = time.perf_counter() - started
    images = api.load_dataset(project).rgb()
    rng = np.random.default_rng(7)
    picked = rng.choice(len(images), min(300, len(images)), replace=False)
    altered = np.stack([alter(images[i], rng) for i in picked])
    _, others, _ = api.load_images(unseen, size, background=project.dataset.background)
    started = time.perf_counter()
    copies = meter.judge(altered)
    seconds = (time.perf_counter() - started) / len(altered)
    started = time.perf_counter()
    plain_nearest(meter, altered)
    plain = (time.perf_counter() - started) / len(altered)
    flagged_others = np.mean([v.copy for v in meter.judge(others)])
    print(f"| {name} | {len(images)} at {size} px | {meter.threshold:.4f} | "
          f"{np.mean([v.copy for v in copies]):.1%} of {len(altered)} | "
          f"{flagged_others:.1%} of {len(others)} | {seconds * 1000:.2f} ms | {seconds / plain:.1f}x | "
          f"{calibrated:.1f} s | {ingested:.0f} s |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, help="a folder of real images (searched recursively)")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--count", type=int, default=1000, help="images in the project; as many more are unseen")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("| set | project | threshold | altered copies flagged | unseen real flagged | judge / image | vs plain "
          "nearest | calibration | ingest |")
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        seen = write_digits(root / "digits-seen", indices=range(1000), px=32)
        unseen = sorted(write_digits(root / "digits-unseen", indices=range(1000, 1797), px=32).rglob("*.png"))
        measure("digits", [seen], unseen, 32, root)
        if args.folder:
            files = sorted(p for p in args.folder.rglob("*.png"))
            order = np.random.default_rng(0).permutation(len(files))
            chosen = [files[i] for i in order[:args.count]]
            link = root / "folder-seen"
            link.mkdir()
            for i, path in enumerate(chosen):
                (link / f"{i:05d}-{path.name}").symlink_to(path)
            measure(args.folder.name, [link], [files[i] for i in order[args.count:2 * args.count]], args.size, root)


if __name__ == "__main__":
    main()
