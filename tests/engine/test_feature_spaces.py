"""The two feature spaces sample quality is measured in: ImageNet EfficientNet-Lite0, and the same network with
random weights and BatchNorm calibrated on the real set (Naeem et al. 2020). Both must tell real digits from their
edge maps far more than two halves of the real digits from each other, or a KID in them means nothing."""
from __future__ import annotations

import numpy as np
import torch

from engine import features
from engine.metrics import kid

from ..digits import digit_views

SIDE = 64  # the feature network's input here: small, so the test takes seconds


def test_both_spaces_tell_digits_from_edge_maps_far_more_than_digits_from_digits():
    views = digit_views(160)
    colour = np.stack([np.asarray(v[2]) for v in views])
    edges = np.stack([np.asarray(v[1]) for v in views])
    random_net = features.random_network(colour[:80], seed=0, input_size=SIDE)
    for name, net in (("imagenet", None), ("random", random_net)):
        a, b, e = (features.uint8_features(x, input_size=SIDE, net=net) for x in (colour[:80], colour[80:], edges[80:]))
        floor, apart = kid(a, b, subset_size=80), kid(a, e, subset_size=80)
        print(f"{name}: digits vs digits {floor:.4f}, digits vs edges {apart:.4f}")
        assert apart > 10 * max(floor, 1e-4), name


def test_the_random_space_is_fixed_by_its_seed_and_calibrated_on_the_real_set():
    colour = np.stack([np.asarray(v[2]) for v in digit_views(48)])
    first, again, other = (features.random_network(colour, seed=s, input_size=SIDE) for s in (0, 0, 1))
    x = colour[:8]
    same = features.uint8_features(x, input_size=SIDE, net=first)
    torch.testing.assert_close(same, features.uint8_features(x, input_size=SIDE, net=again))
    assert not torch.allclose(same, features.uint8_features(x, input_size=SIDE, net=other))
    stem = first._bn0
    assert stem.num_batches_tracked == 1 and not torch.allclose(stem.running_var, torch.ones_like(stem.running_var))
    assert not torch.allclose(same, features.uint8_features(x, input_size=SIDE))  # not ImageNet's space


def test_the_imagenet_network_runs_with_its_batch_norms_folded_and_sees_what_it_saw_before():
    """Folded BatchNorms (faster Projected FastGAN steps) change the features of real pictures only by rounding."""
    plain = features.EfficientNetLite0()
    plain.load_state_dict(torch.load(features.weights_path(), weights_only=True))
    folded = features.network("cpu")
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    x = features.to_unit(np.stack([np.asarray(v[2].resize((64, 64))) for v in digit_views(16)]))
    with torch.no_grad():
        before, after = plain.eval().features(x), folded.features(x)
    assert torch.allclose(after, before, atol=1e-4 * before.abs().max().item())
    assert (before.argmax(1) == after.argmax(1)).all()
