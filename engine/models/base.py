"""What learners share: networks, optimizers, EMA and one training step, and the sizing rules of the presets.

The contract a family signs (its inputs, output, capabilities, preset and options) is in family.py; this module
holds the machinery behind a family's `Learner`.
"""
from __future__ import annotations

import copy
import math

import torch
from torch import nn

from .. import devices, schedule


def levels(size: int) -> int:
    """Number of 2x up-sampling blocks from 4 x 4 to size x size; sizes are powers of two from 16 to 256."""
    n = int(math.log2(size)) - 2
    if size < 16 or 4 * 2**n != size:
        raise ValueError(f"image size must be a power of two between 16 and 256, not {size}")
    return n


def preset_width(n_images: int, size: int, device_kind: str) -> int:
    """Networks sized to the data: small sets, high resolutions and CPUs get narrower networks."""
    width = {"cuda": 64, "mps": 48}.get(device_kind, 32)
    if n_images < 1000:
        width //= 2
    if size >= 128:
        width //= 2
    return max(8, width)


def channels(width: int, level: int, n_levels: int, cap: int = 512) -> int:
    """Channels at a resolution level (0 = 4 x 4): widest at the bottom, halving as resolution doubles."""
    return min(cap, width * 2 ** (n_levels - level))


def dcgan_init(m: nn.Module) -> None:
    """DCGAN §4's start, for `net.apply`: convolutions' and embeddings' weights from N(0, 0.02), biases 0,
    BatchNorm scales from N(1, 0.02). Spectrally normalised layers were initialised before their parametrisation
    and are left alone; a BatchNorm without its own affine (the conditional GAN's) has nothing to set."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Embedding)) and not hasattr(m, "parametrizations"):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if getattr(m, "bias", None) is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d) and m.affine:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


class MinibatchSpread(nn.Module):
    """ProGAN's minibatch standard deviation (Karras et al. 2018, §3): one more channel holding how much the
    features vary across small groups of images, so a discriminator can see a batch of fakes that all look alike.
    Given the images' labels, it measures how much they vary among the images of the same label instead: a batch of
    mixed labels varies by its labels alone, which let a conditional generator draw each label one way unseen. An
    image alone with its label in the batch gets (almost) 0, which a real and a fake batch drawn with the same labels
    share. No weights: adding it changes only the channels of the layer after it."""

    def __init__(self, group: int = 4, num_labels: int = 0):
        super().__init__()
        self.group, self.num_labels = group, num_labels

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        n, c, h, w = x.shape
        if labels is not None and self.num_labels:
            with torch.autocast(x.device.type, enabled=False):  # sums of squares want fp32
                spread = _spread_within_labels(x.float().flatten(1), labels.long(), self.num_labels)
        else:
            g = math.gcd(min(self.group, n), n)  # groups of g images: sample i is grouped with i + n/g, i + 2n/g ...
            y = x.reshape(g, -1, c, h, w).float()
            # the variance spelled out: torch's var over the first dimension took 7x as long, backward included
            spread = (y - y.mean(0)).square().mean(0).add(1e-8).sqrt().mean(dim=(1, 2, 3)).repeat(g)
        return torch.cat([x, spread.to(x.dtype)[:, None, None, None].expand(n, 1, h, w)], dim=1)


def _spread_within_labels(x: torch.Tensor, labels: torch.Tensor, num_labels: int) -> torch.Tensor:
    """N x F features -> N: the mean over features of the standard deviation among the images sharing each image's
    label. Sums over labels are one matrix product each, with no host sync: a batch of any labels costs the same."""
    member = torch.nn.functional.one_hot(labels, num_labels).to(x.dtype)  # N x L
    count = member.sum(0).clamp(min=1)[:, None]
    deviation = x - (member.t() @ x / count)[labels]
    var = member.t() @ deviation.square() / count
    return var.add(1e-8).sqrt().mean(1)[labels]


class Learner:
    """Networks, optimizers and one training step of a family. Subclasses fill `nets`, `opts`, `ema` and `step`.

    `nets` are the trained networks (possibly wrapped in DistributedDataParallel, see `unwrapped`), `ema` is the
    exponential moving average of the sampling network, used for every sample the user sees.
    """

    ema_decay = 0.999

    def __init__(self, cfg, device: torch.device, distributed: bool = False):
        self.cfg = cfg
        self.device = device
        self.distributed = distributed
        self.nets: dict[str, nn.Module] = {}
        self.opts: dict[str, torch.optim.Optimizer] = {}
        self.ema: nn.Module | None = None
        self.micro_batches = 1  # raised when CUDA runs out of memory: the batch is split, gradients accumulate
        self.scaler = torch.amp.GradScaler(device.type, enabled=False)
        self.updates = 0  # steps the run has taken (the Trainer keeps it, a checkpoint restores it): EMA warm-up
        self.progress = 0.0  # how far the run is, 0 to 1 (the Trainer sets it before each step; schedule.py)
        self.planned_steps = 10**9  # the steps the run will take, for the EMA's horizon (the Trainer sets it)
        self.notes: list[tuple[str, str]] = []  # (text, level) for the user, emptied by drain_messages
        self._kept: list[torch.Tensor] | None = None  # remember's copy of the state, reused from step to step
        self.compiled = devices.compiles(cfg.compile)

    def step(self, batch: dict[str, torch.Tensor], gen: torch.Generator, amp_dtype: torch.dtype | None,
             shard: tuple[int, int]) -> dict[str, torch.Tensor]:
        """One optimisation step on this rank's share of a batch: {"image": N x C x H x W in [-1, 1]} and, when
        the project has labels, {"label": N}. Returns the losses as tensors (no host sync)."""
        raise NotImplementedError

    def sampler(self) -> nn.Module:
        return self.ema

    def quality(self, real_holdout: torch.Tensor, labels: torch.Tensor | None = None) -> float | None:
        """The run's quality measure, lower is better, or None when the family has none yet."""
        return None

    def measure(self) -> str:
        """What `quality` measures, in words. When it changes (a new training stage), the Trainer forgets the best
        figure so far, since figures of two measures do not compare."""
        return "held-out reconstruction error"

    def can_sample(self) -> bool:
        """Whether samples mean anything yet (a VQ-VAE draws nothing sensible before its prior trains): the
        Trainer measures KID only then."""
        return True

    def extra_state(self) -> dict:
        """State beyond weights and optimizers (an augmentation strength, a training stage...) as numbers, strings
        or 0-dim tensors: the memory guard copies it before every step, so reading it must not wait for the GPU
        (a float() of a CUDA tensor would). A checkpoint stores it as JSON through `plain`."""
        return {}

    def load_extra_state(self, state: dict) -> None:
        pass

    def drain_messages(self) -> list[tuple[str, str]]:
        """(text, level) notes the learner wants the user to read, e.g. a collapsed codebook; emptied when read."""
        notes, self.notes = self.notes, []
        return notes

    def remember(self) -> dict:
        """Everything a step changes, copied in memory (weights, buffers, EMA, optimizers, which weights take
        gradients, extra state), so that a step that failed half-way can be undone exactly with `forget_since`.
        The Trainer calls it before every step on a GPU, so the tensors go in one `_foreach_copy_` into buffers
        kept from the last call (a deep copy of the state dicts launched some 900 copies a step: a quarter of a small
        network's step on an H200) and nothing is read back from the device. The copy holds until the next call."""
        live, layout = self._state_tensors()
        kept = self._kept
        if kept is None or [(t.shape, t.dtype, t.device) for t in kept] != [(t.shape, t.dtype, t.device)
                                                                               for t in live]:
            kept = self._kept = [torch.empty_like(t) for t in live]
        with torch.no_grad():
            torch._foreach_copy_(kept, live)
        return {"tensors": kept, "layout": layout,
                "trainable": {name: [p.requires_grad for p in net.parameters()] for name, net in self.nets.items()},
                "scaler": copy.deepcopy(self.scaler),
                "extra": copy.deepcopy(self.extra_state())}

    def forget_since(self, memory: dict) -> None:
        """Back to the state `remember` returned, gradients cleared. Optimizer state the failed step created
        (Adam's moments appear at the first step) is dropped."""
        for name, opt in self.opts.items():
            opt.zero_grad(set_to_none=True)
            had = memory["layout"][name]
            for index, p in enumerate(_params(opt)):
                if index not in had:
                    opt.state.pop(p, None)
        live, layout = self._state_tensors()
        if layout != memory["layout"]:
            raise RuntimeError("the optimizers' state changed shape since it was remembered; cannot undo the step")
        with torch.no_grad():
            torch._foreach_copy_(live, memory["tensors"])
        for name, net in self.nets.items():
            for p, trainable in zip(net.parameters(), memory["trainable"][name]):
                p.requires_grad_(trainable)
        self.scaler = copy.deepcopy(memory["scaler"])
        self.load_extra_state(memory["extra"])

    def _state_tensors(self) -> tuple[list[torch.Tensor], dict]:
        """Every tensor a step changes, in a fixed order, and per optimizer which of its weights have state with
        which slots (the order's key: the same layout means the same list)."""
        tensors = [t for net in self.nets.values() for t in unwrapped(net).state_dict(keep_vars=True).values()]
        tensors += list(self.ema.state_dict(keep_vars=True).values())
        layout = {}
        for name, opt in self.opts.items():
            layout[name] = {}
            for index, p in enumerate(_params(opt)):
                slots = opt.state.get(p)
                if slots:
                    layout[name][index] = tuple(slots)
                    tensors += [value for value in slots.values() if torch.is_tensor(value)]
                    if not all(torch.is_tensor(value) for value in slots.values()):
                        raise TypeError(f"{type(opt).__name__} keeps numbers beside tensors: remember cannot copy "
                                        "it in one call")
        return tensors, layout

    # helpers for subclasses ---------------------------------------------------------------------------------
    def wrap(self, net: nn.Module) -> nn.Module:
        net = net.to(self.device)
        if self.device.type == "cuda" and not self.compiled:  # the compiler picks its own layouts (and torch 2.11's
            net = net.to(memory_format=torch.channels_last)  # failed a stride check in a channels_last backward)
        if self.distributed:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            net = DistributedDataParallel(net, device_ids=ids, broadcast_buffers=True)
        if self.compiled:  # around DDP, as torch's DDP notes advise; penalties call the eager module (unwrapped)
            net = torch.compile(net)
        return net

    def make_ema(self, net: nn.Module) -> nn.Module:
        ema = copy.deepcopy(unwrapped(net)).eval()
        for p in ema.parameters():
            p.requires_grad_(False)
        return ema

    @torch.no_grad()
    def update_ema(self, net: nn.Module) -> None:
        source = unwrapped(net)
        if self.distributed:
            self._average_buffers(source)
        # a warm-up while the networks change fast, and a horizon that follows the run's (engine/schedule.py)
        decay = schedule.ema_decay(self.updates, self.planned_steps, self.ema_decay)
        # one call for all weights, not one kernel each: on a GPU, small networks are bound by launches
        torch._foreach_lerp_(list(self.ema.parameters()), [p.detach() for p in source.parameters()], 1 - decay)
        buffers = list(self.ema.buffers())
        if buffers:  # foreach calls refuse empty lists (InstanceNorm keeps no running statistics)
            torch._foreach_copy_(buffers, list(source.buffers()))

    @staticmethod
    def _average_buffers(net: nn.Module) -> None:
        """BatchNorm statistics drift apart on each rank's shard; average them so every rank holds the same model."""
        import torch.distributed as dist

        for b in net.buffers():
            if b.is_floating_point():
                dist.all_reduce(b)
                b.div_(dist.get_world_size())

    def autocast(self, amp_dtype):
        return torch.autocast(self.device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None)

    def backward(self, loss: torch.Tensor) -> None:
        self.scaler.scale(loss / self.micro_batches).backward()

    def opt_step(self, name: str) -> None:
        self.scaler.step(self.opts[name])
        self.scaler.update()


def adam(params, device: torch.device, lr: float, betas: tuple[float, float] = (0.9, 0.999)) -> torch.optim.Adam:
    """Adam as one fused kernel per step where torch has one (CUDA; the CPU since torch 2.4). On the CPU the
    digits' conditional GAN spends about 1 ms a step in it where the per-weight loop took 2-3, of some 35-40."""
    return torch.optim.Adam(params, lr=lr, betas=betas, fused=device.type in ("cuda", "cpu"))


def plain(state):
    """`state` (as extra_state gives it) with every tensor read out as a number, for JSON."""
    if isinstance(state, dict):
        return {key: plain(value) for key, value in state.items()}
    return state.item() if torch.is_tensor(state) else state


def _params(opt: torch.optim.Optimizer) -> list[torch.Tensor]:
    return [p for group in opt.param_groups for p in group["params"]]


def unwrapped(net: nn.Module) -> nn.Module:
    """The plain network inside torch.compile's and DistributedDataParallel's wrappers."""
    net = getattr(net, "_orig_mod", net)
    return net.module if hasattr(net, "module") else net


def chunks(t: torch.Tensor | None, n: int):
    return [None] * n if t is None else list(t.chunk(n))

