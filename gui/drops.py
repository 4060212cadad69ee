"""Files dropped from the desktop: the one place that reads local paths out of a drag or a drop."""
from __future__ import annotations


def dropped_paths(event) -> list[str]:
    """The local files and folders a drag or drop event carries (web links are left out)."""
    return [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]


class TakesDrops:
    """Drag and drop of files for a widget (mixed in before its Qt class): a drag carrying local paths is accepted
    while `takes_drops()`, and a drop hands the paths to `paths_dropped`."""

    def takes_drops(self) -> bool:
        return True

    def paths_dropped(self, paths: list[str]) -> None:
        raise NotImplementedError

    def dragEnterEvent(self, event) -> None:
        if self.takes_drops() and dropped_paths(event):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        if self.takes_drops() and dropped_paths(event):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = dropped_paths(event)
        if paths and self.takes_drops():
            event.acceptProposedAction()
            self.paths_dropped(paths)
