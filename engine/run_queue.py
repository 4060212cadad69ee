"""A queue of training runs to leave overnight: the same or different projects, families and budgets, run one
after another, each resumable. The queue is a JSON file written atomically after every change, so it survives the
app closing or the machine crashing; an entry found "running" when the queue is opened was interrupted, and runs
again from its last checkpoint. A failed run is recorded with its reason and the next one starts.

Each entry: id, title, project (folder), config (a TrainConfig as a dict), state (waiting, running, interrupted,
done, failed, stopped), and once it has run: run (folder name), reason, step, seconds, kid, copies, samples (path).
"""
from __future__ import annotations

import time
import uuid
from pathlib import Path

from . import files

FINISHED = ("done", "failed", "stopped")


class RunQueue:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._entries: list[dict] = files.read_json(self.path, default={"entries": []}).get("entries", [])
        for entry in self._entries:  # the app (or the machine) stopped while it ran: its checkpoint is kept
            if entry.get("state") == "running":
                entry["state"] = "interrupted"
        self._save()

    def entries(self) -> list[dict]:
        return [dict(entry) for entry in self._entries]

    def add(self, project, config, title: str = "") -> str:
        from dataclasses import asdict

        entry = {"id": uuid.uuid4().hex[:8], "title": title or f"{Path(project).name}: {config.family or 'default'}",
                 "project": str(project), "config": asdict(config), "state": "waiting", "added": time.time()}
        self._entries.append(entry)
        self._save()
        return entry["id"]

    def remove(self, entry_id: str) -> None:
        self._entries = [e for e in self._entries if e["id"] != entry_id or e.get("state") == "running"]
        self._save()

    def clear_finished(self) -> None:
        self._entries = [e for e in self._entries if e.get("state") not in FINISHED]
        self._save()

    def next_entry(self) -> dict | None:
        """The next entry to run: an interrupted one first (it resumes), then the oldest waiting one."""
        for state in ("interrupted", "waiting"):
            for entry in self._entries:
                if entry.get("state") == state:
                    return dict(entry)
        return None

    def update(self, entry_id: str, **changes) -> None:
        for entry in self._entries:
            if entry["id"] == entry_id:
                entry.update(changes)
        self._save()

    def _save(self) -> None:
        files.write_json(self.path, {"entries": self._entries})


class KeepAwake:
    """Keeps the machine from sleeping between `start` and `stop`, where the platform allows: systemd-inhibit on
    Linux, caffeinate on macOS, SetThreadExecutionState on Windows; elsewhere it does nothing (and says so)."""

    def __init__(self, why: str = "Latent Studio is training a queue of runs"):
        self.why, self._helper, self.active = why, None, False

    def start(self) -> bool:
        import shutil
        import subprocess
        import sys

        if self.active:
            return True
        try:
            if sys.platform == "win32":
                import ctypes

                ctypes.windll.kernel32.SetThreadExecutionState(0x80000000 | 0x00000001)  # continuous, system
                self.active = True
            elif sys.platform == "darwin" and shutil.which("caffeinate"):
                self._helper = subprocess.Popen(["caffeinate", "-i"])
            elif shutil.which("systemd-inhibit"):
                self._helper = subprocess.Popen(["systemd-inhibit", "--what=idle:sleep", f"--why={self.why}",
                                                 "--who=Latent Studio", "--mode=block", "sleep", "infinity"],
                                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except (OSError, AttributeError):
            self._helper = None  # no inhibitor here: the queue still runs
        self.active = self.active or self._helper is not None
        return self.active

    def working(self) -> bool:
        """Whether the machine is kept awake now (an inhibitor that exited, say without systemd, is not)."""
        return self.active and (self._helper is None or self._helper.poll() is None)

    def stop(self) -> None:
        import sys

        if self._helper is not None:
            self._helper.terminate()
            self._helper.wait()
            self._helper = None
        if self.active and sys.platform == "win32":
            import ctypes

            ctypes.windll.kernel32.SetThreadExecutionState(0x80000000)
        self.active = False
