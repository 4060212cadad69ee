"""Curves of the running training: one polyline per series (losses, or the sample-quality figure), painted with
QPainter (no plotting library).

Given (step, {name: value}) pairs as events arrive. It only draws; it never reads logs or runs anything.
"""
from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

COLOURS = ["#4fc3f7", "#ffb74d", "#81c784", "#e57373", "#ba68c8", "#fff176"]
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 48, 10, 22, 20
LOG_SPAN = 100  # positive values further apart than this ratio are drawn on a log axis


def log_axis(values: list[float]) -> bool:
    """Whether finite `values` need a log axis: all positive and spanning more than LOG_SPAN (pix2pix's generator
    loss from 59 down to 5 flattened its L1 of 0.04 and the discriminator's 0.5 onto the floor)."""
    return min(values) > 0 and max(values) / min(values) > LOG_SPAN


def axis_range(values: list[float]) -> tuple[float, float]:
    """The value axis for finite `values`: their span, or a margin to their own scale around a flat line (one KID),
    never below zero for figures that are never negative."""
    low, high = min(values), max(values)
    if high - low < 1e-6:
        margin = abs(high) * 0.25 or 0.5
        low, high = low - margin, high + margin
    return (max(low, 0.0) if min(values) >= 0 else low), high


class LossPlot(QWidget):
    def __init__(self, parent=None, empty_text: str = "Losses appear here once training starts",
                 tip: str = "Training losses as the run goes. For GANs they swing; a flat line near zero for the "
                            "discriminator often means the generator stopped learning.", points: bool = False):
        super().__init__(parent)
        self._steps: list[int] = []
        self._series: dict[str, list[float]] = {}
        self._empty_text = empty_text
        self._points = points  # mark every value: for sparse series (a KID every few thousand steps)
        self.setMinimumHeight(140)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip(tip)

    def sizeHint(self) -> QSize:
        return QSize(360, 180)

    def clear(self) -> None:
        self._steps, self._series = [], {}
        self.update()

    def add(self, step: int, losses: dict) -> None:
        if self._steps and step <= self._steps[-1]:  # a resumed run repeats no steps; ignore out-of-order reports
            return
        for name in losses:
            if name not in self._series:  # a loss that appears late starts with gaps
                self._series[name] = [math.nan] * len(self._steps)
        self._steps.append(step)
        for name, values in self._series.items():
            values.append(float(losses.get(name, math.nan)))
        self.update()

    def point_count(self) -> int:
        return len(self._steps)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        text_colour = palette.color(palette.ColorRole.WindowText)
        plot = QRectF(MARGIN_LEFT, MARGIN_TOP, self.width() - MARGIN_LEFT - MARGIN_RIGHT,
                      self.height() - MARGIN_TOP - MARGIN_BOTTOM)
        painter.fillRect(plot, palette.color(palette.ColorRole.Base))
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        painter.setFont(font)
        if len(self._steps) < (1 if self._points else 2):
            painter.setPen(text_colour)
            painter.drawText(plot.adjusted(6, 0, -6, 0), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self._empty_text)
            return
        finite = [v for values in self._series.values() for v in values if math.isfinite(v)]
        if not finite:
            return
        log = log_axis(finite)
        scale = math.log10 if log else float
        low, high = (scale(min(finite)), scale(max(finite))) if log else axis_range(finite)
        first, last = self._steps[0], self._steps[-1]

        def to_point(step: int, value: float) -> QPointF:
            x = plot.left() + (step - first) / max(1, last - first) * plot.width()
            y = plot.bottom() - (scale(value) - low) / (high - low) * plot.height()
            return QPointF(x, y)

        self._draw_axes(painter, plot, text_colour, *((10 ** low, 10 ** high) if log else (low, high)), first, last,
                        log)
        stride = max(1, len(self._steps) // max(1, int(plot.width())))  # at most one point per pixel
        for number, (name, values) in enumerate(self._series.items()):
            colour = QColor(COLOURS[number % len(COLOURS)])
            painter.setPen(QPen(colour, 1.6))
            line = QPolygonF()
            for i in range(0, len(values), stride):
                if math.isfinite(values[i]):
                    line.append(to_point(self._steps[i], values[i]))
            painter.drawPolyline(line)
            if self._points:
                painter.setBrush(colour)
                for i in range(line.size()):
                    painter.drawEllipse(line.at(i), 2.5, 2.5)
            latest = next((v for v in reversed(values) if math.isfinite(v)), math.nan)
            painter.drawText(QPointF(MARGIN_LEFT + 4 + number * 110, 14), f"{name} {latest:.3f}")

    def _draw_axes(self, painter, plot, colour, low, high, first, last, log=False) -> None:
        painter.setPen(QPen(colour, 1))
        painter.drawRect(plot)
        align_right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        painter.drawText(QRectF(0, plot.top() - 8, MARGIN_LEFT - 4, 16), align_right, f"{high:.2g}")
        painter.drawText(QRectF(0, plot.bottom() - 8, MARGIN_LEFT - 4, 16), align_right, f"{low:.2g}")
        if log:
            painter.drawText(QRectF(0, plot.center().y() - 8, MARGIN_LEFT - 4, 16), align_right, "log")
        painter.drawText(QRectF(plot.left(), plot.bottom() + 2, 100, 16), Qt.AlignmentFlag.AlignLeft,
                         f"step {first}")
        if last != first:  # one point has one step
            painter.drawText(QRectF(plot.right() - 100, plot.bottom() + 2, 100, 16), Qt.AlignmentFlag.AlignRight,
                             f"step {last}")
