"""Grid-encoder throughput: pure-PyTorch reference vs fused C++ CPU kernel (vs tiny-cuda-nn).

    python benchmarks/encoders.py [--quick] [--sizes 16 17 18] [--repeats 3] [--threads 1 2]
                                  [--out PATH]

Cases: the RAD-NeRF head grid (3D tiled, 16 levels x 2 features, base 16, finest 2048,
table 2**16) and the ER-NeRF tri-plane (three 2D hash grids, 12 x 1, base 64, finest 512,
table 2**14). Points are uniform in the box (the cache-unfriendly worst case; rays are more
coherent). Modes: ``fwd`` (no grad), ``fwd+bwd`` (table gradient, as when training a NeRF),
``fwd+bwd+dx`` (table and input gradients, as under a deformation field). Every backend is
timed side by side in one run (best of ``--repeats`` after one warm-up), and the speed-ups
over the reference are computed from those same-run numbers. Writes JSON (machine, settings,
timings) to benchmarks/results/encoders.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from lokitalk_plugins.encoding import (
    GridEncoder,
    TcnnGridEncoder,
    TriPlane,
    kernel_available,
    tcnn_available,
)

RESULTS = Path(__file__).resolve().parent / "results" / "encoders.json"
MODES = ("fwd", "fwd+bwd", "fwd+bwd+dx")
RAD = dict(input_dim=3, num_levels=16, level_dim=2, base_resolution=16, log2_hashmap_size=16,
           desired_resolution=2048, gridtype="tiled")  # fmt: skip
ER = dict(num_levels=12, level_dim=1, base_resolution=64, log2_hashmap_size=14,
          desired_resolution=512, gridtype="hash")  # fmt: skip


class _TcnnTriPlane(torch.nn.Module):
    """Three tiny-cuda-nn 2D grids in the TriPlane order (benchmark only)."""

    def __init__(self):
        super().__init__()
        self.planes = torch.nn.ModuleList(TcnnGridEncoder(input_dim=2, **ER) for _ in range(3))

    def forward(self, x):
        xy, yz, xz = x[:, [0, 1]], x[:, [1, 2]], x[:, [0, 2]]
        return torch.cat([p(q) for p, q in zip(self.planes, (xy, yz, xz))], dim=-1)


def build(case: str, backend: str) -> torch.nn.Module:
    """The encoder of ``case`` ('rad_nerf_grid3d' or 'er_nerf_triplane') on ``backend``."""
    if backend == "tcnn":
        enc = TcnnGridEncoder(**RAD) if case == "rad_nerf_grid3d" else _TcnnTriPlane()
        return enc.cuda()
    if case == "rad_nerf_grid3d":
        return GridEncoder(**RAD, backend=backend)
    return TriPlane(**ER, backend=backend)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_mode(enc, x: torch.Tensor, mode: str, repeats: int) -> float:
    """Best wall time (s) of one call in ``mode`` over ``repeats`` runs after a warm-up."""
    params = [p for p in enc.parameters()]

    def once():
        if mode == "fwd":
            with torch.no_grad():
                enc(x)
            return
        xi = x.detach().requires_grad_(mode == "fwd+bwd+dx")
        out = enc(xi)
        out.backward(torch.ones_like(out))
        for p in params:
            p.grad = None

    once()
    best = float("inf")
    for _ in range(repeats):
        _sync(x.device)
        start = time.perf_counter()
        once()
        _sync(x.device)
        best = min(best, time.perf_counter() - start)
    return best


def machine_info() -> dict:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": sys.version.split()[0],
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def run(sizes: list[int], repeats: int, modes: tuple[str, ...], threads: list[int]) -> dict:
    backends = ["torch"] + (["cpp"] if kernel_available() else [])
    backends += ["tcnn"] if tcnn_available() else []
    jobs = [(t, c, 2**s, m) for t in threads for c in ("rad_nerf_grid3d", "er_nerf_triplane")
            for s in sizes for m in modes]  # fmt: skip
    rows = []
    for nthreads, case, n, mode in tqdm(jobs, desc="encoder benchmark", unit="case"):
        torch.set_num_threads(nthreads)
        gen = torch.Generator().manual_seed(0)
        x_cpu = torch.rand(n, 3, generator=gen) * 2 - 1
        row = {"threads": nthreads, "case": case, "points": n, "mode": mode}
        for backend in backends:
            torch.manual_seed(0)
            enc = build(case, backend)
            x = x_cpu.cuda() if backend == "tcnn" else x_cpu
            seconds = time_mode(enc, x, mode, repeats)
            row[backend] = {"seconds": seconds, "points_per_s": n / seconds}
        for backend in backends[1:]:
            row[f"speedup_{backend}"] = row["torch"]["seconds"] / row[backend]["seconds"]
        rows.append(row)
    return {"backends": backends, "rows": rows}


def markdown(rows: list[dict], backends: list[str]) -> str:
    head = "| threads | case | points | mode | " + " | ".join(f"{b} Mpts/s" for b in backends)
    head += "".join(f" | {b} / torch" for b in backends[1:]) + " |"
    lines = [head, "|" + "---|" * (4 + len(backends) + len(backends[1:]))]
    for r in rows:
        cells = [str(r["threads"]), r["case"], f"2^{r['points'].bit_length() - 1}", r["mode"]]
        cells += [f"{r[b]['points_per_s'] / 1e6:.3f}" for b in backends]
        cells += [f"{r[f'speedup_{b}']:.1f}x" for b in backends[1:]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2^16 points only, 2 repeats")
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 17, 18], help="log2 points")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, nargs="+", default=None, help="torch thread counts to run"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    threads = args.threads or [torch.get_num_threads()]
    sizes, repeats = ([16], 2) if args.quick else (args.sizes, args.repeats)
    started = time.time()
    machine = machine_info()
    result = run(sizes, repeats, MODES, threads)
    table = markdown(result["rows"], result["backends"])
    report = {
        "benchmark": "grid encoders: points/s by backend",
        "machine": machine,
        "settings": {
            "sizes_log2": sizes,
            "repeats": repeats,
            "quick": args.quick,
            "timing": "best of repeats after one warm-up",
            "points": "uniform in box",
            "rad_nerf_grid3d": RAD,
            "er_nerf_triplane": ER,
        },  # fmt: skip
        "note": "CPU possibly shared with other processes: timings are noisy",
        "wall_seconds": round(time.time() - started, 1),
        **result,
        "markdown": table,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    print(table)
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
