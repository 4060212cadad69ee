"""The contract every model family signs: what it takes, what it makes, what it can do.

The Trainer, the CLI, `generate`, the render thread and the explorer read a family through this contract alone;
none of them branches on a family's name. A new family is one module that subclasses `Family`, plus one line in
engine/models/__init__.py's registry.

A family declares
- `info`: its name, title, description and `Capability` set (what the explorer and the CLI may offer);
- `preset(n_images, size, device_kind, minutes)`: networks and batch sized to the data, the device and the budget;
- `options`: the TrainConfig fields it reads beyond the common ones, each settable from the CLI, and `choices`:
  the values those take when the artist leaves them to the family (and `before`: what an option added later
  meant for runs saved before it, so old checkpoints still resume);
- `judged_on_holdout`: whether its checkpoints are judged on held-out images (VAEs) or by KID on samples (GANs);
- `draws_grey`: whether, for a project of black-and-white pictures, its sampler's colours may be tied into grey;
- `output(cfg)`: channels, height and width of what it makes; never a single size, so RGBA and non-square models
  are one setting away;
- `inputs(cfg)`: what a sampler takes (an `Inputs`): how a batch of inputs is drawn for progress grids, KID and
  the explorer, how the sampler is called on it, and how a PNG records one;
- `layout` and `directions`: image-to-image families train on a project of pairs or of two collections and
  translate in one or both directions (translation.py); `progress_inputs`/`progress_images`: what the progress
  grid shows (samples; input | output | target for translation);
- `Learner` (networks, optimizers, one step on a batch dict) and `build_sampler(cfg)` (the network that makes
  images from inputs, for everything after training).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .. import aspect
from ..sampling import grid_label, latents_for_seed


class Capability(str, enum.Enum):
    """What a model can do; the explorer shows only the controls that apply, the CLI only the flags that do.
    A capability is a promise about the sampler too: ENCODER's has `encode(x, labels)` -> (the point, its log
    variance or None) and `reconstruct(x, labels)`; LAYER_FEATURES's `early_features(z)`; CODE_SAMPLING's
    `temperature`, `top_k` and `codebook_size`; STYLE_MIXING's `style_ranges()` -> {"coarse": (start, stop), ...}
    and `map(z, psi)` -> w."""
    CONTINUOUS_LATENT = "continuous_latent"  # sliders, slerp, variations
    ENCODER = "encoder"  # images encode back to latents (reconstructions, KL-ranked directions, mixtures)
    LABELS = "takes_labels"  # conditional on a label chosen at sampling time
    TRUNCATION = "truncation"  # a truncation slider makes sense (GAN noise)
    LAYER_FEATURES = "layer_features"  # an early layer's activations, where GANSpace finds directions
    CODE_SAMPLING = "code_sampling"  # draws codes with a temperature and a top-k (a Transformer prior)
    STYLE_MIXING = "mixes_styles"  # per-layer styles that can come from two points
    ANY_ASPECT = "any_aspect"  # draws wide and tall pictures (2:1, 1:2, 4:3, 3:4) as well as squares


class InputKind(str, enum.Enum):
    LATENT = "latent"  # z ~ N(0, I)
    LATENT_AND_LABEL = "latent_and_label"  # z and a class index
    STYLES = "styles"  # per-layer latents with truncation toward a learned mean (style-based generators)
    IMAGE = "image"  # an image to translate (image-to-image)
    CODES = "codes"  # a grid of discrete codes


@dataclass(frozen=True)
class FamilyInfo:
    name: str
    title: str
    description: str
    capabilities: frozenset  # of Capability


@dataclass(frozen=True)
class Output:
    """What a model makes: channels x height x width images in [-1, 1]."""
    channels: int
    height: int
    width: int


@dataclass(frozen=True, eq=False)
class Look:
    """One image's input as the explorer composes it: a latent (already truncated, for families that truncate z),
    its label, and what a style-based family adds: ψ, a second point whose styles `mix_layers` (start, stop) take
    its place, and a num_styles x latent_dim offset added to the styles in W (the directions' sliders)."""
    latent: np.ndarray
    label: int | None = None
    psi: float = 1.0
    mix_latent: np.ndarray | None = None
    mix_layers: tuple = (0, 0)
    w_shift: np.ndarray | None = None

    def record(self) -> dict:
        """The look as a PNG or bookmark records it (the fields `Inputs.record` writes for its batch row)."""
        record = {"latent": [float(v) for v in np.asarray(self.latent).reshape(-1)]}
        if self.psi != 1.0:
            record["truncation"] = float(self.psi)
        if self.mix_latent is not None:
            record["mix_latent"] = [float(v) for v in np.asarray(self.mix_latent).reshape(-1)]
            record["mix_layers"] = [int(v) for v in self.mix_layers]
        if self.w_shift is not None:
            record["w_shift"] = np.asarray(self.w_shift, np.float32).tolist()
        return record

    @classmethod
    def from_record(cls, record: dict, label: int | None = None, in_w: bool = False) -> "Look":
        """The look a PNG or bookmark recorded; `label`: its index in the open model. Only style-based families
        (`in_w`) keep ψ, a mix and a move in W apart: the others' recorded latent is already truncated."""
        def array(key):
            return None if not in_w or record.get(key) is None else np.asarray(record[key], np.float32)

        psi = record.get("truncation")
        return cls(np.asarray(record["latent"], np.float32).reshape(-1), label,
                   float(psi) if in_w and psi is not None else 1.0, array("mix_latent"),
                   tuple(record.get("mix_layers", (0, 0))), array("w_shift"))


@dataclass(frozen=True)
class Inputs:
    """What a sampler takes, and how batches of it are drawn, fed and recorded. Batches are dicts of tensors:
    {"z": N x latent_dim} and, for conditional models, {"label": N}; style-based models may add {"psi": N} (the
    truncation, applied in W), a second point's {"z_mix": N x latent_dim} with the {"mix": N x 2} range of
    styles it gives, and {"w_shift": N x num_styles x latent_dim}, an offset added to each style in W. A seed
    always draws the same latent (engine.sampling.latents_for_seed), so a PNG that records its seed can be made
    again anywhere."""
    kind: InputKind
    latent_dim: int
    num_classes: int = 0
    num_styles: int = 0  # style-based models: how many styles (per-layer copies of w) a point has

    def for_seeds(self, seeds, device, truncation: float = 1.0, labels=None) -> dict:
        """One input per seed; labels given, or every label in turn (seed modulo the number of labels). Truncation
        scales z, or for style-based models pulls w toward its mean (ψ)."""
        in_w = self.kind == InputKind.STYLES
        z = np.concatenate([latents_for_seed(s, self.latent_dim, 1, 1.0 if in_w else truncation) for s in seeds])
        if labels is None and self.num_classes:
            labels = [s % self.num_classes for s in seeds]
        batch = self.batch(z, labels, device)
        if in_w and truncation != 1.0:
            batch["psi"] = torch.full((len(z),), float(truncation), device=device)
        return batch

    def grid(self, seed: int, rows: int, columns: int, device) -> dict:
        """A progress grid: `rows * columns` latents of one seed; a conditional model shows one label per row."""
        count = rows * columns
        labels = [grid_label(i, columns, self.num_classes) for i in range(count)] if self.num_classes else None
        return self.batch(latents_for_seed(seed, self.latent_dim, count), labels, device)

    def random(self, count: int, gen: torch.Generator, device) -> dict:
        """`count` inputs from a torch generator (KID): latents, and every label in turn."""
        z = torch.randn(count, self.latent_dim, generator=gen, device=device)
        labels = torch.arange(count, device=device) % self.num_classes if self.num_classes else None
        return self.batch(z, labels, device)

    def batch(self, latents, labels, device) -> dict:
        batch = {"z": torch.as_tensor(np.asarray(latents, np.float32) if not torch.is_tensor(latents) else latents,
                                      device=device).reshape(-1, self.latent_dim)}
        if self.num_classes:
            labels = [0] * len(batch["z"]) if labels is None else labels
            batch["label"] = torch.as_tensor(labels, dtype=torch.long, device=device).reshape(-1)
        return batch

    def of_looks(self, looks, device) -> dict:
        """A batch of explorer looks. Families without styles take the latent and label; style-based ones also take
        ψ, a second point's styles and an offset in W, row by row (a row without them gets the neutral values)."""
        labels = [look.label or 0 for look in looks] if self.num_classes else None
        batch = self.batch(np.stack([np.asarray(look.latent, np.float32).reshape(-1) for look in looks]), labels,
                           device)
        if self.kind != InputKind.STYLES:
            return batch
        if any(look.psi != 1.0 for look in looks):
            batch["psi"] = torch.tensor([float(look.psi) for look in looks], device=device)
        if any(look.mix_latent is not None for look in looks):
            batch["z_mix"] = torch.as_tensor(np.stack([look.latent if look.mix_latent is None else look.mix_latent
                                                       for look in looks]).astype(np.float32), device=device)
            batch["mix"] = torch.tensor([look.mix_layers if look.mix_latent is not None else (0, 0)
                                         for look in looks], device=device)
        if any(look.w_shift is not None for look in looks):
            zero = np.zeros((self.num_styles, self.latent_dim), np.float32)
            batch["w_shift"] = torch.as_tensor(np.stack([zero if look.w_shift is None else look.w_shift
                                                         for look in looks]).astype(np.float32), device=device)
        return batch

    def record(self, batch: dict, index: int) -> dict:
        """What a PNG carries so the exact input can be given again: the latent (and the label's index)."""
        record = {"latent": [float(v) for v in batch["z"][index].detach().float().cpu().reshape(-1)]}
        if "label" in batch:
            record["label_index"] = int(batch["label"][index])
        if "psi" in batch:
            record["truncation"] = float(batch["psi"][index])
        if "z_mix" in batch:
            record["mix_latent"] = [float(v) for v in batch["z_mix"][index].detach().float().cpu().reshape(-1)]
            record["mix_layers"] = [int(v) for v in batch["mix"][index]]
        if "w_shift" in batch:
            record["w_shift"] = batch["w_shift"][index].detach().float().cpu().tolist()
        return record


def first_grid(cfg) -> tuple[int, int]:
    """The generator's first feature map and the discriminator's last, in rows x columns: 4 x 4 for squares, 2 x 4
    for 2:1 and so on (engine/aspect.py)."""
    return aspect.first_grid(getattr(cfg, "aspect", "") or aspect.SQUARE)


def tie_colours(sampler: nn.Module) -> nn.Module:
    """Make a sampler draw in black and white: its red, green and blue become their mean (alpha is left alone).
    For a project whose pictures are all grey: its samples then carry no coloured speckle, and its discriminator
    cannot tell a fake by its colour, only by its shapes (the digits at 4 minutes, seeds 0-3: Fréchet 13.0 ± 2.3
    against 17.9 ± 4.9 untied, better on every seed; bench/digits.py). A forward hook, so the weights and their file
    keep their shapes."""
    def grey(module, args, images):
        colour = images[:, :3].mean(1, keepdim=True).expand(-1, 3, -1, -1)
        return torch.cat([colour, images[:, 3:]], 1)

    sampler.register_forward_hook(grey)
    return sampler


def image_channels(cfg) -> int:
    """Colour, and alpha when the project's images use transparency (colour premultiplied: engine/pixels.py)."""
    return 4 if getattr(cfg, "alpha", False) else 3


def part(batch: dict, start: int, stop: int) -> dict:
    """Rows start:stop of every tensor in a batch."""
    return {key: value[start:stop] for key, value in batch.items()}


@dataclass(frozen=True)
class Milestone:
    """A point of a quality curve bench/quality.py measured (engine/expectations.py reads them)."""
    images: int  # images the run had seen (steps x batch): the same on a fast GPU and on a CPU
    kid: float  # KID x 10^3 in ImageNet features of 512 samples against the real set (mean of the seeds)
    look: str  # what the samples looked like, written while looking at the bench's grid of that checkpoint


class Family:
    """The defaults every family starts from; a family overrides what differs (see the module docstring)."""
    info: FamilyInfo
    Learner: type
    options: frozenset = frozenset()  # TrainConfig fields read beyond the common ones (each has a CLI flag)
    choices: dict = {}  # values of those fields when left to the family ("" or None in TrainConfig)
    before: dict = {}  # values of options added later, for configs saved before them (TrainConfig.from_dict)
    judged_on_holdout: bool = False  # checkpoints judged on held-out images (else by KID on samples)
    layout: str = "images"  # what it trains on: single images, or (image-to-image) "paired" or "unpaired" ones
    draws_grey: bool = True  # for a project of grey pictures, its sampler's colours are tied (tie_colours)
    directions: tuple = ()  # image-to-image: the directions it translates in ("a2b", "b2a")
    curves: dict = {}  # size -> Milestones measured on engine/expectations.py's set, by images seen

    @staticmethod
    def preset(n_images: int, size: int, device_kind: str) -> dict:
        raise NotImplementedError

    @staticmethod
    def build_sampler(cfg) -> nn.Module:
        raise NotImplementedError

    @classmethod
    def sampler(cls, cfg) -> nn.Module:
        """build_sampler's network, drawing in black and white for a grey project (tie_colours)."""
        net = cls.build_sampler(cfg)
        return tie_colours(net) if getattr(cfg, "grey", False) and cls.draws_grey else net

    @classmethod
    def output(cls, cfg) -> Output:
        return Output(image_channels(cfg), *aspect.shape(cfg.size, getattr(cfg, "aspect", "") or aspect.SQUARE))

    @classmethod
    def inputs(cls, cfg) -> Inputs:
        conditional = Capability.LABELS in cls.info.capabilities
        return Inputs(InputKind.LATENT_AND_LABEL if conditional else InputKind.LATENT, cfg.latent_dim,
                      cfg.num_classes if conditional else 0)

    @staticmethod
    def sample(sampler: nn.Module, batch: dict) -> torch.Tensor:
        """Images in [-1, 1] from a batch of inputs."""
        return sampler(batch["z"], batch.get("label"))

    @classmethod
    def progress_inputs(cls, cfg, data, seed: int, rows: int, columns: int, device) -> dict:
        """The fixed inputs of the progress grid (`data`: the run's training_data.TrainingData)."""
        return cls.inputs(cfg).grid(seed, rows, columns, device)

    @classmethod
    def progress_images(cls, sampler: nn.Module, batch: dict) -> torch.Tensor:
        """What the progress grid shows for a batch of its inputs: the samples."""
        return cls.sample(sampler, batch)
