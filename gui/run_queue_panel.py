"""The queue of runs in the Train room: add the settings shown as a run to do later, leave several overnight, and in
the morning read what each made (its KID, time and samples). Runs go one after another on their own threads
(gui.workers.TrainRun), each resumable; a failed one is recorded and the next starts; the machine is kept awake
while the queue runs (engine/run_queue.py). The queue is kept in a file, so it survives closing the app, and a run
that was cut off is resumed from its checkpoint when the queue runs again.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (QGridLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout,
                               QWidget)

from .widgets.duration import duration
from .workers import TrainRun

ICON_SIDE = 48


class QueuePanel(QWidget):
    entry_finished = Signal(object)  # the entry (a dict) as it ended
    queue_finished = Signal()

    def __init__(self, path: Path, parent=None):
        super().__init__(parent)
        self.path = Path(path)
        self.api = None
        self.queue = None
        self.run: TrainRun | None = None
        self._entry: dict | None = None
        self._awake = None
        self._stopping = False
        self.blocked_by = lambda: False  # the Train room says when its own run is training
        self.list = QListWidget(toolTip="The runs to do, in order; in the morning, what each made", wordWrap=True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setIconSize(QSize(ICON_SIDE, ICON_SIDE))
        self.status = QLabel("", wordWrap=True)
        self.run_button = QPushButton("Run the queue", toolTip="Run every waiting run, one after another; the "
                                      "machine is kept awake meanwhile")
        self.stop_button = QPushButton("Stop", toolTip="Stop the run under way (its checkpoint is kept) and the "
                                       "queue after it")
        self.remove_button = QPushButton("Remove", toolTip="Take the selected run off the queue")
        self.clear_button = QPushButton("Clear finished")
        buttons = QGridLayout()
        for index, button in enumerate((self.run_button, self.stop_button, self.remove_button, self.clear_button)):
            buttons.addWidget(button, index // 2, index % 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self.run_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.remove_button.clicked.connect(self._remove_selected)
        self.clear_button.clicked.connect(lambda: (self.queue.clear_finished(), self._show()))
        self._show()

    def set_api(self, api) -> None:
        self.api = api
        self.queue = api.RunQueue(self.path)
        self._awake = api.KeepAwake()
        self._show()

    # --- what the Train room and tests use -----------------------------------------------------------------
    def add(self, project, config, title: str = "") -> None:
        self.queue.add(project.root if hasattr(project, "root") else project, config, title)
        self._show()

    def entries(self) -> list[dict]:
        return self.queue.entries() if self.queue is not None else []

    def is_running(self) -> bool:
        return self.run is not None

    def start(self) -> None:
        if self.queue is None or self.run is not None:
            return
        if self.blocked_by():
            self.status.setText("A run is training: the queue can start once it has stopped")
            return
        self._stopping = False
        if self.queue.next_entry() is None:
            self.status.setText("Nothing waiting in the queue")
            return
        awake = self._awake.start()
        self.status.setText("Keeping the machine awake while the queue runs" if awake and self._awake.working()
                            else "The queue runs; this system offers no way to keep the machine awake, so check "
                                 "its sleep settings")
        self._next()

    def stop(self) -> None:
        self._stopping = True
        if self.run is not None:
            self.run.control.request_stop()
            self.status.setText("Stopping: saving a checkpoint…")

    def shutdown(self) -> None:
        """The app is closing: stop the run under way (blocking), keeping it to resume next time."""
        if self.run is not None:
            self._stopping = True
            self.run.stop_and_wait()
            self.queue.update(self._entry["id"], state="interrupted")
        if self._awake is not None:
            self._awake.stop()

    # --- running -------------------------------------------------------------------------------------------
    def _next(self) -> None:
        entry = None if self._stopping else self.queue.next_entry()
        if entry is None:
            self._awake.stop()
            self._show()
            self.status.setText(self._summary())
            self.queue_finished.emit()
            return
        resume = entry["state"] == "interrupted"
        config = self.api.TrainConfig.from_dict(entry["config"])
        self._entry = entry
        self.queue.update(entry["id"], state="running", started=self._now())
        self.run = TrainRun(self.api, entry["project"], config, new=not resume, parent=self)
        self.run.event.connect(self._on_event)
        self.run.failed.connect(lambda text: self.queue.update(entry["id"], error=text))
        self.run.finished.connect(self._on_finished)
        self.run.start()
        self._show()

    def _on_event(self, event) -> None:
        api, entry = self.api, self._entry
        if isinstance(event, api.RunStarted):
            self.queue.update(entry["id"], run=event.run_dir.name, run_dir=str(event.run_dir))
        elif isinstance(event, api.StepDone):
            self.status.setText(f"{entry['title']}: step {event.step:,} of {event.total_steps:,}")
        elif isinstance(event, api.QualityMeasured):
            self.queue.update(entry["id"], kid=event.kid, copies=event.copies)
        elif isinstance(event, api.SamplesReady):
            self.queue.update(entry["id"], samples=str(event.path) if event.path else None)

    def _on_finished(self, result) -> None:
        entry = self._entry
        run, self.run = self.run, None
        run.deleteLater()
        if result is None:
            changes = {"state": "failed", "reason": "failed"}
        elif result.reason == "stopped" and self._stopping:
            changes = {"state": "interrupted", "reason": "stopped", "step": result.step}
        else:
            changes = {"state": "failed" if result.reason == "failed" else "done", "reason": result.reason,
                       "step": result.step, "error": result.error}
        changes["seconds"] = entry.get("seconds", 0.0) + self._now() - self._started(entry)
        self.queue.update(entry["id"], **changes)
        self.entry_finished.emit(next(e for e in self.queue.entries() if e["id"] == entry["id"]))
        self._next()

    # --- showing -------------------------------------------------------------------------------------------
    def _show(self) -> None:
        self.list.clear()
        for entry in self.entries():
            item = QListWidgetItem(self._line(entry))
            item.setData(Qt.ItemDataRole.UserRole, entry["id"])
            item.setToolTip(entry.get("error") or entry["project"])
            if entry.get("samples") and entry.get("state") != "waiting":
                item.setIcon(QIcon(entry["samples"]))  # the run's newest samples; Qt reads them when painting
            self.list.addItem(item)
        running = self.run is not None
        self.run_button.setEnabled(self.queue is not None and not running)
        self.stop_button.setEnabled(running)
        self.run_button.setText("Continue the queue" if any(e["state"] == "interrupted" for e in self.entries())
                                else "Run the queue")

    def _line(self, entry: dict) -> str:
        state = entry.get("state", "waiting")
        parts = [f"{entry['title']} · {state}"]
        if entry.get("step"):
            parts.append(f"step {entry['step']:,}")
        if entry.get("kid") is not None:
            parts.append(f"KID {entry['kid']:.4f}")
        if entry.get("copies") is not None:
            parts.append(f"{entry['copies']:.0%} copies")
        if entry.get("seconds"):
            parts.append(duration(entry["seconds"]))
        if state == "failed" and entry.get("error"):
            parts.append(entry["error"][:80])
        return " · ".join(parts)

    def _summary(self) -> str:
        entries = self.entries()
        done = sum(e["state"] == "done" for e in entries)
        failed = sum(e["state"] == "failed" for e in entries)
        return f"The queue has run: {done} done, {failed} failed" + (
            "; the failed ones say why (hover)" if failed else "")

    def _remove_selected(self) -> None:
        for item in self.list.selectedItems():
            self.queue.remove(item.data(Qt.ItemDataRole.UserRole))
        self._show()

    def _started(self, entry: dict) -> float:
        return next(e for e in self.queue.entries() if e["id"] == entry["id"]).get("started", self._now())

    @staticmethod
    def _now() -> float:
        import time

        return time.time()
