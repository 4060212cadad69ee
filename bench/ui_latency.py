"""How responsive the app stays: GUI event-loop gaps during launch + engine load, Start, and slider drags with and
without training, and the slider-to-frame latency.

Run by hand:  .venv/bin/python bench/ui_latency.py [--seconds 3] [--size 64] [--width 16]

Two recorders of event-loop ticks; a tick's delay is how much later than its interval it came (what a user feels
as jank):
- C++ ticks: a QVariantAnimation running from 0 to 1e9 over 1e9 ms, whose `valueChanged` (the elapsed ms) goes into
  a QSignalSpy. Qt's animation driver ticks it every 16 ms on the GUI thread, and neither object runs Python, so a
  thread holding the GIL does not stall it: it shows whether Qt's own loop keeps turning (painting, the C++ busy
  bar). Checked: a 0.2 s time.sleep in a GUI-thread slot shows as a 197 ms delay, while another thread holding the
  GIL for 0.45 s in one C call (sum(range(3e7))) leaves it at 2 ms at most, unless a Python slot on the GUI thread
  then waits for the GIL.
- Python timer: a 10 ms PreciseTimer with a Python slot. It shows how long any Python slot (a click handler, a
  Python paintEvent) would wait; by waiting for the GIL it also stalls the loop, so the two recorders never run
  in the same phase together.

Phases:
1. Launch + engine load, in a fresh process (`--launch-probe cpp|python`, run twice by the bench, once per
   recorder), so torch really imports: gui.app.launch() as the app starts, ticks from the window being shown until
   the engine is loaded and the rooms are ready, plus a second. Also reported: process start to window shown, and
   the engine load time.
2. Start: scikit-learn's real digits as PNGs in a temp folder, ingested and a 64 px DCGAN trained for 20 steps by
   the CLI in another process; then in this one a shown TrainRoom given that config, its speed measured (as the
   room does by itself before any Start), Start clicked, and ticks until the run's second StepDone (network
   construction and the first steps included). Twice: once per recorder; the second run goes on.
3. Drags: an ExploreRoom on the trained model, its direction slider dragged programmatically at ~100 Hz with the
   Python timer recording, (a) with training stopped, (b) while the second run trains in the same app (snapshots
   feeding the room, its Control telling training to yield to renders), the Train room hidden as when the artist
   switches rooms. Slider-to-frame latency is, for every slider value, the time until the canvas shows a frame for
   that request or a newer one (a coalesced request is answered by the newer frame that replaced it).
4. Watching: before the drags, the Train room shown while the run trains and the artist only watches: ticks, and
   the training steps per second (`--leave-a-core`: as before training took every core).
Waits turn Qt's own event loop (QEventLoop.exec), not a processEvents spin: a spin keeps Python on the GUI thread
and a core busy.

Targets (this 2-core machine, 64 px model on CPU): worst tick delay < 50 ms, p95 < 10 ms, slider-to-frame p95
< 50 ms. Uses the offscreen platform when there is no DISPLAY. Measures only; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

import gui  # noqa: E402,F401  (first: guards against the PySide6 refcount bug, see gui/refcount_guard.py)
from PySide6.QtCore import (QEasingCurve, QElapsedTimer, QEventLoop, Qt, QThreadPool, QTimer,  # noqa: E402
                            QVariantAnimation)
from PySide6.QtTest import QSignalSpy  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from tests.digits import write_digits  # noqa: E402  (scikit-learn's real digits as PNG folders)

PHASES = {"launch C++": "launch + engine load, C++ ticks (fresh process)",
          "launch Py": "launch + engine load, Python 10 ms timer (another fresh process)",
          "Start C++": "click Start until the 2nd StepDone, C++ ticks",
          "Start Py": "click Start until the 2nd StepDone, Python 10 ms timer",
          "drag idle": "slider drag, training stopped, Python 10 ms timer",
          "drag train": "slider drag while training runs, Python 10 ms timer",
          "watch train": "the Train room shown while it trains (grids, losses), Python 10 ms timer"}


class CppTicks:
    """Event-loop ticks recorded without Python: the animation's value is the elapsed ms at each driver tick."""
    interval_ms = 16  # Qt's animation driver (QUnifiedTimer)

    def __init__(self):
        self.animation = QVariantAnimation()
        self.animation.setStartValue(0.0)
        self.animation.setEndValue(1e9)
        self.animation.setDuration(10**9)  # ms: 11 days, within Qt's int
        self.animation.setEasingCurve(QEasingCurve.Type.Linear)
        self.spy = QSignalSpy(self.animation.valueChanged)

    def start(self) -> None:
        self.animation.start()

    def stop(self) -> list[float]:
        """The tick times in ms since `start`, starting with 0, which makes a stall before the first tick count."""
        self.animation.stop()
        return [0.0] + [float(self.spy.at(i)[0]) for i in range(self.spy.count())]


