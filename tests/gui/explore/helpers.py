"""What the Explore room's tests share: a room opened on a project, how long to wait, what the canvas shows, a PNG
dropped on it."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from gui import imaging
from gui.explore_room import ExploreRoom

WAIT = 30_000


def open_room(qtbot, project) -> ExploreRoom:
    """An Explore room showing the project's model, its directions fitted and its first frame on screen."""
    room = ExploreRoom()
    qtbot.addWidget(room)
    room.resize(1100, 760)
    room.show()
    with qtbot.waitSignals([room.model_ready, room.tool("directions").ready, room.frame_shown], timeout=WAIT):
        room.set_project(project)
    return room


def shown(room) -> bytes:
    return imaging.image_bytes(room.canvas.image())


def wait_for_latest_frame(qtbot, room) -> None:
    qtbot.waitUntil(lambda: room._shown_stamp == room.last_stamp, timeout=WAIT)


def drop_png(qtbot, room, path) -> dict:
    """Drop `path` on the canvas as a file manager would; returns the record restored."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    drop = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(room.restored, timeout=WAIT) as restored:
        room.canvas.dropEvent(drop)
    return restored.args[0]


def png_pixels(path) -> bytes:
    from PIL import Image

    return imaging.image_bytes(imaging.to_qimage(np.asarray(Image.open(path).convert("RGB"))))
