"""A latent atlas: a 2D map of the training images and of samples, placed by where they lie in the model's latent
space, to look at and to click.

Training images are placed by their latents: encoder models encode them (a conditional one with each image's
label), GANs use a learned inverse of the generator (engine/encoder.py), never an optimisation per image. Samples
are the latents of seeds 0, 1, 2, ... The map is a t-SNE of those latents (openTSNE: it places new points into a
finished map, and scales to 10,000 points with its FFT-accelerated gradients), or their first two principal
components where openTSNE is missing. It is kept beside the checkpoint (`atlas-step-XXXXXX.safetensors`), keyed by
the model's id and the dataset's fingerprint.

A click anywhere on the map stands for a point of the latent space: the latents of the three nearest map points,
blended by spherical interpolation with weights falling with their distance on the map.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import checkpoints, files
from .control import Control
from .events import Progress
from .models import Capability
from .sampling import latents_for_seed, slerp

SAMPLES = 256  # samples shown on the map besides the training images
NEAREST = 3  # map points a click blends
PERPLEXITY = 30


@dataclass(frozen=True)
class Atlas:
    positions: np.ndarray  # N x 2, the training images first, then the samples
    latents: np.ndarray  # N x D: the latent of each position
    images: np.ndarray  # N: dataset index of a training image, -1 for a sample
    seeds: np.ndarray  # N: the seed of a sample, -1 for a training image
    method: str  # how the map was made: "t-SNE" or "PCA"
    model_id: str = ""

    def point_at(self, x: float, y: float) -> np.ndarray:
        """The latent a click at (x, y) stands for: the NEAREST closest map points' latents, blended by slerp with
        inverse-distance weights (one point under the click: its own latent)."""
        distance = np.hypot(*(self.positions - np.array([x, y], np.float32)).T)
        nearest = np.argsort(distance)[:NEAREST]
        weights = 1.0 / np.maximum(distance[nearest], 1e-6)
        latent, total = self.latents[nearest[0]], weights[0]
        for index, weight in zip(nearest[1:], weights[1:]):
            total += weight
            latent = slerp(latent, self.latents[index], weight / total)
        return np.asarray(latent, np.float32)

    def path(self, points, steps_between: int = 12) -> np.ndarray:
        """Latents along a path drawn on the map (a list of (x, y)), `steps_between` frames per leg."""
        points = np.asarray(points, np.float32)
        if len(points) < 2:
            return np.stack([self.point_at(*p) for p in points]) if len(points) else np.zeros((0, 0), np.float32)
        frames = [points[i] + (points[i + 1] - points[i]) * t for i in range(len(points) - 1)
                  for t in np.linspace(0, 1, steps_between, endpoint=False)] + [points[-1]]
        return np.stack([self.point_at(*p) for p in frames])

    def save(self, path: Path, key: str) -> None:
        import torch

        arrays = {"positions": self.positions, "latents": self.latents, "images": self.images, "seeds": self.seeds}
        files.save_tensors(path, {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()},
                           meta={"kind": "atlas", "key": key, "method": self.method, "model_id": self.model_id})


def layout(latents: np.ndarray, new: np.ndarray | None = None, seed: int = 0, on_event=None,
           control: Control | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """2D positions of `latents` (the map) and of `new` points placed into it afterwards, and the method."""
    control = control or Control()
    new = np.zeros((0, latents.shape[1]), np.float32) if new is None else new
    try:
        from openTSNE import TSNE
    except ImportError:
        return (*_pca(latents, new), "PCA")

    def progress(iteration, error, embedding):
        control.check()
        if on_event is not None:
            on_event(Progress("laying out the atlas", iteration, 750))

    tsne = TSNE(perplexity=min(PERPLEXITY, max(2, (len(latents) - 1) // 3)), random_state=seed, n_jobs=1,
                callbacks=progress, callbacks_every_iters=25, verbose=False)
    embedding = tsne.fit(np.asarray(latents, np.float64))
    placed = np.asarray(embedding.transform(np.asarray(new, np.float64)), np.float32) if len(new) else \
        np.zeros((0, 2), np.float32)
    return np.asarray(embedding, np.float32), placed, "t-SNE"


def _pca(latents: np.ndarray, new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = latents.mean(0)
    _, _, v = np.linalg.svd(latents - mean, full_matrices=False)
    return ((latents - mean) @ v[:2].T).astype(np.float32), ((new - mean) @ v[:2].T).astype(np.float32)


def encode_training_images(model, dataset, checkpoint: Path | None, on_event=None,
                           control: Control | None = None) -> np.ndarray:
    """The latents of every image of `dataset`: the model's encoder where it has one, else a learned inverse."""
    images = np.asarray(dataset.images) if model.output.channels == 4 else dataset.rgb()  # what the model takes
    if model.can(Capability.ENCODER):
        labels = None
        if model.inputs.num_classes:
            labels = [dataset.label_names[i] if i >= 0 else 0 for i in dataset.labels]
        return np.concatenate([model.encode(images[i:i + 256], None if labels is None else labels[i:i + 256])
                               for i in range(0, len(images), 256)])
    from .encoder import encode_with, encoder_for

    return encode_with(encoder_for(model, checkpoint, on_event, control), images, model.device)


