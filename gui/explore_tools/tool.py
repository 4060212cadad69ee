"""What an Explore tool is: one part of the room (sliders, variations, modes, bookmarks, projection, mixing) that
the room knows only through this interface, so a new tool is one module plus one line in the registry.

A tool sees the room through a narrow `Context`: the model shown, the current point and the look it renders, moves
of the point (one undoable step, or a drag committed when it ends), strips of thumbnails rendered on the render
thread, work done with the render thread's model, and the one path for messages. The room calls the tool back
through the hooks below; every hook is optional.
"""
from __future__ import annotations

from typing import Callable, Protocol

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget


class Context(Protocol):
    """What a tool may ask of the room (gui/explore_room.py implements it)."""

    def info(self):  # the open model's ModelInfo, or None
        ...

    def project(self):  # the project explored, or None
        ...

    def point(self):  # the current Point
        ...

    def look(self, point=None):  # the engine Look the point (default: the current one) renders as
        ...

    def go_to(self, point, text: str) -> None:  # make `point` current, as one undoable step named `text`
        ...

    def move(self, point) -> None:  # a drag: render `point` now; `commit` records it when the drag ends
        ...

    def commit(self, text: str) -> None:
        ...

    def request_strip(self, tool: "Tool", name: str, looks: list) -> int:  # thumbnails; answers strip_rendered
        ...

    def compute(self, tool: "Tool", name: str, work: Callable) -> None:  # work(model) on the render thread;
        ...  # answers computed(name, result), or computed_failed(name, reason)

    def model_source(self) -> tuple:  # (model path, training snapshot or None, sampling) for jobs of a tool
        ...

    def show_frame(self, image) -> None:  # show an image on the canvas (None: the current point's again)
        ...

    def look_of(self, record: dict):  # the Look a bookmark's or PNG's record describes in the open model
        ...

    def export(self, caption: str, name: str, pattern: str, path: str | None, what: str, job: Callable) -> None:
        ...  # ask where (unless `path`), then run job(path) off the GUI thread and say how it went

    def bookmarks(self) -> list[dict]:  # the project's bookmarks (records of their looks)
        ...

    def offered_variations(self, point):  # (title, latents) a tool offers instead of neighbours, or None
        ...

    def refresh(self) -> None:  # tell every tool the point again (what they show depends on something new)
        ...

    def notify(self, text: str) -> None:  # the window's one message path
        ...


class Tool(QObject):
    """A part of the Explore room. Subclasses set `name` and `title`, build their widgets in `__init__`, and
    override the hooks they need. A QObject, so a tool may declare signals of its own (tests wait on them)."""
    name = ""
    title = ""
    place = "side"  # "side": the panel beside the canvas; "below": under the canvas

    def __init__(self, context: Context):
        super().__init__()
        self.context = context
        self.widget: QWidget | None = None  # set by the subclass: what the room places
        self.below: QWidget | None = None  # optional second widget under the canvas (the interpolation path)
        self.shortcuts: list[tuple[str, Callable, str]] = []  # (keys, slot, what it does) the room binds

    def applies_to(self, info) -> bool:
        """Whether the tool is shown for this model (its capabilities)."""
        return True

    # --- hooks -----------------------------------------------------------------------------------------------
    def model_opened(self, info) -> None:
        """A model was opened (only called when `applies_to(info)`)."""

    def model_closed(self) -> None:
        """The model is going away: stop work, forget what belongs to it."""

    def point_changed(self, point) -> None:
        """The current point was set (a move committed, a step of the history, a new model's first point)."""

    def weights_changed(self, step: int) -> None:
        """The open model took newer weights from the training run: redraw what the tool shows."""

    def strip_rendered(self, name: str, images) -> None:
        """Thumbnails the tool asked for are ready (N x H x W x C uint8)."""

    def computed(self, name: str, result) -> None:
        """Work the tool gave the render thread is done."""

    def computed_failed(self, name: str, reason: str) -> None:
        """Work the tool gave the render thread failed."""

    def shape(self, point, look):
        """What the tool adds to the look of `point` (the directions' moves); returns the look."""
        return look

    def variations(self, point):
        """Latents the tool offers as this point's variations, with a title (more draws from a mode just
        clicked), or None to leave them to the variations tool's neighbours."""
        return None

    def picture_dropped(self, path: str) -> bool:
        """A picture that records no point was dropped on the canvas; True when the tool takes it."""
        return False

    def shutdown(self) -> None:
        """The app is closing."""
