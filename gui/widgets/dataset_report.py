"""The Dataset room's right-hand column: how many images the project holds, how many each label holds, the files
that were refused and why, and a strip of training images as the augmentations change them.

Given the engine's figures and pictures (uint8 arrays); it only shows them. "Refresh" asks the room for other
augmented images through `refresh_requested`.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from .thumbnails import crisp_pixmap

PREVIEW_COUNT = 8
PREVIEW_PX = 64


class DatasetReport(QWidget):
    refresh_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        # here rather than in the room's top row, which it would widen past a laptop's screen
        self.summary = QLabel(wordWrap=True)
        self.summary.setObjectName("roomSummary")
        self.labels_table = _table(("Label", "Images"))
        self.labels_box = QGroupBox("Labels")
        QVBoxLayout(self.labels_box).addWidget(self.labels_table)
        self.rejected_table = _table(("File", "Reason"))
        self._rejected_widths = (0, 0)  # what the names and the reasons need (sizeHintForColumn)
        self.rejected_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.rejected_table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.rejected_box = QGroupBox("Rejected files")
        self.rejected_box.setToolTip("Files that could not be used, and why. Fix or replace them, then add them "
                                     "again.")
        QVBoxLayout(self.rejected_box).addWidget(self.rejected_table)

        self.preview_labels = []
        strip = QHBoxLayout()
        strip.setSpacing(2)
        for _ in range(PREVIEW_COUNT // 2):
            column = QVBoxLayout()
            for _ in range(2):
                label = QLabel()
                label.setFixedSize(QSize(PREVIEW_PX, PREVIEW_PX))
                label.setAlignment(Qt.AlignmentFlag.AlignCenter)
                self.preview_labels.append(label)
                column.addWidget(label)
            strip.addLayout(column)
        strip.addStretch(1)
        self.preview_button = QPushButton("Refresh")
        self.preview_button.setToolTip("Show other random images with other random augmentations")
        self.preview_button.clicked.connect(self.refresh_requested)
        self.preview_box = QGroupBox("What training sees (augmented)")
        self.preview_box.setToolTip("Colour, shift and cut-out changes applied to your images during training, so "
                                    "a model can learn from a few hundred of them.")
        preview_layout = QVBoxLayout(self.preview_box)
        preview_layout.addLayout(strip)
        preview_layout.addWidget(self.preview_button, 0, Qt.AlignmentFlag.AlignRight)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.labels_box, 1)
        layout.addWidget(self.rejected_box, 1)
        layout.addWidget(self.preview_box)

    def show_figures(self, labels: dict[str, int], rejected: list[dict], sided: bool, count: int = 0) -> None:
        """The images per label (of `count` in all) and the refused files (dicts with "path" and "reason"). A
        project of two sides has no labels to show: its sub-folders name pairs."""
        self.labels_box.setVisible(not sided)
        unlabelled = count - sum(labels.values())
        rows = sorted(labels.items()) + ([(NO_LABEL, unlabelled)] if labels and unlabelled > 0 else [])
        _fill(self.labels_table, rows, tooltips=[NO_LABEL_TIP if name == NO_LABEL else name for name, _ in rows])
        self.labels_box.setTitle(f"Labels ({len(labels)})" if labels else
                                 "Labels (none: put images in sub-folders to label them)")
        _fill(self.rejected_table, [(Path(r["path"]).name, r["reason"]) for r in rejected],
              tooltips=[f"{r['path']}\n{r['reason']}" for r in rejected])
        self.rejected_box.setTitle(f"Rejected files ({len(rejected)})")
        table = self.rejected_table  # measured once per fill, not at every resize (up to 1,000 rows each)
        self._rejected_widths = (table.sizeHintForColumn(0), table.sizeHintForColumn(1)) if rejected else (0, 0)
        self._share_rejected_columns()

    def _share_rejected_columns(self) -> None:
        """Short reasons ("broken link") leave the file names the rest of the table; otherwise the names get what
        they need up to half of it (a long reason sized to its contents left names as "am..."). Elided where
        narrower, both are whole in the row's tooltip."""
        width = self.rejected_table.viewport().width()
        names, reasons = self._rejected_widths
        self.rejected_table.setColumnWidth(0, max(width - reasons, min(names, width // 2)))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._share_rejected_columns()

    def show_preview(self, images) -> None:
        for label, pixels in zip(self.preview_labels, images):
            label.setPixmap(crisp_pixmap(pixels, PREVIEW_PX))


NO_LABEL = "(no label)"
NO_LABEL_TIP = ("Pictures outside the labelled sub-folders. A model that draws by label trains only where every "
                "picture has one: move them into a sub-folder to use one")


def _table(headers: tuple[str, str]) -> QTableWidget:
    table = QTableWidget(0, 2)
    table.setHorizontalHeaderLabels(list(headers))
    table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setWordWrap(False)
    return table


def _fill(table: QTableWidget, rows: list[tuple], tooltips: list[str] | None = None) -> None:
    table.setRowCount(len(rows))
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            item = QTableWidgetItem(f"{value:,}" if isinstance(value, int) else str(value))
            if isinstance(value, int):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            item.setToolTip(tooltips[r] if tooltips else str(value))
            table.setItem(r, c, item)
