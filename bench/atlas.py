"""The latent atlas: how long the map takes for 1,000 and 10,000 images, and how long the window is held while it
goes on screen.

Latents are a VAE's encodings of real digits (trained here for 400 steps at 32 px); for 10,000 the 1,797 digits are
joined by lightly altered copies (shifts, re-encodings, resizes), which a real folder of that size would resemble.
Prints seconds for the t-SNE layout (openTSNE, one thread) against a plain PCA of the same latents, for composing
the map's picture (both on a worker in the app), and what the GUI thread spends taking the picture and painting
it, then repainting (offscreen Qt).

    python bench/atlas.py
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from engine import api  # noqa: E402
from engine.atlas import _pca, layout, mosaic  # noqa: E402
from engine.memorisation import alter  # noqa: E402
from tests.digits import write_digits  # noqa: E402


def window_cost(positions: np.ndarray, images: np.ndarray) -> tuple[float, float, float]:
    """(seconds composing the map's picture, off the GUI thread; seconds the GUI thread takes to take it and paint
    the map once; seconds of one repaint while panning)."""
    from PySide6.QtWidgets import QApplication

    from gui.explore_jobs import MOSAIC_THUMB
    from gui.widgets.atlas_view import AtlasView

    started = time.perf_counter()
    picture = mosaic(positions, images, thumb=MOSAIC_THUMB, framed=np.ones(len(images), bool))
    composed = time.perf_counter() - started
    app = QApplication.instance() or QApplication([])
    view = AtlasView()
    view.resize(600, 600)
    view.show()
    view.set_points(positions, np.ones(len(positions), bool))
    app.processEvents()
    started = time.perf_counter()
    view.set_mosaic(picture, MOSAIC_THUMB)
    view.viewport().repaint()
    shown = time.perf_counter() - started
    view.scale(1.5, 1.5)
    started = time.perf_counter()
    view.viewport().repaint()
    return composed, shown, time.perf_counter() - started


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        project = api.Project.create(Path(tmp) / "digits")
        api.ingest(project, [write_digits(Path(tmp) / "d", px=32)], size=32)
        result = api.train(project, api.TrainConfig(family="vae", size=32, steps=400, batch=16, width=8,
                                                    latent_dim=16, lr=2e-3, precision="fp32",
                                                    checkpoint_every=400, sample_every=400))
        model = api.open_model(result.checkpoint)
        images = api.load_dataset(project).rgb()
        rng = np.random.default_rng(0)
        extra = np.stack([alter(images[i], rng) for i in rng.integers(0, len(images), 10_000 - len(images))])
        every = np.concatenate([images, extra])
        latents = np.concatenate([model.encode(every[i:i + 512]) for i in range(0, len(every), 512)])
    print("| images | t-SNE layout (worker) | PCA layout | ratio | picture of the map (worker) | window: take it and "
          "paint | window: one repaint |")
    print("|---|---|---|---|---|---|---|")
    for count in (1_000, 10_000):
        started = time.perf_counter()
        mapped, _, method = layout(latents[:count])
        tsne = time.perf_counter() - started
        started = time.perf_counter()
        _pca(latents[:count], latents[:0])
        pca = time.perf_counter() - started
        composed, shown, repaint = window_cost(mapped, every[:count])
        print(f"| {count:,} | {tsne:.1f} s ({method}) | {pca * 1000:.1f} ms | {tsne / pca:,.0f}x | "
              f"{composed:.1f} s | {shown * 1000:.0f} ms | {repaint * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
