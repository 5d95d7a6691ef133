"""Side by side: the same table run end to end by two checkouts (e.g. an older commit and
today's), from the reports ``benchmarks/run.py`` wrote, as markdown and JSON.

    python benchmarks/table_speed_compare.py BASE.json NEW.json \\
        --out benchmarks/results/table2_end_to_end

BASE and NEW are ``run.py`` reports of one table (``table2.json``, ...), each run alone on the
machine with the same options. The result gives the end-to-end wall time of each run and its
ratio (BASE / NEW: above 1 means NEW is faster), then one line per row the two share: its
training seconds, the head stage's steps per second and the val PSNR of each run, with the
ratio and the difference. A row that only one run trained is listed with the other's cells
empty; rows over several seeds are compared on seed 0 (the only seed of a one-seed run).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["compare", "main", "markdown"]


def _seed0(row: dict) -> dict:
    """Seed 0 of a row: its own metrics and train seconds (a folded row keeps every seed's)."""
    for s in row.get("seeds") or []:
        if s.get("seed", 0) == 0:
            return {"train_seconds": s["train_seconds"], "metrics": s["metrics"]}
    return {"train_seconds": row["train_seconds"], "metrics": row["metrics"]}


def _cells(row: dict) -> dict:
    s = _seed0(row)
    head = (row.get("stages") or {}).get("head") or {}
    rate = head["steps"] / head["wall_time"] if head.get("wall_time") else None
    return {"train_seconds": s["train_seconds"], "head_steps_per_second": rate,
            "psnr": s["metrics"].get("psnr")}  # fmt: skip


def _ratio(a, b):
    return a / b if a is not None and b else None


def compare(base: dict, new: dict) -> dict:
    """The comparison of two reports of one table -> {"base", "new" (commit, command, wall
    seconds, load at start, parallel jobs), "wall_ratio", "rows": [...]}; raises ValueError
    when the reports are of different tables or profiles."""
    for r in (base, new):
        missing = [k for k in ("table", "profile", "wall_seconds", "results") if k not in r]
        if missing:
            raise ValueError(f"not a report of benchmarks/run.py (no {missing})")
    for key in ("table", "profile"):
        if base[key] != new[key]:
            raise ValueError(f"the reports differ in {key}: {base[key]!r} against "
                             f"{new[key]!r}; compare runs of one table and profile")  # fmt: skip
    b_rows = {r["method"]: _cells(r) for r in base["results"]}
    n_rows = {r["method"]: _cells(r) for r in new["results"]}
    rows = []
    for name in [*b_rows, *(n for n in n_rows if n not in b_rows)]:
        b, n = b_rows.get(name), n_rows.get(name)
        row = {"method": name, "base": b, "new": n}
        if b and n:
            row["train_ratio"] = _ratio(b["train_seconds"], n["train_seconds"])
            row["head_rate_ratio"] = _ratio(n["head_steps_per_second"],
                                            b["head_steps_per_second"])  # fmt: skip
            if b["psnr"] is not None and n["psnr"] is not None:
                row["psnr_difference"] = n["psnr"] - b["psnr"]
        rows.append(row)

    def side(r):
        m = r.get("machine") or {}
        return {"commit": r.get("commit"), "command": r.get("command"),
                "wall_seconds": r["wall_seconds"], "load_at_start": r.get("load_at_start"),
                "jobs_in_parallel": m.get("jobs_in_parallel"), "seeds": r.get("seeds", [0]),
                "platform": m.get("platform"), "cpu_count": m.get("cpu_count")}  # fmt: skip

    return {"table": base["table"], "profile": base["profile"], "base": side(base),
            "new": side(new), "wall_ratio": base["wall_seconds"] / new["wall_seconds"],
            "rows": rows}  # fmt: skip


def _f(v, digits=2, suffix=""):
    return "" if v is None else f"{v:.{digits}f}{suffix}"


def markdown(result: dict) -> str:
    b, n = result["base"], result["new"]
    lines = [
        f"# {result['table']} end to end, {result['profile']} profile: "
        f"`{str(b['commit'])[:10]}` against `{str(n['commit'])[:10]}`",
        "",
        "Written by `python benchmarks/table_speed_compare.py` from the two runs' reports. "
        "Each run alone on the machine, one after the other "
        f"({n['cpu_count']} cores, {n['platform']}).",
        "",
        "| run | commit | command | jobs at a time | load at start | wall (min) |",
        "|---|---|---|---|---|---|",
    ]
    for label, s in (("base", b), ("new", n)):
        lines.append(f"| {label} | `{str(s['commit'])[:10]}` | `{s['command']}` "
                     f"| {s['jobs_in_parallel']} | {s['load_at_start']} "
                     f"| {s['wall_seconds'] / 60:.1f} |")  # fmt: skip
    lines += [
        "",
        f"**End to end: {result['wall_ratio']:.2f}x** (base wall time over new; above 1: the "
        "new run is faster).",
        "",
        "Per row (seed 0): training seconds, the head stage's steps per second, val PSNR.",
        "",
        "| row | train s, base | train s, new | speed-up | head steps/s, base | "
        "head steps/s, new | speed-up | PSNR base | PSNR new | Δ PSNR |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        bb, nn = r["base"] or {}, r["new"] or {}
        lines.append(
            f"| {r['method']} | {_f(bb.get('train_seconds'), 0)} "
            f"| {_f(nn.get('train_seconds'), 0)} | {_f(r.get('train_ratio'), 2, 'x')} "
            f"| {_f(bb.get('head_steps_per_second'))} | {_f(nn.get('head_steps_per_second'))} "
            f"| {_f(r.get('head_rate_ratio'), 2, 'x')} | {_f(bb.get('psnr'))} "
            f"| {_f(nn.get('psnr'))} | {_f(r.get('psnr_difference'), 2)} |"
        )
    return "\n".join([*lines, ""])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base", type=Path, help="the older run's report (run.py's JSON)")
    ap.add_argument("new", type=Path, help="the newer run's report")
    ap.add_argument("--out", type=Path, required=True,
                    help="output stem: writes <out>.json and <out>.md")  # fmt: skip
    ap.add_argument("--force", action="store_true", help="overwrite existing output files")
    args = ap.parse_args(argv)
    for p in (args.base, args.new):
        if not p.is_file():
            ap.error(f"{p}: no such report; give the JSON files benchmarks/run.py wrote")
    js, md = args.out.with_suffix(".json"), args.out.with_suffix(".md")
    if not args.force and (js.exists() or md.exists()):
        ap.error(f"{js} or {md} exists; pass --force to overwrite it")
    try:
        result = compare(*(json.loads(p.read_text()) for p in (args.base, args.new)))
    except (ValueError, json.JSONDecodeError) as e:
        ap.error(f"{args.base}, {args.new}: {e}")
    result["reports"] = [str(args.base), str(args.new)]
    js.parent.mkdir(parents=True, exist_ok=True)
    js.write_text(json.dumps(result, indent=1) + "\n")
    text = markdown(result)
    md.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
