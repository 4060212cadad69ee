"""Files dropped from the desktop: the one place that reads local paths out of a drag or a drop."""
from __future__ import annotations


def dropped_paths(event) -> list[str]:
    """The local files and folders a drag or drop event carries (web links are left out)."""
    return [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
