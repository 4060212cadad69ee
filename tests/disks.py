"""A real full disk for tests: a small tmpfs mounted for one test (CI runs as root, so mount works there), and a
filler file that takes every byte left, so the next write meets the kernel's own ENOSPC through whichever
library writes it."""
from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

import pytest


@contextlib.contextmanager
def small_disk(where: Path, size: str = "16m"):
    """A fresh tmpfs of `size` mounted at `where`; skipped outside CI where mounting is not allowed."""
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                             capture_output=True, text=True)
    if mounted.returncode:
        reason = f"cannot mount a small filesystem here: {mounted.stderr.strip()}"
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI runs as root: a real full disk is always tested there
        pytest.skip(reason)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> Path:
    """Write a filler file until the disk refuses; returns it (delete it to make room again)."""
    filler = disk / "filler.bin"
    block = b"\0" * (1 << 16)
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(block)
        except OSError:
            pass
        try:
            while True:  # the last few bytes, one at a time
                f.write(b"\0")
        except OSError:
            pass
    return filler


def temporary_files(folder: Path) -> list[Path]:
    """Temporary files left behind by an atomic write (files.atomic_path names them .<stem>.tmp-*)."""
    return [p for p in Path(folder).rglob(".*tmp-*")]
