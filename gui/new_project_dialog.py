"""The New project dialog: a name and where the project folder goes, with the path it will make shown as it is typed.

A folder dialog alone cannot make a folder from a typed name ("Directory not found"), so the artist names the project
here and only changes the place when they want another one. No files are written here; the app creates the project.
"""
from pathlib import Path

from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QWidget)

from .settings import unique_folder

FORBIDDEN = set('/\\:*?"<>|')  # characters no folder name may hold on one of the systems artists use


def name_problem(name: str) -> str:
    """Why `name` cannot be a folder's name, or "" when it can."""
    if not name:
        return "Give the project a name."
    if FORBIDDEN & set(name):
        return "A name cannot hold any of  / \\ : * ? \" < > |"
    if name.startswith("."):
        return "A name starting with a dot would hide the folder."
    return ""


class NewProjectDialog(QDialog):
    def __init__(self, location: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("New project")
        self.setMinimumWidth(520)
        self.location = Path(location)
        self.name = QLineEdit(unique_folder(self.location / "Untitled project").name)
        self.name.selectAll()
        self.name.setToolTip("The project's name; its folder takes the same name.")
        self.place = QLabel()
        change = QPushButton("Change…")
        change.setToolTip("Put the project's folder somewhere else")
        change.clicked.connect(self._choose_location)
        place_row = QHBoxLayout()
        place_row.addWidget(self.place, 1)
        place_row.addWidget(change)
        self.result_line = QLabel()
        self.result_line.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Name", self.name)
        form.addRow("In", place_row)
        form.addRow(self.result_line)
        form.addRow(self.buttons)
        self.name.textChanged.connect(self._update)
        self._update()

    def target(self) -> Path:
        return self.location / self.name.text().strip()

    def _choose_location(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Where the project's folder goes", str(self.location))
        if chosen:
            self.location = Path(chosen)
            self._update()

    def _update(self) -> None:
        self.place.setText(str(self.location))
        problem = name_problem(self.name.text().strip())
        target = self.target()
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Create")
        if problem:
            text = problem
        elif (target / "project.json").is_file():
            text, problem = f"{target} is already a project: Open opens it.", ""
            ok.setText("Open")
        elif target.is_file() or (target.is_dir() and any(target.iterdir())):
            problem = text = f"{target} is already there and not empty: pick another name."
        else:
            text = f"Creates the folder {target}"
        self.result_line.setText(text)
        ok.setEnabled(not problem)

    @classmethod
    def ask(cls, parent: QWidget, location: Path) -> Path | None:
        """The folder the artist chose for a new project, or None when they cancelled."""
        dialog = cls(location, parent)
        return dialog.target() if dialog.exec() == QDialog.DialogCode.Accepted else None
