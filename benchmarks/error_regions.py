"""Where trained workspaces' val error lies, and where their fields put alpha, by studio region.

    python benchmarks/error_regions.py WORKSPACE [WORKSPACE ...] [--every 3] [--near 3]
        [--labels] [--reuse] [--out results/NAME.json [--force]]

Renders the val frames of each workspace trained on a studio folder (every ``--every``-th
frame) and splits the squared colour error by the ground-truth labels: head (face, hair, lips,
mouth, teeth, eyes), torso + neck, background. Per region it also reports the field's mean
accumulated alpha, the share of pixels it covers (alpha > 0.1), the share of the region's
error within ``--near`` px of the head, the covered pixels further from the head (floaters),
and the PSNR of the frame's background image alone; with ``--labels`` the head is also split by
the studio's labels (face, hair, lips, mouth, teeth, eyes: is a face translucent, where is the
error inside the head?) and torso + neck into the neck and the torso (does the head's field draw
the neck, and better or worse than the background image alone?), each share of the frame's
error. Prints a line per region and writes
WORKSPACE/error_regions.json; with ``--out``, one JSON and a markdown table (``.md`` beside
it) over all workspaces, seeds of one method (a harness row's workspaces ``ws_<row>``,
``ws_<row>_seed_<k>``) given as mean ± std. With ``--reuse`` a workspace's own
``error_regions.json`` stands in for rendering it again where it was measured with the same
options after the workspace last changed: measure a few workspaces per run side by side, then
write one ``--out`` over all.
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


def measure(workspace: Path, every: int, near: int, labels: bool = False) -> dict:
    """One workspace's region sums and summary (harness.measures.region_alpha)."""
    from harness.measures import region_alpha, region_alpha_summary

    from lokitalk_plugins.commands.workspace import load_dataset, load_system
    from lokitalk_plugins.data.studio import load_truth

    system, run, stage = load_system(workspace)
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
            "frames": frames, "every": every, "near_px": near, "labels": labels, "sums": sums,
            "regions": summary}  # fmt: skip


def reusable(workspace: Path, every: int, near: int, labels: bool) -> dict | None:
    """The workspace's own ``error_regions.json`` when it was measured with the same options
    and after every other file of the workspace was written (the trained model unchanged
    since); else None."""
    path = workspace / "error_regions.json"
    try:
        r = json.loads(path.read_text())
        stamp = path.stat().st_mtime
        newest = max((p.stat().st_mtime for p in workspace.rglob("*")
                      if p.is_file() and p != path), default=0.0)  # fmt: skip
    except (OSError, ValueError):
        return None
    same = (r.get("every"), r.get("near_px"), r.get("labels")) == (every, near, labels)
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
             "pixels, the error share of its squared error.\n",
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
                cells.append(f"{m * scale:.{digits}f}{unit}" + (
                    f" ± {s * scale:.{digits}f}" if n > 1 else ""))  # fmt: skip
            n = stats["psnr"][2] if "psnr" in stats else 0
            lines.append(f"| {method} | {region} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspaces", type=Path, nargs="+", metavar="WORKSPACE")
    parser.add_argument("--every", type=int, default=3, help="use every n-th val frame")
    parser.add_argument("--near", type=int, default=3,
                        help="pixels around the head counted as its outline")  # fmt: skip
    parser.add_argument("--out", type=Path, help="one JSON (and .md beside it) for all")
    parser.add_argument("--force", action="store_true", help="overwrite --out")
    parser.add_argument("--reuse", action="store_true",
                        help="take a workspace's error_regions.json instead of rendering it "
                        "again where it was measured with the same --every, --near and "
                        "--labels after the workspace last changed (runs of a few workspaces "
                        "each, side by side, then one --out over all)")  # fmt: skip
    parser.add_argument("--labels", action="store_true",
                        help="also split the head by the studio's labels (face, hair, lips, "
                        "mouth, teeth, eyes) and torso + neck into neck and torso")  # fmt: skip
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
        r = reusable(ws, args.every, args.near, args.labels) if args.reuse else None
        if r is None:
            r = measure(ws, args.every, args.near, args.labels)
            (ws / "error_regions.json").write_text(json.dumps(r, indent=1))
        results.append(r)
        print(f"{r['method']} ({ws}):")
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
                                        "by_method": by_method(results)}, indent=1))  # fmt: skip
        args.out.with_suffix(".md").write_text(markdown(results, command, commit()))
        print(f"wrote {args.out} and {args.out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
