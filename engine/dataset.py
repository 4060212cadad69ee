"""Ingestion and the dataset: scan sources, decode on a thread pool, deduplicate, keep the report and the caches.

Holds `ingest` (folders, image files and zips into the project), `load_dataset` (the cached uint8 RGBA array at one
size and aspect, rebuilt from the sources when missing), `remove_images` and `restore_removed` (kept aside in
engine/removed_images.py), `dataset_stats` and the project's
choices that depend on its images (`chosen_aspect`, `uses_alpha`). Where the files are found lives in
engine/sources.py, what one file becomes in engine/decode.py, the cache files in engine/dataset_cache.py. Nothing
from a zip is ever written to disk; every write is atomic and happens only once the whole call has succeeded, so a
cancelled or failed call leaves the project as it was.

Must not import Qt or torch: the GUI, the CLI and the tests all call these functions the same way.
"""
from __future__ import annotations

import hashlib
import itertools
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from . import files, removed_images
from .aspect import SQUARE, nearest, shape
from .aspect import check as check_aspect
from .control import Control
from .dataset_cache import (CHUNK, cache_blocks, delete_other_caches, keep_rows, list_blocks, valid_cache,
                            write_cache)
from .decode import CROPS, Item, Outcome, decode_all
from .events import IngestResult, Message
from .project import Project
from .sources import reopen, scan

LAYOUTS = ("images", "paired", "unpaired")  # single images; A -> B pairs (pix2pix); two collections (CycleGAN)
LAYOUT_WORDS = {"images": "single images", "paired": "pairs of images", "unpaired": "two collections of images"}
SIDES = ("A", "B")
TRANSPARENT_IMAGES = 0.25  # a project's models learn transparency (alpha "auto") when this share of its images use it


@dataclass(frozen=True)
class Dataset:
    images: np.ndarray  # N x H x W x 4 uint8 RGBA, usually a read-only memory map of the cache
    labels: np.ndarray  # int64 index into label_names, -1 where the image has no label
    label_names: list[str]
    split: np.ndarray  # bool, True for the held-out images
    hashes: list[str]
    background: tuple  # RGB that transparent pixels are composited onto
    sides: np.ndarray | None = None  # "A" or "B" per image in a project of two sides (image-to-image), else None
    pairs: np.ndarray | None = None  # P x 2 indices of a paired project's (A, B) images, else None

    def __len__(self) -> int:
        return len(self.hashes)

    def rgb(self, indices=None) -> np.ndarray:
        """The images composited onto the background: ... x H x W x 3 uint8."""
        images = self.images if indices is None else self.images[indices]
        out = np.empty(images.shape[:-1] + (3,), np.uint8)
        flat_in, flat_out = images.reshape(-1, images.shape[-1]), out.reshape(-1, 3)
        step = CHUNK * 64 * 64
        for start in range(0, len(flat_in), step):  # a block at a time: the cache may be a memory map
            flat_out[start:start + step] = composite(np.asarray(flat_in[start:start + step]), self.background)
        return out


def composite(rgba: np.ndarray, background) -> np.ndarray:
    """... x 4 uint8 RGBA onto an RGB background -> ... x 3 uint8."""
    alpha = rgba[..., 3:4].astype(np.uint16)
    # a convex combination of bytes stays below 255 * 255, so uint16 holds it without overflow
    mixed = (rgba[..., :3] * alpha + np.asarray(background, np.uint16) * (255 - alpha) + 127) // 255
    return mixed.astype(np.uint8)


# --- the public functions --------------------------------------------------------------------------------------------

