"""What an artist keeps from the Explore room: bookmarks, interpolation paths, exported PNGs and animations, and
PNGs dropped back onto the canvas. A mixin of ExploreRoom (gui/explore_room.py), split out to keep each file to
one concern; it uses the room's point, render requests and signals.

File work (reading a dropped PNG, writing bookmarks, exports: gui/explore_jobs.py) runs on the QThreadPool through
gui.workers.run_task, never on the GUI thread. Dialogs go through `ask_save_path`, which tests replace.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QFileDialog

from . import explore_jobs, imaging
from .workers import run_task


class KeepingMixin:
    @classmethod
    def ask_save_path(cls, parent, caption: str, start: str, pattern: str) -> str | None:
        path, _ = QFileDialog.getSaveFileName(parent, caption, start, pattern)
        return path or None

    # --- bookmarks -------------------------------------------------------------------------------------------
    def add_bookmark(self, name: str | None = None) -> None:
        if self._info is None:
            return
        point = self._point
        if name is None:
            plain_seed = point.latent is None and not any(point.amounts)
            name = f"Seed {point.seed}" if plain_seed else f"Bookmark {len(self._bookmarks) + 1}"
        bookmark = {"name": name, "model_id": self._info.id, "seed": point.seed,
                    "latent": [float(v) for v in self.current_latent()]}
        if self.label_name() is not None:
            bookmark["label"] = self.label_name()
        self._bookmarks.append(bookmark)
        self._refresh_bookmarks()
        self._save_bookmarks()
        self.status.emit(f"Bookmarked “{name}”")

    def _usable(self, bookmark: dict) -> bool:
        return self._info is not None and len(bookmark.get("latent", ())) == self._info.latent_dim

    def _refresh_bookmarks(self) -> None:
        notes = [None if self._usable(b) or self._info is None else
                 f"made with another model (latent size {len(b.get('latent', ()))}, "
                 f"this model has {self._info.latent_dim})" for b in self._bookmarks]
        self.bookmark_panel.set_bookmarks(self._bookmarks, notes)
        self._request_bookmark_thumbnails()

    def _save_bookmarks(self) -> None:
        """Write the list off the GUI thread; one write at a time, so an older list never lands last."""
        if self._project is None:
            return
        if self._saving_bookmarks:
            self._bookmarks_dirty = True
            return
        self._saving_bookmarks, self._bookmarks_dirty = True, False
        project, bookmarks = self._project, [dict(b) for b in self._bookmarks]
        run_task(lambda _on_event, _control: explore_jobs.save_bookmarks(project, bookmarks),
                 on_done=self.bookmarks_saved.emit, on_finished=self._on_bookmarks_written,
                 on_failed=lambda reason: self.status.emit(f"Bookmarks not saved: {reason}"))

    def _on_bookmarks_written(self) -> None:
        self._saving_bookmarks = False
        if self._bookmarks_dirty:
            self._save_bookmarks()

    def _on_bookmark_picked(self, row: int) -> None:
        bookmark = self._bookmarks[row]
        if not self._usable(bookmark):
            self.status.emit(f"“{bookmark['name']}” was made with a model of another shape; it cannot be shown")
            return
        self.go_to(self._point.with_latent(bookmark["latent"], bookmark.get("seed"),
                                           self.label_index(bookmark.get("label"))), "Bookmark")
        if bookmark.get("model_id") != self._info.id:
            self.status.emit(f"“{bookmark['name']}” was made with model {bookmark.get('model_id')}; "
                             "this model draws its point differently")

    def _on_bookmark_renamed(self, row: int, name: str) -> None:
        self._bookmarks[row]["name"] = name
        self._save_bookmarks()

    def _on_bookmarks_deleted(self, rows: list[int]) -> None:
        self._bookmarks = [b for i, b in enumerate(self._bookmarks) if i not in set(rows)]
        self._refresh_bookmarks()
        self._save_bookmarks()
        self.status.emit(f"Deleted {len(rows)} bookmark{'s' if len(rows) > 1 else ''}")

    # --- interpolation ---------------------------------------------------------------------------------------
    def interpolate(self, rows: list[int]) -> None:
        """A looping slerp path through the bookmarks at `rows` (in list order), rendered as a strip."""
        usable = [row for row in rows if self._usable(self._bookmarks[row])]
        if len(usable) < 2:
            self.status.emit("Interpolation needs two or more bookmarks made with this model's latent size")
            return
        self._keyframes = [np.asarray(self._bookmarks[row]["latent"], np.float32) for row in usable]
        self._request_frames()

    def interpolation_latents(self) -> np.ndarray | None:
        request = self._strips.get("frames")
        return None if request is None else request[1]

    def _on_frame_picked(self, index: int) -> None:
        latents = self.interpolation_latents()
        if latents is not None and index < len(latents):
            self.go_to(self._point.with_latent(latents[index]), "Interpolation frame")

    def _on_variation_picked(self, index: int) -> None:
        request = self._strips.get("variations")
        if request is not None and index < len(request[1]):
            self.go_to(self._point.with_latent(request[1][index]), "Variation")

    def _on_playing_changed(self, playing: bool) -> None:
        if not playing and self._current_image is not None:
            self.canvas.set_image(self._current_image)

    # --- exports ---------------------------------------------------------------------------------------------
    def _export_folder(self) -> Path:
        return self._project.root / "exports" if self._project is not None else Path.home()

    def export_png(self, path: str | None = None) -> None:
        """Save the current image with its latent in the PNG (off the GUI thread); asks for a path when None.

        The latent saved is the one rendered (truncated, moved along the directions), and the export's own Model
        draws with the canvas's temperature and top-k, so the PNG matches the canvas and dropping it back shows
        it again exactly (at truncation 1)."""
        if self._info is None:
            return
        point = self._point
        if path is None:
            name = f"seed-{point.seed}.png" if point.latent is None and not any(point.amounts) else "point.png"
            path = self.ask_save_path(self, "Export PNG", str(self._export_folder() / name), "PNG images (*.png)")
            if path is None:
                return
        snapshot = self._snapshot
        seed = point.seed if point.latent is None else None
        label = self.label_name()
        from engine.api import Capability  # loaded with the room, on the engine's thread

        truncation = point.truncation if self._info.can(Capability.TRUNCATION) else None
        self.status.emit(f"Exporting {Path(path).name}…")
        model_path, latent, sampling = self._info.path, self.current_latent(), self.sampling()
        run_task(lambda _on_event, _control: explore_jobs.export_png(model_path, snapshot, latent, str(path),
                                                                     seed, label, truncation, sampling),
                 on_done=self._on_exported, on_failed=lambda reason: self.status.emit(f"Export failed: {reason}"))

    def export_animation(self, path: str | None = None, kind: str = "gif") -> None:
        """Save the interpolation path as a looping GIF or an MP4 (off the GUI thread)."""
        latents = self.interpolation_latents()
        if self._info is None or latents is None:
            return
        if path is None:
            pattern = "GIF animations (*.gif)" if kind == "gif" else "MP4 videos (*.mp4)"
            path = self.ask_save_path(self, f"Export {kind.upper()}", str(self._export_folder() / f"path.{kind}"),
                                      pattern)
            if path is None:
                return
        snapshot = self._snapshot
        self.status.emit(f"Exporting {Path(path).name} ({len(latents)} frames)…")
        model_path, fps, sampling = self._info.path, self.interpolation.fps.value(), self.sampling()
        run_task(lambda _on_event, _control: explore_jobs.export_animation(model_path, snapshot, latents,
                                                                           str(path), fps, sampling),
                 on_done=self._on_exported, on_failed=lambda reason: self.status.emit(f"Export failed: {reason}"))

    def _on_exported(self, path: str) -> None:
        self.status.emit(f"Saved {path}")
        self.exported.emit(path)

    # --- dropping a PNG back ---------------------------------------------------------------------------------
    def restore_png(self, path: str) -> None:
        """Return to the exact point recorded in a PNG exported here (read off the GUI thread): its latent at
        truncation 1, its class, and a VQ-VAE's temperature and top-k."""
        if self._info is None:
            return
        if not path.lower().endswith(".png"):
            self.project_image(path)
            return
        run_task(lambda _on_event, _control: explore_jobs.read_png(path),
                 on_done=lambda record: self._on_png_read(path, record),
                 on_failed=lambda reason: self.status.emit(f"Could not read {Path(path).name}: {reason}"))

    def project_image(self, path: str) -> None:
        """Projection: the current point becomes the model's closest point to the picture at `path` (off the GUI
        thread; Esc or a new drop cancels), as one undoable move."""
        if self._info is None:
            return
        if self._projecting is not None:
            self._projecting.request_stop()
        from engine.api import Control  # loaded with the room, on the engine's thread

        control = self._projecting = Control()
        name = Path(path).name
        background = self._project.dataset.background if self._project is not None else (255, 255, 255)
        model_path, snapshot, sampling = self._info.path, self._snapshot, self.sampling()
        self.status.emit(f"Projecting {name} into the model…")

        def progress(event) -> None:
            if event.total:
                self.status.emit(f"Projecting {name}… {100 * event.done // event.total}%")

        def done(found: dict) -> None:
            self.go_to(self._point.with_latent(found["latent"], None, found["label"]), f"Projected {name}")
            self.projection_target.setPixmap(imaging.thumbnail(found["target"], 96))
            self.projection_found.setPixmap(imaging.thumbnail(found["image"], 96))
            self.projection_error.setText(f"{name} · error {found['error']:.4f}")
            self.projection_box.show()
            self.projected.emit(found)
            self.status.emit(f"Projected {name}: the closest point draws it with an error of {found['error']:.4f} "
                             "(mean squared, -1..1 pixels); Ctrl+Z goes back")

        def finished() -> None:
            if self._projecting is control:
                self._projecting = None

        run_task(lambda on_event, task_control: explore_jobs.project_image(model_path, snapshot, path, sampling,
                                                                           background, on_event, task_control),
                 control=control, on_event=progress, on_done=done, on_finished=finished,
                 on_cancelled=lambda: self.status.emit(f"Projection of {name} cancelled"),
                 on_failed=lambda reason: self.status.emit(f"Could not project {name}: {reason}"))

    def cancel_projection(self) -> None:
        if self._projecting is not None:
            self._projecting.request_stop()

    def _on_png_read(self, path: str, record: dict | None) -> None:
        name = Path(path).name
        if record is None:  # a picture of the artist's own: find the model's closest point to it
            self.project_image(path)
            return
        if self._info is None or len(record["latent"]) != self._info.latent_dim:
            self.status.emit(f"{name} was made by a model with a different latent size; it cannot be restored")
            return
        self.set_sampling(record)  # before the point, so its first render already uses them
        self.go_to(self._point.with_latent(record["latent"], record.get("seed"), self.label_index(record.get("label"))),
                   "Dropped PNG")
        if record.get("model_id") != self._info.id:
            self.status.emit(f"Restored the point of {name}, made with another model ({record.get('model_id')}): "
                             "the picture may differ")
        else:
            self.status.emit(f"Restored the point of {name}")
        self.restored.emit(record)
