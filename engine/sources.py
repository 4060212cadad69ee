"""Where a project's images come from: folders, single image files and zip archives, found as decode Items.

`scan` walks what the artist adds: a folder's first-level sub-folders are labels, OS litter is skipped, link loops
and the project's own folder are not entered, and a zip is read in memory (never unpacked), its unsafe, encrypted or
oversized members refused with a reason. `reopen` finds the manifest's rows again, for decoding at another size.
An image's key (its path below the folder added, without the extension) is what pairs it with its partner.

Must not import Qt or torch.
"""
from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path

from .decode import MAX_FILE_BYTES, Item

JUNK_FILES = {".ds_store", "thumbs.db", "ehthumbs.db", "desktop.ini", ".directory"}  # OS litter, skipped silently
JUNK_FOLDERS = {"__MACOSX", ".git", ".svn", ".hg", "@eaDir", ".thumbnails", ".Trash"}
ZIP_SEPARATOR = "::"  # "archive.zip::inner/path.png" names a zip member in the manifest and the report


def scan(paths: list[str], project_root: Path) -> tuple[list[Item], list[tuple[str, str]], list[zipfile.ZipFile]]:
    """The Items found in `paths`, the (source, reason) of each one refused, and the archives opened (the caller
    closes them once the Items are decoded)."""
    items, rejects, archives = [], [], []
    for text in paths:
        path = Path(text)
        if not path.exists():
            rejects.append((text, "broken link" if path.is_symlink() else "not found"))
        elif os.path.realpath(path) == os.path.realpath(project_root):
            rejects.append((text, "this is the project folder itself"))
        elif path.is_dir():
            _scan_folder(path, project_root, items, rejects)
        elif path.is_file() and _is_zip(path):
            _scan_zip(path, items, rejects, archives)
        else:
            items.append(Item(source=text, label="", path=path, key=path.stem))
    return items, rejects, archives


def _key(parts) -> str:
    """What pairs an image with its partner: its path below the folder added, without the extension."""
    return "/".join([*parts[:-1], Path(parts[-1]).stem])


def _scan_folder(root: Path, project_root: Path, items: list, rejects: list) -> None:
    visited = set()
    project = os.path.realpath(project_root)

    def unreadable(error: OSError) -> None:
        rejects.append((str(error.filename), "permission denied" if isinstance(error, PermissionError)
                        else f"unreadable folder: {error.strerror}"))

    for folder, subfolders, names in os.walk(root, onerror=unreadable, followlinks=True):
        real = os.path.realpath(folder)
        if real in visited or real == project:  # a link loop, or the project inside the folder being added
            subfolders[:] = []
            continue
        visited.add(real)
        subfolders[:] = sorted(name for name in subfolders if name not in JUNK_FOLDERS)
        for name in sorted(names):
            if name.lower() in JUNK_FILES or name.startswith("._"):
                continue
            path = Path(folder) / name
            parts = path.relative_to(root).parts
            label = parts[0] if len(parts) > 1 else ""
            if not path.exists():
                rejects.append((str(path), "broken link"))
            else:
                items.append(Item(source=str(path), label=label, path=path, key=_key(parts)))


def _is_zip(path: Path) -> bool:
    if path.suffix.lower() == ".zip":
        return True
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"PK\x03\x04"
    except OSError:
        return False  # reading it again in the pool reports why


def _unsafe_member(name: str) -> bool:
    parts = re.split(r"[\\/]", name)
    return name.startswith(("/", "\\")) or bool(re.match(r"^[A-Za-z]:", name)) or ".." in parts or "\0" in name


def _scan_zip(path: Path, items: list, rejects: list, archives: list) -> None:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        rejects.append((str(path), f"not a readable zip archive: {error}"))
        return
    archives.append(archive)
    members = []
    for info in sorted(archive.infolist(), key=lambda info: info.filename):  # the order folders are read in
        name, source = info.filename, f"{path}{ZIP_SEPARATOR}{info.filename}"
        base = name.rstrip("/").rsplit("/", 1)[-1]
        if _unsafe_member(name):
            rejects.append((source, "unsafe name in archive"))
        elif info.is_dir() or name.split("/")[0] in JUNK_FOLDERS or base.lower() in JUNK_FILES or base.startswith("._"):
            continue  # folders are structure, listed through their members; OS litter is noise
        elif info.flag_bits & 0x1:
            rejects.append((source, "encrypted archive member"))
        elif info.file_size > MAX_FILE_BYTES:
            rejects.append((source, f"too large ({info.file_size >> 20} MB uncompressed)"))
        else:
            members.append(info)
    # A zip of one folder reads like that folder: its sub-folders are the labels.
    parts = [info.filename.split("/") for info in members]
    strip = 1 if parts and all(len(p) > 1 for p in parts) and len({p[0] for p in parts}) == 1 else 0
    for info, part in zip(members, parts):
        label = part[strip] if len(part) > strip + 1 else ""
        items.append(Item(source=f"{path}{ZIP_SEPARATOR}{info.filename}", label=label, archive=archive, member=info,
                          key=_key(part[strip:])))


def reopen(rows: list[dict]) -> tuple[list[Item], list[zipfile.ZipFile]]:
    """An Item for each manifest row, and the archives opened for them (the caller closes them). A member whose zip
    is gone or changed becomes an Item without an archive, which decoding reports as missing."""
    items, archives = [], {}
    for row in rows:
        archive_path, _, member = row["source"].partition(ZIP_SEPARATOR)
        two_sided = dict(key=row.get("pair", ""), side=row.get("side", ""), half=row.get("half", ""))
        if not member:
            items.append(Item(source=row["source"], label=row["label"], path=Path(row["source"]), **two_sided))
            continue
        if archive_path not in archives:
            try:
                archives[archive_path] = zipfile.ZipFile(archive_path)
            except (zipfile.BadZipFile, OSError, ValueError):
                archives[archive_path] = None
        archive = archives[archive_path]
        info = _member_info(archive, member)
        items.append(Item(source=row["source"], label=row["label"], archive=archive if info else None,
                          member=info, **two_sided))
    return items, [archive for archive in archives.values() if archive is not None]


def _member_info(archive: zipfile.ZipFile | None, member: str) -> zipfile.ZipInfo | None:
    if archive is None:
        return None
    try:
        return archive.getinfo(member)
    except KeyError:
        return None