def ingest(project: Project, sources: list[str | Path], size: int | None = None, crop: str | None = None,
           workers: int | None = None, on_event=None, control: Control | None = None,
           alpha: str | None = None, aspect: str | None = None, layout: str | None = None, side: str = "",
           halves: bool = False) -> IngestResult:
    """Add the images in `sources` (folders, image files, zips) to the project; list every file refused and why.

    Duplicates of each other or of images already in the project are dropped. Changing `crop` re-crops the images
    already there (an empty `sources` does only that). `alpha` (on, off, auto) and `aspect` (width:height, or auto)
    set what the project's models draw.

    Image-to-image projects (`layout` "paired" or "unpaired", recorded in the project) hold images on two sides:
    `side` ("A" or "B") says which one `sources` go to. A paired project pairs an A with the B of the same name
    (its path below the folder added, without the extension); `halves` splits each picture into its A | B halves
    instead (the pix2pix convention). Images without a partner are kept and listed (IngestResult.unmatched) until
    their partner arrives.
    """
    if alpha is not None and alpha not in ("on", "off", "auto"):
        raise ValueError(f"alpha is on, off or auto, not {alpha!r}")
    if aspect is not None and aspect != "auto":
        check_aspect(aspect)
    size = int(size or project.dataset.size)
    crop = crop or project.dataset.crop
    if size < 1 or crop not in CROPS:
        raise ValueError(f"size must be positive and crop one of {CROPS}; got {size}, {crop!r}")
    emit = on_event or (lambda event: None)
    if control is not None:
        control.check()
    rows = _read_manifest(project)
    old_cached = valid_cache(project, size, len(rows)) if crop == project.dataset.crop else None
    # a wide or tall project's own cache grows with the square one, from the same decoding
    framing = chosen_aspect(project) if aspect in (None, "auto") else aspect
    old_framed = valid_cache(project, size, len(rows), framing) if framing != SQUARE and old_cached else None
    old_pixels = None
    if old_cached is None and rows:  # a new size or crop: what is already in the project is decoded again
        rows, old_pixels = _rebuild(rows, size, _decoding_crop(crop, project.dataset.layout), workers, emit, control)
    paths = [os.path.abspath(os.path.expanduser(str(source))) for source in sources]
    layout = _layout(project, rows, layout, side, halves)
    items, rejects, archives = scan(paths, project.root)
    items = _sided(items, side, halves)
    refused_sources = {path for path, _ in rejects}
    seen = {row["hash"] for row in rows}
    try:
        outcomes = decode_all(items, size, _decoding_crop(crop, layout), seen, workers, emit, control, "ingest",
                              also=framing if old_framed else None)
    finally:
        for archive in archives:
            archive.close()

    new_rows, new_pixels, new_framed = [], [], []
    duplicates = small = 0
    named = {(row.get("side"), row.get("pair")) for row in rows}
    for outcome in outcomes:
        if outcome.reason:
            rejects.append((outcome.item.source, outcome.reason))
        elif outcome.duplicate or outcome.hash in seen:
            duplicates += 1
        elif layout == "paired" and (outcome.item.side, outcome.item.key) in named:
            rejects.append((outcome.item.source, f"another image on side {outcome.item.side} has the name "
                                                 f"{outcome.item.key!r}, which pairs it"))
        else:
            seen.add(outcome.hash)
            named.add((outcome.item.side, outcome.item.key))
            small += min(outcome.width, outcome.height) < size
            new_rows.append(_row(outcome, layout))
            new_pixels.append(outcome.pixels)
            new_framed.append(outcome.also)

    # Everything is decoded; from here on nothing checks for cancellation, so the writes below all happen.
    if new_rows or old_pixels is not None:
        old_blocks = cache_blocks(old_cached) if old_pixels is None else list_blocks(old_pixels)
        write_cache(project.cache_path(size), shape(size), len(rows) + len(new_rows),
                     itertools.chain(old_blocks, list_blocks(new_pixels)))
        if old_framed is not None:
            write_cache(project.cache_path(size, framing), shape(size, framing), len(rows) + len(new_rows),
                        itertools.chain(cache_blocks(old_framed), list_blocks(new_framed)))
        rows = rows + new_rows
        delete_other_caches(project, keep=size, also=framing if old_framed else None)
        _write_manifest(project, rows)
    lonely = unmatched(rows) if layout == "paired" else []
    _write_report(project, rejects, {item.source for item in items},
                  {"kept": len(new_rows), "rejected": len(rejects), "duplicates": duplicates, "small": small,
                   **({"unmatched": len(lonely)} if layout == "paired" else {})}, lonely)
    project.dataset.size, project.dataset.crop, project.dataset.layout = size, crop, layout
    project.dataset.alpha = alpha or project.dataset.alpha
    project.dataset.aspect = aspect or project.dataset.aspect
    added = [path for path in paths if path not in refused_sources]
    project.dataset.sources = list(dict.fromkeys(project.dataset.sources + added))
    project.save()
    return IngestResult(kept=len(new_rows), rejected=len(rejects), duplicates=duplicates, small=small,
                        total=len(rows), report_path=project.report_path, rejects=tuple(rejects),
                        unmatched=tuple(lonely))


