"""The occupancy grid's refresh bookkeeping: the fused kernel against its PyTorch twin, side
by side (CPU, one thread).

An update's bookkeeping is everything but the density: the sparse refresh's choice of cells,
then the decay, the raise, the threshold, the bitfield and the dense occupancy
(``OccupancyGrid(backend='auto')``: ``csrc/occupancy.cpp``; ``backend='torch'``: the PyTorch
operations). Each grid holds one synthetic state, the same for both backends: the cells
outside the head box unseen (-1, as ``GridUpkeep.box_only`` leaves them), a dense blob in the
middle and zeros elsewhere. An update is timed with a density function that returns zeros (so
what is timed is the bookkeeping and the cells' points), ``--repeats`` updates per round,
the backends interleaved over ``--rounds``; milliseconds an update (median), the ratio, and
whether the two grids end bit for bit the same (values, bitfield, occupancy).

A second part times whole refreshes of a rebuilt ER-NeRF (random weights, its hash tables
spread so the density varies; the cost of a cell does not depend on the weights) on the
lattice path (``GridUpkeep.lattice``, sparse, the same synthetic state restored before every
update) for each of ``--chunks`` (points a density call takes: the grid's ``chunk``; the
values do not depend on it), in float32 and, on a CPU with the instructions, bfloat16.

    python benchmarks/grid_bookkeeping.py --out benchmarks/results
    python benchmarks/grid_bookkeeping.py --quick --out /tmp/g    # 32^3, a check

Writes ``grid_bookkeeping.json`` and ``.md`` to ``--out`` (refused if they exist, unless
``--force``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness.common import commit, machine, refuse_overwrite, write_report  # noqa: E402

__all__ = ["main"]

BACKENDS = ("torch", "auto")
SETTINGS = [  # (name, OccupancyGrid keywords)
    ("full (the originals')", {"upkeep": "full"}),
    ("sparse, a quarter of the empty cells", {"upkeep": "sparse", "fraction": 0.25}),
    ("sparse on the lattice", {"upkeep": "sparse", "fraction": 0.25, "lattice": True}),
    ("spread, a quarter", {"upkeep": "spread", "fraction": 0.25}),
]


def _grid(resolution: int, backend: str, kw: dict):
    """A grid in the benchmark's synthetic state (see the module doc), seeded."""
    import torch

    from lokitalk_plugins.render import OccupancyGrid
    from lokitalk_plugins.render.grid import HEAD_AABB

    g = OccupancyGrid(resolution, backend=backend, **kw)
    r = resolution
    gen = torch.Generator().manual_seed(0)
    values = torch.zeros(r, r, r)
    lo, hi = 5 * r // 16, 11 * r // 16
    values[lo:hi, lo:hi, lo:hi] = torch.rand(hi - lo, hi - lo, hi - lo, generator=gen) ** 4 * 40
    values[~g.cells_meeting(torch.tensor(HEAD_AABB))] = -1.0
    flat = torch.empty(r**3)
    flat[g.morton] = values.reshape(-1)
    g.density_grid[0] = flat
    g._threshold()
    return g


def _zeros(points):
    import torch

    return torch.zeros(points.shape[0])


def measure(resolution: int, repeats: int, rounds: int) -> list[dict]:
    """One row per setting: ms an update for each backend, the ratio, bit-for-bit agreement."""
    import torch
    from tqdm import tqdm

    torch.set_num_threads(1)
    rows = []
    for name, kw in tqdm(SETTINGS, desc=f"grid bookkeeping {resolution}^3", unit="setting"):
        grids = {b: _grid(resolution, b, kw) for b in BACKENDS}
        times = {b: [] for b in BACKENDS}
        for r in range(rounds):
            for b in BACKENDS if r % 2 == 0 else BACKENDS[::-1]:
                g = grids[b]
                torch.manual_seed(r)  # the same draws for both backends in a round
                g.update(_zeros, force=True)  # the first update of a round: not timed
                t0 = time.perf_counter()
                for _ in range(repeats):
                    g.update(_zeros, force=True)
                times[b].append(1e3 * (time.perf_counter() - t0) / repeats)
        a, t = grids["auto"], grids["torch"]
        same = (torch.equal(a.density_grid, t.density_grid)
                and torch.equal(a.density_bitfield, t.density_bitfield)
                and torch.equal(a.occupancy, t.occupancy))  # fmt: skip
        ms = {b: statistics.median(times[b]) for b in BACKENDS}
        rows.append({"setting": name, "grid": kw, "resolution": resolution,
                     "ms_torch": round(ms["torch"], 2), "ms_fused": round(ms["auto"], 2),
                     "speedup": round(ms["torch"] / ms["auto"], 2),
                     "rounds_ms": {b: [round(x, 2) for x in times[b]] for b in BACKENDS},
                     "bit_for_bit": bool(same),
                     "occupied_share": round(a.summary()["occupied_share"], 4),
                     "valid_share": round(a.summary()["valid_share"], 4)})  # fmt: skip
    return rows


def _er_nerf(resolution: int):
    """A rebuilt ER-NeRF at ``resolution``^3 with random weights and spread hash tables, and
    a density function of the lattice path under one seeded condition."""
    import torch

    from lokitalk_plugins.baselines.er_nerf.network import ERNeRF

    torch.manual_seed(0)
    model = ERNeRF(audio_in_dim=16, ind_num=4, grid_size=resolution).eval()
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("embeddings"):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
    enc_a = torch.randn(1, model.audio_dim, generator=gen) * 0.5
    eye = torch.full((1, 1), 0.3)

    def fn(x):
        return model.grid_density(x, enc_a, eye)

    fn.lattice = lambda axes: model.grid_density_lattice(axes, enc_a, eye)
    return fn


