"""The default GAN learns digits on a CPU in four minutes (slow: run by hand, `pytest -m slow`)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ..digit_judge import normalised_entropy, predict
from .helpers import cli


@pytest.mark.slow
def test_four_minutes_of_default_training_make_recognisable_varied_digits(tmp_path, digits_dir):
    project = tmp_path / "digits"
    result = cli("train", "--project", str(project), "--data", str(digits_dir), "--size", "32", "--minutes", "4",
                 timeout=900)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "generated"
    assert cli("generate", str(project), "--count", "500", "--out", str(out)).returncode == 0
    images = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in sorted(out.glob("*.png"))])
    classes, confidence = predict(images)
    entropy = normalised_entropy(classes)
    print(f"\nmean confidence {confidence.mean():.3f}, normalised entropy {entropy:.3f}, "
          f"class counts {np.bincount(classes, minlength=10).tolist()}")
    assert confidence.mean() >= 0.7
    assert entropy >= 0.95


def test_the_judge_recognises_real_digits_after_the_trip_through_32_px(digits_dir):
    paths = sorted(digits_dir.glob("*/*.png"))[::5]
    images = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in paths])
    labels = np.array([int(p.parent.name) for p in paths])
    classes, confidence = predict(images)
    assert (classes == labels).mean() > 0.9 and confidence.mean() > 0.8
    assert normalised_entropy(classes) > 0.98
