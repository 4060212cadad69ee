"""What a training run is asked to do: `TrainConfig`, and the family's preset filled in for the project, the
resolution and the device (`suggest_config`, `complete_config`, `settle`, `for_project`). Plain data; nothing
here trains.

Every field has a trailing comment saying why (nanoGPT's GPTConfig). A config is written as JSON beside every
checkpoint with its `schema_version`, and older files read with today's defaults (`TrainConfig.from_dict`).
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

from . import devices
from . import aspect
from .dataset import LAYOUT_WORDS, chosen_aspect, dataset_stats, label_count, uses_alpha
from .models import FAMILIES, Capability, default_family, get_family, trains_on
from .project import Project

SCHEMA_VERSION = 1
# fields whose 0 means "off", not "the preset's", when complete_config fills a config
_ZERO_IS_A_CHOICE = {"minutes", "seed", "r1", "ada_target", "kid_every", "early_stop_patience", "num_classes",
                     "codebook_size", "top_k", "path_length", "style_mixing"}
COMMON = {"family", "size", "steps", "minutes", "batch", "lr", "latent_dim", "width", "num_classes", "flip", "alpha",
          "grey", "aspect", "checkpoint_every", "checkpoint_minutes", "keep_checkpoints", "sample_every", "log_every",
          "device", "precision", "compile", "seed", "lr_decay", "early_stop_patience", "kid_every", "from_model",
          "base", "schema_version"}
# every other field is a family's option (Family.options), read only by the families that declare it


def flag(field: str) -> str:
    """The CLI flag that sets a TrainConfig field."""
    return "--" + field.replace("_", "-")


@dataclass
class TrainConfig:
    family: str = ""  # a name from engine.models.FAMILIES; "" = the default for the size (models.default_family)
    size: int = 0  # training resolution; 0 = the project's dataset size
    steps: int = 0  # stop after this many steps in total; 0 = the preset's
    minutes: float = 0.0  # minutes of training time, across resumes; without steps, the run's budget; 0 = none
    batch: int = 0  # images per step over all devices; 0 = the preset's
    lr: float = 0.0  # Adam learning rate; 0 = the preset's
    latent_dim: int = 0  # size of the latent vector; 0 = the preset's (sized to the data)
    width: int = 0  # channel multiplier of the networks; 0 = the preset's (sized to data and device)
    beta: float = 0.0  # VAEs: weight of the KL term; 0 = the family's (1, or 4 for the conditional VAE)
    num_classes: int = 0  # conditional families: number of labels (sub-folders); set from the dataset
    flip: bool = False  # horizontal flips as augmentation (off: many artworks are not mirror-symmetric)
    alpha: bool | None = None  # learn and make transparency (4 channels); None = the project's setting
    grey: bool | None = None  # draw in black and white, the colours tied (models.family.tie_colours); None = the
    #                          project's: whether every picture is (configs saved before this field: colour)
    aspect: str = ""  # width:height of what the model draws (engine/aspect.py); "" = the project's
    checkpoint_every: int = 500  # steps between checkpoints
    checkpoint_minutes: float = 5.0  # and at least this often in wall time
    keep_checkpoints: int = 3  # newest checkpoints kept, besides the best one
    sample_every: int = 100  # steps between progress grids (and explorer snapshots)
    log_every: int = 10  # steps between loss reports
    device: str = "auto"  # auto, cpu, cuda, mps
    precision: str = "auto"  # auto (bf16 where a timing at the start shows it pays), fp32, bf16, fp16
    compile: str = "auto"  # torch.compile the networks: "on", or "off" = "auto" (devices.compiles says why); its build
    #                        time is spent from the budget
    seed: int = 0  # fixes initial weights, batches, noise and augmentation
    loss: str = ""  # GANs that take it (fastgan): "bce", "hinge" or "wgan-gp"; "" = the family's preset
    spectral_norm: bool | None = None  # spectral normalisation of the discriminator; None = the family's preset
    r1: float | None = None  # R1 penalty weight gamma on real images (Mescheder et al. 2018); 0 = off; None = the
    #                          family's (cgan 3, fastgan off); stylegan: 0 or None = a heuristic, 0.0002 px² /
    #                          batch, as StyleGAN2-ADA (its R1 is always on)
    ada_target: float | None = None  # GANs with ADA: the target for E[sign(D(real))] (Karras et al. 2020); 0: fixed
    #                                  DiffAugment; None = the preset's (0.6; DCGAN below 1,000 images: 0)
    minibatch_std: bool | None = None  # cgan: a minibatch standard-deviation channel in the discriminator (ProGAN
    #                                    §3), measured among the images of each label; None = the family's (on)
    lr_decay: str = ""  # "none", or "cosine": down to LR_FLOOR of lr at the last step; "" = cosine for a time budget
    early_stop_patience: int | None = None  # checkpoints without a better measure before stopping; 0 = never;
    #                                         None = 5 for families judged on held-out images (VAEs), else 0
    kid_every: int | None = None  # steps between ImageNet-feature KIDs; 0 = never; None = 2,000 on a CPU, else 5,000
    from_model: str = ""  # train --from: the model this run was fine-tuned from; "" = trained from scratch
    base: bool = True  # a new run without from_model starts from the shipped base model that fits (base_model.py)
    codebook_size: int = 0  # vqvae: codes in the codebook (K); 0 = sized to the width
    temperature: float = 1.0  # vqvae: the prior's sampling temperature its samples start with (lower is safer)
    top_k: int = 0  # vqvae: samples draw each code among the k likeliest only; 0 = among all
    path_length: float = 0.0  # stylegan: weight of the path-length regulariser (2 in StyleGAN2); 0 = off
    style_mixing: float = 0.9  # stylegan: how often training mixes the styles of two points (StyleGAN §3.1)
    schema_version: int = SCHEMA_VERSION

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        """Read a saved config; fields added since it was written take their defaults, or for a family's option what
        the family did before the option existed (`Family.before`), and options its family does not read are dropped
        (configs written before the family contract gave every family a VAE's beta)."""
        known = {f.name for f in fields(cls)}
        data = {"grey": False, **data}  # runs saved before the field drew in colour
        family = FAMILIES.get(data.get("family", ""))
        before = {} if family is None else {k: v for k, v in family.before.items() if k not in data}
        return cls(**before, **{k: v for k, v in data.items()
                                if k in known and (family is None or k in COMMON or k in family.options)})


def project_family(project: Project, size: int | None = None) -> str:
    """The family a new run on this project takes when the artist names none (models.default_family)."""
    return default_family(size or project.dataset.size, project.dataset.layout, label_count(dataset_stats(project)))


def suggest_config(project: Project, family: str | None = None, device: str = "auto", size: int | None = None,
                   **overrides) -> TrainConfig:
    """A complete config for this project: the family's preset sized to the dataset, resolution and device."""
    size = size or project.dataset.size
    family = family or project_family(project, size)
    kind = devices.pick_device(device).type
    n_images = dataset_stats(project)["count"]
    preset = get_family(family).preset(n_images, size, kind)
    steps = 20000 if kind == "cuda" else 3000
    cfg = TrainConfig(family=family, size=size, steps=steps, device=device, alpha=uses_alpha(project),
                      grey=project_grey(project, family),
                      aspect=project_aspect(project, family), **preset)
    return settle(replace(cfg, **{k: v for k, v in overrides.items() if v is not None}))


def project_grey(project: Project, family: str) -> bool:
    """Whether a run of `family` draws in black and white: every picture of the project is, and the family can
    (Family.draws_grey)."""
    return get_family(family).draws_grey and dataset_stats(project)["grey"]


def project_aspect(project: Project, family: str) -> str:
    """The aspect a run of `family` takes from the project: the project's, or a square for families that draw
    squares only."""
    chosen = chosen_aspect(project)
    return chosen if Capability.ANY_ASPECT in get_family(family).info.capabilities else aspect.SQUARE


def complete_config(project: Project, cfg: TrainConfig) -> TrainConfig:
    """Fill every 0, "" or None ("the preset's") in cfg from suggest_config. Minutes without steps make time the
    budget: the steps stay 0 (the speed decides them), early stopping stays off unless asked for, and the learning
    rate follows a cosine to its floor unless told otherwise (a whole schedule in the time given: on the digits, 4
    minutes of the conditional GAN reached a Fréchet distance of 32 instead of 46, bench/digits.py)."""
    suggested = suggest_config(project, cfg.family or None, cfg.device, cfg.size or None)
    budget = {"steps": 0, "early_stop_patience": cfg.early_stop_patience or 0, "lr_decay": cfg.lr_decay or "cosine"} \
        if cfg.minutes and not cfg.steps else {}
    filled = {f.name: getattr(suggested, f.name) for f in fields(cfg)
              if getattr(cfg, f.name) is None or (_unset(getattr(cfg, f.name)) and f.name not in _ZERO_IS_A_CHOICE)}
    return replace(cfg, **{**filled, **budget})


def for_project(project: Project, cfg: TrainConfig) -> tuple[TrainConfig, str | None]:
    """The config a run of `cfg` on this project trains with: the family, transparency, black and white and
    shape the project implies where cfg leaves them, settled. Refuses a family that cannot learn from the
    project's kind of images. The second value, when not None, tells the artist their pictures' shape is not
    the one this family draws."""
    if not cfg.family:
        cfg = replace(cfg, family=project_family(project, cfg.size))
    if cfg.alpha is None:
        cfg = replace(cfg, alpha=uses_alpha(project))
    if cfg.grey is None:
        cfg = replace(cfg, grey=project_grey(project, cfg.family))
    chosen, possible = chosen_aspect(project), project_aspect(project, cfg.family)
    cfg = replace(cfg, aspect=cfg.aspect or possible)
    note = None
    if cfg.aspect != chosen and possible == aspect.SQUARE:
        note = (f"{get_family(cfg.family).info.title} draws squares only: this run trains on square crops of your "
                f"{chosen} pictures")
    cfg = settle(cfg)
    check_layout(get_family(cfg.family), project.dataset.layout)
    return cfg, note


def check_layout(family, layout: str) -> None:
    """Refuse, in a line that says what to do, a family that cannot learn from the project's kind of images."""
    if trains_on(family, layout):
        return
    if family.layout == "images":
        raise ValueError(f"{family.info.title} makes new pictures from single images, and this project holds "
                         f"{LAYOUT_WORDS[layout]}: train {default_family(0, layout)} on it instead")
    raise ValueError(f"{family.info.title} learns from {LAYOUT_WORDS[family.layout]}, and this project holds "
                     f"{LAYOUT_WORDS[layout]}: make a project with `ingest --paired A_DIR B_DIR`, "
                     "`--paired-side-by-side DIR` or `--unpaired A_DIR B_DIR`")


def settle(cfg: TrainConfig) -> TrainConfig:
    """Give the choices left to the family or the device (None, "") their values, so config.json records them;
    refuse an option the family does not read."""
    family = get_family(cfg.family)
    kind = devices.pick_device(cfg.device).type
    default = TrainConfig()
    for field in fields(TrainConfig):
        name = field.name
        if name in COMMON or name in family.options:
            continue
        value = getattr(cfg, name)
        if value != getattr(default, name) and not _unset(value):
            takers = [f.info.title for f in FAMILIES.values() if name in f.options]
            raise ValueError(f"{family.info.title} does not take {flag(name)}; {', '.join(takers)} "
                             f"{'does' if len(takers) == 1 else 'do'}")
    if cfg.aspect and aspect.check(cfg.aspect) != aspect.SQUARE \
            and Capability.ANY_ASPECT not in family.info.capabilities:
        takers = [f.info.title for f in FAMILIES.values() if Capability.ANY_ASPECT in f.info.capabilities]
        raise ValueError(f"{family.info.title} draws square pictures only; {', '.join(takers)} draw "
                         f"{cfg.aspect} ones")
    if cfg.lr_decay not in ("", "none", "cosine"):
        raise ValueError(f"unknown learning-rate decay {cfg.lr_decay!r}; choose none or cosine")
    left = {name: value for name, value in family.choices.items() if _left_to_family(name, getattr(cfg, name))}
    return replace(
        cfg, **left,
        early_stop_patience=(5 if family.judged_on_holdout else 0)
        if cfg.early_stop_patience is None else cfg.early_stop_patience,
        kid_every=(2000 if kind == "cpu" else 5000) if cfg.kid_every is None else cfg.kid_every,
        lr_decay=cfg.lr_decay or "none")  # a run of steps may be extended: a decay to its first end would jump


def _left_to_family(name: str, value) -> bool:
    """Whether a field's value asks for the family's choice: None, or also 0 and "" where those are no choice."""
    return value is None if name in _ZERO_IS_A_CHOICE else _unset(value)


def _unset(value) -> bool:
    return value is None or value == "" or (type(value) in (int, float) and value == 0)
