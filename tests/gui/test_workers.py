"""The job threads' edge: a job that outlives the window which started it."""
from __future__ import annotations

import shiboken6

from gui.workers import Task


def test_a_job_whose_signals_were_deleted_ends_quietly(qapp):
    """Quitting while a job runs deletes its signal objects before the job's thread ends; the job must then
    finish without raising "Signal source has been deleted" in the pool thread (seen when the app quit mid-job)."""
    calls = []

    def job(on_event, control):
        shiboken6.delete(task.signals)  # the window closes while the job runs
        on_event("progress")
        calls.append("ran")
        return 42

    task = Task(job, None)
    task.run()  # on this thread: an exception would surface here
    assert calls == ["ran"]
    assert not shiboken6.isValid(task.signals)


def test_a_failing_job_whose_signals_were_deleted_ends_quietly(qapp):
    def job(on_event, control):
        shiboken6.delete(task.signals)
        raise ValueError("the disk went away")

    task = Task(job, None)
    task.run()
    assert not shiboken6.isValid(task.signals)


def test_a_run_trains_on_every_core_while_the_window_keeps_one_for_itself(qtbot):
    """On two cores the default model trained 1.47x faster on both than on one (devices.every_core); the GUI
    thread, and threads started later (renders, jobs), keep the app's one fewer."""
    import threading
    from types import SimpleNamespace

    import torch

    from engine import api
    from engine.devices import MACHINE_THREADS
    from gui.workers import TrainRun

    before = torch.get_num_threads()
    seen = {}

    def train(project, config, on_event, control, new):
        seen["training"] = torch.get_num_threads()

    try:
        api.leave_a_core_for_the_ui()  # as the app does at start
        run = TrainRun(SimpleNamespace(Control=api.Control, every_core=api.every_core, train=train), object(), None,
                       new=True)
        with qtbot.waitSignal(run.finished, timeout=10_000):
            run.start()
        later = threading.Thread(target=lambda: seen.setdefault("later", torch.get_num_threads()))
        later.start()
        later.join()
        app_threads = max(1, MACHINE_THREADS - 1)
        assert seen["training"] == MACHINE_THREADS
        assert torch.get_num_threads() == app_threads and seen["later"] == app_threads
    finally:
        torch.set_num_threads(before)
