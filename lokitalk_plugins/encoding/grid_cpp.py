"""Fused C++ CPU grid-encoder kernel: just-in-time build, one-time load, autograd wrapper.

The kernel (``csrc/grid_kernels.cpp``, OpenMP, float and double, with its torch operators
in ``csrc/grid_encoder.cpp``; ``csrc/lattice_claim.cpp``, the bookkeeping of a lazily baked
vertex lattice; ``csrc/occupancy.cpp``, an occupancy grid refresh's bookkeeping) is compiled
on first use with ``torch.utils.cpp_extension.load`` into a folder of the default torch
extensions directory named after this build (:func:`build_directory`: the sources'
location, the interpreter and the torch it builds against, the flags), or into
``$LOKITALK_EXT_DIR`` when set, and loaded
once per process (without OpenMP, serially, if the compiler has no OpenMP). One folder per
build keeps two checkouts or virtual environments from rewriting each other's build files,
which made every new process of the other one compile again. If the build fails (no
compiler, no ninja, a compile error) :func:`load_kernel` returns ``None`` and warns exactly
once per process; callers then use the pure-PyTorch reference.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import threading
import warnings
from pathlib import Path

import torch
from torch.autograd.function import once_differentiable

from .grid_layout import GridLayout

__all__ = ["BUILD_FLAGS", "GridEncodeCpp", "build_directory", "grid_encode_cpp", "kernel_available",
           "load_kernel"]  # fmt: skip

_CSRC = Path(__file__).with_name("csrc")
_SOURCES = [_CSRC / "grid_encoder.cpp", _CSRC / "grid_kernels.cpp", _CSRC / "lattice_claim.cpp",
            _CSRC / "occupancy.cpp"]  # fmt: skip
_NAME = "lokitalk_grid_encoder"
# -ffp-contract=off keeps a*b+c un-fused so the kernel rounds like the PyTorch reference
BUILD_FLAGS = ["-O3", "-fopenmp", "-ffp-contract=off"]
_LOCK = threading.Lock()
_STATE: dict = {"tried": False, "ops": None, "warned": False}


def _cpp_extension():
    """``torch.utils.cpp_extension``, imported without the warning it logs on a machine with a
    CUDA toolkit but no CUDA device ("No CUDA runtime is found, using CUDA_HOME=..."): this
    kernel is CPU-only, so the line says nothing about it."""
    logger = logging.getLogger("torch.utils.cpp_extension")
    level = logger.level
    if not torch.cuda.is_available():
        logger.setLevel(logging.ERROR)
    try:
        import torch.utils.cpp_extension as cpp_extension
    finally:
        logger.setLevel(level)
    return cpp_extension


def build_directory(openmp: bool) -> str:
    """Where the kernel builds: ``$LOKITALK_EXT_DIR`` when set, else
    ``<torch extensions root>/<name>_<key>``, the key a digest of what the build depends on
    (source paths, interpreter, torch's location and version, the flags) so each checkout and
    virtual environment keeps its own build and reuses it."""
    ext_dir = os.environ.get("LOKITALK_EXT_DIR")
    if ext_dir:
        return ext_dir
    get_default_build_root = _cpp_extension().get_default_build_root
    parts = [*(str(p) for p in _SOURCES), sys.executable, str(Path(torch.__file__).parent),
             torch.__version__, str(openmp), *BUILD_FLAGS]  # fmt: skip
    key = hashlib.sha1("\n".join(parts).encode()).hexdigest()[:12]
    name = _NAME if openmp else _NAME + "_serial"
    return os.path.join(get_default_build_root(), f"{name}_{key}")


def _load(openmp: bool) -> None:
    load = _cpp_extension().load
    folder = build_directory(openmp)
    os.makedirs(folder, exist_ok=True)
    kwargs = {"build_directory": folder}
    load(
        name=_NAME if openmp else _NAME + "_serial",
        sources=[str(p) for p in _SOURCES],
        extra_cflags=BUILD_FLAGS if openmp else [f for f in BUILD_FLAGS if f != "-fopenmp"],
        extra_ldflags=["-fopenmp"] if openmp else [],
        is_python_module=False,
        verbose=False,
        **kwargs,
    )


def _build():
    """Compile (or reuse the cached build of) the kernel and return its ``torch.ops`` namespace.

    Tries with OpenMP first, then without it (a serial kernel, e.g. for a compiler without
    OpenMP); raises the first error if both fail.
    """
    try:
        _load(openmp=True)
    except Exception as first:
        try:
            _load(openmp=False)
        except Exception:
            raise first from None
    return torch.ops.lokitalk_grid


def load_kernel():
    """The compiled operators (``torch.ops.lokitalk_grid``), or ``None`` if the build failed.

    Builds at most once per process; a failure warns once (``RuntimeWarning``) and is cached.
    """
    with _LOCK:
        if not _STATE["tried"]:
            _STATE["tried"] = True
            try:
                _STATE["ops"] = _build()
            except Exception as err:  # any build/load failure means: use the reference
                _STATE["ops"] = None
                if not _STATE["warned"]:
                    _STATE["warned"] = True
                    warnings.warn(
                        f"lokitalk_plugins: the fused C++ CPU kernels (grid encoder, "
                        f"occupancy refresh) could not be built ({type(err).__name__}: {err}); "
                        f"falling back to their pure-PyTorch twins (correct, slower). Install "
                        f"a C++ compiler and ninja to enable them.",
                        RuntimeWarning,
                        stacklevel=3,
                    )
        return _STATE["ops"]


def kernel_available() -> bool:
    """Whether the fused CPU kernel builds and loads in this process."""
    return load_kernel() is not None


def _static_args(layout: GridLayout, interpolation: str):
    return (
        list(layout.offsets),
        list(layout.scales),
        list(layout.grid_res),
        layout.gridtype == "hash",
        layout.align_corners,
        interpolation == "smoothstep",
    )


class GridEncodeCpp(torch.autograd.Function):
    """Autograd wrapper: u [N, D] in [0, 1], embeddings [T, C] -> [N, L * C].

    Backward gives the table gradient (always when needed) and the gradient w.r.t. ``u``
    (when ``u`` requires grad). First-order only (use the torch backend for double backward).
    """

    @staticmethod
    def forward(ctx, u, embeddings, layout, interpolation, strategy):
        ops = load_kernel()
        args = _static_args(layout, interpolation)
        out = ops.forward(u, embeddings, *args)
        ctx.save_for_backward(u, embeddings)
        ctx.args, ctx.strategy = args, strategy
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        u, embeddings = ctx.saved_tensors
        ops = load_kernel()
        grad_out = grad_out.contiguous()
        grad_u = grad_emb = None
        if ctx.needs_input_grad[1]:
            rows, channels = embeddings.shape
            grad_emb = ops.backward_embeddings(grad_out, u, rows, channels, *ctx.args, ctx.strategy)
        if ctx.needs_input_grad[0]:
            grad_u = ops.backward_inputs(grad_out, u, embeddings, *ctx.args)
        return grad_u, grad_emb, None, None, None


def grid_encode_cpp(
    u: torch.Tensor,
    embeddings: torch.Tensor,
    layout: GridLayout,
    interpolation: str = "linear",
    strategy: int = 0,
) -> torch.Tensor:
    """Fused-kernel twin of :func:`grid_encode_torch` (CPU tensors, float32 or float64).

    u: [N, D] in [0, 1]; embeddings: [total, C] -> [N, L * C]. ``strategy`` for the table
    gradient: 0 auto, 1 one thread per level (no atomics), 2 point-parallel with atomics.
    Raises ``RuntimeError`` if the kernel is unavailable (callers check :func:`load_kernel`).
    """
    if load_kernel() is None:
        raise RuntimeError("the fused C++ grid encoder is not available in this process")
    if u.shape[-1] != layout.input_dim:
        raise ValueError(f"expected [N, {layout.input_dim}] coordinates, got {tuple(u.shape)}")
    u = u.to(embeddings.dtype).contiguous()
    return GridEncodeCpp.apply(u, embeddings.contiguous(), layout, interpolation, strategy)
