"""The application: QApplication and the main window that holds the start page and the rooms (theme and
settings live in gui/settings.py; opening projects and what is dropped on the window in gui/window_projects.py).

`run()` (called by main.py with no arguments) shows the window first and only then loads the engine in the
background (gui/engine_loader.py); the rooms are enabled when it is ready. Must not import torch, `engine.api` or
the Explore room at module level: the window has to be on screen before torch has finished importing.
"""
from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt, QThreadPool, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (QApplication, QFrame, QHBoxLayout, QLabel, QListWidget, QListWidgetItem,
                               QMainWindow, QMessageBox, QProgressBar, QScrollArea, QStackedWidget, QStyle,
                               QWidget)

from . import gui_thread_gc, model_exports, questions, wheel_guard
from .dataset_room import DatasetRoom
from .engine_loader import EngineLoader
from .settings import APPLICATION, ORGANISATION, apply_theme, remember, settings
from .shortcuts import ShortcutSheet, menu_rows, widget_rows
from .start_page import StartPage
from .train_room import TrainRoom
from .window_projects import ProjectsMixin
from .workers import cancel_all_tasks, error_text

ROOMS = ("Start", "Dataset", "Train", "Explore")


class MainWindow(ProjectsMixin, QMainWindow):
    engine_ready = Signal()  # the engine is loaded and every room has it

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle(APPLICATION)
        self.setAcceptDrops(True)  # drops anywhere on the window go to the Dataset room
        self.api = None
        self.project = None
        self._explore_installed = False  # the Explore room is built the first time it is shown
        self._when_ready: list = []  # what the artist asked for before the engine had loaded
        self._closing_after_save = False
        # superqt and the Explore room cost about a second of imports: made off the GUI thread with the engine.
        self.loader = EngineLoader(self, warm=("superqt", "numpy.random", f"{__package__}.explore_room"))
        self.loader.ready.connect(self._on_engine_ready)
        self.loader.failed.connect(self._on_engine_failed)

        self.start_page = StartPage()
        self.dataset_room = DatasetRoom()
        self.train_room = TrainRoom()
        self.explore_room = _placeholder("The Explore room opens once a model has been trained.")
        self.pages = QStackedWidget()
        for page in (self.start_page, self.dataset_room, self.train_room, self.explore_room):
            self.pages.addWidget(page)
        self.sidebar = QListWidget()
        self.sidebar.setObjectName("sidebar")
        self.sidebar.setFixedWidth(136)
        self.sidebar.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.sidebar.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        icons = (QStyle.StandardPixmap.SP_ComputerIcon, QStyle.StandardPixmap.SP_DirIcon,
                 QStyle.StandardPixmap.SP_MediaPlay, QStyle.StandardPixmap.SP_FileDialogContentsView)
        for number, (name, icon) in enumerate(zip(ROOMS, icons)):
            item = QListWidgetItem(self.style().standardIcon(icon), name)
            item.setToolTip(f"{name} (Ctrl+{number})")
            self.sidebar.addItem(item)
        self.sidebar.currentRowChanged.connect(self._on_room_chosen)
        self.sidebar.setCurrentRow(0)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.sidebar)
        layout.addWidget(self.pages, 1)
        self.setCentralWidget(central)

        # The loading state is C++ only (a busy bar animated by Qt's style): no Python runs while torch imports.
        self.loading_bar = QProgressBar()
        self.loading_bar.setRange(0, 0)
        self.loading_bar.setMaximumWidth(160)
        self.loading_label = QLabel("Loading the engine (PyTorch)…")
        self.statusBar().addPermanentWidget(self.loading_label)
        self.statusBar().addPermanentWidget(self.loading_bar)
        for room in (self.dataset_room, self.train_room):
            room.setEnabled(False)
            room.notify.connect(self.notify)
        self.dataset_room.dataset_changed.connect(self.train_room.prepare)
        self.dataset_room.sources_chosen.connect(self.add_images)
        self.train_room.explore_picture.connect(self.explore_picture)
        self.start_page.new_requested.connect(self.new_project)
        self.start_page.open_requested.connect(self.choose_project)
        self.start_page.project_chosen.connect(self.open_project)
        self.start_page.demo_requested.connect(self.open_demo)
        self.start_page.set_demo_available(False, "Available once the engine has loaded")
        self._build_menus()
        self._restore_settings()

    # --- menus ------------------------------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction("&New project…", QKeySequence.StandardKey.New, self.new_project)
        file_menu.addAction("&Open project…", QKeySequence.StandardKey.Open, self.choose_project)
        self.recent_menu = file_menu.addMenu("Open &recent")
        file_menu.addAction("&Add images…", "Ctrl+I", self._add_images)
        file_menu.addSeparator()
        file_menu.addAction("Export &model…", lambda: model_exports.export(self, "model"))
        file_menu.addAction("Export &ONNX…", lambda: model_exports.export(self, "onnx"))
        file_menu.addSeparator()
        quit_action = file_menu.addAction("&Quit", QKeySequence.StandardKey.Quit, self.close)
        quit_action.setMenuRole(QAction.MenuRole.QuitRole)

        view_menu = self.menuBar().addMenu("&View")
        for number, name in enumerate(ROOMS):
            view_menu.addAction(name, f"Ctrl+{number}", lambda row=number: self.show_room(row)).setToolTip(
                f"Go to the {name} room" if name != "Start" else "Go to the start page")
        settings_menu = self.menuBar().addMenu("&Settings")
        theme_menu = settings_menu.addMenu("&Theme")
        self.theme_group = QActionGroup(self)
        for name in ("dark", "light"):
            action = theme_menu.addAction(name.capitalize(), lambda theme=name: self.set_theme(theme))
            action.setCheckable(True)
            action.setData(name)
            self.theme_group.addAction(action)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction("&Keyboard shortcuts", QKeySequence.StandardKey.HelpContents, self.show_shortcuts)
        help_menu.addAction("&About Latent Studio", self._about)

    def show_room(self, row: int) -> None:
        self.sidebar.setCurrentRow(row)

    def go_to(self, room: str) -> None:
        self.show_room(ROOMS.index(room))

    def current_room(self) -> str:
        return ROOMS[self.pages.currentIndex()]

    def set_theme(self, name: str) -> None:
        apply_theme(name)
        self._remember({"theme": name})
        for action in self.theme_group.actions():
            action.setChecked(action.data() == name)

    def show_shortcuts(self) -> ShortcutSheet:
        """The sheet of every shortcut, read from the rooms as they are now (Explore's once the engine has loaded)."""
        rooms = [(name, widget_rows([self.pages.widget(row)])) for row, name in enumerate(ROOMS)]
        explore = self.explore_room
        if hasattr(explore, "translate_view"):  # its keys differ from the canvas's: a group of their own
            translate = [explore.translate_view, explore.translate_view.bar]
            rooms[ROOMS.index("Explore")] = ("Explore", widget_rows([explore], leave_out=tuple(translate)))
            rooms.append(("Explore, for a model that translates pictures", widget_rows(translate)))
        menus = [action.menu() for action in self.menuBar().actions() if action.menu() is not None]
        sheet = ShortcutSheet([("Everywhere", menu_rows(menus)), *rooms], self)
        sheet.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        sheet.show()
        return sheet

    def _about(self) -> None:
        loaded = f"The engine loaded in {self.loader.seconds:.1f} s." if self.api else "The engine is loading."
        QMessageBox.about(self, "About Latent Studio",
                          "<b>Latent Studio</b><p>Turn a folder of images into a generative model and explore it, "
                          f"offline, on your own machine.</p><p>{loaded}</p>")

    # --- the engine -------------------------------------------------------------------------------------------------
    def start_engine(self) -> None:
        self.loader.start()

    @Slot(object)  # queued from the loading thread: a declared slot (see ExploreRoom._on_rendered)
    def _on_engine_ready(self, api) -> None:
        """Hand the engine to the rooms one per event-loop turn. All of it in one turn, the Explore room's
        construction included, kept the window from painting for 75-215 ms (bench/ui_latency.py, launch phase), so
        the Explore room is built when first shown (`_on_room_chosen`). Until the last turn `self.api` stays None,
        so actions asked for meanwhile wait for it."""
        self.loading_label.setText("Preparing the rooms…")
        # a filter in Python sees every event: only now, or each of the window's ticks would wait for the GIL that
        # `import torch` holds (launch tick delay 231 ms against 15)
        wheel_guard.install(QApplication.instance())
        turns = [lambda: self._give_engine(self.dataset_room, api), lambda: self._give_engine(self.train_room, api),
                 lambda: self._engine_in_place(api)]

        def next_turn():
            turns.pop(0)()
            if turns:
                QTimer.singleShot(0, self, next_turn)  # with the window as context: not after it is gone

        next_turn()

    def _give_engine(self, room, api) -> None:
        room.set_api(api)
        room.setEnabled(True)

    def _engine_in_place(self, api) -> None:
        self.api = api
        gui_thread_gc.keep_what_is_loaded()  # torch and the engine stay: later full collections skip them
        self.loading_label.hide()
        self.loading_bar.hide()
        demo = api.demo_available()
        self.start_page.set_demo_available(demo, "Open a small project of public-domain clip art with a trained "
                                           "model, to explore and train at once" if demo else
                                           "The demo is not installed (resources/demo is missing)")
        self.notify(f"Engine ready ({self.loader.seconds:.1f} s)")
        pending, self._when_ready = self._when_ready, []
        for action in pending:
            action()
        self._on_room_chosen(self.sidebar.currentRow())  # the artist may have picked Explore while it loaded
        self.engine_ready.emit()

    @Slot(str)
    def _on_engine_failed(self, text: str) -> None:
        self.loading_bar.hide()
        self.loading_label.setText("The engine did not load: see the message on the left")
        self.notify(text, "error")

    def _later(self, action) -> None:
        """Run `action` now when the engine is loaded, else as soon as it is."""
        if self.api is None:
            self._when_ready.append(action)
            self.notify("Opening as soon as the engine has loaded…")
        else:
            action()

    def _on_room_chosen(self, row: int) -> None:
        if ROOMS[row] == "Explore" and self.api is not None and not self._explore_installed:
            self._install_explore_room()
        self.pages.setCurrentIndex(row)

    def _install_explore_room(self) -> None:
        """Swap the placeholder for the real Explore room (its module was imported on the engine's thread)."""
        self._explore_installed = True  # once, even when it fails: the message says why
        try:
            from .explore_room import ExploreRoom

            room = ExploreRoom()
        except ModuleNotFoundError as error:
            if error.name != f"{__package__}.explore_room":
                self.notify(f"The Explore room could not load: {error}", "error")
            return
        except Exception as error:  # noqa: BLE001 - the other rooms work without it
            self.notify(f"The Explore room could not load: {error_text(error)}", "error")
            return
        # In a scroll area, so that a room wider than a small screen cannot push the window off it.
        holder = QScrollArea()
        holder.setWidget(room)
        holder.setWidgetResizable(True)
        holder.setFrameShape(QFrame.Shape.NoFrame)
        index = self.pages.indexOf(self.explore_room)
        self.pages.removeWidget(self.explore_room)
        self.explore_room.deleteLater()
        self.pages.insertWidget(index, holder)
        self.explore_room = room
        room.status.connect(self.notify)  # its messages and errors (a failed export) reach the one path
        self.train_room.snapshot.connect(room.on_snapshot)
        self.train_room.checkpoint_saved.connect(room.on_checkpoint)
        self.train_room.training_state_changed.connect(
            lambda running: room.set_training_control(self.train_room.control))
        room.set_training_control(self.train_room.control)
        if self.project is not None:
            self._show_project_in_explore()
        self.pages.setCurrentIndex(self.sidebar.currentRow())

    def explore_picture(self, index: int) -> None:
        """A picture of the training grid, clicked in the Train room, shown in the Explore room (built if need be)."""
        self.go_to("Explore")
        if hasattr(self.explore_room, "explore_grid_picture"):  # not the placeholder: the engine is there
            self.explore_room.explore_grid_picture(index)

    def _show_project_in_explore(self) -> None:
        if hasattr(self.explore_room, "set_project"):  # the placeholder page has no project
            self.explore_room.set_project(self.project)  # opens the project's newest model, if any

    # --- messages, settings, closing --------------------------------------------------------------------------------
    def notify(self, text: str, level: str = "info") -> None:
        """The one place messages from rooms and workers reach the artist."""
        prefix = {"warning": "⚠ ", "error": "✖ "}.get(level, "")
        self.statusBar().showMessage(prefix + text, 0 if level == "error" else 10_000)

    def _remember(self, values: dict) -> None:
        problem = remember(values)
        if problem:
            self.notify(problem, "warning")

    def _restore_settings(self) -> None:
        store = settings()
        if not self.restoreGeometry(store.value("geometry", b"")):
            screen = self.screen().availableGeometry()
            self.resize(min(1280, int(screen.width() * 0.9)), min(820, int(screen.height() * 0.9)))
            self.move(screen.center() - self.rect().center())
        self.restoreState(store.value("window_state", b""))
        theme = store.value("theme", "dark")
        for action in self.theme_group.actions():
            action.setChecked(action.data() == theme)
        self._show_recent()
        last = store.value("last_project", "")
        if last and Path(last).is_dir():
            self._when_ready.append(lambda: self._reopen(last))

    def _reopen(self, folder: str) -> None:
        if self.project is None and self.api.Project.is_project(folder):
            self.open_project(folder)

    def closeEvent(self, event) -> None:
        if self._closing_after_save:
            event.ignore()  # already saving; the window closes by itself when the checkpoint is written
            return
        if self.train_room.is_training():
            if not questions.yes_or_no(self, "Training is running", "Stop training and quit?\n"
                                       "A checkpoint is saved first, so the run can be continued later."):
                event.ignore()
                return
            self._closing_after_save = True
            self.train_room.training_state_changed.connect(self._close_after_save)
            self.train_room.stop()
            self.notify("Saving a checkpoint before closing…")
            event.ignore()
            return
        queue = self.train_room.queue_panel
        if queue.is_running():
            if not questions.yes_or_no(self, "The queue is running", "Stop the queue and quit?\nThe run under way "
                                       "keeps a checkpoint and goes on when the queue runs again."):
                event.ignore()
                return
            self._closing_after_save = True
            queue.queue_finished.connect(lambda: self._close_after_save(False))
            queue.stop()
            self.notify("Saving a checkpoint before closing…")
            event.ignore()
            return
        self._remember({"geometry": self.saveGeometry(), "window_state": self.saveState()})
        self.dataset_room.cancel()
        cancel_all_tasks()
        if hasattr(self.explore_room, "shutdown"):
            self.explore_room.shutdown()
        super().closeEvent(event)

    def _close_after_save(self, running: bool) -> None:
        if not running:
            self._closing_after_save = False
            self.close()


def _placeholder(text: str) -> QLabel:
    label = QLabel(text)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setObjectName("dropHint")
    return label


def launch() -> tuple[QApplication, MainWindow]:
    """The application and its window, on screen, with the engine starting to load in the background."""
    app = QApplication.instance() or QApplication(sys.argv)
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    gui_thread_gc.install(app)
    apply_theme(settings().value("theme", "dark"))
    window = MainWindow()
    window.show()
    # Start loading once the first frame is up: the first paint calls Python wrappers once each (to learn that
    # they have no override), and it should not wait for the GIL behind torch's import.
    QTimer.singleShot(50, window.start_engine)
    return app, window


def run(folder: str | None = None) -> int:
    """The app: window first, engine in the background, threads shut down cleanly on exit. With `folder`, that
    project opens (or a new one is made from its images) once the engine is ready."""
    app, window = launch()
    if folder:
        window.open_path(folder)
    code = app.exec()
    window.train_room.shutdown()
    QThreadPool.globalInstance().waitForDone()
    return code
