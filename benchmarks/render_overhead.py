"""Benchmark: the plug-ins' cost per sample at inference (wrapped field against bare, same
points), apart from any whole-pipeline ratio.

The same N observation points (in the head box, fixed seed) go through, in eval mode without
gradients and one after the other in this process:

- ``bare``: the backbone's field (ER-NeRF or RAD-NeRF, default sizes);
- ``rsdf``: the backbone wrapped with RSDF, reference path (per-point maps computed);
- ``rsdf_fast``: the same with ``inference_fast_path()`` (no maps);
- ``lokitalk``: RSDF + a fine-tuned ID-AKT identity (FrozenIdentity), reference path
  (per-sample canonical offset MLP);
- ``lokitalk_fast``: the same on the fast path (no maps, baked Δx_id lattice);
- ``lokitalk_fast_mlp``: the fast path with Δx_id from its MLP (``bake_resolution=0``; the
  identity's code folded into its first layer) instead of the lattice;
- ``lokitalk_fast_bf16``: that, with the plug-ins in bfloat16 (``precision="bfloat16"``; the
  backbone stays float32), where the CPU has the instructions;
- ``lokitalk_fast_bf16_lattice``: the plug-ins in bfloat16 with Δx_id from the lattice (read
  by the fused grid kernel where it builds);
- ``bare_unfused``: the bare field with every linear layer through ``F.linear`` and its
  activation (``layers.FUSED_LINEAR`` off), the reference twin of the fused oneDNN calls
  (``lokitalk_plugins.layers.linear_act``) all the other settings use where they can;
- ``bare_bf16`` and ``lokitalk_fast_all_bf16``: the bare field, and the whole wrapped field,
  under CPU bfloat16 autocast: what the ratio becomes when the backbone is bfloat16 too.

Offsets and identity layers are random (a trained-like plug-in; zero weights would cost the
same). Reports the median seconds of ``--repeats`` rounds (each setting once a round, after a
warm-up; with one thread the process's CPU seconds, so other load on the machine barely
moves them, else wall seconds) and each
setting's ratio to ``bare``; ``per_sample_ratio`` is LokiTalk's fastest inference path
against the float32 bare field: the faster of ``lokitalk_fast_bf16`` and
``lokitalk_fast_bf16_lattice`` where the CPU has bfloat16, else of ``lokitalk_fast_mlp`` and
``lokitalk_fast`` (issue 14's target: at most 1.25x), and
``per_sample_ratio_float32`` the float32 fast path's, ``min(lokitalk_fast, lokitalk_fast_mlp)
/ bare``. The whole-pipeline ratio (a 3D torso
against a 2D torso stage, per frame) is a different quantity: Tables 1 and 2 report it as
``render_ratio``. Writes JSON to ``--out``; on a shared machine write it to a temp dir.

    python benchmarks/render_overhead.py --out /tmp/render_overhead.json [--points 65536]

``--allocator tuned`` (the default) runs the timings in a process started with
``lokitalk_plugins.train.allocator.allocator_env()`` (no heap trimming, large blocks from the
heap, transparent huge pages for torch; the script starts itself again with them when run as
a script): with glibc's defaults a call on 65,536 points pays for fresh pages every time, which
inflates both fields' seconds by a third to a half and makes repeats differ by up to 1.5x.
``--allocator default`` keeps the process as started; the JSON records which (``allocator``).

``--workspaces WS ...`` adds the quality of the bfloat16 plug-ins: each trained workspace's
val split rendered on the fast path, plug-ins in float32 and in bfloat16 (Δx_id from its MLP
in both), and in float32 with the fused linear calls off, PSNR and SSIM against the frames
and their differences (``quality`` in the JSON; the renders are timed too, so
``fused_fps_ratio`` is what the fused calls give a whole render, but the whole pipeline's
FPS is not the per-sample ratio).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

__all__ = ["build", "components", "main", "time_call", "time_side_by_side"]

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


def _without_fused_linear(fn):
    """fn() with ``lokitalk_plugins.layers.FUSED_LINEAR`` off: every linear layer through
    F.linear and its activation, the reference twin of the fused oneDNN calls."""
    from lokitalk_plugins import layers

    keep, layers.FUSED_LINEAR = layers.FUSED_LINEAR, False
    try:
        return fn()
    finally:
        layers.FUSED_LINEAR = keep


def _randomise(module, seed: int, std: float = 0.05) -> None:
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            if not p.any():
                p.copy_(torch.randn(p.shape, generator=g) * std)


def _setup(backbone: str, geometry: dict | None = None):
    """The bare field and the shared per-frame inputs (audio, eye, pose, code); geometry: the
    backbone's grid_size, bound and aabb (None: its defaults)."""
    import torch

    from lokitalk_plugins.baselines.er_nerf.network import ERNeRF
    from lokitalk_plugins.baselines.rad_nerf.network import RADNeRF

    cls = {"er_nerf": ERNeRF, "rad_nerf": RADNeRF}[backbone]

    def backbone_model():
        torch.manual_seed(0)
        return cls(ind_num=4, **(geometry or {})).eval()

    bare = backbone_model()
    g = torch.Generator().manual_seed(1)
    enc_a, eye = torch.randn(1, bare.audio_dim, generator=g), torch.rand(1, 1, generator=g)
    pose, code = torch.randn(1, 6, generator=g) * 0.2, bare.individual_code(1)
    return backbone_model, bare, (enc_a, eye, code, pose)


