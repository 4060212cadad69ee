"""Images taken out of the dataset, kept so that taking them out can be undone.

Each removal is a folder dataset/removed/<n>/: the manifest rows removed, the dataset settings their pixels were
decoded with, and their rows of every cache that matched the manifest (images-<size>[-WxH].npy). Putting the newest
back appends its rows to every cache they were kept for; any other cache (a size made since, or another crop) is
deleted, to be rebuilt from the sources when needed. The rows file is written last and marks a removal complete, so
a crash midway leaves nothing to undo rather than half of it. engine/dataset.py owns the manifest and calls these.
"""
from __future__ import annotations

import itertools
import json
import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np

from . import files
from .aspect import ASPECTS, shape
from .dataset_cache import CHUNK, cache_blocks, caches, valid_cache, write_cache
from .project import Project

KEPT = 20  # removals that can be undone, newest first; older ones are forgotten
ROWS = "rows.json"


def _folder(project: Project) -> Path:
    return project.dataset_dir / "removed"


def _complete(project: Project) -> list[Path]:
    """The removals that can be put back, oldest first."""
    folder = _folder(project)
    if not folder.is_dir():
        return []
    return sorted((path for path in folder.iterdir() if path.name.isdigit() and (path / ROWS).is_file()),
                  key=lambda path: int(path.name))


def _settings(project: Project) -> dict:
    return json.loads(json.dumps(asdict(project.dataset)))  # as JSON gives them back: tuples become lists


def undoable(project: Project) -> int:
    """How many removals can be undone."""
    return len(_complete(project))


def keep(project: Project, rows: list[dict], removed: np.ndarray) -> None:
    """Keep rows `removed` of the manifest `rows` (and their pixels in each cache that matches it) before they go."""
    done = _complete(project)
    target = _folder(project) / f"{int(done[-1].name) + 1 if done else 1:06d}"
    shutil.rmtree(target, ignore_errors=True)  # an incomplete one left by a crash
    target.mkdir(parents=True)
    for (size, aspect), path in caches(project).items():
        if aspect in ASPECTS and valid_cache(project, size, len(rows), aspect):
            files.save_npy(target / path.name, np.asarray(files.load_npy(path)[removed]))
    files.write_json(target / ROWS, {"rows": [rows[i] for i in removed], "settings": _settings(project)})
    for old in done[:max(0, len(done) + 1 - KEPT)]:
        shutil.rmtree(old, ignore_errors=True)


def put_back(project: Project, rows: list[dict]) -> list[dict]:
    """The newest removal's rows not in the manifest `rows` again, their pixels appended to each cache that matches
    `rows`; the caller appends the returned rows to the manifest, then calls `forget_newest`. [] when none."""
    done = _complete(project)
    if not done:
        return []
    record = files.read_json(done[-1] / ROWS)
    present = {row["hash"] for row in rows}
    back_index = np.array([i for i, row in enumerate(record["rows"]) if row["hash"] not in present], np.int64)
    back = [record["rows"][i] for i in back_index]
    same_pixels = record["settings"] == _settings(project)
    for (size, aspect), path in caches(project).items():
        kept = done[-1] / path.name
        if back and same_pixels and kept.is_file() and valid_cache(project, size, len(rows), aspect):
            extra = files.load_npy(kept)[back_index]
            blocks = (extra[start:start + CHUNK] for start in range(0, len(extra), CHUNK))
            write_cache(path, shape(size, aspect), len(rows) + len(back), itertools.chain(cache_blocks(path), blocks))
        elif back:
            path.unlink(missing_ok=True)
    return back


def forget_newest(project: Project) -> None:
    done = _complete(project)
    if done:
        shutil.rmtree(done[-1], ignore_errors=True)
