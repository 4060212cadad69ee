"""A trained model as everything after training sees it: open it from a project, a run, a checkpoint or an
exported model file, render latents to pixels, encode pixels to latents, export a single-file model.

Opening never unpickles: files are refused with a one-line reason unless they are our safetensors + JSON.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from . import checkpoints, devices, files
from .files import FileRefused
from .models import get_family
from .sampling import to_uint8
from .train_config import TrainConfig

RENDER_BATCH = 64  # images drawn at once; fewer when the device runs out of memory


def _to_stderr(text: str) -> None:
    print(f"warning: {text}", file=sys.stderr)


class Model:
    def __init__(self, family: str, cfg: TrainConfig, weights: dict, model_id: str, step: int,
                 label_names: list[str] | None = None, device: str = "cpu"):
        self.family = family
        self.cfg = cfg
        self.id = model_id
        self.step = step
        self.label_names = label_names or []
        self.device = torch.device(device)
        self.on_message = _to_stderr  # what the model has to say (it ran out of memory); the app shows it instead
        info = get_family(family).info
        self.capabilities = info.capabilities
        self.net = get_family(family).build_sampler(cfg).to(self.device).eval()
        self.load_snapshot(weights)

    @property
    def latent_dim(self) -> int:
        return self.cfg.latent_dim

    @property
    def size(self) -> int:
        return self.cfg.size

    def load_snapshot(self, weights: dict, step: int | None = None, model_id: str = "") -> None:
        """Swap in newer EMA weights (from a Snapshot event or a checkpoint); raises on a mismatched model.
        With `model_id`, images exported from here record the id of the weights they were made with."""
        try:
            self.net.load_state_dict({k: v.to(self.device) for k, v in weights.items()})
        except RuntimeError as e:
            raise FileRefused(f"the weights do not fit a {self.family} of this shape: {str(e).splitlines()[0]}")
        if step is not None:
            self.step = step
        if model_id:
            self.id = model_id

    def label_index(self, label) -> int:
        """A label's index from its name or index; an unknown one is an error that lists the known ones."""
        names = self.label_names if self.cfg.num_classes else []  # unconditional runs keep the dataset's names too
        if isinstance(label, (int, np.integer)) and 0 <= label < len(names):
            return int(label)
        if label in names:
            return names.index(label)
        known = ", ".join(names) or "none: this model is not conditional"
        raise ValueError(f"unknown label {label!r}; known labels: {known}")

    @torch.inference_mode()
    def render(self, latents: np.ndarray, labels=None) -> np.ndarray:
        """N x D float latents (and, for conditional models, N labels by name or index) -> N x H x W x 3 uint8.
        Out of device memory, it renders fewer at a time, and at one image it moves the model to the CPU."""
        latents = np.asarray(latents, np.float32).reshape(-1, self.latent_dim)
        if self.cfg.num_classes:
            labels = [0] * len(latents) if labels is None else labels
            labels = [labels] * len(latents) if isinstance(labels, (str, int, np.integer)) else list(labels)

        def draw(start, stop):
            z = torch.as_tensor(latents[start:stop], device=self.device)
            y = self.label_tensor(labels[start:stop], stop - start) if self.cfg.num_classes else None
            return to_uint8(self.net(z, y))

        try:
            parts = devices.in_parts(draw, len(latents), RENDER_BATCH, self.on_message, "rendering")
        except torch.cuda.OutOfMemoryError:
            if self.device.type == "cpu":
                raise
            self.on_message(f"out of memory on the {self.device.type.upper()} even for one image: "
                            "this model now renders on the CPU (slower)")
            self.to_device("cpu")
            parts = devices.in_parts(draw, len(latents), RENDER_BATCH, self.on_message, "rendering")
        return np.concatenate(parts) if parts else np.zeros((0, self.size, self.size, 3), np.uint8)

    def to_device(self, device: str) -> None:
        self.device = torch.device(device)
        self.net.to(self.device)

    def label_tensor(self, labels, count: int) -> torch.Tensor:
        """`count` label indices on the model's device from names or indices; a single label is repeated."""
        if isinstance(labels, (str, int, np.integer)):
            labels = [labels] * count
        return torch.tensor([self.label_index(label) for label in labels], dtype=torch.long, device=self.device)

    @torch.inference_mode()
    def encode(self, images: np.ndarray, labels=None) -> np.ndarray:
        """N x H x W x 3 uint8 images at the model's size (and, for conditional models, their N labels by name or
        index) -> N x D latents (the posterior means)."""
        if not hasattr(self.net, "encode"):
            raise ValueError(f"a {self.family} model has no encoder")
        x = torch.as_tensor(np.asarray(images), device=self.device).permute(0, 3, 1, 2).float() / 127.5 - 1
        if self.cfg.num_classes:
            if labels is None:
                raise ValueError(f"a {self.family} model encodes each image together with its label")
            mu, _ = self.net.encode(x, self.label_tensor(labels, len(x)))
        else:
            mu, _ = self.net.encode(x)
        return mu.cpu().numpy()

    @torch.inference_mode()
    def reconstruct(self, images: np.ndarray) -> np.ndarray:
        """N x H x W x 3 uint8 images at the model's size -> what the model makes of them, N x H x W x 3 uint8."""
        if not hasattr(self.net, "reconstruct"):
            raise ValueError(f"a {self.family} model cannot reconstruct images")
        x = torch.as_tensor(np.asarray(images), device=self.device).permute(0, 3, 1, 2).float() / 127.5 - 1
        return to_uint8(self.net.reconstruct(x))

    def set_sampling(self, temperature: float | None = None, top_k: int | None = None) -> None:
        """Temperature and top-k for models that draw codes (VQ-VAE + Transformer); other models ignore them."""
        if temperature is not None and not temperature > 0:
            raise ValueError(f"the temperature must be above 0, not {temperature}")
        if top_k is not None and top_k < 0:
            raise ValueError(f"top-k must be 0 (no limit) or more, not {top_k}")
        if temperature is not None and hasattr(self.net, "temperature"):
            self.net.temperature = float(temperature)
        if top_k is not None and hasattr(self.net, "top_k"):
            self.net.top_k = int(top_k)

    def sampling(self) -> dict:
        """The sampling settings an image needs to be made again: {} for models without any."""
        return {key: getattr(self.net, key) for key in ("temperature", "top_k") if hasattr(self.net, key)}

    @property
    def codebook_size(self) -> int | None:
        """How many codes a model that draws codes chooses among (top-k's useful limit); None for other models."""
        prior = getattr(self.net, "prior", None)
        return getattr(getattr(prior, "config", None), "vocab_size", None)

    def export(self, path: Path) -> Path:
        """One self-contained model file: EMA weights in safetensors, config and id in its header."""
        meta = {"kind": "model", "family": self.family, "config": self.cfg.__dict__, "model_id": self.id,
                "step": self.step, "label_names": self.label_names}
        files.save_tensors(Path(path), self.net.state_dict(), meta=meta)
        return Path(path)


