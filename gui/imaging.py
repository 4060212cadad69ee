"""uint8 NumPy images (from the engine) to Qt images and pixmaps, on the GUI thread. Used by every room.

The engine hands out H x W (grey), H x W x 3 (RGB) or H x W x 4 (RGBA) uint8 arrays. A QImage built on a NumPy
buffer only borrows it, so every QImage made here is `.copy()`-ed: the array may be freed or reused the moment
this returns. QPixmaps may only be made on the GUI thread; worker threads hand over arrays, never pixmaps.
This module does no scaling maths of its own beyond Qt's: it must not import torch or read files.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPixmap

_FORMATS = {1: QImage.Format.Format_Grayscale8, 3: QImage.Format.Format_RGB888, 4: QImage.Format.Format_RGBA8888}


def to_qimage(array: np.ndarray) -> QImage:
    """An owned QImage of a uint8 H x W, H x W x 1, H x W x 3 or H x W x 4 array."""
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise TypeError(f"images must be uint8, not {array.dtype}")
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in _FORMATS:
        raise ValueError(f"an image must be H x W x 1, 3 or 4, not {array.shape}")
    array = np.ascontiguousarray(array)
    height, width, channels = array.shape
    image = QImage(array.data, width, height, width * channels, _FORMATS[channels])
    return image.copy()  # detach from the NumPy buffer


def to_pixmap(array: np.ndarray) -> QPixmap:
    """A QPixmap of a uint8 image array (GUI thread only)."""
    return QPixmap.fromImage(to_qimage(array))


def thumbnail(array: np.ndarray, side: int, smooth: bool = False) -> QPixmap:
    """A `side` x `side` pixmap of the image, aspect kept; nearest-neighbour unless `smooth` (pixel art stays crisp)."""
    mode = Qt.TransformationMode.SmoothTransformation if smooth else Qt.TransformationMode.FastTransformation
    return on_checkerboard(to_pixmap(array).scaled(QSize(side, side), Qt.AspectRatioMode.KeepAspectRatio, mode))


def checkerboard(square: int = 8) -> QBrush:
    """A brush of light and mid grey squares, the usual ground that shows transparency."""
    tile = QPixmap(2 * square, 2 * square)
    tile.fill(QColor(204, 204, 204))
    painter = QPainter(tile)
    painter.fillRect(0, 0, square, square, QColor(153, 153, 153))
    painter.fillRect(square, square, square, square, QColor(153, 153, 153))
    painter.end()
    return QBrush(tile)


def on_checkerboard(pixmap: QPixmap, square: int | None = None, ground: QColor | None = None) -> QPixmap:
    """The pixmap laid over a checkerboard when it has transparency (squares of `square` pixels, else an eighth of
    its side), or over the colour `ground` when given (where models see a picture laid on its background); as it
    is otherwise."""
    if not pixmap.hasAlphaChannel():
        return pixmap
    framed = QPixmap(pixmap.size())
    painter = QPainter(framed)
    painter.fillRect(framed.rect(), ground if ground is not None else
                     checkerboard(square or max(2, max(pixmap.width(), pixmap.height()) // 8)))
    painter.drawPixmap(0, 0, pixmap)
    painter.end()
    return framed


def placeholder(side: int, text: str = "") -> QPixmap:
    """A dark square with a short centred text, for a thumbnail that cannot be rendered (yet)."""
    pixmap = QPixmap(side, side)
    pixmap.fill(QColor(40, 44, 52))
    if text:
        painter = QPainter(pixmap)
        painter.setPen(QColor(150, 150, 150))
        painter.drawText(pixmap.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)
        painter.end()
    return pixmap


def image_bytes(image: QImage) -> bytes:
    """The pixels of a QImage as bytes in one fixed format, to compare two images exactly (tests, benches)."""
    converted = image.convertToFormat(QImage.Format.Format_RGB888)
    return bytes(converted.constBits())[: converted.sizeInBytes()]
