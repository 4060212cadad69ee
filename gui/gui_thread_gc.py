"""Python's cyclic garbage collector, run on the GUI thread only.

Left automatic, the collector runs in whichever thread happens to allocate: a worker that lists checkpoints can then
free a cycle that holds a Qt widget, and deleting a widget off the GUI thread crashes the process (seen here as a
segmentation fault while a pool job was "Garbage-collecting"). So automatic collection is switched off and a timer
on the GUI thread collects instead, as pyqtgraph's GarbageCollector does. Reference counting still frees everything
that is not in a cycle at once, on whatever thread drops it.
"""
from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 1000  # a young-generation pass; cheap (well under a millisecond for this app's heap)
FULL_EVERY = 10  # every tenth pass collects all generations


class GuiThreadCollector(QObject):
    def __init__(self, parent: QObject):
        super().__init__(parent)
        self._passes = 0
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.collect)
        gc.disable()
        self._timer.start(INTERVAL_MS)

    def collect(self) -> None:
        self._passes += 1
        gc.collect(2 if self._passes % FULL_EVERY == 0 else 0)


def install(app) -> GuiThreadCollector:
    """Collect on `app`'s thread from now on (once per application)."""
    existing = app.findChild(GuiThreadCollector)
    return existing if existing is not None else GuiThreadCollector(app)
