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


EMOJI_FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")


def emoji_folder(dest: Path, font: Path = EMOJI_FONT) -> Path:
    """Every colour emoji of Debian's fonts-noto-color-emoji as its own PNG in dest/ (about 3,900 RGBA pictures,
    136 x 128): the PNGs are stored whole in the font's CBDT table and read out with fontTools, not drawn."""
    from fontTools.ttLib import TTFont

    if not font.is_file():
        sys.exit(f"{font} not found: apt-get install fonts-noto-color-emoji")
    dest.mkdir(parents=True, exist_ok=True)
    for strike in TTFont(str(font))["CBDT"].strikeData:
        for name, bitmap in strike.items():
            (dest / f"{name}.png").write_bytes(bitmap.imageData)
    return dest
