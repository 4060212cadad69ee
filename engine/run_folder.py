"""A run's folder (DESIGN.md: runs/<run>/config.json, status.json, log.jsonl, samples/, checkpoints/) and which run
a `train` call resumes. Rank 0 alone writes; nothing here trains."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import files
from .project import Project


def resumable_run(project: Project, family: str | None = None, steps: int = 0) -> Path | None:
    """The newest run, if it is of `family` (when given) and unfinished, or finished short of `steps`.
    A run that stopped early (its measure had stopped improving) is finished whatever `steps` says."""
    runs = project.runs()
    if not runs:
        return None
    run = runs[-1]
    status = files.read_json(run / "status.json", default={})
    config = files.read_json(run / "config.json", default={})
    if family is not None and config.get("family") != family:
        return None
    if status.get("state") == "finished" and (steps <= status.get("step", 0) or status.get("reason") == "early_stop"):
        return None
    return run


class RunFolder:
    def __init__(self, path: Path, writes: bool):
        self.path = Path(path)
        self.writes = writes  # rank 0 only

    @classmethod
    def new(cls, project: Project, label: str) -> "RunFolder":
        return cls(project.new_run_dir(label), True)

    def saved_uid(self) -> str | None:
        """The run id written when the run began, if it has begun before."""
        return files.read_json(self.path / "config.json", default={}).get("run_uid")

    def begin(self, config: dict) -> None:
        """config.json (what the run is) and status.json "running" (a crash leaves it resumable)."""
        if self.writes:
            files.write_json(self.path / "config.json", config)
            self.set_status("running")

    def set_status(self, state: str, **details) -> None:
        if self.writes:
            files.write_json(self.path / "status.json", {"state": state, **details})

    def note(self, row: dict) -> None:
        """One line of log.jsonl: losses, KID, rollbacks, messages."""
        if self.writes:
            files.append_jsonl(self.path / "log.jsonl", row)

    def save_samples(self, step: int, picture: np.ndarray) -> Path:
        path = self.path / "samples" / f"step-{step:06d}.png"
        files.save_png(path, picture)
        return path