class PythonTicks:
    """Event-loop ticks as a Python slot sees them: a 10 ms PreciseTimer stamping each call."""
    interval_ms = 10

    def __init__(self):
        self.clock = QElapsedTimer()
        self.ticks: list[float] = []
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._on_tick)

    def start(self) -> None:
        self.clock.start()
        self.ticks = [0.0]
        self.timer.start(self.interval_ms)

    def _on_tick(self) -> None:
        self.ticks.append(self.clock.nsecsElapsed() / 1e6)

    def stop(self) -> list[float]:
        self.timer.stop()
        return self.ticks


RECORDERS = {"cpp": CppTicks, "python": PythonTicks}


def delays(ticks: list[float], interval_ms: float) -> dict:
    """How much later than its interval each tick came: the worst and the 95th percentile, in ms."""
    late = np.maximum(np.diff(ticks) - interval_ms, 0)
    return {"gap_max": float(late.max()), "gap_p95": float(np.percentile(late, 95)), "ticks": len(ticks)}


def wait(condition, timeout_s: float = 120.0, wake=None) -> None:
    """Run Qt's event loop until `condition()` holds, checked whenever the signal `wake` is emitted, or every 20 ms
    without one. A timeout raises TimeoutError."""
    if condition():
        return
    loop = QEventLoop()
    deadline = QTimer()
    deadline.setSingleShot(True)
    deadline.timeout.connect(loop.quit)
    poll = QTimer()

    def check(*_):
        if condition():
            loop.quit()

    if wake is None:
        poll.timeout.connect(check)
        poll.start(20)
    else:
        wake.connect(check)
    deadline.start(int(timeout_s * 1000))
    loop.exec()
    poll.stop()
    deadline.stop()
    if wake is not None:
        wake.disconnect(check)
    if not condition():
        raise TimeoutError("the app did not get there in time")


def launch_probe(kind: str) -> None:
    """In a fresh process: the app's own launch(), then `kind` ticks from the window being shown until the rooms are
    ready, plus a second. Prints one JSON line; no Python of ours runs on the GUI thread before `ready`."""
    from gui.app import launch

    app, window = launch()
    facts = {"shown_at": time.time()}
    recorder = RECORDERS[kind]()
    recorder.start()

    def on_ready():  # the engine is loaded and every room has it
        facts["engine_s"] = window.loader.seconds
        QTimer.singleShot(1000, app.quit)

    window.engine_ready.connect(on_ready)
    window.loader.failed.connect(lambda text: (facts.update(failed=text), app.quit()))
    app.exec()
    facts["ticks"] = recorder.stop()
    QThreadPool.globalInstance().waitForDone()
    print(json.dumps(facts))


def measure_launch(kind: str) -> dict:
    """Run the launch probe in a fresh process (settings in a temp folder, so no last project reopens)."""
    with tempfile.TemporaryDirectory() as settings_home:
        started = time.time()
        done = subprocess.run([sys.executable, __file__, "--launch-probe", kind], capture_output=True, text=True,
                              timeout=600, env=dict(os.environ, XDG_CONFIG_HOME=settings_home))
    if done.returncode != 0:
        raise RuntimeError(f"the launch probe failed:\n{done.stderr}")
    facts = json.loads(done.stdout.strip().splitlines()[-1])
    if "failed" in facts:
        raise RuntimeError(facts["failed"])
    return {**delays(facts["ticks"], RECORDERS[kind].interval_ms), "shown_s": facts["shown_at"] - started,
            "engine_s": facts["engine_s"]}


def measure_start(train_room, kind: str) -> dict:
    """Click Start in the Train room and record `kind` ticks until the run's second StepDone."""
    steps = []
    on_step = steps.append
    train_room.step_done.connect(on_step)
    recorder = RECORDERS[kind]()
    started = time.perf_counter()
    recorder.start()
    train_room.start_button.click()
    wait(lambda: len(steps) >= 2, wake=train_room.step_done)
    result = {**delays(recorder.stop(), recorder.interval_ms), "start_s": time.perf_counter() - started}
    train_room.step_done.disconnect(on_step)
    return result


