"""The Dataset room: add images (drop or dialog), see them, see what was refused and why, crop and resolution,
remove images, and preview the training augmentations. The labels, refused files and preview are shown by
gui/widgets/dataset_report.py; an image-to-image project's two sides, A and B, are shown and filled through
gui/dataset_sides.py.

Every engine call (ingest, load_dataset, remove_images, preview_augmentations) runs as a job on the thread pool,
one at a time in the order asked, with a progress bar and a Cancel button. Must not decode images, read the
project's files itself or import torch: it calls `engine.api` through jobs and shows what comes back.
"""
from __future__ import annotations

import os
import random
from collections import deque
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QKeySequence
from PySide6.QtWidgets import (QColorDialog, QHBoxLayout, QLabel, QMenu, QProgressBar, QPushButton, QSplitter,
                               QStackedWidget, QVBoxLayout, QWidget)

from .dataset_sides import KINDS, SidesView, ask_sources, fill_add_menu, has_sides
from .widgets.dataset_report import PREVIEW_COUNT, DatasetReport
from .widgets.image_settings import CROP_WORDS, ImageSettings, learns_alpha
from .widgets.thumbnails import ThumbnailGrid, ThumbnailModel
from .workers import run_task


class DatasetRoom(QWidget):
    notify = Signal(str, str)  # text, level ("info", "warning", "error"): the window's one notification path
    dataset_changed = Signal()  # images were added, removed, re-cropped or resized
    busy_changed = Signal(bool)
    sources_chosen = Signal(list)  # paths picked in a dialog; the window adds them (making a project if none)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.api = None
        self.project = None
        self.dataset = None  # the engine's Dataset (memory-mapped images) currently shown
        self._jobs: deque = deque()  # (description, function, on_done) waiting for the running one
        self._task = None
        self._preview_seed = 0
        self._build()
        self._set_enabled()

    # --- construction ---------------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.add_button = QPushButton("Add images…")
        self.add_button.setToolTip("Add a folder, image files or a .zip (you can also drop them anywhere on the "
                                   "window). Sub-folder names become labels.")
        self.add_button.setMenu(QMenu(self.add_button))
        self.add_button.menu().aboutToShow.connect(self._fill_add_menu)
        self.remove_button = QPushButton("Remove selected")
        self.remove_button.setToolTip("Take the selected images out of the dataset (Delete). Files on disk are "
                                      "not touched, and Undo puts them back.")
        self.remove_button.clicked.connect(self.remove_selected)
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip("Put back the images removed last (Ctrl+Z); each earlier removal can follow")
        self.undo_button.setShortcut(QKeySequence.StandardKey.Undo)
        self.undo_button.clicked.connect(self.undo_remove)
        self._undoable = 0  # removals the project can put back
        self.image_settings = ImageSettings()
        self.image_settings.size_or_crop_chosen.connect(self._on_settings_changed)
        self.image_settings.alpha_chosen.connect(self._on_alpha_chosen)
        self.image_settings.aspect_chosen.connect(self._on_aspect_chosen)
        self.image_settings.background_clicked.connect(self.choose_background)
        self._transparent = (0, 0, False)  # images using transparency, images, whether "auto" turns alpha on
        self._auto_aspect = "1:1"  # the shape nearest the images' median

        bar = QHBoxLayout()
        bar.addWidget(self.add_button)
        bar.addWidget(self.remove_button)
        bar.addWidget(self.undo_button)
        bar.addSpacing(16)
        bar.addWidget(self.image_settings)
        bar.addStretch(1)

        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the current job; the dataset stays as it was before it (Esc)")
        self.cancel_button.setShortcut("Esc")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress_row = QWidget()
        row = QHBoxLayout(self.progress_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        self.progress_row.hide()

        self.model = ThumbnailModel(self)
        self.grid = ThumbnailGrid(self.model)
        self.grid.delete_requested.connect(self.remove_selected)
        self.grid.selectionModel().selectionChanged.connect(self._set_enabled)
        self.drop_hint = QLabel("Drop a folder of images here…\n\nor a .zip, or some image files.\n"
                                "Sub-folders become labels. Anything that isn't a usable image is listed "
                                "on the right with the reason.")
        self.drop_hint.setObjectName("dropHint")
        self.drop_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.drop_hint.setWordWrap(True)
        self.sides = SidesView()
        self.sides.dropped.connect(lambda side, paths: self.add_sources(paths, side))
        self.sides.delete_requested.connect(self.remove_selected)
        self.sides.selection_changed.connect(self._set_enabled)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.drop_hint)
        self.stack.addWidget(self.grid)
        self.stack.addWidget(self.sides)

        self.splitter = QSplitter()
        self.splitter.addWidget(self.stack)
        self.report = DatasetReport()
        self.report.refresh_requested.connect(self.refresh_preview)
        self.summary = self.report.summary  # "269 images · median 104 px", above the labels
        self.splitter.addWidget(self.report)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([700, 300])

        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.progress_row)
        layout.addWidget(self.splitter, 1)

    # --- what the window calls ------------------------------------------------------------------------------------
    def set_api(self, api) -> None:
        self.api = api
        self._set_enabled()

    def set_project(self, project) -> None:
        self.cancel()
        self._jobs.clear()
        self.project, self.dataset = project, None
        self.model.clear()
        self._show_settings()
        self._set_enabled()
        if project is not None:
            self.reload()

    def add_sources(self, paths: list[str], side: str = "") -> None:
        """Ingest folders, image files or zips into the project (on `side` A or B of one of two sides), in the
        background."""
        if self.project is None or not paths:
            return
        if has_sides(self.project.dataset.layout) and not side:
            self.notify.emit("This project holds pictures on two sides: drop them on side A or side B", "warning")
            return
        api, project = self.api, self.project
        workers = max(1, (os.cpu_count() or 2) - 1)
        names = ", ".join(Path(p).name for p in paths[:3]) + ("…" if len(paths) > 3 else "")

        def ingest(on_event, control):
            return api.ingest(project, paths, workers=workers, on_event=on_event, control=control, side=side)

        self._queue(f"Adding {names}" + (f" to side {side}" if side else ""), ingest, self._on_ingested)
        self.reload()

    def remove_selected(self) -> None:
        hashes = self._shown_grid().selected_hashes()
        if not hashes or self.project is None:
            return
        count = len(hashes)  # no question first: Undo puts them back
        api, project = self.api, self.project
        self._queue(f"Removing {count} images", lambda on_event, control: api.remove_images(project, hashes),
                    lambda removed: self._changed(f"Removed {removed} image{'s' * (removed != 1)} from the dataset "
                                                  f"(Ctrl+Z puts {'it' if removed == 1 else 'them'} back)"))
        self.reload()

    def undo_remove(self) -> None:
        if self.project is None or not self._undoable or self._task is not None:
            return
        api, project = self.api, self.project
        self._queue("Putting images back", lambda on_event, control: api.restore_removed(project),
                    lambda back: self._changed(f"Put back {back} image{'s' * (back != 1)}" if back else
                                               "Nothing to put back: those images are in the dataset again"))
        self.reload()

    def reload(self) -> None:
        """Read the manifest, report, counts and cache again (after any change)."""
        api, project = self.api, self.project

        def load(on_event, control):
            rows = api.manifest(project)
            # at the shape models will draw, so the thumbnails show it
            dataset = api.load_dataset(project, on_event=on_event, control=control,
                                       aspect=api.chosen_aspect(project)) if rows else None
            return {"rows": rows, "dataset": dataset, "report": api.read_report(project),
                    "stats": api.dataset_stats(project)}

        self._queue("Reading the dataset", load, self._on_loaded)

    def refresh_preview(self) -> None:
        if self.dataset is None or len(self.dataset) == 0:
            return
        api, dataset, project = self.api, self.dataset, self.project
        self._preview_seed += 1
        seed = self._preview_seed
        picks = sorted(random.Random(seed).sample(range(len(dataset)), min(len(dataset), 64)))

        def preview(on_event, control):
            # as models will see them: with alpha where they learn it, else laid on the background
            images = dataset.images[picks] if api.uses_alpha(project) else dataset.rgb(picks)
            return api.preview_augmentations(images, count=PREVIEW_COUNT, seed=seed)

        self._queue("Augmenting a few images", preview, self.report.show_preview)

    def cancel(self) -> None:
        self._jobs.clear()
        if self._task is not None:
            self._task.cancel()

    def is_busy(self) -> bool:
        return self._task is not None

    def _fill_add_menu(self) -> None:
        layout = self.project.dataset.layout if self.project is not None else KINDS[0][0]
        fill_add_menu(self.add_button.menu(), layout, self.project is not None and not self.model.rowCount(),
                      self._on_add, self.set_kind)

    def _on_add(self, side: str, folder: bool) -> None:
        paths = ask_sources(self, side, folder)
        if paths and side:
            self.add_sources(paths, side)
        elif paths:
            self.sources_chosen.emit(paths)  # the window makes a project first when there is none

    def set_kind(self, layout: str) -> None:
        """What an empty project holds: single images, pairs (A becomes B) or two collections (A and B)."""
        if self.project is None or self.model.rowCount() or layout == self.project.dataset.layout:
            return
        project = self.project
        project.dataset.layout = layout
        self._queue("Saving the project", lambda _on_event, _control: project.save(),
                    lambda _done: self._changed(f"Kind of project: {dict(KINDS)[layout]}"))
        self.reload()

    # --- the job queue --------------------------------------------------------------------------------------------
    def _queue(self, description: str, function, on_done) -> None:
        self._jobs.append((description, function, on_done))
        if self._task is None:
            self._next_job()

    def _next_job(self) -> None:
        if not self._jobs:
            self._task = None
            self.progress_row.hide()
            self.busy_changed.emit(False)
            self._set_enabled()
            return
        description, function, on_done = self._jobs.popleft()
        self.progress.setRange(0, 0)
        self.progress.setFormat(description + "…")
        self.progress_row.show()
        self._task = run_task(function, control=self.api.Control(), on_done=on_done, on_event=self._on_event,
                              on_failed=lambda text: self.notify.emit(text, "error"),
                              on_cancelled=self._on_cancelled, on_finished=self._next_job, owner=self)
        self.busy_changed.emit(True)
        self._set_enabled()

    def _on_event(self, event) -> None:
        if isinstance(event, self.api.Progress) and event.total > 0:
            self.progress.setRange(0, event.total)
            self.progress.setValue(event.done)
            self.progress.setFormat(f"{event.what}: {event.done:,} of {event.total:,}")  # Qt's %v has no commas
        elif isinstance(event, self.api.Message):
            self.notify.emit(event.text, event.level)

    def _on_cancelled(self) -> None:
        self._jobs.clear()
        self.notify.emit("Cancelled; the dataset is as it was", "info")
        if self.project is not None:
            self._show_settings()  # a cancelled resize or re-crop leaves the project's settings as they were
            self.reload()

    # --- results ------------------------------------------------------------------------------------------------
    def _on_ingested(self, result) -> None:
        self._changed(result.summary(), "warning" if result.rejected else "info")

    def _changed(self, text: str, level: str = "info") -> None:
        self.notify.emit(text, level)
        self.dataset_changed.emit()

    def _on_loaded(self, loaded: dict) -> None:
        self.dataset = loaded["dataset"]
        rows = loaded["rows"]
        self.model.set_images(self.dataset.images if self.dataset is not None else None, rows)
        stats = loaded["stats"]
        sided = has_sides(stats["layout"])
        if sided:
            self.sides.show_dataset(stats["layout"], None if self.dataset is None else self.dataset.images, rows,
                                    None if self.dataset is None else self.dataset.pairs)
        self.stack.setCurrentWidget(self.sides if sided else self.grid if rows else self.drop_hint)
        self.report.show_figures(stats["labels"], loaded["report"].get("rejected", []), sided, stats["count"])
        self._transparent = (stats["transparent"], stats["count"], stats["alpha"])
        self._undoable = stats["undoable_removals"]
        self._auto_aspect = stats["aspect"]
        self._show_settings()
        grey = " · black and white" if stats["grey"] else ""
        self.summary.setText(f"{stats['count']:,} images · median {stats['median_size']} px{grey}" if rows else "")
        self.summary.setToolTip("Every picture is black and white: models draw in grey" if grey else "")
        self._set_enabled()
        self.refresh_preview()

    # --- settings -------------------------------------------------------------------------------------------------
    def _show_settings(self) -> None:
        if self.project is not None:
            settings = self.project.dataset
            self.image_settings.show_settings(settings, self._transparent, self._auto_aspect)
            # the thumbnails as models see them: transparency they learn, else the picture on the background
            learned = learns_alpha(settings, self._transparent[2])
            self.model.set_ground(None if learned else QColor(*settings.background))

    def choose_background(self, colour: QColor | None = None) -> None:
        """Set the project's background colour (asked for when not given)."""
        if self.project is None:
            return
        colour = colour or QColorDialog.getColor(QColor(*self.project.dataset.background), self, "Background colour")
        if not colour.isValid():
            return
        project = self.project
        project.dataset.background = (colour.red(), colour.green(), colour.blue())
        self._show_settings()
        self._queue("Saving the project", lambda _on_event, _control: project.save(),
                    lambda _done: self._changed(f"Background: {colour.name()}"))

    def _on_aspect_chosen(self) -> None:
        if self.project is None or self.image_settings.aspect_box.currentData() == self.project.dataset.aspect:
            return
        project = self.project
        project.dataset.aspect = self.image_settings.aspect_box.currentData()
        self._show_settings()
        self._queue("Saving the project", lambda _on_event, _control: project.save(),
                    lambda _done: self._changed(f"Shape: {self.image_settings.aspect_box.currentText().lower()}"))
        self.reload()  # the thumbnails at the new shape

    def _on_alpha_chosen(self) -> None:
        if self.project is None:
            return
        project, mode = self.project, self.image_settings.alpha_box.currentData()
        project.dataset.alpha = mode
        self._show_settings()
        self._queue("Saving the project", lambda _on_event, _control: project.save(),
                    lambda _done: self._changed(f"Transparency: {self.image_settings.alpha_box.currentText().lower()}"))

    def _on_settings_changed(self) -> None:
        if self.project is None:
            return
        size, crop = self.image_settings.size_box.currentData(), self.image_settings.crop_box.currentData()
        settings = self.project.dataset
        if (size, crop) == (settings.size, settings.crop):
            return
        api, project = self.api, self.project

        def rebuild(on_event, control):
            if crop != project.dataset.crop:  # ingest with no sources re-crops what the project holds
                return api.ingest(project, [], size=size, crop=crop, on_event=on_event, control=control)
            old = project.dataset.size
            project.dataset.size = size
            project.save()
            try:
                return api.load_dataset(project, size, on_event=on_event, control=control)
            except BaseException:
                project.dataset.size = old  # the new size has no cache: keep the one that works
                project.save()
                raise

        self._queue(f"Making the {size} px images", rebuild,
                    lambda result: self._changed(f"Dataset ready at {size} px, {CROP_WORDS[crop]}"))
        self.reload()

    def _set_enabled(self, *args) -> None:
        ready = self.api is not None and self.project is not None
        idle = ready and self._task is None
        self.add_button.setEnabled(self.api is not None)  # with no project yet, the window makes one
        self.image_settings.setEnabled(idle)
        self.remove_button.setEnabled(idle and bool(self._shown_grid().selected_hashes()))
        self.undo_button.setEnabled(idle and self._undoable > 0)
        self.report.preview_button.setEnabled(idle and self.dataset is not None)

    def _shown_grid(self):
        return self.sides if self.stack.currentWidget() is self.sides else self.grid

