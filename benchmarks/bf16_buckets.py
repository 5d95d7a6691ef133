"""bfloat16 on a CPU with sample counts rounded to buckets: products and training, side by side.

Two parts, one thread, in one run:

1. Products. The weight gradient of a 69-input layer, [64, K] x [K, 69], and the layer's
   forward, [K, 64] x [64, 69]^T, timed in float32 and bfloat16 with K fixed, with K new every
   call (as a march's sample count is) and with K rounded up to a bucket
   (``lokitalk_plugins.render.buckets.bucket_size``).
2. Training. ER-NeRF wrapped with RSDF + ID-AKT (``train_speed.py``'s "wrapped" cell: the
   tables' settings, 128 px 4 s studio identity, 2048 rays) for ``--steps`` head steps in
   float32, in bfloat16 autocast without padding (``TalkingHeadSystem.pad_samples = 'off'``)
   and in bfloat16 with it ('auto', the default): steps per second, the ratio to float32,
   the val PSNR, the phase shares.

    python benchmarks/bf16_buckets.py --out benchmarks/results [--steps 400] [--rounds 3] [--force]
    python benchmarks/bf16_buckets.py --quick --steps 3 --repeats 2 --out /tmp/b  # a check

Writes ``bf16_buckets.json`` and ``.md`` to ``--out`` (refused if they exist, unless
``--force``). On a CPU without bfloat16 instructions it says so and stops.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness.common import refuse_overwrite, write_report  # noqa: E402

__all__ = ["main"]

CELLS = (("fp32", "off"), ("bf16", "off"), ("bf16", "auto"))


def _time_products(repeats: int) -> list[dict]:
    import torch

    from lokitalk_plugins.render.buckets import bucket_size

    gen = torch.Generator().manual_seed(0)
    big = 40_000
    rows = []
    for dtype in (torch.float32, torch.bfloat16):
        g0 = torch.randn(big, 64, generator=gen).to(dtype)
        x0 = torch.randn(big, 69, generator=gen).to(dtype)
        w = torch.randn(69, 64, generator=gen).to(dtype)
        for op in ("weight gradient", "forward"):
            for ks in ("fixed", "new each call", "bucketed"):
                total = 0.0
                for i in range(repeats + 1):
                    k = 20_000 + (0 if ks == "fixed" else 37 * i + 11 * (i % 7))
                    if ks == "bucketed":
                        k = bucket_size(k)
                    g, x = g0[:k], x0[:k]
                    t0 = time.perf_counter()
                    _ = g.t() @ x if op == "weight gradient" else g @ w.t()
                    if i:  # the first call builds the fixed-K kernel: not timed
                        total += time.perf_counter() - t0
                rows.append({"dtype": str(dtype).replace("torch.", ""), "product": op,
                             "K": ks, "ms": round(1e3 * total / repeats, 3)})  # fmt: skip
    return rows


def _train_cells(steps: int, work: Path, quick: bool, rounds: int = 1) -> list[dict]:
    """Each cell trained once a round, the cells' order rotated every round; a cell's
    steps/s is the median over rounds and its ratio to float32 the median of the rounds'
    ratios (each round's cells against that round's float32)."""
    import statistics

    import train_speed as ts
    from tqdm import tqdm
    from train_speed_phases import PhaseClock

    size, seconds, grid, rays = (64, 1.0, 32, 256) if quick else (128, 4.0, None, 2048)
    data = ts._studio(work, size, seconds)
    clock = PhaseClock.install()
    base = {"backbone": "er_nerf", "model": "wrapped", "upkeep": "full"}
    warm_cfg, warm_bind = ts._cell_setup(dict(base, precision="bf16"), 1, 64, 32)
    ts._train(warm_cfg, warm_bind, data, work / "bf16_buckets_ws", None, ts._bind_reference)
    runs: dict[tuple, list[dict]] = {cell: [] for cell in CELLS}
    order = [CELLS[(i + r) % len(CELLS)] for r in range(rounds) for i in range(len(CELLS))]
    for precision, pad in tqdm(order, desc="bf16_buckets", unit="cell"):
        configs, bindings = ts._cell_setup(dict(base, precision=precision), steps, rays, grid)
        bindings = bindings + [f"TalkingHeadSystem.pad_samples = '{pad}'"]
        runs[(precision, pad)].append(ts._train(configs, bindings, data,
                                                work / "bf16_buckets_ws", clock,
                                                ts._bind_reference))  # fmt: skip
    fp32 = [r["steps_per_second"] for r in runs[CELLS[0]]]
    rows = []
    for (precision, pad), done in runs.items():
        ratios = [r["steps_per_second"] / f for r, f in zip(done, fp32)]
        row = {"precision": precision, "pad_samples": pad, "steps": steps, "rounds": done}
        row.update({k: done[-1][k] for k in ("precision", "phase_shares")})
        row["steps_per_second"] = statistics.median(r["steps_per_second"] for r in done)
        row["val_psnr"] = statistics.median(r["val_psnr"] for r in done)
        row["speed_vs_fp32"] = round(statistics.median(ratios), 3)
        row["speed_vs_fp32_range"] = [round(min(ratios), 3), round(max(ratios), 3)]
        rows.append(row)
    return rows


def _markdown(report: dict) -> str:
    m = report["machine"]
    lines = [f"# {report['benchmark']}", "",
             f"`{report['command']}` at {report['commit'][:10]}; {m['platform']}, "
             f"{m['cpu_count']} cores, one thread, torch {m['torch']}, bfloat16 instructions: "
             f"{m['bf16_instructions']}; load average {m['load_average_1min_at_start']} at the "
             f"start, {m['load_average_1min_at_end']} at the end.", "",
             "## Products (ms a call, K about 20,000)", "",
             "| dtype | product | K fixed | K new each call | K bucketed |",
             "|---|---|---|---|---|"]  # fmt: skip
    by = {(r["dtype"], r["product"], r["K"]): r["ms"] for r in report["products"]}
    for dtype in ("float32", "bfloat16"):
        for op in ("weight gradient", "forward"):
            vals = [by[(dtype, op, k)] for k in ("fixed", "new each call", "bucketed")]
            lines.append(f"| {dtype} | {op} | " + " | ".join(f"{v:.2f}" for v in vals) + " |")
    head = ["precision", "pad_samples", "steps/s", "vs fp32", "vs fp32, range", "val PSNR",
            *report["phases"]]  # fmt: skip
    n = report.get("rounds", 1)
    lines += ["", f"## Training ({report['steps']} head steps, ER-NeRF + RSDF + ID-AKT, "
              f"{n} round{'s' if n > 1 else ''}: medians, shares of the last round)", "",
              "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]  # fmt: skip
    for r in report["training"]:
        shares = r.get("phase_shares") or {}
        psnr = "-" if r.get("val_psnr") is None else f"{r['val_psnr']:.2f}"
        lo, hi = r.get("speed_vs_fp32_range", [r["speed_vs_fp32"]] * 2)
        vals = [r["precision"], r["pad_samples"], f"{r['steps_per_second']:.2f}",
                f"{r['speed_vs_fp32']:.2f}x", f"{lo:.2f}-{hi:.2f}x", psnr]  # fmt: skip
        vals += [f"{100 * shares[p]:.0f}%" if p in shares else "-" for p in report["phases"]]
        lines.append("| " + " | ".join(vals) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="folder for bf16_buckets.json and .md")
    p.add_argument("--work", default="/tmp/lokitalk_bf16_buckets", help="studio + workspace")
    p.add_argument("--steps", type=int, default=400, help="head steps a training cell (400)")
    p.add_argument("--repeats", type=int, default=40, help="calls a product cell (40)")
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="train every cell this many times, interleaved (medians reported)",
    )
    p.add_argument("--quick", action="store_true", help="64 px, 1 s, 32^3 grid, 256 rays")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    args = p.parse_args(argv)
    if args.steps < 1 or args.repeats < 1 or args.rounds < 1:
        p.error("--steps, --repeats and --rounds must be >= 1")
    out = Path(args.out)
    refuse_overwrite(p, out, "bf16_buckets", args.force)

    import torch
    from harness.common import commit
    from train_speed import _machine

    import lokitalk_plugins.registration  # noqa: F401  (the gin names)
    from lokitalk_plugins.train.runtime import cpu_bf16_support

    if cpu_bf16_support() is None:
        p.error("this CPU has no bfloat16 instructions (amx_bf16 / avx512_bf16 in /proc/cpuinfo): "
                "its bfloat16 products run on slow code; nothing to compare")  # fmt: skip
    torch.set_num_threads(1)
    load = os.getloadavg()[0]
    products = _time_products(args.repeats)
    training = _train_cells(args.steps, Path(args.work), args.quick, args.rounds)
    from train_speed_phases import PHASES

    report = {
        "benchmark": "bfloat16 with sample counts rounded to buckets (CPU, one thread)",
        "command": "python benchmarks/bf16_buckets.py " + " ".join(argv or sys.argv[1:]),
        "commit": commit(),
        "machine": _machine(load),
        "steps": args.steps,
        "quick": args.quick,
        "rounds": args.rounds,
        "phases": list(PHASES),
        "products": products,
        "training": training,
    }
    md = _markdown(report)
    write_report(report, md, out, "bf16_buckets")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
