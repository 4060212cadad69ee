"""What GAN learners share beyond `Learner`: their set-up and in-training measure (`GANLearner`), the adversarial
losses a run can choose, the gradient penalties (R1, WGAN-GP) and the adaptive augmentation strength (ADA). No
networks live here.

Losses, on the discriminator's logits (any shape; patch discriminators give several per image):
  bce      the non-saturating loss (Goodfellow et al. 2014 §3): D minimises softplus(-D(x)) + softplus(D(G(z))),
           G minimises softplus(-D(G(z))).
  hinge    (Lim & Ye 2017; Miyato et al. 2018): D minimises relu(1 - D(x)) + relu(1 + D(G(z))), G minimises -D(G(z)).
           FastGAN's choice.
  wgan-gp  the Wasserstein critic (Arjovsky et al. 2017) with the gradient penalty of Gulrajani et al. 2017
           (lambda = 10) and ProGAN's drift term (Karras et al. 2018, 0.001 E[D(x)^2]) that keeps the critic from
           wandering off zero.

Penalties and DistributedDataParallel. A penalty differentiates D's output with respect to D's input with
`create_graph=True`, then the penalty itself is differentiated with respect to D's weights. DDP only averages
gradients through the hooks it attaches for `backward()`, and its forward prepares its reducer for exactly one
backward. So the penalty's forward runs through the *unwrapped* module (`unwrapped(D)`, no DDP hooks, no reducer
bookkeeping) and the penalty is added to the DDP loss before the single `backward()`: autograd sums both
contributions into each weight's gradient accumulator once, and DDP's hook on that accumulator all-reduces the sum.
Every rank therefore ends with the averaged gradient of loss + penalty, as without DDP (test_fastgan.py's two-rank
test, marked slow, checks that both ranks end with identical weights with WGAN-GP and R1 on).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..metrics import kid, pixel_features
from ..distributed import share
from .base import Learner, adam

LOSSES = ("bce", "hinge", "wgan-gp")
GP_WEIGHT = 10.0  # Gulrajani et al. 2017, §4
DRIFT_WEIGHT = 1e-3  # Karras et al. 2018, §A.1
R1_INTERVAL = 4  # lazy regularisation (Karras et al. 2020b, StyleGAN2 §3.1): R1 every 4th step, weighted x4
ADA_TARGET = 0.6  # the target for E[sign(D(real))] that ADA keeps (Karras et al. 2020, §3)


class GANLearner(Learner):
    """A generator and a discriminator, each with Adam (betas from DCGAN §4 unless told), and the EMA generator."""

    def __init__(self, cfg, device, generator: nn.Module, discriminator: nn.Module, distributed: bool = False,
                 betas: tuple[float, float] = (0.5, 0.999)):
        super().__init__(cfg, device, distributed)
        self.nets = {"generator": self.wrap(generator), "discriminator": self.wrap(discriminator)}
        self.opts = {name: adam(net.parameters(), device, cfg.lr, betas)
                     for name, net in (("generator", generator), ("discriminator", discriminator))}
        self.ema = self.make_ema(generator)

    def lazy_due(self, interval: int) -> bool:
        """Whether this step takes a lazy regulariser applied every `interval` steps (StyleGAN2 §B): counted on the
        run's own steps, which a checkpoint restores, so a resumed run keeps the same rhythm."""
        return (self.updates + 1) % interval == 0

    def r1_due(self, gamma: float | None) -> bool:
        """Whether this step takes the lazy R1 penalty of weight `gamma` (none when it is 0 or unset)."""
        return (gamma or 0) > 0 and self.lazy_due(R1_INTERVAL)

    def generator_pass(self, fakes: list, loss_of, amp_dtype) -> torch.Tensor:
        """The generator's half of a step: `loss_of(item)` for each micro-batch's fakes (kept from D's half, so G
        runs once per step), backpropagated through D with D's own parameters left alone, then one optimiser step
        and the EMA. Returns the mean loss, on the device."""
        D = self.nets["discriminator"]
        self.opts["generator"].zero_grad(set_to_none=True)
        D.requires_grad_(False)
        total = torch.zeros((), device=self.device)
        for item in fakes:
            with self.autocast(amp_dtype):
                loss = loss_of(item)
            self.backward(loss)
            total += loss.detach() / self.micro_batches
        D.requires_grad_(True)
        self.opt_step("generator")
        self.update_ema(self.nets["generator"])
        return total

    def latents(self, n: int, gen: torch.Generator, shard: tuple[int, int]) -> torch.Tensor:
        """This rank's n latents of a batch drawn for every rank."""
        return share(torch.randn(n * shard[1], self.cfg.latent_dim, generator=gen, device=self.device), shard)

    @torch.no_grad()
    def quality(self, real_holdout, labels=None):
        """KID on pooled pixels between 256 EMA samples (every label in turn, for a conditional model) and real
        images: cheap enough for every checkpoint (the Trainer prefers its ImageNet KID when it measures one)."""
        gen = torch.Generator(self.device).manual_seed(0)
        z = torch.randn(256, self.cfg.latent_dim, generator=gen, device=self.device)
        y = torch.arange(256, device=self.device) % self.cfg.num_classes if self.cfg.num_classes else None
        return kid(pixel_features(self.ema(z, y)), pixel_features(real_holdout))