def load_dataset(project: Project, size: int | None = None, on_event=None, control: Control | None = None,
                 workers: int | None = None, aspect: str = SQUARE) -> Dataset:
    """The dataset at `size` px (the long side) and `aspect`; when no cache exists for them it is built from the
    sources and saved."""
    size = int(size or project.dataset.size)
    emit = on_event or (lambda event: None)
    rows = _read_manifest(project)
    path = project.cache_path(size, aspect)
    if valid_cache(project, size, len(rows), aspect) is None:
        kept, pixels = _rebuild(rows, size, _decoding_crop(project.dataset.crop, project.dataset.layout), workers,
                                emit, control, aspect)
        write_cache(path, shape(size, aspect), len(kept), list_blocks(pixels))
        if len(kept) < len(rows):
            _drop_rows(project, rows, {row["hash"] for row in kept}, skip=path)
        rows = kept
    names = sorted({row["label"] for row in rows if row["label"]})
    index = {name: i for i, name in enumerate(names)}
    return Dataset(images=files.load_npy(path),
                   labels=np.array([index.get(row["label"], -1) for row in rows], np.int64),
                   label_names=names,
                   split=np.array([row["split"] == "holdout" for row in rows], bool),
                   hashes=[row["hash"] for row in rows],
                   background=tuple(project.dataset.background),
                   sides=np.array([row.get("side", "") for row in rows]) if project.dataset.layout != "images"
                   else None,
                   pairs=np.array(pairs(rows), np.int64).reshape(-1, 2) if project.dataset.layout == "paired"
                   else None)


def remove_images(project: Project, hashes: list[str]) -> int:
    """Take these images out of the manifest and every cache, kept aside so `restore_removed` can put them back;
    returns how many were removed."""
    rows = _read_manifest(project)
    keep = {row["hash"] for row in rows} - set(hashes)
    removed = np.array([i for i, row in enumerate(rows) if row["hash"] not in keep], np.int64)
    if len(removed):
        removed_images.keep(project, rows, removed)
    return _drop_rows(project, rows, keep)


def restore_removed(project: Project) -> int:
    """Undo the newest `remove_images`: its images come back, at the end of the dataset (those added again since
    stay as they are); returns how many came back."""
    rows = _read_manifest(project)
    back = removed_images.put_back(project, rows)
    if back:
        _write_manifest(project, rows + back)
    removed_images.forget_newest(project)
    return len(back)


