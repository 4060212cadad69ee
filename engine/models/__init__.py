"""The registry of model families. The CLI, the Trainer and the app list whatever this holds; a family's contract
is in family.py."""
from __future__ import annotations

from .family import Capability, Family, FamilyInfo, InputKind, Inputs, Look, Milestone, Output, part
from .cgan import ConditionalGAN
from .cvae import ConditionalVAE
from .cyclegan import CycleGAN
from .dcgan import DCGAN
from .fastgan import FastGAN
from .pix2pix import Pix2Pix
from .projected import ProjectedFastGAN
from .stylegan import StyleGAN
from .vae import ConvVAE
from .vqvae import VQVAEPrior

FAMILIES = {family.info.name: family for family in (DCGAN, ConvVAE, ConditionalGAN, ConditionalVAE,
                                                    VQVAEPrior, FastGAN, ProjectedFastGAN, StyleGAN, Pix2Pix,
                                                    CycleGAN)}
DEFAULT_FAMILY = "dcgan"


def default_family(size: int, layout: str = "images", labels: int = 0) -> str:
    """For single images: Projected FastGAN from 64 px up (the lowest KID per CPU-minute on clip art and emoji,
    bench/quality.py). Below, where Projected FastGAN learns slowly (it upsamples small pictures for its feature
    network): the conditional GAN for images sorted into `labels` >= 2 sub-folders (4 minutes on the digits: every
    figure of bench/digits.py better than DCGAN's, and the artist picks the label), else DCGAN. For pairs pix2pix, for
    two collections CycleGAN."""
    if layout != "images":  # the first family made for the layout (a pair is also two collections)
        return next(name for name, family in FAMILIES.items() if family.layout == layout)
    if size >= 64:
        return "projected"
    return "cgan" if labels >= 2 else DEFAULT_FAMILY


def trains_on(family: type[Family], layout: str) -> bool:
    """Whether a family learns from a project of this layout: generators from single images, pix2pix from pairs,
    CycleGAN from two collections (pairs are two collections too)."""
    if family.layout == "unpaired":
        return layout in ("paired", "unpaired")
    return family.layout == layout


__all__ = ["Capability", "Family", "FamilyInfo", "InputKind", "Inputs", "Look", "Milestone", "Output", "part",
           "FAMILIES", "default_family", "get_family", "families", "recommended_families", "family_options",
           "trains_on", "family_layout"]


def get_family(name: str) -> type[Family]:
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown model family {name!r}; known: {', '.join(FAMILIES)}") from None


def families() -> list[FamilyInfo]:
    return [family.info for family in FAMILIES.values()]


def family_layout(name: str) -> str:
    """What a family trains on: "images", "paired" or "unpaired" (engine/dataset.py's layouts)."""
    return get_family(name).layout


def family_options(name: str) -> frozenset:
    """The TrainConfig fields a family reads beyond the common ones (each has a CLI flag and a Train-room editor)."""
    return get_family(name).options


def recommended_families(label_count: int, layout: str = "images") -> list[str]:
    """Family names in the order a preset offers them, those that train on the project's layout only: with two or
    more labels the conditional families come first (the labels are worth using); with fewer they are left out,
    since they cannot train without labels. An image-to-image project's default comes first."""
    fitting = [name for name, family in FAMILIES.items() if trains_on(family, layout)]
    if layout != "images":
        return sorted(fitting, key=lambda name: name != default_family(0, layout))
    conditional = [name for name in fitting if Capability.LABELS in FAMILIES[name].info.capabilities]
    others = [name for name in fitting if name not in conditional]
    return conditional + others if label_count >= 2 else others
