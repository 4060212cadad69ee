"""Fine-tuning (`train --from MODEL`): a new run that starts from another model of the same family and shape,
the strongest lever when an artist has only a few hundred images.

`adopt_source` makes the run's config take the source's family and shape; `start_from` loads the source's weights
into a fresh learner. The Trainer calls both; nothing here trains.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

from . import checkpoints
from .models.base import unwrapped


def adopt_source(cfg):
    """cfg (a TrainConfig) for fine-tuning from `cfg.from_model`: the source's family and architecture (size,
    latent_dim, width), which must match whatever cfg already asks for. Raises FileRefused (unreadable source) or
    ValueError."""
    from .model import open_model  # model.py imports training, which imports this module

    source = open_model(cfg.from_model)
    name = Path(cfg.from_model).name
    if cfg.family and cfg.family != source.family:
        raise ValueError(f"{name} holds a {source.family} model: fine-tuning continues a model of the same family, "
                         f"not {cfg.family} (leave --model out, or train from scratch)")
    src = source.cfg
    described = f"{name} is a {src.size} px {source.family} (latent_dim {src.latent_dim}, width {src.width})"
    for field, flag in (("size", "--size"), ("latent_dim", "--latent-dim"), ("width", "--width")):
        asked = getattr(cfg, field)
        if asked and asked != getattr(src, field):
            raise ValueError(f"{described}; this run asks for {field.replace('_', ' ')} {asked}. Fine-tuning keeps "
                             f"the model's shape: leave {flag} out (or set it to {getattr(src, field)}), "
                             f"or train from scratch without --from")
    return replace(cfg, family=source.family, size=src.size, latent_dim=src.latent_dim, width=src.width,
                   # the source's channels and aspect, whatever the project's
                   num_classes=src.num_classes, alpha=bool(src.alpha), aspect=src.aspect or "1:1",
                   spectral_norm=src.spectral_norm if cfg.spectral_norm is None else cfg.spectral_norm,
                   minibatch_std=src.minibatch_std if cfg.minibatch_std is None else cfg.minibatch_std,
                   from_model=str(Path(cfg.from_model).resolve()))


def start_from(learner, path: str, device: torch.device) -> tuple[int, list[str]]:
    """Load the source into `learner`: the sampled network (and its EMA) from the source's EMA weights; the other
    networks (a discriminator) from the source's checkpoint when it is one and they fit. Returns the source's step
    and the names of the networks that start from scratch."""
    from .model import open_model

    source = open_model(path, device=str(device))
    ema = {k: v.to(device) for k, v in source.net.state_dict().items()}
    learner.ema.load_state_dict(ema)
    checkpoint = checkpoints.meant_by(path)  # a checkpoint also holds the networks a model file leaves out
    others = checkpoints.read(checkpoint, device)[1] if checkpoint is not None else {}
    fresh = []
    for name, net in learner.nets.items():
        module = unwrapped(net)
        if module.state_dict().keys() == ema.keys():
            module.load_state_dict(ema)
            continue
        saved = {k[len(f"net.{name}."):]: v for k, v in others.items() if k.startswith(f"net.{name}.")}
        if not saved:  # a model file: a network the sampler is made of (a VQ-VAE's two) is in the EMA under its name
            saved = {k[len(name) + 1:]: v for k, v in ema.items() if k.startswith(f"{name}.")}
        mine = module.state_dict()
        if saved.keys() == mine.keys() and all(saved[k].shape == mine[k].shape for k in mine):
            module.load_state_dict(saved)
        else:
            fresh.append(name)
    return source.step, fresh