def dataset_stats(project: Project) -> dict:
    """Counts for presets and the GUI, from the manifest and the report only (no pixels are read)."""
    rows = _read_manifest(project)
    labels: dict[str, int] = {}
    for row in rows:
        if row["label"]:
            labels[row["label"]] = labels.get(row["label"], 0) + 1
    sides = [min(row["width"], row["height"]) for row in rows]
    # a cut-out padded whole (crop "auto") keeps its scale in a frame of any shape: it counts as square, the shape
    # the base models draw, and the pictures cropped to fill the frame have their say
    padded = _decoding_crop(project.dataset.crop, project.dataset.layout) == "auto"
    ratios = [1.0 if padded and row.get("transparent") else row["width"] / row["height"]
              for row in rows if row["width"] and row["height"]]
    median_aspect = float(np.median(ratios)) if ratios else 1.0
    transparent = sum(bool(row.get("transparent")) for row in rows)
    report = files.read_json(project.report_path, default={"rejected": []})
    per_side = {side: sum(row.get("side") == side for row in rows) for side in SIDES}
    return {"count": len(rows), "labels": dict(sorted(labels.items())), "layout": project.dataset.layout,
            "sides": per_side, "pairs": len(pairs(rows)), "unmatched": len(unmatched(rows)),
            "median_size": int(np.median(sides)) if sides else 0, "rejected": len(report["rejected"]),
            "transparent": transparent, "median_aspect": median_aspect,
            "undoable_removals": removed_images.undoable(project),
            # what "auto" chooses: the nearest aspect, and alpha when a quarter of the images use transparency
            "aspect": nearest(median_aspect), "alpha": bool(rows) and transparent >= TRANSPARENT_IMAGES * len(rows),
            # models draw in grey when every picture is black and white (manifests written before this say colour)
            "grey": bool(rows) and all(row.get("grey") for row in rows)}


def label_count(stats: dict) -> int:
    """The labels that sort the whole set (of `dataset_stats`): 0 when there are fewer than two, or when a picture
    has none, since a conditional model then cannot train on every picture."""
    labels = stats["labels"]
    return len(labels) if len(labels) >= 2 and sum(labels.values()) == stats["count"] else 0


def chosen_aspect(project: Project) -> str:
    """The aspect the project's models draw at: the artist's choice, or (auto) the one nearest the images' median
    width / height, a cut-out padded whole counting as square."""
    mode = project.dataset.aspect
    return dataset_stats(project)["aspect"] if mode == "auto" else mode


def uses_alpha(project: Project) -> bool:
    """Whether the project's models learn transparency: its setting, or (auto) whether at least a quarter of its
    images use transparency."""
    mode = project.dataset.alpha
    return dataset_stats(project)["alpha"] if mode == "auto" else mode == "on"


def pairs(rows: list[dict]) -> list[tuple[int, int]]:
    """A paired project's pairs as (row of A, row of B), in the order of their names."""
    by_name: dict[str, dict[str, int]] = {}
    for i, row in enumerate(rows):
        if row.get("side"):
            by_name.setdefault(row["pair"], {})[row["side"]] = i
    return [(sides["A"], sides["B"]) for _, sides in sorted(by_name.items()) if len(sides) == 2]


def unmatched(rows: list[dict]) -> list[str]:
    """The sources of a paired project's images whose partner is missing (a B without its A, or an A without its B),
    each with the side and name it waits under."""
    matched = {i for pair in pairs(rows) for i in pair}
    return [f"{row['source']} (side {row['side']}, name {row['pair']!r})" for i, row in enumerate(rows)
            if row.get("side") and i not in matched]


def _decoding_crop(crop: str, layout: str) -> str:
    """The crop pictures are decoded with: "auto" decides per picture (a cut-out padded, any other cropped), except
    in a project of pairs, whose two pictures must stay aligned however each looks: there both are cropped."""
    return "center" if crop == "auto" and layout == "paired" else crop


def _layout(project: Project, rows: list[dict], layout: str | None, side: str, halves: bool) -> str:
    """The project's layout after this call, or a ValueError that says what goes where."""
    layout = layout or ("paired" if halves else project.dataset.layout)
    if layout not in LAYOUTS:
        raise ValueError(f"a project holds {', '.join(LAYOUTS)} images, not {layout!r}")
    if rows and layout != project.dataset.layout:
        raise ValueError(f"this project holds {LAYOUT_WORDS[project.dataset.layout]}; "
                         f"{LAYOUT_WORDS[layout]} go in a new project")
    if side and side not in SIDES:
        raise ValueError(f"the sides are A and B, not {side!r}")
    if layout == "images" and (side or halves):
        raise ValueError("sides A and B belong to projects of pairs or of two collections")
    if halves and (layout != "paired" or side):
        raise ValueError("side-by-side pictures hold a pair each: both sides at once, in a paired project")
    if layout != "images" and not side and not halves:
        raise ValueError(f"a project of {LAYOUT_WORDS[layout]} takes images on side A or B")
    return layout


