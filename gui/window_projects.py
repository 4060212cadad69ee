"""The main window's projects: new, open, the demo, the recent list, and folders or images dropped on the window or
named on the command line. A mixin of MainWindow (gui/app.py), split out to keep each file to one concern.

Every action that needs the engine waits for it through the window's `_later`; opening and creating touch only the
project's own small files, on the GUI thread, as the folder dialogs do.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from . import questions
from .drops import TakesDrops
from .new_project_dialog import NewProjectDialog
from .settings import APPLICATION, demo_target, projects_home, settings, string_list, unique_folder
from .workers import run_task

MAX_RECENT = 10


class ProjectsMixin(TakesDrops):
    # --- projects ---------------------------------------------------------------------------------------------------
    def new_project(self) -> None:
        folder = NewProjectDialog.ask(self, projects_home())
        if folder is not None:
            self._later(lambda: self._open_or_create(str(folder)))

    def choose_project(self) -> None:
        home = projects_home()
        folder = QFileDialog.getExistingDirectory(self, "Open a project folder",
                                                  str(home if home.is_dir() else Path.home()))
        if folder:
            self.open_project(folder)

    def open_project(self, folder: str) -> None:
        def action():
            if not self.api.Project.is_project(folder):
                if not questions.yes_or_no(self, "Not a project", f"{folder} is not a Latent Studio project.\n"
                                           "Make it one? Nothing in it is changed; a project.json is added."):
                    return
            self._open_or_create(folder)

        self._later(action)

    def _open_or_create(self, folder: str) -> None:
        try:
            project = self.api.Project.open_or_create(Path(folder))
        except (OSError, ValueError) as error:  # unreadable, or made by a newer Latent Studio
            self.notify(f"Could not open {folder}: {error}", "error")
            return
        self._set_project(project)

    def open_demo(self) -> None:
        """Make the demo project in the user's data folder from the bundled images and model, then open it."""
        target = demo_target()
        if self.api.Project.is_project(target):
            self.open_project(str(target))
            return
        self.notify("Preparing the demo…")
        run_task(lambda on_event, control: self.api.create_demo_project(target, on_event, control),
                 on_done=lambda _: self.open_project(str(target)),
                 on_failed=lambda text: self.notify(f"Could not make the demo: {text}", "error"), owner=self)

    def _set_project(self, project) -> None:
        self.project = project
        self.setWindowTitle(f"{project.name} — {APPLICATION}")
        self._remember_recent(str(project.root))
        self.dataset_room.set_project(project)
        self.train_room.set_project(project)
        self._show_project_in_explore()
        if self.current_room() == "Start":
            self.go_to("Train" if project.runs() else "Dataset")
        self.notify(f"Opened {project.root}")

    def _remember_recent(self, folder: str) -> None:
        recent = [folder] + [path for path in string_list(settings().value("recent")) if path != folder]
        self._remember({"recent": recent[:MAX_RECENT], "last_project": folder})
        self._show_recent()

    def _show_recent(self) -> None:
        recent = [path for path in string_list(settings().value("recent")) if Path(path).is_dir()]
        self.start_page.set_recent(recent)
        self.recent_menu.clear()
        for path in recent:
            self.recent_menu.addAction(path, lambda folder=path: self.open_project(folder))
        self.recent_menu.setEnabled(bool(recent))

    # --- drops ------------------------------------------------------------------------------------------------------
    def paths_dropped(self, paths: list[str]) -> None:  # anywhere on the window (drops.TakesDrops)
        self.add_images(paths)

    def add_images(self, paths: list[str]) -> None:
        """Folders, images or zips into the Dataset room; a dropped project folder is opened instead."""
        def action():
            if len(paths) == 1 and self.api.Project.is_project(paths[0]):
                self.open_project(paths[0])
            elif self.project is None:  # images dropped before any project: start one named after them
                self._start_project_from(paths)
            else:
                self.go_to("Dataset")
                self.dataset_room.add_sources(paths)

        self._later(action)

    def open_path(self, folder: str) -> None:
        """A folder named on the command line: a project opens; any other folder starts a new project from its
        images. It comes before reopening the last project."""
        def action():
            if self.api.Project.is_project(folder):
                self._open_or_create(folder)
            else:
                self._start_project_from([folder])

        if self.api is None:
            self._when_ready.insert(0, action)
        else:
            action()

    def _start_project_from(self, paths: list[str]) -> None:
        """A new project in the projects folder, named after the first source, with these images."""
        try:
            project = self.api.Project.create(unique_folder(projects_home() / Path(paths[0]).stem))
        except OSError as error:
            self.notify(f"Could not make a project for {Path(paths[0]).name}: {error}", "error")
            return
        self._set_project(project)
        self.go_to("Dataset")
        self.dataset_room.add_sources(paths)

    def _add_images(self) -> None:
        self.go_to("Dataset")
        if self.api is not None:
            self.dataset_room.add_button.showMenu()
