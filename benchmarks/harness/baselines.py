"""``benchmarks/run.py baselines``: RAD-NeRF and ER-NeRF trained on one studio identity on the
CPU, then evaluated on val (``benchmarks/baselines_studio.py`` calls it).

Both backbones train at once, one process and one thread each, in the harness's one process
pool (:func:`~.workers.run_methods`). Each runs the head stage, the lips fine-tune and the
torso stage (head frozen): ``benchmarks/gin-configs/baselines/<backbone>.gin`` (the packaged recipe
with ``configs/studio_quick.gin`` and ``configs/torso.gin``), ``baselines/budget.gin`` and the
profile's budget; then ``lokitalk eval``'s measurement on the val split. Writes
``<out>/baselines_studio[_<profile>][_<backbone>].json`` and ``.md`` with the commands,
settings, machine, per-stage wall times and every metric.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

from .common import commit, fmt, studio_identity
from .experiments import budget, gin_method

__all__ = ["BACKBONES", "methods", "run_baselines"]

BACKBONES = ("rad_nerf", "er_nerf")


def methods(backbones, profile: str) -> list[dict]:
    """One method per backbone: its ``baselines/<backbone>.gin``, ``baselines/budget.gin``
    and the profile's budget file."""
    shared = ("baselines/budget", "profiles/" + profile)
    return [gin_method(name, "baselines/" + name, *shared) for name in backbones]


def run_baselines(args, data_settings: dict) -> int:
    """Train and score ``args.backbones`` on ``args.profile``; write the report. 1 when a
    training failed (the message on stderr)."""
    b = budget(args.profile)
    prof = dict(size=data_settings["size"], seconds=data_settings["seconds"], head=b["head"],
                lips=b["lips"], torso=b["torso"], rays=b["rays"])  # fmt: skip
    work = Path(args.work) / f"baselines_{args.profile}"
    data = studio_identity(Path(args.work), 0, prof["size"], prof["seconds"])
    load_at_start = os.getloadavg()[0]  # above ~0.5: other jobs shared the cores
    start, sha = time.perf_counter(), commit()  # the code that runs is the code at start
    from .workers import run_methods

    try:
        rows = run_methods(methods(args.backbones, args.profile), data, work,
                           parallel=len(args.backbones), truth=True,
                           force=bool(getattr(args, "force", False)))  # fmt: skip
    except RuntimeError as err:
        print(err, file=sys.stderr)
        return 1
    for r in rows:
        r["backbone"] = r["method"]
    import torch

    both = len(args.backbones) == 2
    report = {
        "benchmark": "baselines trained on one studio identity (CPU)",
        "command": "python benchmarks/run.py baselines --profile " + args.profile
        + ("" if both else " --backbones " + " ".join(args.backbones)),
        "profile": args.profile,
        "settings": prof,
        "commit": sha,
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "threads_per_backbone": 1,
            "backbones_in_parallel": len(args.backbones),
            "load_average_1min_at_start": round(load_at_start, 2),
            "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        },
        "wall_seconds": time.perf_counter() - start,
        "results": sorted(rows, key=lambda r: r["backbone"]),
    }  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = "baselines_studio" + ("" if args.profile == "default" else f"_{args.profile}")
    if len(args.backbones) == 1:
        stem += "_" + args.backbones[0]
    (out / f"{stem}.json").write_text(json.dumps(report, indent=1, default=str))
    md = markdown(report)
    (out / f"{stem}.md").write_text(md)
    print(md)
    return 0


def markdown(report: dict) -> str:
    p = report["settings"]
    lines = [
        f"# Baselines on one studio identity ({report['profile']} profile)",
        "",
        f"`{report['command']}` at commit `{report['commit'][:10]}`; "
        f"{p['size']}x{p['size']}, {p['seconds']:.0f} s of video, steps head/lips/torso "
        f"{p['head']}/{p['lips']}/{p['torso']}, {p['rays']} rays a step; "
        f"{report['machine']['backbones_in_parallel']} backbone(s) trained side by side, one "
        f"thread each, on {report['machine']['cpu_count']} cores "
        f"({report['machine']['platform']}, torch {report['machine']['torch']}).",
        "",
        "| backbone | val PSNR | SSIM | LPIPS | mouth err (px) | eye err (px) | lip sync r "
        "| train time (min) | FPS | size (MB) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["results"]:
        e = r["eval"]
        lines.append(
            f"| {r['backbone']} | {fmt(e['psnr'])} | {fmt(e['ssim'], 3)} | {fmt(e['lpips'], 3)}"
            f" | {fmt(e['mouth_error'])} | {fmt(e['eye_error'])} | {fmt(e['lip_sync'])}"
            f" | {r['train_seconds'] / 60:.1f} | {fmt(e['fps'], 1)} | {fmt(e['size_mb'])} |"
        )
    lines += ["", "LPIPS is n/a where no AlexNet backbone weights are on the machine.", ""]
    return "\n".join(lines)
