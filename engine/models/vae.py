"""A convolutional VAE (Kingma & Welling 2014): encoder to a diagonal Gaussian, decoder back to pixels.

The loss is the negative ELBO: a Gaussian reconstruction term plus the KL divergence of q(z|x) from N(0, I)
(Appendix B of the paper gives the closed form used in `kl`). Samples decode z ~ N(0, I).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import Learner, adam, channels, chunks, levels, preset_width, unwrapped
from .family import Capability, Family, FamilyInfo, first_grid, image_channels


def _block_down(c_in, c_out):
    return [nn.Conv2d(c_in, c_out, 4, 2, 1), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2, True)]


def _block_up(c_in, c_out):
    return [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, 1, 1),
            nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2, True)]


class VAE(nn.Module):
    def __init__(self, latent_dim: int, width: int, size: int, image_channels: int = 3, grid=(4, 4)):
        super().__init__()
        self.latent_dim, self.size, self.grid = latent_dim, size, tuple(grid)
        n = levels(size)
        self.c0 = channels(width, 0, n)
        down, c_in = [], image_channels
        for level in reversed(range(n)):
            # state size. c_in x 2^(level+3) -> c_out x 2^(level+2)
            down += _block_down(c_in, channels(width, level, n))
            c_in = channels(width, level, n)
        self.encoder = nn.Sequential(*down, nn.Flatten())
        self.features = self.c0 * grid[0] * grid[1]  # the encoder's c0 x 4 x 4 (the first grid), flattened
        self.to_stats = nn.Linear(self.features, 2 * latent_dim)  # -> (mu, log variance)
        self.from_latent = nn.Linear(latent_dim, self.features)
        up = []
        for level in range(1, n + 1):
            up += _block_up(channels(width, level - 1, n), channels(width, level, n))
        self.decoder = nn.Sequential(*up, nn.Conv2d(channels(width, n, n), image_channels, 3, 1, 1), nn.Tanh())

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        return self.posterior(self.encoder(x))

    def posterior(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoder features -> (mu, log variance) of q(z|x); conditional subclasses append their label first."""
        mu, logvar = self.to_stats(features).chunk(2, dim=1)
        return mu, logvar.clamp(-12, 8)

    def reparameterize(self, mu, logvar, gen: torch.Generator | None = None):
        eps = torch.randn(mu.shape, generator=gen, device=mu.device, dtype=mu.dtype)
        return mu + eps * (0.5 * logvar).exp()

    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.pixels(self.from_latent(z))

    def pixels(self, h: torch.Tensor) -> torch.Tensor:
        """from_latent's output (c0 x the first grid) -> image; conditional subclasses build h from the latent and a
        label."""
        return self.decoder(F.leaky_relu(h, 0.2).view(h.shape[0], self.c0, *self.grid))

    def reconstruct(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images through the posterior mean and back."""
        return self.decode(self.encode(x, labels)[0], labels)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Sampling face shared with the GANs: latent (and a label, if conditional) in, image in [-1, 1] out."""
        return self.decode(z, labels)


def kl(mu, logvar):
    """KL(N(mu, sigma) || N(0, I)) per image, Appendix B: -1/2 sum(1 + log sigma^2 - mu^2 - sigma^2)."""
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)


def negative_elbo(vae, x, gen, beta: float, labels: torch.Tensor | None = None):
    mu, logvar = vae.encode(x, labels)
    recon = vae.decode(vae.reparameterize(mu, logvar, gen), labels)
    # Gaussian likelihood with sigma^2 = 1/2 in [-1, 1] units: the squared error summed over pixels
    rec = F.mse_loss(recon.float(), x.float(), reduction="none").flatten(1).sum(1)
    return rec.mean(), kl(mu.float(), logvar.float()).mean() * beta


class VAELearner(Learner):
    ema_decay = 0.99  # the VAE needs no long average; a short one smooths the samples a little

    def __init__(self, cfg, device, distributed=False):
        super().__init__(cfg, device, distributed)
        vae = self.network(cfg)
        self.nets = {"vae": self.wrap(vae)}
        self.opts = {"vae": adam(vae.parameters(), device, cfg.lr)}
        self.ema = self.make_ema(vae)

    @staticmethod
    def network(cfg) -> VAE:
        return ConvVAE.sampler(cfg)

    def step(self, batch, gen, amp_dtype, shard):
        # encode and decode are not forward, so DistributedDataParallel's wrapper never sees them: call the network
        # itself and average the gradients over the ranks by hand
        vae = unwrapped(self.nets["vae"])
        real, labels = batch["image"], batch.get("label")
        self.opts["vae"].zero_grad(set_to_none=True)
        rec_total = torch.zeros((), device=self.device)
        kl_total = torch.zeros((), device=self.device)
        for x, y in zip(chunks(real, self.micro_batches), chunks(labels, self.micro_batches)):
            if self.cfg.flip:
                x = torch.where(torch.rand(x.shape[0], 1, 1, 1, generator=gen, device=x.device) < 0.5, x.flip(3), x)
            with self.autocast(amp_dtype):
                rec, kld = negative_elbo(vae, x, gen, self.cfg.beta, y)
            self.backward(rec + kld)
            rec_total += rec.detach() / self.micro_batches
            kl_total += kld.detach() / self.micro_batches
        if self.distributed:
            _average_gradients(vae)
        self.opt_step("vae")
        self.update_ema(vae)
        return {"recon": rec_total, "kl": kl_total}

    @torch.no_grad()
    def quality(self, real_holdout, labels=None):
        """Held-out reconstruction error (mean squared error per pixel, from the posterior mean)."""
        return reconstruction_error(self.ema, real_holdout, labels)


def _average_gradients(net: nn.Module) -> None:
    import torch.distributed as dist

    for p in net.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad.div_(dist.get_world_size())


@torch.no_grad()
def reconstruction_error(vae: VAE, x: torch.Tensor, labels: torch.Tensor | None = None, batch: int = 256) -> float:
    total = 0.0
    parts = x.split(batch)
    for part, y in zip(parts, [None] * len(parts) if labels is None else labels.split(batch)):
        mu, _ = vae.encode(part, y)
        total += F.mse_loss(vae.decode(mu, y), part, reduction="sum").item()
    return total / x.numel()


class ConvVAE(Family):
    info = FamilyInfo(
        name="vae",
        title="VAE",
        description="A variational autoencoder: smooth, blurrier images, and it can encode your pictures back "
                    "into its latent space.",
        capabilities=frozenset({Capability.CONTINUOUS_LATENT, Capability.ENCODER, Capability.ANY_ASPECT}),
    )
    Learner = VAELearner
    options = frozenset({"beta"})
    choices = {"beta": 1.0}
    judged_on_holdout = True  # the held-out split stays unseen, so its reconstruction error is honest

    @staticmethod
    def preset(n_images: int, size: int, device_kind: str) -> dict:
        return {"latent_dim": 32 if size <= 32 else 64, "width": preset_width(n_images, size, device_kind),
                "batch": 64 if device_kind != "cpu" else 32, "lr": 1e-3}

    @staticmethod
    def build_sampler(cfg) -> nn.Module:
        return VAE(cfg.latent_dim, cfg.width, cfg.size, image_channels(cfg), first_grid(cfg))
