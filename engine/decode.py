"""Reading and decoding the user's files: one file (or zip member) in, one RGBA training image out, safely.

Holds reading with plain reasons for every failure, sniffing the format by content (never by extension), the pixel
limit against decompression bombs, EXIF orientation, mode normalisation (16-bit, palette, CMYK, alpha), the crop or
pad plus resize to a square or another aspect (engine/aspect.py), and the thread pool that does this for many files
at once.

Reads the user's files and never writes anything. Changes no global Pillow setting: it runs on many threads at once.
Which files to read, and what becomes of the pixels, is engine/dataset.py's business.
"""
from __future__ import annotations

import hashlib
import io
import os
import stat
import zipfile
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from .aspect import SQUARE, shape
from .events import Progress

# "center" keeps the middle at the frame's aspect; "pad" centres all of it on transparency; "auto" pads a cut-out
# (a picture that uses transparency: cropping would cut its silhouette) and crops any other (a photo fills the frame)
CROPS = ("auto", "center", "pad")
ORIENTATION = 0x0112  # the EXIF tag saying how a camera held the picture
TRANSPARENT_PIXELS = 0.01  # a picture uses transparency when this share of its pixels is below alpha 250
GREY_SPREAD = 4  # a picture is grey when no pixel's red, green and blue lie further apart (JPEG's colour noise)
MAX_FILE_BYTES = 1 << 30  # a single image file larger than this is refused before it is read into memory


class Rejected(Exception):
    """A file that will not be used; str() of it is the one-line reason listed in the report."""


@dataclass(frozen=True)
class Item:
    """One file to decode: a path on disk, or a member of an open zip."""
    source: str
    label: str
    path: Path | None = None
    archive: zipfile.ZipFile | None = None
    member: zipfile.ZipInfo | None = None
    key: str = ""  # the relative path without its extension: what pairs an A image with its B image
    side: str = ""  # "A" or "B" in a project of two sides (pairs or two domains); "" otherwise
    half: str = ""  # "left" or "right": the half of a side-by-side pair this item is


@dataclass(frozen=True)
class Outcome:
    item: Item
    hash: str = ""
    pixels: np.ndarray | None = None
    width: int = 0
    height: int = 0
    reason: str = ""
    duplicate: bool = False  # of an image the project already holds; the pixels were not decoded
    transparent: bool = False  # the picture uses transparency (decode.uses_transparency)
    grey: bool = False  # the picture is black and white (decode.is_grey)
    also: np.ndarray | None = None  # the pixels framed at a second aspect, when asked for


# --- reading and decoding on a thread pool ------------------------------------------------------------------------

def read(item: Item) -> bytes:
    if item.path is None and item.archive is None:
        raise Rejected("not found")  # a zip member whose archive or entry is gone
    if item.archive is not None:
        try:
            data = item.archive.read(item.member)
        except Exception as error:  # zipfile raises BadZipFile, zlib.error, EOFError, NotImplementedError, ...
            raise Rejected(f"corrupt archive member: {error}") from None
    else:
        try:
            info = os.stat(item.path)
            if not stat.S_ISREG(info.st_mode):
                raise Rejected("not a regular file")
            if info.st_size > MAX_FILE_BYTES:
                raise Rejected(f"too large ({info.st_size >> 20} MB)")
            with open(item.path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            raise Rejected("broken link" if os.path.islink(item.path) else "not found") from None
        except PermissionError:
            raise Rejected("permission denied") from None
        except OSError as error:
            raise Rejected(f"unreadable: {error.strerror or error}") from None
    if not data:
        raise Rejected("empty file")
    return data


def decode_one(item: Item, size: int, crop: str, known: set, aspect: str = SQUARE,
               also: str | None = None) -> Outcome:
    try:
        data = read(item)
        digest = content_hash(data, item.side, item.half)
        if digest in known:
            return Outcome(item, digest, duplicate=True)
        framed, width, height, transparent = decode_framings(data, size, crop, (aspect, also) if also else (aspect,),
                                                             item.half)
        return Outcome(item, digest, framed[0], width, height, transparent=transparent, grey=is_grey(framed[0]),
                       also=framed[1] if also else None)
    except Rejected as rejected:
        return Outcome(item, reason=str(rejected))


def content_hash(data: bytes, side: str = "", half: str = "") -> str:
    """A picture's identity: its file's bytes, and in a project of two sides the side (the same picture may be an A
    and a B) and the half of a side-by-side pair it was cut from."""
    marker = f"|{side}|{half}".encode() if side else b""
    return hashlib.blake2b(data + marker, digest_size=20).hexdigest()


def decode_all(items: list[Item], size: int, crop: str, known: set, workers: int | None, emit, control,
               what: str, aspect: str = SQUARE, also: str | None = None) -> list[Outcome]:
    """Decode on a thread pool (Pillow releases the GIL); outcomes in the order of `items`, so runs repeat exactly.
    With `also`, each picture is framed at that aspect too (Outcome.also), from the same decoding."""
    workers = max(1, workers or os.cpu_count() or 1)
    window = workers * 4  # futures in flight: enough to keep every thread busy, few enough to cancel quickly
    progress = ThrottledProgress(emit, what, len(items))
    outcomes, pending = [], deque()

    def collect() -> None:
        outcomes.append(pending.popleft().result())
        progress.advance()
        if control is not None:
            control.check()

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="decode") as pool:
        try:
            for item in items:
                pending.append(pool.submit(decode_one, item, size, crop, known, aspect, also))
                if len(pending) >= window:
                    collect()
            while pending:
                collect()
        finally:
            for future in pending:
                future.cancel()
    return outcomes


