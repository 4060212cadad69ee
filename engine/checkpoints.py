"""Checkpoints of a run: weights, EMA and optimizer state in safetensors, everything else in a JSON beside it.

The safetensors file is written first, then the JSON, each atomically; the JSON marks the checkpoint complete and
records the weights' size, so a half-written checkpoint is never loaded. The last few are kept, and the best by
the run's quality measure. Nothing here unpickles.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import torch

from . import files
from .models.base import unwrapped

CHECKPOINT_FORMAT = "latent-studio-checkpoint"
SCHEMA_VERSION = 1


def checkpoint_dir(run_dir: Path) -> Path:
    return Path(run_dir) / "checkpoints"


def save(run_dir: Path, step: int, learner, rng: dict[str, torch.Tensor], info: dict, keep: int = 3) -> Path:
    """Write step-XXXXXX.safetensors then step-XXXXXX.json; return the JSON's path. Raises OSError on failure."""
    folder = checkpoint_dir(run_dir)
    stem = f"step-{step:06d}"
    tensors, opt_meta = {}, {}
    for name, net in learner.nets.items():
        for key, value in unwrapped(net).state_dict().items():
            tensors[f"net.{name}.{key}"] = value
    for key, value in learner.ema.state_dict().items():
        tensors[f"ema.{key}"] = value
    for name, opt in learner.opts.items():
        state = opt.state_dict()
        opt_meta[name] = {"param_groups": state["param_groups"], "scalars": {}}
        for pid, slots in state["state"].items():
            for slot, value in slots.items():
                if torch.is_tensor(value):
                    tensors[f"opt.{name}.{pid}.{slot}"] = value
                else:
                    opt_meta[name]["scalars"][f"{pid}.{slot}"] = value
    for key, value in rng.items():
        tensors[f"rng.{key}"] = value
    weights = folder / f"{stem}.safetensors"
    files.save_tensors(weights, tensors, meta={"family": info["family"], "step": step})
    record = dict(info, format=CHECKPOINT_FORMAT, schema_version=SCHEMA_VERSION, step=step,
                  weights=weights.name, weights_bytes=weights.stat().st_size,
                  opt_meta=opt_meta, micro_batches=learner.micro_batches)
    path = folder / f"{stem}.json"
    files.write_json(path, record)
    prune(run_dir, keep)
    return path


def complete(run_dir: Path) -> list[Path]:
    """JSONs of the run's complete checkpoints, oldest first."""
    folder = checkpoint_dir(run_dir)
    if not folder.is_dir():
        return []
    done = []
    for path in sorted(folder.glob("step-*.json")):
        try:
            record = json.loads(path.read_text())
            weights = folder / record["weights"]
            if record.get("format") == CHECKPOINT_FORMAT and weights.stat().st_size == record["weights_bytes"]:
                done.append(path)
        except (OSError, ValueError, KeyError):
            continue
    return done


def latest(run_dir: Path) -> Path | None:
    done = complete(run_dir)
    return done[-1] if done else None


def meant_by(path: Path) -> Path | None:
    """The checkpoint JSON a path means: a project folder's newest run with a complete checkpoint, a run folder's
    newest, or a checkpoint's own JSON (given its .json or .safetensors); None for anything else (a model file).
    A folder without a complete checkpoint is refused (files.FileRefused) with the reason."""
    from .project import Project

    path = Path(path)
    if path.is_dir():
        run = path
        if Project.is_project(path):
            runs = [r for r in Project.open(path).runs() if latest(r)]
            if not runs:
                raise files.FileRefused(f"{path.name} has no trained model yet")
            run = runs[-1]
        newest = latest(run)
        if newest is None:
            raise files.FileRefused(f"{path.name} holds no complete checkpoint")
        return newest
    if path.suffix == ".json" or (path.suffix == ".safetensors" and path.with_suffix(".json").is_file()):
        return path.with_suffix(".json")
    return None


def best(run_dir: Path) -> Path | None:
    """The checkpoint with the lowest quality figure among those judged by the newest one's measure (a VQ-VAE's
    second stage is judged by its prior, whose figures do not compare with the first stage's)."""
    records = [(files.read_json(p), p) for p in complete(run_dir)]
    measure = records[-1][0].get("measure") if records else None
    scored = [(r["quality"], p) for r, p in records if r.get("quality") is not None and r.get("measure") == measure]
    return min(scored)[1] if scored else None


def prune(run_dir: Path, keep: int) -> None:
    """Keep the newest `keep` checkpoints and the best one; remove the rest (and stray temporary files)."""
    done = complete(run_dir)
    keepers = set(done[-keep:])
    if (b := best(run_dir)) is not None:
        keepers.add(b)
    for path in done:
        if path not in keepers:
            path.unlink(missing_ok=True)
            path.with_suffix(".safetensors").unlink(missing_ok=True)


def read(path: Path, device: torch.device | str = "cpu") -> tuple[dict, dict]:
    """(record, tensors) of a checkpoint given its JSON or safetensors path; raises files.FileRefused."""
    path = Path(path)
    json_path = path.with_suffix(".json")
    try:
        record = json.loads(json_path.read_text())
    except (OSError, ValueError) as e:
        raise files.FileRefused(f"{json_path.name} is not a readable checkpoint record ({e})") from None
    if record.get("format") != CHECKPOINT_FORMAT:
        raise files.FileRefused(f"{json_path.name} is not a Latent Studio checkpoint")
    tensors, _ = files.load_tensors(json_path.parent / record["weights"], device=str(device))
    return record, tensors


def restore(learner, record: dict, tensors: dict) -> dict[str, torch.Tensor]:
    """Load nets, EMA and optimizers into `learner`; returns the saved RNG states."""
    def section(prefix):
        return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}

    for name, net in learner.nets.items():
        unwrapped(net).load_state_dict(section(f"net.{name}."))
    learner.ema.load_state_dict(section("ema."))
    for name, opt in learner.opts.items():
        meta = record["opt_meta"][name]
        state: dict[int, dict] = {}
        for key, value in section(f"opt.{name}.").items():
            pid, slot = key.split(".", 1)
            state.setdefault(int(pid), {})[slot] = value
        for key, value in meta["scalars"].items():
            pid, slot = key.split(".", 1)
            state.setdefault(int(pid), {})[slot] = value
        opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
        _match_layouts(opt)
    learner.micro_batches = record.get("micro_batches", 1)
    return section("rng.")


def _match_layouts(opt: torch.optim.Optimizer) -> None:
    """Moments are saved contiguous; each takes its weight's memory layout again (channels_last on a GPU), since
    CUDA's fused Adam refuses moments laid out unlike their weights."""
    for group in opt.param_groups:
        for p in group["params"]:
            slots = opt.state.get(p, {})
            for slot, value in slots.items():
                if torch.is_tensor(value) and value.shape == p.shape and value.stride() != p.stride():
                    slots[slot] = torch.empty_like(p, dtype=value.dtype).copy_(value)


def step_of(path: Path) -> int:
    match = re.search(r"step-(\d+)", Path(path).name)
    return int(match.group(1)) if match else 0

