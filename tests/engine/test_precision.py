""""auto" precision on the CPU and CUDA GPUs: bf16 only where a short timing at the start shows it at least 10%
faster than fp32; the timed steps leave no trace, and a resumed run keeps its run's choice."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from engine import api, checkpoints, devices, training

from .helpers import digits_project, tiny


class FakeClock:
    """Time that passes only when a step runs: `cost[dtype]` seconds per step."""

    def __init__(self, cost):
        self.now, self.cost = 0.0, cost

    def __call__(self):
        return self.now

    def step(self, dtype):
        self.now += self.cost[dtype]


@pytest.mark.parametrize("bf16_seconds, chosen", [(0.85, torch.bfloat16), (0.95, None), (1.3, None)])
def test_bf16_is_chosen_only_when_it_times_at_least_ten_percent_faster(bf16_seconds, chosen):
    clock = FakeClock({None: 1.0, torch.bfloat16: bf16_seconds})
    dtype, gain = devices.timed_precision(clock.step, clock)
    assert dtype == chosen and gain == pytest.approx(1 / bf16_seconds)


@pytest.fixture(scope="module")
def project(tmp_path_factory, small_digits_dir):
    return digits_project(tmp_path_factory.mktemp("precision"), small_digits_dir)


def test_the_timing_leaves_no_trace_and_a_resume_keeps_the_choice(project, monkeypatch):
    timed = []

    def fp32_after_timing(step, clock, steps=devices.TIMED_STEPS):
        for dtype in (None, None, torch.bfloat16, torch.bfloat16):
            step(dtype)  # the real step, as the real timing takes it
        timed.append(True)
        return None, 1.0

    monkeypatch.setattr(devices, "timed_precision", fp32_after_timing)
    long_run = dict(steps=1000, checkpoint_every=1000)
    plain = api.train(project, tiny(precision="fp32", steps=20), new=True)
    control = api.Control()
    timed_run = api.train(project, replace(tiny(precision="auto"), **long_run), control=control, new=True,
                          on_event=lambda e: control.request_stop() if isinstance(e, api.StepDone) and e.step == 20
                          else None)
    assert timed == [True] and timed_run.step == 20
    a, b = (checkpoints.read(r.checkpoint)[1] for r in (plain, timed_run))
    for key in a:  # the same weights as a run that never timed anything (the EMA follows the run's length)
        if key.startswith("net."):
            torch.testing.assert_close(a[key], b[key], msg=key)
    assert json.loads(timed_run.checkpoint.read_text())["precision"] == "fp32"

    monkeypatch.setattr(devices, "timed_precision", lambda *args, **kwargs: pytest.fail("timed again on resume"))
    control = api.Control()
    resumed = api.train(project, replace(tiny(precision="auto"), **long_run), control=control,
                        on_event=lambda e: control.request_stop() if isinstance(e, api.StepDone) and e.step == 25
                        else None)
    assert resumed.step == 25


def test_short_runs_and_chosen_precisions_are_not_timed(project, monkeypatch):
    monkeypatch.setattr(devices, "timed_precision", lambda *args, **kwargs: pytest.fail("a short run was timed"))
    assert api.train(project, tiny(precision="auto", steps=10), new=True).step == 10
    control = api.Control()
    assert api.train(project, tiny(precision="fp32", steps=1000), control=control, new=True,
                     on_event=lambda e: control.request_stop() if isinstance(e, api.StepDone) else None).step == 5


def test_a_speed_measurement_times_the_precision_the_run_will_train_in(project, monkeypatch):
    monkeypatch.setattr(devices, "timed_precision", lambda *args, **kwargs: (torch.bfloat16, 1.5))
    measured_in = []
    real_step = training.Trainer.step

    def step(trainer):
        measured_in.append(trainer.amp_dtype)
        return real_step(trainer)

    monkeypatch.setattr(training.Trainer, "step", step)
    assert api.measure_speed(project, tiny(precision="auto", steps=1000), seconds=0.2) > 0
    assert measured_in and set(measured_in) == {torch.bfloat16}  # the run would time bf16 faster and train in it
    measured_in.clear()
    api.measure_speed(project, tiny(precision="auto", steps=10), seconds=0.2)
    assert measured_in and set(measured_in) == {None}  # a run this short is not timed: it trains in fp32


def test_auto_starts_in_fp32_and_only_devices_with_bf16_time_it(monkeypatch):
    for kind in ("cpu", "cuda", "mps"):  # on an H100 the 64 px DCGAN trained slower in bf16 (0.93x): no default
        assert devices.autocast_dtype(torch.device(kind), "auto") is None
    assert devices.autocast_dtype(torch.device("cuda"), "bf16") is torch.bfloat16
    assert devices.times_precision(torch.device("cpu")) and not devices.times_precision(torch.device("mps"))
    for supported in (True, False):
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, supported=supported, **kwargs: supported)
        assert devices.times_precision(torch.device("cuda")) is supported


def test_on_a_gpu_the_timing_waits_for_the_queued_work(project, monkeypatch):
    """A GPU runs behind the Python that queues its kernels: a clock read without waiting times the launches."""
    waited = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: waited.append(device))
    trainer = training.Trainer(project, tiny(precision="auto", steps=1000), clock=lambda: 42.0)
    assert trainer._settled_clock() == 42.0 and not waited  # the CPU has nothing queued
    trainer.device = torch.device("cuda", 0)
    assert trainer._settled_clock() == 42.0 and waited == [torch.device("cuda", 0)]
