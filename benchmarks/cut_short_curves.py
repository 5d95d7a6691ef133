"""How the cap of occupied samples a ray meets each row's training rays, from their logs.

    python benchmarks/cut_short_curves.py REPORT.json [--stage head] [--out DIR] [--force]

REPORT is a table the harness wrote (``table2.json`` ...): every row's workspaces (one per
seed) keep ``logs/<stage>.csv``, where each training step logs ``cut_short`` (the share of its
rays the cap cut while their alpha was below 0.95) and, with ``configs/sample_cap.gin``,
``sample_cap`` (the cap the step ran with). Per row, over its seeds: ``cut_short`` at the first
logged step, its mean over the last tenth of the stage, the cap each seed ended with and the
step it first rose, and the stage's training minutes. Writes ``<stem>_cut_short.json``, ``.md``
and ``.png`` (``cut_short`` and the cap against the step, the seeds' mean per row) into --out
(default: the report's folder).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))


def read_log(workspace: Path, stage: str) -> list[dict] | None:
    """The training steps of ``logs/<stage>.csv`` that log ``cut_short``: [{step, wall_time,
    cut_short, sample_cap (None without the column)}]; None without the file."""
    path = Path(workspace) / "logs" / f"{stage}.csv"
    if not path.is_file():
        return None
    with open(path) as f:
        rows = [r for r in csv.DictReader(f) if r.get("cut_short")]
    return [
        {
            "step": int(r["step"]),
            "wall_time": float(r["wall_time"]),
            "cut_short": float(r["cut_short"]),
            "sample_cap": float(r["sample_cap"]) if r.get("sample_cap") else None,
        }
        for r in rows
    ]


def seed_summary(log: list[dict]) -> dict:
    """One workspace's log -> its first and late ``cut_short`` (the mean over the steps in the
    last tenth of the stage), the cap it ended with and the step it first rose (None: a
    fixed cap, or it never rose), and the stage's minutes."""
    last = log[-1]["step"]
    late = [r["cut_short"] for r in log if r["step"] > 0.9 * last] or [log[-1]["cut_short"]]
    caps = [r["sample_cap"] for r in log]
    rose = None
    if caps[0] is not None:
        rose = next((r["step"] for r in log if r["sample_cap"] > caps[0]), None)
    return {
        "first_step": log[0]["step"],
        "cut_short_first": log[0]["cut_short"],
        "cut_short_late": sum(late) / len(late),
        "cap_start": caps[0],
        "cap_end": caps[-1],
        "cap_rose_at": rose,
        "minutes": log[-1]["wall_time"] / 60,
    }


def _mean_std(values: list[float]) -> tuple[float, float]:
    """harness.seeds.mean_std with a single seed's std as 0."""
    from harness.seeds import mean_std

    mean, std = mean_std(values)
    return mean, std or 0.0


def summarise(report: dict, stage: str) -> list[dict]:
    """Per row of ``report``: its method, each seed's summary and the seeds' mean series."""
    out = []
    for row in report["results"]:
        seeds = row.get("seeds") or [{"seed": 0, "workspace": row["workspace"]}]
        per_seed, logs = [], []
        for s in seeds:
            log = read_log(Path(s["workspace"]), stage)
            if not log:
                continue
            logs.append(log)
            per_seed.append({"seed": s.get("seed"), "workspace": s["workspace"],
                             **seed_summary(log)})  # fmt: skip
        if not per_seed:
            continue
        by_step = [{r["step"]: r for r in log} for log in logs]
        steps = sorted(set.intersection(*(set(b) for b in by_step)))
        series = {}
        for key in ("cut_short", "sample_cap"):
            values = [[b[st][key] for b in by_step] for st in steps]
            series[key] = [None if None in v else statistics.fmean(v) for v in values]
        out.append({"method": row["method"], "seeds": per_seed, "steps": steps, **series})
    return out


def markdown(rows: list[dict], command: str, at: str, stage: str) -> str:
    lines = [
        f"# cut_short and the sample cap, {stage} stage",
        "",
        f"`{command}` at `{at[:10]}`, from each seed's `logs/{stage}.csv`. cut_short: the share "
        "of a step's rays the cap of occupied samples cut while their alpha was below 0.95 "
        "(first logged step; mean over the last tenth of the stage). Cap: the samples a ray "
        "the step ran with (`fixed` without `configs/sample_cap.gin`), each seed's at the end, "
        "and the first logged step that ran with a raised cap.",
        "",
        "| row | seeds | cut_short, first | cut_short, last tenth | cap at the end | "
        "raised by step | head-stage minutes |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        s = r["seeds"]
        first = _mean_std([x["cut_short_first"] for x in s])
        late = _mean_std([x["cut_short_late"] for x in s])
        mins = _mean_std([x["minutes"] for x in s])
        caps = ", ".join("fixed" if x["cap_end"] is None else f"{x['cap_end']:.0f}" for x in s)
        rose = ", ".join("-" if x["cap_rose_at"] is None else str(x["cap_rose_at"]) for x in s)
        lines.append(
            f"| {r['method']} | {len(s)} | {first[0]:.3f} ± {first[1]:.3f} | "
            f"{late[0]:.3f} ± {late[1]:.3f} | {caps} | {rose} | {mins[0]:.1f} ± {mins[1]:.1f} |"
        )
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path: Path, stage: str) -> Path:
    from harness.plots import _plt

    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for i, r in enumerate(rows):  # one colour per row in both panels
        colour = f"C{i % 10}"
        axes[0].plot(r["steps"], r["cut_short"], label=r["method"], color=colour)
        caps = [(st, c) for st, c in zip(r["steps"], r["sample_cap"]) if c is not None]
        if caps:
            axes[1].step(*zip(*caps), where="post", label=r["method"], color=colour)
    axes[0].set(xlabel="step", ylabel="cut_short (share of rays)", title=f"{stage} stage")
    axes[1].set(xlabel="step", ylabel="occupied samples a ray (cap)",
                title="the cap, rows with configs/sample_cap.gin")  # fmt: skip
    axes[0].legend(fontsize=7)
    if axes[1].lines:
        axes[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="a table's JSON the harness wrote")
    parser.add_argument("--stage", default="head", help="the stage's log (head)")
    parser.add_argument("--out", type=Path, help="where to write (default: the report's folder)")
    parser.add_argument("--force", action="store_true", help="overwrite earlier files")
    args = parser.parse_args(argv)
    try:
        report = json.loads(args.report.read_text())
    except (OSError, ValueError):
        report = None
    if not isinstance(report, dict) or not isinstance(report.get("results"), list):
        parser.error(f"{args.report}: not a table's JSON with 'results'; give the table2.json "
                     "(or another table) benchmarks/run.py wrote")  # fmt: skip
    from harness.common import commit, refuse_overwrite, write_report

    out = args.out or args.report.parent
    stem = f"{args.report.stem}_cut_short"
    refuse_overwrite(parser, out, stem, args.force)
    rows = summarise(report, args.stage)
    if not rows:
        parser.error(f"{args.report}: no row's workspace has logs/{args.stage}.csv with "
                     "cut_short (a run before the log existed, or moved workspaces)")  # fmt: skip
    command = "python benchmarks/cut_short_curves.py " + " ".join(
        sys.argv[1:] if argv is None else argv)  # fmt: skip
    data = {"command": command, "commit": commit(), "report": str(args.report),
            "report_commit": report.get("commit"), "stage": args.stage, "rows": rows}  # fmt: skip
    md = markdown(rows, command, commit(), args.stage)
    write_report(data, md, out, stem)
    plot(rows, Path(out) / f"{stem}.png", args.stage)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