def check_loss(kind: str) -> str:
    if kind not in LOSSES:
        raise ValueError(f"unknown loss {kind!r}; choose one of {', '.join(LOSSES)}")
    return kind


def d_loss(kind: str, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    real_logits, fake_logits = real_logits.float(), fake_logits.float()
    if kind == "bce":
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
    if kind == "hinge":
        return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()
    return fake_logits.mean() - real_logits.mean() + DRIFT_WEIGHT * real_logits.square().mean()


def g_loss(kind: str, fake_logits: torch.Tensor) -> torch.Tensor:
    fake_logits = fake_logits.float()
    if kind == "bce":
        return F.softplus(-fake_logits).mean()
    return -fake_logits.mean()


def _critic(D, x, labels):
    """One score per image: the mean of a patch discriminator's logits."""
    return D(x, labels).float().reshape(x.shape[0], -1).mean(1)


class ResumesAdaptiveAugment:
    """For a learner (with an `ada`) whose first checkpoints came before it had ADA: ADA's state goes into every
    checkpoint, and a run begun without it goes on with the fixed augmentation it began with."""

    def extra_state(self) -> dict:
        return {"ada": self.ada.state()}

    def load_extra_state(self, state: dict) -> None:
        if "ada" in state:
            self.ada.load(state["ada"])
        else:
            self.ada = AdaptiveAugment(self.device, 0.0)


def r1_penalty(D, real: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
    """E[||grad_x D(x)||^2] on real images (Mescheder et al. 2018, eq. 9, without the gamma / 2).
    `D` must be the unwrapped module (see the module docstring); `real` is what D saw (augmented)."""
    x = real.detach().float().requires_grad_(True)
    with torch.autocast(x.device.type, enabled=False):
        (grad,) = torch.autograd.grad(_critic(D, x, labels).sum(), x, create_graph=True)
    return grad.square().flatten(1).sum(1).mean()


def lazy_r1(D, real: torch.Tensor, gamma: float, labels: torch.Tensor | None = None) -> torch.Tensor:
    """R1's term on a step that takes it: gamma / 2 times the penalty, times R1_INTERVAL for the steps that skip it."""
    return gamma / 2 * R1_INTERVAL * r1_penalty(D, real, labels)


def gradient_penalty(D, real: torch.Tensor, fake: torch.Tensor, gen: torch.Generator, shard: tuple[int, int],
                     labels: torch.Tensor | None = None) -> torch.Tensor:
    """E[(||grad D(x_hat)||_2 - 1)^2] at random points between real and fake images (Gulrajani et al. 2017,
    Algorithm 1). The mixing weights come from `gen` for the whole batch, so every rank stays in step."""
    alpha = share(torch.rand(real.shape[0] * shard[1], 1, 1, 1, generator=gen, device=real.device), shard)
    x = (alpha * real.detach().float() + (1 - alpha) * fake.detach().float()).requires_grad_(True)
    with torch.autocast(x.device.type, enabled=False):
        (grad,) = torch.autograd.grad(_critic(D, x, labels).sum(), x, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1).square().mean()


class AdaptiveAugment:
    """The augmentation probability p of ADA (Karras et al. 2020, "Training GANs with limited data", §3).

    The overfitting heuristic r_t = E[sign(D(x_real))] is gathered over `interval` steps; then p moves by
    sign(r_t - target) * (images seen in the interval) / (images for p to go from 0 to 1). The paper moves p over
    500k images, which suits runs of millions of images; runs here see 10^4-10^6 images, so p moves over 20k.
    Everything stays on the device (no host sync per step); `state()` is read only when a checkpoint is written.
    """

    interval = 4
    images_to_full = 20_000

    def __init__(self, device: torch.device, target: float):
        self.target = target
        self.p = torch.full((), 0.0 if target > 0 else 1.0, device=device)  # ADA off: classic DiffAugment
        self.rt = torch.zeros((), device=device)
        self._signs = torch.zeros((), device=device)
        self._count = torch.zeros((), device=device)
        self._steps = 0

    @torch.no_grad()
    def observe(self, real_logits: torch.Tensor) -> None:
        self._signs += real_logits.detach().float().sign().sum()
        self._count += real_logits.numel()

    @torch.no_grad()
    def update(self, batch: int, distributed: bool) -> None:
        """Call once per step with the global batch size; every `interval` steps p moves."""
        self._steps += 1
        if self.target <= 0 or self._steps % self.interval:
            return
        stats = torch.stack([self._signs, self._count])
        if distributed:
            import torch.distributed as dist

            dist.all_reduce(stats)
        self.rt = stats[0] / stats[1].clamp(min=1)
        rate = batch * self.interval / self.images_to_full
        self.p = (self.p + torch.sign(self.rt - self.target) * rate).clamp(0, 1)
        self._signs.zero_()
        self._count.zero_()

    def state(self) -> dict:
        """Copies of the device tensors, not floats: read every step by the memory guard, which must not wait for
        the GPU; a checkpoint turns them into numbers (base.plain)."""
        return {"p": self.p.clone(), "rt": self.rt.clone(), "signs": self._signs.clone(),
                "count": self._count.clone(), "steps": self._steps}

    def load(self, state: dict) -> None:
        if not state:
            return
        self.p.fill_(state["p"])
        self.rt.fill_(state["rt"])
        self._signs.fill_(state["signs"])
        self._count.fill_(state["count"])
        self._steps = int(state["steps"])
