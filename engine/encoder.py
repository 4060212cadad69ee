"""A learned inverse of a generator (iGAN, Zhu et al. 2016, §3.2): a small convolutional network trained on the
generator's own samples to give back the latent that drew them. It places thousands of images in a GAN's latent
space at once (the atlas), where optimising each one (engine/projection.py) would take seconds per image.

It is trained from scratch for a model in a thousand small steps on freshly drawn (z, G(z)) pairs with the squared
error of the latent, and kept beside the checkpoint (`encoder-step-XXXXXX.safetensors`), keyed by the model's id, so
a model is learned once. For the demo's 64 px Projected FastGAN that is 9 minutes on two CPU cores, half drawing
samples and half learning. Batches drawn from a pool of samples made once learned 1.8-1.9x faster but worse (latent
error per dimension 0.97 and 1.24 for pools of 4,096 and 2,048 samples, against 0.80 fresh; one seed, 512 held-out
samples), so the samples stay fresh.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import files
from .aspect import first_grid
from .control import Control
from .events import Progress
from .pixels import to_unit

STEPS = 1000
BATCH = 64
LR = 2e-3
WIDTH = 32


class InverseEncoder(nn.Module):
    """Image (C x H x W in [-1, 1]) -> latent: strided convolutions down to 4 x 4 (the first grid of the model's
    aspect), then a linear layer."""

    def __init__(self, size: int, latent_dim: int, channels: int = 3, width: int = WIDTH, grid=(4, 4)):
        super().__init__()
        layers, c, side = [], channels, size
        while side > 4:
            out = min(width * (2 ** len(layers)), 256)
            layers += [nn.Conv2d(c, out, 4, 2, 1), nn.GroupNorm(min(8, out), out), nn.LeakyReLU(0.2)]
            c, side = out, side // 2
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(c * grid[0] * grid[1], latent_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x).flatten(1))


def train_encoder(model, steps: int = STEPS, seed: int = 0, on_event=None, control: Control | None = None):
    """An InverseEncoder for `model` (an engine Model whose sampler draws from latents), trained on its samples."""
    control = control or Control()
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    encoder = InverseEncoder(model.size, model.latent_dim, model.output.channels,
                                  grid=first_grid(model.aspect)).to(model.device)
    opt = torch.optim.Adam(encoder.parameters(), lr=LR, betas=(0.5, 0.99))
    for step in range(steps):
        control.check()
        batch = model.inputs.random(BATCH, gen, "cpu")
        with torch.no_grad():
            images = model.contract.sample(model.net, {k: v.to(model.device) for k, v in batch.items()})
        lr = LR * 0.5 * (1 + np.cos(np.pi * step / steps))  # cosine: the last steps settle
        for group in opt.param_groups:
            group["lr"] = lr
        loss = F.mse_loss(encoder(images), batch["z"].to(model.device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if on_event is not None and step % 50 == 0:
            on_event(Progress("learning an encoder for the generator", step, steps))
    return encoder.eval()


def encoder_for(model, checkpoint: Path | None, on_event=None, control: Control | None = None) -> InverseEncoder:
    """The model's encoder: stored beside `checkpoint` when learned already for this model, else learned now and
    stored there (a model without a checkpoint learns it every time)."""
    path = None if checkpoint is None else checkpoint.parent / f"encoder-{checkpoint.stem}.safetensors"
    if path is not None and path.is_file():
        try:
            tensors, meta = files.load_tensors(path)
            if meta.get("model_id") == model.id:
                encoder = InverseEncoder(model.size, model.latent_dim, model.output.channels,
                                  grid=first_grid(model.aspect)).to(model.device)
                encoder.load_state_dict({k: v.to(model.device) for k, v in tensors.items()})
                return encoder.eval()
        except (files.FileRefused, RuntimeError):
            pass  # another shape or a broken file: learned again below
    encoder = train_encoder(model, on_event=on_event, control=control)
    if path is not None:
        files.save_tensors(path, {k: v.cpu().contiguous() for k, v in encoder.state_dict().items()},
                           meta={"kind": "encoder", "model_id": model.id})
    return encoder


@torch.inference_mode()
def encode_with(encoder: InverseEncoder, images: np.ndarray, device) -> np.ndarray:
    """N x S x S x C uint8 images -> N x D latents."""
    out = [encoder(to_unit(torch.from_numpy(np.ascontiguousarray(images[i:i + 256])).to(device))).cpu()
           for i in range(0, len(images), 256)]
    return torch.cat(out).numpy() if out else np.zeros((0, encoder.head.out_features), np.float32)
