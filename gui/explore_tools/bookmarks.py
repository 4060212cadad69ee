"""Bookmarks and the interpolation path through them: keep points (saved with the project, off the GUI thread),
go back to one, and play, pick from or export a looping path through several (GIF or MP4).

A bookmark is the record of the look it was made at (engine Look.record: the latent, and a style-based model's
ψ, mix and move in W), with its name, seed, class and the id of the model that made it.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGroupBox, QVBoxLayout

from .. import explore_jobs
from ..widgets.animation import InterpolationPanel
from ..widgets.bookmarks import BookmarkPanel
from ..workers import run_task
from .tool import Tool


class BookmarksTool(Tool):
    name = "bookmarks"
    title = "Bookmarks"
    saved = Signal(int)  # the number of bookmarks now on disk

    def __init__(self, context):
        super().__init__(context)
        self.panel = BookmarkPanel()
        self.widget = QGroupBox(self.title)
        QVBoxLayout(self.widget).addWidget(self.panel)
        self.interpolation = InterpolationPanel()
        self.below = QGroupBox("Interpolation")
        QVBoxLayout(self.below).addWidget(self.interpolation)
        self._bookmarks: list[dict] = []
        self._keyframes: list[np.ndarray] = []
        self._frames: np.ndarray | None = None  # latents of the path's frames
        self._saving = self._dirty = False
        self.shortcuts = [("Ctrl+B", self.add, "Bookmark the current point"),
                          ("Space", self.interpolation.toggle, "Play or pause the path through the bookmarks")]
        self.panel.add_requested.connect(self.add)
        self.panel.picked.connect(self._on_picked)
        self.panel.renamed.connect(self._on_renamed)
        self.panel.delete_requested.connect(self._on_deleted)
        self.panel.interpolate_requested.connect(self.interpolate)
        self.interpolation.frames_per_segment_changed.connect(lambda _n: self._request_frames())
        self.interpolation.frame_shown.connect(lambda image, _i: context.show_frame(image))
        self.interpolation.playing_changed.connect(lambda playing: None if playing else context.show_frame(None))
        self.interpolation.picked.connect(self._on_frame_picked)
        self.interpolation.export_requested.connect(lambda kind: self.export_animation(kind=kind))

    # --- what the room and tests read --------------------------------------------------------------------
    def bookmarks(self) -> list[dict]:
        return list(self._bookmarks)

    def frame_latents(self) -> np.ndarray | None:
        return self._frames

    def load(self, bookmarks: list[dict]) -> None:
        """The project's bookmarks (the room reads them when a project opens)."""
        self._bookmarks = list(bookmarks)
        self._keyframes, self._frames = [], None
        self.interpolation.clear()
        self._refresh()

    # --- hooks -------------------------------------------------------------------------------------------
    def model_opened(self, info) -> None:
        self._refresh()
        self._request_frames()

    def model_closed(self) -> None:
        self.interpolation.pause()

    def point_changed(self, point) -> None:
        self.interpolation.pause()

    def weights_changed(self, step: int) -> None:
        self._request_thumbnails()
        self._request_frames()

    def strip_rendered(self, name: str, images) -> None:
        if name == "frames":
            self.interpolation.set_frames(images)
        else:
            self.panel.set_thumbnails(images, self._thumbnail_rows)

    def shutdown(self) -> None:
        self.interpolation.pause()

    # --- bookmarks ---------------------------------------------------------------------------------------
    def add(self, name: str | None = None) -> None:
        context = self.context
        info = context.info()
        if info is None:
            return
        point = context.point()
        if name is None:
            plain_seed = point.latent is None and not any(point.amounts) and point.mix is None
            name = f"Seed {point.seed}" if plain_seed else f"Bookmark {len(self._bookmarks) + 1}"
        look = context.look()
        bookmark = {"name": name, "model_id": info.id, "seed": point.seed, **look.record()}
        if look.label is not None and look.label < len(info.label_names):
            bookmark["label"] = info.label_names[look.label]
        self._bookmarks.append(bookmark)
        self._refresh()
        self._save()
        context.notify(f"Bookmarked “{name}”")

    def _usable(self, bookmark: dict) -> bool:
        info = self.context.info()
        return info is not None and len(bookmark.get("latent", ())) == info.latent_dim

    def _refresh(self) -> None:
        info = self.context.info()
        notes = [None if self._usable(b) or info is None else
                 f"made with another model (latent size {len(b.get('latent', ()))}, "
                 f"this model has {info.latent_dim})" for b in self._bookmarks]
        self.panel.set_bookmarks(self._bookmarks, notes)
        self._request_thumbnails()

    def _request_thumbnails(self) -> None:
        self._thumbnail_rows = [i for i, b in enumerate(self._bookmarks) if self._usable(b)]
        if self._thumbnail_rows:
            looks = [self.context.look_of(self._bookmarks[i]) for i in self._thumbnail_rows]
            self.context.request_strip(self, "thumbnails", looks)

    def _save(self) -> None:
        """Write the list off the GUI thread; one write at a time, so an older list never lands last."""
        project = self.context.project()
        if project is None:
            return
        if self._saving:
            self._dirty = True
            return
        self._saving, self._dirty = True, False
        bookmarks = [dict(b) for b in self._bookmarks]
        run_task(lambda _on_event, _control: explore_jobs.save_bookmarks(project, bookmarks),
                 on_done=self.saved.emit,
                 on_finished=self._on_written,
                 on_failed=lambda reason: self.context.notify(f"Bookmarks not saved: {reason}"),
                 owner=self.widget)

    def _on_written(self) -> None:
        self._saving = False
        if self._dirty:
            self._save()

    def _on_picked(self, row: int) -> None:
        bookmark, info = self._bookmarks[row], self.context.info()
        if not self._usable(bookmark):
            self.context.notify(f"“{bookmark['name']}” was made with a model of another shape; it cannot be shown")
            return
        self.context.go_to(self.context.point().at(self.context.look_of(bookmark), bookmark.get("seed")), "Bookmark")
        if bookmark.get("model_id") != info.id:
            self.context.notify(f"“{bookmark['name']}” was made with model {bookmark.get('model_id')}; "
                                "this model draws its point differently")

    def _on_renamed(self, row: int, name: str) -> None:
        self._bookmarks[row]["name"] = name
        self._save()

    def _on_deleted(self, rows: list[int]) -> None:
        self._bookmarks = [b for i, b in enumerate(self._bookmarks) if i not in set(rows)]
        self._refresh()
        self._save()
        self.context.notify(f"Deleted {len(rows)} bookmark{'s' if len(rows) > 1 else ''}")

    # --- interpolation -----------------------------------------------------------------------------------
    def interpolate(self, rows: list[int]) -> None:
        """A looping slerp path through the bookmarks at `rows` (in list order), rendered as a strip."""
        usable = [row for row in rows if self._usable(self._bookmarks[row])]
        if len(usable) < 2:
            self.context.notify("Interpolation needs two or more bookmarks made with this model's latent size")
            return
        self._keyframes = [np.asarray(self._bookmarks[row]["latent"], np.float32) for row in usable]
        self._request_frames()

    def _request_frames(self) -> None:
        from engine import api

        if self.context.info() is None or len(self._keyframes) < 2:
            return
        self._frames = api.interpolate(self._keyframes, frames_per_segment=self.interpolation.steps.value(),
                                       loop=True)
        self.interpolation.set_path(len(self._frames), len(self._keyframes))
        label = self.context.look().label
        self.context.request_strip(self, "frames", [api.Look(frame, label) for frame in self._frames])

    def _on_frame_picked(self, index: int) -> None:
        if self._frames is not None and index < len(self._frames):
            self.context.go_to(self.context.point().with_latent(self._frames[index]), "Interpolation frame")

    def export_animation(self, path: str | None = None, kind: str = "gif") -> None:
        """Save the interpolation path as a looping GIF or an MP4 (off the GUI thread)."""
        frames = self._frames
        if self.context.info() is None or frames is None:
            return
        model_path, snapshot, sampling = self.context.model_source()
        project = self.context.project()
        fps = self.interpolation.fps.value()
        pattern = "GIF animations (*.gif)" if kind == "gif" else "MP4 videos (*.mp4)"
        self.context.export(f"Export {kind.upper()}", f"path.{kind}", pattern, path, f"{len(frames)} frames",
                            lambda out: explore_jobs.export_animation(model_path, snapshot, frames, out, fps,
                                                                      sampling, project))