def open_model(path, device: str = "cpu") -> Model:
    """Open a project folder (its newest checkpoint), a run folder, a checkpoint or a model file."""
    path = Path(path)
    if not path.exists():
        raise FileRefused(f"{path} does not exist")
    checkpoint = checkpoints.meant_by(path)
    if checkpoint is not None:
        return _from_checkpoint(checkpoint, device)
    tensors, meta = files.load_tensors(path)
    if meta.get("kind") != "model":
        raise FileRefused(f"{path.name} is a Latent Studio file but not a model")
    return _build(meta, tensors, device)


def _from_checkpoint(json_path: Path, device: str) -> Model:
    try:
        record = json.loads(Path(json_path).read_text())
    except (OSError, ValueError):
        raise FileRefused(f"{Path(json_path).name} is not a readable checkpoint") from None
    if record.get("format") != checkpoints.CHECKPOINT_FORMAT:
        raise FileRefused(f"{Path(json_path).name} is not a Latent Studio checkpoint")
    tensors, _ = files.load_tensors(Path(json_path).parent / record["weights"])
    ema = {k[4:]: v for k, v in tensors.items() if k.startswith("ema.")}
    return _build(record, ema, device)


def _build(record: dict, weights: dict, device: str) -> Model:
    try:
        family = record["family"]
        get_family(family)
        cfg = TrainConfig.from_dict(record["config"])
    except (KeyError, ValueError, TypeError) as e:
        raise FileRefused(f"the model's description is incomplete or unknown ({e})") from None
    return Model(family, cfg, weights, record.get("model_id", "unknown"), record.get("step", 0),
                 record.get("label_names"), device)
