"""Small helpers shared by the engine tests: tiny configs and projects made from real digits."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from engine import api

ROOT = Path(__file__).resolve().parents[2]


def tiny(family: str = "dcgan", **overrides) -> api.TrainConfig:
    """A network small enough to train in seconds on two cores, in fp32 so runs are exactly repeatable."""
    settings = dict(family=family, size=16, steps=20, batch=16, width=8, latent_dim=16, precision="fp32",
                    checkpoint_every=10, sample_every=10, log_every=5, device="cpu",
                    lr=1e-3 if family == "vae" else 2e-4)
    settings.update(overrides)
    return api.TrainConfig(**settings)


def digits_project(root: Path, source: Path, size: int = 16) -> api.Project:
    project = api.Project.create(root)
    api.ingest(project, [source], size=size)
    return project


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)
