"""What the app remembers and how it looks: QSettings, the theme, and where new projects and the demo live.

Must not import the engine or create widgets; the main window reads and writes through these helpers.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths
from PySide6.QtWidgets import QApplication

ORGANISATION, APPLICATION = "LatentStudio", "Latent Studio"
RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def settings() -> QSettings:
    """The app's settings, in the default format (tests point it at a temporary folder)."""
    return QSettings(QSettings.defaultFormat(), QSettings.Scope.UserScope, ORGANISATION, APPLICATION)


def remember(values: dict) -> str | None:
    """Store `values` and write them to disk now. Returns why they could not be written (a full disk, a
    read-only folder), else None; QSettings keeps the previous file whole and the values for this session."""
    store = settings()
    for key, value in values.items():
        store.setValue(key, value)
    store.sync()
    if store.status() != QSettings.Status.NoError:
        return (f"Settings not saved: could not write {Path(store.fileName()).name} (the disk may be full or "
                "read-only); they apply until the app closes")
    return None


def string_list(value) -> list[str]:
    """QSettings gives a list, a single string or None depending on how many items were stored."""
    if not value:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def apply_theme(name: str) -> None:
    """"dark" or "light": qdarkstyle's palette plus our few tweaks from resources/style.qss."""
    import qdarkstyle
    from qdarkstyle.dark.palette import DarkPalette
    from qdarkstyle.light.palette import LightPalette

    palette = LightPalette if name == "light" else DarkPalette
    sheet = qdarkstyle.load_stylesheet(qt_api="pyside6", palette=palette)
    tweaks = RESOURCES / "style.qss"
    if tweaks.is_file():
        sheet += "\n" + tweaks.read_text(encoding="utf-8")
    QApplication.instance().setStyleSheet(sheet)


def pictures_folder() -> str:
    """Where a dialog for pictures opens: the folder pictures last came from, else Pictures, else home (an empty
    start would open the folder the app was launched from)."""
    last = settings().value("last_pictures_folder")
    if last and Path(last).is_dir():
        return str(last)
    pictures = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
    return pictures if pictures and Path(pictures).is_dir() else str(Path.home())


def remember_pictures_folder(chosen: list[str]) -> list[str]:
    """Note the folder the chosen pictures (or folder of pictures) are in, for the next dialog to open there;
    returns `chosen` unchanged."""
    if chosen:
        remember({"last_pictures_folder": str(Path(chosen[0]).parent)})
    return chosen


def export_folder(project) -> Path:
    """Where an export dialog opens: the project's exports folder, made on first use (a dialog pointed at a missing
    folder opens in the one the app was launched from), else home."""
    if project is None:
        return Path.home()
    try:
        project.exports_dir.mkdir(exist_ok=True)
        return project.exports_dir
    except OSError:  # a read-only project: the dialog says so when the artist saves
        return project.root if project.root.is_dir() else Path.home()


def projects_home() -> Path:
    """Where new projects go unless the artist picks a folder: Documents/Latent Studio."""
    documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(documents or Path.home()) / "Latent Studio"


def unique_folder(path: Path) -> Path:
    """`path`, or `path 2`, `path 3`, ... whichever does not exist yet."""
    candidate, number = path, 2
    while candidate.exists():
        candidate, number = path.with_name(f"{path.name} {number}"), number + 1
    return candidate


def queue_path() -> Path:
    """Where the queue of runs is kept: beside the settings file (tests point both at a temporary folder)."""
    return Path(settings().fileName()).parent / "queue.json"


def demo_target() -> Path:
    """Where the demo project is made on first use: the user's data folder, so the bundled files stay pristine."""
    return Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)) / "Demo"
