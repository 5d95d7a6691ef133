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
settings the current process runs with. Nothing here changes a result, only its speed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["ALLOCATOR_ENV", "allocator_env", "allocator_state"]

ALLOCATOR_ENV = {
    "THP_MEM_ALLOC_ENABLE": "1",  # torch's CPU allocator: madvise(MADV_HUGEPAGE) on big blocks
    "MALLOC_MMAP_THRESHOLD_": str(32 << 20),  # blocks below 32 MiB from the heap, not mmap
    "MALLOC_TRIM_THRESHOLD_": str(4 << 30),  # never give freed heap memory back
    "MALLOC_TOP_PAD_": str(256 << 20),  # grow the heap in large steps
}


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
