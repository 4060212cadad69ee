"""The Train room's right-hand side while a run trains: the grids of samples (scrubbable), a line saying where
the run is, its progress bar, and below them the run's reports (losses, quality, checkpoints, notes).

Given the run's events as they arrive; it only shows them."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QProgressBar, QSplitter, QVBoxLayout, QWidget

from .duration import duration
from .run_reports import RunReports
from .sample_history import SampleHistory

FINISHED_WORDS = {"done": "finished", "time": "reached its time limit", "stopped": "stopped",
                  "early_stop": "stopped early, as it had stopped improving,", "failed": "failed"}


class LiveRun(QSplitter):
    def __init__(self, parent=None):
        super().__init__(Qt.Orientation.Vertical, parent)
        self.samples = SampleHistory()
        self.state_label = QLabel()
        self.state_label.setObjectName("roomSummary")
        self.progress = QProgressBar()
        self.progress.setFormat("%p%")  # the line above it counts the steps (Qt's %v and %m have no separators)
        self.progress.hide()  # shown from a run's start: an empty bar beside an earlier run's samples says nothing
        self.reports = RunReports()

        top = QWidget()
        column = QVBoxLayout(top)
        column.addWidget(self.samples, 1)
        column.addWidget(self.state_label)
        column.addWidget(self.progress)
        self.addWidget(top)
        self.addWidget(self.reports)
        self.setStretchFactor(0, 3)
        self.setStretchFactor(1, 1)

    def clear(self) -> None:
        self.samples.clear()
        self.reports.clear()
        self.state_label.clear()
        self.progress.reset()
        self.progress.hide()

    def show_earlier(self, run_name: str, grids: list, history: dict) -> None:
        """What a run saved before this window opened, until a new run starts: its samples (api.sample_grids) and
        its reports (api.run_history)."""
        self.samples.set_history(grids)
        self.reports.show_history(history)
        self.state_label.setText(f"Samples of {run_name}, the newest run, up to step {grids[-1][0]:,}")

    def show_started(self, event) -> None:
        """An api.RunStarted."""
        self.progress.setRange(0, event.total_steps)
        self.progress.setValue(event.step)
        self.progress.show()
        verb = "Continuing" if event.resumed else "Training"
        self.state_label.setText(f"{verb} {event.run_dir.name} on {event.device}")

    def show_step(self, event) -> None:
        """An api.StepDone."""
        self.progress.setRange(0, event.total_steps)
        self.progress.setValue(event.step)
        self.progress.show()
        self.state_label.setText(f"Step {event.step:,} of {event.total_steps:,} · {event.images_per_s:,.0f} "
                                 f"images/s · {duration(event.eta_s)} left")
        self.reports.add_losses(event.step, event.losses)

    def show_finished(self, result) -> str:
        """An api.RunFinished; returns the sentence shown, for the window's notification."""
        words = FINISHED_WORDS.get(result.reason, result.reason)
        self.progress.setValue(result.step)
        saved = "; checkpoint saved" if result.checkpoint else ""
        self.state_label.setText(f"Run {words} at step {result.step:,}{saved}")
        return f"Training {words} at step {result.step:,}{saved}"