def atlas_for(path, samples: int = SAMPLES, on_event=None, control: Control | None = None) -> Atlas:
    """The atlas of the newest checkpoint of a project, a run, or a checkpoint inside a project: loaded from beside
    it, or made (encoding, then the layout: seconds to a minute) and stored there."""
    from .dataset import load_dataset
    from .model import open_model
    from .project import Project
    from .training_data import dataset_hash

    checkpoint = checkpoints.meant_by(Path(path))
    root = None if checkpoint is None else checkpoint.parent.parent.parent.parent
    if checkpoint is None or not Project.is_project(root):
        raise ValueError(f"{Path(path).name} is not inside a project: the atlas maps the project's training images")
    model = open_model(checkpoint)
    if not model.can(Capability.CONTINUOUS_LATENT):
        raise ValueError(f"a {model.family} model has no continuous latent space to map")
    dataset = load_dataset(Project.open(root), model.size, aspect=model.aspect)
    key = f"{model.id}-{dataset_hash(dataset.hashes, model.size, model.aspect)}-{samples}"
    stored = checkpoint.parent / f"atlas-{checkpoint.stem}.safetensors"
    if stored.is_file():
        try:
            tensors, meta = files.load_tensors(stored)
            if meta.get("key") == key:
                return Atlas(tensors["positions"].numpy(), tensors["latents"].numpy(), tensors["images"].numpy(),
                             tensors["seeds"].numpy(), meta.get("method", ""), model.id)
        except files.FileRefused:
            pass  # broken: made again
    encoded = encode_training_images(model, dataset, checkpoint, on_event, control).astype(np.float32)
    drawn = np.concatenate([latents_for_seed(seed, model.latent_dim, 1) for seed in range(samples)]).astype(np.float32)
    mapped, placed, method = layout(encoded, drawn, on_event=on_event, control=control)
    count = len(encoded)
    atlas = Atlas(np.concatenate([mapped, placed]), np.concatenate([encoded, drawn]),
                  np.concatenate([np.arange(count), np.full(samples, -1)]).astype(np.int64),
                  np.concatenate([np.full(count, -1), np.arange(samples)]).astype(np.int64), method, model.id)
    atlas.save(stored, key)
    return atlas


def mosaic(positions: np.ndarray, images: np.ndarray, side: int = 2048, thumb: int = 36,
           framed: np.ndarray | None = None, bounds: tuple | None = None) -> np.ndarray:
    """One side x side RGBA picture of the map: each image as a `thumb`-pixel thumbnail at its position (scaled
    like the map's view: the bounding square of `bounds`, (low, high) corners, else of the positions, fills the
    picture less a thumbnail's margin), framed in light grey where `framed` says so, on a transparent ground. One
    picture paints in one go, however many thousands of images the map holds."""
    from PIL import Image

    out = np.zeros((side, side, 4), np.uint8)
    if not len(positions):
        return out
    low, high = bounds if bounds is not None else (positions.min(0), positions.max(0))
    scale = (side - 2 * thumb) / max(float((np.asarray(high) - low).max()), 1e-6)
    height, width = images.shape[1:3]  # wide and tall pictures keep their shape inside the thumbnail's square
    across, down = (thumb, max(1, thumb * height // width)) if width >= height else (max(1, thumb * width // height),
                                                                                     thumb)
    corners = ((positions - low) * scale + thumb / 2).astype(int) + [(thumb - across) // 2, (thumb - down) // 2]
    for index, (x, y) in enumerate(corners):
        small = np.asarray(Image.fromarray(np.ascontiguousarray(images[index][..., :3])).resize((across, down),
                                                                                              Image.NEAREST))
        out[y:y + down, x:x + across, :3] = small
        out[y:y + down, x:x + across, 3] = 255
        if framed is not None and framed[index]:
            out[y:y + down, [x, x + across - 1], :3] = 200
            out[[y, y + down - 1], x:x + across, :3] = 200
    return out
