"""The explorer's render thread: its own Model, a latest-only mailbox, results stamped so stale ones can be dropped.

Slider events never queue up (DESIGN.md, "Threads"; STYLE.md, "Real-time generation: coalesce, never queue"). The
GUI thread drops a request into a one-slot mailbox guarded by a lock and wakes the thread with a
`threading.Event`; a newer request replaces a waiting one, so the render rate follows the model's speed and the
final frame always belongs to the final request (napari's StatusChecker, stylegan3's AsyncRenderer and its stamps).

Work kinds, highest priority first: open a model, load newer EMA weights, change the sampling settings (a VQ-VAE's
temperature and top-k), render the canvas, render one chunk of a strip (variations, bookmark thumbnails,
interpolation frames, a crossbreed grid), then other work an Explore tool or the Translate view asks of the model
(fit directions, translate a picture). Every image is an engine Look: a latent and what the family adds to it (ψ, a
mix of styles, a move in W). A strip is rendered a chunk at a time, so a canvas request never waits behind a long
strip; new weights or settings are in place before any request already waiting is rendered.

The Model lives and is used on this thread only. Signals carry uint8 NumPy arrays and plain records, never
tensors or modules. This module does no Qt painting (gui/imaging.py makes the QImage on the GUI thread).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from PySide6.QtCore import QThread, Signal

STRIP_CHUNK = 8  # images per strip pass; small enough that a canvas request waits at most one chunk


@dataclass(frozen=True)
class ModelInfo:
    """What the GUI may know about the open model: plain data, safe to send across threads."""
    path: str
    id: str
    family: str
    latent_dim: int
    size: int
    step: int
    capabilities: frozenset  # of engine.api.Capability
    label_names: tuple
    sampling: dict = field(default_factory=dict)  # temperature and top-k of a model that draws codes; {} otherwise
    codebook_size: int | None = None  # the codes such a model chooses among (top-k's useful limit)
    output: tuple = (3, 0, 0)  # what it makes: channels, height, width (engine.api.Output)
    input_kind: str = "latent"  # what a point is to it (engine.api.InputKind's value)
    style_ranges: dict = field(default_factory=dict)  # style-based: {"coarse": (start, stop), ...}
    num_styles: int = 0  # style-based: how many styles a point has
    flips: bool = False  # trained with mirrored images too (a mirrored training image is then a copy)
    aspect: str = "1:1"  # width:height of what it draws (`size` is the long side)
    directions: tuple = ()  # an image-to-image model's ("a2b", and "b2a" when it goes both ways); () otherwise

    @property
    def in_w(self) -> bool:
        """Style-based: ψ, mixes and directions act on the styles in W, not on z."""
        return self.input_kind == "styles"

    @property
    def translates(self) -> bool:
        """Image-to-image: it translates pictures instead of drawing points (the Translate view shows it)."""
        return bool(self.directions)

    def can(self, capability) -> bool:
        return capability in self.capabilities


@dataclass
class _Strip:
    stamp: int
    looks: list  # of engine Looks
    done: list


class RenderThread(QThread):
    rendered = Signal(object, int)  # H x W x 3 uint8, stamp of the request it answers
    strip_rendered = Signal(str, object, int)  # strip name, N x H x W x 3 uint8, stamp
    model_opened = Signal(object)  # ModelInfo
    snapshot_loaded = Signal(int)  # training step of the weights now in use
    computed = Signal(str, object)  # name of a compute() request, and its result (plain data)
    failed = Signal(str, str)  # what was being done ("open", "render", ...), a one-line reason
    message = Signal(str)  # what the model has to say while it works (it ran out of memory and adapted)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("render")
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._stamp = 0
        self._open: str | None = None
        self._opening = False  # from open_model() until that model is open (or failed)
        self._snapshot: tuple | None = None  # (weights, step)
        self._sampling: dict | None = None  # newest sampling settings not yet given to the model
        self._canvas: tuple | None = None  # (stamp, look)
        self._strips: dict[str, _Strip] = {}
        self._work: dict[str, Callable] = {}  # name -> work(model), asked by tools
        self._last_canvas = None  # the look last rendered: again when new weights arrive
        self._control = None
        self._holding = None  # the Control told render_started(), until the render work runs dry
        self._model = None  # touched on this thread only
        self.renders = 0  # canvas renders done (benches and tests read it)
        self.render_seconds = 0.0  # time spent in those renders

    # --- called from the GUI thread ---------------------------------------------------------------------------
    def open_model(self, path) -> None:
        with self._lock:
            self._open = str(path)
            self._opening = True
            self._canvas, self._strips, self._work, self._snapshot = None, {}, {}, None
            self._sampling = None  # a newly opened model starts from its own settings
            self._wake.set()

    def load_snapshot(self, weights: dict, step: int) -> None:
        with self._lock:
            self._snapshot = (weights, step)
            self._wake.set()

    def set_sampling(self, temperature: float | None = None, top_k: int | None = None) -> None:
        """Change the open model's temperature and top-k (None keeps one as it is); the newest call wins. Requests
        made after this call render with the new settings; the caller asks again for the images it wants remade."""
        with self._lock:
            changes = {key: value for key, value in (("temperature", temperature), ("top_k", top_k))
                       if value is not None}
            self._sampling = {**(self._sampling or {}), **changes}
            self._wake.set()

    def request(self, look) -> int:
        """Ask for the canvas image of an engine Look; replaces any waiting canvas request. Returns its stamp."""
        with self._lock:
            self._stamp += 1
            self._canvas = (self._stamp, look)
            self._hold_locked()
            self._wake.set()
            return self._stamp

    def request_strip(self, name: str, looks: list) -> int:
        """Ask for the images of engine Looks under `name`; replaces a waiting or half-done strip of that name."""
        with self._lock:
            self._stamp += 1
            self._strips[name] = _Strip(self._stamp, list(looks), [])
            self._hold_locked()
            self._wake.set()
            return self._stamp

    def compute(self, name: str, work: Callable) -> None:
        """Run `work(model)` with the open model, after any waiting images (fitting directions: seconds); its result
        comes back as `computed(name, result)`. A newer request of the same name replaces a waiting one."""
        with self._lock:
            self._work[name] = work
            self._wake.set()

    def set_control(self, control) -> None:
        """The training run's Control: it yields between steps while a render is pending."""
        with self._lock:
            if self._holding is not None:
                self._holding.render_finished()
                self._holding = None
            self._control = control
            if self._canvas is not None or self._strips:
                self._hold_locked()

    def current_stamp(self) -> int:
        """The newest stamp handed out: results at or below it were asked for before now."""
        with self._lock:
            return self._stamp

    def is_opening(self) -> bool:
        with self._lock:
            return self._opening

    def stop(self) -> None:
        """End the loop and wait for it; safe to call twice or before start()."""
        with self._lock:
            self._stopping = True
            self._wake.set()
        self.quit()
        self.wait()

    # --- the loop, on this thread -----------------------------------------------------------------------------
    def run(self) -> None:
        while True:
            self._wake.wait()
            with self._lock:
                if self._stopping:
                    self._release_locked()
                    return
                job = self._next_job_locked()
                if job is None or (job[0] != "render" and self._canvas is None and not self._strips):
                    self._release_locked()  # no image is waiting: training may have the CPU back
                if job is None:
                    self._wake.clear()
                    continue
            what, work = job
            try:
                work()
            except Exception as error:  # errors cross the thread as values (STYLE.md habit 10)
                self.failed.emit(what, _one_line(error))

    def _next_job_locked(self):
        if self._open is not None:
            path, self._open = self._open, None
            return "open", lambda: self._do_open(path)
        if self._model is None:  # nothing to render with: drop render work, keep waiting for a model
            self._canvas, self._strips, self._work, self._snapshot = None, {}, {}, None
            self._sampling = None
            return None
        if self._snapshot is not None:
            snapshot, self._snapshot = self._snapshot, None
            return "snapshot", lambda: self._do_snapshot(*snapshot)
        if self._sampling is not None:
            sampling, self._sampling = self._sampling, None
            return "sampling", lambda: self._model.set_sampling(**sampling)
        if self._canvas is not None:
            canvas, self._canvas = self._canvas, None
            return "render", lambda: self._do_canvas(*canvas)
        if self._strips:
            name, strip = next(iter(self._strips.items()))
            return "render", lambda: self._do_strip_chunk(name, strip)
        if self._work:
            name, work = self._work.popitem()
            return name, lambda: self.computed.emit(name, work(self._model))
        return None

    def _do_open(self, path: str) -> None:
        from engine import api

        api.leave_a_core_for_the_ui()  # this thread's own count, whatever a training run set for threads since
        self._model, self._last_canvas = None, None
        try:
            model = api.open_model(path)
            model.on_message = self.message.emit
        finally:
            with self._lock:
                self._opening = self._open is not None
        self._model = model
        styled = model.can(api.Capability.STYLE_MIXING)
        self.model_opened.emit(ModelInfo(path, model.id, model.family, model.latent_dim, model.size, model.step,
                                         frozenset(model.capabilities), tuple(model.label_names),
                                         dict(model.sampling()), model.codebook_size,
                                         (model.output.channels, model.output.height, model.output.width),
                                         model.inputs.kind.value, dict(model.net.style_ranges()) if styled else {},
                                         model.inputs.num_styles, bool(model.cfg.flip), model.aspect,
                                         tuple(model.directions)))

    def _do_snapshot(self, weights: dict, step: int) -> None:
        self._model.load_snapshot(weights, step)
        self.snapshot_loaded.emit(step)
        with self._lock:  # show the current point with the new weights, unless a newer request is waiting
            if self._canvas is None and self._last_canvas is not None:
                self._stamp += 1
                self._canvas = (self._stamp, self._last_canvas)
                self._hold_locked()

    def _do_canvas(self, stamp: int, look) -> None:
        self._last_canvas = look
        started = time.perf_counter()
        image = self._model.render_looks([look])[0]
        self.render_seconds += time.perf_counter() - started
        self.renders += 1
        self.rendered.emit(image, stamp)

    def _do_strip_chunk(self, name: str, strip: _Strip) -> None:
        start = sum(len(part) for part in strip.done)
        looks = strip.looks[start:start + STRIP_CHUNK]
        if looks:
            try:
                strip.done.append(self._model.render_looks(looks))
            except Exception:
                with self._lock:  # a strip that cannot be rendered must not be retried on every pass
                    if self._strips.get(name) is strip:
                        del self._strips[name]
                raise
        if start + len(looks) < len(strip.looks):
            return
        with self._lock:
            if self._strips.get(name) is not strip:
                return  # replaced while rendering: the newer one will be emitted
            del self._strips[name]
        images = np.concatenate(strip.done) if strip.done else np.zeros((0, 1, 1, 3), np.uint8)
        self.strip_rendered.emit(name, images, strip.stamp)

    # --- yielding the CPU to the explorer while training runs ------------------------------------------------
    def _hold_locked(self) -> None:
        if self._holding is None and self._control is not None:
            self._control.render_started()
            self._holding = self._control

    def _release_locked(self) -> None:
        if self._holding is not None:
            self._holding.render_finished()
            self._holding = None


def _one_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__

