"""Benchmark: one full training step of the volume renderer on an ER-NeRF-sized field (CPU).

Step = march 4096 rays through a fully occupied 128^3 grid (at most 16 samples a ray, so
65,536 samples), tri-plane hash (3 x 12 levels x 1 feature, base 64, finest 512, table 2^14
-> 36-d) + sigma MLP (36 + 32 audio + 1 eye -> 64 -> 64 -> 65, exp density) + colour MLP
(16 SH + 64 + 4 code -> 64 -> 3, sigmoid), composite over a background, MSE loss, backward,
Adam step. Also times one occupancy-grid update (128^3 cells through the density branch),
which runs every 16 steps. Reports median/mean wall time per step and the process' peak RSS
during the timed steps (Linux VmHWM after resetting it through /proc/self/clear_refs; falls
back to ru_maxrss, the peak since process start). Writes JSON (settings, timings, machine).

    /work/venv/bin/python benchmarks/render_step.py [--rays 4096] [--steps 10] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

__all__ = ["main"]

RESULT = Path(__file__).resolve().parent / "results" / "render_step.json"


def _peak_rss_reset() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _status_kb(key: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def build_field(torch, encoder_backend: str):
    from torch import nn

    from lokitalk_plugins.encoding import SHEncoder, TriPlane

    def mlp(dims):
        net = nn.ModuleList(nn.Linear(a, b, bias=False) for a, b in zip(dims[:-1], dims[1:]))
        return net

    def run(net, h):
        for i, layer in enumerate(net):
            h = layer(h)
            if i < len(net) - 1:
                h = torch.relu(h)
        return h

    class Field(nn.Module):
        def __init__(self):
            super().__init__()
            self.triplane = TriPlane(backend=encoder_backend)
            self.encoder_dir = SHEncoder(degree=4)
            self.sigma_net = mlp([36 + 32 + 1, 64, 64, 65])
            self.color_net = mlp([16 + 64 + 4, 64, 3])
            self.register_buffer("aud", torch.randn(32))
            self.register_buffer("eye", torch.rand(1))
            self.register_buffer("code", torch.zeros(4))

        def density(self, x):
            enc = self.triplane(x)
            cond = torch.cat([self.aud, self.eye]).expand(x.shape[0], 33)
            h = run(self.sigma_net, torch.cat([enc, cond], -1))
            return torch.exp(h[:, 0]), h[:, 1:]

        def forward(self, x, d):
            sigma, geo = self.density(x)
            code = self.code.expand(x.shape[0], 4)
            h = run(self.color_net, torch.cat([self.encoder_dir(d), geo, code], -1))
            return {"sigma": sigma, "color": torch.sigmoid(h) * 1.002 - 0.001}

    return Field()


def main(argv=None) -> int:
    load_at_start = os.getloadavg()[0]  # before our own work raises it
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rays", type=int, default=4096)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--encoder-backend", default="auto")
    p.add_argument("--segment-backend", default="auto")
    p.add_argument("--no-grid-update", action="store_true")
    p.add_argument("--out", type=Path, default=RESULT)
    args = p.parse_args(argv)

    import torch

    from lokitalk_plugins.render import OccupancyGrid, VolumeRenderer, get_rays, resolve_backend

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    field = build_field(torch, args.encoder_backend)
    grid = OccupancyGrid(resolution=128)
    renderer = VolumeRenderer(grid, field=field, max_samples=16, backend=args.segment_backend)
    opt = torch.optim.Adam(field.parameters(), lr=1e-3, betas=(0.9, 0.99), eps=1e-15)
    H = W = 512
    c2w = torch.eye(4)
    c2w[2, 3] = -3.0
    K = (1400.0, 1400.0, W / 2, H / 2)  # the head box fills the image
    target = torch.rand(H * W, 3)
    bg = torch.rand(H * W, 3)

    samples_seen = []

    def step():
        index = torch.randint(0, H * W, (args.rays,))
        o, d = get_rays(c2w, K, H, W, index)
        res = renderer.render_rays(o, d, bg[index], training=True, perturb=True)
        loss = torch.mean((res.rgb - target[index]) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        samples_seen.append(res.samples.num_samples)

    for _ in range(args.warmup):
        step()
    rss_before = _status_kb("VmRSS")
    reset = _peak_rss_reset()
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    peak_kb = _status_kb("VmHWM") if reset else None
    peak_source = "VmHWM after clear_refs (timed steps only)"
    if peak_kb is None:
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak_source = "ru_maxrss (since process start)"

    grid_update_s = None
    if not args.no_grid_update:
        t0 = time.perf_counter()
        with torch.no_grad():
            grid.update(lambda x: field.density(x)[0], force=True)
        grid_update_s = time.perf_counter() - t0

    result = {
        "benchmark": "render_step",
        "settings": {
            "rays": args.rays,
            "max_samples": 16,
            "grid_resolution": 128,
            "grid": "fully occupied (worst case: every ray keeps 16 samples)",
            "steps": args.steps,
            "warmup": args.warmup,
            "threads": args.threads,
            "encoder_backend": field.triplane.encoder_xy.active_backend(),
            "segment_backend": resolve_backend(args.segment_backend),
            "model": "tri-plane hash 3x12x1 (base 64, finest 512, 2^14) + sigma MLP "
            "69-64-64-65 + colour MLP 84-64-3, SH degree 4",
            "optimizer": "Adam(lr 1e-3, betas 0.9/0.99, eps 1e-15)",
            "loss": "MSE",
        },
        "step_ms_median": 1000 * statistics.median(times),
        "step_ms_mean": 1000 * statistics.mean(times),
        "step_ms_all": [round(1000 * t, 2) for t in times],
        "samples_per_step_mean": statistics.mean(samples_seen[-args.steps :]),
        "target_ms": 250,
        "peak_rss_mb": peak_kb / 1024,
        "rss_before_mb": (rss_before or 0) / 1024,
        "peak_rss_source": peak_source,
        "grid_update_s": grid_update_s,
        "parameters": sum(p.numel() for p in field.parameters()),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
            "load_average_1min_at_start": round(load_at_start, 2),
            "note": (
                "other jobs were running when the benchmark started: timings are noisy"
                if load_at_start > 0.5
                else "the machine was idle when the benchmark started"
            ),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
