"""The files a user might drop into a project, made from real handwritten digits (scikit-learn): every common format,
and the broken, locked, huge-when-decoded and mislabelled kinds ingest must refuse with a reason.
"""
from __future__ import annotations

import io
import os
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from engine import decode


def digit(folder: Path, label: int, k: int) -> Path:
    """The k-th digit PNG of a label in a fixture folder."""
    return sorted((folder / str(label)).glob("*.png"))[k]


def grey(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("L"))


def png_bytes(img: Image.Image) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, "PNG")
    return buffer.getvalue()


def bomb_png(width: int, height: int) -> bytes:
    """A real 1-bit PNG whose header now declares width x height: a few bytes on disk, gigabytes once decoded."""
    data = bytearray(png_bytes(Image.new("1", (8, 8))))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def sideways_photo(path: Path) -> None:
    """A CMYK JPEG stored 60 x 40 with its left third black, tagged "rotate 90 clockwise" (EXIF orientation 6).

    Shown upright it is 40 x 60 with the black band across the top.
    """
    pixels = np.full((40, 60, 3), 255, np.uint8)
    pixels[:, :20] = 0
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(pixels).convert("CMYK").save(path, "JPEG", quality=95, exif=exif.tobytes())


def write_formats(folder: Path, digits: Path) -> None:
    """One digit per format, each a different digit so none is a duplicate of another."""
    folder.mkdir(parents=True)
    sideways_photo(folder / "cmyk.jpg")
    Image.fromarray(grey(digit(digits, 5, 10)).astype(np.uint16) * 257).save(folder / "grey16.png")
    Image.open(digit(digits, 6, 10)).convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE).save(
        folder / "palette.png")
    ink = grey(digit(digits, 7, 10))
    Image.fromarray(np.dstack([np.zeros_like(ink)] * 3 + [ink]), "RGBA").save(folder / "rgba.png")
    Image.open(digit(digits, 8, 10)).save(folder / "digit.webp", lossless=True)
    Image.open(digit(digits, 9, 10)).resize((8, 8)).save(folder / "tiny.bmp")
    Image.open(digit(digits, 5, 11)).save(folder / "digit.tif")
    first = Image.open(digit(digits, 6, 11)).convert("L")
    second = Image.fromarray(255 - np.asarray(first))
    first.save(folder / "two-frames.gif", save_all=True, append_images=[second], duration=100)


def make_unreadable(path: Path, monkeypatch) -> None:
    """chmod 000; where the tests run as root (which reads anything anyway) open() refuses that path instead."""
    path.chmod(0)
    if os.geteuid() == 0:
        real_open = open

        def refusing_open(file, *args, **kwargs):
            if Path(file) == path:
                raise PermissionError(13, "Permission denied", str(file))
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr(decode, "open", refusing_open, raising=False)


def copy_first(digits: Path, folder: Path, per_label: int) -> Path:
    for label in range(10):
        (folder / str(label)).mkdir(parents=True)
        for k in range(per_label):
            shutil.copy(digit(digits, label, k), folder / str(label))
    return folder
