"""The digits goal of the quality issue, with the strong judge: scikit-learn's 1,797 real digits at 32 px, trained as
an artist's `train --minutes M` with the defaults (or the flags given), 500 samples judged by the small convnet of
tests/digit_judge.py (confidence, class coverage, Fréchet distance in its features), printed beside what it says of
real digits it never saw. Seeds give mean ± std.

    .venv/bin/python bench/digits.py                                # defaults, 4 minutes, 1 seed
    .venv/bin/python bench/digits.py --seeds 2 -- --width 16        # anything after -- goes to `train`

Goal (the issue): coverage >= 0.95, confidence >= 0.7, Fréchet <= 1.3 x the judge's held-out-vs-training distance.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from common import ROOT, digits_folder, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds first-seed, first-seed + 1, ...")
    parser.add_argument("--grids", type=Path, help="write 64 samples of each seed here, to look at")
    parser.add_argument("train_flags", nargs="*", help="after --: flags for `main.py train`")
    args = parser.parse_args()

    from tests.digit_judge import conv_figures, judge_split, real_digits_32

    data = digits_folder(32)
    held_out = real_digits_32(judge_split()[1])
    real = conv_figures(held_out)
    rows, made = [], []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        project = Path(tempfile.mkdtemp(prefix="bench-digits-project-"))
        started = time.time()
        trained = run("train", "--project", str(project), "--data", str(data), "--size", "32",
                      "--minutes", str(args.minutes), "--seed", str(seed), *args.train_flags)
        steps = trained.splitlines()[-1]
        out = project / "generated"
        run("generate", str(project), "--count", "500", "--out", str(out))
        images = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in sorted(out.glob("*.png"))])
        figures = conv_figures(images)
        made.append(figures)
        rows.append((f"model, seed {seed}", *cells(figures), f"{time.time() - started:.0f} s: {steps}"))
        if args.grids:
            args.grids.mkdir(parents=True, exist_ok=True)
            grid = images[:64].reshape(8, 8, 32, 32, 3).transpose(0, 2, 1, 3, 4).reshape(256, 256, 3)
            Image.fromarray(grid).save(args.grids / f"digits-seed{seed}.png")
    if len(made) > 1:
        rows.append(("model, mean ± std", *(f"{statistics.mean(f[k] for f in made):.3f} ± "
                                            f"{statistics.stdev(f[k] for f in made):.3f}"
                                            for k in ("confidence", "coverage", "frechet", "spread")), ""))
    rows[:0] = [(what, *cells(f), "") for what, f in [("real digits it never saw", real), *calibration(held_out)]]
    rows.append(("goal", ">= 0.7", ">= 0.95", f"<= {1.3 * real['frechet']:.2f}", "", ""))
    print(f"train --minutes {args.minutes:g} {' '.join(args.train_flags)}")
    print(table(rows, ("", "confidence", "coverage", "Fréchet", "spread in a digit", "time, last line of train")))


def cells(figures: dict) -> tuple[str, ...]:
    """A row's confidence, coverage, Fréchet distance and spread, as the table prints them."""
    return (f"{figures['confidence']:.3f}", f"{figures['coverage']:.3f}", f"{figures['frechet']:.2f}",
            f"{figures['spread']:.2f}")


def calibration(real: np.ndarray) -> list[tuple[str, dict]]:
    """What the judge says of the held-out real digits a little spoilt, for a sense of the bar's scale: with a
    Gaussian noise of 5 grey levels, and drawn again from 8 x 8 samples of their 32 px pictures (taken where the
    enlargement put the original pixels), which leaves each pixel about 2 grey levels off."""
    from tests.digit_judge import conv_figures

    noisy = real + np.random.default_rng(0).normal(0, 5, real.shape)
    x = real.astype(np.float64)
    samples = sum(x[:, i::4][:, :, j::4] for i in (1, 2) for j in (1, 2)) / 4
    redrawn = np.stack([np.asarray(Image.fromarray(s.round().astype(np.uint8)).resize(real.shape[1:], Image.BICUBIC))
                        for s in samples])
    return [("real, + noise of 5 grey levels", conv_figures(noisy.round().clip(0, 255).astype(np.uint8))),
            (f"real, drawn again from 8 px ({np.abs(redrawn - x).mean():.1f} grey levels off)",
             conv_figures(redrawn))]


def run(*argv: str) -> str:
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), *argv], capture_output=True,
                            text=True, cwd=ROOT)
    if result.returncode:
        raise SystemExit(f"main.py {argv[0]} failed:\n{result.stderr[-2000:]}")
    return result.stdout.strip()


if __name__ == "__main__":
    main()
