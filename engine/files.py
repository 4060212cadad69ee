"""Files on disk: atomic writes, JSON, safetensors with our metadata, and PNGs that carry their latent.

Every write goes to a temporary file in the same folder and is renamed into place, so a crash or a full disk
leaves the previous version whole. Nothing here unpickles anything.
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .control import Cancelled

MODEL_FORMAT = "latent-studio-model"  # tag in every safetensors header we write
PNG_KEY = "latent-studio"  # key of the PNG text chunk that records model id, seed and latent


class FileRefused(ValueError):
    """A file the user handed us that we will not load; the message says why in one line."""


class WriteFailed(OSError):
    """A file could not be written (a full disk, no permission, ...). The message names the file and the cause in
    one line; the previous version of the file is whole and no temporary file is left behind. Writers raise
    their own exception types (safetensors a SafetensorError, imageio a RuntimeError), so every write path turns
    whatever it met into this one."""

    def __init__(self, path: Path, cause: BaseException):
        self.path, self.cause = Path(path), cause
        super().__init__(getattr(cause, "errno", None), f"could not write {self.path.name}: {describe(cause)}")

    def __str__(self) -> str:
        return self.strerror


def describe(error: BaseException) -> str:
    """The cause of a failed write in a few words: "No space left on device", whoever raised it."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    text = (str(error).strip().splitlines() or [type(error).__name__])[0]
    # safetensors: "Error while serializing: I/O error: No space left on device (os error 28)"
    text = text.rsplit("I/O error: ", 1)[-1]
    return text.split(" (os error")[0] or type(error).__name__


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it into place only if the block succeeds. Any failure, of
    any type, inside the block or while finishing, leaves `path` as it was and raises WriteFailed."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # hidden, and keeping the real suffix, since some writers (imageio's ffmpeg) choose the format by it
        fd, name = tempfile.mkstemp(prefix=f".{path.stem}.tmp-", suffix=path.suffix, dir=path.parent)
        os.close(fd)
        tmp = Path(name)
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except (WriteFailed, Cancelled):
        raise
    except Exception as error:  # noqa: BLE001 - whatever the writer raised, the caller gets one kind
        raise WriteFailed(path, error) from error
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_json(path: Path, obj: Any) -> None:
    write_bytes(path, json.dumps(obj, indent=1, sort_keys=False).encode())


def read_json(path: Path, default: Any = None) -> Any:
    path = Path(path)
    if not path.exists() and default is not None:
        return default
    return json.loads(path.read_text())


def append_jsonl(path: Path, obj: Any) -> None:
    """Append one line. Not a rename (a log line lost to a crash costs nothing), but a failed append is cut off
    again, so the file never ends in half a line; raises WriteFailed."""
    line = (json.dumps(obj) + "\n").encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except Exception as error:  # noqa: BLE001 - see WriteFailed
        raise WriteFailed(path, error) from error
    end = os.lseek(fd, 0, os.SEEK_END)
    try:
        written = 0
        while written < len(line):  # a full disk may take part of the line before it refuses the rest
            written += os.write(fd, line[written:])
    except Exception as error:  # noqa: BLE001 - see WriteFailed
        os.ftruncate(fd, end)
        raise WriteFailed(path, error) from error
    finally:
        os.close(fd)


def read_jsonl(path: Path) -> list[dict]:
    """The rows of a JSON-lines file, skipping any line that does not parse (a log is appended to, not renamed);
    [] when there is no file."""
    path = Path(path)
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def save_npy(path: Path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, array, allow_pickle=False)


def load_npy(path: Path, mmap: bool = True) -> np.ndarray:
    return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)


# --- safetensors ---------------------------------------------------------------------------------------------------

def save_tensors(path: Path, tensors: dict, meta: dict | None = None) -> None:
    """Write tensors with our JSON metadata in the safetensors header (which is plain JSON, never code)."""
    from safetensors.torch import save_file

    header = {"format": MODEL_FORMAT}
    if meta is not None:
        header["meta"] = json.dumps(meta)
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=header)


def sniff_refusal(path: Path) -> str | None:
    """Why `path` is not one of our safetensors files, or None when it looks like one. Reads only the header."""
    path = Path(path)
    if not path.is_file():
        return f"{path} is not a file"
    with open(path, "rb") as f:
        head = f.read(8)
        if head[:2] in (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05") or head[:4] == b"PK\x03\x04":
            return (f"{path.name} is a pickle (PyTorch .pt/.pth); Latent Studio never opens pickles because they can "
                    "run code")
        if len(head) < 8:
            return f"{path.name} is too short to be a model file"
        n = int.from_bytes(head, "little")
        if n <= 1 or n > 100_000_000 or n > path.stat().st_size - 8:
            return f"{path.name} is not a safetensors file (bad header length)"
        try:
            header = json.loads(f.read(n))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return f"{path.name} is not a safetensors file (unreadable header)"
    meta = header.get("__metadata__") or {}
    if meta.get("format") != MODEL_FORMAT:
        return f"{path.name} is a safetensors file but not a Latent Studio model"
    return None


def load_tensors(path: Path, device: str = "cpu") -> tuple[dict, dict]:
    """Load (tensors, meta) from one of our safetensors files, or raise FileRefused with the reason."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    meta = read_meta(path)
    try:
        tensors = load_file(str(path), device=device)
    except (SafetensorError, OSError, ValueError) as e:
        raise FileRefused(f"{Path(path).name} is corrupt: {e}") from None
    return tensors, meta


def read_meta(path: Path) -> dict:
    """The JSON metadata of one of our safetensors files, without reading its tensors; FileRefused otherwise."""
    from safetensors import SafetensorError
    from safetensors.torch import safe_open

    reason = sniff_refusal(path)
    if reason:
        raise FileRefused(reason)
    try:
        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
        return json.loads(header["meta"]) if "meta" in header else {}
    except (SafetensorError, OSError, ValueError) as e:
        raise FileRefused(f"{Path(path).name} is corrupt: {e}") from None


# --- PNGs that remember their latent -------------------------------------------------------------------------------

def save_png(path: Path, image: np.ndarray, info: dict | None = None) -> None:
    """Save an H x W x C uint8 image; `info` (model id, seed, latent) goes into a text chunk."""
    from PIL import Image, PngImagePlugin

    chunk = PngImagePlugin.PngInfo()
    if info is not None:
        chunk.add_text(PNG_KEY, json.dumps(info))
    img = Image.fromarray(image.squeeze(-1) if image.shape[-1] == 1 else image)
    with atomic_path(path) as tmp:
        img.save(tmp, format="PNG", pnginfo=chunk)


def read_png_info(path: Path) -> dict | None:
    """The latent record of a PNG we exported, or None if it carries none."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            text = img.text.get(PNG_KEY) if hasattr(img, "text") else None
    except (OSError, ValueError):
        return None
    return json.loads(text) if text else None
