"""A run's folder (DESIGN.md: runs/<run>/config.json, status.json, log.jsonl, samples/, checkpoints/) and which run
a `train` call resumes. Rank 0 alone writes; nothing here trains."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from . import checkpoints, files
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


def run_to_resume(project: Project, cfg, new: bool = False):
    """(config, run folder, checkpoint) of the run a `train` call continues, or (completed config, None, None) for
    a new run. A resumed run keeps its saved networks; the call may move its finish line and its clock. A run
    that fine-tunes another model (`from_model`) is always new; a new run without one starts from the shipped
    base model that fits (engine/base_model.py)."""
    from . import base_model, checkpoints, transfer
    from .train_config import TrainConfig, complete_config, project_family

    if cfg.from_model:
        cfg, new = transfer.adopt_source(cfg), True
    elif not cfg.family:
        cfg = replace(cfg, family=project_family(project, cfg.size))
    run_dir = None if new else resumable_run(project, cfg.family, cfg.steps)
    resume_from = checkpoints.latest(run_dir) if run_dir else None
    if resume_from is None:
        base = base_model.fitting(project, cfg)
        if base is not None:  # a new run starts from the shipped base model that fits, as `--from BASE` would
            cfg = transfer.adopt_source(replace(cfg, from_model=str(base)))
        return complete_config(project, cfg), run_dir, None
    saved = TrainConfig.from_dict(files.read_json(run_dir / "config.json"))
    # a run saved before alpha and aspects existed made colour only, and squares
    saved = replace(saved, alpha=bool(saved.alpha), aspect=saved.aspect or "1:1")
    budget = saved.minutes if not saved.steps else 0  # a run whose budget is time keeps it: it spends what is left
    return (replace(saved, steps=cfg.steps or saved.steps, minutes=cfg.minutes or budget, device=cfg.device), run_dir,
            resume_from)


def family_of(run: Path) -> str | None:
    """The model family a run trains."""
    return files.read_json(Path(run) / "config.json", default={}).get("family")


def budget_of(run: Path) -> float:
    """The minutes of training a run was given, or 0 where it ran to a number of steps."""
    config = files.read_json(Path(run) / "config.json", default={})
    return 0.0 if config.get("steps") else float(config.get("minutes") or 0.0)


def run_state(run: Path) -> str:
    """What status.json says of a run: "running" (or a run that crashed or was killed), "stopped", "failed",
    "finished"."""
    return files.read_json(Path(run) / "status.json", default={}).get("state", "running")


def resume_step(run: Path) -> int | None:
    """The step a continued run goes on from: its newest complete checkpoint's; None when it saved none yet."""
    last = checkpoints.latest(Path(run))
    return checkpoints.step_of(last) if last is not None else None


def sample_grids(run: Path) -> list[tuple[int, Path]]:
    """(step, PNG) of every sample grid a run saved, oldest first."""
    named = ((path.stem.removeprefix("step-"), path) for path in sorted(Path(run, "samples").glob("step-*.png")))
    return [(int(step), path) for step, path in named if step.isdigit()]


LOG_FIELDS = {"step", "images_per_s", "lr"}  # a loss line's fields that are not losses


def run_history(run: Path) -> dict:
    """What a finished or interrupted run reported, read back from its folder for showing again: "losses" as
    (step, {name: value}), "quality" as (step, KID, share of copies), "notes" (the warnings it logged) as
    (step, text, level), and "checkpoints" as (step, path, best), each oldest first. A resumed run's log repeats
    the steps after its checkpoint; the lines written last win."""
    losses, quality, notes = {}, {}, []
    for row in files.read_jsonl(Path(run) / "log.jsonl"):
        step = row.get("step")
        if not isinstance(step, int):
            continue
        if "kid" in row:
            quality[step] = (step, row["kid"], row.get("copies"))
        elif "message" in row:
            notes.append((step, row["message"], row.get("level", "info")))
        elif "images_per_s" in row:
            losses[step] = (step, {k: v for k, v in row.items() if k not in LOG_FIELDS})
    best = checkpoints.best(Path(run))
    saved = [(checkpoints.step_of(path), path, path == best) for path in checkpoints.complete(Path(run))]
    return {"losses": sorted(losses.values(), key=lambda r: r[0]), "quality": sorted(quality.values()),
            "notes": notes, "checkpoints": sorted(saved, key=lambda r: r[0])}


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


def saved_models(project: Project) -> list[dict]:
    """What can be explored of a project, newest run first: each run's name and family, and its complete
    checkpoints (newest first) with their step and whether each is the run's best."""
    found = []
    for run in reversed(project.runs()):
        done = checkpoints.complete(run)
        if not done:
            continue
        best = checkpoints.best(run)
        found.append({"run": run.name, "family": family_of(run),
                      "checkpoints": [{"step": checkpoints.step_of(path), "path": str(path), "best": path == best}
                                      for path in reversed(done)]})
    return found
