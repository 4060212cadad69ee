"""How responsive the Explore room stays: GUI event-loop gaps and slider-to-frame latency, with and without training.

Run by hand:  .venv/bin/python bench/ui_latency.py [--seconds 3] [--size 64] [--width 16]

It writes scikit-learn's real digits as PNGs to a temp folder, ingests them, trains a small DCGAN for a few steps in
this process, opens an ExploreRoom on it and drags a direction slider programmatically at ~100 Hz, twice:
(a) with training stopped, (b) while a training run goes on in the same app (gui.workers.TrainRun, snapshots
feeding the room, its Control telling training to yield to renders). A 10 ms PreciseTimer on the GUI thread
measures how late each tick fires (the extra delay beyond 10 ms): that is what a user feels as jank.
Slider-to-frame latency is, for every slider value, the time until the canvas shows a frame for that request or a
newer one (a coalesced request is answered by the newer frame that replaced it).

Targets (64 px model on CPU): worst tick delay < 50 ms, p95 < 10 ms, slider-to-frame p95 < 50 ms.
Uses the offscreen platform when there is no DISPLAY. Measures only; asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

import gui  # noqa: E402,F401  (first: guards against the PySide6 refcount bug, see gui/refcount_guard.py)
from PySide6.QtCore import QElapsedTimer, QEventLoop, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

TICK_MS = 10


def write_digits(root: Path, px: int) -> Path:
    """scikit-learn's 1,797 real 8 x 8 digits as px x px grey PNGs in root/<label>/."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    for i, (image, label) in enumerate(zip(digits.images, digits.target)):
        folder = root / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        grey = Image.fromarray((image / 16 * 255).round().astype(np.uint8), "L")
        grey.resize((px, px), Image.BICUBIC).save(folder / f"digit-{i:04d}.png")
    return root


def wait(app: QApplication, condition, timeout_s: float = 120.0) -> None:
    """Run the event loop until `condition()` holds (a bench, not a test: a plain loop is fine)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the room did not get there in time")
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)


def measure(app: QApplication, room, seconds: float) -> dict:
    """Drag slider 0 back and forth at ~100 Hz for `seconds` while a 10 ms timer records its own lateness."""
    slider = room.sliders.sliders()[0]
    clock = QElapsedTimer()
    clock.start()
    ticks: list[float] = []
    requests: list[tuple[int, float]] = []  # (stamp, ms)
    shown: list[tuple[int, float]] = []
    renders_before, seconds_before = room.render.renders, room.render.render_seconds

    def on_tick():
        ticks.append(clock.nsecsElapsed() / 1e6)

    def on_drag():
        phase = (clock.nsecsElapsed() / 1e9) * 0.5  # one sweep of the range every two seconds
        slider.setValue(3 * np.sin(2 * np.pi * phase))
        requests.append((room.last_stamp, clock.nsecsElapsed() / 1e6))

    def on_frame(stamp: int):
        shown.append((stamp, clock.nsecsElapsed() / 1e6))

    room.frame_shown.connect(on_frame)
    probe, drag = QTimer(), QTimer()
    for timer, slot in ((probe, on_tick), (drag, on_drag)):
        timer.setTimerType(Qt.TimerType.PreciseTimer)
        timer.timeout.connect(slot)
        timer.start(TICK_MS)
    end = time.monotonic() + seconds
    wait(app, lambda: time.monotonic() > end, seconds + 5)
    drag.stop()
    last = requests[-1][0]
    wait(app, lambda: room._shown_stamp >= last, 10)
    probe.stop()
    room.frame_shown.disconnect(on_frame)

    lateness = np.maximum(np.diff(ticks) - TICK_MS, 0)
    latencies = []
    for stamp, asked in requests:
        answered = next((t for s, t in shown if s >= stamp and t >= asked), None)
        if answered is not None:
            latencies.append(answered - asked)
    renders = room.render.renders - renders_before
    return {"requests": len(requests), "renders": renders,
            "render_ms": (room.render.render_seconds - seconds_before) / max(renders, 1) * 1e3,
            "gap_max": float(lateness.max()), "gap_p95": float(np.percentile(lateness, 95)),
            "frame_p50": float(np.percentile(latencies, 50)), "frame_p95": float(np.percentile(latencies, 95)),
            "frame_max": float(np.max(latencies))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--width", type=int, default=16)
    args = parser.parse_args()

    app = QApplication.instance() or QApplication([])
    from engine import api
    from gui.explore_room import ExploreRoom
    from gui.workers import TrainRun

    api.leave_a_core_for_the_ui()  # as the app does: torch gets cpu_count - 1 threads
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        project = api.Project.create(Path(tmp) / "Digits")
        api.ingest(project, [write_digits(Path(tmp) / "digits", args.size)], size=args.size)
        config = api.TrainConfig(family="dcgan", size=args.size, steps=20, batch=16, width=args.width,
                                 latent_dim=64, precision="fp32", checkpoint_every=20, sample_every=20)
        api.train(project, config)
        print(f"setup: {args.size} px DCGAN (width {args.width}) trained 20 steps in "
              f"{time.perf_counter() - started:.1f} s; {os.cpu_count()} cores, platform {app.platformName()}, "
              "load average %.1f" % os.getloadavg()[0])

        room = ExploreRoom()
        room.resize(1100, 760)
        room.show()
        ready = {}
        room.model_ready.connect(lambda info: ready.setdefault("model", info))
        room.directions_ready.connect(lambda: ready.setdefault("directions", True))
        room.set_project(project)
        wait(app, lambda: "directions" in ready and room._shown_stamp >= room.last_stamp)
        results = {"training stopped": measure(app, room, args.seconds)}

        endless = replace(config, steps=100_000, sample_every=25, log_every=2, checkpoint_every=100_000)
        run = TrainRun(api, project, endless, new=True)
        steps = []
        run.event.connect(lambda e: steps.append(e.step) if isinstance(e, api.StepDone) else None)
        run.event.connect(lambda e: room.on_snapshot(e) if isinstance(e, api.Snapshot) else None)
        room.set_training_control(run.control)
        run.start()
        wait(app, lambda: len(steps) >= 2)  # past the start-up stalls (model building holds the GIL)
        first_step = steps[-1]
        results["training running"] = measure(app, room, args.seconds)
        trained = steps[-1] - first_step
        run.control.request_stop()
        wait(app, lambda: not run.is_running(), 120)
        room.set_training_control(None)
        room.shutdown()

    rows = [("GUI tick delay, max (ms)", "gap_max", "< 50"), ("GUI tick delay, p95 (ms)", "gap_p95", "< 10"),
            ("slider to frame, p50 (ms)", "frame_p50", ""), ("slider to frame, p95 (ms)", "frame_p95", "< 50"),
            ("slider to frame, max (ms)", "frame_max", ""), ("one render on its thread (ms)", "render_ms", ""),
            ("slider requests", "requests", ""), ("canvas renders", "renders", "")]
    print(f"\n{'':28}{'training stopped':>18}{'training running':>18}{'target':>9}")
    for title, key, target in rows:
        a, b = results["training stopped"][key], results["training running"][key]
        fmt = "{:>18.1f}" if isinstance(a, float) else "{:>18d}"
        print(f"{title:28}" + fmt.format(a) + fmt.format(b) + f"{target:>9}")
    print(f"\ntraining made {trained} steps during the {args.seconds:.0f} s measured while running (it yields to "
          f"pending renders); load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
