"""KID of a run's samples (Binkowski et al. 2018) on ImageNet features (engine/features.py): fixed inputs, so
successive values differ by the model only, and the real images' features computed once per dataset and size.
Beside it, the share of samples that copy a training image (engine/memorisation.py), on the first of the same
inputs."""
from __future__ import annotations

from pathlib import Path

import torch

from . import devices
from .pixels import over

KID_SEED = 4321  # the fixed inputs of every KID measurement
KID_SAMPLES = 512  # generated images per KID (Binkowski et al. use 1,000s; 500 keeps a CPU measurement ~10 s)
KID_SUBSET = 500  # images per subset of the unbiased estimate
KID_BATCH = 64  # samples drawn at once (fewer when the device runs out of memory)
COPY_SAMPLES = 64  # samples the memorisation meter judges at each KID pass


class KidMeter:
    def __init__(self, cache: Path, dataset_hash: str, real_images, device: torch.device,
                 background=(255, 255, 255), real_count: int = 0):
        self.cache, self.dataset_hash, self.real_images, self.device = cache, dataset_hash, real_images, device
        self.real_count = real_count  # how many images real_images() returns
        self.background = background  # samples with alpha are laid on it, as the real images are
        self._real = None

    def expected_seconds(self) -> float:
        """About how long the next measurement takes: the samples' features and, the first time, the real images'
        unless a cache holds them, at the speed of a short timing (a time budget decides from it whether a KID
        fits at all: on a CPU the first one can take a tenth of a four-minute run)."""
        from . import features

        if self._real is None:
            self._real = features.read_cached(self.cache, self.dataset_hash, self.device)
        count = KID_SAMPLES + (self.real_count if self._real is None else 0)
        return count * features.seconds_per_image(self.device)

    def measure(self, family, sampler, cfg, on_message=None) -> float:
        """KID between KID_SAMPLES samples of `sampler` (drawn from the family's inputs) and the real images."""
        from . import features
        from .metrics import kid
        from .models import part

        if self._real is None:
            self._real = features.cached_features(self.cache, self.dataset_hash, self.real_images, self.device)
        gen = torch.Generator(self.device).manual_seed(KID_SEED)
        inputs = family.inputs(cfg).random(KID_SAMPLES, gen, self.device)

        def features_of(start, stop):
            images = over(family.sample(sampler, part(inputs, start, stop)).float().clamp(-1, 1), self.background)
            return features.image_features(images, batch=stop - start)

        with torch.no_grad():
            feats = devices.in_parts(features_of, KID_SAMPLES, KID_BATCH, on_message, "KID")
        return kid(torch.cat(feats), self._real, subset_size=KID_SUBSET)


class CopyShare:
    """The share of a run's samples that the memorisation meter calls copies; the meter is built (and calibrated
    on the project's images, once per dataset) at the first measurement."""

    def __init__(self, project, size: int, flips: bool, background=(255, 255, 255), aspect: str = "1:1"):
        self.project, self.size, self.flips, self.background, self.aspect = project, size, flips, background, aspect
        self._meter = None

    def measure(self, family, sampler, cfg, device: torch.device) -> float:
        from .memorisation import meter_for
        from .pixels import to_uint8

        if self._meter is None:
            self._meter = meter_for(self.project, self.size, self.flips, aspect=self.aspect)
        gen = torch.Generator(device).manual_seed(KID_SEED)
        inputs = family.inputs(cfg).random(COPY_SAMPLES, gen, device)
        with torch.no_grad():
            images = to_uint8(over(family.sample(sampler, inputs).float(), self.background))
        return sum(v.copy for v in self._meter.judge(images)) / len(images)
