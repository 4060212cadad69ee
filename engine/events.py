"""Plain, frozen event records that long engine work reports through its `on_event` callback.

The CLI prints them, the GUI turns them into signals, the tests collect them. They hold plain data only
(numbers, strings, paths, uint8 numpy arrays): never live tensors or modules, so they cross threads safely.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Progress:
    """One-off work moved on: `done` of `total` units; `what` names the work ("ingest", "cache 64 px", ...)."""
    what: str
    done: int
    total: int


@dataclass(frozen=True)
class Message:
    """Something the user should read: level is "info", "warning" or "error"; `step` when a run said it."""
    text: str
    level: str = "info"
    step: int | None = None


@dataclass(frozen=True)
class IngestResult:
    kept: int  # images added by this call
    rejected: int  # files that could not be used, each listed in the report with its reason
    duplicates: int  # exact duplicates dropped (of each other or of images already in the project)
    small: int  # kept images smaller than the asked size (upscaled; worth a warning)
    total: int  # images in the project's dataset after this call
    report_path: Path
    rejects: tuple = ()  # (path, reason) pairs of this call
    unmatched: tuple = ()  # a paired project's images still without their partner (all of them, not only this call's)

    def summary(self) -> str:
        text = (f"kept {self.kept}, rejected {self.rejected}, duplicates {self.duplicates}; "
                f"{self.total} images in the dataset")
        if self.small:
            text += f" (warning: {self.small} smaller than the training size were upscaled)"
        if self.unmatched:
            text += f"; {len(self.unmatched)} without a partner yet"
        return text


@dataclass(frozen=True)
class RunStarted:
    run_dir: Path
    step: int  # 0 for a new run, the checkpoint's step when resuming
    total_steps: int
    resumed: bool
    device: str
    config: dict


@dataclass(frozen=True)
class StepDone:
    step: int
    total_steps: int
    losses: dict  # name -> float
    images_per_s: float
    eta_s: float
    lr: float


@dataclass(frozen=True)
class QualityMeasured:
    """KID (Binkowski et al. 2018) of the EMA model's samples against the real images, on ImageNet features;
    lower is better, about 0 when the samples are indistinguishable from the images. Shown beside the losses."""
    step: int
    kid: float
    copies: float | None = None  # the share of samples the memorisation meter calls copies of training images


@dataclass(frozen=True)
class SamplesReady:
    step: int
    grid: np.ndarray  # H x W x 3 uint8, the fixed-seed grid from the EMA generator
    path: Path


@dataclass(frozen=True)
class CheckpointSaved:
    step: int
    path: Path  # the .json that marks the checkpoint complete
    best: bool = False


@dataclass(frozen=True)
class RunFinished:
    step: int
    reason: str  # "done", "time", "stopped", "failed"
    checkpoint: Path | None
    error: str | None = None
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Paused:
    """The run is waiting between two steps (Control.pause) at `step`; the next StepDone means it goes on."""
    step: int


@dataclass(frozen=True)
class Snapshot:
    """New EMA weights for the explorer's own copy of the generator: CPU copies, never the live tensors."""
    step: int
    weights: dict
    model_id: str = ""  # the id a checkpoint of these weights carries, for exports made from them