def _sided(items: list[Item], side: str, halves: bool) -> list[Item]:
    """The items on their side, with no labels (a side's sub-folders only name pairs); side-by-side pictures as
    their A half and their B half."""
    if halves:
        return [replace(item, label="", side=s, half=h) for item in items for s, h in (("A", "left"), ("B", "right"))]
    return [replace(item, label="", side=side) for item in items] if side else items


def _rebuild(rows: list[dict], size: int, crop: str, workers, emit, control, aspect: str = SQUARE):
    """Decode the manifest's images again at `size` and `aspect`; rows whose source vanished or changed are dropped,
    with a word."""
    items, archives = reopen(rows)
    try:
        outcomes = decode_all(items, size, crop, set(), workers, emit, control, f"cache {size} px", aspect)
    finally:
        for archive in archives:
            archive.close()
    kept, pixels = [], []
    for row, outcome in zip(rows, outcomes):
        reason = outcome.reason or ("changed since it was added" if outcome.hash != row["hash"] else "")
        if reason:
            emit(Message(f"{row['source']}: {reason}; dropped from the dataset", "warning"))
        else:
            kept.append({**row, "transparent": outcome.transparent, "grey": outcome.grey})
            pixels.append(outcome.pixels)
    return kept, pixels


def _row(outcome: Outcome, layout: str) -> dict:
    item = outcome.item
    # by content, so an image stays on its side of the split across re-ingests; a pair's two images by its name,
    # so they are held out together
    key = hashlib.sha1(item.key.encode()).hexdigest() if layout == "paired" else outcome.hash
    holdout = int(key[:8], 16) % 10 == 0
    row = {"source": item.source, "hash": outcome.hash, "label": item.label,
           "width": outcome.width, "height": outcome.height, "split": "holdout" if holdout else "train",
           "transparent": outcome.transparent, "grey": outcome.grey}
    if item.side:
        row.update(side=item.side, pair=item.key, **({"half": item.half} if item.half else {}))
    return row


# --- persisted state -------------------------------------------------------------------------------------------------

def _read_manifest(project: Project) -> list[dict]:
    return files.read_json(project.manifest_path, default={"images": []})["images"]


def _write_manifest(project: Project, rows: list[dict]) -> None:
    files.write_json(project.manifest_path,
                     {"images": rows, "labels": sorted({row["label"] for row in rows if row["label"]})})


def _write_report(project: Project, rejects: list, attempted: set, counts: dict, lonely: list) -> None:
    """This call's rejects first, then earlier ones not seen again (a file fixed since then leaves the list); and
    a paired project's images still waiting for their partner."""
    earlier = files.read_json(project.report_path, default={"rejected": []})["rejected"]
    now = [{"path": path, "reason": reason} for path, reason in rejects]
    listed = {entry["path"] for entry in now} | attempted
    files.write_json(project.report_path,
                     {"rejected": now + [entry for entry in earlier if entry["path"] not in listed], "last": counts,
                      "unmatched": lonely})


def _drop_rows(project: Project, rows: list[dict], keep: set, skip: Path | None = None) -> int:
    """Keep only the rows whose hash is in `keep`, in the manifest and in every cache that matches it."""
    index = np.array([i for i, row in enumerate(rows) if row["hash"] in keep], np.int64)
    removed = len(rows) - len(index)
    if removed == 0:
        return 0
    keep_rows(project, len(rows), index, skip)
    _write_manifest(project, [rows[i] for i in index])
    return removed
