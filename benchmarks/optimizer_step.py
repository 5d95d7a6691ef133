"""Adam's step on a CPU: the per-tensor loop, foreach and fused kernels, side by side.

Two parts, one thread, in one run:

1. The step alone. The head-stage parameter groups of each backbone, bare and wrapped with
   RSDF + ID-AKT (``train_speed.py``'s cells: the tables' settings), each with seeded random
   gradients; ``--repeats`` optimiser steps timed for every implementation of
   ``lokitalk_plugins.train.optim`` (``Trainer.optimizer_implementation``), interleaved over
   ``--rounds``; milliseconds a step (median), the speed-up over the loop, and how far each
   implementation's weights end from the loop's after the same steps from the same start.
2. Training. ER-NeRF wrapped with RSDF + ID-AKT for ``--steps`` head steps with the loop and
   with ``'auto'`` (fused on a CPU), interleaved over ``--rounds``: steps per second (median),
   the ratio, the val PSNR, the phase shares (the optimizer's among them).

    python benchmarks/optimizer_step.py --out benchmarks/results [--steps 400] [--rounds 2]
    python benchmarks/optimizer_step.py --quick --steps 3 --repeats 2 --out /tmp/o  # a check

Writes ``optimizer_step.json`` and ``.md`` to ``--out`` (refused if they exist, unless
``--force``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness.common import refuse_overwrite, write_report  # noqa: E402

__all__ = ["main"]

IMPLS = ("loop", "foreach", "fused")
CELLS = [("er_nerf", "bare"), ("er_nerf", "wrapped"), ("rad_nerf", "bare"),
         ("rad_nerf", "wrapped")]  # fmt: skip
TRAIN_IMPLS = ("loop", "auto")


def _groups_of(cell, data: Path, work: Path, quick: bool):
    """The head stage's parameter groups of ``cell`` and its optimiser kind (one step trained
    through ``train_from_config`` builds the system exactly as the tables do)."""
    import train_speed as ts

    from lokitalk_plugins.train.checkpoint import load_checkpoint

    backbone, model = cell
    grid = 32 if quick else None
    configs, bindings = ts._cell_setup(dict(backbone=backbone, model=model, precision="fp32",
                                            upkeep="full"), 1, 64, grid)  # fmt: skip
    seen = {}

    def grab(system):
        seen["system"] = system
        if model == "wrapped":
            ts._bind_reference(system)

    ts._train(configs, bindings, data, work / "optimizer_step_ws", None, grab)
    (latest,) = (work / "optimizer_step_ws").rglob("latest.pt")
    kind = load_checkpoint(latest, map_location="cpu")["settings"]["optimizer"]
    system = seen["system"]
    return system.parameter_groups(), str(kind), sum(p.numel() for p in system.parameters())


def _time_steps(groups, kind: str, repeats: int, rounds: int) -> dict:
    import torch

    from lokitalk_plugins.train.optim import build_optimizer

    start = [[p.detach().clone() for p in g["params"]] for g in groups]
    gen = torch.Generator().manual_seed(0)
    grads = [[torch.randn(p.shape, generator=gen) * 1e-2 for p in g["params"]] for g in groups]
    times = {impl: [] for impl in IMPLS}
    ends = {}
    for r in range(rounds):
        for impl in IMPLS[r % len(IMPLS) :] + IMPLS[: r % len(IMPLS)]:
            with torch.no_grad():
                for g, s in zip(groups, start):
                    for p, v in zip(g["params"], s):
                        p.copy_(v)
            opt = build_optimizer([dict(g) for g in groups], kind, implementation=impl)
            for g, gs in zip(groups, grads):
                for p, v in zip(g["params"], gs):
                    p.grad = v.clone()
            opt.step()  # the first step makes the state: not timed
            t0 = time.perf_counter()
            for _ in range(repeats):
                opt.step()
            times[impl].append(1e3 * (time.perf_counter() - t0) / repeats)
            ends[impl] = [p.detach().clone() for g in groups for p in g["params"]]
    loop_ms = statistics.median(times["loop"])
    out = {}
    for impl in IMPLS:
        ms = statistics.median(times[impl])
        diff = max((a - b).abs().max().item() for a, b in zip(ends["loop"], ends[impl]))
        out[impl] = {"ms": round(ms, 3), "speedup_vs_loop": round(loop_ms / ms, 2),
                     "max_abs_diff_vs_loop": diff}  # fmt: skip
    return out


def _train_cells(steps: int, data: Path, work: Path, quick: bool, rounds: int) -> list[dict]:
    import train_speed as ts
    from tqdm import tqdm
    from train_speed_phases import PhaseClock

    grid, rays = (32, 256) if quick else (None, 2048)
    clock = PhaseClock.install()
    base = {"backbone": "er_nerf", "model": "wrapped", "precision": "fp32", "upkeep": "full"}
    runs: dict[str, list[dict]] = {impl: [] for impl in TRAIN_IMPLS}
    order = [TRAIN_IMPLS[(i + r) % 2] for r in range(rounds) for i in range(2)]
    for impl in tqdm(order, desc="optimizer_step training", unit="run"):
        configs, bindings = ts._cell_setup(base, steps, rays, grid)
        bindings = bindings + [f"Trainer.optimizer_implementation = '{impl}'"]
        runs[impl].append(ts._train(configs, bindings, data, work / "optimizer_step_ws", clock,
                                    ts._bind_reference))  # fmt: skip
    loop = [r["steps_per_second"] for r in runs["loop"]]
    rows = []
    for impl, done in runs.items():
        ratios = [r["steps_per_second"] / s for r, s in zip(done, loop)]
        rows.append({"implementation": impl, "steps": steps, "rounds": done,
                     "steps_per_second": statistics.median(r["steps_per_second"] for r in done),
                     "val_psnr": statistics.median(r["val_psnr"] for r in done),
                     "speed_vs_loop": round(statistics.median(ratios), 3),
                     "speed_vs_loop_range": [round(min(ratios), 3), round(max(ratios), 3)],
                     "phase_shares": done[-1]["phase_shares"]})  # fmt: skip
    return rows


def _markdown(report: dict) -> str:
    m = report["machine"]
    lines = [f"# {report['benchmark']}", "",
             f"`{report['command']}` at {report['commit'][:10]}; {m['platform']}, "
             f"{m['cpu_count']} cores, one thread, torch {m['torch']}; load average "
             f"{m['load_average_1min_at_start']} at the start, "
             f"{m['load_average_1min_at_end']} at the end.", "",
             f"## The step alone (ms a step, median of {report['rounds']} rounds of "
             f"{report['repeats']} steps; seeded random gradients)", "",
             "| backbone | model | optimiser | parameters | loop | foreach | fused | fused vs loop "
             "| fused, max \\|Δw\\| vs loop |",
             "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in report["steps_alone"]:
        t = r["timings"]
        lines.append(f"| {r['backbone']} | {r['model']} | {r['optimizer']} | "
                     f"{r['parameters']:,} | {t['loop']['ms']:.2f} | {t['foreach']['ms']:.2f} | "
                     f"{t['fused']['ms']:.2f} | {t['fused']['speedup_vs_loop']:.2f}x | "
                     f"{t['fused']['max_abs_diff_vs_loop']:.1e} |")  # fmt: skip
    head = ["implementation", "steps/s", "vs loop", "vs loop, range", "val PSNR",
            *report["phases"]]  # fmt: skip
    lines += ["", f"## Training ({report['steps']} head steps, ER-NeRF + RSDF + ID-AKT, "
              f"{report['rounds']} rounds interleaved: medians, shares of the last round)", "",
              "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]  # fmt: skip
    for r in report["training"]:
        shares = r.get("phase_shares") or {}
        lo, hi = r["speed_vs_loop_range"]
        psnr = "-" if r.get("val_psnr") is None else f"{r['val_psnr']:.2f}"
        vals = [r["implementation"], f"{r['steps_per_second']:.2f}",
                f"{r['speed_vs_loop']:.2f}x", f"{lo:.2f}-{hi:.2f}x", psnr]  # fmt: skip
        vals += [f"{100 * shares[p]:.0f}%" if p in shares else "-" for p in report["phases"]]
        lines.append("| " + " | ".join(vals) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="folder for optimizer_step.json and .md")
    p.add_argument("--work", default="/tmp/lokitalk_optimizer_step", help="studio + workspace")
    p.add_argument("--steps", type=int, default=400, help="head steps a training run (400)")
    p.add_argument("--repeats", type=int, default=20, help="optimiser steps a timing (20)")
    p.add_argument("--rounds", type=int, default=2, help="interleaved rounds (2)")
    p.add_argument("--quick", action="store_true", help="64 px, 1 s, 32^3 grid, 256 rays")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    args = p.parse_args(argv)
    if min(args.steps, args.repeats, args.rounds) < 1:
        p.error("--steps, --repeats and --rounds must be >= 1")
    out = Path(args.out)
    refuse_overwrite(p, out, "optimizer_step", args.force)

    import torch
    import train_speed as ts
    from harness.common import commit
    from tqdm import tqdm
    from train_speed import _machine
    from train_speed_phases import PHASES

    import lokitalk_plugins.registration  # noqa: F401  (the gin names)

    torch.set_num_threads(1)
    load = os.getloadavg()[0]
    work = Path(args.work)
    size, seconds = (64, 1.0) if args.quick else (128, 4.0)
    data = ts._studio(work, size, seconds)
    alone = []
    for cell in tqdm(CELLS, desc="optimizer_step, the step alone", unit="cell"):
        groups, kind, n = _groups_of(cell, data, work, args.quick)
        alone.append({"backbone": cell[0], "model": cell[1], "optimizer": kind, "parameters": n,
                      "timings": _time_steps(groups, kind, args.repeats, args.rounds)})  # fmt: skip
    training = _train_cells(args.steps, data, work, args.quick, args.rounds)
    report = {
        "benchmark": "Adam's step on a CPU: loop, foreach, fused (one thread)",
        "command": "python benchmarks/optimizer_step.py " + " ".join(argv or sys.argv[1:]),
        "commit": commit(),
        "machine": _machine(load),
        "steps": args.steps,
        "repeats": args.repeats,
        "rounds": args.rounds,
        "quick": args.quick,
        "phases": list(PHASES),
        "steps_alone": alone,
        "training": training,
    }
    md = _markdown(report)
    write_report(report, md, out, "optimizer_step")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