def measure_watching(train_room, seconds: float) -> dict:
    """The Train room shown while it trains, the artist only watching: the loop's ticks, and the steps it made."""
    recorder, first_step, started = PythonTicks(), train_room.step, time.perf_counter()
    recorder.start()
    end = time.monotonic() + seconds
    wait(lambda: time.monotonic() > end, seconds + 5)
    return {**delays(recorder.stop(), recorder.interval_ms),
            "steps_s": (train_room.step - first_step) / (time.perf_counter() - started)}


def stop_training(train_room) -> None:
    """Stop the run, wait for its checkpoint, and for the room's follow-up job on the pool."""
    train_room.stop()
    wait(lambda: not train_room.is_training(), wake=train_room.run_finished)
    wait(lambda: QThreadPool.globalInstance().activeThreadCount() == 0)


def measure_drag(room, seconds: float) -> dict:
    """Drag slider 0 back and forth at ~100 Hz for `seconds` while the Python timer records the loop's ticks."""
    slider = room.tool("directions").sliders.sliders()[0]
    clock = QElapsedTimer()
    clock.start()
    requests: list[tuple[int, float]] = []  # (stamp, ms)
    shown: list[tuple[int, float]] = []
    renders_before, seconds_before = room.render.renders, room.render.render_seconds

    def on_drag():
        phase = (clock.nsecsElapsed() / 1e9) * 0.5  # one sweep of the range every two seconds
        slider.setValue(3 * np.sin(2 * np.pi * phase))
        requests.append((room.last_stamp, clock.nsecsElapsed() / 1e6))

    def on_frame(stamp: int):
        shown.append((stamp, clock.nsecsElapsed() / 1e6))

    room.frame_shown.connect(on_frame)
    recorder, drag = PythonTicks(), QTimer()
    drag.setTimerType(Qt.TimerType.PreciseTimer)
    drag.timeout.connect(on_drag)
    recorder.start()
    drag.start(10)
    end = time.monotonic() + seconds
    wait(lambda: time.monotonic() > end, seconds + 5)
    drag.stop()
    last = requests[-1][0]
    wait(lambda: room._shown_stamp >= last, 10, wake=room.frame_shown)
    ticks = recorder.stop()
    room.frame_shown.disconnect(on_frame)

    latencies = []
    for stamp, asked in requests:
        answered = next((t for s, t in shown if s >= stamp and t >= asked), None)
        if answered is not None:
            latencies.append(answered - asked)
    renders = room.render.renders - renders_before
    return {**delays(ticks, recorder.interval_ms), "requests": len(requests), "renders": renders,
            "render_ms": (room.render.render_seconds - seconds_before) / max(renders, 1) * 1e3,
            "frame_p50": float(np.percentile(latencies, 50)), "frame_p95": float(np.percentile(latencies, 95)),
            "frame_max": float(np.max(latencies))}


