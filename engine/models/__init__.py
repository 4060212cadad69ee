"""The registry of model families. The CLI, the Trainer and the app list whatever this holds; a family's contract
is in family.py."""
from __future__ import annotations

from .family import Capability, Family, FamilyInfo, InputKind, Inputs, Look, Output, part
from .cgan import ConditionalGAN
from .cvae import ConditionalVAE
from .dcgan import DCGAN
from .fastgan import FastGAN
from .stylegan import StyleGAN
from .vae import ConvVAE
from .vqvae import VQVAEPrior

FAMILIES = {family.info.name: family for family in (DCGAN, ConvVAE, ConditionalGAN, ConditionalVAE,
                                                    VQVAEPrior, FastGAN, StyleGAN)}
DEFAULT_FAMILY = "dcgan"


def default_family(size: int) -> str:
    """FastGAN from 64 px up (made for small sets, stable); DCGAN below, where it is as good and quicker."""
    return "fastgan" if size >= 64 else DEFAULT_FAMILY


__all__ = ["Capability", "Family", "FamilyInfo", "InputKind", "Inputs", "Output", "part", "FAMILIES", "default_family",
           "get_family", "families", "recommended_families", "family_options"]


def get_family(name: str) -> type[Family]:
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown model family {name!r}; known: {', '.join(FAMILIES)}") from None


def families() -> list[FamilyInfo]:
    return [family.info for family in FAMILIES.values()]


def family_options(name: str) -> frozenset:
    """The TrainConfig fields a family reads beyond the common ones (each has a CLI flag and a Train-room editor)."""
    return get_family(name).options


def recommended_families(label_count: int) -> list[str]:
    """Family names in the order a preset offers them: with two or more labels the conditional families come first
    (the labels are worth using); with fewer they are left out, since they cannot train without labels."""
    conditional = [name for name, family in FAMILIES.items() if Capability.LABELS in family.info.capabilities]
    others = [name for name in FAMILIES if name not in conditional]
    return conditional + others if label_count >= 2 else others
