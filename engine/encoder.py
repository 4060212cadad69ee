"""A learned inverse of a generator (iGAN, Zhu et al. 2016, §3.2): a small convolutional network trained on the
generator's own samples to give back the latent that drew them. It places thousands of images in a GAN's latent
space at once (the atlas), where optimising each one (engine/projection.py) would take seconds per image.

It is trained from scratch for a model in a thousand small steps on freshly drawn (z, G(z)) pairs with the squared
error of the latent, and kept beside the checkpoint (`encoder-step-XXXXXX.safetensors`), keyed by the model's id, so
a model is learned once. For the demo's 64 px Projected FastGAN that is 5.4 minutes on two CPU cores, about four
fifths of it drawing samples. From HALF_FROM px up the encoder reads the samples averaged down to half size: on the
demo's model that learned 1.58x faster (322.7 against 510.5 s) and about as well (latent error per dimension 0.807
against 0.797, the regenerated image's mean error 0.081 against 0.080, 512 held-out samples; seed 1: 0.808 and 0.081
both ways), where half the steps at full size lost (0.871, 0.094 in 254.0 s). Batches drawn from a pool of samples
made once learned 1.8-1.9x faster but worse (latent error 0.97 and 1.24 for pools of 4,096 and 2,048 samples,
against 0.80 fresh), so the samples stay fresh.
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
HALF_FROM = 64  # models this size and up are read at half size (the module's docstring says why)


class InverseEncoder(nn.Module):
    """Image (C x H x W in [-1, 1]) -> latent: from HALF_FROM px up first averaged down to half size, then strided
    convolutions down to 4 x 4 (the first grid of the model's aspect), then a linear layer."""

    def __init__(self, size: int, latent_dim: int, channels: int = 3, width: int = WIDTH, grid=(4, 4)):
        super().__init__()
        self.shrink = 2 if size >= HALF_FROM else 1
        layers, c, side = [], channels, size // self.shrink
        while side > 4:
            out = min(width * (2 ** len(layers)), 256)
            layers += [nn.Conv2d(c, out, 4, 2, 1), nn.GroupNorm(min(8, out), out), nn.LeakyReLU(0.2)]
            c, side = out, side // 2
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(c * grid[0] * grid[1], latent_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.shrink > 1:
            x = F.avg_pool2d(x, self.shrink)
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
