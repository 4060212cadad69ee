"""A small thread-safe control object that callers hand to long engine work: stop, pause, and yield to renders.

The GUI sets these flags directly from its own thread; the engine checks them between steps (superqt's
abort flag, labelme's requestInterruption). Nothing here blocks the caller that sets a flag.
"""
from __future__ import annotations

import threading


class Cancelled(Exception):
    """Raised inside long one-off work (ingest, fits) when the caller asked to stop."""


class Control:
    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()  # cleared while paused
        self._running.set()
        self._renders = 0  # renders waiting for the CPU; training yields while > 0
        self._renders_lock = threading.Lock()
        self._renders_idle = threading.Event()
        self._renders_idle.set()

    # stop -------------------------------------------------------------------------------------------------------
    def request_stop(self) -> None:
        self._stop.set()
        self._running.set()  # a paused run must wake up to stop

    def should_stop(self) -> bool:
        return self._stop.is_set()

    def check(self) -> None:
        """Raise Cancelled when a stop was asked for; for one-off jobs that have nothing to save."""
        if self._stop.is_set():
            raise Cancelled()

    # pause ------------------------------------------------------------------------------------------------------
    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_if_paused(self) -> None:
        self._running.wait()

    # yielding to the explorer -----------------------------------------------------------------------------------
    def render_started(self) -> None:
        with self._renders_lock:
            self._renders += 1
            self._renders_idle.clear()

    def render_finished(self) -> None:
        with self._renders_lock:
            self._renders = max(0, self._renders - 1)
            if self._renders == 0:
                self._renders_idle.set()

    def yield_to_renders(self, timeout: float = 0.25) -> None:
        """Between training steps: let a pending render have the CPU first (bounded, so training never starves)."""
        self._renders_idle.wait(timeout)


NULL_CONTROL = Control()
