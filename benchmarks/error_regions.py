"""Where trained workspaces' val error lies, and where their fields put alpha, by studio region.

    python benchmarks/error_regions.py WORKSPACE [WORKSPACE ...] [--every 3] [--near 3]
        [--labels] [--uncapped] [--reuse] [--out results/NAME.json [--force]]

Renders the val frames of each workspace trained on a studio folder (every ``--every``-th
frame) and splits the squared colour error by the ground-truth labels: head (face, hair, lips,
mouth, teeth, eyes), torso + neck, background. Per region it also reports the field's mean
accumulated alpha, the share of pixels it covers (alpha > 0.1), the share of the region's
error within ``--near`` px of the head, the covered pixels further from the head (floaters),
and the PSNR of the frame's background image alone; with ``--labels`` the head is also split by
the studio's labels (face, hair, lips, mouth, teeth, eyes: is a face translucent, where is the
error inside the head?) and torso + neck into the neck and the torso (does the head's field draw
the neck, and better or worse than the background image alone?), each share of the frame's
error. Each workspace's occupancy grid is reported too (its valid cells' mean density, the
threshold min(mean, density_thresh) a cell must exceed, the occupied share of all cells): a
soft field pulls the threshold down, more cells count as occupied, and the march's cap of
occupied samples a ray is spent before the surface. ``--uncapped`` renders with that cap lifted
at inference (every ray marched to its far distance): the alpha a field holds behind the
samples it was trained on. Prints a line per region and writes
WORKSPACE/error_regions.json (``error_regions_uncapped.json`` with ``--uncapped``); with
``--out``, one JSON and a markdown table (``.md`` beside it) over all workspaces, seeds of one
method (a harness row's workspaces ``ws_<row>``, ``ws_<row>_seed_<k>``) given as mean ± std.
With ``--reuse`` a workspace's own report stands in for rendering it again where it was
measured with the same options after the workspace last changed: measure a few workspaces per
run side by side, then write one ``--out`` over all.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from pathlib import Path

import torch

# the regions that tile the frame (``--labels`` adds "head: <label>" regions, which split the head)
REGIONS = ("head", "torso+neck", "background")
STATS = ("psnr", "mean_alpha", "covered_share", "near_head_error_share", "covered_far_share",
         "background_image_psnr")  # fmt: skip


def method_of(workspace: Path) -> str:
    """The harness row a workspace belongs to: the ``method`` of the ``row_*.json`` beside it
    that names it, else the folder's name without ``ws_`` and ``_seed_<k>``."""
    for row in sorted(workspace.parent.glob("row_*.json")):
        try:
            data = json.loads(row.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and Path(str(data.get("workspace", ""))).name == workspace.name:
            return str(data.get("method") or workspace.name)
    return re.sub(r"_seed_\d+$", "", re.sub(r"^ws_", "", workspace.name))


def measure(
    workspace: Path, every: int, near: int, labels: bool = False, uncapped: bool = False
) -> dict:
    """One workspace's region sums and summary (harness.measures.region_alpha) and its
    occupancy grid's summary; uncapped: rendered with the cap of occupied samples a ray lifted
    at inference."""
    from harness.measures import region_alpha, region_alpha_summary

    from lokitalk_plugins.commands.workspace import load_dataset, load_system
    from lokitalk_plugins.data.studio import load_truth

    system, run, stage = load_system(workspace)
    if uncapped:
        system.renderer.cap_inference = False
    val = load_dataset(run, stage, "val", progress=False)
    truth = load_truth(run["data"])
    sums: dict = {}
    frames = list(range(0, len(val), every))
    with torch.no_grad():
        for i in frames:
            frame = val[i]
            out = system.render_frame(frame)
            split = region_alpha(out["rgb"], out["alpha"], frame, truth, near, labels)
            for k, s in split.items():
                acc = sums.setdefault(k, dict.fromkeys(s, 0))
                for key, v in s.items():
                    acc[key] += v
    total = sum(s["sq_error"] for k, s in sums.items() if k in REGIONS)  # the frame's
    summary = region_alpha_summary(sums)
    for k, s in summary.items():
        s["error_share"] = sums[k]["sq_error"] / total if total > 0 else None
    return {"workspace": str(workspace), "method": method_of(workspace), "stage": stage,
            "frames": frames, "every": every, "near_px": near, "labels": labels,
            "uncapped": uncapped, "grid": system.model.grid.summary(), "sums": sums,
            "regions": summary}  # fmt: skip


def own_report(workspace: Path, uncapped: bool) -> Path:
    """Where a workspace keeps its own report: ``error_regions.json``, or
    ``error_regions_uncapped.json`` for ``--uncapped`` (so each can be reused)."""
    return workspace / ("error_regions_uncapped.json" if uncapped else "error_regions.json")


def reusable(
    workspace: Path, every: int, near: int, labels: bool, uncapped: bool = False
) -> dict | None:
    """The workspace's own report (:func:`own_report`) when it was measured with the same
    options and after every file of the workspace but its reports was written (the trained
    model unchanged since); else None."""
    path = own_report(workspace, uncapped)
    try:
        r = json.loads(path.read_text())
        stamp = path.stat().st_mtime
        newest = max((p.stat().st_mtime for p in workspace.rglob("*")
                      if p.is_file() and not p.name.startswith("error_regions")),
                     default=0.0)  # fmt: skip
    except (OSError, ValueError):
        return None
    same = ((r.get("every"), r.get("near_px"), r.get("labels"), r.get("uncapped", False))
            == (every, near, labels, uncapped))  # fmt: skip
    return r if isinstance(r, dict) and same and stamp >= newest else None


def by_method(results: list) -> dict:
    """method -> region -> statistic -> (mean, std, n) over its workspaces (seeds)."""
    out: dict = {}
    for r in results:
        for region, stats in r["regions"].items():
            for key, v in stats.items():
                if v is not None:
                    out.setdefault(r["method"], {}).setdefault(region, {}).setdefault(
                        key, []).append(v)  # fmt: skip
    return {m: {reg: {k: (statistics.fmean(v), statistics.stdev(v) if len(v) > 1 else 0.0,
                          len(v)) for k, v in st.items()} for reg, st in regs.items()}
            for m, regs in out.items()}  # fmt: skip


def markdown(results: list, command: str, at: str = "") -> str:
    near = results[0]["near_px"] if results else 3
    heads = ("PSNR", "mean alpha", "covered (alpha > 0.1)", f"error within {near} px of head",
             f"covered, > {near} px from head", "background image alone, PSNR")  # fmt: skip
    lines = [f"# Error and alpha by studio region\n\nCommand: `{command}`" + (
                 f" (commit {at})" if at else "") + "\n",
             "Mean ± std over each method's workspaces (seeds); shares are of the region's "
             "pixels, the error share of its squared error." + (
                 " Rendered with the cap of occupied samples a ray lifted at inference "
                 "(`--uncapped`)." if results and results[0].get("uncapped") else "") + "\n",
             "| method | region | n | " + " | ".join(heads) + " |",
             "|---|---|---|" + "---|" * len(heads)]  # fmt: skip
    pct = {"covered_share", "near_head_error_share", "covered_far_share"}
    for method, regions in by_method(results).items():
        for region, stats in regions.items():
            cells = []
            for k in STATS:
                if k not in stats:
                    cells.append("n/a")
                    continue
                m, s, n = stats[k]
                scale, unit = (100.0, "%") if k in pct else (1.0, "")
                digits = 3 if k == "mean_alpha" else (1 if k in pct else 2)
                cells.append(_cell(m, s, n, digits, scale, unit))
            n = stats["psnr"][2] if "psnr" in stats else 0
            lines.append(f"| {method} | {region} | {n} | " + " | ".join(cells) + " |")
    grids = grid_by_method(results)
    if grids:
        lines += [
            "\nOccupancy grid of each method's workspaces: its valid cells' mean density, "
            "the threshold a cell must exceed (min(mean, density_thresh)), the occupied "
            "share of all cells.\n",
            "| method | n | mean density | threshold | occupied |",
            "|---|---|---|---|---|",
        ]
        for method, g in grids.items():
            cells = []
            for k in ("mean_density", "threshold", "occupied_share"):
                v = g[k]
                s = statistics.stdev(v) if len(v) > 1 else 0.0
                share = k == "occupied_share"
                cells.append(_cell(statistics.fmean(v), s, len(v), 1 if share else 3,
                                   100.0 if share else 1.0, "%" if share else ""))  # fmt: skip
            lines.append(f"| {method} | {len(g['threshold'])} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def grid_by_method(results: list) -> dict:
    """method -> grid statistic -> its values over the method's workspaces (results written
    before the grid was reported are left out)."""
    out: dict = {}
    for r in results:
        for k, v in (r.get("grid") or {}).items():
            out.setdefault(r["method"], {}).setdefault(k, []).append(v)
    return out


def _cell(m: float, s: float, n: int, digits: int, scale: float = 1.0, unit: str = "") -> str:
    """A markdown cell: the mean (× scale, with its unit), "± std" where n > 1."""
    return f"{m * scale:.{digits}f}{unit}" + (f" ± {s * scale:.{digits}f}" if n > 1 else "")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspaces", type=Path, nargs="+", metavar="WORKSPACE")
    parser.add_argument("--every", type=int, default=3, help="use every n-th val frame")
    parser.add_argument("--near", type=int, default=3,
                        help="pixels around the head counted as its outline")  # fmt: skip
    parser.add_argument("--out", type=Path, help="one JSON (and .md beside it) for all")
    parser.add_argument("--force", action="store_true", help="overwrite --out")
    parser.add_argument("--reuse", action="store_true",
                        help="take a workspace's own report instead of rendering it "
                        "again where it was measured with the same --every, --near, "
                        "--labels and --uncapped after the workspace last changed (runs of a "
                        "few workspaces each, side by side, then one --out over all)")  # fmt: skip
    parser.add_argument("--labels", action="store_true",
                        help="also split the head by the studio's labels (face, hair, lips, "
                        "mouth, teeth, eyes) and torso + neck into neck and torso")  # fmt: skip
    parser.add_argument("--uncapped", action="store_true",
                        help="render with the cap of occupied samples a ray lifted at "
                        "inference: the alpha a field holds behind the samples it trained "
                        "on")  # fmt: skip
    args = parser.parse_args(argv)
    if args.every < 1 or args.near < 0:
        parser.error("--every must be at least 1 and --near at least 0")
    for ws in args.workspaces:
        if not (ws / "run.json").is_file():
            parser.error(f"{ws}: no run.json; give a workspace `lokitalk train` wrote")
    if args.out is not None and not args.force:
        for p in (args.out, args.out.with_suffix(".md")):
            if p.exists():
                parser.error(f"{p} exists; pass --force to overwrite it or choose another --out")
    results = []
    for ws in args.workspaces:
        r = reusable(ws, args.every, args.near, args.labels, args.uncapped) if args.reuse else None
        if r is None:
            r = measure(ws, args.every, args.near, args.labels, args.uncapped)
            own_report(ws, args.uncapped).write_text(json.dumps(r, indent=1))
        results.append(r)
        g = r.get("grid")  # None in a report written before the grid was reported
        print(f"{r['method']} ({ws}):" + ("" if g is None else (
            f" grid mean density {g['mean_density']:.3f}, threshold {g['threshold']:.3f}, "
            f"{100 * g['occupied_share']:.1f}% of cells occupied")))  # fmt: skip
        for k, s in r["regions"].items():
            if s["psnr"] is None:  # a label no scored frame shows
                print(f"  {k:>17}: no pixels")
                continue
            print(f"  {k:>17}: {100 * (s['error_share'] or 0):5.1f}% of the squared error, "
                  f"PSNR {s['psnr']:.2f}, mean alpha {s['mean_alpha']:.3f}, covered "
                  f"{100 * s['covered_share']:.1f}%")  # fmt: skip
    if args.out is not None:
        from harness.common import commit, machine

        command = "python benchmarks/error_regions.py " + " ".join(
            sys.argv[1:] if argv is None else argv)  # fmt: skip
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"command": command, "commit": commit(),
                                        "machine": machine(torch.get_num_threads()),
                                        "results": results,
                                        "by_method": by_method(results),
                                        "grid_by_method": grid_by_method(results)},
                                       indent=1))  # fmt: skip
        args.out.with_suffix(".md").write_text(markdown(results, command, commit()))
        print(f"wrote {args.out} and {args.out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
