"""What leaves the Explore room and comes back: exports (the PNG of the current point, and the tools' exports
through `export`), and PNGs dropped back onto the canvas, which return to the exact point they record. A picture
that records no point goes to the tools (projection). A mixin of ExploreRoom (gui/explore_room.py), split out to
keep each file to one concern.

File work (reading a dropped PNG, writing exports: gui/explore_jobs.py) runs on the QThreadPool through
gui.workers.run_task, never on the GUI thread. Dialogs go through `ask_save_path`, which tests replace.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from . import explore_jobs
from .settings import export_folder
from .workers import run_task


class KeepingMixin:
    @classmethod
    def ask_save_path(cls, parent, caption: str, start: str, pattern: str) -> str | None:
        path, _ = QFileDialog.getSaveFileName(parent, caption, start, pattern)
        return path or None

    def export(self, caption: str, name: str, pattern: str, path: str | None, what: str, job) -> None:
        """Ask where (unless `path` is given), then run `job(path)` off the GUI thread and say how it went."""
        if path is None:
            path = self.ask_save_path(self, caption, str(export_folder(self._project) / name), pattern)
            if path is None:
                return
        self.status.emit(f"Exporting {Path(path).name}{f' ({what})' if what else ''}…")
        run_task(lambda _on_event, _control: job(str(path)), on_done=self._on_exported,
                 on_failed=lambda reason: self.status.emit(f"Export failed: {reason}"), owner=self)

    def export_png(self, path: str | None = None) -> None:
        """Save the current image with its point in the PNG.

        What is saved is the look rendered (the latent truncated and moved along the directions; a style-based
        model's ψ, mix and move in W), drawn by the export's own Model with the canvas's temperature and top-k, so
        the PNG matches the canvas and dropping it back returns to it exactly."""
        if self._info is None:
            return
        point, look = self._point, self.look()
        plain = point.latent is None and not any(point.amounts) and point.mix is None
        seed = point.seed if point.latent is None else None
        from engine.api import Capability  # loaded with the room, on the engine's thread

        truncation = point.truncation if self._info.can(Capability.TRUNCATION) else None
        model_path, snapshot, sampling = self.model_source()
        self.export("Export PNG", f"seed-{point.seed}.png" if plain else "point.png", "PNG images (*.png)", path, "",
                    lambda out: explore_jobs.export_look(model_path, snapshot, look, out, seed, truncation, sampling))

    def _on_exported(self, path: str) -> None:
        self.status.emit(f"Saved {path}")
        self.exported.emit(path)

    def restore_png(self, path: str) -> None:
        """Return to the exact point recorded in a PNG exported here (read off the GUI thread): its latent, class,
        a VQ-VAE's temperature and top-k, a style-based model's ψ, mix and move in W. Any other picture goes to
        the tools (projection finds the model's closest point to it)."""
        if self._info is None:
            return
        if not path.lower().endswith(".png"):
            self._offer_picture(path)
            return
        run_task(lambda _on_event, _control: explore_jobs.read_png(path),
                 on_done=lambda record: self._on_png_read(path, record),
                 on_failed=lambda reason: self.status.emit(f"Could not read {Path(path).name}: {reason}"),
                 owner=self)

    def _offer_picture(self, path: str) -> None:
        if not any(tool.picture_dropped(path) for tool in self._tools_shown()):
            self.status.emit(f"{Path(path).name} carries no point of a Latent Studio model")

    def _on_png_read(self, path: str, record: dict | None) -> None:
        name = Path(path).name
        if record is None:  # a picture of the artist's own
            self._offer_picture(path)
            return
        if self._info is None or len(record["latent"]) != self._info.latent_dim:
            self.status.emit(f"{name} was made by a model with a different latent size; it cannot be restored")
            return
        self.set_sampling(record)  # before the point, so its first render already uses them
        self.go_to(self._point.at(self.look_of(record), record.get("seed")), "Dropped PNG")
        if record.get("model_id") != self._info.id:
            self.status.emit(f"Restored the point of {name}, made with another model ({record.get('model_id')}): "
                             "the picture may differ")
        else:
            self.status.emit(f"Restored the point of {name}")
        self.restored.emit(record)
