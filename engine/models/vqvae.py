"""VQ-VAE with an autoregressive prior (van den Oord et al. 2017, "Neural Discrete Representation Learning").

One run, two stages (§3.2 of the paper): first the VQ-VAE (encoder, codebook, decoder) learns to reconstruct the
training images through a small grid of discrete codes; then, with the VQ-VAE frozen, a causal Transformer
(prior.py) learns the distribution of those code grids. A sample is a grid drawn from the prior, decoded.

The codebook (codebook.py) learns from exponential moving averages of the encoder outputs assigned to each code,
not from gradients, and re-seeds codes left unused for a while from current encoder outputs, drawn with the run's
generator so a resumed run restarts the same codes. How much of the codebook is in use is measured every step and
logged, and a collapsed codebook is reported to the user.

A latent is one standard-normal number per grid position: code t is drawn by inverse CDF with u_t = Phi(z_t), so a
seed, or a PNG's recorded latent, always gives the same image.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .base import Learner, adam, chunks, preset_width, unwrapped
from .codebook import Quantizer
from .family import Capability, Family, FamilyInfo, Inputs, InputKind, image_channels
from .prior import Prior, PriorConfig


@dataclass(frozen=True)
class VQSettings:
    """Everything that sizes and steers the two stages, derived from the run's TrainConfig by `settings`."""
    grid: int  # side of the code grid; the latent has grid * grid numbers, one per position
    hidden: int  # channels of the encoder and decoder
    code_dim: int  # length of a codebook vector (D in the paper)
    codebook_size: int  # number of codes (K in the paper)
    prior_width: int  # the Transformer's n_embd
    prior_layers: int  # the Transformer's blocks
    commitment: float = 0.25  # beta of the commitment loss; the paper uses 0.25 throughout (§4)
    codebook_decay: float = 0.99  # gamma of the codebook's moving averages (Appendix A.1)
    restart_after: int = 20  # steps a code may go unused before it is re-seeded from encoder outputs; 0 = never
    usage_window: int = 20  # codebook usage counts the codes used in this many recent steps
    collapse_below: float = 0.1  # usage under which the user is told the codebook collapsed
    vq_fraction: float = 0.6  # share of the run's steps that trains the VQ-VAE; the prior trains for the rest


