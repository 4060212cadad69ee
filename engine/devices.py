"""Device choice in one place: CUDA, Apple MPS or the CPU; precision and threads that fit the machine."""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, TypeVar

import torch

T = TypeVar("T")


@dataclass(frozen=True)
class DeviceInfo:
    kind: str  # "cuda", "mps" or "cpu"
    name: str  # what the user sees: "NVIDIA H100", "Apple GPU", "CPU (8 cores)"
    memory_gb: float  # device memory (system memory for the CPU)
    threads: int  # torch intra-op threads on the CPU


def pick_device(requested: str = "auto") -> torch.device:
    """The one function that decides where tensors live; everything else takes `device` explicitly."""
    if requested != "auto":
        if requested.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError("CUDA was asked for but no CUDA GPU is available")
        if requested == "mps" and not _mps_available():
            raise ValueError("MPS was asked for but this machine has no Apple GPU")
        return torch.device(requested)
    if torch.cuda.is_available():
        local_rank = int(os.environ.get("LOCAL_RANK", 0))
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def device_info(requested: str = "auto") -> DeviceInfo:
    device = pick_device(requested)
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return DeviceInfo("cuda", props.name, props.total_memory / 2**30, torch.get_num_threads())
    if device.type == "mps":
        return DeviceInfo("mps", "Apple GPU", _system_memory_gb(), torch.get_num_threads())
    return DeviceInfo("cpu", f"CPU ({os.cpu_count()} cores)", _system_memory_gb(), torch.get_num_threads())


def _system_memory_gb() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return 0.0


def autocast_dtype(device: torch.device, precision: str) -> torch.dtype | None:
    """The dtype for torch.autocast, or None for plain fp32. precision is "auto", "fp32", "bf16" or "fp16"."""
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision == "fp16":
        return torch.float16
    # bf16 autocast pays for some processors and models and not for others (bench/train_speed.py: on an H100 the
    # 64 px DCGAN, bound by launches, trained at 0.93x fp32's speed in bf16): "auto" starts in fp32, and a run long
    # enough to care times both at its start (Trainer, timed_precision). fp16 is never chosen by itself: it needs a
    # loss scale, and GAN losses overflow it
    return None


def times_precision(device: torch.device) -> bool:
    """Whether "auto" precision may pick bf16 on this device after timing it: the CPU, and CUDA GPUs with bf16."""
    return device.type == "cpu" or (device.type == "cuda" and torch.cuda.is_bf16_supported())


BF16_GAIN = 1.1  # "auto" trains in bf16 only when it times at least this much faster than fp32
TIMED_STEPS = 3  # steps timed in each precision (after one warm-up step each)
PRECISIONS = {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}


def timed_precision(step: Callable[[torch.dtype | None], object], clock: Callable[[], float],
                    steps: int = TIMED_STEPS) -> tuple[torch.dtype | None, float]:
    """What "auto" trains in, where bf16 pays on some processors and models and not on others: one
    warm-up and `steps` timed calls of `step(dtype)` in fp32, then in bf16. Returns (bf16 if it was at least
    BF16_GAIN times faster, else None for fp32; bf16's speed-up)."""
    def seconds(dtype) -> float:
        step(dtype)
        start = clock()
        for _ in range(steps):
            step(dtype)
        return clock() - start

    gain = seconds(None) / max(seconds(torch.bfloat16), 1e-9)
    return (torch.bfloat16 if gain >= BF16_GAIN else None), gain


def compiles(requested: str) -> bool:
    """Whether the networks go through torch.compile: only when asked ("on"). "auto" leaves them eager, as "off"
    does: on an H100 the 64 px DCGAN, whose step is bound by Python launching kernels, trained slower compiled
    (bench/train_speed.py, eager against compiled, both without the memory guard: 1,991 against 1,675 images/s at
    batch 32, 8,146 against 6,623 at 128), and the build costs a minute of the budget besides."""
    if requested not in ("auto", "on", "off"):
        raise ValueError(f"compile is auto, on or off, not {requested!r}")
    return requested == "on"


# torch's own thread count for this machine (its physical cores, or what OMP_NUM_THREADS says), read when the engine
# loads, before the app changes it: os.cpu_count() would count hyper-threads and cores this process may not use
MACHINE_THREADS = torch.get_num_threads()


def leave_a_core_for_the_ui() -> None:
    """The app's own threads (its renders and jobs) give torch one thread fewer than the machine's, so painting
    never waits: called by the app at start and by its render thread. torch's count is the calling thread's
    (OpenMP's, per thread) and the one threads started later begin with."""
    torch.set_num_threads(max(1, MACHINE_THREADS - 1))


@contextmanager
def every_core():
    """Torch uses every core on this thread within the block: the app's training and its speed measurement. On two
    cores the default 64 px family trained 1.47x faster than on one, and the window stayed smooth beside it
    (bench/ui_latency.py, against --leave-a-core). Afterwards the thread's count is what it was."""
    before = torch.get_num_threads()
    torch.set_num_threads(MACHINE_THREADS)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def in_parts(run: Callable[[int, int], T], count: int, part: int, on_message: Callable[[str], None] | None = None,
             what: str = "this") -> list[T]:
    """`run(start, stop)` over range(count) in slices of at most `part`. When the device runs out of memory the
    slice is halved and tried again (said once per halving through `on_message`); at one item it gives up and
    raises torch.OutOfMemoryError. Whatever is split this way must not depend on how it is split."""
    results, start = [], 0
    while start < count:
        stop = min(count, start + part)
        try:
            results.append(run(start, stop))
            start = stop
        except torch.cuda.OutOfMemoryError:
            if part == 1:
                raise
            part = max(1, part // 2)
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            if on_message is not None:
                on_message(f"out of memory: {what} now runs {part} at a time")
    return results
