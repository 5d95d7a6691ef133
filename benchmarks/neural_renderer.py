"""The Disentangling Head NeRF's neural renderer as a speed plug-in, side by side in one run:
full-resolution volume rendering vs rays at 1/4 resolution upsampled by the 2D neural
renderer (configs/neural_renderer.gin), the same backbone, data, steps and seed.

    python benchmarks/neural_renderer.py --profile micro --out /tmp/nr   # a check (minutes)
    python benchmarks/neural_renderer.py --profile quick
    python benchmarks/neural_renderer.py --backbone er_nerf              # default profile
    python benchmarks/neural_renderer.py --arms gin low_res full_res     # earlier settings too
    python benchmarks/neural_renderer.py --seeds 3 --work W [--resume]   # mean ± std
    python benchmarks/neural_renderer.py --work W --resume --rescore     # FPS again, quiet

Each arm trains the head stage of studio identity 0 through ``lokitalk``'s pipeline
(configs/<backbone>.gin + configs/studio_quick.gin [+ configs/neural_renderer.gin]), one at a
time so that neither renders while the other trains, then renders the val split:
FPS of ``render_frame`` (wall clock) and PSNR / SSIM against the studio's frames, and PSNR
over the head, torso and background pixels. ``--arms`` picks the neural-renderer arms
(``VARIANTS``): "gin" (configs/neural_renderer.gin as it is), "narrow" (the file's setting
before its 128-wide, jittered default: a 64-wide 2D module, the rays at the blocks'
centres), "low_res" (the first setting:
bilinear steps, the background reaching the output through the 1/4 image only, no term on
the rays), "full_res" (bilinear, the upsampled foreground and alpha over the full-resolution
background), "half" (the gin file's setting at 1/2 resolution in each direction), "lift"
(the gin file's setting with each sample's 64-d feature lifted to 256-d before compositing,
``NeuralRenderer.lift``), "jitter" (the gin file's setting with the ray lattice shifted by a
random whole number of pixels within its block at each training step,
``FramePlugins.neural_jitter``, with the 64-wide module), "wide" (the 2D module twice as wide:
128 channels at 1/4, at least 64 after; rays at the centres), "wide_jitter" (both: the gin
file's setting from edaa820 to the blocks), "deep_jitter" (that with two residual blocks at
the rays' resolution, ``NeuralRenderer.depth``: the gin file's setting since, which also
renders the 2D module in bfloat16 where the CPU has it), "deep_2f" (that with two whole frames
rendered a step, ``FramePlugins.neural_frames = 2``: at the default profile's 128 px the field
sees 2 x 32^2 = 2048 rays a step, the volume arm's ``num_rays``) and "deep_support" (that
with the output's foreground and alpha confined to the rays' support,
``NeuralRenderer.support = 1``), "bf16_train" (the gin file with the 2D module trained in
bfloat16, ``FramePlugins.neural_train_precision``), "min32" and "min64" (the gin file with 32
or 64 channels at full resolution, trained in float32: its width since 2026-12-06 and before)
and "min32_bf16" (min32 trained in bfloat16: the gin file's setting since 2026-12-06, with
'auto' for 'bfloat16'; these three bind only that width and the training precision); the
arms "narrow", "low_res", "full_res", "jitter", "wide", "wide_jitter" and "deep_*" bind
their width, jitter, blocks and support themselves,
and the 2D module's precisions (float32; the gin file's 'auto' is bfloat16 where the CPU has
it).
``--bf16-2d`` scores every trained neural arm again with its 2D module in bfloat16 at
inference (``FramePlugins.neural_precision``), as further rows. ``--parallel 2`` trains two
arms at a time (faster; their FPS then shares the cores: score them again alone with
``--resume --rescore``). ``--judge ARM[:bf16]`` names the arm the summary judges (default:
the first of ``--arms``).
The issue's target: at 1/4 resolution at least 4x the FPS, within 1 dB PSNR; the summary
judges the first neural arm (or ``--judge``'s). ``--seeds K`` trains every arm with seeds
0 .. K-1 (base.gin's ``SEED``): the rows of the JSON are every seed's, the markdown gives
mean ± std per arm, and the speed-up and PSNR drop are taken within each seed, then averaged
(``summary.per_seed``).

Writes <out>/neural_renderer[_<profile>][_<backbone>].json (settings, commit, machine, every
row) and .md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness.common import (  # noqa: E402
    RESULTS,
    commit,
    fmt,
    machine,
    studio_identity,
    write_report,
)
from harness.seeds import fold_seeds, mean_std, seeded_methods  # noqa: E402
from harness.workers import evaluate_workspace, run_methods  # noqa: E402

__all__ = ["PROFILES", "VARIANTS", "main", "methods", "summarise", "summarise_seeds"]

PROFILES = {
    "micro": dict(size=32, seconds=1.0, steps=40, rays=256, grid=32),
    "quick": dict(size=64, seconds=4.0, steps=600, rays=1024, grid=64),
    "default": dict(size=128, seconds=20.0, steps=4000, rays=2048, grid=64),
}
SPEEDUP_TARGET, PSNR_TOLERANCE_DB = 4.0, 1.0
NAMES = {"RAD-NeRF": "rad_nerf", "ER-NeRF": "er_nerf"}


# neural-renderer arms: name and the bindings added to configs/neural_renderer.gin. "gin" is
# the file as it is, "half", "lift" and "bf16_train" change one thing of it; "min32", "min64"
# and "min32_bf16" bind the width at full resolution and the training precision (the file's
# since 2026-12-06: min32_bf16, with 'auto' for 'bfloat16'; before it: min64); the others
# bind the 2D module's width, the ray lattice's jitter, the blocks at 1/4, the support and the
# precisions themselves, so their names keep their meaning when the file's defaults change
# ("narrow": the file's setting until the 128-wide, jittered default, "wide_jitter")
_BILINEAR = ["NeuralRenderer.upsample = 'bilinear'", "FramePlugins.neural_low_res_weight = 0.0"]
# the 2D module in float32 at inference (the gin file: 'auto'); --bf16-2d scores bfloat16 too
_F32 = "FramePlugins.neural_precision = 'float32'"
# one frame a step (the gin file renders two since the arm deep_2f was measured)
_ONE = "FramePlugins.neural_frames = 1"
# the 2D module trained in float32 (the gin file: 'auto' since 2026-12-06)
_T32 = "FramePlugins.neural_train_precision = 'float32'"
_W64 = ["NeuralRenderer.hidden = 64", "NeuralRenderer.min_hidden = 32", _F32, _ONE, _T32]
_W128 = ["NeuralRenderer.hidden = 128", "NeuralRenderer.min_hidden = 64", _F32, _ONE, _T32]
_PLAIN = ["NeuralRenderer.depth = 0", "NeuralRenderer.support = 0"]  # no blocks, no support
_CENTRES = ["FramePlugins.neural_jitter = False", *_PLAIN]
_JITTER = ["FramePlugins.neural_jitter = True", *_PLAIN]
_DEEP = [*_W128, "FramePlugins.neural_jitter = True", "NeuralRenderer.depth = 2"]
VARIANTS = {
    "gin": ("neural renderer, 1/4 resolution", []),
    "narrow": ("neural renderer, 1/4 resolution, 64-wide 2D module, rays at the blocks' centres",
               [*_W64, *_CENTRES]),
    "low_res": ("neural renderer, 1/4 resolution, 1/4 background, bilinear",
                ["NeuralRenderer.composite = 'low_res'", "NeuralRenderer.in_dim = 67", *_BILINEAR,
                 *_W64, *_CENTRES]),
    "full_res": ("neural renderer, 1/4 resolution, full-res background, bilinear",
                 ["NeuralRenderer.composite = 'full_res'", "NeuralRenderer.in_dim = 68",
                  *_BILINEAR, *_W64, *_CENTRES]),
    "half": ("neural renderer, 1/2 resolution", ["NeuralRenderer.scale = 2"]),
    "lift": ("neural renderer, 1/4 resolution, 256-d lifted feature",
             ["NeuralRenderer.lift = 256", "NeuralRenderer.in_dim = 260"]),
    # the gin file with the 2D module's forward and backward in bfloat16 in training
    "bf16_train": ("neural renderer, 1/4 resolution, 2D module trained in bfloat16",
                   ["FramePlugins.neural_train_precision = 'bfloat16'"]),
    # 32 channels at full resolution (128 / 64 / 32 from 1/4 up: a third fewer multiply-adds in
    # the 2D module, 1.52 against 2.28 G for a 128 px frame), trained in float32 as measured
    "min32": ("neural renderer, 1/4 resolution, 32 channels at full resolution",
              ["NeuralRenderer.min_hidden = 32", _T32]),
    # the gin file's setting before min32 became it: 64 channels at full resolution
    "min64": ("neural renderer, 1/4 resolution, 64 channels at full resolution",
              ["NeuralRenderer.min_hidden = 64", _T32]),
    # both changes at once: min32's width, trained as bf16_train
    "min32_bf16": ("neural renderer, 1/4 resolution, 32 channels at full resolution, 2D module "
                   "trained in bfloat16", ["NeuralRenderer.min_hidden = 32",
                                           "FramePlugins.neural_train_precision = 'bfloat16'"]),
    "jitter": ("neural renderer, 1/4 resolution, jittered ray lattice", [*_W64, *_JITTER]),
    "wide": ("neural renderer, 1/4 resolution, 2x wider 2D module", [*_W128, *_CENTRES]),
    "wide_jitter": ("neural renderer, 1/4 resolution, 2x wider, jittered ray lattice",
                    [*_W128, *_JITTER]),
    "deep_jitter": ("neural renderer, 1/4 resolution, 2x wider, jittered, 2 blocks at 1/4",
                    [*_DEEP, "NeuralRenderer.support = 0"]),
    # the field trained on as many rays a step as the volume arm (the default profile: 2 x 32^2
    # = 2048 rays at 128 px), FramePlugins.neural_frames
    "deep_2f": ("neural renderer, 1/4 resolution, 2x wider, jittered, 2 blocks at 1/4, 2 frames "
                "a step", [*_DEEP, "NeuralRenderer.support = 0", "FramePlugins.neural_frames = 2"]),
    "deep_support": ("neural renderer, 1/4 resolution, 2x wider, jittered, 2 blocks at 1/4, "
                     "output within the rays' support", [*_DEEP, "NeuralRenderer.support = 1"]),
}  # fmt: skip


def methods(backbone: str, profile: dict, arms=("gin",)) -> list[dict]:
    """The arms: gin files and bindings of the same backbone, without the neural renderer
    and with it, one arm per name of ``VARIANTS`` in ``arms``."""
    cls = {"rad_nerf": "RADNeRF", "er_nerf": "ERNeRF"}[backbone]
    steps = profile["steps"]
    bindings = [
        f"head/Trainer.steps = {steps}", f"Trainer.val_every = {steps}",
        f"Trainer.ckpt_every = {steps}", f"Trainer.log_every = {max(1, steps // 10)}",
        f"TalkingHeadSystem.num_rays = {profile['rays']}", f"{cls}.grid_size = {profile['grid']}",
        "train.stages = ('head',)",
    ]  # fmt: skip
    base = [f"configs/{backbone}.gin", "configs/studio_quick.gin"]
    # the head stage only: both arms are scored over the torso image (the head alone); over
    # bc.jpg the untrained torso would be most of either arm's error
    out = [{"name": "volume rendering, full resolution", "configs": base, "bindings": bindings,
            "val_background": "torso"}]  # fmt: skip
    for arm in arms:
        name, extra = VARIANTS[arm]
        out.append({"name": name, "configs": [*base, "configs/neural_renderer.gin"],
                    "bindings": bindings + extra, "val_background": "torso"})  # fmt: skip
    return out


BF16_2D = ", 2D module in bfloat16 at inference"


def _neural(method: dict) -> bool:
    """Whether ``method`` is a neural-renderer arm (not the volume-rendering one)."""
    return "configs/neural_renderer.gin" in method["configs"]


def with_bfloat16_2d(runs: list[dict], rows: list[dict], data) -> tuple[list, list]:
    """``runs`` and ``rows`` plus, for every neural arm, its trained workspace scored again
    with ``FramePlugins.neural_precision = 'bfloat16'`` (the 2D module's convolutions in
    bfloat16, the weights and the rays as trained), here, one thread; the new rows come after
    the others, so :func:`summarise` judges them as further arms."""
    import torch

    torch.set_num_threads(1)
    extra_runs, extra_rows = [], []
    for m, r in zip(runs, rows):
        if not _neural(m):
            continue
        m2 = dict(m, name=m["name"] + BF16_2D, key=m["key"] + BF16_2D, cell=m["cell"] + BF16_2D,
                  render_bindings=["FramePlugins.neural_precision = 'bfloat16'"])  # fmt: skip
        print(f"scoring {m['key']} with its 2D module in bfloat16", flush=True)
        ev = evaluate_workspace(m2, str(m.get("data", data)), r["workspace"], truth=True)
        extra_runs.append(m2)
        extra_rows.append(dict(r, method=m2["name"], eval=ev, resumed=False,
                               render_bindings=m2["render_bindings"]))  # fmt: skip
    return [*runs, *extra_runs], [*rows, *extra_rows]


def judged_first(runs: list[dict], rows: list[dict], judge: str | None) -> tuple[list, list]:
    """``runs`` and ``rows`` with the arm ``judge`` (a name of ``VARIANTS``, or "ARM:bf16"
    for its row of ``--bf16-2d``) moved right after volume rendering in each seed, so
    :func:`summarise` judges it (None: as they are, the first neural arm judged)."""
    if judge is None:
        return runs, rows
    arm, _, how = judge.partition(":")
    name = VARIANTS[arm][0] + (BF16_2D if how == "bf16" else "")
    first = {i for i, m in enumerate(runs) if m["name"] == name}
    if not first:
        raise ValueError(f"--judge {judge}: no such arm in this run ({name!r})")
    volume = {i for i, m in enumerate(runs) if not _neural(m)}
    order = sorted(range(len(runs)), key=lambda i: 0 if i in volume else 1 if i in first else 2)
    return [runs[i] for i in order], [rows[i] for i in order]


def summarise(rows: list[dict]) -> dict:
    """Speed-up (FPS ratio) and PSNR difference of the first neural arm against the volume
    arm, with the issue's targets; ``"others"``: the same for every further neural arm, by
    name."""
    out = _against(rows[0]["eval"], rows[1]["eval"])
    others = {r["method"]: _against(rows[0]["eval"], r["eval"]) for r in rows[2:]}
    return dict(out, others=others) if others else out


def _against(volume: dict, neural: dict) -> dict:
    speedup = neural["fps"] / volume["fps"]
    drop = volume["psnr"] - neural["psnr"]
    return {"speedup": speedup, "psnr_drop_db": drop, **_judged(speedup, drop)}


def summarise_seeds(runs: list[dict], rows: list[dict]) -> dict:
    """:func:`summarise` within each seed (``runs``: the seeded arms, ``rows`` their rows in the
    same order), then the mean over seeds of the speed-up and the PSNR drop of every neural arm,
    with ``*_std`` (sample std, None with one seed) and ``per_seed``; the targets judge the
    means."""
    seeds = sorted({m.get("seed", 0) for m in runs})
    per_seed = [summarise([r for m, r in zip(runs, rows) if m.get("seed", 0) == k]) for k in seeds]
    if len(per_seed) == 1:
        return per_seed[0]

    def fold(parts: list[dict]) -> dict:
        out = {}
        for key in ("speedup", "psnr_drop_db"):
            out[key], out[f"{key}_std"] = mean_std([p[key] for p in parts])
        return dict(_judged(out["speedup"], out["psnr_drop_db"]), **out)

    out = fold(per_seed)
    names = list(per_seed[0].get("others", {}))
    if names:
        out["others"] = {n: fold([p["others"][n] for p in per_seed]) for n in names}
    return dict(out, seeds=seeds, per_seed=per_seed)


def _judged(speedup: float, drop: float) -> dict:
    return {
        "speedup_target": SPEEDUP_TARGET,
        "psnr_tolerance_db": PSNR_TOLERANCE_DB,
        "meets_speedup": speedup >= SPEEDUP_TARGET,
        "meets_psnr": drop <= PSNR_TOLERANCE_DB,
    }


def _table_rows(report: dict) -> list[dict]:
    """One row per arm: the row itself with one seed; with several, seed 0's row whose
    ``metrics`` are the means over seeds and ``metrics_std`` the sample stds."""
    runs = report.get("runs")
    # the training wall time and the worker's peak memory beside the scores (a rescored row
    # keeps its training's)
    cost = ("train_seconds", "peak_rss_mb")
    rows = [dict(r, metrics={**r["eval"], **{k: r.get(k) for k in cost}}) for r in report["rows"]]
    if not runs or len({m.get("seed", 0) for m in runs}) < 2:
        return rows
    return fold_seeds(rows, runs)


def _pm(value, std, digits: int = 2) -> str:
    return fmt(value, digits) if std is None else f"{fmt(value, digits)} ± {fmt(std, digits)}"


def markdown(report: dict) -> str:
    s = report["summary"]
    lines = [
        f"# Neural renderer vs volume rendering ({report['backbone']}, {report['profile']})",
        "",
        "| method | PSNR (dB) | head | torso | background | SSIM | FPS | parameters "
        "| training (s) | peak memory (MB) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    table = _table_rows(report)
    for row in table:
        e, sd = row["metrics"], row.get("metrics_std") or {}
        cells = [_pm(e.get(k), sd.get(k)) for k in ("psnr", "psnr_head", "psnr_torso", "psnr_bg")]
        cost = [_pm(e.get(k), sd.get(k), 0) for k in ("train_seconds", "peak_rss_mb")]
        lines.append(f"| {row['method']} | {' | '.join(cells)} | "
                     f"{_pm(e['ssim'], sd.get('ssim'), 3)} | {_pm(e['fps'], sd.get('fps'))} | "
                     f"{row['eval']['parameters']} | {' | '.join(cost)} |")  # fmt: skip
    lines.append("")
    arms = [(table[1]["method"], s), *s.get("others", {}).items()]
    for name, a in arms:
        lines.append(
            f"{name}: Speed-up {_pm(a['speedup'], a.get('speedup_std'))}x (target >= "
            f"{SPEEDUP_TARGET}x: {'met' if a['meets_speedup'] else 'not met'}); PSNR drop "
            f"{_pm(a['psnr_drop_db'], a.get('psnr_drop_db_std'))} dB (target <= "
            f"{PSNR_TOLERANCE_DB} dB: {'met' if a['meets_psnr'] else 'not met'})."
        )
    if "per_seed" in s:
        drops = ", ".join(fmt(p["psnr_drop_db"]) for p in s["per_seed"])
        seeds = ", ".join(map(str, s["seeds"]))
        lines += ["", f"Seeds {seeds}: mean ± sample std over seeds; the speed-up and the "
                  f"drop are taken within each seed (drops {drops} dB)."]  # fmt: skip
    lines += [
        "",
        "PSNR by region (head, torso, background: the studio's labels) over the val frames.",
        "",
        f"Machine: {report['machine']['processor']}, {report['machine']['cpu_count']} CPUs, "
        f"torch {report['machine']['torch']}; commit {report['commit']}. FPS is wall clock on "
        "this machine, val split, one thread; the head stage only, so both arms are scored "
        "over the studio's torso image (the head alone).",
        "",
    ]
    if report["machine"].get("jobs_in_parallel", 1) > 1:
        lines += ["Two arms trained and scored at a time: their FPS shared the cores (score "
                  "them again alone with `--resume --rescore`).", ""]  # fmt: skip
    resumed = [r.get("key", r["method"]) for r in report["rows"] if r.get("resumed")]
    if resumed:
        how = (
            "Trained by an earlier run (`--resume`), scored again in this one (`--rescore`)"
            if report.get("rescored")
            else "Trained and scored by an earlier run (`--resume`)"
        )
        lines += [f"{how}: {'; '.join(resumed)}.", ""]  # fmt: skip
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", choices=list(PROFILES), default="default")
    ap.add_argument("--backbone", choices=sorted(NAMES.values()), default="rad_nerf")
    ap.add_argument("--out", default=str(RESULTS), help="where the JSON and markdown go")
    ap.add_argument("--work", default=None, help="studio data and workspaces (default: temp)")
    ap.add_argument("--resume", action="store_true",
                    help="reuse the arms an earlier run trained in --work (same configs, "
                    "bindings, folder, package source); score them again if need be")  # fmt: skip
    ap.add_argument("--force", action="store_true",
                    help="train again arms an earlier run left in --work with other configs, "
                    "bindings, folder or package source, replacing them")  # fmt: skip
    ap.add_argument("--arms", nargs="+", choices=list(VARIANTS), default=["gin"],
                    help="the neural-renderer arms (default: gin, configs/neural_renderer.gin "
                    "as it is; low_res, full_res: the earlier bilinear settings; half: the "
                    "gin file's at 1/2 resolution); the first is judged")  # fmt: skip
    ap.add_argument("--rescore", action="store_true",
                    help="with --resume: score the reused arms again (FPS is a timing: do it "
                    "on a quiet machine)")  # fmt: skip
    ap.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="seeds per arm (mean ± std in the markdown, every seed in the JSON)",
    )
    ap.add_argument("--parallel", type=int, choices=(1, 2), default=1,
                    help="arms trained at a time (2: their FPS shares the cores; score them "
                    "again alone with --resume --rescore)")  # fmt: skip
    ap.add_argument("--judge", default=None, metavar="ARM[:bf16]",
                    help="the arm the summary judges against the targets (default: the first "
                    "of --arms); ARM:bf16 its row of --bf16-2d")  # fmt: skip
    ap.add_argument("--bf16-2d", action="store_true",
                    help="score every trained neural arm again with its 2D module in bfloat16 "
                    "at inference (FramePlugins.neural_precision; the same weights), as "
                    "further rows")  # fmt: skip
    ap.add_argument(
        "--stem",
        default=None,
        help="result file name (default: neural_renderer[_<profile>][_<backbone>])",
    )
    args = ap.parse_args(argv)
    if args.resume and not args.work:
        print("error: --resume needs --work (the folder of the earlier run)", file=sys.stderr)
        return 2
    if args.rescore and not args.resume:
        print("error: --rescore scores the arms --resume reuses: add --resume --work W",
              file=sys.stderr)  # fmt: skip
        return 2
    if args.judge is not None:
        arm, _, how = args.judge.partition(":")
        if arm not in args.arms or how not in ("", "bf16") or (how and not args.bf16_2d):
            print(f"error: --judge {args.judge}: give one of --arms ({' '.join(args.arms)}), "
                  "or ARM:bf16 with --bf16-2d", file=sys.stderr)  # fmt: skip
            return 2
    profile = PROFILES[args.profile]
    work = Path(args.work or tempfile.mkdtemp(prefix="neural_renderer_"))
    data = studio_identity(work, 0, profile["size"], profile["seconds"])
    load = machine()["load_average_1min"]
    if args.seeds < 1:
        ap.error(f"--seeds must be >= 1, got {args.seeds}")
    runs = seeded_methods(methods(args.backbone, profile, args.arms), args.seeds)
    jobs = 1 if args.rescore else args.parallel  # FPS is a timing: rescoring is done alone
    rows = run_methods(runs, data, work / "runs", parallel=jobs, resume=args.resume,
                       rescore=args.rescore, force=args.force)  # fmt: skip
    if args.bf16_2d:
        runs, rows = with_bfloat16_2d(runs, rows, data)
    runs, rows = judged_first(runs, rows, args.judge)
    report = {
        "load_at_start": load,
        "benchmark": "neural_renderer",
        "backbone": args.backbone,
        "profile": args.profile,
        "settings": profile,
        "commit": commit(),
        "machine": machine(threads_per_job=1, jobs_in_parallel=jobs),
        "rescored": args.rescore,
        "seeds": list(range(args.seeds)),
        "runs": [{k: m[k] for k in ("name", "key", "cell", "seed")} for m in runs],
        "bf16_2d": args.bf16_2d,
        "rows": [dict(r, seed=m["seed"], key=m["key"]) for m, r in zip(runs, rows)],
        "summary": summarise_seeds(runs, rows),
    }
    stem = "neural_renderer" + ("" if args.profile == "default" else f"_{args.profile}")
    stem += "" if args.backbone == "rad_nerf" else f"_{args.backbone}"
    stem = args.stem or stem
    js, md = write_report(report, markdown(report), Path(args.out), stem)
    print(markdown(report))
    print(f"wrote {js} and {md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