def _wrapped_model(backbone_model, identity: bool, fast: bool, bake: int, precision: str,
                   frame_bake: int = 0, occupancy=None):  # fmt: skip
    """The backbone wrapped with a random-weight RSDF (and a fine-tuned ID-AKT identity);
    occupancy: a dense occupancy [G, G, G] for its grid (None: the fresh, full grid)."""
    import torch

    from lokitalk_plugins.adapters import wrap
    from lokitalk_plugins.idakt import FrozenIdentity
    from lokitalk_plugins.rsdf import RSDF

    model = backbone_model()
    torch.manual_seed(2)
    rsdf = RSDF(audio_dim=model.audio_dim, id_dim=16 if identity else 0, bound=model.bound)
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
    if occupancy is not None:
        w.grid.set_occupancy(occupancy)
    if fast:
        w.inference_fast_path(bake_resolution=bake, precision=precision, frame_bake=frame_bake)
    return w


def in_chunks(fn, chunk: int | None, start=None):
    """fn(x, d) over consecutive chunks of ``chunk`` points (None: one call), after
    ``start()`` once a call (a frame's set-up, e.g. dropping its bake)."""

    def run(x, d):
        if start is not None:
            start()
        if chunk is None:
            return fn(x, d)
        for xs, ds in zip(x.split(chunk), d.split(chunk)):
            fn(xs, ds)

    return run


