"""Side by side: runs of ``train_speed.py --config`` (one JSON each, e.g. a checkout at an older
commit and today's with several bindings) against the first, as a markdown table.

    python benchmarks/train_speed_compare.py benchmarks/results/train_speed_er_nerf/*.json \\
        --baseline benchmarks/results/train_speed_er_nerf/base.json \\
        --out benchmarks/results/train_speed_er_nerf.md

Each row: the commit and bindings of the run, steps per second, the speed-up over the
baseline's, the val PSNR and its difference, and the share of the grid upkeep.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = ["compare", "main"]


def _row(path: Path) -> dict:
    d = json.loads(Path(path).read_text())
    r = d["results"][0]
    return {
        "file": Path(path).name,
        "commit": str(d.get("commit", "?"))[:10],
        "command": d.get("command", ""),
        "bindings": r.get("bindings", []),
        "precision": r.get("precision", "?"),
        "steps_per_second": r["steps_per_second"],
        "val_psnr": r["val_psnr"],
        "upkeep": r["phase_shares"].get("grid_upkeep", 0.0),
        "machine": d.get("machine", {}),
    }


def compare(paths: list[Path], baseline: Path) -> str:
    """The markdown table of ``paths`` against ``baseline`` (a path among them or not)."""
    base = _row(baseline)
    rows = [_row(p) for p in paths if Path(p).resolve() != Path(baseline).resolve()]
    lines = [
        "# Training speed: runs of `train_speed.py --config` side by side",
        "",
        f"Baseline: `{base['file']}` at {base['commit']} ({base['steps_per_second']:.2f} "
        f"steps/s, val PSNR {base['val_psnr']:.2f} dB). One seed per run.",
        "",
        "| run | commit | precision | bindings | steps/s | speed-up | val PSNR | ΔPSNR | upkeep |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in [base] + rows:
        binds = "; ".join(f"`{b}`" for b in r["bindings"]) or "-"
        lines.append(
            f"| {r['file']} | {r['commit']} | {r['precision']} | {binds} "
            f"| {r['steps_per_second']:.2f} "
            f"| {r['steps_per_second'] / base['steps_per_second']:.2f}x "
            f"| {r['val_psnr']:.2f} | {r['val_psnr'] - base['val_psnr']:+.2f} "
            f"| {100 * r['upkeep']:.0f}% |"
        )
    m = base["machine"]
    machine = (
        f"Machine: {m.get('platform', '?')}, {m.get('cpu_count', '?')} cores, "
        f"{m.get('threads', '?')} thread, torch {m.get('torch', '?')}. Commands:"
    )
    lines += ["", machine, ""]
    lines += [f"- `{r['command']}`" for r in [base] + rows]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path, help="train_speed --config JSON files")
    ap.add_argument("--baseline", type=Path, required=True, help="the run the others are against")
    ap.add_argument("--out", type=Path, default=None, help="markdown file (else printed)")
    args = ap.parse_args(argv)
    md = compare(args.runs, args.baseline)
    if args.out:
        args.out.write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
