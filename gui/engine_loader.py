"""Loads `engine.api` (and with it torch, which takes seconds) in the background, after the window is on screen.

Why a plain `threading.Thread` and a C++-only loading state: importing torch holds the GIL for hundreds of
milliseconds at a time (the extension modules initialise under it), so any Python slot on the GUI thread stalls
while it loads: a 10 ms Python QTimer saw gaps of 250-880 ms. Qt's own C++ event loop does not need the GIL once
every wrapper has cached that it has no Python override (shiboken's PYSIDE-803 cache), so a C++ timer kept firing
every 10 ms through the same import (max unexplained gap 9-12 ms). The loading UI is therefore an indeterminate
QProgressBar (animated by Qt's style animation, in C++) and nothing Python runs on the GUI thread until `ready`.

Must not import torch or the engine at module level; only `EngineLoader.start` does, on its thread.
"""
from __future__ import annotations

import importlib
import threading
import time

from PySide6.QtCore import QObject, Signal, Slot

from .workers import error_text


class EngineLoader(QObject):
    """`start()` once; exactly one of `ready(api_module)` or `failed(message)` then arrives on the GUI thread."""
    ready = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None, warm: tuple[str, ...] = ()):
        super().__init__(parent)
        self._warm = warm  # modules the app needs right after the engine: imported here, off the GUI thread
        self.api = None  # the engine.api module once loaded
        self.seconds = 0.0  # how long the import took, for the About box and the benchmarks
        self._thread: threading.Thread | None = None
        self.ready.connect(self._remember)

    def start(self) -> None:
        if self._thread is not None:
            return
        # A daemon thread: quitting while torch is still importing must not keep the process alive.
        self._thread = threading.Thread(target=self._load, name="engine-loader", daemon=True)
        self._thread.start()

    def is_loaded(self) -> bool:
        return self.api is not None

    def _load(self) -> None:
        started = time.perf_counter()
        try:
            api = importlib.import_module("engine.api")
            api.leave_a_core_for_the_ui()  # a thread fewer than the machine has, so painting never waits (not training)
        except Exception as error:  # noqa: BLE001 - a broken install is shown to the user, not a dead thread
            self.failed.emit(f"The engine could not load: {error_text(error)}")
            return
        for name in self._warm:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - the window imports it again itself and reports what is wrong
                pass
        self.seconds = time.perf_counter() - started
        self.ready.emit(api)  # queued: this object lives on the GUI thread

    @Slot(object)  # queued from the loading thread: a declared slot (see ExploreRoom._on_rendered)
    def _remember(self, api) -> None:
        self.api = api
