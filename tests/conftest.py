"""Shared fixtures: real handwritten digits (scikit-learn) written out as PNG folders, one sub-folder per label."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from .digits import write_digits

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def digits_dir(tmp_path_factory) -> Path:
    """All 1,797 digits as 32 px PNGs in ten labelled folders."""
    return write_digits(tmp_path_factory.mktemp("digits"))


@pytest.fixture(scope="session")
def small_digits_dir(tmp_path_factory) -> Path:
    """30 digits of each class (300 images): enough to train tiny models in seconds."""
    return write_digits(tmp_path_factory.mktemp("digits-small"), per_class=30)
