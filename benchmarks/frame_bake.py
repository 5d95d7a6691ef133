"""Benchmark: the per-frame bake of the point map (``inference_fast_path(frame_bake=k)``) on
trained workspaces: what it costs in PSNR and what it saves per sample.

For each workspace (a trained model with RSDF, e.g. Table 2's O+D+R seeds) and each setting
(``fast``: the inference fast path without the bake; ``bake k``: the point map baked once per
frame on the occupied cells' vertices, each occupancy cell cut into k^3 lattice cells):

- **quality**: every ``--every``-th val frame rendered, PSNR per studio region (head, torso +
  neck, background) and over the whole frame, pooled over the frames, and each setting's
  change against ``fast`` (paired: the same workspace, frames and grid);
- **cost per sample on a real frame's samples**: the samples the renderer asks for in one val
  frame (recorded from the fast path's forward calls: positions, directions and the frame's
  signals) go, in one call each and one thread, through the bare backbone field (the adapter's
  field under the same static condition: what the backbone alone computes at those points),
  the wrapped fast path, and the wrapped fast path with each bake (the bake dropped before every
  call, so each call pays for one frame's bake); median process seconds of ``--repeats``
  rounds, each setting once a round; ratios to the bare field (issue 14's per-sample target:
  at most 1.25x). Also the frame's sample count, the occupied cells and the baked vertices.

    python benchmarks/frame_bake.py WS [WS ...] --out DIR [--subdivisions 1 2] [--every 3]
        [--repeats 7] [--precision float32|bfloat16] [--force]

Writes ``frame_bake.json`` and ``.md`` to ``--out`` (refused if they exist, unless
``--force``). Without ID-AKT in the workspaces the map is RSDF's alone; with a fine-tuned
identity Δx_id is baked with it (its per-sample MLP then leaves the path too).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from field_knockout import REGIONS, _cell, _mean_std, _psnr  # noqa: E402
from harness.measures import workspace_args  # noqa: E402
from render_overhead import time_side_by_side  # noqa: E402

__all__ = [
    "main",
    "markdown",
    "quality",
    "record_samples",
    "sample_costs",
    "scaled_frame",
    "summarise",
]


def _settings(subdivisions) -> list[tuple[str, int]]:
    return [("fast", 0)] + [(f"bake {k}", k) for k in subdivisions]


def quality(system, val, truth, subdivisions, precision: str, every: int) -> dict:
    """setting -> region (and 'frame') -> PSNR over every ``every``-th val frame, plus
    'seconds' (the renders' process seconds) and, for bakes, the last bake's vertex count and
    the share of read points that fell back to the exact map."""
    import torch
    from harness.measures import region_masks_of

    model = system.model
    out = {}
    for name, k in _settings(subdivisions):
        model.inference_fast_path(bake_resolution=0, precision=precision, frame_bake=k)
        sums = {r: [0.0, 0] for r in (*REGIONS, "frame")}
        t0 = time.process_time()
        with torch.no_grad():
            for i in range(0, len(val), every):
                frame = val[i]
                err = ((system.render_frame(frame)["rgb"] - frame.image) ** 2).mean(-1).numpy()
                masks = region_masks_of(frame, truth)
                for reg in REGIONS:
                    sums[reg][0] += float(err[masks[reg]].sum())
                    sums[reg][1] += int(masks[reg].sum())
                sums["frame"][0] += float(err.sum())
                sums["frame"][1] += int(err.size)
        row = {r: _psnr(e, n) for r, (e, n) in sums.items()}
        row["seconds"] = time.process_time() - t0
        if k:
            st = model.frame_bake.stats
            row["vertices"], row["bakes"] = st["vertices"], st["bakes"]
            row["exact_share"] = st["exact_points"] / max(st["points"], 1)
        out[name] = row
    model.inference_fast_path(bake_resolution=0, precision=precision)
    return out


def scaled_frame(frame, scale: int):
    """``frame`` rendered at ``scale`` times its size: the intrinsics times ``scale`` (pixel
    centres stay where they were) and the image and background repeated ``scale`` x
    ``scale``; the same camera, signals and frame otherwise."""
    import dataclasses

    if scale == 1:
        return frame

    def up(img):
        return img.repeat_interleave(scale, dim=-3).repeat_interleave(scale, dim=-2)

    bg = frame.background
    bg = up(bg) if bg.dim() == 3 else bg
    return dataclasses.replace(frame, image=up(frame.image), background=bg,
                               intrinsics=frame.intrinsics * scale)  # fmt: skip


def record_samples(system, frame, scale: int = 1) -> dict:
    """The forward calls of one fast-path render of ``frame`` (at ``scale`` times its size,
    :func:`scaled_frame`): x [S, 3] and d [S, 3] (all its samples) and the frame's signals
    (enc_a, eye, code, pose, the same in every call)."""
    import torch

    calls = []

    def keep(_module, args, kwargs):
        calls.append((args, kwargs))

    hook = system.model.register_forward_pre_hook(keep, with_kwargs=True)
    try:
        with torch.no_grad():
            system.render_frame(scaled_frame(frame, scale))
    finally:
        hook.remove()
    args, kwargs = calls[0]
    x = torch.cat([a[0] for a, _ in calls])
    d = torch.cat([a[1] for a, _ in calls])
    return {"x": x, "d": d, "signals": tuple(args[2:5]), "pose": kwargs.get("pose"),
            "calls": len(calls)}  # fmt: skip


def sample_costs(system, samples: dict, subdivisions, precision: str, repeats: int,
                 chunk: int = 65536) -> dict:  # fmt: skip
    """Median process seconds of one frame's samples in calls of ``chunk`` (as a renderer
    makes them): the bare backbone field, the wrapped fast path and each bake (paid once a
    frame), and their ratios to the bare field; with the sample count, the occupied cells and
    the baked vertices."""
    import torch
    from render_overhead import in_chunks

    model = system.model
    x, d, pose = samples["x"], samples["d"], samples["pose"]
    enc_a, eye, code = samples["signals"]
    enc_b, eye_b = model.backbone_condition(model.split_audio(enc_a)[0], eye)
    bare = in_chunks(lambda xs, ds: model.adapter.field(xs, ds, enc_b, eye_b, code), chunk)
    fns = {"bare": lambda: bare(x, d)}
    vertices = {}
    for name, k in _settings(subdivisions):

        def switch(k=k):  # the setting switched on (cheap): a new bake, paid in every call
            model.inference_fast_path(bake_resolution=0, precision=precision, frame_bake=k)

        run = in_chunks(lambda xs, ds: model(xs, ds, enc_a, eye, code, pose=pose), chunk,
                        start=switch)  # fmt: skip

        def call(name=name, k=k, run=run):
            run(x, d)
            if k:
                vertices[name] = model.frame_bake.stats["vertices"]

        fns[name] = call
    with torch.no_grad():
        secs = time_side_by_side(fns, repeats, time.process_time)
    model.inference_fast_path(bake_resolution=0, precision=precision)
    return {"samples": int(x.shape[0]), "occupied_cells": int(model.grid.occupancy.sum()),
            "grid_resolution": int(model.grid.resolution), "chunk": chunk, "seconds": secs,
            "ratio_to_bare": {n: s / secs["bare"] for n, s in secs.items()},
            "vertices": vertices}  # fmt: skip


def k_of(name: str) -> int:
    """A setting's lattice cells per occupancy-cell edge ("bake 3" -> 3; "fast" -> 0)."""
    return int(name.split()[1]) if name.startswith("bake") else 0


