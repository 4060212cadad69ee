"""The images a run trains on: the cached dataset on the device, the held-out split, batches as dicts, the real
images KID compares with, and the dataset's fingerprint. Nothing here trains."""
from __future__ import annotations

import hashlib

import numpy as np
import torch

from .aspect import SQUARE
from .dataset import load_dataset
from .distributed import share
from .pixels import to_unit
from .project import Project

HOLDOUT_JUDGED = 512  # held-out images a checkpoint is judged on: enough for a stable figure, quick on a CPU
KID_REAL = 2048  # real images whose features KID compares with (cached per dataset and size)


def dataset_hash(hashes: list[str], size: int, aspect: str = SQUARE) -> str:
    """The fingerprint of a dataset at a size and aspect: a checkpoint records it, so a resumed run sees what
    changed."""
    framing = f"@{size}" if aspect == SQUARE else f"@{size}@{aspect}"
    return hashlib.sha1(("|".join(hashes) + framing).encode()).hexdigest()[:16]


class TrainingData:
    """`next_batch` gives this rank's share of a batch: {"image": N x 3 x S x S in [-1, 1]} and, for a family that
    takes labels, {"label": N}. The held-out images stay out of training when the family is judged on them (others
    train on every image, and their in-training measure still reads the held-out ones)."""

    def __init__(self, project: Project, size: int, device: torch.device, labelled: bool, hold_out: bool,
                 alpha: bool = False, aspect: str = SQUARE, layout: str = "images"):
        data = load_dataset(project, size, aspect=aspect)
        if len(data.hashes) == 0:
            raise ValueError("the dataset is empty: add images first")
        self.label_names = list(data.label_names)
        self.fully_labelled = len(self.label_names) >= 2 and not (data.labels < 0).any()
        self.labelled = labelled
        self.device = device
        holdout = torch.from_numpy(data.split.copy())
        if hold_out and holdout.all():  # too few images to hold any out
            holdout[:] = False
        # N x H x W x 4 uint8 RGBA for models that learn transparency (an image without alpha is opaque), else
        # N x H x W x 3 composited onto the project's background
        images = torch.from_numpy(np.array(data.images) if alpha else data.rgb())
        self.hash = dataset_hash(data.hashes, size, aspect)
        self.count = len(data.hashes)  # images in the dataset, held-out ones included (what `hash` covers)
        pick = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))[:KID_REAL].sort().values
        self.real_for_kid = lambda: data.rgb(pick.numpy())  # read only when the features are not cached yet
        self.kid_real_count = len(pick)
        self.layout = layout
        if layout != "images":
            self._two_sides(data, images, holdout, layout)
            return
        labels = torch.from_numpy(data.labels.astype("int64"))
        keep = ~holdout if hold_out else torch.ones_like(holdout)
        self.images, self.labels = images[keep].to(device), labels[keep].to(device)
        judged = holdout.nonzero().flatten()[:HOLDOUT_JUDGED]
        self.holdout = to_unit(images[judged].to(device)) if len(judged) else None
        self.holdout_labels = labels[judged].to(device) if len(judged) else None

    def _two_sides(self, data, images: torch.Tensor, holdout: torch.Tensor, layout: str) -> None:
        """Image-to-image: every image on the device, and the rows of the training and held-out A and B pictures
        (`train_a`/`train_b` and `held_a`/`held_b`): a paired family's are aligned pair by pair, an unpaired
        family's are the two collections. Held out: the pictures (or pairs) of the held-out split, or, when it holds
        none of a side, that side's first pictures (shown and judged, never left out of training)."""
        self.images = images.to(self.device)
        if layout == "paired":
            if data.pairs is None or not len(data.pairs):
                raise ValueError("this family learns from pairs, and this project has none: add an A folder and a "
                                 "B folder whose pictures share their names, or side-by-side pictures")
            rows = torch.from_numpy(data.pairs)
            train, held = _train_and_held(rows, holdout[rows[:, 0]])
            self.train_a, self.train_b = train[:, 0].to(self.device), train[:, 1].to(self.device)
            self.held_a, self.held_b = held[:, 0], held[:, 1]
        else:
            sides = data.sides if data.sides is not None else np.array([])
            rows = {side: torch.from_numpy(np.flatnonzero(sides == side)) for side in ("A", "B")}
            for side, found in rows.items():
                if not len(found):
                    raise ValueError(f"this family learns from two collections, and side {side} of this project is "
                                     "empty: add pictures to both sides")
            (train_a, self.held_a), (train_b, _) = (_train_and_held(r, holdout[r]) for r in rows.values())
            self.train_a, self.train_b = train_a.to(self.device), train_b.to(self.device)
            self.held_b = rows["B"]  # what a translation's KID compares with: the B collection
        self.holdout = {"a": to_unit(self.images[self.held_a[:HOLDOUT_JUDGED].to(self.device)]),
                        "b": to_unit(self.images[self.held_b[:HOLDOUT_JUDGED].to(self.device)])}
        self.holdout_labels = None

    def examples(self, count: int) -> tuple[torch.Tensor, torch.Tensor]:
        """`count` held-out A pictures and their B partners (unpaired: B pictures), cycled when there are fewer."""
        pick = torch.arange(count)
        a = self.held_a[pick % len(self.held_a)].to(self.device)
        b = self.held_b[pick % len(self.held_b)].to(self.device)
        return to_unit(self.images[a]), to_unit(self.images[b])

    def next_batch(self, batch: int, gen: torch.Generator, shard: tuple[int, int]) -> dict:
        """Indices for the whole batch (`batch` split evenly over the ranks) drawn on every rank, so generators
        stay in step; this rank keeps its share."""
        total = batch // shard[1] * shard[1]
        if self.layout != "images":
            return self._two_sided_batch(total, gen, shard)
        idx = share(torch.randint(len(self.images), (total,), generator=gen, device=self.device), shard)
        out = {"image": to_unit(self.images[idx])}
        if self.device.type == "cuda":
            out["image"] = out["image"].contiguous(memory_format=torch.channels_last)
        if self.labelled:
            out["label"] = self.labels[idx]
        return out


    def _two_sided_batch(self, total: int, gen: torch.Generator, shard: tuple[int, int]) -> dict:
        """{"a": A pictures, "b": B pictures}: pairs drawn together, or the two collections drawn apart."""
        first = torch.randint(len(self.train_a), (total,), generator=gen, device=self.device)
        second = first if self.layout == "paired" else torch.randint(len(self.train_b), (total,), generator=gen,
                                                                     device=self.device)
        out = {"a": to_unit(self.images[self.train_a[share(first, shard)]]),
               "b": to_unit(self.images[self.train_b[share(second, shard)]])}
        if self.device.type == "cuda":
            out = {key: value.contiguous(memory_format=torch.channels_last) for key, value in out.items()}
        return out


def _train_and_held(rows: torch.Tensor, held: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The rows trained on and the rows held out; with none (or nothing but) held out, all are trained on and the
    first eight are shown and judged."""
    if held.any() and (~held).any():
        return rows[~held], rows[held]
    return rows, rows[:8]
