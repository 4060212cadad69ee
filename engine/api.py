"""The engine's one face: the functions and records that the CLI, the GUI and the tests call, and nothing deeper.

Long calls take plain data, an `on_event` callback and a `Control`; they report through events (engine.events)
and raise ordinary exceptions (FileRefused, ValueError, Cancelled) with messages written for the user.
"""
from __future__ import annotations

from . import files
from .atlas import Atlas, atlas_for
from .augment import preview as preview_augmentations
from .control import Cancelled, Control
from .aspect import ASPECTS
from .dataset import (chosen_aspect, dataset_stats, ingest, label_count, load_dataset, remove_images,
                      restore_removed, uses_alpha)
from .demo import DEMO_DIR, DEMO_MODEL, create_demo_project, demo_available
from .devices import DeviceInfo, device_info, every_core, leave_a_core_for_the_ui
from .events import (CheckpointSaved, IngestResult, Message, Paused, Progress, QualityMeasured, RunFinished,
                     RunStarted, SamplesReady, Snapshot, StepDone)
from .base_model import name_fitting as base_fitting
from .expectations import describe as describe_expectation
from .export import export_animation, export_look, export_png, generate, read_png_latent, save_projection
from .files import FileRefused, WriteFailed
from .latent import Directions, apply as apply_directions, fit_directions, shift as shift_in_w
from .memorisation import Meter, Verdict, meter_for, project_and_flips
from .mixture import Mixture, fit_mixture, load_mixture, mixture_for
from .model import Model, open_model
from .model_file import export_model
from .models import (Capability, FamilyInfo, InputKind, Look, Output, default_family, families, family_layout,
                     family_options, recommended_families)
from .onnx_export import OnnxExport, export_onnx
from .project import DatasetSettings, Project
from .projection import Projection, load_images, project
from .sampling import (GRID_COLUMNS, GRID_ROWS, interpolate, latents_for_seed, progress_point, slerp, truncate,
                       variations)
from .train_config import TrainConfig, suggest_config
from .run_folder import budget_of, family_of, resume_step, run_history, run_state, sample_grids, saved_models
from .run_queue import KeepAwake, RunQueue
from .training import Trainer, resumable_run, train
from .translate import MAX_SIDE as TRANSLATE_MAX_SIDE, Translated, pictures_in, translate_files

__all__ = [
    "Cancelled", "CheckpointSaved", "Control", "DEMO_DIR", "DEMO_MODEL", "DatasetSettings", "DeviceInfo", "Directions",
    "FamilyInfo", "FileRefused", "IngestResult", "Message", "Model", "Progress", "Project", "RunFinished",
    "RunStarted", "SamplesReady", "Snapshot", "StepDone", "TrainConfig", "Trainer", "apply_directions",
    "base_fitting", "create_demo_project", "dataset_stats", "demo_available", "describe_expectation", "device_info",
    "every_core", "export_animation", "export_png", "label_count",
    "families", "fit_directions", "generate", "ingest", "interpolate", "latents_for_seed", "leave_a_core_for_the_ui",
    "load_bookmarks", "load_dataset", "manifest", "measure_speed", "open_model", "preview_augmentations",
    "read_png_latent", "read_report", "reconstruct", "remove_images", "restore_removed", "resumable_run",
    "resume_step", "run_history", "run_state", "sample_grids", "budget_of",
    "save_bookmarks", "slerp", "GRID_COLUMNS", "GRID_ROWS", "progress_point",
    "suggest_config", "train", "truncate", "variations",
    "Mixture", "fit_mixture", "load_mixture", "mixture_for", "recommended_families",
    "QualityMeasured", "default_family", "Paused", "WriteFailed", "Capability", "InputKind", "Output",
    "Projection", "load_images", "project", "save_projection", "family_of", "Look", "export_look", "shift_in_w",
    "export_model", "export_onnx", "OnnxExport", "Meter", "Verdict", "meter_for", "project_and_flips", "Atlas",
    "family_options", "saved_models", "KeepAwake", "RunQueue", "uses_alpha", "ASPECTS", "chosen_aspect",
    "atlas_for", "family_layout", "Translated", "translate_files", "pictures_in", "TRANSLATE_MAX_SIDE",
    "translate_picture",
]


def read_report(project: Project) -> dict:
    """Rejected files with their reasons, and the last ingest's counts."""
    return files.read_json(project.report_path, default={"rejected": [], "last": {}})


def manifest(project: Project) -> list[dict]:
    """One row per kept image: source, hash, label, width, height, split."""
    return files.read_json(project.manifest_path, default={"images": []})["images"]


def load_bookmarks(project: Project) -> list[dict]:
    return files.read_json(project.bookmarks_path, default={"bookmarks": []})["bookmarks"]


def save_bookmarks(project: Project, bookmarks: list[dict]) -> None:
    files.write_json(project.bookmarks_path, {"bookmarks": bookmarks})


def reconstruct(model: Model, images):
    """N x H x W x 3 uint8 images at the model's size -> the model's reconstructions of them (uint8, same shape);
    a ValueError for a model that cannot reconstruct."""
    return model.reconstruct(images)


def translate_picture(model: Model, path, direction: str = "a2b") -> tuple:
    """(the picture, its translation) of an image file, both H x W x 4 uint8 at the picture's own size (at most
    TRANSLATE_MAX_SIDE on its long side); FileRefused with the reason for a file that is not a readable picture."""
    from pathlib import Path

    from .decode import Item, Rejected, decode_whole, read

    path = Path(path)
    try:
        picture = decode_whole(read(Item(source=str(path), label="", path=path)), TRANSLATE_MAX_SIDE)
    except Rejected as rejected:
        raise FileRefused(f"{path.name}: {rejected}") from None
    return picture, model.translate(picture, direction)


def measure_speed(project: Project, config: TrainConfig, seconds: float = 3.0, control: Control | None = None) -> float:
    """Images per second of the real training step on this machine (after two warm-up steps), nothing saved, in
    the precision the run will choose (on the CPU "auto" times bf16 first, as the run's start does: it was 1.2x).
    Raises Cancelled between steps once `control` asks to stop (the artist pressed Start meanwhile)."""
    import time

    from .train_config import complete_config

    control = control or Control()
    trainer = Trainer(project, complete_config(project, config))
    control.check()
    trainer.settle_precision()
    for _ in range(2):
        control.check()
        trainer.step()
    start, steps = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        control.check()
        losses = trainer.step()
        steps += 1
    [float(v) for v in losses.values()]  # wait for the device to finish
    return steps * trainer.cfg.batch / (time.perf_counter() - start)
