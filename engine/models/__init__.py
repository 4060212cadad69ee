"""The registry of model families. The CLI, the Trainer and the app list whatever this holds."""
from __future__ import annotations

from .base import FamilyInfo
from .dcgan import DCGAN
from .vae import ConvVAE

FAMILIES = {family.info.name: family for family in (DCGAN, ConvVAE)}
DEFAULT_FAMILY = "dcgan"


def get_family(name: str):
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown model family {name!r}; known: {', '.join(FAMILIES)}") from None


def families() -> list[FamilyInfo]:
    return [family.info for family in FAMILIES.values()]
