"""Several devices under `torchrun`: one process per device, DistributedDataParallel, nothing home-made. Alone,
every function here is a no-op that answers as rank 0 of 1, so the same code runs with and without torchrun.

The rule that keeps ranks in step: every rank draws the random numbers of the whole batch from the same generator
and keeps its share (`share`), so the generators never drift apart and rank 0's checkpoint is complete.
"""
from __future__ import annotations

import os

import torch

from . import devices


def share(t: torch.Tensor, shard: tuple[int, int]) -> torch.Tensor:
    """This rank's rows of numbers drawn for the whole batch; shard = (rank, world)."""
    rank, world = shard
    n = t.shape[0] // world
    return t[rank * n:(rank + 1) * n]


def setup(device: str) -> tuple[int, int]:
    """(rank, world) under torchrun, (0, 1) otherwise: gloo on the CPU, nccl on CUDA."""
    world = int(os.environ.get("WORLD_SIZE", 1))
    if world <= 1:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        backend = "nccl" if devices.pick_device(device).type == "cuda" else "gloo"
        dist.init_process_group(backend)
    return dist.get_rank(), dist.get_world_size()


def rank_device(requested: str, rank: int) -> torch.device:
    device = devices.pick_device(requested)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    if device.type == "cuda":
        torch.cuda.set_device(device)
    return device


def broadcast(value, world: int):
    """Rank 0's `value` on every rank."""
    if world <= 1:
        return value
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def any_rank(flag: bool, world: int, device: torch.device) -> bool:
    """True on every rank when it is true on any."""
    if world <= 1:
        return flag
    import torch.distributed as dist

    value = torch.tensor(int(flag), device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def barrier(world: int) -> None:
    if world > 1:
        import torch.distributed as dist

        dist.barrier()


def teardown() -> None:
    """Leave the process group together: rank 0 hosts the group's store, and a rank still tearing down when rank 0
    has exited can abort ("terminate called without an active exception", seen once on a loaded CPU)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