def measure_chunks(resolution: int, chunks: list[int], repeats: int, rounds: int) -> list[dict]:
    """One row per (precision, chunk): ms a lattice refresh of a random ER-NeRF (median)."""
    import torch
    from tqdm import tqdm

    from lokitalk_plugins.train.runtime import cpu_bf16_support

    torch.set_num_threads(1)
    fn = _er_nerf(resolution)
    kw = {"upkeep": "sparse", "fraction": 0.25, "lattice": True}
    precisions = [None] + ([torch.bfloat16] if cpu_bf16_support() else [])
    cells = [(p, c) for p in precisions for c in chunks]
    times: dict = {cell: [] for cell in cells}
    g = _grid(resolution, "auto", kw)
    state = g.density_grid.clone(), g.density_bitfield.clone()
    with torch.no_grad():
        for r in tqdm(range(rounds), desc=f"refresh chunks {resolution}^3", unit="round"):
            for cell in cells if r % 2 == 0 else cells[::-1]:
                g.compute_dtype, g.chunk = cell
                for i in range(repeats + 1):  # the first: kernels built, not timed
                    g.density_grid.copy_(state[0])
                    g.density_bitfield.copy_(state[1])
                    g.sync_occupancy()
                    torch.manual_seed(r)
                    t0 = time.perf_counter()
                    g.update(fn, force=True)
                    if i:
                        times[cell].append(1e3 * (time.perf_counter() - t0))
    base = {p: statistics.median(times[(p, chunks[0])]) for p in precisions}
    return [{"resolution": resolution, "precision": "float32" if p is None else "bfloat16",
             "chunk": c, "ms": round(statistics.median(times[(p, c)]), 1),
             "speedup_vs_first_chunk": round(base[p] / statistics.median(times[(p, c)]), 2),
             "valid_cells": int(g.summary()["valid_share"] * resolution**3)}
            for p, c in cells]  # fmt: skip


def _markdown(report: dict) -> str:
    m = report["machine"]
    lines = [f"# {report['benchmark']}", "",
             f"`{report['command']}` at {report['commit'][:10]}; {m['cpu_model']}, "
             f"{m['platform']}, {m['cpu_count']} cores, one thread, torch {m['torch']}; "
             f"load average {m['load_average_1min']} at the start. Fused kernel built: "
             f"{report['kernel_available']}.", "",
             f"ms an update (median of {report['rounds']} rounds of {report['repeats']} "
             "updates; a density function of zeros, so the bookkeeping and the cells' points "
             "are timed; the backends interleaved).", "",
             "| grid | setting | PyTorch twin | fused | speed-up | bit for bit | occupied | "
             "valid |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in report["rows"]:
        lines.append(f"| {r['resolution']}^3 | {r['setting']} | {r['ms_torch']:.1f} | "
                     f"{r['ms_fused']:.1f} | {r['speedup']:.2f}x | "
                     f"{'yes' if r['bit_for_bit'] else 'NO'} | {r['occupied_share']:.1%} | "
                     f"{r['valid_share']:.1%} |")  # fmt: skip
    if report["chunks"]:
        lines += ["", "## A whole refresh by chunk size (rebuilt ER-NeRF, random weights, the "
                  "lattice path, sparse, a quarter of the empty cells)", "",
                  f"ms a refresh (median of {report['rounds']} rounds of {report['repeats']}); "
                  "the speed-up against the first chunk size of the same precision.", "",
                  "| grid | precision | chunk | ms | speed-up |",
                  "|---|---|---|---|---|"]  # fmt: skip
        for r in report["chunks"]:
            lines.append(f"| {r['resolution']}^3 | {r['precision']} | {r['chunk']} | "
                         f"{r['ms']:.1f} | {r['speedup_vs_first_chunk']:.2f}x |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--resolutions", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument(
        "--chunks",
        type=int,
        nargs="*",
        default=[1 << 14, 1 << 15, 1 << 16],
        help="chunk sizes of the whole-refresh part (none: skip it)",
    )
    parser.add_argument("--quick", action="store_true", help="32^3, 2 rounds of 2: a check")
    parser.add_argument("--force", action="store_true", help="overwrite an existing report")
    args = parser.parse_args(argv)
    if args.quick:
        args.resolutions, args.repeats, args.rounds = [32], 2, 2
        args.chunks = [1 << 10, 1 << 12] if args.chunks else []
    for name, value in (("--repeats", args.repeats), ("--rounds", args.rounds)):
        if value < 1:
            parser.error(f"{name} must be >= 1, got {value}")
    for r in args.resolutions:
        if r < 8 or r & (r - 1):
            parser.error(f"--resolutions: {r} is not a power of two >= 8")
    for c in args.chunks:
        if c < 1:
            parser.error(f"--chunks: {c} is not a positive number of points")
    refuse_overwrite(parser, args.out, "grid_bookkeeping", args.force)
    from lokitalk_plugins.encoding.grid_cpp import kernel_available

    report = {"benchmark": "Occupancy refresh bookkeeping: fused kernel vs PyTorch twin",
              "command": "python benchmarks/grid_bookkeeping.py " + " ".join(argv or sys.argv[1:]),
              "commit": commit(), "machine": machine(), "kernel_available": kernel_available(),
              "repeats": args.repeats, "rounds": args.rounds, "rows": [],
              "chunks": []}  # fmt: skip
    for r in args.resolutions:
        report["rows"] += measure(r, args.repeats, args.rounds)
    if args.chunks:
        report["chunks"] = measure_chunks(max(args.resolutions), args.chunks, args.repeats,
                                          args.rounds)  # fmt: skip
    md = _markdown(report)
    js, mdp = write_report(report, md, args.out, "grid_bookkeeping")
    print(md)
    print(f"wrote {js} and {mdp}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
