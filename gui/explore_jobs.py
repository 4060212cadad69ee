"""The explorer's one-off jobs: exports, reading a dropped PNG, saving bookmarks, the images that directions are
fitted on, the mixture whose components are the modes, the pictures the Translate view translates and exports.
Plain functions of plain data.

They run on the QThreadPool through `gui.workers.run_task` (the direction inputs on the render thread), never on
the GUI thread. Export and projection jobs open their own Model from the same file plus the newest EMA weights, so
they never share the render thread's Model (whose weights may be swapped mid-export). Nothing here touches Qt.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def _model(model_path: str, snapshot, sampling: dict, out: str | None = None):
    """A Model of its own, with the training run's newest weights (an api.Snapshot, or None) and the explorer's
    temperature and top-k (`sampling`)."""
    from engine import api

    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
    model = api.open_model(model_path)
    if snapshot is not None:
        model.load_snapshot(snapshot.weights, snapshot.step, snapshot.model_id)
    model.set_sampling(**sampling)
    return model


def export_look(model_path: str, snapshot, look, path: str, seed, truncation, sampling: dict) -> str:
    from engine import api

    model = _model(model_path, snapshot, sampling, path)
    return str(api.export_look(model, look, path, seed=seed, truncation=truncation))


def export_animation(model_path: str, snapshot, frames, path: str, fps: int, sampling: dict, project=None) -> str:
    """A GIF or MP4 of the frames; a model with alpha keeps it in a GIF and is laid over the project's background
    colour (black without a project) in an MP4."""
    from engine import api

    model = _model(model_path, snapshot, sampling, path)
    scale = max(1, 256 // model.size)  # small models would make postage stamps; nearest upscaling keeps pixels
    background = tuple(project.dataset.background) if project is not None else (0, 0, 0)
    return str(api.export_animation(model, frames, path, fps=fps, scale=scale, background=background))


def project_image(model_path: str, snapshot, sampling: dict, path: str, background, on_event, control) -> dict:
    """The model's closest point to the picture at `path`: its latent and label, what it draws, the picture as the
    model sees it, and the error between the two."""
    from engine import api

    model = _model(model_path, snapshot, sampling)
    _, images, rejected = api.load_images([path], model.size, background=background, aspect=model.aspect)
    if rejected:
        raise ValueError(f"{Path(path).name}: {rejected[0][1]}")
    return _projection(model, images, on_event, control)


def project_training_image(model_path: str, snapshot, sampling: dict, project, index: int | None, seed: int,
                           on_event, control) -> dict:
    """The same for one of the project's training images (`index`, or one picked by `seed`), named by its file."""
    from engine import api

    model = _model(model_path, snapshot, sampling)
    dataset = api.load_dataset(project, size=model.size, aspect=model.aspect)
    index = int(np.random.default_rng(seed).integers(len(dataset))) if index is None else index
    found = _projection(model, dataset.rgb([index]), on_event, control)
    sources = {row["hash"]: row.get("source", "") for row in api.manifest(project)}
    return {**found, "name": Path(sources.get(dataset.hashes[index], "")).name or f"training image {index + 1}"}


def _projection(model, images, on_event, control) -> dict:
    from engine import api

    found = api.project(model, images, on_event=on_event, control=control)[0]
    return {"latent": found.latent, "label": found.label, "image": found.image, "target": images[0],
            "error": found.error}


MOSAIC_THUMB = 36  # pixels a training image takes in the atlas's picture


def atlas(model_path: str, project, size: int, aspect: str, on_event, control) -> tuple:
    """The atlas of the model (made, or read from beside its checkpoint) and the picture of its training images."""
    from engine import api
    from engine.atlas import mosaic

    found = api.atlas_for(model_path, on_event=on_event, control=control)
    own = found.images >= 0
    images = api.load_dataset(project, size=size, aspect=aspect).rgb(found.images[own])
    bounds = (found.positions.min(0), found.positions.max(0))  # the view scales the whole map, samples too
    picture = mosaic(found.positions[own], images, thumb=MOSAIC_THUMB, framed=np.ones(len(images), bool),
                     bounds=bounds)
    return found, picture


def read_png(path: str):
    from engine import api

    return api.read_png_latent(path)


def save_bookmarks(project, bookmarks: list[dict]) -> int:
    from engine import api

    api.save_bookmarks(project, bookmarks)
    return len(bookmarks)


def direction_inputs(project, size: int, aspect: str, conditional: bool, count: int = 1024) -> dict:
    """Keyword arguments for `api.fit_directions` of an encoder model: the training images (a VAE ranks its latent
    dimensions by KL over them) and, for a conditional one, their labels by name."""
    from engine import api

    dataset = api.load_dataset(project, size=size, aspect=aspect)
    if not conditional:
        return {"images": dataset.rgb()[:count]}
    labelled = np.flatnonzero(np.asarray(dataset.labels) >= 0)[:count]
    return {"images": dataset.rgb(labelled), "labels": [dataset.label_names[i] for i in dataset.labels[labelled]]}


def mixture(model_path: str, refit: bool, control):
    """The mixture of the model at `model_path`: the fit stored beside its checkpoint, or a new fit on the project's
    training images (it encodes them all: seconds), stored there; `control` stops a fit between component counts."""
    from engine import api

    return api.mixture_for(model_path, refit=refit, control=control)


def held_out_pictures(project, side: str, count: int) -> list[tuple]:
    """(name, file, pixels) of up to `count` pictures on `side` that training held out (the model never saw them):
    the file when it can be read again whole, else (a zip member, a half of a side-by-side picture, a file gone)
    its pixels as the dataset keeps them."""
    from engine import api

    rows = api.manifest(project)
    picks = [i for i, row in enumerate(rows) if row.get("side") == side and row["split"] == "holdout"][:count]
    whole = {i for i in picks if "half" not in rows[i] and Path(rows[i]["source"]).is_file()}
    images = api.load_dataset(project).images if len(whole) < len(picks) else None
    return [(Path(rows[i]["source"]).name, rows[i]["source"], None) if i in whole else
            (Path(rows[i]["source"]).name, None, np.array(images[i])) for i in picks]


def translate_files(model_path: str, snapshot, sources: list, out: str, direction: str, on_event, control,
                    pictures=()):
    """The pictures in `sources`, and `pictures` given as (name, pixels), translated into PNGs in `out` by a Model of
    the job's own (api.Translated)."""
    from engine import api

    model = _model(model_path, snapshot, {})
    return api.translate_files(model, sources, Path(out), direction, on_event=on_event, control=control,
                               pictures=pictures)