def grid_side(latent_dim: int, size: int) -> int:
    """The code grid's side for a latent of `latent_dim` numbers; it must shrink `size` by a power of two."""
    side = math.isqrt(max(latent_dim, 0))
    factor = size // side if side else 0
    if side < 2 or side * side != latent_dim or factor < 2 or side * factor != size or factor & (factor - 1):
        choices = ", ".join(f"{(size // f) ** 2} ({size // f} x {size // f})" for f in (2, 4, 8, 16) if size // f >= 2)
        raise ValueError(f"a VQ-VAE's latent is its grid of codes, one number per position: for {size} px images "
                         f"the latent size must be one of {choices}, not {latent_dim}")
    return side


def settings(cfg) -> VQSettings:
    """The networks follow the run's width (which the preset sizes to the data and the device)."""
    hidden = min(256, max(32, 4 * cfg.width))
    return VQSettings(
        grid=grid_side(cfg.latent_dim, cfg.size), hidden=hidden, code_dim=min(64, hidden),
        codebook_size=cfg.codebook_size or min(512, max(64, 8 * cfg.width)),
        prior_width=64 * min(8, max(1, round(cfg.width / 8))),
        prior_layers=2 if cfg.width <= 8 else 4 if cfg.width <= 32 else 8)


def prior_config(s: VQSettings) -> PriorConfig:
    return PriorConfig(vocab_size=s.codebook_size, block_size=s.grid * s.grid, n_layer=s.prior_layers,
                       n_head=max(2, s.prior_width // 64), n_embd=s.prior_width)


# --- the VQ-VAE -------------------------------------------------------------------------------------------------

class Residual(nn.Module):
    """ReLU, 3x3 conv, ReLU, 1x1 conv, added to the input: the paper's residual block (§4.1)."""

    def __init__(self, channels: int):
        super().__init__()
        self.block = nn.Sequential(nn.ReLU(), nn.Conv2d(channels, channels // 2, 3, 1, 1), nn.ReLU(),
                                   nn.Conv2d(channels // 2, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


def encoder(s: VQSettings, size: int, image_channels: int) -> nn.Sequential:
    """Strided 4x4 convolutions down to the grid, two residual blocks, a 1x1 projection to code vectors (§4.1)."""
    downs = int(math.log2(size // s.grid))
    layers, c_in = [], image_channels
    for i in range(downs):
        # state size. c_in x (size / 2^i) -> c_out x (size / 2^(i+1))
        c_out = s.hidden if i == downs - 1 else s.hidden // 2
        layers += [nn.Conv2d(c_in, c_out, 4, 2, 1), nn.ReLU()]
        c_in = c_out
    # state size. hidden x grid x grid -> code_dim x grid x grid
    return nn.Sequential(*layers, nn.Conv2d(s.hidden, s.hidden, 3, 1, 1), Residual(s.hidden), Residual(s.hidden),
                         nn.ReLU(), nn.Conv2d(s.hidden, s.code_dim, 1))


def decoder(s: VQSettings, size: int, image_channels: int) -> nn.Sequential:
    """The encoder mirrored: code vectors -> residual blocks -> transposed convolutions up to the image."""
    ups = int(math.log2(size // s.grid))
    # state size. code_dim x grid x grid -> hidden x grid x grid
    layers = [nn.Conv2d(s.code_dim, s.hidden, 3, 1, 1), Residual(s.hidden), Residual(s.hidden), nn.ReLU()]
    c_in = s.hidden
    for i in range(ups):
        # state size. c_in x (grid * 2^i) -> c_out x (grid * 2^(i+1)); the last layer makes pixels
        last = i == ups - 1
        c_out = image_channels if last else s.hidden // 2
        layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1)] + ([] if last else [nn.ReLU()])
        c_in = c_out
    return nn.Sequential(*layers)


class VQVAE(nn.Module):
    def __init__(self, s: VQSettings, size: int, image_channels: int = 3):
        super().__init__()
        self.grid = s.grid
        self.encoder = encoder(s, size, image_channels)
        self.quantizer = Quantizer(s.codebook_size, s.code_dim, s.codebook_decay, s.restart_after, s.usage_window)
        self.decoder = decoder(s, size, image_channels)

    def forward(self, x: torch.Tensor):
        """Training pass: (reconstruction, encoder outputs, codes, commitment loss)."""
        z_e = self.encoder(x)  # N x D x G x G
        z_q, codes = self.quantizer(z_e)
        commitment = F.mse_loss(z_e.float(), z_q)  # ||z_e(x) - sg[e]||^2, the third term of equation 3
        z_q = z_e + (z_q - z_e).detach()  # straight-through estimator (§3.1): the decoder's gradient reaches z_e
        return self.decoder(z_q), z_e, codes, commitment

    def encode_codes(self, x: torch.Tensor) -> torch.Tensor:
        """N x 3 x S x S images -> N x G x G codes."""
        return self.quantizer(self.encoder(x))[1]

    def decode_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """N x G x G codes -> N x 3 x S x S images (not clamped)."""
        return self.decoder(self.quantizer.lookup(codes))


class VQSampler(nn.Module):
    """What everything after training renders with: the prior draws a code grid from the latent, the VQ-VAE
    decodes it. Temperature and top-k are plain attributes, not weights (engine.model.Model.set_sampling)."""

    def __init__(self, vqvae: VQVAE, prior: Prior, temperature: float = 1.0, top_k: int = 0):
        super().__init__()
        self.vqvae, self.prior = vqvae, prior
        self.temperature = temperature  # the prior's softmax temperature: below 1 safer, above 1 wilder
        self.top_k = top_k  # draw only among the k likeliest codes at each position; 0 = among all

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """N x (G G) standard-normal latents -> N x 3 x S x S images in [-1, 1]."""
        return self.decode_codes(self.draw_codes(z))

    def draw_codes(self, z: torch.Tensor) -> torch.Tensor:
        """N x (G G) standard-normal latents -> the N x G x G code grids the prior draws from them."""
        u = torch.special.ndtr(z.float())  # u_t = Phi(z_t), uniform on [0, 1]
        codes = self.prior.sample(u, self.temperature, self.top_k)  # N x (G G), raster order
        return codes.view(-1, self.vqvae.grid, self.vqvae.grid)

    def decode_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """N x G x G code grids -> N x 3 x S x S images in [-1, 1] (what an ONNX file of this family computes)."""
        return self.vqvae.decode_codes(codes).clamp(-1, 1)

    @property
    def code_grid(self) -> int:
        return self.vqvae.grid

    @property
    def codebook_size(self) -> int:
        return self.prior.config.vocab_size

    def encode(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> tuple[torch.Tensor, None]:
        """Images -> (the latent that draws exactly their codes, no spread). Each code's u_t is the middle of its
        interval of the prior's cumulative distribution at the sampler's temperature and top-k, given the codes
        before it, and z_t = Phi^-1(u_t) (the inverse of `forward`'s draw). A code that top-k rules out is
        replaced by the likeliest one."""
        codes = self.vqvae.encode_codes(x).flatten(1)  # N x T, raster order
        logits = self.prior(self.prior.inputs(codes)).float() / self.temperature  # N x T x K, teacher-forced
        if self.top_k:
            kth = torch.topk(logits, min(self.top_k, logits.shape[-1])).values[..., -1:]
            logits = logits.masked_fill(logits < kth, -math.inf)
        probs = F.softmax(logits, dim=-1)
        allowed = probs.gather(2, codes[..., None]).squeeze(2) > 0
        codes = torch.where(allowed, codes, probs.argmax(-1))
        cdf = probs.cumsum(-1)
        high = cdf.gather(2, codes[..., None]).squeeze(2)
        low = high - probs.gather(2, codes[..., None]).squeeze(2)
        u = ((low + high) / 2 / cdf[..., -1]).clamp(1e-6, 1 - 1e-6)
        return torch.special.ndtri(u), None

    def reconstruct(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """N x 3 x S x S images in [-1, 1] -> their reconstructions through the codebook."""
        return self.vqvae.decode_codes(self.vqvae.encode_codes(x)).clamp(-1, 1)


@torch.no_grad()
def reconstruction_error(vqvae: VQVAE, x: torch.Tensor, batch: int = 256) -> float:
    """Mean squared error per pixel of the reconstructions of x (N x 3 x S x S in [-1, 1])."""
    total = 0.0
    for part in x.split(batch):
        total += F.mse_loss(vqvae.decode_codes(vqvae.encode_codes(part)), part, reduction="sum").item()
    return total / x.numel()


# --- training -----------------------------------------------------------------------------------------------------

class VQLearner(Learner):
    """Stage 1 trains `nets["vqvae"]`, stage 2 trains `nets["prior"]` on the frozen VQ-VAE's code grids.

    The stage is kept in `extra_state`, with the step count: once the prior has started, the run stays in stage 2
    even if it is later extended (the boundary would otherwise move with the new step total).

    The sampler (`ema`) holds a copy of the live VQ-VAE, refreshed every step, not an average of it: the codebook
    is already an average of the live encoder's outputs, and averaging the encoder and decoder weights apart from
    it would pair codes with a decoder they were never trained with. Only the prior is averaged (a short EMA, over
    its last ~100 steps).
    """

    ema_decay = 0.99

    def __init__(self, cfg, device, distributed=False):
        super().__init__(cfg, device, distributed)
        self.settings = settings(cfg)
        vqvae = VQVAE(self.settings, cfg.size, image_channels(cfg))
        prior = Prior(prior_config(self.settings))
        self.nets = {"vqvae": self.wrap(vqvae), "prior": self.wrap(prior)}
        self.opts = {"vqvae": adam(vqvae.parameters(), device, cfg.lr),
                     "prior": adam(prior.parameters(), device, cfg.lr, (0.9, 0.95))}
        self.ema = VQSampler(self.make_ema(self.nets["vqvae"]), self.make_ema(self.nets["prior"]))
        self.steps = 0  # steps taken in this run, across resumes
        self.stage = 1
        self.collapsed = False  # told the user the codebook collapsed, and not yet that it recovered
        self.notes = []

    @property
    def quantizer(self) -> Quantizer:
        return unwrapped(self.nets["vqvae"]).quantizer

    def vq_steps(self) -> int:
        return max(1, round(self.settings.vq_fraction * self.cfg.steps))

    def step(self, batch, gen, amp_dtype, shard):
        real = batch["image"]
        second = self.steps >= self.vq_steps() if self.cfg.steps else self.progress >= self.settings.vq_fraction
        if self.stage == 1 and second:
            self._start_prior()
        if self.cfg.flip:
            flip = torch.rand(real.shape[0], 1, 1, 1, generator=gen, device=real.device) < 0.5
            real = torch.where(flip, real.flip(3), real)
        losses = self._vq_step(real, gen, amp_dtype) if self.stage == 1 else self._prior_step(real, amp_dtype)
        self.steps += 1
        return losses

    def _vq_step(self, real, gen, amp_dtype):
        vqvae, s = self.nets["vqvae"], self.settings
        self.opts["vqvae"].zero_grad(set_to_none=True)
        recon_total = torch.zeros((), device=self.device)
        commit_total = torch.zeros((), device=self.device)
        outputs, assigned = [], []
        for x in chunks(real, self.micro_batches):
            with self.autocast(amp_dtype):
                recon, z_e, codes, commitment = vqvae(x)
                rec = F.mse_loss(recon.float(), x.float())
            self.backward(rec + s.commitment * commitment)  # equation 3 without its codebook term (Appendix A.1)
            recon_total += rec.detach() / self.micro_batches
            commit_total += commitment.detach() / self.micro_batches
            outputs.append(z_e.detach())
            assigned.append(codes)
        self.opt_step("vqvae")
        usage = self.quantizer.update(torch.cat(outputs), torch.cat(assigned), self.steps, gen, self.distributed)
        with torch.no_grad():
            for e, p in zip(self.ema.vqvae.state_dict().values(), unwrapped(vqvae).state_dict().values()):
                e.copy_(p)
        self._watch_usage(usage["usage"])
        return {"recon": recon_total, "commitment": commit_total, **usage}

    def _prior_step(self, real, amp_dtype):
        prior = self.nets["prior"]
        with torch.no_grad(), self.autocast(amp_dtype):
            codes = unwrapped(self.nets["vqvae"]).encode_codes(real).flatten(1)  # N x (G G), raster order
        self.opts["prior"].zero_grad(set_to_none=True)
        total = torch.zeros((), device=self.device)
        for c in chunks(codes, self.micro_batches):
            with self.autocast(amp_dtype):
                logits = prior(unwrapped(prior).inputs(c))  # B x T x K, through DDP's wrapper so ranks agree
                loss = F.cross_entropy(logits.float().flatten(0, 1), c.flatten())
            self.backward(loss)
            total += loss.detach() / self.micro_batches
        self.opt_step("prior")
        with torch.no_grad():
            for e, p in zip(self.ema.prior.parameters(), unwrapped(prior).parameters()):
                e.lerp_(p.detach(), 1 - self.ema_decay)
        return {"prior_ce": total}

    def _start_prior(self) -> None:
        usage = float(self.quantizer.usage(self.steps - 1))
        K = self.settings.codebook_size
        self.stage = 2
        self.notes.append((f"stage 2 of 2: the VQ-VAE is frozen with {round(usage * K)} of {K} codes in use; "
                           "the Transformer prior now learns its code grids", "info"))

    def _watch_usage(self, usage: torch.Tensor) -> None:
        """Every usage window (one host sync), tell the user when the codebook collapses or recovers."""
        s, done = self.settings, self.steps + 1
        if done % s.usage_window:
            return
        fraction = float(usage)
        used, K = round(fraction * s.codebook_size), s.codebook_size
        if fraction < s.collapse_below and not self.collapsed:
            self.collapsed = True
            self.notes.append((f"the codebook collapsed: only {used} of {K} codes ({fraction:.0%}) were used in the "
                               f"last {s.usage_window} steps, so samples will lack variety; a lower learning rate "
                               "or a narrower model (fewer codes) may help", "warning"))
        elif fraction >= s.collapse_below and self.collapsed:
            self.collapsed = False
            self.notes.append((f"the codebook recovered: {used} of {K} codes in use", "info"))

    @torch.no_grad()
    def quality(self, real_holdout, labels=None):
        """Stage 1: held-out reconstruction error (mean squared error per pixel). Stage 2, where that stands still:
        the prior's cross-entropy on the held-out images' code grids (nats per code)."""
        if self.stage == 1:
            return reconstruction_error(self.ema.vqvae, real_holdout)
        total, count = 0.0, 0
        for part in real_holdout.split(256):
            codes = self.ema.vqvae.encode_codes(part).flatten(1)
            logits = self.ema.prior(self.ema.prior.inputs(codes))
            total += F.cross_entropy(logits.float().flatten(0, 1), codes.flatten(), reduction="sum").item()
            count += codes.numel()
        return total / count

    def measure(self) -> str:
        return "held-out reconstruction error" if self.stage == 1 else "held-out prior cross-entropy"

    def can_sample(self) -> bool:
        return self.stage == 2

    def extra_state(self) -> dict:
        return {"steps": self.steps, "stage": self.stage, "collapsed": self.collapsed}

    def load_extra_state(self, state: dict) -> None:
        self.steps = state.get("steps", 0)
        self.stage = state.get("stage", 1)
        self.collapsed = state.get("collapsed", False)


class VQVAEPrior(Family):
    info = FamilyInfo(
        name="vqvae",
        title="VQ-VAE + Transformer",
        description="Images become small grids of learned codes, and a Transformer learns to write new grids. "
                    "Crisp reconstructions; samples from a temperature and top-k you choose.",
        capabilities=frozenset({Capability.ENCODER, Capability.CODE_SAMPLING}),
    )
    Learner = VQLearner
    options = frozenset({"codebook_size", "temperature", "top_k"})
    judged_on_holdout = True  # the held-out images stay unseen, so their reconstruction error is honest
    draws_grey = False  # its pictures also come from decode_codes (code grids, ONNX), not through forward alone

    @classmethod
    def inputs(cls, cfg) -> Inputs:
        """One standard-normal number per grid position, each picking its code (see the module docstring)."""
        return Inputs(InputKind.CODES, cfg.latent_dim)

    @staticmethod
    def preset(n_images: int, size: int, device_kind: str) -> dict:
        """A grid of size/4 a side up to 16 x 16 (the Transformer's sequence stays short), networks sized like
        the VAE's. No early stopping: the held-out measure (reconstruction error) says nothing of the prior, so it
        stands still through stage 2 and would end the run there."""
        side = min(size // 4, 16)
        return {"latent_dim": side * side, "width": preset_width(n_images, size, device_kind),
                "batch": 64 if device_kind != "cpu" else 32, "lr": 1e-3, "early_stop_patience": 0}

    @staticmethod
    def build_sampler(cfg) -> nn.Module:
        s = settings(cfg)
        return VQSampler(VQVAE(s, cfg.size, image_channels(cfg)), Prior(prior_config(s)), cfg.temperature, cfg.top_k)