def summarise(results: list[dict], subdivisions) -> dict:
    """Over the workspaces: each setting's PSNR per region, its change against ``fast`` and
    its per-sample ratio to the bare field, mean ± std."""
    out = {}
    for name, _ in _settings(subdivisions):
        q = [r["quality"] for r in results]
        c = [r["costs"] for r in results]
        out[name] = {
            "psnr": {reg: _mean_std([p[name][reg] for p in q]) for reg in (*REGIONS, "frame")},
            "change": {
                reg: _mean_std([p[name][reg] - p["fast"][reg] for p in q])
                for reg in (*REGIONS, "frame")
            },  # fmt: skip
            "ratio_to_bare": _mean_std([s["ratio_to_bare"][name] for s in c]),
        }
    return out


def markdown(report: dict) -> str:
    s, subs = report["summary"], report["subdivisions"]
    n = len(report["results"])
    lines = [
        f"# The per-frame bake of the point map ({n} workspace(s))",
        "",
        f"`{report['command']}` at commit `{report['commit']}` ({report['machine']}); "
        f"plug-ins in {report['precision']}.",
        "",
        "| setting | per-sample cost / bare field | PSNR frame | change frame | change head "
        "| change torso + neck | change background |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, _ in _settings(subs):
        row = s[name]
        lines.append(
            f"| {name} | {_cell(row['ratio_to_bare'])}x | {_cell(row['psnr']['frame'])} | "
            + " | ".join(_cell(row["change"][r]) for r in ("frame", *REGIONS))
            + " |"
        )
    lines += [
        "",
        "Mean ± std over the workspaces (seeds). PSNR pools the pixels of one val frame in "
        f"{report['every']} (at the folder's size) by the studio's labels; change: the "
        "setting minus `fast` (the fast path without a bake), same workspace, frames and "
        "grid. Per-sample cost: one call on all the samples one val frame's render asks "
        "for, in calls of 65,536 samples as a renderer makes them, the bake paid once a "
        "frame, against the bare backbone field on the same points (median process seconds, "
        "one thread, tuned allocator; the frame rendered at "
        f"{report.get('scale', 1)}x the studio's size for the timing).",
        "",
        "| workspace | samples a frame | occupied cells | baked vertices | "
        + " | ".join(f"{name}: x bare" for name, _ in _settings(subs))
        + " |",
        "|---|---|---|---|" + "---|" * len(_settings(subs)),
    ]
    for r in report["results"]:
        c = r["costs"]
        verts = ", ".join(f"{v} (bake {k_of(n)})" for n, v in c["vertices"].items())
        lines.append(
            f"| `{r['label']}` | {c['samples']} | {c['occupied_cells']} of "
            f"{c['grid_resolution']}³ | {verts} | "
            + " | ".join(f"{c['ratio_to_bare'][name]:.2f}" for name, _ in _settings(subs))
            + " |"
        )
    lines.append("")
    return "\n".join(lines)


def main(argv=None, reexec: bool = False) -> int:
    """The command line; ``reexec`` (the script's own entry point): time in a process started
    with ``allocator_env()``, as ``render_overhead.py`` does (see its module doc)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    workspace_args(p, "workspaces with RSDF (e.g. Table 2's O+D+R seeds)", "frame_bake")
    p.add_argument(
        "--subdivisions",
        type=int,
        nargs="+",
        default=[1, 2],
        help="the bakes measured: lattice cells per occupancy-cell edge (1..8)",
    )
    p.add_argument("--repeats", type=int, default=7, help="timing rounds (median)")
    p.add_argument("--scale", type=int, default=1,
                   help="the timed frame rendered at this many times its size (4: 512 px "
                   "from the studio's 128); the PSNR is at the folder's size")  # fmt: skip
    p.add_argument("--precision", choices=("float32", "bfloat16"), default="float32",
                   help="the plug-ins' arithmetic on every path")  # fmt: skip
    args = p.parse_args(argv)
    if any(not 1 <= k <= 8 for k in args.subdivisions):
        p.error(f"--subdivisions: each must be in 1..8, got {args.subdivisions}")
    if not 1 <= args.scale <= 8:
        p.error(f"--scale must be in 1..8, got {args.scale}")
    if args.repeats < 1:
        p.error(f"--repeats must be >= 1, got {args.repeats}")
    from harness.measures import studio_workspaces, write_diagnostic

    from lokitalk_plugins.train.allocator import allocator_env, allocator_state

    if reexec and allocator_state() != "tuned":
        sys.stdout.flush()
        script = str(Path(__file__).resolve())
        os.execve(sys.executable, [sys.executable, script, *sys.argv[1:]], allocator_env())

    results = []
    for ws, system, stage, truth, val in studio_workspaces(p, args, "frame_bake"):
        if getattr(system.model, "rsdf", None) is None:
            p.error(f"{ws}: its model has no deformation field to bake (an O+D, O+D+R or "
                    "LokiTalk workspace has)")  # fmt: skip
        system.eval()
        q = quality(system, val, truth, args.subdivisions, args.precision, args.every)
        system.model.inference_fast_path(bake_resolution=0, precision=args.precision)
        samples = record_samples(system, val[0], args.scale)
        c = sample_costs(system, samples, args.subdivisions, args.precision, args.repeats)
        results.append({"workspace": str(ws), "label": ws.name, "stage": stage,
                        "quality": q, "costs": c})  # fmt: skip
        print(f"{ws.name}: {c['samples']} samples a frame, " + ", ".join(
            f"{name} {c['ratio_to_bare'][name]:.2f}x bare, frame PSNR {q[name]['frame']:.2f}"
            for name, _ in _settings(args.subdivisions)))  # fmt: skip
    write_diagnostic("frame_bake", argv, args.out, markdown, subdivisions=args.subdivisions,
                     every=args.every, repeats=args.repeats, precision=args.precision,
                     scale=args.scale, allocator=allocator_state(),
                     results=results, summary=summarise(results, args.subdivisions))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(reexec=True))
