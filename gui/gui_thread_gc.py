"""Python's cyclic garbage collector, run on the GUI thread only.

Left automatic, the collector runs in whichever thread happens to allocate: a worker that lists checkpoints can then
free a cycle that holds a Qt widget, and deleting a widget off the GUI thread crashes the process (seen here as a
segmentation fault while a pool job was "Garbage-collecting"). So automatic collection is switched off and a timer
on the GUI thread collects instead, as pyqtgraph's GarbageCollector does, when Python itself would have: when a
generation's count passes its threshold. Reference counting still frees everything that is not in a cycle at once,
on whatever thread drops it.

A full collection walks every object: with torch loaded that is about 140 ms, a visible hitch. Once the engine is
loaded, `keep_what_is_loaded` moves the objects alive then (modules, classes, the engine) out of the collector's
sight, as the gc module's documentation advises after start-up, and full collections take well under a millisecond.
Until then nothing is collected.
"""
from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 1000  # how often the counts are looked at


class GuiThreadCollector(QObject):
    def __init__(self, parent: QObject):
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.collect)
        gc.disable()
        self._timer.start(INTERVAL_MS)

    def collect(self) -> None:
        """The oldest generation whose count passed its threshold, as the automatic collector would. Nothing while
        the engine loads: its imports fill the young generation with objects that live as long as the process, and
        sorting through them held the window for ~110 ms at launch (bench/ui_latency.py); they are kept aside
        instead once it has loaded."""
        if not _kept:
            return
        counts, thresholds = gc.get_count(), gc.get_threshold()
        for generation in (2, 1, 0):
            if counts[generation] > thresholds[generation]:
                gc.collect(generation)
                return


def install(app) -> GuiThreadCollector:
    """Collect on `app`'s thread from now on (once per application)."""
    existing = app.findChild(GuiThreadCollector)
    return existing if existing is not None else GuiThreadCollector(app)


_kept = False


def keep_what_is_loaded() -> None:
    """Leave the objects alive now out of every later collection (once per process: they live as long as it)."""
    global _kept
    if not _kept:
        gc.freeze()
        _kept = True