class ThrottledProgress:
    """Reports Progress events only when the whole percentage changes, so a big folder does not flood the GUI."""

    def __init__(self, emit, what: str, total: int):
        self.emit, self.what, self.total, self.done, self.percent = emit, what, total, 0, -1
        self._report()

    def advance(self) -> None:
        self.done += 1
        self._report()

    def _report(self) -> None:
        percent = 100 * self.done // self.total if self.total else 100
        if percent != self.percent:
            self.percent = percent
            self.emit(Progress(self.what, self.done, self.total))


# --- one image ------------------------------------------------------------------------------------------------------

def decode_picture(data: bytes, size: int, crop: str, aspect: str = SQUARE) -> tuple[np.ndarray, int, int, bool]:
    """(H x W x 4 uint8 RGBA, upright width, upright height, whether it uses transparency) of an image file's
    bytes, or raise Rejected. H x W is `size` px (the long side) at `aspect`."""
    framed, width, height, transparent = decode_framings(data, size, crop, (aspect,))
    return framed[0], width, height, transparent


def decode_framings(data: bytes, size: int, crop: str, aspects: tuple[str, ...], half: str = ""):
    """decode_picture at several aspects from one decoding: ([H x W x 4 per aspect], width, height, transparent).
    With `half` ("left" or "right") only that half of the picture is framed (side-by-side pairs, A | B)."""
    img = _open(data)
    try:
        width, height = img.size
        if img.format in ("JPEG", "MPO"):
            img.draft(None, (size, size))  # let libjpeg decode at 1/2, 1/4 or 1/8 scale while still >= size
        try:
            img.load()  # a lazy open only read the header; truncation shows up here
        except Exception as error:  # plugins raise many kinds on malformed data; all mean the same to the user
            raise Rejected(f"truncated or corrupt image: {error}") from None
        upright = _upright(img)
        if upright.size != img.size:
            width, height = height, width
        if half:
            if width < 2:
                raise Rejected("too narrow to split into two halves")
            middle = width // 2
            upright = upright.crop((0, 0, middle, height) if half == "left" else (middle, 0, 2 * middle, height))
            width = middle
        standard = _standard_mode(upright)
        transparent = uses_transparency(standard)
        if crop == "auto":
            crop = "pad" if transparent else "center"
        framed = [_framed(standard, *shape(size, aspect), crop) for aspect in aspects]
        return framed, width, height, transparent
    finally:
        img.close()


def decode_whole(data: bytes, longest: int) -> np.ndarray:
    """An image file's bytes as H x W x 4 uint8 RGBA, upright, at its own size and aspect (shrunk so its long side is
    at most `longest`), or raise Rejected: a picture to translate."""
    img = _open(data)
    try:
        try:
            img.load()
        except Exception as error:  # as in decode_framings: malformed data raises many kinds
            raise Rejected(f"truncated or corrupt image: {error}") from None
        picture = _standard_mode(_upright(img)).convert("RGBA")
        if max(picture.size) > longest:
            scale = longest / max(picture.size)
            picture = _resize(picture.convert("RGBa"), (max(1, round(picture.width * scale)),
                                                         max(1, round(picture.height * scale))), True).convert("RGBA")
        return np.array(picture, dtype=np.uint8)
    finally:
        img.close()


def _open(data: bytes) -> Image.Image:
    try:
        img = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Rejected(_bomb_reason(data)) from None
    except Image.UnidentifiedImageError:
        if data[:4] == b"PK\x03\x04":
            raise Rejected("not an image (a zip archive: add the .zip itself as a source)") from None
        raise Rejected("not an image") from None
    except Exception as error:  # a malformed header can raise almost anything inside a plugin
        raise Rejected(f"truncated or corrupt image: {error}") from None
    width, height = img.size
    # Pillow only warns between its limit and twice its limit; we refuse from the limit on.
    if Image.MAX_IMAGE_PIXELS is not None and width * height > Image.MAX_IMAGE_PIXELS:
        img.close()
        raise Rejected(_too_large(width, height))
    return img


