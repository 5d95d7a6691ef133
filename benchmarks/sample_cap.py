"""Diagnostic: does the cap of occupied samples a ray stop rays before they reach the surface?

Training and inference keep only the first ``max_samples`` occupied samples of each ray (16,
the originals' ``max_steps``). Where the occupancy grid holds many occupied cells in front of
the surface (a larger box, the torso in the 3D field, a refresh that follows a deformation),
those samples may be used up before the ray reaches it, and whatever lies behind shows the
background. For each trained workspace this renders the val frames of its studio folder with
each cap of ``--caps`` (0: no cap, every ray marched to its far distance) and reports, inside
each studio region (head, torso + neck, background):

- ``psnr``: the region's PSNR at that cap (a field fitted at one cap rendered at another may
  show density its training never reached: read the trained cap's row as the model's own);
- ``alpha``: the mean accumulated opacity of the region's rays (1 - transmittance left); it
  can only grow with the cap, so a head whose alpha rises from the trained cap to no cap is
  being cut short;
- ``samples``: the mean number of occupied samples a ray meets with no cap, and
  ``over_cap``: the share of the region's rays that meet more than the trained cap.

    python benchmarks/sample_cap.py WORKSPACE [WORKSPACE ...] --out DIR [--caps 16 32 0]
        [--every 3] [--force]

Writes ``sample_cap.json`` and ``sample_cap.md`` to ``--out`` (refused if they exist, unless
``--force``). The workspaces must have been trained on a studio folder (its ground-truth
labels split the regions); the harness's ``--work`` holds them under ``runs/``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness.measures import workspace_args  # noqa: E402

__all__ = ["cap_profile", "markdown", "main"]

REGIONS = ("head", "torso+neck", "background")


def _occupied_counts(system, frame) -> torch.Tensor:  # noqa: F821
    """[H * W] occupied samples each pixel's ray meets with no cap (the inference box)."""
    import torch

    from lokitalk_plugins.render.rays import get_rays
    from lokitalk_plugins.render.sampling import march_rays

    r = system.renderer
    counts = []
    for start in range(0, frame.H * frame.W, r_chunk := 4096):
        index = torch.arange(start, min(start + r_chunk, frame.H * frame.W))
        o, d = get_rays(frame.c2w, frame.intrinsics.tolist(), frame.H, frame.W, index)
        near, far = r._near_far(o, d, training=False)
        counts.append(march_rays(r.grid, o, d, near, far, r.step, None).counts())
    return torch.cat(counts)


def cap_profile(system, val, truth, caps, every: int = 3) -> dict:
    """Region -> cap -> {psnr, alpha}, plus region -> {samples, over_cap} (see the module doc)
    over every ``every``-th frame of ``val``. The system's cap is restored afterwards."""
    import torch
    from harness.measures import region_masks_of

    renderer = system.renderer
    trained = int(renderer.max_samples)
    saved = (renderer.max_samples, renderer.cap_inference)
    sums = {reg: {c: [0.0, 0.0, 0] for c in caps} for reg in REGIONS}  # err, alpha, pixels
    occ = {reg: [0.0, 0, 0] for reg in REGIONS}  # samples, rays over the cap, rays
    try:
        with torch.no_grad():
            for i in range(0, len(val), every):
                frame = val[i]
                masks = region_masks_of(frame, truth)
                counts = _occupied_counts(system, frame).reshape(frame.H, frame.W).numpy()
                for reg in REGIONS:
                    m = masks[reg]
                    occ[reg][0] += float(counts[m].sum())
                    occ[reg][1] += int((counts[m] > trained).sum())
                    occ[reg][2] += int(m.sum())
                for c in caps:
                    renderer.max_samples, renderer.cap_inference = (
                        (c, True) if c else (trained, False)
                    )
                    out = system.render_frame(frame)
                    err = ((out["rgb"] - frame.image) ** 2).mean(-1).numpy()
                    alpha = out["alpha"].reshape(frame.H, frame.W).numpy()
                    for reg in REGIONS:
                        m = masks[reg]
                        s = sums[reg][c]
                        s[0] += float(err[m].sum())
                        s[1] += float(alpha[m].sum())
                        s[2] += int(m.sum())
    finally:
        renderer.max_samples, renderer.cap_inference = saved
    out = {"trained_cap": trained, "regions": {}}
    for reg in REGIONS:
        n = occ[reg][2]
        out["regions"][reg] = {
            "samples": occ[reg][0] / n if n else None,
            "over_cap": occ[reg][1] / n if n else None,
            "caps": {str(c): ({"psnr": float(-10 * np.log10(max(e / k, 1e-10))), "alpha": a / k}
                              if k else {"psnr": None, "alpha": None})
                     for c, (e, a, k) in sums[reg].items()},
        }  # fmt: skip
    return out


def _cap_name(c) -> str:
    return "no cap" if str(c) == "0" else f"cap {c}"


def markdown(report: dict) -> str:
    caps = report["caps"]
    head = ["workspace", "region", "samples (no cap)", "share over the trained cap"]
    head += [f"{_cap_name(c)}: {k}" for c in caps for k in ("PSNR", "alpha")]
    lines = [
        "# The cap of occupied samples a ray: where rays stop before the surface",
        "",
        f"`{report['command']}` at commit `{report['commit']}` ({report['machine']}).",
        "",
        "| " + " | ".join(head) + " |",
        "|---" * len(head) + "|",
    ]

    def f(v, spec):
        return "n/a" if v is None else format(v, spec)

    for row in report["results"]:
        for reg, r in row["profile"]["regions"].items():
            cells = [row["label"], reg, f(r["samples"], ".1f"), f(r["over_cap"], ".3f")]
            for c in caps:
                cell = r["caps"][str(c)]
                cells += [f(cell["psnr"], ".2f"), f(cell["alpha"], ".3f")]
            lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Every region's figures pool the pixels of every "
        f"{report['every']}-th val frame. Samples: occupied samples a ray meets with no cap; "
        "share over the trained cap: its rays that meet more than the cap the model was "
        "trained with (`trained_cap` in the JSON). Alpha: mean accumulated opacity; it only "
        "grows with the cap. A model rendered at a cap it was not trained with can show "
        "density its training never reached: its own cap's PSNR is the model's.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    workspace_args(p, "workspaces", "sample_cap")
    p.add_argument("--caps", type=int, nargs="+", default=[16, 32, 0],
                   help="caps to render at (0: no cap)")  # fmt: skip
    args = p.parse_args(argv)
    if any(c < 0 for c in args.caps):
        p.error("--caps must be >= 0 (0: no cap)")
    from harness.measures import studio_workspaces, write_diagnostic

    results = []
    for ws, system, stage, truth, val in studio_workspaces(p, args, "sample_cap"):
        prof = cap_profile(system, val, truth, args.caps, args.every)
        results.append({"workspace": str(ws), "label": ws.name, "stage": stage, "profile": prof})
        print(f"{ws.name}: head alpha " + ", ".join(
            f"{_cap_name(c)} {prof['regions']['head']['caps'][str(c)]['alpha']:.3f}"
            for c in args.caps))  # fmt: skip
    write_diagnostic("sample_cap", argv, args.out, markdown, caps=args.caps, every=args.every,
                     results=results)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
