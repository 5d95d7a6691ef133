"""Benchmark: the plug-ins' cost per sample at inference (wrapped field against bare, same
points), apart from any whole-pipeline ratio.

The same N observation points (in the head box, fixed seed) go through, in eval mode without
gradients and one after the other in this process:

- ``bare``: the backbone's field (ER-NeRF or RAD-NeRF, default sizes);
- ``rsdf``: the backbone wrapped with RSDF, reference path (per-point maps computed);
- ``rsdf_fast``: the same with ``inference_fast_path()`` (no maps);
- ``lokitalk``: RSDF + a fine-tuned ID-AKT identity (FrozenIdentity), reference path
  (per-sample canonical offset MLP);
- ``lokitalk_fast``: the same on the fast path (no maps, baked Δx_id lattice).

Offsets and identity layers are random (a trained-like plug-in; zero weights would cost the
same). Reports the median seconds of ``--repeats`` rounds (each setting once a round, after a
warm-up; with one thread the process's CPU seconds, so other load on the machine barely
moves them, else wall seconds) and each
setting's ratio to ``bare``; ``per_sample_ratio`` is ``lokitalk_fast / bare`` (LokiTalk's
inference path; issue 14's target: at most 1.25x). The whole-pipeline ratio (a 3D torso
against a 2D torso stage, per frame) is a different quantity: Tables 1 and 2 report it as
``render_ratio``. Writes JSON to ``--out``; on a shared machine write it to a temp dir.

    python benchmarks/render_overhead.py --out /tmp/render_overhead.json [--points 65536]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

__all__ = ["build", "main", "time_call", "time_side_by_side"]

RESULT = Path(__file__).resolve().parent / "results" / "render_overhead.json"


def time_call(fn, repeats: int, clock=time.perf_counter) -> float:
    """Median seconds (``clock``) of ``fn()`` over ``repeats`` calls, after one warm-up call."""
    return time_side_by_side({"fn": fn}, repeats, clock)["fn"]


def time_side_by_side(fns: dict, repeats: int, clock=time.perf_counter) -> dict:
    """name -> median seconds (``clock``) of ``fns[name]()`` over ``repeats`` rounds, each
    round calling every function once in turn (after one warm-up call each), so a change in
    the machine's load falls on all of them alike."""
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = clock()
            fn()
            times[name].append(clock() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def _randomise(module, seed: int, std: float = 0.05) -> None:
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            if not p.any():
                p.copy_(torch.randn(p.shape, generator=g) * std)


def build(backbone: str = "er_nerf", bake_resolution: int = 128) -> dict:
    """name -> callable(x, d) for the five settings of the module doc, on shared inputs."""
    import torch

    from lokitalk_plugins.adapters import wrap
    from lokitalk_plugins.baselines.er_nerf.network import ERNeRF
    from lokitalk_plugins.baselines.rad_nerf.network import RADNeRF
    from lokitalk_plugins.idakt import FrozenIdentity
    from lokitalk_plugins.rsdf import RSDF

    cls = {"er_nerf": ERNeRF, "rad_nerf": RADNeRF}[backbone]

    def backbone_model():
        torch.manual_seed(0)
        return cls(ind_num=4).eval()

    bare = backbone_model()
    g = torch.Generator().manual_seed(1)
    enc_a, eye = torch.randn(1, bare.audio_dim, generator=g), torch.rand(1, 1, generator=g)
    pose, code = torch.randn(1, 6, generator=g) * 0.2, bare.individual_code(1)

    def wrapped(identity: bool, fast: bool):
        model = backbone_model()
        torch.manual_seed(2)
        rsdf = RSDF(audio_dim=model.audio_dim, id_dim=16 if identity else 0)
        _randomise(rsdf, 3)
        ident = None
        if identity:
            x0 = torch.zeros(1, 3)
            ident = FrozenIdentity(
                hyper_layers=rsdf.hyper_layers,
                appearance_dim=model.individual_code(0).shape[1],
                geometry_dim=model.encode_points(x0).shape[1],
            )
            _randomise(ident, 4)
        w = wrap(model, rsdf=rsdf, idakt=ident).eval()
        if fast:
            w.inference_fast_path(bake_resolution=bake_resolution)
        return lambda x, d: w(x, d, enc_a, eye, code, pose=pose)

    return {
        "bare": lambda x, d: bare(x, d, enc_a, eye, code),
        "rsdf": wrapped(False, False),
        "rsdf_fast": wrapped(False, True),
        "lokitalk": wrapped(True, False),
        "lokitalk_fast": wrapped(True, True),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backbone", choices=("er_nerf", "rad_nerf"), default="er_nerf")
    ap.add_argument("--points", type=int, default=65536, help="samples per call")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--bake-resolution", type=int, default=128)
    ap.add_argument("--out", default=str(RESULT), help="JSON to write")
    args = ap.parse_args(argv)
    import torch
    from harness.common import commit, machine

    torch.set_num_threads(args.threads)
    fns = build(args.backbone, args.bake_resolution)
    g = torch.Generator().manual_seed(5)
    x = (torch.rand(args.points, 3, generator=g) * 2 - 1) * torch.tensor([0.9, 0.45, 0.9])
    d = torch.nn.functional.normalize(torch.randn(args.points, 3, generator=g), dim=-1)
    # one thread: this process's CPU seconds (another process's load does not count); more
    # threads: wall seconds
    timer = "process_time" if args.threads == 1 else "perf_counter"
    with torch.no_grad():
        calls = {name: (lambda f=f: f(x, d)) for name, f in fns.items()}
        secs = time_side_by_side(calls, args.repeats, getattr(time, timer))
    ratio = {name: s / secs["bare"] for name, s in secs.items()}
    report = {
        "benchmark": "render_overhead",
        "command": " ".join(["python", "benchmarks/render_overhead.py"] + sys.argv[1:]),
        "commit": commit(),
        "settings": vars(args),
        "timer": timer,
        "seconds_median": secs,
        "ratio_to_bare": ratio,
        "per_sample_ratio": ratio["lokitalk_fast"],
        "per_sample_label": "RSDF + fine-tuned ID-AKT on the fast path / bare backbone field, "
        "same points, inference",
        "whole_pipeline_note": "per-frame ratios (3D torso vs a 2D torso stage) are the "
        "tables' render_ratio, not this",
        "machine": machine(args.threads, 1),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    for name in fns:
        print(f"{name:>14}: {ratio[name]:.2f}x the bare field per sample")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