def _too_large(width: int | None = None, height: int | None = None) -> str:
    """The refusal of a picture over Pillow's pixel limit, in an artist's words: a real poster-sized drawing meets
    it as well as a file made to exhaust memory (a "decompression bomb")."""
    size = f" ({width:,} x {height:,} px)" if width else ""
    return (f"too large to open safely{size}: the limit is {Image.MAX_IMAGE_PIXELS / 1e6:.0f} million pixels; "
            "save a smaller copy")


def _bomb_reason(data: bytes) -> str:
    """Word the refusal with the size the header declares, read by the format's own parser without Pillow's check."""
    Image.init()
    for format_id in Image.ID:
        factory, accept = Image.OPEN[format_id]
        if accept is not None and not accept(data[:16]):
            continue
        try:
            with factory(io.BytesIO(data), "") as img:  # parses the header only; decodes no pixels
                return _too_large(*img.size)
        except Exception:  # not this format; try the next parser
            continue
    return _too_large()


def _upright(img: Image.Image) -> Image.Image:
    try:
        if img.getexif().get(ORIENTATION, 1) == 1:  # upright already: exif_transpose would copy every pixel
            return img
        return ImageOps.exif_transpose(img)
    except Exception:  # a broken EXIF block is no reason to lose the picture; keep it as stored
        return img


def _standard_mode(img: Image.Image) -> Image.Image:
    """The image as "L" or "RGB" (opaque) or "RGBA" (with alpha), 8 bits per channel."""
    mode = img.mode
    if mode in ("LA", "La", "PA", "RGBa") or (mode in ("L", "RGB", "P") and "transparency" in img.info):
        return img.convert("RGBA")
    if mode in ("L", "RGB", "RGBA"):
        return img
    if mode.startswith("I"):  # 16-bit grey ("I;16", "I;16B", ...) or "I" holding 16-bit values: keep the top byte
        values = np.clip(np.asarray(img).astype(np.int64), 0, 65535)
        return Image.fromarray((values >> 8).astype(np.uint8), "L")
    if mode == "F":
        values = np.asarray(img, dtype=np.float64)
        scale = 255.0 if values.size and np.nanmax(values) <= 1.0 else 1.0
        return Image.fromarray(np.clip(np.nan_to_num(values) * scale, 0, 255).round().astype(np.uint8), "L")
    if mode == "1":
        return img.convert("L")
    return img.convert("RGB")  # palette without transparency, CMYK, YCbCr, LAB, HSV


def _framed(img: Image.Image, height: int, width: int, crop: str) -> np.ndarray:
    """The picture as height x width RGBA: its middle at that aspect ("center"), or all of it centred on a
    transparent ground ("pad")."""
    if img.mode == "RGBA":
        img = img.convert("RGBa")  # premultiplied, so the colour of transparent pixels cannot bleed into edges
    w, h = img.size
    if crop == "center":
        scale = min(w / width, h / height)  # the largest box of the frame's aspect that fits in the picture
        box_w, box_h = width * scale, height * scale
        left, top = (w - box_w) // 2, (h - box_h) // 2
        out = _resize(img, (width, height), scale > 1, box=(left, top, left + box_w, top + box_h)).convert("RGBA")
    else:
        scale = min(width / w, height / h)
        inner = (min(width, max(1, round(w * scale))), min(height, max(1, round(h * scale))))
        out = Image.new("RGBA", (width, height), (0, 0, 0, 0))  # alpha 0: the background colour is applied later
        out.paste(_resize(img, inner, scale < 1).convert("RGBA"), ((width - inner[0]) // 2, (height - inner[1]) // 2))
    return np.array(out, dtype=np.uint8)


def uses_transparency(img: Image.Image) -> bool:
    """Whether a picture uses transparency: at least 1% of its pixels are below alpha 250 (padding added to frame
    it does not count)."""
    if img.mode != "RGBA":
        return False
    return bool((np.asarray(img.getchannel("A")) < 250).mean() >= TRANSPARENT_PIXELS)


def is_grey(pixels: np.ndarray) -> bool:
    """Whether a framed picture (H x W x 4) is black and white: in every pixel, red, green and blue lie within
    GREY_SPREAD of each other."""
    red, green, blue = (pixels[..., channel].astype(np.int16) for channel in range(3))
    # pairwise differences, not max(-1) - min(-1): a reduction over an axis of 3 was a fifth of a picture's ingest
    return bool(max(np.abs(red - green).max(), np.abs(green - blue).max(), np.abs(red - blue).max()) <= GREY_SPREAD)


def _resize(img: Image.Image, dims: tuple[int, int], shrinking: bool, box=None) -> Image.Image:
    if shrinking:  # reducing_gap shrinks by whole factors first: much faster on photos, visually the same
        return img.resize(dims, Image.LANCZOS, box=box, reducing_gap=3.0)
    return img.resize(dims, Image.BICUBIC, box=box)
