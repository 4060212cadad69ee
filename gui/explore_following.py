"""The Explore room follows training: it shows the newest weights of whichever run is training, the run it opened
or a new one, and stops following when the artist opens a model of their choice ("Follow training" turns it back
on). Before it leaves a point that is not bookmarked for another run's model, it asks. A picture of the training's
progress grid clicked in the Train room is explored here too.

A mixin of ExploreRoom, like KeepingMixin: it reads the room's model info and calls its `set_model`. A run is
known by its id, the part of a model id before the step ("<run uid>-<step>", engine.training).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMenu, QToolButton

from . import questions
from .workers import run_task


def run_of(model_id: str | None) -> str | None:
    return model_id.rsplit("-", 1)[0] if model_id and "-" in model_id else None


class FollowingMixin:
    def _init_following(self) -> None:
        self._training_run: str | None = None  # the run the newest snapshot came from
        self._saved: list[dict] = []  # api.saved_models of the project: its runs and their checkpoints
        self._pending_picture: int | None = None  # a grid picture clicked before a model was open
        self.follow_button.toggled.connect(self._on_follow_toggled)
        self.open_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.open_button.setMenu(QMenu(self.open_button))
        self.open_button.menu().aboutToShow.connect(self._fill_open_menu)

    def saved_models(self) -> list[dict]:
        return list(self._saved)

    def refresh_saved_models(self) -> None:
        """List the project's runs and checkpoints off the GUI thread, for the Open menu."""
        project = self._project
        if project is None:
            self._saved = []
            return
        from engine import api  # loaded with the room, on the engine's thread

        run_task(lambda _on_event, _control: api.saved_models(project),
                 on_done=lambda saved: setattr(self, "_saved", saved) if project is self._project else None,
                 owner=self)

    def _fill_open_menu(self) -> None:
        """The best checkpoint of each run, every checkpoint of each run, and any file."""
        menu = self.open_button.menu()
        menu.clear()
        for run in self._saved[:8]:
            best = next((c for c in run["checkpoints"] if c["best"]), run["checkpoints"][0])
            label = "best" if best["best"] else "newest"
            menu.addAction(f"{run['run']}: {label} (step {best['step']:,})",
                           lambda path=best["path"]: self.open_model_file(path))
            earlier = menu.addMenu(f"{run['run']}: every checkpoint")
            for checkpoint in run["checkpoints"]:
                earlier.addAction(f"step {checkpoint['step']:,}" + ("  ★ best" if checkpoint["best"] else ""),
                                  lambda path=checkpoint["path"]: self.open_model_file(path))
        if self._saved:
            menu.addSeparator()
        menu.addAction("A model file, run or checkpoint…", lambda: self.open_model_file())
        self.refresh_saved_models()  # for next time: a run may have saved more since

    @classmethod
    def ask_model_path(cls, parent, start: str) -> str | None:
        path, _ = QFileDialog.getOpenFileName(parent, "Open a model or checkpoint", start,
                                              "Models and checkpoints (*.safetensors *.json)")
        return path or None

    def following(self) -> bool:
        return self.follow_button.isChecked()

    def open_model_file(self, path: str | None = None) -> None:
        """Explore a model of the artist's choice (a checkpoint, a run, a model file); training is not followed."""
        if path is None:
            runs = self._project.runs_dir if self._project is not None else None
            start = str(runs if runs is not None and runs.is_dir() else Path.home())  # not the launch folder
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
        self.refresh_saved_models()
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
        return questions.yes_or_no(self, "Follow training", "A new run is training. Show its model here? The current "
                                   "point is not bookmarked: bookmark it first (Ctrl+B) to keep it.")

    def explore_grid_picture(self, index: int) -> None:
        """Go to picture `index` of a run's progress grid, clicked in the Train room: the point that drew it (in the
        model shown here, which follows training unless the artist opened another). Waits for a model to open."""
        if self._info is None:
            if self.render.is_opening():
                self._pending_picture = index
            else:
                self.status.emit("No model is open to explore the picture with: the run has saved no checkpoint")
            return
        self._pending_picture = None
        if self._info.translates:
            self.status.emit("This model translates pictures: its grid shows translations, not points to explore")
            return
        from engine import api  # loaded with the room, on the engine's thread

        classes = len(self._info.label_names) if self._info.can(api.Capability.LABELS) else 0
        latent, label = api.progress_point(index, self._info.latent_dim, classes)
        row, column = divmod(index, api.GRID_COLUMNS)
        self.go_to(self._point.with_latent(latent, label=label), f"Picture {index + 1} of the training grid")
        self.status.emit(f"The training grid's picture in row {row + 1}, column {column + 1}, drawn by the "
                         f"{self._info.family} model at step {self._info.step:,}")

    def _on_follow_toggled(self, on: bool) -> None:
        if on:
            self.status.emit("Explore follows training: the newest checkpoint of the training run appears here")
