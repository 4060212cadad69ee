"""Projection speed and closeness against optimisation steps, at 32 and 64 px, beside a plain baseline: the best of
1,000 random latents (random search, what a projection must beat).

    .venv/bin/python bench/projection.py [--sizes 32 64] [--train-steps 1500] [--images 10] [--threads 1]

A DCGAN is trained on 600 of scikit-learn's real digits (the held-out judge's side of the split), then digits that
neither it nor the judge saw are projected with 0 (the scored random starts alone) to 300 Adam steps. Prints
seconds per image, the median pixel error, its ratio to the random-search baseline's, and how many projections the
held-out judge still reads as the right digit.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import table  # common also puts the repository on sys.path

import numpy as np  # noqa: E402
import torch  # noqa: E402

from engine import api  # noqa: E402
from engine.sampling import latents_for_seed  # noqa: E402
from tests.digit_judge import judge_split, read_digits  # noqa: E402
from tests.digits import write_digits  # noqa: E402


def random_search(model, images: np.ndarray, count: int = 1000) -> tuple[np.ndarray, np.ndarray, float]:
    """(per-image error of the nearest of `count` random points, those nearest images, seconds per image)."""
    started = time.perf_counter()
    drawn = model.render(latents_for_seed(123, model.latent_dim, count))
    unit = drawn.astype(np.float32) / 127.5 - 1
    x = images.astype(np.float32) / 127.5 - 1
    errors = np.stack([((unit - xi[None]) ** 2).reshape(count, -1).mean(1) for xi in x])  # images x count
    nearest = errors.argmin(1)
    return errors.min(1), drawn[nearest], (time.perf_counter() - started) / len(images)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--train-steps", type=int, default=1500)
    parser.add_argument("--images", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    learn, unseen = judge_split()
    root = Path(tempfile.mkdtemp(prefix="bench-projection-"))
    train = write_digits(root / "train", indices=learn[:600])
    test = write_digits(root / "unseen", indices=unseen[:args.images])
    for size in args.sizes:
        project = api.Project.create(root / f"p{size}")
        api.ingest(project, [train], size=size)
        started = time.perf_counter()
        api.train(project, api.TrainConfig(family="dcgan", size=size, steps=args.train_steps, device="cpu",
                                           checkpoint_every=args.train_steps, sample_every=args.train_steps,
                                           kid_every=0))
        print(f"\n{size} px: DCGAN trained {args.train_steps} steps in {time.perf_counter() - started:.0f} s")
        model = api.open_model(project.root)
        names, images, _ = api.load_images([test], size, background=(0, 0, 0))
        truth = np.array([int(Path(name).parent.name) for name in names])
        baseline, nearest, baseline_s = random_search(model, images)
        rows = [("random search (1,000)", f"{baseline_s:.2f}", f"{np.median(baseline):.4f}", "1.00",
                 f"{(read_digits(nearest) == truth).mean():.0%}")]
        for steps in (0, 25, 50, 100, 150, 300):
            started = time.perf_counter()
            found = api.project(model, images, steps=steps)
            seconds = (time.perf_counter() - started) / len(images)
            errors = np.array([p.error for p in found])
            read = (read_digits(np.stack([p.image for p in found])) == truth).mean()
            rows.append((f"projection, {steps} steps", f"{seconds:.2f}", f"{np.median(errors):.4f}",
                         f"{np.median(errors / baseline):.2f}", f"{read:.0%}"))
        print(table(rows, ("method", "s / image", "median error", "vs random", "judge reads")))


if __name__ == "__main__":
    main()
