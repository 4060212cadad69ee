"""What a running training reports, below its samples: the loss curves, the sample-quality figure (KID), the
checkpoints saved so far and the run's notes (rollbacks, early stopping, stages, warnings).

Given the values as the run's events arrive; it only shows them. The quality box and the notes appear once the
run has something to put there, since some families and settings never measure KID.
"""
from __future__ import annotations

from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QStyle, QVBoxLayout, QWidget

from .loss_plot import LossPlot

NOTE_ICONS = {"warning": QStyle.StandardPixmap.SP_MessageBoxWarning,
              "error": QStyle.StandardPixmap.SP_MessageBoxCritical}


class RunReports(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.loss_plot = LossPlot()
        self.quality_plot = LossPlot(
            empty_text="Sample quality is measured every few thousand steps",
            tip="KID: how far the model's samples are from your images, measured on features of an image "
                "classifier. Lower is better; near 0 the samples are hard to tell from your images.", points=True)
        self.quality_plot.setMinimumHeight(90)  # leaves its figures room below it in a short window
        self.quality_label = QLabel(wordWrap=True, toolTip="The newest KID and the best so far (lower is better), "
                                    "and the share of samples that copy one of your images")
        self.checkpoints = QListWidget()
        self.checkpoints.setToolTip("Checkpoints saved so far; the newest complete one is used to continue")
        self.notes = QListWidget()
        self.notes.setToolTip("What the run reported: rollbacks after a divergence, early stopping, stages, "
                              "warnings")
        self.notes.setWordWrap(True)
        self._best_kid: tuple[int, float] | None = None  # (step, KID) of the run's best measurement

        self.quality_box = _boxed("Sample quality (KID)", self.quality_plot, self.quality_label)
        self.notes_box = _boxed("Run notes", self.notes)
        lists = QWidget()
        lists.setMaximumWidth(260)
        column = QVBoxLayout(lists)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(_boxed("Checkpoints", self.checkpoints), 1)
        column.addWidget(self.notes_box, 1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(_boxed("Losses", self.loss_plot), 1)
        layout.addWidget(self.quality_box, 1)  # as wide as the losses: its figures need the room more
        layout.addWidget(lists)
        self.clear()

    def clear(self) -> None:
        """Empty, for a new run."""
        self.loss_plot.clear()
        self.quality_plot.clear()
        self.quality_label.clear()
        self.quality_box.hide()
        self._best_kid = None
        self.checkpoints.clear()
        self.notes.clear()
        self.notes_box.hide()

    def show_history(self, history: dict) -> None:
        """An earlier run's reports, read back from its folder (api.run_history)."""
        self.clear()
        for step, losses in history["losses"]:
            self.add_losses(step, losses)
        for step, kid, copies in history["quality"]:
            self.add_quality(step, kid, copies)
        for step, path, best in history["checkpoints"]:
            self.add_checkpoint(step, path, best)
        for step, text, level in history["notes"]:
            self.add_note(step, text, level)

    def add_losses(self, step: int, losses: dict) -> None:
        self.loss_plot.add(step, losses)

    def add_quality(self, step: int, kid: float, copies: float | None = None) -> None:
        self.quality_box.show()
        self.quality_plot.add(step, {"KID": kid})
        if self._best_kid is None or kid < self._best_kid[1]:
            self._best_kid = (step, kid)
        best_step, best = self._best_kid
        best_text = ", the best so far" if best_step == step else f"; the best: {best:.4f} at step {best_step:,}"
        if copies is None:
            copied = ""
        elif copies >= 0.1:
            copied = f"<br><b>{copies:.0%} of the samples copy a training image</b>: the model is memorising"
        else:  # worded short: the box shares a short window's height with the plot above it
            copied = f"<br>{copies:.0%} of the samples copy a training image" if copies else "<br>No sample copies " \
                                                                                           "a training image"
        self.quality_label.setText(f"{kid:.4f} at step {step:,}{best_text}{copied}")

    def add_checkpoint(self, step: int, path, best: bool) -> None:
        item = QListWidgetItem(f"step {step:,}" + ("  ★ best" if best else ""))
        item.setToolTip(str(path))
        self.checkpoints.insertItem(0, item)

    def add_note(self, step: int, text: str, level: str) -> None:
        item = QListWidgetItem(f"step {step:,}: {text[:1].upper()}{text[1:]}")
        item.setToolTip(text)
        item.setIcon(self.style().standardIcon(NOTE_ICONS.get(level, QStyle.StandardPixmap.SP_MessageBoxInformation)))
        self.notes.insertItem(0, item)
        self.notes_box.show()


def _boxed(title: str, *widgets: QWidget) -> QGroupBox:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    for widget in widgets:
        layout.addWidget(widget)
    return box