def print_table(results: dict) -> None:
    rows = [("GUI tick delay, max (ms)", "gap_max", "< 50"), ("GUI tick delay, p95 (ms)", "gap_p95", "< 10"),
            ("ticks recorded", "ticks", ""), ("slider to frame, p50 (ms)", "frame_p50", ""),
            ("slider to frame, p95 (ms)", "frame_p95", "< 50"), ("slider to frame, max (ms)", "frame_max", ""),
            ("one render on its thread (ms)", "render_ms", ""), ("slider requests", "requests", ""),
            ("canvas renders", "renders", ""), ("process start to window (s)", "shown_s", ""),
            ("engine load (s)", "engine_s", ""), ("Start to 2nd StepDone (s)", "start_s", ""),
            ("training steps/s", "steps_s", "")]
    print()
    for name, meaning in PHASES.items():
        print(f"  {name:11} {meaning}")
    print(f"\n{'':30}" + "".join(f"{name:>12}" for name in PHASES) + f"{'target':>8}")
    for title, key, target in rows:
        cells = []
        for name in PHASES:
            value = results[name].get(key)
            cells.append("—" if value is None else f"{value:.2f}" if key.endswith("_s") else
                         f"{value:.1f}" if isinstance(value, float) else f"{value:d}")
        print(f"{title:30}" + "".join(f"{cell:>12}" for cell in cells) + f"{target:>8}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--leave-a-core", action="store_true", help="train on one core fewer, as the app did "
                        "before training took every core (devices.every_core)")
    parser.add_argument("--launch-probe", choices=sorted(RECORDERS),
                        help="internal: be the fresh app process of the launch phase and print JSON")
    args = parser.parse_args()
    if args.launch_probe:
        launch_probe(args.launch_probe)
        return

    # First, while this process is idle: the launch processes must not compete with training here.
    results = {"launch C++": measure_launch("cpp"), "launch Py": measure_launch("python")}

    app = QApplication.instance() or QApplication([])
    from engine import api
    from gui.explore_room import ExploreRoom
    from gui.train_room import TrainRoom

    api.leave_a_core_for_the_ui()  # as the app does: torch gets cpu_count - 1 threads
    if args.leave_a_core:
        from contextlib import nullcontext

        api.every_core = nullcontext
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        # Made by the CLI in another process, so that this one has only done what the app does before Start.
        subprocess.run([sys.executable, str(ROOT / "main.py"), "train", "--project", str(Path(tmp) / "Digits"),
                        "--data", str(write_digits(Path(tmp) / "digits", px=args.size)), "--model", "dcgan",
                        "--size", str(args.size), "--steps", "20", "--batch", "16", "--width", str(args.width),
                        "--latent-dim", "64", "--precision", "fp32", "--checkpoint-every", "20",
                        "--sample-every", "20"], check=True, stdout=subprocess.DEVNULL)
        project = api.Project.open(Path(tmp) / "Digits")
        shape = dict(size=args.size, batch=16, width=args.width, latent_dim=64, precision="fp32")
        print(f"setup: {args.size} px DCGAN (width {args.width}) trained 20 steps by the CLI in "
              f"{time.perf_counter() - started:.1f} s; {os.cpu_count()} cores, platform {app.platformName()}, "
              "load average %.1f" % os.getloadavg()[0])

        room = ExploreRoom()
        room.resize(1100, 760)
        room.show()
        ready = {}
        room.tool("directions").ready.connect(lambda: ready.setdefault("directions", True))
        room.set_project(project)
        wait(lambda: "directions" in ready and room._shown_stamp >= room.last_stamp)
        results["drag idle"] = measure_drag(room, args.seconds)

        # The Train room as the window wires it to the Explore room (gui/app.py, _install_explore_room).
        train_room = TrainRoom()
        train_room.resize(1100, 760)
        train_room.snapshot.connect(room.on_snapshot)
        train_room.training_state_changed.connect(lambda running: room.set_training_control(train_room.control))
        train_room.show()
        train_room.set_api(api)
        train_room.set_project(project)
        # Ready (its preset in), and its automatic speed measurements done: they would run beside Start. DCGAN is
        # picked in the box as the artist picks it, so the room keeps it (and the settings below) after a run.
        wait(lambda: train_room.config() is not None and train_room.measure_button.isEnabled())
        train_room.family_box.setCurrentIndex(train_room.family_box.findData("dcgan"))
        train_room.family_box.activated.emit(train_room.family_box.currentIndex())
        wait(lambda: train_room.config() is not None and train_room.config().family == "dcgan"
             and train_room.measure_button.isEnabled())
        train_room.set_config(api.suggest_config(project, "dcgan", steps=100_000, sample_every=25, log_every=2,
                                                 checkpoint_every=100_000, **shape))
        train_room.measure_speed()
        wait(lambda: train_room.measure_button.isEnabled())
        results["Start C++"] = measure_start(train_room, "cpp")
        stop_training(train_room)
        assert train_room.config().batch == shape["batch"], "the run's settings did not stay after it"
        results["Start Py"] = measure_start(train_room, "python")
        results["watch train"] = measure_watching(train_room, args.seconds)

        train_room.hide()  # the artist goes to the Explore room while it trains
        first_step = train_room.step
        results["drag train"] = measure_drag(room, args.seconds)
        trained = train_room.step - first_step
        stop_training(train_room)
        room.shutdown()

    print_table(results)
    print(f"\ntraining made {trained} steps during the {args.seconds:.0f} s of dragging while it ran (it yields to "
          f"pending renders); load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
