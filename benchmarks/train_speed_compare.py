"""Side by side: runs of ``train_speed.py --config`` (one JSON each, e.g. a checkout at an older
commit and today's with several bindings) against the first, as a markdown table.

    python benchmarks/train_speed_compare.py benchmarks/results/train_speed_er_nerf/*.json \\
        --baseline benchmarks/results/train_speed_er_nerf/base.json \\
        --out benchmarks/results/train_speed_er_nerf.md

Each row: the commit and bindings of the run, its seeds (runs that differ only by
``train.seed``/``Trainer.seed`` bindings are one row, mean ± std), steps per second, the
speed-up over the baseline's, the val PSNR and its difference, and the share of the grid
upkeep.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from pathlib import Path

__all__ = ["compare", "main"]


SEED_BINDINGS = ("train.seed", "Trainer.seed", "SEED")  # what differs between seeds of a run


def _row(path: Path) -> dict:
    d = json.loads(Path(path).read_text())
    r = d["results"][0]
    bindings = r.get("bindings", [])
    return {
        "file": Path(path).name,
        "label": _label(Path(path)),
        "commit": str(d.get("commit", "?"))[:10],
        "command": d.get("command", ""),
        "bindings": [b for b in bindings if b.split("=")[0].strip() not in SEED_BINDINGS],
        "precision": r.get("precision", "?"),
        "steps_per_second": r["steps_per_second"],
        "val_psnr": r["val_psnr"],
        "upkeep": r["phase_shares"].get("grid_upkeep", 0.0),
        "machine": d.get("machine", {}),
    }


def _label(path: Path) -> str:
    """A run's name: its file's, without a seed suffix (``fast_s1.json`` -> ``fast``), or,
    when the file has train_speed.py's own name, its folder's (``fast_s1/`` -> ``fast``)."""
    if re.search(r"_s\d+$", path.stem):
        return re.sub(r"_s\d+$", "", path.stem)
    if not path.name.startswith("train_speed_"):
        return path.name
    return re.sub(r"_s\d+$", "", path.parent.name) or path.name


def _group(rows: list[dict]) -> list[list[dict]]:
    """Runs of one name that differ only by their seed bindings, together, in first-seen
    order (their commits are listed in the row)."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        key = (r["label"], r["precision"], tuple(r["bindings"]))
        groups.setdefault(key, []).append(r)
    return list(groups.values())


def _stat(values: list[float], fmt: str) -> str:
    if len(values) == 1:
        return format(values[0], fmt)
    return f"{format(statistics.mean(values), fmt)} ± {format(statistics.stdev(values), fmt)}"


def compare(paths: list[Path], baseline: list[Path] | Path, note: str = "") -> str:
    """The markdown table of ``paths`` against ``baseline`` (one run or the seeds of one;
    among ``paths`` or not): runs that differ only by their seed are one row, mean ± std.
    note: a paragraph printed under the title (how the runs were made)."""
    base_paths = [baseline] if isinstance(baseline, (str, Path)) else list(baseline)
    base = [_row(p) for p in base_paths]
    skip = {Path(p).resolve() for p in base_paths}
    rows = [_row(p) for p in paths if Path(p).resolve() not in skip]
    base_sps = statistics.mean(r["steps_per_second"] for r in base)
    base_psnr = statistics.mean(r["val_psnr"] for r in base)
    lines = [
        "# Training speed: runs of `train_speed.py --config` side by side",
        "",
        f"Baseline: `{base[0]['label']}` at {base[0]['commit']} ({base_sps:.2f} steps/s, val "
        f"PSNR {base_psnr:.2f} dB, {len(base)} seed(s)). Rows of several seeds: mean ± std; "
        "the speed-up and ΔPSNR compare means.",
        *(["", note, ""] if note else [""]),
        "| run | commit | precision | bindings | seeds | steps/s | speed-up | val PSNR | ΔPSNR "
        "| upkeep |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for g in [base] + _group(rows):
        r, sps = g[0], [x["steps_per_second"] for x in g]
        psnr = [x["val_psnr"] for x in g]
        binds = "; ".join(f"`{b}`" for b in r["bindings"]) or "-"
        lines.append(
            f"| {r['label']} | {', '.join(sorted({x['commit'] for x in g}))} | {r['precision']} "
            f"| {binds} | {len(g)} "
            f"| {_stat(sps, '.2f')} | {statistics.mean(sps) / base_sps:.2f}x "
            f"| {_stat(psnr, '.2f')} | {statistics.mean(psnr) - base_psnr:+.2f} "
            f"| {_stat([100 * x['upkeep'] for x in g], '.0f')}% |"
        )
    m = base[0]["machine"]
    machine = (
        f"Machine: {m.get('platform', '?')}, {m.get('cpu_count', '?')} cores, "
        f"{m.get('threads', '?')} thread, torch {m.get('torch', '?')}. Commands:"
    )
    lines += ["", machine, ""]
    lines += [f"- `{r['command']}`" for r in base + rows]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path, help="train_speed --config JSON files")
    ap.add_argument("--baseline", type=Path, nargs="+", required=True,
                    help="the run (or its seeds) the others are against")  # fmt: skip
    ap.add_argument("--out", type=Path, default=None, help="markdown file (else printed)")
    ap.add_argument("--note", default="", help="a paragraph under the title")
    args = ap.parse_args(argv)
    md = compare(args.runs, args.baseline, args.note)
    if args.out:
        args.out.write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