def build(backbone: str = "er_nerf", bake_resolution: int = 128, geometry: dict | None = None,
          occupancy=None, frame_bakes=(), chunk: int | None = None) -> dict:  # fmt: skip
    """name -> callable(x, d) for the settings of the module doc, on shared inputs; geometry
    and occupancy: the backbone's grid_size, bound and aabb and its grid's dense occupancy
    (``--samples-from``); frame_bakes: the ``lokitalk_frame_bake_<k>`` settings added (the
    per-frame bake of the point map, paid in every call); chunk: each call runs the points in
    chunks of this many, as a renderer does (None: in one piece)."""
    import torch

    from lokitalk_plugins.train.runtime import cpu_bf16_support

    backbone_model, bare, (enc_a, eye, code, pose) = _setup(backbone, geometry)

    def wrapped(identity: bool, fast: bool, bake: int = bake_resolution,
                precision: str = "float32", autocast: bool = False,
                frame_bake: int = 0):  # fmt: skip
        w = _wrapped_model(backbone_model, identity, fast, bake, precision, frame_bake,
                           occupancy)  # fmt: skip
        if autocast:
            return bf16(lambda x, d: w(x, d, enc_a, eye, code, pose=pose))
        if frame_bake:  # each call pays for one frame's bake
            return in_chunks(lambda x, d: w(x, d, enc_a, eye, code, pose=pose), chunk,
                             start=lambda: w.frame_bake.clear())  # fmt: skip
        return lambda x, d: w(x, d, enc_a, eye, code, pose=pose)

    def unfused(fn):
        return lambda x, d: _without_fused_linear(lambda: fn(x, d))

    def bf16(fn):
        def run(x, d):
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return fn(x, d)

        return run

    fns = {
        "bare": lambda x, d: bare(x, d, enc_a, eye, code),
        "bare_unfused": unfused(lambda x, d: bare(x, d, enc_a, eye, code)),
        "rsdf": wrapped(False, False),
        "rsdf_fast": wrapped(False, True),
        "lokitalk": wrapped(True, False),
        "lokitalk_fast": wrapped(True, True),
        "lokitalk_fast_mlp": wrapped(True, True, bake=0),
    }
    if cpu_bf16_support() is not None:
        fns["lokitalk_fast_bf16"] = wrapped(True, True, bake=0, precision="bfloat16")
        fns["lokitalk_fast_bf16_lattice"] = wrapped(True, True, precision="bfloat16")
        fns["bare_bf16"] = bf16(fns["bare"])
        fns["lokitalk_fast_all_bf16"] = wrapped(True, True, bake=0, autocast=True)
    precision = "bfloat16" if cpu_bf16_support() is not None else "float32"
    for k in frame_bakes:
        fns[f"lokitalk_frame_bake_{k}"] = wrapped(True, True, bake=0, precision=precision,
                                                  frame_bake=k)  # fmt: skip
    baked = {f"lokitalk_frame_bake_{k}" for k in frame_bakes}  # chunked already
    return {n: f if n in baked else in_chunks(f, chunk) for n, f in fns.items()}


def components(backbone: str = "er_nerf", precision: str = "bfloat16", bake: int = 0,
               geometry: dict | None = None) -> dict:  # fmt: skip
    """Where the plug-ins' per-sample cost goes, on LokiTalk's fastest inference path (RSDF +
    a fine-tuned ID-AKT identity, fast path, Δx_id from its MLP or, with ``bake`` > 0, from a
    lattice of that resolution, plug-ins in ``precision``):
    name -> callable(x, d) for the parts the wrapped forward adds to the bare field's work:
    ``rsdf_encoder`` (RSDF's hash-grid PE), ``rsdf`` (the PE and both deformation fields,
    maps off), ``id_offset`` (ID-AKT's canonical offset Δx_id). What is left of the wrapped
    forward's excess over the bare field is the ID-aware backbone's own extra work."""
    backbone_model, _, (enc_a, eye, _, pose) = _setup(backbone, geometry)
    w = _wrapped_model(backbone_model, True, True, bake, precision)
    f_a, ident = w.split_audio(enc_a)[1], w.identity_outputs()

    def under_plugin_precision(fn):
        def run(x, d):
            with w.plugin_autocast():
                return fn(x, d)

        return run

    return {
        "rsdf_encoder": under_plugin_precision(lambda x, d: w.rsdf.encoder(x)),
        "rsdf": under_plugin_precision(lambda x, d: w.deform(x, f_a, eye, pose, ident, maps=False)),
        "id_offset": lambda x, d: w.id_offset(x, ident),
    }


def frame_samples(parser, ws: Path, scale: int = 1):
    """The samples val frame 0's render of a trained workspace asks for (fast path, no bake)
    -> (x [S, 3], d [S, 3], the backbone's geometry {grid_size, bound, aabb}, the grid's dense
    occupancy [G, G, G])."""
    from frame_bake import record_samples
    from harness.measures import studio_workspace

    system, _, _, _, val = studio_workspace(parser, ws)
    system.eval()
    system.model.inference_fast_path(bake_resolution=0)
    samples = record_samples(system, val[0], scale)
    grid = system.model.grid
    geometry = {"grid_size": grid.resolution, "bound": grid.bound,
                "aabb": tuple(float(v) for v in grid.aabb_infer)}  # fmt: skip
    return samples["x"], samples["d"], geometry, grid.occupancy.clone()


