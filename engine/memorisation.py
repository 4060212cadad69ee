"""Did the model copy my images? A memorisation meter: for any image, the nearest training images, a similarity,
and whether it counts as a copy, with the verdict calibrated on the project's own images.

Similarity is the correlation of the two pictures' pixels (each made zero-mean and unit-length), at most 64 px a
side, taken at the best of the small shifts (up to 1/16 of the side) of the image: the nearest-neighbour measure
FastGAN's script uses, made tolerant of the small moves, re-encodings and resizes a copy goes through. On real
digits, pooled ImageNet features could not tell a re-encoded training digit (5th percentile 0.92) from an unseen
one (median 0.93); this measure gives 0.999 and up for altered copies and at most 0.98 for unseen digits.

Calibration (Somepalli et al. 2023; Feng et al. 2021): lightly altered training images (JPEG, shifts, resizes,
drawn with CALIBRATION_SEED) must count as copies, and real images the model never copied (each training image
against all the others) must not. The threshold sits between the two, and the calibration is
kept beside the dataset (keyed by its hash). When the run trained with flips, mirrored training images are copies
too.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import files
from .aspect import SQUARE, suffix
from .control import Control
from .dataset import load_dataset
from .training_data import dataset_hash

SIDE = 64  # pictures are compared at most this many pixels a side (finer: more variants of one drawing told apart)
CALIBRATION_SEED = 1234  # the alterations the threshold is fitted on (tests use others)
CALIBRATION_IMAGES = 256  # training images altered, and compared with the others, to calibrate
CHUNK = 256  # queries compared at once


@dataclass(frozen=True)
class Verdict:
    nearest: list[int]  # dataset indices of the closest training images, closest first
    similarity: float  # to the closest, from -1 to 1 (1: the same picture)
    copy: bool


def alter(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A light alteration a copy may go through: a JPEG re-encoding, a shift of a pixel or two, a resize and back,
    or two of them."""
    from PIL import Image

    out = image
    for kind in rng.choice(["jpeg", "shift", "resize"], size=int(rng.integers(1, 3)), replace=False):
        height, width = out.shape[:2]
        if kind == "jpeg":
            buffer = io.BytesIO()
            Image.fromarray(out).save(buffer, "JPEG", quality=int(rng.integers(70, 96)))
            out = np.asarray(Image.open(buffer).convert("RGB"))
        elif kind == "shift":
            limit = max(1, min(height, width) // 16)
            out = np.roll(out, (int(rng.integers(-limit, limit + 1)), int(rng.integers(-limit, limit + 1))), (0, 1))
        else:
            scale = rng.uniform(0.8, 0.95)
            small = (max(4, int(round(width * scale))), max(4, int(round(height * scale))))
            out = np.asarray(Image.fromarray(out).resize(small, Image.BICUBIC).resize((width, height), Image.BICUBIC))
    return np.ascontiguousarray(out)


def _pixels(images: np.ndarray, side: int, background=(255, 255, 255)) -> torch.Tensor:
    if images.shape[-1] == 4:  # what a model with alpha makes is seen over the background its images were laid on
        from .dataset import composite

        images = composite(images, background)
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()
    return F.interpolate(x, size=(side, side), mode="area") if x.shape[-1] != side else x


def _unit(x: torch.Tensor) -> torch.Tensor:
    flat = x.reshape(len(x), -1)
    return F.normalize(flat - flat.mean(1, keepdim=True), dim=1)


class Meter:
    """The training images as the meter compares them, and the calibrated threshold."""

    def __init__(self, images: np.ndarray, sources: list[str], threshold: float, calibration: dict,
                 flips: bool = False, background=(255, 255, 255), aspect: str = SQUARE,
                 rgba: np.ndarray | None = None):
        self.background, self.aspect = tuple(background), aspect
        self._rgba = rgba  # the same images with their transparency, to show beside a model that draws it
        self.side = min(SIDE, images.shape[1])
        self.shift = max(1, self.side // 16)
        bank = _unit(_pixels(images, self.side))
        if flips:  # a mirrored training image is a copy when the run trained on mirrored images
            bank = torch.cat([bank, _unit(_pixels(images[:, :, ::-1], self.side))])
        self._bank, self._count, self._images, self.size = bank, len(images), images, max(images.shape[1:3])
        self.sources, self.threshold, self.calibration, self.flips = sources, threshold, calibration, flips

    def image(self, index: int, alpha: bool = False) -> np.ndarray:
        """Training image `index`, to show beside a verdict: as compared, on the background (H x W x 3 uint8), or
        with its own transparency (H x W x 4) beside a model that draws transparency (`alpha`)."""
        if alpha and self._rgba is not None:
            return self._rgba[index]
        return self._images[index]

    def similarities(self, images: np.ndarray, exclude: np.ndarray | None = None, k: int = 1):
        """The k best similarities of each image to the training images and their indices (N x k each);
        `exclude[i]`, where given, is a training index image i may not match (itself, when calibrating)."""
        best_sims, best_index = [], []
        for start in range(0, len(images), CHUNK):
            query = _pixels(images[start:start + CHUNK], self.side, self.background)
            padded = F.pad(query, (self.shift,) * 4, mode="replicate")
            best = None
            for dy in range(2 * self.shift + 1):
                for dx in range(2 * self.shift + 1):
                    moved = _unit(padded[:, :, dy:dy + self.side, dx:dx + self.side])
                    sims = moved @ self._bank.T
                    best = sims if best is None else torch.maximum(best, sims)
            if self.flips:  # an image and its mirror are one training image
                best = torch.maximum(best[:, :self._count], best[:, self._count:])
            if exclude is not None:
                rows = torch.arange(len(best))
                best[rows, torch.from_numpy(exclude[start:start + CHUNK])] = -2.0
            values, indices = best.topk(min(k, best.shape[1]), dim=1)
            best_sims.append(values)
            best_index.append(indices)
        return torch.cat(best_sims).numpy(), torch.cat(best_index).numpy()

    def judge(self, images: np.ndarray, k: int = 3) -> list[Verdict]:
        """N x H x W x 3 uint8 images (any side) -> a verdict for each."""
        sims, indices = self.similarities(images, k=k)
        return [Verdict([int(i) for i in row_index], float(row[0]), bool(row[0] >= self.threshold))
                for row, row_index in zip(sims, indices)]


def calibrate(images: np.ndarray, flips: bool = False, seed: int = CALIBRATION_SEED) -> tuple[float, dict]:
    """The threshold between altered copies of the images and real images that are not copies (each image
    against all the others), with the figures it was chosen from."""
    rng = np.random.default_rng(seed)
    meter = Meter(images, [""] * len(images), 1.0, {}, flips)
    picked = rng.choice(len(images), size=min(CALIBRATION_IMAGES, len(images)), replace=False)
    copies = meter.similarities(np.stack([alter(images[i], rng) for i in picked]))[0][:, 0]
    others = meter.similarities(images[picked], exclude=picked)[0][:, 0]
    low_copy, high_other = float(np.percentile(copies, 2)), float(np.percentile(others, 98))
    threshold = (low_copy + high_other) / 2 if low_copy > high_other else _balanced(copies, others)
    figures = {"copies_flagged": float((copies >= threshold).mean()),
               "others_flagged": float((others >= threshold).mean()),
               "copy_similarity_2nd_percentile": low_copy, "other_similarity_98th_percentile": high_other,
               "separated": low_copy > high_other, "images": len(picked)}
    return float(threshold), figures


def _balanced(copies: np.ndarray, others: np.ndarray) -> float:
    """Where the two overlap: the threshold that gets the most of both right."""
    candidates = np.unique(np.concatenate([copies, others]))
    scores = [(copies >= t).mean() + (others < t).mean() for t in candidates]
    return float(candidates[int(np.argmax(scores))])


def meter_for(project, size: int | None = None, flips: bool = False, control: Control | None = None,
              aspect: str = SQUARE) -> Meter:
    """The meter of a project's images at `size` (default: the project's) and `aspect`, calibrated once and kept
    beside the dataset."""
    dataset = load_dataset(project, size=size, control=control, aspect=aspect)
    if len(dataset) < 2:
        raise ValueError("the meter needs at least two images in the project")
    images, side = dataset.rgb(), max(dataset.images.shape[1:3])  # the long side, as the model's size
    sources = {row["hash"]: row.get("source", "") for row in files.read_json(project.manifest_path,
                                                                              default={"images": []})["images"]}
    key = f"{dataset_hash(dataset.hashes, side, aspect)}-{CALIBRATION_SEED}"
    path = project.root / "dataset" / f"meter-{side}{suffix(aspect)}{'-flips' if flips else ''}.json"
    stored = files.read_json(path, default={})
    if stored.get("key") == key:
        threshold, figures = stored["threshold"], stored["calibration"]
    else:
        threshold, figures = calibrate(images, flips)
        files.write_json(path, {"key": key, "threshold": threshold, "calibration": figures})
    return Meter(images, [sources.get(h, "") for h in dataset.hashes], threshold, figures, flips,
                 dataset.background, aspect, dataset.images)


def project_and_flips(source, project=None) -> tuple:
    """The project whose images a model at `source` (a project, run, checkpoint or model file) was trained on, and
    whether it trained with flips: `project` when given; the project a run or checkpoint lives in; for a model file,
    a project beside it or above it whose dataset has the file's fingerprint. Fails in one line otherwise."""
    from . import checkpoints
    from .model_file import provenance_of
    from .project import Project

    source = Path(source)
    if Project.is_project(source):
        return Project.open(project or source), False
    checkpoint = checkpoints.meant_by(source)
    if checkpoint is not None:
        record = files.read_json(checkpoint)
        runs = checkpoint.parent.parent.parent  # <project>/runs/<run>/checkpoints/step-XXXXXX.json
        flips = bool(record.get("config", {}).get("flip"))
        if project is None and runs.name == "runs" and Project.is_project(runs.parent):
            project = runs.parent
    else:
        _, meta = files.load_tensors(source)
        flips = bool(meta.get("config", {}).get("flip"))
        if project is None:
            config = meta.get("config", {})
            project = _project_with(provenance_of(source).get("dataset_hash"), config.get("size", 0),
                                    config.get("aspect") or SQUARE, source.resolve().parent)
    if project is None:
        raise ValueError(f"cannot tell which project {source.name} was trained on: give it with --project")
    return Project.open(Path(project)), flips


def _project_with(fingerprint: str | None, size: int, aspect: str, near: Path):
    """A project folder beside or above `near` (or one level inside those) whose dataset hashes to `fingerprint`."""
    from .project import Project

    if not fingerprint:
        return None
    for folder in [near, *near.parents][:4]:
        for candidate in [folder, *sorted(p for p in folder.iterdir() if p.is_dir())]:
            if Project.is_project(candidate):
                rows = files.read_json(Project.open(candidate).manifest_path, default={"images": []})["images"]
                if dataset_hash([row["hash"] for row in rows], size, aspect) == fingerprint:
                    return candidate
    return None
