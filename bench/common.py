"""Shared set-up for the bench scripts: real images on disk and projects made from them."""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def digits_folder(px: int = 32) -> Path:
    """scikit-learn's 1,797 handwritten digits as px x px PNGs in labelled folders, in a temporary directory."""
    from tests.digits import write_digits

    return write_digits(Path(tempfile.mkdtemp(prefix="bench-digits-")), px=px)


def table(rows: list[tuple], header: tuple) -> str:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows)]
    line = lambda r: "  ".join(str(x).rjust(w) for x, w in zip(r, widths))  # noqa: E731
    return "\n".join([line(header), line(tuple("-" * w for w in widths))] + [line(r) for r in rows])
