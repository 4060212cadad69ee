"""The default GAN learns digits on a CPU in four minutes (slow: run by hand, `pytest -m slow`)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ..digit_judge import conv_figures, judge_split, normalised_entropy, predict, real_digits_32
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
    # the convnet judge (tests/digit_judge.py), its figures for real digits it never saw beside the model's
    real = conv_figures(real_digits_32(judge_split()[1]))
    made = conv_figures(images)
    print(f"\nconvnet judge      confidence  coverage  Fréchet distance to its training digits  spread in a digit"
          f"\nheld-out real      {real['confidence']:.3f}       {real['coverage']:.3f}     {real['frechet']:.2f}"
          f"                                  {real['spread']:.2f}"
          f"\nmodel (500)        {made['confidence']:.3f}       {made['coverage']:.3f}     {made['frechet']:.2f}"
          f"                                  {made['spread']:.2f}")
    classes, confidence = predict(images)
    print(f"the MLP judge: mean confidence {confidence.mean():.3f}, normalised entropy "
          f"{normalised_entropy(classes):.3f}, class counts {np.bincount(classes, minlength=10).tolist()}")
    assert made["confidence"] >= 0.7
    assert made["coverage"] >= 0.95
    assert made["frechet"] <= 1.3 * real["frechet"]


def test_the_conv_judge_is_trustworthy():
    """It reads the real digits it never saw at least 97% right, confidently and all ten; its Fréchet distance
    puts them near its training digits and edge maps of the same digits far away."""
    from PIL import ImageFilter

    from ..digit_judge import conv_read, frechet
    from sklearn.datasets import load_digits

    learn, held = judge_split()
    images = real_digits_32(held)
    classes, confidence, feats = conv_read(images)
    accuracy = (classes == load_digits().target[held]).mean()
    print(f"\nthe convnet on {len(held)} held-out real digits: accuracy {accuracy:.3f}, mean confidence "
          f"{confidence.mean():.3f}, coverage {normalised_entropy(classes):.3f}")
    assert accuracy >= 0.97
    assert confidence.mean() > 0.9 and normalised_entropy(classes) > 0.98
    _, _, training = conv_read(real_digits_32(learn))
    edges = np.stack([np.asarray(Image.fromarray(i).filter(ImageFilter.FIND_EDGES)) for i in images])
    floor, far = frechet(feats, training), frechet(conv_read(edges)[2], training)
    print(f"Fréchet distance to the training digits: held-out digits {floor:.2f}, their edge maps {far:.2f}")
    assert far > 5 * floor


def test_the_spread_within_a_digit_sees_a_model_that_draws_each_digit_few_ways():
    """Real digits the judge never saw vary within each digit as its training digits do; a set that repeats four
    real examples of each digit keeps full confidence and coverage, but its spread falls to about half of
    theirs."""
    from sklearn.datasets import load_digits

    _, held = judge_split()
    real = conv_figures(real_digits_32(held))
    targets = load_digits().target[held]
    few = np.concatenate([held[targets == digit][:4] for digit in range(10)])
    repeated = conv_figures(real_digits_32(np.repeat(few, 12)))
    print(f"\nspread within a digit: held-out real {real['spread']:.2f}, 4 ways per digit {repeated['spread']:.2f}")
    assert 0.8 < real["spread"] < 1.25
    assert repeated["coverage"] > 0.95 and repeated["spread"] < 0.7 * real["spread"]


def test_the_judge_recognises_real_digits_after_the_trip_through_32_px(digits_dir):
    paths = sorted(digits_dir.glob("*/*.png"))[::5]
    images = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in paths])
    labels = np.array([int(p.parent.name) for p in paths])
    classes, confidence = predict(images)
    assert (classes == labels).mean() > 0.9 and confidence.mean() > 0.8
    assert normalised_entropy(classes) > 0.98
