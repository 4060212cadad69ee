"""StyleGAN2-lite (Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN"), sized for
small sets and modest devices.

Generator: a mapping network turns z into w (§2 of StyleGAN, Karras et al. 2019); every layer of the synthesis
network takes its own copy of w, its "style", through a modulated and demodulated convolution (StyleGAN2 §2.2,
eq. 1-3), plus per-layer noise; images are summed from a toRGB at every resolution (the skip generator, §4.1).
Discriminator: residual, with a minibatch standard deviation layer (ProGAN §3). Both use equalized learning rates
(ProGAN §4.1); the mapping network learns 100x slower. Training: the non-saturating loss, lazy R1 (§3.1), style
mixing regularisation (StyleGAN §3.1), an optional path-length regulariser (§3.2), the project's differentiable
augmentation with an ADA-style strength, and an EMA generator.

What a point is, and why: a point is a z (from a seed, like every family's) and ψ, the truncation toward the mean
of w (StyleGAN §3.2 and appendix B), which this family applies in W; scaling z, as the other families' truncation
does, would do nothing here since the mapping normalises z. Noise is drawn afresh while training and fixed at
generation (buffers of the sampler), so a point always renders the same image. Style mixing takes a range of the
styles from a second point: coarse (4-8 px), middle (16-32 px) or fine (64 px and up); below 64 px the styles are
split in thirds instead.

What differs from the paper: fewer mapping layers (4, not 8), narrower networks, bilinear up-sampling before the
convolution rather than a transposed convolution with a blur filter, and lazy R1 every 4 steps (as every GAN here).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..augment import diff_augment
from ..distributed import share
from .adversarial import ADA_TARGET, AdaptiveAugment, GANLearner, lazy_r1
from .base import MinibatchSpread, channels, chunks, levels, unwrapped
from .family import Capability, Family, FamilyInfo, InputKind, Inputs, first_grid, image_channels

MAPPING_LAYERS = 4
MAPPING_LR = 0.01  # the mapping network's learning-rate multiplier (StyleGAN §C)
W_AVG_DECAY = 0.995  # the running mean of w that truncation pulls toward
PL_INTERVAL = 4  # lazy path-length regularisation
PL_DECAY = 0.01  # the path-length target's moving average


def _lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2) * math.sqrt(2)  # the gain keeps the activations' scale (StyleGAN2's bias_act)


class EqualLinear(nn.Module):
    """A linear layer whose weights are scaled at run time by 1/sqrt(fan_in) (equalized learning rate)."""

    def __init__(self, c_in: int, c_out: int, bias: float = 0.0, lr_mul: float = 1.0, activate: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in) / lr_mul)
        self.bias = nn.Parameter(torch.full((c_out,), float(bias)))
        self.scale, self.lr_mul, self.activate = lr_mul / math.sqrt(c_in), lr_mul, activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)
        return _lrelu(x) if self.activate else x


class EqualConv(nn.Module):
    def __init__(self, c_in: int, c_out: int, kernel: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(c_out))
        self.scale = 1 / math.sqrt(c_in * kernel * kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.weight.shape[-1] // 2)


class ModulatedConv(nn.Module):
    """Eq. 1-3: the style scales the weights' input channels, demodulation rescales each output to unit variance.
    Written as scale-convolve-rescale (StyleGAN2-ADA's unfused path), which equals the per-sample weights and needs
    no grouped convolution."""

    def __init__(self, c_in: int, c_out: int, kernel: int, w_dim: int, demodulate: bool = True, up: bool = False):
        super().__init__()
        self.affine = EqualLinear(w_dim, c_in, bias=1.0)  # styles start at 1: the convolution as initialised
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel, kernel))
        self.scale = 1 / math.sqrt(c_in * kernel * kernel)
        self.demodulate, self.up = demodulate, up

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w)  # N x c_in
        weight = self.weight * self.scale
        if self.up:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        x = F.conv2d(x * styles[:, :, None, None], weight, padding=weight.shape[-1] // 2)
        if self.demodulate:  # eq. 3: 1 / sqrt(sum over inputs and taps of (w' s)^2)
            d = (weight[None] * styles[:, None, :, None, None]).square().sum(dim=(2, 3, 4)).add(1e-8).rsqrt()
            x = x * d[:, :, None, None]
        return x


class StyledLayer(nn.Module):
    """Modulated convolution, noise (a learned per-layer strength, zero at first), bias, activation."""

    def __init__(self, c_in: int, c_out: int, w_dim: int, shape: tuple[int, int], up: bool = False):
        super().__init__()
        self.conv = ModulatedConv(c_in, c_out, 3, w_dim, up=up)
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.bias = nn.Parameter(torch.zeros(c_out))
        self.register_buffer("fixed_noise", torch.randn(1, 1, *shape))  # the noise every generation uses
        self.shape = tuple(shape)  # rows x columns of this layer's output

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        x = self.conv(x, w)
        x = x + self.noise_strength * (self.fixed_noise if noise is None else noise)
        return _lrelu(x + self.bias[None, :, None, None])


class ToRGB(nn.Module):
    def __init__(self, c_in: int, w_dim: int, image_channels: int):
        super().__init__()
        self.conv = ModulatedConv(c_in, image_channels, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(image_channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.conv(x, w) + self.bias[None, :, None, None]


class Generator(nn.Module):
    """z (and ψ, and a second point's z with the range of styles it gives) -> images in [-1, 1].

    Styles, in order: at 4 x 4 one convolution and its toRGB; at each larger side an up-sampling convolution, a
    convolution and a toRGB. `style_sides` gives each style's side, from which the coarse, middle and fine ranges
    follow."""

    def __init__(self, latent_dim: int, width: int, size: int, image_channels: int = 3, grid=(4, 4)):
        super().__init__()
        self.latent_dim, self.size = latent_dim, size
        n = levels(size)
        c = [channels(width, level, n) for level in range(n + 1)]
        self.mapping = nn.Sequential(*[EqualLinear(latent_dim, latent_dim, lr_mul=MAPPING_LR, activate=True)
                                       for _ in range(MAPPING_LAYERS)])
        self.register_buffer("w_avg", torch.zeros(latent_dim))
        self.const = nn.Parameter(torch.randn(1, c[0], *grid))  # the first grid: 4 x 4, or 2 x 4 for 2:1
        self.layers = nn.ModuleList([StyledLayer(c[0], c[0], latent_dim, grid)])
        self.to_rgb = nn.ModuleList([ToRGB(c[0], latent_dim, image_channels)])
        sides = [4, 4]
        for level in range(1, n + 1):
            side = 4 * 2 ** level  # the long side
            shape = (grid[0] * 2 ** level, grid[1] * 2 ** level)
            # state size. c[level - 1] x side/2 -> c[level] x side
            self.layers.extend([StyledLayer(c[level - 1], c[level], latent_dim, shape, up=True),
                                StyledLayer(c[level], c[level], latent_dim, shape)])
            self.to_rgb.append(ToRGB(c[level], latent_dim, image_channels))
            sides += [side] * 3
        self.style_sides = tuple(sides)

    @property
    def num_styles(self) -> int:
        return len(self.style_sides)

    def style_ranges(self) -> dict[str, tuple[int, int]]:
        """Which styles are coarse, middle and fine: 4-8 px, 16-32 px and 64 px up; in thirds below 64 px."""
        if self.size < 64:
            third = self.num_styles / 3
            bounds = [0, round(third), round(2 * third), self.num_styles]
        else:
            first_middle = self.style_sides.index(16)
            first_fine = self.style_sides.index(64)
            bounds = [0, first_middle, first_fine, self.num_styles]
        return {name: (bounds[i], bounds[i + 1]) for i, name in enumerate(("coarse", "middle", "fine"))}

    def map(self, z: torch.Tensor, psi: torch.Tensor | None = None) -> torch.Tensor:
        """N x latent_dim z -> N x latent_dim w, pulled toward the mean of w by ψ (1: not at all, 0: the mean)."""
        z = z * (z.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()  # z on the sphere (StyleGAN's PixelNorm)
        w = self.mapping(z)
        if psi is not None:
            w = self.w_avg + psi.reshape(-1, 1).to(w.dtype) * (w - self.w_avg)
        return w

    def styles(self, z, psi=None, z_mix=None, mix=None, w_shift=None) -> torch.Tensor:
        """N x num_styles x latent_dim: z's w everywhere, except the styles in mix[i] = (start, stop), from z_mix;
        plus `w_shift` (N x num_styles x latent_dim), a move in W (the explorer's sliders)."""
        w = self.map(z, psi)
        ws = w[:, None].expand(-1, self.num_styles, -1)
        if z_mix is not None:
            index = torch.arange(self.num_styles, device=z.device)[None]
            taken = (index >= mix[:, :1]) & (index < mix[:, 1:])  # N x num_styles
            ws = torch.where(taken[:, :, None], self.map(z_mix, psi)[:, None], ws)
        return ws if w_shift is None else ws + w_shift.to(ws.dtype)

    def synthesis(self, ws: torch.Tensor, noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        x = self.const.expand(ws.shape[0], -1, -1, -1)
        rgb, style = None, 0
        for i, layer in enumerate(self.layers):
            x = layer(x, ws[:, style], None if noise is None else noise[i])
            style += 1
            if i == 0 or i % 2 == 0:  # the last convolution at this side: add its toRGB
                skip = self.to_rgb[(i + 1) // 2](x, ws[:, style])
                style += 1
                rgb = skip if rgb is None else F.interpolate(rgb, scale_factor=2, mode="bilinear",
                                                             align_corners=False) + skip
        return torch.tanh(rgb)

    def forward(self, z, labels=None, psi=None, z_mix=None, mix=None, noise=None, w_shift=None) -> torch.Tensor:
        ws = self.styles(z, psi, z_mix, mix, w_shift)
        if self.training:
            with torch.no_grad():
                self.w_avg.lerp_(ws[:, 0].detach().float().mean(0), 1 - W_AVG_DECAY)
        return self.synthesis(ws, noise)

    def early_features(self, z: torch.Tensor) -> torch.Tensor:
        """w itself: GANSpace's principal directions in W, where they separate best (Härkönen et al. 2020)."""
        return self.map(z)


class _DownBlock(nn.Module):
    """Two 3 x 3 convolutions and an average pool, with a pooled 1 x 1 shortcut; summed over sqrt(2)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv1, self.conv2 = EqualConv(c_in, c_in, 3), EqualConv(c_in, c_out, 3)
        self.skip = EqualConv(c_in, c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.avg_pool2d(_lrelu(self.conv2(_lrelu(self.conv1(x)))), 2)
        return (y + self.skip(F.avg_pool2d(x, 2))) / math.sqrt(2)


class Discriminator(nn.Module):
    def __init__(self, width: int, size: int, image_channels: int = 3, grid=(4, 4)):
        super().__init__()
        n = levels(size)
        self.from_rgb = EqualConv(image_channels, channels(width, n, n), 1)
        # state size. c(level) x 2^(level+2) -> c(level - 1) x 2^(level+1), down to 4 x 4
        self.blocks = nn.Sequential(*[_DownBlock(channels(width, lv, n), channels(width, lv - 1, n))
                                      for lv in range(n, 0, -1)])
        c0 = channels(width, 0, n)
        self.spread = MinibatchSpread()
        self.conv = EqualConv(c0 + 1, c0, 3)  # + the minibatch standard deviation channel
        self.fc = EqualLinear(c0 * grid[0] * grid[1], c0, activate=True)  # from c0 x 4 x 4 (the first grid)
        self.out = EqualLinear(c0, 1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        x = self.spread(self.blocks(_lrelu(self.from_rgb(x))))
        return self.out(self.fc(_lrelu(self.conv(x)).flatten(1))).flatten()


class StyleGANLearner(GANLearner):
    def __init__(self, cfg, device, distributed=False):
        generator = StyleGAN.sampler(cfg)
        # StyleGAN2's Adam: betas (0, 0.99); the lazy regularisers' steps are folded into their weights instead
        super().__init__(cfg, device, generator,
                         Discriminator(cfg.width, cfg.size, image_channels(cfg), first_grid(cfg)), distributed,
                         betas=(0.0, 0.99))
        self.ada = AdaptiveAugment(device, cfg.ada_target)
        self.gamma = cfg.r1 or 0.0002 * cfg.size ** 2 / cfg.batch  # StyleGAN2-ADA's heuristic for R1's weight
        self.pl_mean = torch.zeros((), device=device)

    def _noise(self, n: int, gen, shard) -> list[torch.Tensor]:
        G = unwrapped(self.nets["generator"])
        return [share(torch.randn(n * shard[1], 1, *layer.shape, generator=gen, device=self.device), shard)
                for layer in G.layers]

    def _mixing(self, n: int, gen, shard) -> tuple[torch.Tensor, torch.Tensor]:
        """Style-mixing regularisation: with probability `style_mixing` the styles from a random cut-off on come
        from a second z (one cut-off for the whole batch, drawn on every rank alike)."""
        num = unwrapped(self.nets["generator"]).num_styles
        z2 = self.latents(n, gen, shard)
        draw = torch.rand((), generator=gen, device=self.device)
        cut = torch.randint(1, num, (), generator=gen, device=self.device)
        start = torch.where(draw < self.cfg.style_mixing, cut, torch.full_like(cut, num))
        return z2, torch.stack([start, torch.full_like(start, num)]).expand(n, 2)

    def step(self, batch, gen, amp_dtype, shard):
        G, D = self.nets["generator"], self.nets["discriminator"]
        real = batch["image"]
        n = real.shape[0]
        z = self.latents(n, gen, shard)
        z2, mix = self._mixing(n, gen, shard)
        noise = self._noise(n, gen, shard)
        aug = dict(gen=gen, strength=self.ada.p, flip=self.cfg.flip, shard=shard)
        r1_now = self.r1_due(self.gamma)
        pl_now = self.cfg.path_length > 0 and self.lazy_due(PL_INTERVAL)
        m = self.micro_batches

        # discriminator: real up, fake down (non-saturating loss), lazy R1 on the augmented reals
        self.opts["discriminator"].zero_grad(set_to_none=True)
        d_total = torch.zeros((), device=self.device)
        fakes = []
        for i, (x, zz, zz2, mm) in enumerate(zip(chunks(real, m), chunks(z, m), chunks(z2, m), chunks(mix, m))):
            with self.autocast(amp_dtype):
                fake = G(zz, z_mix=zz2, mix=mm, noise=[part.chunk(m)[i] for part in noise])
                fakes.append(fake)
                x_aug = diff_augment(x, **aug)
                real_logits = D(x_aug)
                loss = F.softplus(-real_logits).mean() + F.softplus(D(diff_augment(fake.detach(), **aug))).mean()
            d_total += loss.detach() / m
            if r1_now:
                loss = loss + lazy_r1(unwrapped(D), x_aug, self.gamma)
            self.backward(loss)
            self.ada.observe(real_logits)
        self.opt_step("discriminator")

        # generator: make D call the fakes real; D's own parameters are left alone; lazy path-length penalty
        self.opts["generator"].zero_grad(set_to_none=True)
        D.requires_grad_(False)
        g_total = torch.zeros((), device=self.device)
        for i, fake in enumerate(fakes):
            with self.autocast(amp_dtype):
                loss = F.softplus(-D(diff_augment(fake, **aug))).mean()
            g_total += loss.detach() / m
            if pl_now:
                loss = loss + self.cfg.path_length * PL_INTERVAL * self._path_length(z.chunk(m)[i], gen)
            self.backward(loss)
        D.requires_grad_(True)
        self.opt_step("generator")
        self.update_ema(G)
        self.ada.update(n * shard[1], self.distributed)
        return {"d": d_total, "g": g_total, "p": self.ada.p.clone()}

    def _path_length(self, z: torch.Tensor, gen) -> torch.Tensor:
        """§3.2: E[(|J_w^T y| - a)^2], y random images scaled by 1/sqrt(pixels), a a moving average of the lengths.
        Through the unwrapped generator, added to the DDP loss before its one backward (see adversarial.py)."""
        G = unwrapped(self.nets["generator"])
        ws = G.styles(z).detach().requires_grad_(True)
        with torch.autocast(self.device.type, enabled=False):
            images = G.synthesis(ws.float())
            y = torch.randn(images.shape, generator=gen, device=self.device) / math.sqrt(images[0, 0].numel())
            (grad,) = torch.autograd.grad((images * y).sum(), ws, create_graph=True)
        lengths = grad.square().sum(2).mean(1).sqrt()
        with torch.no_grad():
            self.pl_mean.lerp_(lengths.mean(), PL_DECAY)
        return (lengths - self.pl_mean).square().mean()

    def extra_state(self) -> dict:
        return {"ada": self.ada.state(), "pl_mean": self.pl_mean.clone()}

    def load_extra_state(self, state: dict) -> None:
        self.ada.load(state.get("ada", {}))  # older runs also saved "steps", which the Trainer's step now gives
        self.pl_mean.fill_(state.get("pl_mean", 0.0))


class StyleGAN(Family):
    info = FamilyInfo(
        name="stylegan",
        title="StyleGAN2-lite",
        description="The style-based GAN artists know: mix the coarse, middle or fine styles of two pictures. "
                    "Slower per image than FastGAN on a CPU.",
        # TRUNCATION here is ψ, applied in W: the explorer passes it in each Look instead of scaling z.
        capabilities=frozenset({Capability.CONTINUOUS_LATENT, Capability.TRUNCATION, Capability.LAYER_FEATURES,
                                Capability.STYLE_MIXING, Capability.ANY_ASPECT}),
    )
    Learner = StyleGANLearner
    options = frozenset({"r1", "ada_target", "path_length", "style_mixing"})
    choices = {"ada_target": ADA_TARGET}

    @staticmethod
    def preset(n_images: int, size: int, device_kind: str) -> dict:
        """Narrow on a CPU (its step costs about twice FastGAN's there), wider on GPUs; R1 from the heuristic."""
        base = {"cuda": 32, "mps": 24}.get(device_kind, 8)
        if size >= 128:
            base //= 2
        return {"latent_dim": 64 if n_images < 5000 else 128, "width": max(4, base),
                "batch": 32 if device_kind != "cpu" else 16, "lr": 2e-3}

    @classmethod
    def inputs(cls, cfg) -> Inputs:
        return Inputs(InputKind.STYLES, cfg.latent_dim, num_styles=2 + 3 * levels(cfg.size))

    @staticmethod
    def sample(sampler: nn.Module, batch: dict) -> torch.Tensor:
        return sampler(batch["z"], psi=batch.get("psi"), z_mix=batch.get("z_mix"), mix=batch.get("mix"),
                       w_shift=batch.get("w_shift"))

    @staticmethod
    def build_sampler(cfg) -> nn.Module:
        return Generator(cfg.latent_dim, cfg.width, cfg.size, image_channels(cfg), first_grid(cfg))
