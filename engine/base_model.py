"""The base models the app ships (resources/base/*.safetensors, model files): a new run whose project one of them
fits starts from it instead of from random weights, so a few hundred pictures begin from a model that already
draws clean outlines and flat colours, and a short run goes further.

A base fits a new run when it is of the run's family (the default for the size when the artist picked none), at
the run's size and aspect, with the project's transparency, and the run asks for no other width or latent size: it
is then fine-tuned exactly as `train --from BASE` would (engine/transfer.py). `train --scratch`, or
TrainConfig.base = False, trains from random weights. A resumed run is never touched. What each base was trained
on, and how it compares with training from scratch, is in resources/base/README.md.
"""
from __future__ import annotations

from pathlib import Path

from . import files
from .dataset import chosen_aspect, uses_alpha
from .models import Milestone
from .train_config import project_family

BASE_DIR = Path(__file__).resolve().parents[1] / "resources" / "base"

# What each base reached fine-tuned on pictures it never saw, by images seen (bench/quality.py, numbers and commands
# in resources/base/README.md): the Train room's "Expected" line for a run that starts from it
CURVES = {
    "clip-art-64": ("999 Noto emoji at 64 px", (
        Milestone(9_200, 194, "rough faces, cards and blobs in many colours, the base's clip-art shapes still "
                              "showing, patterned fill"),
        Milestone(45_900, 110, "faces with eyes and mouths, people with dark hair, hands and bold shapes in many "
                               "colours, clean transparent backgrounds; a few clip-art shapes linger"))),
    "clip-art-on-white-64": ("the bundled demo's 244 clip-art pictures at 64 px", (
        Milestone(16_000, 170, "red, pink, green and biscuit-coloured blobs in a few kinds, hatched fill"),
        Milestone(32_000, 88, "red apples and balloons, yellow lemons, green sprigs, pink flowers and biscuits, "
                              "rough edges"),
        Milestone(84_600, 94, "apples, balloons, lemons, biscuits with chips, smiling faces, sprigs and flowers, "
                              "clean outlines; some hatched fill"))),
}


def fitting(project, cfg) -> Path | None:
    """The base model a new run of `cfg` on `project` starts from, or None (scratch: none fits, the run already
    fine-tunes another model, or the artist asked for scratch)."""
    base_dir = BASE_DIR
    if not cfg.base or cfg.from_model or project.dataset.layout != "images" or not base_dir.is_dir():
        return None
    size = cfg.size or project.dataset.size
    wanted = {"family": cfg.family or project_family(project, size), "size": size,
              "aspect": cfg.aspect or chosen_aspect(project),
              "alpha": uses_alpha(project) if cfg.alpha is None else cfg.alpha}
    for path in sorted(base_dir.glob("*.safetensors")):
        try:
            meta = files.read_meta(path)
        except files.FileRefused:  # a damaged install: the run trains from scratch rather than not at all
            continue
        shape = meta.get("config", {})
        offered = {"family": meta.get("family"), "size": shape.get("size"), "aspect": shape.get("aspect") or "1:1",
                   "alpha": bool(shape.get("alpha"))}
        if offered == wanted and all(getattr(cfg, name) in (0, shape.get(name)) for name in ("width", "latent_dim")) \
                and not shape.get("num_classes"):
            return path
    return None


def name_fitting(project, cfg) -> str:
    """The name of the base model a new run of `cfg` would start from, "" for none (the Train room asks which
    curve to quote)."""
    path = fitting(project, cfg)
    return path.stem if path is not None else ""


def is_base(path: str | Path) -> bool:
    """Whether `path` is one of the shipped base models (the Trainer says so rather than "fine-tuning FILE")."""
    return Path(path).resolve().parent == BASE_DIR
