"""Image-to-image quality against minutes on this machine (`python bench/quality.py --translation`, or this file).

Real digits (scikit-learn) in two views, colour and its Pillow edge map (tests/digits.py):
- pix2pix learns edges -> colour from 300 pairs; judged by the L1 between its translations of 200 held-out edge maps
  and their true colour pictures, beside the two baselines (copying the input; the mean training picture);
- CycleGAN learns colour -> edges from two halves of the set that share no digit; judged by the correlation of its
  translations of the held-out colour digits with their true edge maps, beside the mean edge map's and the input's
  greyscale, and by KID (EfficientNet-Lite0) of its translations against the edge collection.
Each figure is taken at every checkpoint (every `minutes / points` minutes of training), so a row is a curve.

    python bench/translation_quality.py --minutes 4 --seeds 2
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from engine import api, features  # noqa: E402
from engine.metrics import kid  # noqa: E402
from tests.digits import digit_views, write_paired_digits, write_unpaired_digits  # noqa: E402

HELD_OUT = 1000  # the first held-out digit; the projects hold digits 0-299
HELD_COUNT = 200


def grey(images):
    return images[..., :3].astype(np.float64).mean(-1)


def correlation(made, truth) -> float:
    a, b = (x.reshape(len(x), -1) - x.reshape(len(x), -1).mean(1, keepdims=True) for x in (made, truth))
    return float(((a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1) + 1e-12)).mean())


def judge_pix2pix(model, edges, colour):
    made = np.stack([model.translate(e) for e in edges])[..., :3].astype(np.float64)
    return {"L1": np.abs(made - colour).mean() / 255}


def judge_cyclegan(model, edges, colour, edge_features):
    made = np.stack([model.translate(c, "a2b") for c in colour])
    return {"correlation": correlation(grey(made), grey(edges)),
            "KID x 10^3": 1e3 * kid(features.uint8_features(made[..., :3]), edge_features, subset_size=HELD_COUNT)}


def run(project, family, minutes, points, seed, judge) -> tuple[list, float]:
    """[(training minutes, figures)] at every checkpoint, and the images/s."""
    curve = []

    def on_event(event):
        if isinstance(event, api.CheckpointSaved):
            seconds = json.loads(Path(event.path).read_text())["train_seconds"]
            curve.append((seconds / 60, judge(api.open_model(event.path))))

    cfg = api.TrainConfig(family=family, minutes=minutes, seed=seed, device="cpu", sample_every=10**9,
                          checkpoint_every=10**9, checkpoint_minutes=minutes / points, early_stop_patience=0)
    began = time.perf_counter()
    result = api.train(project, cfg, on_event=on_event, new=True)
    return curve, result.step * api.open_model(result.checkpoint).cfg.batch / (time.perf_counter() - began)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=4.0)
    p.add_argument("--points", type=int, default=4, help="checkpoints (figures) per run")
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="translation-"))
    try:
        views = digit_views(HELD_COUNT, start=HELD_OUT)
        edges = np.stack([np.asarray(v[1]) for v in views])
        colour = np.stack([np.asarray(v[2]) for v in views])
        paired = api.Project.create(work / "paired")
        pairs = write_paired_digits(work / "pairs", 300)
        api.ingest(paired, [pairs / "A"], layout="paired", side="A", size=32)
        api.ingest(paired, [pairs / "B"], side="B")
        unpaired = api.Project.create(work / "unpaired")
        halves = write_unpaired_digits(work / "halves", 300)
        api.ingest(unpaired, [halves / "A"], layout="unpaired", side="A", size=32)
        api.ingest(unpaired, [halves / "B"], side="B")

        data = api.load_dataset(paired)
        mean_colour = data.images[data.pairs[:, 1]][..., :3].astype(np.float64).mean(0)
        halves_data = api.load_dataset(unpaired)
        edge_set = halves_data.images[halves_data.sides == "B"][..., :3]
        edge_features = features.uint8_features(np.ascontiguousarray(edge_set))
        baselines = {
            "pix2pix": {"copy the input": {"L1": np.abs(edges.astype(np.float64) - colour).mean() / 255},
                        "mean training picture": {"L1": np.abs(mean_colour - colour).mean() / 255}},
            "cyclegan": {"mean edge map": {"correlation": correlation(
                             np.broadcast_to(grey(edge_set).mean(0), grey(edges).shape), grey(edges))},
                         "input's greyscale": {"correlation": correlation(grey(colour), grey(edges))},
                         "real edges vs edge collection": {"KID x 10^3": 1e3 * kid(
                             features.uint8_features(edges), edge_features, subset_size=HELD_COUNT)}}}
        judges = {"pix2pix": (paired, lambda m: judge_pix2pix(m, edges, colour)),
                  "cyclegan": (unpaired, lambda m: judge_cyclegan(m, edges, colour, edge_features))}
        for family, (project, judge) in judges.items():
            curves, rates = [], []
            for seed in range(args.seeds):
                curve, rate = run(project, family, args.minutes, args.points, seed, judge)
                curves.append(curve)
                rates.append(rate)
                print(f"  {family} seed {seed}: " + "; ".join(
                    f"{m:.1f} min " + ", ".join(f"{k} {v:.3f}" for k, v in f.items()) for m, f in curve), flush=True)
            print(f"\n{family}, digits at 32 px, {args.minutes:g} min, {args.seeds} seed(s), "
                  f"{statistics.mean(rates):.0f} images/s")
            names = list(curves[0][0][1])
            print("| minutes | " + " | ".join(names) + " |\n|---|" + "---|" * len(names))
            for point in range(min(len(c) for c in curves)):
                cells = []
                for name in names:
                    values = [c[point][1][name] for c in curves]
                    spread = f" ± {statistics.stdev(values):.3f}" if len(values) > 1 else ""
                    cells.append(f"{statistics.mean(values):.3f}{spread}")
                print(f"| {statistics.mean(c[point][0] for c in curves):.1f} | " + " | ".join(cells) + " |")
            for name, figures in baselines[family].items():
                print(f"| {name} | " + " | ".join(f"{figures[n]:.3f}" if n in figures else "" for n in names) + " |")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
