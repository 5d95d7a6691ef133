"""RAD-NeRF and ER-NeRF trained on one studio identity on the CPU, then evaluated on val.

    python benchmarks/baselines_studio.py                 # 128x128, 20 s, ~20 min a backbone
    python benchmarks/baselines_studio.py --profile quick # 64x64, 4 s, a few minutes

Both backbones train at once, one process and one thread each (2 cores), in the harness's one
process pool (``harness.workers.run_methods``, as ``benchmarks/run.py``'s tables). Each runs the
head stage, the lips fine-tune and the torso stage (head frozen) from the packaged gin files plus
``configs/studio_quick.gin``, with the step counts of the profile; then ``lokitalk eval``'s
measurement on the val split. Writes ``benchmarks/results/baselines_studio[_quick].json`` and
``.md`` with the commands, settings, machine, per-stage wall times and every metric.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
sys.path.insert(0, str(ROOT))

from harness.common import commit  # noqa: E402
from harness.workers import run_methods  # noqa: E402

BACKBONES = ("rad_nerf", "er_nerf")
PROFILES = {
    # size, seconds, head/lips/torso steps, rays per step
    "quick": dict(size=64, seconds=4.0, head=600, lips=100, torso=200, rays=1024),
    "default": dict(size=128, seconds=20.0, head=4000, lips=200, torso=1500, rays=2048),
    # the whole 20-minute budget of one backbone: twice the head steps
    "long": dict(size=128, seconds=20.0, head=8000, lips=200, torso=2000, rays=2048),
}


def methods(backbones, prof: dict) -> list[dict]:
    """The harness's methods (:func:`harness.workers.run_methods`): each backbone's packaged
    gin file with ``studio_quick.gin`` and ``torso.gin``, the profile's steps and rays."""
    bindings = [
        f"head/Trainer.steps = {prof['head']}",
        f"lips/Trainer.steps = {prof['lips']}",
        f"torso/Trainer.steps = {prof['torso']}",
        f"TalkingHeadSystem.num_rays = {prof['rays']}",
        "Trainer.val_every = 100000",
        "Trainer.ckpt_every = 100000",
        "Trainer.log_every = 100",
    ]
    out = []
    for name in backbones:
        extra = []
        if name == "er_nerf":  # 4 lips patches of 32x32, not the original's 64 (65,536 rays)
            extra.append("TalkingHeadSystem.lips_patches = 4")
        configs = [f"configs/{name}.gin", "configs/studio_quick.gin", "configs/torso.gin"]
        out.append({"name": name, "configs": configs, "bindings": bindings + extra})
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="default")
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--work", default=str(RESULTS / "cache"))
    parser.add_argument("--backbones", nargs="+", default=list(BACKBONES), choices=BACKBONES)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the finally below runs
    prof = PROFILES[args.profile]
    work = Path(args.work) / f"baselines_{args.profile}"
    data = Path(args.work) / f"studio_{prof['size']}px_{prof['seconds']:.0f}s" / "id000"
    if not data.exists():
        from lokitalk_plugins.data.studio import write_identity

        print(f"writing the studio identity to {data} ...", flush=True)
        write_identity(data, identity=0, seconds=prof["seconds"], size=prof["size"], seed=0)
    load_at_start = os.getloadavg()[0]  # above ~0.5: other jobs shared the cores
    start, sha = time.perf_counter(), commit()  # the code that runs is the code at start
    try:
        rows = run_methods(methods(args.backbones, prof), data, work,
                           parallel=len(args.backbones), truth=True)  # fmt: skip
    except RuntimeError as err:
        print(err, file=sys.stderr)
        return 1
    for r in rows:
        r["backbone"] = r["method"]
    import torch

    report = {
        "benchmark": "baselines trained on one studio identity (CPU)",
        "command": "python benchmarks/baselines_studio.py --profile "
        + args.profile
        + ("" if len(args.backbones) == 2 else " --backbones " + " ".join(args.backbones)),
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
        },  # fmt: skip
        "wall_seconds": time.perf_counter() - start,
        "results": sorted(rows, key=lambda r: r["backbone"]),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = "baselines_studio" + ("" if args.profile == "default" else f"_{args.profile}")
    if len(args.backbones) == 1:
        stem += "_" + args.backbones[0]
    (out / f"{stem}.json").write_text(json.dumps(report, indent=1, default=str))
    md = _markdown(report)
    (out / f"{stem}.md").write_text(md)
    print(md)
    return 0


def _fmt(v, digits=2):
    return "n/a" if v is None else (f"{v:.{digits}f}" if isinstance(v, float) else str(v))


def _markdown(report: dict) -> str:
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
            f"| {r['backbone']} | {_fmt(e['psnr'])} | {_fmt(e['ssim'], 3)} | {_fmt(e['lpips'], 3)}"
            f" | {_fmt(e['mouth_error'])} | {_fmt(e['eye_error'])} | {_fmt(e['lip_sync'])}"
            f" | {r['train_seconds'] / 60:.1f} | {_fmt(e['fps'], 1)} | {_fmt(e['size_mb'])} |"
        )
    lines += ["", "LPIPS is n/a where no AlexNet backbone weights are on the machine.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
