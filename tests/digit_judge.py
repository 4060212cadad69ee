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
