"""The explorer's one-off jobs: exports, reading a dropped PNG, saving bookmarks, the images that directions are
fitted on. Plain functions of plain data.

They run on the QThreadPool through `gui.workers.run_task` (the direction inputs on the render thread), never on
the GUI thread. Export jobs open their own
Model from the same file plus the newest EMA weights, so they never share the render thread's Model (whose
weights may be swapped mid-export). Nothing here touches Qt.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def _model(model_path: str, weights: dict | None, step: int | None, out: str):
    from engine import api

    Path(out).parent.mkdir(parents=True, exist_ok=True)
    model = api.open_model(model_path)
    if weights is not None:
        model.load_snapshot(weights, step)
    return model


def export_png(model_path: str, weights, step, latent, path: str, seed, label) -> str:
    from engine import api

    return str(api.export_png(_model(model_path, weights, step, path), latent, path, seed=seed, label=label))


def export_animation(model_path: str, weights, step, frames, path: str, fps: int) -> str:
    from engine import api

    model = _model(model_path, weights, step, path)
    scale = max(1, 256 // model.size)  # small models would make postage stamps; nearest upscaling keeps pixels
    return str(api.export_animation(model, frames, path, fps=fps, scale=scale))


def read_png(path: str):
    from engine import api

    return api.read_png_latent(path)


def save_bookmarks(project, bookmarks: list[dict]) -> int:
    from engine import api

    api.save_bookmarks(project, bookmarks)
    return len(bookmarks)


def direction_inputs(project, size: int, conditional: bool, count: int = 1024) -> dict:
    """Keyword arguments for `api.fit_directions` of an encoder model: the training images (a VAE ranks its latent
    dimensions by KL over them) and, for a conditional one, their labels by name."""
    from engine import api

    dataset = api.load_dataset(project, size=size)
    if not conditional:
        return {"images": dataset.rgb()[:count]}
    labelled = np.flatnonzero(np.asarray(dataset.labels) >= 0)[:count]
    return {"images": dataset.rgb(labelled), "labels": [dataset.label_names[i] for i in dataset.labels[labelled]]}
