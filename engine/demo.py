"""The bundled demo: a project made from the public-domain pictures in resources/demo/ with a model already trained
on them, so an artist with no images of their own can explore at once and train a run of their own.

resources/demo/ holds images/ (sub-folders are labels), LICENSE.md, model.safetensors (an exported model, as
`Model.export` writes it) and preview.png; tools/make_demo.py builds them. The model is installed as a finished run
whose checkpoint a Trainer can also resume: the generator starts from the bundled weights, the rest of the
training state (discriminator, optimizer moments) starts fresh.

Must not import Qt: the GUI calls `create_demo_project` on a worker thread, like any other engine call.
"""
from __future__ import annotations

import os
import shutil
import time
import uuid
from dataclasses import asdict, replace
from pathlib import Path

import torch

from . import checkpoints, files, training_data
from .control import Control
from .dataset import ingest
from .events import Message
from .models import get_family
from .project import Project
from .sampling import GRID_COLUMNS, GRID_ROWS, SAMPLE_SEED, grid
from .train_config import TrainConfig

DEMO_DIR = Path(__file__).resolve().parents[1] / "resources" / "demo"
DEMO_IMAGES = DEMO_DIR / "images"
DEMO_MODEL = DEMO_DIR / "model.safetensors"


def demo_available() -> bool:
    """Whether this copy of Latent Studio ships the demo (its images and its trained model)."""
    return DEMO_MODEL.is_file() and DEMO_IMAGES.is_dir()


def create_demo_project(dest: Path, on_event=None, control: Control | None = None) -> Project:
    """A project at `dest` holding the demo pictures and the bundled model as a finished run.

    When `dest` already is a project it is opened as it is. The project is built in a hidden folder beside `dest`
    and renamed into place at the end, so a failed or cancelled call leaves no half-made project behind.
    """
    dest = Path(dest).resolve()
    if Project.is_project(dest):
        return Project.open(dest)
    if not demo_available():
        raise ValueError("this copy of Latent Studio has no bundled demo (resources/demo is missing)")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ValueError(f"{dest} is not an empty folder; choose a new or empty folder for the demo")
    emit = on_event or (lambda event: None)
    control = control or Control()
    building = dest.parent / f".{dest.name}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        project = Project.create(building, name=dest.name)
        emit(Message("Adding the demo pictures"))
        ingest(project, [DEMO_IMAGES], size=64, crop="pad", on_event=emit, control=control, alpha="off", aspect="1:1")
        control.check()
        emit(Message("Installing the demo model"))
        _install_model(project)
        if dest.exists():
            dest.rmdir()  # empty, checked above; a rename cannot replace a folder everywhere
        os.replace(building, dest)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return Project.open(dest)


def _install_model(project: Project) -> Path:
    """The bundled model as run 'NNNN-demo-FAMILY-SIZE': config, status, a resumable checkpoint, a sample grid."""
    from .model import open_model

    model = open_model(DEMO_MODEL)
    cfg = replace(TrainConfig.from_dict(model.cfg.__dict__), steps=model.step, minutes=0.0)
    run_uid = model.id.rsplit("-", 1)[0] if "-" in model.id else uuid.uuid4().hex[:8]
    hashes = [row["hash"] for row in files.read_json(project.manifest_path)["images"]]
    # the same fingerprint as the Trainer's, so resuming this run does not warn that the dataset changed
    dataset_hash = training_data.dataset_hash(hashes, cfg.size)

    run_dir = project.new_run_dir(f"demo-{model.family}-{model.size}")
    files.write_json(run_dir / "config.json", dict(asdict(cfg), run_uid=run_uid, dataset_hash=dataset_hash))

    weights = model.net.state_dict()
    torch.manual_seed(cfg.seed)
    learner = get_family(model.family).Learner(cfg, torch.device("cpu"))
    learner.ema.load_state_dict(weights)
    for net in learner.nets.values():  # the trained network that the sampler is the average of
        if set(net.state_dict()) == set(weights):
            net.load_state_dict(weights)
    info = {"family": model.family, "config": asdict(cfg), "dataset_hash": dataset_hash, "run_uid": run_uid,
            "model_id": model.id, "quality": None, "best_quality": None, "label_names": model.label_names,
            "time": time.time()}
    rng = {"train": torch.Generator().manual_seed(cfg.seed + 1).get_state()}
    checkpoint = checkpoints.save(run_dir, model.step, learner, rng, info, keep=cfg.keep_checkpoints)

    images = model.draw(model.inputs.grid(SAMPLE_SEED, GRID_ROWS, GRID_COLUMNS, model.device))
    files.save_png(run_dir / "samples" / f"step-{model.step:06d}.png", grid(images, columns=GRID_COLUMNS))
    files.write_json(run_dir / "status.json", {"state": "finished", "step": model.step})
    return checkpoint
