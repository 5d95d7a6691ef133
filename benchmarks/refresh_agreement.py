"""Benchmark: how far the deformed refresh on the lattice (``GridUpkeep.deformed_lattice``) is
from the exact deformed refresh, on trained workspaces (a wrapped ER-NeRF with RSDF, e.g.
Table 2's O+D+R seeds).

For each workspace and each of ``--refreshes`` draws (a training frame's conditions and a
lattice jitter, seeded), on the cells a sparse refresh evaluates at the trained grid's state
(the occupied cells, their neighbours and a random ``--fraction`` of the other valid cells):

- **exact**: the density at each cell's deformed lattice point (the refresh with the option
  unset), thresholded at the trained grid's threshold;
- **noise floor**: the same with another jitter draw: how much two exact refreshes disagree
  on which cells are occupied (the refresh is random by design);
- **each setting** (0: the exact deformation, R: the deformation from R^3 vertices): the
  option's density on the same lattice points, its share of cells whose occupancy differs
  from the exact refresh's, the occupied share, and for R the deformation's error at the
  cells' points in cells (median, 90th, 99th percentile, max).

    python benchmarks/refresh_agreement.py WS [WS ...] --out DIR [--vertices 0 17 33 65]
        [--refreshes 4] [--fraction 0.25] [--seed 0] [--force]

Writes ``refresh_agreement.json`` and ``.md`` to ``--out`` (refused if they exist, unless
``--force``). Agreement, not time: training speed is ``train_speed.py``'s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness.common import refuse_overwrite  # noqa: E402
from harness.measures import write_diagnostic  # noqa: E402

__all__ = ["agreement", "main", "markdown"]

STEM = "refresh_agreement"
QUANTILES = (0.5, 0.9, 0.99)
CHUNK = 1 << 14  # points per density call


def _load(parser, ws: Path):
    """The trained system of a workspace with its occupancy signals; one line otherwise."""
    import lokitalk_plugins.registration  # noqa: F401
    from lokitalk_plugins.commands.workspace import load_dataset, load_system

    if not (ws / "run.json").is_file():
        parser.error(f"{ws} is no workspace (no run.json): pass folders that `lokitalk train` "
                     "or the harness's --work made")  # fmt: skip
    system, run, _ = load_system(ws)
    model = system.model
    if getattr(model, "rsdf", None) is None or getattr(model, "adapter", None) is None:
        parser.error(f"{ws}: not a wrapped model with a deformation plug-in (RSDF): nothing to "
                     "compare")  # fmt: skip
    import torch

    from lokitalk_plugins.render.upkeep import lattice_axes

    axes = lattice_axes(model.grid.resolution, float(model.grid.bound), False, torch.float32)
    if model.adapter.lattice_encoder(axes) is None:
        parser.error(f"{ws}: its backbone ({model.adapter.name}) has no lattice encoder: the "
                     "option changes nothing there")  # fmt: skip
    train = load_dataset(run, "head", "train", progress=False)
    system.prepare(train)  # the occupancy signals; cells unseen are marked as in training
    return system


def agreement(system, vertices, refreshes: int, seed: int, fraction: float = 0.25) -> dict:
    """The measures of the module doc for one loaded system -> dict."""
    import torch

    from lokitalk_plugins.render.upkeep import cell_indices, lattice_axes, sparse_cells

    model, grid = system.model, system.model.grid
    r, bound = grid.resolution, float(grid.bound)
    valid = (grid._dense(grid.density_grid[0]) >= 0).view(r, r, r)
    thresh = grid.summary()["threshold"]
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    rows = {"exact": [], "noise floor": [], **{v: [] for v in vertices}}
    errors = {v: [] for v in vertices if v}
    cells_n = []
    for _ in range(refreshes):
        cells = sparse_cells(grid.occupancy & valid, valid, fraction)
        ijk = cell_indices(cells, r)
        i = torch.randint(0, system._audio_bank.shape[0], (1,), generator=gen)
        with torch.no_grad():
            enc_a = model.encode_audio(system._audio_bank[i].float())
            eye = system._eye_bank[i]
            pose = None if system._pose_bank is None else system._pose_bank[i]
            f_a = model.split_audio(enc_a)[1]

            axes = lattice_axes(r, bound, True, torch.float32)
            x, ref = _exact(model, axes, ijk, enc_a, eye, pose)
            occ = ref > thresh
            _, other = _exact(model, lattice_axes(r, bound, True, torch.float32), ijk, enc_a,
                              eye, pose)  # fmt: skip
            rows["exact"].append(float(occ.float().mean()))
            rows["noise floor"].append(float(((other > thresh) != occ).float().mean()))
            dx = None
            for v in vertices:
                fn = model.grid_density_lattice(axes, enc_a, eye, pose, deformed_lattice=v)
                sig = torch.cat([fn(ijk[s : s + CHUNK]) for s in range(0, ijk.shape[0], CHUNK)])
                rows[v].append(((sig > thresh) != occ).float().mean().item())
                if v:
                    if dx is None:
                        dx = model.deform(x, f_a, eye, pose, None, maps=False).x_canonical - x
                    errors[v].append(_offset_error(model, v, bound, x, dx, f_a, eye, pose) / (
                        grid.cell_size))  # fmt: skip
        cells_n.append(int(cells.numel()))
    out = {"resolution": r, "threshold": thresh, "cells": cells_n,
           "exact_occupied": _ms(rows["exact"]), "noise_floor": _ms(rows["noise floor"]),
           "settings": {}}  # fmt: skip
    for v in vertices:
        entry = {"disagreement": _ms(rows[v])}
        if v:
            err = torch.cat(errors[v])
            entry["offset_error_cells"] = {
                **{f"q{int(q * 100)}": float(err.quantile(q)) for q in QUANTILES},
                "max": float(err.max()),
            }
        out["settings"][str(v)] = entry
    return out


def _exact(model, axes, ijk, enc_a, eye, pose):
    """(the cells' lattice points [K, 3], the exact deformed refresh's density there [K])."""
    import torch

    from lokitalk_plugins.render.upkeep import lattice_points

    x = lattice_points(axes, ijk)
    sig = [model.grid_density(x[s : s + CHUNK], enc_a, eye, pose)
           for s in range(0, x.shape[0], CHUNK)]  # fmt: skip
    return x, torch.cat(sig)


def _offset_error(model, vertices, bound, x, dx, f_a, eye, pose):
    """|Δx read from an R^3 vertex lattice - Δx at x| per point (the refresh's own bake)."""
    from lokitalk_plugins.adapters.lattice_refresh import vertex_offsets

    lat = vertex_offsets(model, vertices, bound, f_a, eye, pose)
    return (lat(x) - dx).norm(dim=-1)


def _ms(values) -> list[float]:
    return [statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0]


def markdown(report: dict) -> str:
    lines = ["# The deformed refresh on the lattice against the exact deformed refresh", "",
             f"`{report['command']}` at {report['commit']}.", "",
             "Cells: those a sparse refresh evaluates at the trained grid's state (occupied, "
             f"their neighbours, {report['fraction']:g} of the others). Disagreement: the "
             "share of those cells whose occupancy (density above the trained grid's "
             "threshold) differs from the exact refresh's on the same lattice points; the "
             "noise floor is two exact refreshes with different jitter; mean ± std over "
             f"{report['refreshes']} draws of a training frame and a jitter. Offset error: "
             "the deformation read from the vertices against the exact one, in cells.",
             "", "| workspace | grid | cells | occupied (exact) | noise floor | setting | "
             "disagreement | offset error q50 / q90 / q99 / max (cells) |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for ws, m in report["workspaces"].items():
        cells = statistics.fmean(m["cells"])
        for v, s in m["settings"].items():
            e = s.get("offset_error_cells")
            err = "exact" if e is None else " / ".join(
                f"{e[k]:.2f}" for k in ("q50", "q90", "q99", "max"))  # fmt: skip
            what = "0 (exact deformation)" if v == "0" else f"{v}^3 vertices"
            lines.append(f"| {Path(ws).name} | {m['resolution']}^3 | {cells:.0f} | "
                         f"{_pct(m['exact_occupied'])} | {_pct(m['noise_floor'])} | {what} | "
                         f"{_pct(s['disagreement'])} | {err} |")  # fmt: skip
    lines += ["", f"Machine: {report['machine']}.", ""]
    return "\n".join(lines)


def _pct(ms) -> str:
    return f"{100 * ms[0]:.1f}% ± {100 * ms[1]:.1f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workspaces", nargs="+", help="trained workspaces (wrapped ER-NeRF + RSDF)")
    ap.add_argument("--out", required=True, help=f"folder for {STEM}.json and .md")
    ap.add_argument(
        "--vertices",
        type=int,
        nargs="+",
        default=[0, 17, 33, 65],
        help="GridUpkeep.deformed_lattice settings (0: exact deformation)",
    )
    ap.add_argument("--refreshes", type=int, default=4, help="draws per workspace (4)")
    ap.add_argument(
        "--fraction",
        type=float,
        default=0.25,
        help="share of the other valid cells drawn (0.25, the fast refreshes')",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--force", action="store_true", help="overwrite existing outputs")
    args = ap.parse_args(argv)
    if not 0.0 <= args.fraction <= 1.0:
        ap.error(f"--fraction {args.fraction}: a share in [0, 1]")
    if args.refreshes < 2:
        ap.error("--refreshes must be >= 2 (a mean ± std over draws)")
    bad = [v for v in args.vertices if v == 1 or v < 0]
    if bad:
        ap.error(f"--vertices {bad}: 0 (the exact deformation) or vertices per axis >= 2")
    refuse_overwrite(ap, Path(args.out), STEM, args.force)
    import torch

    torch.set_num_threads(1)
    found = {}
    for ws in map(Path, args.workspaces):
        system = _load(ap, ws)
        print(f"{ws}: {args.refreshes} refreshes ...", flush=True)
        found[str(ws)] = agreement(system, args.vertices, args.refreshes, args.seed, args.fraction)
    write_diagnostic(STEM, argv, args.out, markdown, refreshes=args.refreshes,
                     fraction=args.fraction, vertices=args.vertices, workspaces=found)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
