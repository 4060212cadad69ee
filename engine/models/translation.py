"""What the image-to-image families share: their networks, their sampler and their side of the family contract.

- `UNet` (pix2pix, Isola et al. 2017 §3.2.1): an encoder-decoder whose every decoder level also reads its mirror
  encoder level, so fine detail (edges, outlines) passes straight through.
- `ResnetGenerator` (CycleGAN, Zhu et al. 2017, after Johnson et al. 2016): two stride-2 convolutions down,
  residual blocks, two up; it changes textures and colours while keeping the layout.
- `PatchDiscriminator` (pix2pix §3.2.2): a small convolutional net that scores overlapping patches, real or not.
- `ImageHistory` (Shrivastava et al. 2017, CycleGAN §4): the discriminator sees older fakes too, so the two
  players do not chase each other in circles. Its images are buffers, saved in every checkpoint: a resumed run
  draws from the same history.
- `Translator`: the sampler, one network per direction it translates in; `TranslationFamily`: inputs are images,
  a progress grid is input | output | target, and a model translates pictures of any size.
All networks are fully convolutional with instance normalisation, so they translate pictures larger than the
training size (padded to `multiple`, engine/translate.py).
"""
from __future__ import annotations

import torch
from torch import nn

from .base import Learner, levels
from .family import Family, InputKind, Inputs

MAX_DEPTH = 7  # U-Net levels at most (a 256 px picture down to 2 x 2)


def _norm(channels: int) -> nn.Module:
    return nn.InstanceNorm2d(channels, affine=True)


class UNet(nn.Module):
    """`depth` stride-2 convolutions down (widths doubling up to 8 x `width`) and as many transposed ones up, each
    up level joined with its mirror down level."""

    def __init__(self, channels_in: int, channels_out: int, width: int, depth: int):
        super().__init__()
        widths = [width * 2 ** min(k, 3) for k in range(depth)]
        self.multiple = 2 ** depth
        self.downs = nn.ModuleList([nn.Conv2d(channels_in, widths[0], 4, 2, 1)])
        for k in range(1, depth):
            innermost = k == depth - 1
            self.downs.append(nn.Sequential(nn.LeakyReLU(0.2), nn.Conv2d(widths[k - 1], widths[k], 4, 2, 1),
                                            *(() if innermost else (_norm(widths[k]),))))
        self.ups = nn.ModuleList()
        for k in reversed(range(1, depth)):
            c_in = widths[k] if k == depth - 1 else 2 * widths[k]
            self.ups.append(nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(c_in, widths[k - 1], 4, 2, 1),
                                          _norm(widths[k - 1])))
        self.ups.append(nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(2 * widths[0], channels_out, 4, 2, 1),
                                      nn.Tanh()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
        x = self.ups[0](skips.pop())
        for up in self.ups[1:]:
            x = up(torch.cat([x, skips.pop()], 1))
        return x


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels), nn.ReLU(),
                                  nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels))

    def forward(self, x):
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    def __init__(self, channels_in: int, channels_out: int, width: int, blocks: int):
        super().__init__()
        self.multiple = 4
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(channels_in, width, 7), _norm(width), nn.ReLU()]
        for k in range(2):
            layers += [nn.Conv2d(width * 2 ** k, width * 2 ** (k + 1), 3, 2, 1), _norm(width * 2 ** (k + 1)),
                       nn.ReLU()]
        layers += [ResidualBlock(4 * width) for _ in range(blocks)]
        for k in reversed(range(2)):
            layers += [nn.ConvTranspose2d(width * 2 ** (k + 1), width * 2 ** k, 3, 2, 1, output_padding=1),
                       _norm(width * 2 ** k), nn.ReLU()]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, channels_out, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class PatchDiscriminator(nn.Module):
    """Logits for overlapping patches: `layers` stride-2 convolutions, then two stride-1 ones (70 x 70 patches at
    three layers, the paper's; 34 x 34 at two, for 32 px pictures)."""

    def __init__(self, channels_in: int, width: int, layers: int):
        super().__init__()
        body = [nn.Conv2d(channels_in, width, 4, 2, 1), nn.LeakyReLU(0.2)]
        c = width
        for k in range(1, layers):
            body += [nn.Conv2d(c, width * 2 ** min(k, 3), 4, 2, 1), _norm(width * 2 ** min(k, 3)), nn.LeakyReLU(0.2)]
            c = width * 2 ** min(k, 3)
        body += [nn.Conv2d(c, 2 * c, 4, 1, 1), _norm(2 * c), nn.LeakyReLU(0.2), nn.Conv2d(2 * c, 1, 4, 1, 1)]
        self.net = nn.Sequential(*body)

    def forward(self, x):
        return self.net(x)


