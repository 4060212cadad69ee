"""A trained model as everything after training sees it: open it from a project, a run, a checkpoint or an
exported model file, render latents to pixels, encode pixels to latents, export a single-file model.

Opening never unpickles: files are refused with a one-line reason unless they are our safetensors + JSON.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from . import checkpoints, devices, files
from .files import FileRefused
from .models import FAMILIES, Capability, get_family
from .pixels import to_uint8, to_unit
from .train_config import TrainConfig

RENDER_BATCH = 64  # images drawn at once; fewer when the device runs out of memory


def _to_stderr(text: str) -> None:
    print(f"warning: {text}", file=sys.stderr)


class Model:
    """A trained model's sampler, asked through its family's contract: `inputs` says what it takes, `output` what it
    makes, `capabilities` what else it can do. Every image is drawn through `draw`."""

    def __init__(self, family: str, cfg: TrainConfig, weights: dict, model_id: str, step: int,
                 label_names: list[str] | None = None, device: str = "cpu"):
        self.family = family
        self.cfg = cfg
        self.id = model_id
        self.step = step
        self.label_names = label_names or []
        self.device = torch.device(device)
        self.on_message = _to_stderr  # what the model has to say (it ran out of memory); the app shows it instead
        self.contract = get_family(family)
        self.capabilities = self.contract.info.capabilities
        self.inputs = self.contract.inputs(cfg)
        self.output = self.contract.output(cfg)
        self.net = self.contract.sampler(cfg).to(self.device).eval()
        self.load_snapshot(weights)

    @property
    def latent_dim(self) -> int:
        return self.inputs.latent_dim

    @property
    def size(self) -> int:
        """The long side of the output (what the explorer and the exports lay out)."""
        return self.cfg.size

    @property
    def aspect(self) -> str:
        """Width:height of the output (engine/aspect.py)."""
        return self.cfg.aspect or "1:1"

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities

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

    def label_indices(self, labels, count: int) -> list[int] | None:
        """`count` label indices from names or indices (a single label is repeated; none: label 0), or None for a
        model that takes no labels."""
        if not self.inputs.num_classes:
            return None
        if labels is None or isinstance(labels, (str, int, np.integer)):
            labels = [0 if labels is None else labels] * count
        return [self.label_index(label) for label in labels]

    def batch(self, latents: np.ndarray, labels=None) -> dict:
        """The inputs for N latents (and, for conditional models, N labels by name or index)."""
        latents = np.asarray(latents, np.float32).reshape(-1, self.latent_dim)
        return self.inputs.batch(latents, self.label_indices(labels, len(latents)), self.device)

    def mix(self, batch: dict, latent, layers) -> dict:
        """The batch with the styles of `layers` ("coarse", "middle", "fine" or a (start, stop) range of styles)
        taken from a second point's latent, for models that mix styles."""
        if not self.can(Capability.STYLE_MIXING):
            takers = ", ".join(f.info.name for f in FAMILIES.values() if Capability.STYLE_MIXING in f.info.capabilities)
            raise ValueError(f"a {self.family} model has no styles to mix; {takers} models do")
        ranges = self.net.style_ranges()
        if isinstance(layers, str) and layers not in ranges:
            raise ValueError(f"unknown style range {layers!r}; choose {', '.join(ranges)} or a start and stop")
        start, stop = ranges[layers] if isinstance(layers, str) else layers
        n = len(batch["z"])
        z_mix = torch.as_tensor(np.asarray(latent, np.float32).reshape(1, -1), device=self.device).expand(n, -1)
        return {**batch, "z_mix": z_mix, "mix": torch.tensor([[start, stop]], device=self.device).expand(n, 2)}

    def render_looks(self, looks) -> np.ndarray:
        """Images of explorer looks (engine.api.Look: a latent and what the family adds to it), N x H x W x C."""
        return self.draw(self.inputs.of_looks(looks, self.device))

    @torch.inference_mode()
    def points_in_w(self, batch: dict, index: int) -> dict:
        """A style-based model's points in W, as a PNG records them: `w` (after ψ) and a mix's `mix_w`."""
        if not self.can(Capability.STYLE_MIXING):
            return {}
        psi = batch.get("psi")
        psi = None if psi is None else psi[index:index + 1].to(self.device)
        record = {"w": self.net.map(batch["z"][index:index + 1].to(self.device), psi)[0].cpu().tolist()}
        if "z_mix" in batch:
            record["mix_w"] = self.net.map(batch["z_mix"][index:index + 1].to(self.device), psi)[0].cpu().tolist()
        return record

    def render(self, latents: np.ndarray, labels=None) -> np.ndarray:
        """N x D float latents (and, for conditional models, N labels by name or index) -> N x H x W x C uint8."""
        return self.draw(self.batch(latents, labels))

    @torch.inference_mode()
    def draw(self, batch: dict) -> np.ndarray:
        """Images from a batch of the family's inputs, N x H x W x C uint8: the one path every image takes. Out of
        device memory, it draws fewer at a time, and at one image it moves the model to the CPU."""
        count = len(next(iter(batch.values())))

        def draw(start, stop):
            inputs = {key: value[start:stop].to(self.device) for key, value in batch.items()}
            return to_uint8(self.contract.sample(self.net, inputs))

        try:
            parts = devices.in_parts(draw, count, RENDER_BATCH, self.on_message, "rendering")
        except torch.cuda.OutOfMemoryError:
            if self.device.type == "cpu":
                raise
            self.on_message(f"out of memory on the {self.device.type.upper()} even for one image: "
                            "this model now renders on the CPU (slower)")
            self.to_device("cpu")
            parts = devices.in_parts(draw, count, RENDER_BATCH, self.on_message, "rendering")
        shape = (0, self.output.height, self.output.width, self.output.channels)
        return np.concatenate(parts) if parts else np.zeros(shape, np.uint8)

    def to_device(self, device: str) -> None:
        self.device = torch.device(device)
        self.net.to(self.device)

    def encoder_inputs(self, images, labels=None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """What the encoder takes for uint8 images (and their labels, for a conditional model)."""
        if not self.can(Capability.ENCODER):
            raise ValueError(f"a {self.family} model has no encoder")
        x = to_unit(images, self.device)
        if self.inputs.num_classes and labels is None:
            raise ValueError(f"a {self.family} model encodes each image together with its label")
        indices = self.label_indices(labels, len(x))
        return x, None if indices is None else torch.tensor(indices, dtype=torch.long, device=self.device)

    @torch.inference_mode()
    def encode(self, images: np.ndarray, labels=None) -> np.ndarray:
        """N x H x W x C uint8 images at the model's size (and, for conditional models, their N labels by name or
        index) -> N x D latents (the posterior means)."""
        mu, _ = self.net.encode(*self.encoder_inputs(images, labels))
        return mu.cpu().numpy()

    @torch.inference_mode()
    def reconstruct(self, images: np.ndarray, labels=None) -> np.ndarray:
        """N x H x W x C uint8 images at the model's size -> what the model makes of them, the same shape."""
        return to_uint8(self.net.reconstruct(*self.encoder_inputs(images, labels)))

    @property
    def directions(self) -> tuple:
        """The directions an image-to-image model translates in ("a2b", and "b2a" when it goes both ways); () for
        models that draw pictures."""
        return self.contract.directions

    @torch.inference_mode()
    def translate(self, picture: np.ndarray, direction: str = "a2b", background=(255, 255, 255)) -> np.ndarray:
        """An H x W x 4 (or 3) uint8 picture of any size -> its translation, H x W x 4 RGBA. The picture is padded
        to the network's multiple and the result cropped back. A model without alpha translates the picture laid on
        `background`, and the result keeps the picture's own alpha."""
        from .dataset import composite

        check_direction(self, direction)
        if picture.shape[-1] == 3:
            picture = np.concatenate([picture, np.full(picture.shape[:2] + (1,), 255, np.uint8)], -1)
        height, width = picture.shape[:2]
        given = picture if self.output.channels == 4 else composite(picture, background)
        x = to_unit(np.ascontiguousarray(given[None]), self.device)
        multiple = self.net.multiple
        x = torch.nn.functional.pad(x, (0, -width % multiple, 0, -height % multiple), mode="replicate")
        made = to_uint8(self.contract.sample(self.net, {"image": x, "direction": direction})[..., :height, :width])[0]
        return made if made.shape[-1] == 4 else np.concatenate([made, picture[..., 3:]], -1)

    def set_sampling(self, temperature: float | None = None, top_k: int | None = None) -> None:
        """Temperature and top-k for models that draw codes (VQ-VAE + Transformer); other models ignore them."""
        if temperature is not None and not temperature > 0:
            raise ValueError(f"the temperature must be above 0, not {temperature}")
        if top_k is not None and top_k < 0:
            raise ValueError(f"top-k must be 0 (no limit) or more, not {top_k}")
        if not self.can(Capability.CODE_SAMPLING):
            return
        if temperature is not None:
            self.net.temperature = float(temperature)
        if top_k is not None:
            self.net.top_k = int(top_k)

    def sampling(self) -> dict:
        """The sampling settings an image needs to be made again: {} for models without any."""
        return {"temperature": self.net.temperature, "top_k": self.net.top_k} if self.can(Capability.CODE_SAMPLING) \
            else {}

    @property
    def codebook_size(self) -> int | None:
        """How many codes a model that draws codes chooses among (top-k's useful limit); None for other models."""
        return self.net.codebook_size if self.can(Capability.CODE_SAMPLING) else None

    def export(self, path: Path) -> Path:
        """One self-contained model file: EMA weights in safetensors, config and id in its header (model_file.py;
        `export_model` there also records where the model came from)."""
        from .model_file import write

        return write(self, Path(path))


def check_direction(model: Model, direction: str) -> None:
    """Refuse a direction the model does not translate in, saying what it does."""
    if direction not in model.directions:
        does = f"translates {' and '.join(model.directions)}" if model.directions else "draws pictures"
        raise ValueError(f"a {model.family} model {does}; it cannot translate {direction}")


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
    record, tensors = checkpoints.read(json_path)
    return _build(record, {k[4:]: v for k, v in tensors.items() if k.startswith("ema.")}, device)


def _build(record: dict, weights: dict, device: str) -> Model:
    try:
        family = record["family"]
        get_family(family)
        cfg = TrainConfig.from_dict(record["config"])
    except (KeyError, ValueError, TypeError) as e:
        raise FileRefused(f"the model's description is incomplete or unknown ({e})") from None
    return Model(family, cfg, weights, record.get("model_id", "unknown"), record.get("step", 0),
                 record.get("label_names"), device)
