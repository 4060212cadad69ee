"""The start page: New project…, Open project…, Open the demo, and the recent projects.

It only shows paths and says what the artist asked for (signals); the window opens projects. It works before the
engine has loaded, because it needs nothing from it. Must not read project files or import the engine.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QSizePolicy,
                               QVBoxLayout, QWidget)


class StartPage(QWidget):
    new_requested = Signal()
    open_requested = Signal()
    demo_requested = Signal()
    project_chosen = Signal(str)  # a recent project's folder

    def __init__(self, parent=None):
        super().__init__(parent)
        title = QLabel("Latent Studio")
        title.setObjectName("startTitle")
        subtitle = QLabel("Turn a folder of your images into a generative model, then explore what it learned.")
        subtitle.setObjectName("startSubtitle")
        subtitle.setWordWrap(True)

        self.new_button = QPushButton("New project…")
        self.new_button.setToolTip("Choose where the new project folder goes (Ctrl+N). You can also just drop a "
                                   "folder of images on the window.")
        self.new_button.clicked.connect(self.new_requested)
        self.open_button = QPushButton("Open project…")
        self.open_button.setToolTip("Open an existing project folder (Ctrl+O)")
        self.open_button.clicked.connect(self.open_requested)
        self.demo_button = QPushButton("Open the demo")
        self.demo_button.clicked.connect(self.demo_requested)
        self.set_demo_available(False, "The demo project is not installed")
        for button in (self.new_button, self.open_button, self.demo_button):
            button.setMinimumHeight(36)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        actions = QVBoxLayout()
        actions.addWidget(self.new_button)
        actions.addWidget(self.open_button)
        actions.addWidget(self.demo_button)
        tip = QLabel("Tip: drop a folder of images anywhere on this window to start a project with them.")
        tip.setWordWrap(True)
        actions.addSpacing(12)
        actions.addWidget(tip)
        actions.addStretch(1)

        self.recent = QListWidget()
        self.recent.setObjectName("recentProjects")
        self.recent.setToolTip("Double-click or press Enter to open")
        self.recent.setWordWrap(True)
        self.recent.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.recent.itemActivated.connect(lambda item: self.project_chosen.emit(item.data(Qt.ItemDataRole.UserRole)))
        recent_box = QVBoxLayout()
        recent_box.addWidget(QLabel("Recent projects"))
        recent_box.addWidget(self.recent, 1)

        columns = QHBoxLayout()
        columns.addLayout(actions, 1)
        columns.addSpacing(24)
        columns.addLayout(recent_box, 2)

        body = QWidget()
        body.setMinimumWidth(640)
        body.setMaximumWidth(860)
        layout = QVBoxLayout(body)
        layout.addWidget(title)
        layout.addWidget(subtitle)
        layout.addSpacing(24)
        layout.addLayout(columns, 1)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(40, 40, 40, 40)
        outer.addStretch(1)
        outer.addWidget(body, 3)
        outer.addStretch(1)

    def set_recent(self, paths: list[str]) -> None:
        self.recent.clear()
        for path in paths:
            item = QListWidgetItem(f"{Path(path).name}\n{path}")
            item.setData(Qt.ItemDataRole.UserRole, path)
            item.setToolTip(path)
            self.recent.addItem(item)
        if not paths:
            item = QListWidgetItem("No projects yet. Start one, or drop a folder of images on this window.")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.recent.addItem(item)

    def set_demo_available(self, available: bool, tooltip: str) -> None:
        self.demo_button.setEnabled(available)
        self.demo_button.setToolTip(tooltip)
