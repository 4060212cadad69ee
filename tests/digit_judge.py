"""A judge of generated digits: a classifier trained on scikit-learn's real 8x8 digits.

Generated images (any size, RGB or grey, ink bright on dark like the fixtures) are pooled to 8 x 8 and scaled
to the 0..16 range of the real set before the classifier looks at them.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=1)
def judge():
    from sklearn.datasets import load_digits
    from sklearn.neural_network import MLPClassifier

    digits = load_digits()
    x = digits.images.reshape(len(digits.images), -1) / 16.0
    return MLPClassifier(hidden_layer_sizes=(128,), max_iter=600, random_state=0).fit(x, digits.target)


SPLIT_SEED = 0  # the fixed split of the 1,797 digits between the held-out judge and what it is judged on
JUDGE_TRAINS_ON = 1300


def judge_split() -> tuple[np.ndarray, np.ndarray]:
    """(indices the held-out judge learns from, indices it never sees), fixed for every test."""
    order = np.random.default_rng(SPLIT_SEED).permutation(1797)
    return np.sort(order[:JUDGE_TRAINS_ON]), np.sort(order[JUDGE_TRAINS_ON:])


@lru_cache(maxsize=1)
def held_out_judge():
    """An RBF support-vector classifier on the 8x8 digits of the judge's side of the split: it reads the other
    side's real digits 99.6% right (test_the_held_out_judge_is_trustworthy), so what it says of a model counts."""
    from sklearn.datasets import load_digits
    from sklearn.svm import SVC

    digits = load_digits()
    learn, _ = judge_split()
    x = digits.images.reshape(len(digits.images), -1) / 16.0
    return SVC(gamma=0.05, C=10).fit(x[learn], digits.target[learn])


def read_digits(images: np.ndarray) -> np.ndarray:
    """The digit the held-out judge reads in each image (any size, ink bright on dark)."""
    return held_out_judge().predict(to_8x8(images))


def to_8x8(images: np.ndarray) -> np.ndarray:
    """N x H x W (x C) uint8 -> N x 64 in 0..1, area-pooled like the original 8x8 digits."""
    grey = images.mean(axis=-1) if images.ndim == 4 else images.astype(np.float64)
    n, h, w = grey.shape
    pooled = grey.reshape(n, 8, h // 8, 8, w // 8).mean(axis=(2, 4))
    return pooled.reshape(n, 64) / 255.0


def predict(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(predicted class, confidence) per image."""
    proba = judge().predict_proba(to_8x8(images))
    return proba.argmax(1), proba.max(1)


def normalised_entropy(classes: np.ndarray, n_classes: int = 10) -> float:
    """1.0 when every class is predicted equally often, 0 when one class takes all."""
    p = np.bincount(classes, minlength=n_classes) / len(classes)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum() / np.log(n_classes))


# --- the stronger judge of issue 9: a small convnet at 32 px, with a Fréchet distance in its own feature space ---

CONV_SEED = 0
CONV_EPOCHS = 12
# its layer: the 128 ReLU units before the class scores, where its Fréchet distance is measured (conv_read)


def real_digits_32(indices: np.ndarray) -> np.ndarray:
    """The real digits at `indices` as 32 x 32 uint8 greys, drawn exactly as tests/digits.py writes them."""
    from sklearn.datasets import load_digits

    from .digits import digit_picture

    images = load_digits().images
    return np.stack([digit_picture(images[i], 32) for i in indices])


def _conv_net():
    from torch import nn

    def block(c_in, c_out):
        return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2)]

    return nn.Sequential(*block(1, 16), *block(16, 32), *block(32, 64), nn.Flatten(), nn.Dropout(0.3),
                         nn.Linear(64 * 4 * 4, 128), nn.ReLU(), nn.Linear(128, 10))


def _as_input(images: np.ndarray):
    import torch

    grey = images.mean(axis=-1) if images.ndim == 4 else images.astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(grey, dtype=np.float32) / 127.5 - 1).unsqueeze(1)


@lru_cache(maxsize=1)
def conv_judge():
    """The convnet, trained on the judge's side of the split (judge_split) with shifts of up to 2 px, seed fixed.
    test_the_conv_judge_is_trustworthy shows it reads the other side's real digits at least 97% right."""
    import torch
    import torch.nn.functional as F
    from sklearn.datasets import load_digits

    learn, _ = judge_split()
    x, y = _as_input(real_digits_32(learn)), torch.from_numpy(load_digits().target[learn]).long()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(CONV_SEED)
        net = _conv_net()
        opt = torch.optim.Adam(net.parameters(), lr=2e-3)
        for _ in range(CONV_EPOCHS):
            for batch in torch.randperm(len(x)).split(64):
                dy, dx = torch.randint(-2, 3, (2,)).tolist()
                loss = F.cross_entropy(net(torch.roll(x[batch], (dy, dx), (2, 3))), y[batch])
                opt.zero_grad()
                loss.backward()
                opt.step()
    return net.eval()


def conv_read(images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(class, confidence, 128 penultimate features) per 32 x 32 image (grey or RGB, ink bright on dark)."""
    import torch

    net = conv_judge()
    with torch.no_grad():
        h = net[:-1](_as_input(images))
        proba = net[-1](h).softmax(1)
    return proba.argmax(1).numpy(), proba.max(1).values.numpy(), h.double().numpy()


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    """The Fréchet distance between Gaussians fitted to two sets of features (Heusel et al. 2017)."""
    from scipy import linalg

    mu = a.mean(0) - b.mean(0)
    # a little on the diagonals: ReLU features have dead units, which leave the covariances singular
    ca, cb = (np.cov(x, rowvar=False) + 1e-6 * np.eye(x.shape[1]) for x in (a, b))
    root = linalg.sqrtm(ca @ cb).real
    return float(mu @ mu + np.trace(ca + cb - 2 * root))


@lru_cache(maxsize=1)
def _training_read() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return conv_read(real_digits_32(judge_split()[0]))


def class_spread(classes: np.ndarray, feats: np.ndarray) -> float:
    """How varied the images of each digit are, against the real digits the judge learnt from: the mean over the
    digits read of (total variance of their features / the real ones'). 1 for real digits; well below 1 when a
    model draws each digit in few ways, which the Fréchet distance punishes though confidence and coverage stay high.
    Digits read fewer than 5 times are left out."""
    real_classes, _, real = _training_read()

    def total_variance(x: np.ndarray) -> float:  # the trace of the covariance, without building it
        return float(x.var(axis=0, ddof=1).sum())

    ratios = [total_variance(feats[classes == c]) / total_variance(real[real_classes == c])
              for c in range(10) if (classes == c).sum() >= 5]
    return float(np.mean(ratios)) if ratios else 0.0


def conv_figures(images: np.ndarray) -> dict:
    """What the convnet says of images: mean confidence, class coverage (normalised entropy), the Fréchet distance
    to the real digits it learnt from and the spread within each digit (class_spread)."""
    classes, confidence, feats = conv_read(images)
    return {"confidence": float(confidence.mean()), "coverage": normalised_entropy(classes),
            "frechet": frechet(feats, _training_read()[2]), "spread": class_spread(classes, feats)}
