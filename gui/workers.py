"""The threads the rooms use: one-off engine calls on the QThreadPool, and a training run on its own QThread.

A room hands a plain callable to `run_task` (ingest, load a dataset, measure speed, ...) and gets Qt signals back
on the GUI thread; a training run is a `TrainRun` (QThread + worker QObject, as in DESIGN.md "Threads").
Errors cross the thread boundary as values (`failed(str)`), never as a dead thread. Pause and stop are `Control`
flags set directly from the GUI thread: the worker's slot blocks for the whole run, so queued slots on the worker
would never run (STYLE.md, "Training").

Must not import torch or the engine: the callables and the `api` module are handed in by the rooms.
"""
from __future__ import annotations

import sys
import traceback
from typing import Callable

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThread, QThreadPool, Signal, Slot


def error_text(error: BaseException) -> str:
    """One line for the user; the traceback goes to stderr for whoever runs the app from a terminal."""
    traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
    return str(error) or type(error).__name__


# --- one-off jobs -----------------------------------------------------------------------------------------------

class TaskSignals(QObject):
    """Lives on the GUI thread, so every emit from the pool thread arrives there queued."""
    event = Signal(object)  # an engine event (Progress, Message, ...) reported while the job runs
    done = Signal(object)  # the callable's return value
    failed = Signal(str)
    cancelled = Signal()
    finished = Signal()  # always last, whatever happened


class Task(QRunnable):
    """One call of `function(on_event, control)` on the pool. Keep it alive until `finished` (run_task does)."""

    def __init__(self, function: Callable, control):
        super().__init__()
        self.setAutoDelete(False)  # Python owns it; run_task drops the reference on `finished`
        self.function = function
        self.control = control
        self.signals = TaskSignals()

    def run(self) -> None:
        try:
            result = self.function(lambda event: self._emit("event", event), self.control)
        except Exception as error:  # noqa: BLE001 - every failure becomes a value for the GUI
            if type(error).__name__ == "Cancelled":  # engine.api.Cancelled; this module does not import the engine
                self._emit("cancelled")
            else:
                self._emit("failed", error_text(error))
        else:
            self._emit("done", result)
        finally:
            self._emit("finished")

    def _emit(self, name: str, *args) -> None:
        """Emit, unless the signals' C++ side is gone: when the app quits while a job still runs, Qt deletes the
        signal objects before the job's thread ends, and there is nobody left to tell."""
        try:
            if shiboken6.isValid(self.signals):
                getattr(self.signals, name).emit(*args)
        except RuntimeError:  # deleted between the check and the emit
            pass

    def cancel(self) -> None:
        if self.control is not None:
            self.control.request_stop()


_running_tasks: set[Task] = set()


def run_task(function: Callable, control=None, on_done=None, on_failed=None, on_event=None, on_cancelled=None,
             on_finished=None, *, owner: QObject) -> Task:
    """Run `function(on_event, control)` on the global QThreadPool; the handlers are called on the GUI thread,
    and only while `owner` (the widget they paint into) still exists: a job may outlive the room that started it."""
    task = Task(function, control)
    for signal, handler in ((task.signals.done, on_done), (task.signals.failed, on_failed),
                            (task.signals.event, on_event), (task.signals.cancelled, on_cancelled),
                            (task.signals.finished, on_finished)):
        if handler is not None:
            signal.connect(_while_alive(owner, handler))
    task.signals.finished.connect(lambda: _running_tasks.discard(task))
    _running_tasks.add(task)
    QThreadPool.globalInstance().start(task)
    return task


def _while_alive(owner: QObject, handler: Callable) -> Callable:
    def call(*args):
        if shiboken6.isValid(owner):
            handler(*args)
    return call


def cancel_all_tasks() -> None:
    """Ask every running job to stop (the window is closing); each ends at its next check."""
    for task in list(_running_tasks):
        task.cancel()


# --- training ---------------------------------------------------------------------------------------------------

class TrainWorker(QObject):
    """Calls `api.train` once, on the run's thread; every engine event becomes an `event` signal."""
    event = Signal(object)
    failed = Signal(str)
    finished = Signal(object)  # the RunFinished record, or None when train raised

    def __init__(self, api, project, config, control, new: bool):
        super().__init__()
        self._api, self._project, self._config, self._control, self._new = api, project, config, control, new

    @Slot()
    def run(self) -> None:
        result = None
        try:
            project = self._project
            if isinstance(project, str):  # a queued run names its project by folder: opened here, off the GUI
                project = self._api.Project.open(project)
            with self._api.every_core():  # training has the cores; the window stays smooth beside it
                result = self._api.train(project, self._config, on_event=self.event.emit, control=self._control,
                                         new=self._new)
        except Exception as error:  # noqa: BLE001 - errors are values at the thread boundary
            self.failed.emit(error_text(error))
        finally:
            self.finished.emit(result)
            # Quit directly, not through a queued finished -> quit connection: once the GUI loop has exited a
            # queued quit is never delivered and wait() blocks forever (STYLE.md, "Shutdown gotcha").
            self.thread().quit()


class TrainRun(QObject):
    """One training run: its QThread, its worker and its Control. Signals arrive on the GUI thread."""
    event = Signal(object)
    failed = Signal(str)
    finished = Signal(object)

    def __init__(self, api, project, config, new: bool, parent: QObject | None = None):
        super().__init__(parent)
        self.control = api.Control()
        self._thread = QThread(self)
        self._thread.setObjectName("training")
        self.worker = TrainWorker(api, project, config, self.control, new)
        self.worker.moveToThread(self._thread)
        self._thread.started.connect(self.worker.run)
        self.worker.event.connect(self.event)
        self.worker.failed.connect(self.failed)
        self.worker.finished.connect(self._on_worker_finished)

    def start(self) -> None:
        self._thread.start()

    def is_running(self) -> bool:
        return self._thread.isRunning()

    @Slot(object)  # queued from the run's thread: a declared slot (see ExploreRoom._on_rendered)
    def _on_worker_finished(self, result) -> None:
        self._thread.wait()  # returns at once: the worker already quit the thread's loop itself
        self.finished.emit(result)

    def stop_and_wait(self, timeout_ms: int = 60_000) -> bool:
        """Last resort for teardown: ask for a stop (the engine still saves a checkpoint) and block until done."""
        self.control.request_stop()
        return self._thread.wait(timeout_ms)
