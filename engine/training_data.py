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
                 alpha: bool = False, aspect: str = SQUARE):
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
        labels = torch.from_numpy(data.labels.astype("int64"))
        keep = ~holdout if hold_out else torch.ones_like(holdout)
        self.images, self.labels = images[keep].to(device), labels[keep].to(device)
        judged = holdout.nonzero().flatten()[:HOLDOUT_JUDGED]
        self.holdout = to_unit(images[judged].to(device)) if len(judged) else None
        self.holdout_labels = labels[judged].to(device) if len(judged) else None
        self.hash = dataset_hash(data.hashes, size, aspect)
        self.count = len(data.hashes)  # images in the dataset, held-out ones included (what `hash` covers)
        pick = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))[:KID_REAL].sort().values
        self.real_for_kid = lambda: data.rgb(pick.numpy())  # read only when the features are not cached yet

    def next_batch(self, batch: int, gen: torch.Generator, shard: tuple[int, int]) -> dict:
        """Indices for the whole batch (`batch` split evenly over the ranks) drawn on every rank, so generators
        stay in step; this rank keeps its share."""
        total = batch // shard[1] * shard[1]
        idx = share(torch.randint(len(self.images), (total,), generator=gen, device=self.device), shard)
        out = {"image": to_unit(self.images[idx])}
        if self.device.type == "cuda":
            out["image"] = out["image"].contiguous(memory_format=torch.channels_last)
        if self.labelled:
            out["label"] = self.labels[idx]
        return out

