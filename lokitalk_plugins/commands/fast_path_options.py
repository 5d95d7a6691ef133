"""The inference fast path from the command line (``lokitalk render`` and ``lokitalk eval``).

``--fast-path`` switches a wrapped model's inference fast path on (no per-point maps; a
fine-tuned identity's Δx_id read from a baked lattice), ``--plugin-precision`` sets the
plug-ins' arithmetic on it (float32, bfloat16 on a CPU with the instructions, or auto) and
``--frame-bake K`` adds the per-frame bake of the point map (K lattice cells per occupancy-cell
edge; an approximation, see ``adapters/frame_bake.py``); either of the last two implies the
first. Without them the reference path renders, as before.
"""

from __future__ import annotations

__all__ = ["add_fast_path_options", "apply_fast_path", "fast_path_settings"]


def add_fast_path_options(parser) -> None:
    """``--fast-path``, ``--plugin-precision`` and ``--frame-bake`` (see the module doc)."""
    parser.add_argument("--fast-path", action="store_true",
                        help="the plug-ins' inference fast path: no per-point maps, a fine-tuned "
                             "identity's offset from a baked lattice")  # fmt: skip
    parser.add_argument("--plugin-precision", choices=("float32", "bfloat16", "auto"),
                        default=None,
                        help="the plug-ins' arithmetic on the fast path (implies --fast-path; "
                             "bfloat16 needs a CPU with the instructions)")  # fmt: skip
    parser.add_argument("--frame-bake", type=int, default=None, metavar="K",
                        help="bake each frame's point map on a lattice of K cells per "
                             "occupancy-cell edge (1..8; implies --fast-path; an "
                             "approximation: benchmarks/frame_bake.py measures it)")  # fmt: skip


def fast_path_settings(args) -> dict | None:
    """The keyword arguments of ``inference_fast_path`` the options ask for, or None (the
    reference path)."""
    precision, bake = getattr(args, "plugin_precision", None), getattr(args, "frame_bake", None)
    if not (getattr(args, "fast_path", False) or precision is not None or bake is not None):
        return None
    return {"precision": precision or "float32", "frame_bake": bake or 0}


def apply_fast_path(system, args) -> str | None:
    """Switch the options' fast path on ``system.model`` -> None, or a one-line error naming
    the option (a model without a fast path, a frame bake out of range, a precision the CPU
    lacks)."""
    settings = fast_path_settings(args)
    if settings is None:
        return None
    model = system.model
    if not hasattr(model, "inference_fast_path"):
        return (f"--fast-path: the workspace's model ({type(model).__name__}) has no plug-in "
                "fast path (a backbone wrapped with plug-ins has); drop the option")  # fmt: skip
    bake = getattr(args, "frame_bake", None)
    if bake is not None and not 1 <= bake <= 8:  # 0 too: leave the option out for no bake
        return f"--frame-bake {bake}: expected 1..8 (lattice cells per occupancy-cell edge)"
    system.eval()
    try:
        model.inference_fast_path(**settings)
    except ValueError as err:
        return f"--fast-path: {err}"
    return None
