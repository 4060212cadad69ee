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
