"""Process groups under ``torchrun``, identity sharding, and buffer synchronisation.

>>> ctx = init_distributed()          # RANK, WORLD_SIZE, LOCAL_RANK from torchrun
>>> mine = shard_identities(range(12), ctx.rank, ctx.world_size)

Without torchrun (WORLD_SIZE absent or 1) nothing is initialised and every collective here is
a no-op, so the same code runs in a single process; ``cleanup_distributed()`` at the end.

Buffers. DistributedDataParallel averages gradients, so parameters stay identical on every
rank, but buffers written outside autograd (an occupancy grid refreshed in ``after_step``
from the rank's own identities and generator) drift apart. ``all_reduce_buffers_max`` takes
the element-wise maximum over ranks: for an occupancy / density grid that is the union of
what every rank saw, and afterwards all ranks hold the same grid. It is a collective: call it
on every rank at the same steps (right after a refresh that is scheduled by step number, and
before a checkpoint is written), never from code that only some ranks run. A bit-packed byte
field (``density_bitfield``) is not a max-able quantity (the max of two bytes is not their
bitwise OR): reduce the float grid and rebuild the bitfield from it.
``broadcast_buffers_from_main`` copies rank 0's buffers to every rank (used at the start and
end of ``pretrain`` for the buffers that are not max-reduced).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

__all__ = [
    "DistributedContext",
    "init_distributed",
    "cleanup_distributed",
    "shard_identities",
    "all_reduce_buffers_max",
    "broadcast_buffers_from_main",
    "wrap_ddp",
    "mean_over_ranks",
]

BACKENDS = ("gloo", "nccl")


@dataclass(frozen=True)
class DistributedContext:
    """Where this process sits: rank in [0, world_size), local_rank on its node, backend
    ("gloo" | "nccl", None when no process group was initialised), device to train on."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes checkpoints, logs and the progress bar."""
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"environment variable {name}={value!r} is not an integer") from None


def _device_for(backend: str | None, local_rank: int) -> torch.device:
    """cuda:local_rank when CUDA is present (made the current device), else cpu."""
    if not torch.cuda.is_available():
        if backend == "nccl":
            raise RuntimeError("the nccl backend needs CUDA, which is not available here")
        return torch.device("cpu")
    torch.cuda.set_device(local_rank)
    return torch.device("cuda", local_rank)


def init_distributed(backend: str | None = None) -> DistributedContext:
    """The context of this process, from torchrun's RANK / WORLD_SIZE / LOCAL_RANK.

    The device is cuda:LOCAL_RANK when CUDA is present, else cpu. WORLD_SIZE absent or 1: a
    single-process context, no process group is initialised. Otherwise the default process
    group is initialised (MASTER_ADDR / MASTER_PORT are read by torch) with ``backend``, or
    when None nccl if CUDA is available, else gloo. A process group that already exists is
    reused, not re-created.
    """
    if backend is not None and backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS} or None, got {backend!r}")
    world_size = _env_int("WORLD_SIZE", 1)
    rank, local_rank = _env_int("RANK", 0), _env_int("LOCAL_RANK", 0)
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"inconsistent torchrun environment: RANK={rank}, WORLD_SIZE={world_size}")
    if world_size == 1:
        return DistributedContext(0, 1, local_rank, None, _device_for(None, local_rank))
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    device = _device_for(backend, local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, rank=rank, world_size=world_size)
    elif dist.get_world_size() != world_size or dist.get_rank() != rank:
        raise RuntimeError(
            f"a process group of rank {dist.get_rank()}/{dist.get_world_size()} exists, but "
            f"the environment says {rank}/{world_size}"
        )
    return DistributedContext(rank, world_size, local_rank, dist.get_backend(), device)


def cleanup_distributed() -> None:
    """Destroy the default process group if there is one (safe to call in any process)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def shard_identities(identities: Sequence[int], rank: int, world_size: int) -> list[int]:
    """Round-robin share of ``identities`` for ``rank``: identities[rank::world_size].

    Every identity goes to exactly one rank and shares differ in size by at most one.
    Raises ValueError when there are fewer identities than ranks (a rank would idle, and
    DDP needs every rank to run a forward pass each step).
    """
    identities = [int(i) for i in identities]
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is not in [0, world_size={world_size})")
    if len(set(identities)) != len(identities):
        raise ValueError(f"identities must be distinct, got {identities}")
    if len(identities) < world_size:
        raise ValueError(
            f"{len(identities)} identities cannot be shared among {world_size} ranks: every "
            f"rank needs at least one; launch at most {len(identities)} processes "
            "(torchrun --nproc_per_node) or pre-train on more identities"
        )
    return identities[rank::world_size]


def _active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def _named_buffers(module: nn.Module, names: Iterable[str]) -> list[tuple[str, torch.Tensor]]:
    own = dict(module.named_buffers())
    missing = [n for n in names if n not in own]
    if missing:
        raise KeyError(f"no buffer named {missing} in the module; its buffers are {sorted(own)}")
    return [(n, own[n]) for n in names]


@torch.no_grad()
def all_reduce_buffers_max(module: nn.Module, names: Sequence[str]) -> None:
    """In place, every buffer in ``names`` (dotted names, as in ``named_buffers``) becomes
    its element-wise maximum over all ranks; a no-op in a single process (unknown names are
    still an error). Bool buffers are reduced as bytes (max = logical OR). A collective:
    every rank must call it at the same point with the same names."""
    buffers = _named_buffers(module, names)
    if not _active():
        return
    for _, buf in buffers:
        work = buf.to(torch.uint8) if buf.dtype == torch.bool else buf.contiguous()
        dist.all_reduce(work, op=dist.ReduceOp.MAX)
        if work is not buf:
            buf.copy_(work)


@torch.no_grad()
def broadcast_buffers_from_main(module: nn.Module, exclude: Sequence[str] = ()) -> None:
    """Copy rank 0's value of every buffer except ``exclude`` to all ranks (a collective;
    a no-op in a single process)."""
    skip = {n for n, _ in _named_buffers(module, exclude)}
    if not _active():
        return
    for name, buf in module.named_buffers():
        if name in skip:
            continue
        work = buf.to(torch.uint8) if buf.dtype == torch.bool else buf.contiguous()
        dist.broadcast(work, src=0)
        if work is not buf:
            buf.copy_(work)


def wrap_ddp(system: nn.Module, ctx: DistributedContext) -> nn.Module:
    """``system`` itself in one process, else DistributedDataParallel(system) with
    find_unused_parameters=True and no buffer broadcast before each forward (see
    ``pretrain_loop``); the system must already sit on ``ctx.device``."""
    if not ctx.is_distributed:
        return system
    ddp = nn.parallel.DistributedDataParallel
    kwargs: dict[str, Any] = {"find_unused_parameters": True}
    if "forward_sync_buffers" in inspect.signature(ddp.__init__).parameters:
        kwargs["forward_sync_buffers"] = False
    else:
        kwargs["broadcast_buffers"] = False
    device_ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return ddp(system, device_ids=device_ids, **kwargs)


def mean_over_ranks(value: float, ctx: DistributedContext) -> float:
    """The mean of ``value`` over all ranks (a collective; ``value`` in one process)."""
    if not ctx.is_distributed:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=ctx.device)
    dist.all_reduce(t)
    return float(t) / ctx.world_size
