"""Training speed: steps per second and where a step's time goes, side by side (CPU, one thread).

For each backbone (er_nerf, rad_nerf), bare and wrapped with the plug-ins (RSDF + ID-AKT),
float32 and bf16 autocast, the occupancy upkeep "full" (the originals' schedule) and "spread"
(see lokitalk_plugins.render.upkeep), one head stage of ``--steps`` steps through the public
``train_from_config`` (so the Trainer and TalkingHeadSystem) on the cached studio identity
(128 px, 4 s), with the tables' settings (configs/studio_quick.gin, 2048 rays). Phases (shares
of the training wall time, validation excluded): ray sampling, encoders, MLPs, compositing,
backward, optimizer, grid upkeep, other; a phase inside another counts for the outer one.

    python benchmarks/train_speed.py                    # every cell, 200 steps each
    python benchmarks/train_speed.py --quick            # 64 px, 1 s, 10 steps: a smoke run
    python benchmarks/train_speed.py --steps 400 --config er_nerf.gin   # the originals' setting

The ``--config`` mode trains that config alone (128^3 grid, 2048 rays) for --steps head steps
(``--bind "TalkingHeadSystem.grid_upkeep = 'spread'"`` and the like add bindings) and reports
wall time, phase shares and the val PSNR after them; it needs only
``train_from_config`` and the studio writer, so it also runs copied (with
train_speed_phases.py) into a checkout at 34864e4 (a phase whose probe has no target there
counts as "other"). JSON + markdown go to
benchmarks/results/train_speed*.{json,md} (--out elsewhere).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_speed_phases import PHASES, PhaseClock  # noqa: E402

WRAPPED = {"er_nerf": ["configs/er_nerf_odr.gin"], "rad_nerf": ["configs/rad_nerf_odr.gin"]}
IDAKT = "wrap.idakt = {'feature_dim': 128, 'offset_dim': 16}"
CELL_KEYS = ("backbone", "model", "precision", "upkeep")


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, check=True)  # fmt: skip
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _studio(work: Path, size: int, seconds: float) -> Path:
    data = work / f"studio_{size}px_{seconds:.0f}s" / "id000"
    if not data.exists():
        from lokitalk_plugins.data.studio import write_identity

        print(f"writing the studio identity to {data} ...", flush=True)
        write_identity(data, identity=0, seconds=seconds, size=size, seed=0)
    return data


def _train(configs, bindings, data: Path, workspace: Path, clock, before=None) -> dict:
    """One head stage; -> wall seconds of training (validation excluded), val PSNR, shares.
    before(system): run once before the first step (ID-AKT's reference frame)."""
    import shutil

    from lokitalk_plugins.train import train_from_config

    shutil.rmtree(workspace, ignore_errors=True)
    if clock is not None:
        clock.reset()
    extra = {} if before is None else {"before_first_step": before}
    summary = train_from_config(configs, bindings, data=str(data), workspace=str(workspace),
                                stages=["head"], progress=False, **extra)  # fmt: skip
    head = summary["stages"]["head"]
    shares, train_s = None, float(head["wall_time"])
    if clock is not None:
        train_s -= clock.seconds.get("validation", 0.0)
        shares = clock.shares(train_s)
    return {"train_seconds": round(train_s, 3), "steps_per_second": head["steps"] / train_s,
            "val_psnr": head.get("val_psnr"), "precision": head.get("precision"),
            "phase_shares": shares}  # fmt: skip


def _bind_reference(system) -> None:
    """before_first_step of a wrapped cell: ID-AKT (pre-training form) takes each step's
    frame as its identity reference, bound before the step as the multi-identity
    pre-training binds one (so its encoder runs every step)."""
    step = system.training_step

    def bound(frame, *args, **kwargs):
        system.model.bind_reference(frame.image)
        return step(frame, *args, **kwargs)

    system.training_step = bound


def _config_file(name: str) -> str:
    """A --config value as train_from_config takes it: an existing file's path as given (run
    from another checkout, its includes resolve against the working folder), otherwise the
    packaged config of that name."""
    return name if Path(name).is_file() else f"configs/{Path(name).name}"


def _bindings(steps: int, rays: int) -> list[str]:
    return [f"head/Trainer.steps = {steps}", f"TalkingHeadSystem.num_rays = {rays}",
            f"Trainer.val_every = {steps}", "Trainer.ckpt_every = 1000000",
            "Trainer.log_every = 1000000", "Trainer.seed = 0"]  # fmt: skip


def cells(args) -> list[dict]:
    return [dict(backbone=b, model=m, precision=p, upkeep=u) for b in args.backbones
            for m in args.models for p in args.precisions for u in args.upkeeps]  # fmt: skip


def _cell_setup(cell: dict, steps: int, rays: int, grid: int | None):
    b = cell["backbone"]
    configs = WRAPPED[b] if cell["model"] == "wrapped" else [f"configs/{b}.gin"]
    configs = configs + ["configs/studio_quick.gin"]
    bindings = _bindings(steps, rays) + [
        f"Trainer.amp = '{'bf16' if cell['precision'] == 'bf16' else 'off'}'",
        f"TalkingHeadSystem.grid_upkeep = '{cell['upkeep']}'",
    ]
    if cell["model"] == "wrapped":
        bindings.append(IDAKT)
    if grid:
        cls = "ERNeRF" if b == "er_nerf" else "RADNeRF"
        bindings.append(f"{cls}.grid_size = {grid}")
    return configs, bindings


def _machine(load_at_start: float) -> dict:
    import torch

    try:
        from lokitalk_plugins.train.runtime import cpu_bf16_support

        bf16 = cpu_bf16_support()
    except ImportError:  # an older checkout
        bf16 = None
    return {"platform": platform.platform(), "cpu_count": os.cpu_count(),
            "python": sys.version.split()[0], "torch": torch.__version__, "threads": 1,
            "cpu_capability": torch.backends.cpu.get_cpu_capability(), "bf16_instructions": bf16,
            "load_average_1min_at_start": round(load_at_start, 2),
            "load_average_1min_at_end": round(os.getloadavg()[0], 2)}  # fmt: skip


def _markdown(report: dict) -> str:
    rows = report["results"]
    head = ["backbone", "model", "precision", "upkeep", "steps/s", "val PSNR", *PHASES]
    lines = [f"# {report['benchmark']}", "", f"`{report['command']}` at {report['commit'][:10]}",
             "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]  # fmt: skip
    for r in rows:
        shares = r.get("phase_shares") or {}
        psnr = "-" if r.get("val_psnr") is None else f"{r['val_psnr']:.2f}"
        vals = [r.get(k, "-") for k in CELL_KEYS] + [f"{r['steps_per_second']:.2f}", psnr]
        vals += [f"{100 * shares[p]:.0f}%" if p in shares else "-" for p in PHASES]
        lines.append("| " + " | ".join(str(v) for v in vals) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="64 px, 1 s, 10 steps, 32^3 grid")
    ap.add_argument("--steps", type=int, default=None, help="head steps per cell (200)")
    ap.add_argument("--config", nargs="+", default=None,
                    help="train these configs alone (e.g. er_nerf.gin, or er_nerf.gin "
                    "studio_quick.gin lokitalk_loss.gin): names or paths")  # fmt: skip
    ap.add_argument("--rays", type=int, default=2048)
    ap.add_argument("--bind", action="append", default=[],
                    help="extra gin binding in --config mode (repeatable), e.g. "
                    "\"Trainer.amp = 'bf16'\"")  # fmt: skip
    ap.add_argument("--backbones", nargs="+", default=["er_nerf", "rad_nerf"])
    ap.add_argument("--models", nargs="+", default=["bare", "wrapped"])
    ap.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    ap.add_argument("--upkeeps", nargs="+", default=["full", "spread"])
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument("--work", default=str(RESULTS / "cache"))
    ap.add_argument("--force", action="store_true", help="overwrite the --out files")
    args = ap.parse_args(argv)
    steps = args.steps or (10 if args.quick else 200)
    if args.config:
        stem = f"train_speed_{'+'.join(Path(c).stem for c in args.config)}_{steps}"
    else:
        stem = "train_speed" + ("_quick" if args.quick else "")
    out = Path(args.out)
    if not args.force and any((out / f"{stem}{x}").exists() for x in (".json", ".md")):
        ap.error(f"{out / stem}.json exists: pass --force to overwrite it, or another --out")
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)
    from tqdm.auto import tqdm

    import lokitalk_plugins.registration  # noqa: F401  (the gin names)

    size, seconds = (64, 1.0) if args.quick else (128, 4.0)
    work, load_at_start, commit = Path(args.work), os.getloadavg()[0], _commit()
    data = _studio(work, size, seconds)
    clock = PhaseClock.install()
    studio_audio = ["TalkingHeadFolder.eye_source = 'landmarks'"]
    if args.config:
        cls = "ERNeRF" if Path(args.config[0]).stem.startswith("er_nerf") else "RADNeRF"
        bindings = _bindings(steps, args.rays) + studio_audio + [f"{cls}.audio_in_dim = 32"]
        config = args.config[0] if len(args.config) == 1 else list(args.config)
        row = {"config": config, "steps": steps, "bindings": args.bind}
        bindings += args.bind
        configs = [_config_file(c) for c in args.config]
        warm = [b for b in bindings if not b.startswith("head/Trainer.steps")]
        # warm-up, not reported: the first run builds or loads the fused kernels
        _train(configs, warm + ["head/Trainer.steps = 1"], data, work / "train_speed_ws", None)
        row.update(_train(configs, bindings, data, work / "train_speed_ws", clock))
        rows = [row]
    else:
        rows, todo = [], cells(args)
        # warm-up, not reported: the first run builds the fused kernels (a one-off compile)
        configs, bindings = _cell_setup(todo[0], 1, 64, 32)
        _train(configs, bindings, data, work / "train_speed_ws", None,
               _bind_reference if todo[0]["model"] == "wrapped" else None)  # fmt: skip
        bar = tqdm(todo, desc="train_speed", unit="cell")
        for cell in bar:
            bar.set_postfix_str(" ".join(cell[k] for k in CELL_KEYS))
            configs, bindings = _cell_setup(cell, steps, args.rays, 32 if args.quick else None)
            row = dict(cell, steps=steps)
            before = _bind_reference if cell["model"] == "wrapped" else None
            row.update(_train(configs, bindings, data, work / "train_speed_ws", clock, before))
            rows.append(row)
    report = {
        "benchmark": "training speed on the studio (CPU, one thread)",
        "command": "python benchmarks/train_speed.py " + " ".join(argv or sys.argv[1:]),
        "commit": commit,
        "settings": {"size": size, "seconds": seconds, "steps": steps, "rays": args.rays},
        "phases": list(PHASES),
        "machine": _machine(load_at_start),
        "results": rows,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(report, indent=1, default=str))
    md = _markdown(report)
    (out / f"{stem}.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    t0 = time.perf_counter()
    code = main()
    print(f"done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    sys.exit(code)
