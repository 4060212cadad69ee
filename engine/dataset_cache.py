"""The decoded images on disk: one uint8 N x H x W x 4 array per size and aspect (images-64.npy for squares,
images-64-2x1.npy for 2:1), valid only while it matches the manifest row for row, written a block at a time and
renamed into place. Knows nothing of sources or decoding: that is engine/dataset.py's business.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from . import files
from .aspect import ASPECTS, SQUARE, shape
from .project import Project

CHUNK = 512  # cache rows copied at a time


def valid_cache(project: Project, size: int, count: int, aspect: str = SQUARE) -> Path | None:
    """The cache at `size` and `aspect` when it matches the manifest row for row (a crash between writes leaves a
    mismatch)."""
    path = project.cache_path(size, aspect)
    if not path.exists():
        return None
    try:
        images = files.load_npy(path)
    except (OSError, ValueError):
        return None
    valid = images.dtype == np.uint8 and images.shape == (count, *shape(size, aspect), 4)
    del images
    return path if valid else None


def caches(project: Project) -> dict[tuple[int, str], Path]:
    """Every cache in the project by (size, aspect)."""
    if not project.dataset_dir.is_dir():
        return {}
    return {(int(m.group(1)), f"{m.group(2)}:{m.group(3)}" if m.group(2) else SQUARE): path
            for path in project.dataset_dir.glob("images-*.npy")
            if (m := re.fullmatch(r"images-(\d+)(?:-(\d+)x(\d+))?\.npy", path.name))}


def delete_other_caches(project: Project, keep: int, also: str | None = None) -> None:
    """All but the square cache at `keep` px (and the one at aspect `also`): stale now, rebuilt from the sources on
    demand."""
    for (size, aspect), path in caches(project).items():
        if size != keep or aspect not in (SQUARE, also):
            path.unlink(missing_ok=True)


def keep_rows(project: Project, count: int, index: np.ndarray, skip: Path | None = None) -> None:
    """Keep rows `index` of every cache that holds `count` rows (the manifest before the change); delete the others
    (and leave `skip` alone: its caller has just written it)."""
    for (size, aspect), path in caches(project).items():
        if path == skip or aspect not in ASPECTS:
            continue
        if valid_cache(project, size, count, aspect):
            write_cache(path, shape(size, aspect), len(index), cache_blocks(path, index))
        else:
            path.unlink(missing_ok=True)


def cache_blocks(path: Path | None, index: np.ndarray | None = None):
    """Rows of an existing cache, a block at a time; the memory map is released once the last block is out."""
    if path is None:
        return
    images = files.load_npy(path)
    index = np.arange(len(images)) if index is None else index
    for start in range(0, len(index), CHUNK):
        yield np.asarray(images[index[start:start + CHUNK]])


def list_blocks(pixels: list[np.ndarray]):
    for start in range(0, len(pixels), CHUNK):
        yield np.stack(pixels[start:start + CHUNK])


def write_cache(path: Path, frame: tuple[int, int], count: int, blocks) -> None:
    """Stream blocks into a new .npy beside `path` and rename it into place; memory holds one block at a time.
    Plain writes, not a memory map: a full disk then fails the write (ENOSPC) instead of killing the process
    with SIGBUS when a mapped page cannot be backed."""
    with files.atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.lib.format.write_array_header_1_0(f, {"descr": "|u1", "fortran_order": False,
                                                     "shape": (count, *frame, 4)})
            at = 0
            for block in blocks:
                f.write(np.ascontiguousarray(block, np.uint8).tobytes())
                at += len(block)
        if at != count:
            raise RuntimeError(f"cache {path.name}: wrote {at} rows, expected {count}")
