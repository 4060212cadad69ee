"""Launch the real app on a virtual screen, open the demo, visit every room and save screenshots.

    tools/screenshots.sh OUT_DIR        (starts Xvfb, then runs this file with DISPLAY set)

Each room is shot twice: the window as Qt paints it (OUT/<room>.png) and the whole X screen
(OUT/screen-<room>.png). The tour is a generator driven by a timer: it yields a number of milliseconds to
wait, or a condition to wait for, so the event loop keeps running between steps.
"""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtGui import QGuiApplication  # noqa: E402

from gui.app import launch  # noqa: E402

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots")


def tour(app, window):
    def shoot(name: str) -> None:
        window.grab().save(str(OUT / f"{name}.png"))
        QGuiApplication.primaryScreen().grabWindow(0).save(str(OUT / f"screen-{name}.png"))
        print("saved", name, flush=True)

    yield 300
    shoot("0-start-loading")
    yield lambda: window.api is not None
    yield 500
    shoot("1-start")
    window.open_demo()
    yield lambda: window.project is not None
    for index, name in ((1, "2-dataset"), (2, "3-train"), (3, "4-explore")):
        window.show_room(index)
        yield 6000
        shoot(name)
    # A short run with a KID early on, to show the live room: samples, losses, sample quality, checkpoints.
    room = window.train_room
    window.show_room(2)
    yield lambda: room.config() is not None
    room.set_config(replace(room.config(), steps=10_000, kid_every=30, sample_every=10, log_every=2,
                            checkpoint_every=30))
    room.start()
    yield lambda: not room.reports.quality_box.isHidden()
    yield 3000
    shoot("5-training")
    room.stop()
    yield lambda: not room.is_training()
    window.close()
    app.quit()


def drive(steps) -> None:
    """Advance the tour one step; re-arm a timer for the wait it asks for (a delay or a condition)."""
    try:
        wait = next(steps)
    except StopIteration:
        return
    if callable(wait):
        def poll():
            QTimer.singleShot(0, lambda: drive(steps)) if wait() else QTimer.singleShot(200, poll)
        poll()
    else:
        QTimer.singleShot(wait, lambda: drive(steps))


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    app, window = launch()
    window.resize(1400, 900)
    drive(tour(app, window))
    sys.exit(app.exec())
