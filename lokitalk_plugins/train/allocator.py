"""Memory-allocator settings for large CPU batches (rendering, benchmarks), without torch.

A frame's samples go through the field as tensors of tens of megabytes. With glibc's default
malloc such a tensor is often a fresh ``mmap`` (or memory the heap just gave back to the
system), so every call pays for page faults and the zeroing of new pages; on this project's
2-core VM that was a third to a half of an inference call's CPU time on 65,536 points (the
ER-NeRF field, ``benchmarks/render_overhead.py``) and made repeated timings of the same call
differ by 1.5x. Training steps (2048 rays) were not affected. The settings below keep freed
memory in the process (no trimming, large blocks from the heap) and let PyTorch's CPU
allocator ask for transparent huge pages (``THP_MEM_ALLOC_ENABLE``, read by torch itself).

They are environment variables, read when a process starts: :func:`allocator_env` gives the
environment to start one with (a user's own values win), :func:`allocator_state` says which
settings the current process runs with. :func:`tune_malloc` gives a running process the
malloc half (glibc's ``mallopt``, for the blocks allocated from then on; the huge pages need
the variable at start): the ``lokitalk`` command calls it. Nothing here changes a result,
only its speed.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Mapping

__all__ = ["ALLOCATOR_ENV", "MALLOPT", "allocator_env", "allocator_state", "tune_malloc"]

ALLOCATOR_ENV = {
    "THP_MEM_ALLOC_ENABLE": "1",  # torch's CPU allocator: madvise(MADV_HUGEPAGE) on big blocks
    "MALLOC_MMAP_THRESHOLD_": str(32 << 20),  # blocks below 32 MiB from the heap, not mmap
    "MALLOC_TRIM_THRESHOLD_": str(1 << 30),  # give freed heap memory back only past 1 GiB
    "MALLOC_TOP_PAD_": str(256 << 20),  # grow the heap in large steps
}


# the mallopt parameters (glibc's malloc.h) of ALLOCATOR_ENV's MALLOC_* variables
MALLOPT = {"MALLOC_TRIM_THRESHOLD_": -1, "MALLOC_TOP_PAD_": -2, "MALLOC_MMAP_THRESHOLD_": -3}
_RUNTIME: dict[str, str] = {}  # what tune_malloc set in this process


def tune_malloc(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's glibc malloc set as :data:`ALLOCATOR_ENV`'s ``MALLOC_*`` variables would
    set it at start (``mallopt``), each one the environment does not set already -> name ->
    value of those it set ({} without glibc, e.g. macOS or musl, or when all are set)."""
    env = os.environ if environ is None else environ
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return {}
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    done = {}
    for name, param in MALLOPT.items():
        value = ALLOCATOR_ENV[name]  # each fits mallopt's int
        if name not in env and mallopt(param, int(value)) == 1:
            done[name] = value
    _RUNTIME.update(done)
    return done


def allocator_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``environ`` (default: this process's) with :data:`ALLOCATOR_ENV` added where unset."""
    env = dict(os.environ if environ is None else environ)
    for key, value in ALLOCATOR_ENV.items():
        env.setdefault(key, value)
    return env


def allocator_state(environ: Mapping[str, str] | None = None) -> str:
    """ "tuned" when every variable of :data:`ALLOCATOR_ENV` is set (to any value), "default"
    when none is, else "partial: NAME=value, ..." naming those that are."""
    env = os.environ if environ is None else environ
    given = {k: env[k] for k in ALLOCATOR_ENV if k in env}
    if len(given) == len(ALLOCATOR_ENV):
        return "tuned"
    if not given:
        return "default"
    return "partial: " + ", ".join(f"{k}={v}" for k, v in given.items())
