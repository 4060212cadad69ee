"""A before/after wipe: a picture and what a model made of it, laid one over the other and split by a divider that
the artist drags (or moves with the arrow keys). The original shows left of the divider, the translation right.

It is given QImages and paints them; it never translates, reads files or knows about models. With nothing to show
it shows a short message instead (the Translate view's invitation to drop pictures).
"""
from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

from ..imaging import checkerboard

KEY_STEP = 0.05  # how far one arrow key moves the divider, as a share of the picture's width


class Wipe(QWidget):
    divider_moved = Signal(float)  # where the divider is now, 0 (all translation) to 1 (all original)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(240, 240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.SplitHCursor)
        self.setToolTip("Drag (or press ← →) to move the divider: the original on its left, the translation on "
                        "its right")
        self._before, self._after = QPixmap(), QPixmap()
        self._captions = ("", "")
        self._divider = 0.5
        self._message = ""

    # --- what is shown ---------------------------------------------------------------------------------------
    def set_pictures(self, before: QImage, after: QImage | None, captions: tuple[str, str] = ("", "")) -> None:
        """Show `before` and, right of the divider, `after` (None while it is being made)."""
        self._before = QPixmap.fromImage(before)
        self._after = QPixmap() if after is None else QPixmap.fromImage(after)
        self._captions = captions
        self._message = ""
        self.update()

    def show_message(self, text: str) -> None:
        self._before, self._after, self._message = QPixmap(), QPixmap(), text
        self.update()

    def has_pictures(self) -> bool:
        return not self._before.isNull()

    def after(self) -> QImage:
        """The translation shown (a null image while there is none)."""
        return self._after.toImage()

    def divider(self) -> float:
        return self._divider

    def set_divider(self, share: float) -> None:
        share = min(1.0, max(0.0, float(share)))
        if share != self._divider:
            self._divider = share
            self.update()
            self.divider_moved.emit(share)

    # --- painting --------------------------------------------------------------------------------------------
    def picture_rect(self) -> QRectF:
        """Where the picture is painted: as large as fits, by whole multiples when enlarged so pixels stay square
        and sharp (a 32 px digit is a grid of 32 crisp squares, not a blur)."""
        if self._before.isNull():
            return QRectF()
        width, height = self._before.width(), self._before.height()
        scale = min(self.width() / width, self.height() / height)
        if scale >= 1:
            scale = math.floor(scale)
        shown_width, shown_height = width * scale, height * scale
        return QRectF((self.width() - shown_width) / 2, (self.height() - shown_height) / 2, shown_width, shown_height)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window())
        if self._before.isNull():
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(self.rect().adjusted(24, 24, -24, -24),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._message)
            return
        rect = self.picture_rect()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, rect.width() < self._before.width())
        painter.fillRect(rect, checkerboard(12))  # transparency shows through both halves
        split = rect.left() + self._divider * rect.width()
        painter.save()
        painter.setClipRect(QRectF(rect.left(), rect.top(), split - rect.left(), rect.height()))
        painter.drawPixmap(rect, self._before, QRectF(self._before.rect()))
        painter.restore()
        right = QRectF(split, rect.top(), rect.right() - split, rect.height())
        if self._after.isNull():
            painter.fillRect(right, QColor(0, 0, 0, 140))
            painter.setPen(QColor(235, 235, 235))
            painter.drawText(right, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, "Translating…")
        else:
            painter.save()
            painter.setClipRect(right)
            painter.drawPixmap(rect, self._after, QRectF(self._after.rect()))
            painter.restore()
        self._paint_divider(painter, rect, split)

    def _paint_divider(self, painter: QPainter, rect: QRectF, split: float) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(255, 255, 255), 2))
        painter.drawLine(QPointF(split, rect.top()), QPointF(split, rect.bottom()))
        painter.setBrush(QColor(40, 44, 52))
        painter.drawEllipse(QPointF(split, rect.center().y()), 9, 9)
        margin = 6
        for text, align in zip(self._captions, (Qt.AlignmentFlag.AlignLeft, Qt.AlignmentFlag.AlignRight)):
            if not text:
                continue
            box = painter.fontMetrics().boundingRect(text).adjusted(-6, -3, 6, 3)
            x = rect.left() + margin if align == Qt.AlignmentFlag.AlignLeft else rect.right() - margin - box.width()
            box.moveTo(int(x), int(rect.top() + margin))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(0, 0, 0, 160))
            painter.drawRoundedRect(box, 4, 4)
            painter.setPen(QColor(240, 240, 240))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    # --- moving the divider ----------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        self._drag_to(event.position().x())

    def mouseMoveEvent(self, event) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._drag_to(event.position().x())

    def _drag_to(self, x: float) -> None:
        rect = self.picture_rect()
        if rect.width() > 0:
            self.set_divider((x - rect.left()) / rect.width())

    def keyPressEvent(self, event) -> None:
        moves = {Qt.Key.Key_Left: self._divider - KEY_STEP, Qt.Key.Key_Right: self._divider + KEY_STEP,
                 Qt.Key.Key_Home: 0.0, Qt.Key.Key_End: 1.0}
        if event.key() in moves:
            self.set_divider(moves[event.key()])
        else:
            super().keyPressEvent(event)