# the renders of --workspaces: name -> the plug-ins' precision (float32_unfused: float32 with
# every linear layer through F.linear, the fused oneDNN calls' reference twin)
QUALITY_SETTINGS = {"float32_unfused": "float32", "float32": "float32", "bfloat16": "bfloat16"}


def render_quality(workspaces: list, max_frames: int | None = None) -> list[dict]:
    """Per workspace: the val split on the fast path, plug-ins in float32 and in bfloat16,
    and in float32 without the fused linear calls -> dict(workspace, frames, psnr/ssim/fps of
    each, psnr_change_db = bf16 - float32, fused_fps_ratio = float32 / float32_unfused FPS,
    fused_psnr_change_db)."""
    from lokitalk_plugins.commands.workspace import load_dataset, load_system
    from lokitalk_plugins.train.evaluate import evaluate

    rows = []
    for ws in workspaces:
        system, run, stage = load_system(Path(ws))
        data = load_dataset(run, stage, "val", progress=False)
        row = {"workspace": str(ws)}
        for name, precision in QUALITY_SETTINGS.items():
            system.model.inference_fast_path(bake_resolution=0, precision=precision)

            run = functools.partial(evaluate, system, data, lpips=False,
                                    max_frames=max_frames, progress=False)  # fmt: skip
            ev = _without_fused_linear(run) if name == "float32_unfused" else run()
            row["frames"] = ev["frames"]
            row[name] = {k: ev[k] for k in ("psnr", "ssim", "fps")}
        row["psnr_change_db"] = row["bfloat16"]["psnr"] - row["float32"]["psnr"]
        row["fused_fps_ratio"] = row["float32"]["fps"] / row["float32_unfused"]["fps"]
        row["fused_psnr_change_db"] = row["float32"]["psnr"] - row["float32_unfused"]["psnr"]
        rows.append(row)
    return rows


