"""What the GPU path does differently, checked on the CPU (bench/device_check.py runs it on a GPU): torch.compile,
only when asked for, with compiled networks saved and restored like plain ones; and channels_last weights, whose
restored Adam moments must share their layout (CUDA's fused Adam refuses them otherwise); and the memory guard,
which copies the state before every step without reading a value back from the device."""
from __future__ import annotations

import json

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from engine import checkpoints, devices
from engine.models import get_family
from engine.models.base import plain, unwrapped
from engine.train_config import settle

from .helpers import tiny

GPU, CPU = torch.device("cuda", 0), torch.device("cpu")


def test_only_on_compiles():
    assert devices.compiles("on") and not devices.compiles("off")
    assert not devices.compiles("auto")  # measured slower on an H100 (devices.compiles)
    with pytest.raises(ValueError, match="auto, on or off"):
        devices.compiles("yes")
    assert get_family("dcgan").Learner(settle(tiny(compile="on", steps=0, minutes=90)), CPU).compiled
    assert not get_family("dcgan").Learner(settle(tiny(steps=0, minutes=90)), CPU).compiled


def test_compiled_networks_save_and_restore_like_plain_ones(tmp_path):
    """The compiled wrapper stays out of the weights' names (a checkpoint opens in a run that does not compile) and
    the penalties' eager path reaches the plain network."""
    plain = get_family("dcgan").Learner(settle(tiny()), CPU)
    compiled = get_family("dcgan").Learner(settle(tiny(compile="on")), CPU)
    for name, net in compiled.nets.items():
        assert net is not unwrapped(net) and type(unwrapped(net)) is type(plain.nets[name])
        assert unwrapped(net).state_dict().keys() == plain.nets[name].state_dict().keys()
    path = checkpoints.save(tmp_path, 0, compiled, {"train": torch.Generator().get_state()}, {"family": "dcgan"})
    record, tensors = checkpoints.read(path, CPU)
    checkpoints.restore(plain, record, tensors)
    for name, net in compiled.nets.items():
        for a, b in zip(unwrapped(net).state_dict().values(), plain.nets[name].state_dict().values()):
            assert torch.equal(a, b)


def test_restored_moments_take_their_weights_layout(tmp_path):
    def learner():
        made = get_family("dcgan").Learner(settle(tiny()), CPU)
        for net in made.nets.values():
            net.to(memory_format=torch.channels_last)  # as on a GPU
        return made

    trained = learner()
    batch = {"image": torch.rand(16, 3, 16, 16) * 2 - 1}
    trained.step(batch, torch.Generator().manual_seed(0), None, (0, 1))
    path = checkpoints.save(tmp_path, 1, trained, {"train": torch.Generator().get_state()}, {"family": "dcgan"})
    resumed = learner()
    checkpoints.restore(resumed, *checkpoints.read(path, CPU))
    moments = [(p, value) for opt in resumed.opts.values() for p in opt.state
               for value in opt.state[p].values() if value.dim() == 4]
    assert moments and all(value.stride() == p.stride() for p, value in moments)
    assert any(p.stride() != p.contiguous().stride() for p, _ in moments)  # channels_last, not the saved layout


class ReadsBack(TorchDispatchMode):
    """Counts reads of a tensor's value into Python (float(), .item()): on a GPU each one waits for the device."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.count += func is torch.ops.aten._local_scalar_dense.default
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("family", ["dcgan", "fastgan", "stylegan"])
def test_the_memory_guard_copies_a_step_without_waiting_for_the_device(family, tmp_path):
    """On a GPU the guard copies the whole state before every step; a read into Python there would make the host
    wait for the device each step (ADA's strength and StyleGAN's path-length mean were read as floats)."""
    learner = get_family(family).Learner(settle(tiny(family)), CPU)
    learner.step({"image": torch.rand(16, 3, 16, 16) * 2 - 1}, torch.Generator().manual_seed(0), None, (0, 1))
    with ReadsBack() as reads:
        memory = learner.remember()
    assert reads.count == 0
    p = float(learner.ada.p)
    learner.ada.p.fill_(0.5)
    learner.forget_since(memory)
    assert float(learner.ada.p) == p  # and the copy still undoes
    path = checkpoints.save(tmp_path, 1, learner, {"train": torch.Generator().get_state()},
                            {"family": family, "extra": plain(learner.extra_state())})
    assert isinstance(json.loads(path.read_text())["extra"]["ada"]["p"], float)