def patch_layers(size: int) -> int:
    return 2 if size <= 32 else 3


class ImageHistory(nn.Module):
    """The last `capacity` fakes a discriminator was shown; `mix` returns a batch where, once the history is full,
    each image is swapped for a stored one with probability 1/2 (the stored one is then replaced by it)."""

    def __init__(self, capacity: int, channels: int, height: int, width: int):
        super().__init__()
        self.register_buffer("images", torch.zeros(capacity, channels, height, width))
        self.register_buffer("filled", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def mix(self, fakes: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        fakes = fakes.detach()
        out = fakes.clone()
        coins = torch.rand(len(fakes), generator=gen, device=fakes.device).tolist()
        slots = torch.randint(len(self.images), (len(fakes),), generator=gen, device=fakes.device).tolist()
        for i, (coin, slot) in enumerate(zip(coins, slots)):
            filled = int(self.filled)
            if filled < len(self.images):
                self.images[filled] = fakes[i].float()
                self.filled += 1
            elif coin < 0.5:
                out[i] = self.images[slot].to(out.dtype)
                self.images[slot] = fakes[i].float()
        return out


class Translator(nn.Module):
    """A translation model's sampler: one network per direction ("a2b", and "b2a" when it translates back)."""

    def __init__(self, **directions: nn.Module):
        super().__init__()
        self.directions = nn.ModuleDict(directions)

    @property
    def multiple(self) -> int:
        """Sides a picture must be a multiple of (it is padded to one, then cropped back)."""
        return max(net.multiple for net in self.directions.values())

    def forward(self, x: torch.Tensor, direction: str = "a2b") -> torch.Tensor:
        if direction not in self.directions:
            raise ValueError(f"this model translates {' and '.join(self.directions)}, not {direction}")
        return self.directions[direction](x)


def unet_depth(size: int) -> int:
    return min(MAX_DEPTH, levels(size) + 1)


class TranslationLearner(Learner):
    """What both translation learners share: they are judged on held-out pictures, and draw nothing from noise."""

    def measure(self) -> str:
        return "held-out L1"

    def can_sample(self) -> bool:
        """Never: a translation needs a picture, so the Trainer's KID of samples does not apply (each family's
        `quality` is its measure)."""
        return False


class TranslationFamily(Family):
    """Inputs are images ({"image": N x C x H x W in [-1, 1]}, and {"direction"} when the model goes both ways);
    the progress grid shows input | output | target for held-out pictures."""
    judged_on_holdout = True
    layout = "paired"  # what the project holds: "paired" or "unpaired" (engine/dataset.py LAYOUTS)
    draws_grey = False  # a translation keeps (or makes) its pictures' colours, whatever its inputs
    directions = ("a2b",)

    @classmethod
    def inputs(cls, cfg) -> Inputs:
        return Inputs(InputKind.IMAGE, 0)

    @staticmethod
    def sample(sampler: nn.Module, batch: dict) -> torch.Tensor:
        return sampler(batch["image"], batch.get("direction", "a2b"))

    @classmethod
    def progress_images(cls, sampler: nn.Module, batch: dict) -> torch.Tensor:
        """Input, output and target of each held-out example, in that order (three columns each)."""
        out = sampler(batch["image"], "a2b")
        return torch.stack([batch["image"], out, batch["target"]], 1).flatten(0, 1)

    @staticmethod
    def progress_inputs(cfg, data, seed: int, rows: int, columns: int, device) -> dict:
        """rows x columns / 3 held-out examples: {"image": A pictures, "target": their B (or, unpaired, any B)}."""
        count = max(1, rows * columns // 3)
        a, b = data.examples(count)
        return {"image": a.to(device), "target": b.to(device)}
