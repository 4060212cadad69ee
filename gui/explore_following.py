"""The Explore room follows training: it shows the newest weights of whichever run is training, the run it opened
or a new one, and stops following when the artist opens a model of their choice ("Follow training" turns it back
on). Before it leaves a point that is not bookmarked for another run's model, it asks.

A mixin of ExploreRoom, like KeepingMixin: it reads the room's model info and calls its `set_model`. A run is
known by its id, the part of a model id before the step ("<run uid>-<step>", engine.training).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox


def run_of(model_id: str | None) -> str | None:
    return model_id.rsplit("-", 1)[0] if model_id and "-" in model_id else None


class FollowingMixin:
    def _init_following(self) -> None:
        self._training_run: str | None = None  # the run the newest snapshot came from
        self.follow_button.toggled.connect(self._on_follow_toggled)
        self.open_button.clicked.connect(lambda: self.open_model_file())

    @classmethod
    def ask_model_path(cls, parent, start: str) -> str | None:
        path, _ = QFileDialog.getOpenFileName(parent, "Open a model or checkpoint", start,
                                              "Models and checkpoints (*.safetensors *.json)")
        return path or None

    @classmethod
    def ask_leave(cls, parent, text: str) -> bool:
        """A yes/no question; tests monkeypatch this."""
        return QMessageBox.question(parent, "Follow training", text) == QMessageBox.StandardButton.Yes

    def following(self) -> bool:
        return self.follow_button.isChecked()

    def open_model_file(self, path: str | None = None) -> None:
        """Explore a model of the artist's choice (a checkpoint, a run, a model file); training is not followed."""
        if path is None:
            start = str(self._project.runs_dir) if self._project is not None else str(Path.home())
            path = self.ask_model_path(self, start)
            if path is None:
                return
        self.follow_button.setChecked(False)
        self.set_model(path)
        self.status.emit(f"Exploring {Path(path).name}; “Follow training” shows the training run again")

    def on_snapshot(self, event) -> None:
        """Newer EMA weights while a run trains: the canvas re-renders with them when they are the shown run's."""
        self._training_run = run_of(event.model_id)
        if self._info is not None and self.following() and self._training_run == run_of(self._info.id):
            self._snapshot = event
            self.render.load_snapshot(event.weights, event.step)

    def on_checkpoint(self, event) -> None:
        """A run saved a checkpoint: open it when there was nothing to explore, when a new run trains (following),
        or when the run's snapshots stopped fitting the model shown."""
        shown = run_of(self._info.id) if self._info is not None else None
        nothing_shown = self._info is None and not self.render.is_opening()
        another_run = self.following() and self._training_run is not None and self._training_run != shown
        if nothing_shown or another_run or self._follow_checkpoints:
            if another_run and not nothing_shown and not self._may_leave():
                self.follow_button.setChecked(False)
                return
            self._follow_checkpoints = False
            self.set_model(event.path)

    def _may_leave(self) -> bool:
        """True when nothing would be lost by showing another model, or the artist agrees to leave."""
        kept = self.look().record() if self._info is not None else None
        bookmarked = kept is not None and any(all(b.get(key) == value for key, value in kept.items())
                                              for b in self.bookmarks())
        if not self.undo_stack.canUndo() or bookmarked:
            return True
        return self.ask_leave(self, "A new run is training. Show its model here? The current point is not "
                                    "bookmarked: bookmark it first (Ctrl+B) to keep it.")

    def _on_follow_toggled(self, on: bool) -> None:
        if on:
            self.status.emit("Explore follows training: the newest checkpoint of the training run appears here")
