"""The app's yes/no question in one place, so a test answers every question the same way."""
from PySide6.QtWidgets import QMessageBox


def yes_or_no(parent, title: str, text: str) -> bool:
    """Ask and wait for the artist's answer (a modal box; the engine's threads run on meanwhile)."""
    return QMessageBox.question(parent, title, text) == QMessageBox.StandardButton.Yes
