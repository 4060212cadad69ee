"""Model files an artist can take elsewhere: one safetensors file that holds the sampler and says where it came from.

`python main.py export-model PROJECT_OR_RUN_OR_CHECKPOINT --out FILE.safetensors [--licence TEXT]`. The weights are
the EMA sampler's state_dict, which is every network that generating, exploring and projecting use: a StyleGAN's
mapping network and its mean of w, a VAE's encoder, a VQ-VAE's codebook, decoder and Transformer prior. The
discriminator and the optimizers stay behind (a checkpoint keeps them, for resuming), so a model file fine-tunes
with a fresh discriminator (`train --from FILE`).

The header is plain JSON in the safetensors metadata (files.save_tensors), never code. Besides what rebuilds the
model (family, config, model id, label names) it records its provenance: step, training time, the dataset's
fingerprint and size, the folders it was ingested from, the app's version, the date and a licence. An artist who
shares a model can then say what it was trained on, and a reader can check it without our app (any safetensors
reader shows the header). Provenance is looked for in the checkpoint record, the run's log and the project around
it; what cannot be found is null, never a guess presented as fact.
"""
from __future__ import annotations

import datetime
from pathlib import Path

from . import checkpoints, files

SCHEMA_VERSION = 1  # of the model file's header; readers take missing fields as unknown


def app_version() -> str:
    """The installed package's version, or pyproject.toml's when run from a source tree that is not installed."""
    from importlib import metadata

    try:
        return metadata.version("latent-studio")
    except metadata.PackageNotFoundError:
        import tomllib

        pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
        try:
            return tomllib.loads(pyproject.read_text())["project"]["version"]
        except (OSError, KeyError, ValueError):
            return "unknown"


def header(model, provenance: dict | None = None, licence: str = "") -> dict:
    """The JSON header of a model file: what rebuilds `model`, and its provenance (unknown fields are null)."""
    known = provenance or {}
    return {"kind": "model", "schema_version": SCHEMA_VERSION, "family": model.family,
            "config": dict(model.cfg.__dict__), "model_id": model.id, "label_names": list(model.label_names),
            "channels": model.output.channels, "height": model.output.height, "width": model.output.width,
            "step": model.step, "training_seconds": known.get("training_seconds"),
            "dataset_hash": known.get("dataset_hash"), "image_count": known.get("image_count"),
            "sources": known.get("sources"), "app_version": app_version(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "licence": licence}


def write(model, path: Path, provenance: dict | None = None, licence: str = "") -> Path:
    """Write `model` (an engine.model.Model) as one model file; Model.export calls this without provenance."""
    path = Path(path)
    files.save_tensors(path, model.net.state_dict(), meta=header(model, provenance, licence))
    return path


def export_model(source, out, licence: str | None = None) -> Path:
    """A project (its newest model), run, checkpoint or model file -> one model file at `out`, with its provenance.
    `licence` None keeps a model file's own licence (none for the others)."""
    from .model import open_model

    model = open_model(source)
    provenance = provenance_of(source)
    if licence is None:
        licence = provenance.get("licence") or ""
    return write(model, out, provenance, licence)


def provenance_of(source) -> dict:
    """What is known of where the model at `source` came from: training_seconds, dataset_hash, image_count and
    sources (and a model file's licence). Read from a checkpoint's record, its run's log and its project, or from a
    model file's header."""
    checkpoint = checkpoints.meant_by(Path(source))
    if checkpoint is None:  # a model file: carry its header over
        _, meta = files.load_tensors(Path(source))
        return {key: meta.get(key) for key in ("training_seconds", "dataset_hash", "image_count", "sources", "licence")}
    record = files.read_json(checkpoint)
    run_dir = checkpoint.parent.parent  # runs/<run>/checkpoints/step-XXXXXX.json
    project = _project_of(run_dir)
    found = {"dataset_hash": record.get("dataset_hash"), "image_count": record.get("image_count"),
             "training_seconds": record.get("train_seconds")}
    if found["training_seconds"] is None:  # checkpoints written before the Trainer kept time
        found["training_seconds"] = _seconds_from_log(run_dir / "log.jsonl", record)
    if project is not None:
        found["sources"] = list(project.dataset.sources)
        if found["image_count"] is None:
            found["image_count"] = _count_if_same_dataset(project, record)
    return found


def _project_of(run_dir: Path):
    """The project a run folder lives in, or None (a checkpoint copied somewhere else)."""
    from .project import Project

    root = run_dir.parent.parent
    if run_dir.parent.name == "runs" and Project.is_project(root):
        return Project.open(root)
    return None


def _count_if_same_dataset(project, record: dict) -> int | None:
    """The project's image count, if its manifest still has the images the checkpoint was trained on: the dataset
    hash is computed deterministically from the manifest's image hashes and the size (training_data.dataset_hash)."""
    from .training_data import dataset_hash

    rows = files.read_json(project.manifest_path, default={"images": []})["images"]
    config = record.get("config", {})
    same = record.get("dataset_hash") == dataset_hash([row["hash"] for row in rows], config.get("size", 0),
                                                      config.get("aspect") or "1:1")
    return len(rows) if same else None


def _seconds_from_log(log: Path, record: dict) -> float | None:
    """Training time up to the checkpoint's step, summed from the log: each loss line records the images per second
    since the one before, so steps x batch / rate is the time between them. A line whose step goes back (a resume
    after a crash) adds nothing; a rollback line says where training went back to."""
    batch, last, total, step = record.get("config", {}).get("batch", 0), 0, 0.0, record.get("step", 0)
    for row in files.read_jsonl(log):
        if "to_step" in row:
            last = row["to_step"]
        elif row.get("images_per_s") and "step" in row:
            if row["step"] > step:
                break
            if row["step"] > last:
                total += (row["step"] - last) * batch / row["images_per_s"]
            last = row["step"]
    return round(total, 1) if total else None
