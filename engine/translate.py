"""Translating the artist's pictures with an image-to-image model: files and folders in, one PNG per picture out.

Each picture keeps its own size and aspect (shrunk to at most MAX_SIDE px on its long side) and its alpha; each PNG
records the model, the direction and the source in its text chunk. Pictures that share a file-name stem become
STEM.png, STEM-2.png, ...: nothing already in the folder is overwritten, and every renaming is listed. A file that
cannot be read is skipped with its reason; the others are translated.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from . import files
from .control import Control
from .sources import JUNK_FILES, JUNK_FOLDERS
from .decode import Item, Rejected, decode_whole, read
from .events import Progress
from .model import check_direction

MAX_SIDE = 512  # the longest side translated; larger pictures are shrunk to it


@dataclass
class Translated:
    written: list = field(default_factory=list)  # paths of the PNGs written, in the order of the inputs
    renamed: list = field(default_factory=list)  # (source, name written) where a stem was taken already
    skipped: list = field(default_factory=list)  # (source, reason)

    def summary(self) -> str:
        text = f"translated {len(self.written)}, skipped {len(self.skipped)}"
        return text + (f"; {len(self.renamed)} renamed where names clashed" if self.renamed else "")


def pictures_in(sources) -> tuple[list[Path], list[tuple[str, str]]]:
    """The files to translate, folders read recursively in name order (OS litter left out), and the sources that
    do not exist."""
    found, missing = [], []
    for source in map(Path, sources):
        if source.is_dir():
            for folder, subfolders, names in os.walk(source):
                subfolders[:] = sorted(name for name in subfolders if name not in JUNK_FOLDERS)
                found += [Path(folder) / name for name in sorted(names)
                          if name.lower() not in JUNK_FILES and not name.startswith("._")]
        elif source.exists():
            found.append(source)
        else:
            missing.append((str(source), "not found"))
    return found, missing


def translate_files(model, sources, out: Path, direction: str = "a2b", on_event=None,
                    control: Control | None = None, pictures=()) -> Translated:
    """Translate every picture in `sources` (files and folders), and the `pictures` given as (name, H x W x 4 uint8)
    (a training picture that has no file of its own: half of a side-by-side pair, a zip member), into PNGs in
    `out`."""
    check_direction(model, direction)  # before anything is read or written
    emit = on_event or (lambda event: None)
    paths, missing = pictures_in(sources)
    work = [(str(path), path.stem, lambda path=path: decode_whole(read(Item(str(path), "", path)), MAX_SIDE))
            for path in paths]
    work += [(name, Path(name).stem, lambda picture=picture: picture) for name, picture in pictures]
    result = Translated(skipped=list(missing))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    taken = {path.name.lower() for path in out.iterdir()}
    for done, (source, stem, load) in enumerate(work):
        if control is not None:
            control.check()
        emit(Progress("translate", done, len(work)))
        try:
            picture = load()
        except Rejected as rejected:
            result.skipped.append((source, str(rejected)))
            continue
        name = _free_name(stem, taken)
        if name != f"{stem}.png":
            result.renamed.append((source, name))
        record = {"model_id": model.id, "family": model.family, "direction": direction, "source": source}
        files.save_png(out / name, model.translate(picture, direction), record)
        result.written.append(out / name)
    emit(Progress("translate", len(work), len(work)))
    return result


def _free_name(stem: str, taken: set) -> str:
    """STEM.png, or STEM-2.png, STEM-3.png, ... when taken (case-insensitively, as some file systems are)."""
    name, n = f"{stem}.png", 1
    while name.lower() in taken:
        n += 1
        name = f"{stem}-{n}.png"
    taken.add(name.lower())
    return name