def main(argv=None, reexec: bool = False) -> int:
    """The command line; ``reexec`` (the script's own entry point): with ``--allocator tuned``
    in a process without those settings, start again with them (``os.execve``)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backbone", choices=("er_nerf", "rad_nerf"), default="er_nerf")
    ap.add_argument("--points", type=int, default=65536,
                    help="samples per call (with --samples-from: the frame's samples go in calls "
                    "of this many)")  # fmt: skip
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--bake-resolution", type=int, default=128)
    ap.add_argument("--out", default=str(RESULT), help="JSON to write")
    ap.add_argument(
        "--workspaces",
        nargs="*",
        default=[],
        help="trained workspaces whose val split is rendered with the plug-ins in "
        "float32 and in bfloat16 (needs a CPU with bfloat16)",
    )
    ap.add_argument("--max-frames", type=int, default=None,
                    help="--workspaces: only the first val frames")  # fmt: skip
    ap.add_argument("--samples-from", metavar="WS", default=None,
                    help="time on the samples one val frame of this trained workspace's render "
                    "asks for (its grid size, bound, box and occupancy given to every model) "
                    "instead of --points random points, and add the per-frame bakes")  # fmt: skip
    ap.add_argument("--samples-scale", type=int, default=1, metavar="S",
                    help="--samples-from: the frame rendered at S times its size (4: 512 px from "
                    "the studio's 128, the papers' frame size)")  # fmt: skip
    ap.add_argument("--only", nargs="+", default=None, metavar="NAME",
                    help="time the bare field and these settings only (e.g. "
                    "lokitalk_fast_bf16_lattice lokitalk_frame_bake_4)")  # fmt: skip
    ap.add_argument("--frame-bakes", type=int, nargs="+", default=[1, 2], metavar="K",
                    help="--samples-from: the per-frame bakes timed (lattice cells per "
                    "occupancy-cell edge, 1..8)")  # fmt: skip
    ap.add_argument("--allocator", choices=("tuned", "default"), default="tuned",
                    help="tuned: time in a process started with allocator_env() (see the "
                    "module doc); default: as started")  # fmt: skip
    args = ap.parse_args(argv)
    from lokitalk_plugins.train.allocator import allocator_env, allocator_state

    if args.allocator == "tuned" and allocator_state() != "tuned" and reexec:
        sys.stdout.flush()
        script = str(Path(__file__).resolve())
        os.execve(sys.executable, [sys.executable, script, *sys.argv[1:]], allocator_env())
    if not 1 <= args.samples_scale <= 8:
        ap.error(f"--samples-scale must be in 1..8, got {args.samples_scale}")
    if any(not 1 <= k <= 8 for k in args.frame_bakes):
        ap.error(f"--frame-bakes: each must be in 1..8, got {args.frame_bakes}")
    for ws in args.workspaces + ([args.samples_from] if args.samples_from else []):
        if not (Path(ws) / "checkpoints" / "latest.pt").is_file():
            print(f"error: --workspaces {ws}: no checkpoints/latest.pt there; give a trained "
                  "workspace (lokitalk train)", file=sys.stderr)  # fmt: skip
            return 2
    import torch
    from harness.common import commit, machine

    torch.set_num_threads(args.threads)
    geometry, occupancy, bakes, source = None, None, (), f"{args.points} random points in the box"
    if args.samples_from:
        x, d, geometry, occupancy = frame_samples(ap, Path(args.samples_from), args.samples_scale)
        bakes = tuple(args.frame_bakes)
        source = (f"the {x.shape[0]} samples of val frame 0 of {args.samples_from} rendered at "
                  f"{args.samples_scale}x its size (its grid, box and occupancy), in calls of "
                  f"{args.points}")  # fmt: skip
    else:
        g = torch.Generator().manual_seed(5)
        x = (torch.rand(args.points, 3, generator=g) * 2 - 1) * torch.tensor([0.9, 0.45, 0.9])
        d = torch.nn.functional.normalize(torch.randn(args.points, 3, generator=g), dim=-1)
    chunk = args.points if args.samples_from else None  # a frame's samples: in renderer-sized calls
    fns = build(args.backbone, args.bake_resolution, geometry, occupancy, bakes, chunk)
    if args.only:  # the bare field and the named settings only (more rounds in the same time)
        unknown = sorted(set(args.only) - set(fns))
        if unknown:
            ap.error(f"--only: no setting {unknown[0]!r} here; choose from {sorted(fns)}")
        fns = {n: f for n, f in fns.items() if n == "bare" or n in args.only}
    # one thread: this process's CPU seconds (another process's load does not count); more
    # threads: wall seconds
    timer = "process_time" if args.threads == 1 else "perf_counter"
    with torch.no_grad():
        calls = {name: (lambda f=f: f(x, d)) for name, f in fns.items()}
        secs = time_side_by_side(calls, args.repeats, getattr(time, timer))
    ratio = {name: s / secs["bare"] for name, s in secs.items()}
    from lokitalk_plugins.train.runtime import cpu_bf16_support

    bf16 = cpu_bf16_support() is not None
    pool = (("lokitalk_fast_bf16", "lokitalk_fast_bf16_lattice") if bf16
            else ("lokitalk_fast_mlp", "lokitalk_fast"))  # fmt: skip
    pool = [n for n in pool if n in ratio]
    best = min(pool, key=ratio.get) if pool else None
    bake = 0 if best in ("lokitalk_fast_bf16", "lokitalk_fast_mlp") else args.bake_resolution
    parts = components(args.backbone, "bfloat16" if bf16 else "float32", bake, geometry)
    parts = {n: in_chunks(f, chunk) for n, f in parts.items()} if best else {}
    part_secs = {"bare": secs["bare"], best: secs[best]} if best else {"bare": secs["bare"]}
    if best:
        with torch.no_grad():
            calls = {name: (lambda f=f: f(x, d)) for name, f in
                     {"bare": fns["bare"], best: fns[best], **parts}.items()}  # fmt: skip
            part_secs = time_side_by_side(calls, args.repeats, getattr(time, timer))
    excess = part_secs[best] - part_secs["bare"] if best else 0.0
    breakdown = {
        "setting": best,
        "seconds_median": part_secs,
        "excess_seconds": excess,
        # shares of the wrapped field's excess over the bare one (rsdf includes its encoder)
        "share_of_excess": {
            "rsdf_encoder": part_secs["rsdf_encoder"] / excess,
            "deformation_fields": (part_secs["rsdf"] - part_secs["rsdf_encoder"]) / excess,
            "id_offset": part_secs["id_offset"] / excess,
            "rest (ID-aware backbone)": 1.0 - (part_secs["rsdf"] + part_secs["id_offset"]) / excess,
        }
        if best and excess > 0
        else None,
    }
    labels = {
        "lokitalk_fast_bf16": "RSDF + fine-tuned ID-AKT on the fast path, plug-ins in bfloat16 "
        "(backbone float32, Δx_id from its MLP) / bare float32 backbone field",
        "lokitalk_fast_bf16_lattice": "RSDF + fine-tuned ID-AKT on the fast path, plug-ins in "
        "bfloat16 (backbone float32, Δx_id from the baked lattice) / bare float32 backbone field",
        "lokitalk_fast_mlp": "RSDF + fine-tuned ID-AKT on the fast path, float32 (Δx_id from "
        "its MLP) / bare backbone field",
        "lokitalk_fast": "RSDF + fine-tuned ID-AKT on the fast path, float32 (Δx_id from the "
        "baked lattice) / bare backbone field",
    }
    report = {
        "benchmark": "render_overhead",
        "command": " ".join(["python", "benchmarks/render_overhead.py"] + sys.argv[1:]),
        "commit": commit(),
        "settings": vars(args),
        "timer": timer,
        "allocator": allocator_state(),
        "seconds_median": secs,
        "ratio_to_bare": ratio,
        "per_sample_ratio": ratio[best] if best else None,
        "per_sample_setting": best,
        "per_sample_label": labels[best] + ", same points, inference" if best else None,
        "per_sample_ratio_float32": min(
            (ratio[n] for n in ("lokitalk_fast", "lokitalk_fast_mlp") if n in ratio), default=None
        ),
        "all_bf16_ratio": (
            secs["lokitalk_fast_all_bf16"] / secs["bare_bf16"] if "bare_bf16" in secs else None
        ),  # fmt: skip
        "components": breakdown,
        "points": source,
        "frame_bake_ratio": {k: ratio[f"lokitalk_frame_bake_{k}"] for k in bakes},
        "whole_pipeline_note": "per-frame ratios (3D torso vs a 2D torso stage) are the "
        "tables' render_ratio, not this",
        "machine": machine(args.threads, 1),
    }
    if args.workspaces:
        report["quality"] = render_quality(args.workspaces, args.max_frames)
        for q in report["quality"]:
            print(f"{q['workspace']}: PSNR float32 {q['float32']['psnr']:.3f}, bfloat16 "
                  f"{q['bfloat16']['psnr']:.3f} ({q['psnr_change_db']:+.3f} dB); FPS float32 "
                  f"{q['float32']['fps']:.2f}, without the fused calls "
                  f"{q['float32_unfused']['fps']:.2f}")  # fmt: skip
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    for name in fns:
        print(f"{name:>14}: {ratio[name]:.2f}x the bare field per sample")
    for name, share in (breakdown["share_of_excess"] or {}).items():
        print(f"{name:>26}: {share:.0%} of {best}'s excess over the bare field "
              f"({1000 * excess:.1f} ms a call)")  # fmt: skip
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(reexec=True))
