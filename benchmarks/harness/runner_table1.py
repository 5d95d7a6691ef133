"""The runner of ``benchmarks/run.py table1`` (see :mod:`harness.table1`)."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

__all__ = ["row_metrics", "run_table1"]

METRICS = ("psnr", "ssim", "lpips", "lmd", "lmd_eyes", "mouth_error", "eye_error", "lip_sync",
           "size_mb", "psnr_head", "psnr_torso", "psnr_bg")  # fmt: skip


def row_metrics(runs: list[dict], rows: list[dict], fps: dict, cross: dict | None,
                pretrain_seconds: float | None) -> list[dict]:  # fmt: skip
    """Each trained row's ``metrics`` from its evaluation; FPS and cross-driving are measured
    on seed 0 only (None on the other seeds, so the folded mean is seed 0's); LokiTalk's rows
    carry the bundle's pre-training minutes. Then the seeds of a method are folded into one
    row (mean ± sample std, every seed kept: :func:`harness.seeds.fold_seeds`)."""
    from harness import measures
    from harness.seeds import fold_seeds

    for m, r in zip(runs, rows):
        e, first = r["eval"], m.get("seed", 0) == 0
        r["metrics"] = {k: e.get(k) for k in (*METRICS, *measures.METRIC_KEYS)}
        r["metrics"].update(
            train_minutes=r["train_seconds"] / 60,
            fps=fps.get(r["method"]) if first else None,
            cross_driving=cross[r["method"]] if cross and first else None,
        )
        if r["method"].startswith("LokiTalk") and pretrain_seconds is not None:
            r["metrics"]["pretrain_minutes"] = pretrain_seconds / 60
    return fold_seeds(rows, runs)


def run_table1(args, prof: dict, out: Path) -> dict:
    from harness import idakt_runs, measures, motion_prior, table1, table2
    from harness.common import commit, machine, peak_rss_mb, write_report
    from harness.data_sources import resolve_data
    from harness.experiments import run_bindings
    from harness.plots import bar_chart, training_curves
    from harness.workers import beside_pretraining, in_table_order, run_seeded

    try:  # a bad --methods or --ablation-seeds is refused before anything trains
        chosen = table1.chosen_rows(getattr(args, "methods", None),
                                    bool(getattr(args, "ablations", False)))  # fmt: skip
        names = [n for n in chosen if n in table1.ABLATIONS]
        abl_seeds = table2.ablation_seeds(getattr(args, "ablation_seeds", None), names)
    except ValueError as e:
        raise SystemExit(str(e)) from None
    work, start = Path(args.work), time.perf_counter()
    load, sha = machine()["load_average_1min"], commit()
    source = resolve_data(args.data, work, prof)
    data, k = source.data, source.audio_dim
    aux = source.pretrain_folders(work, prof["ids"][10], prof)
    run = run_bindings(audio_in_dim=k, portrait_box=source.portrait_box(*aux))
    seeds, cells = int(getattr(args, "seeds", 1)), source.work_dir(work, f"table1_{args.profile}")

    def chosen_methods(bundle: str | None, a2m_path: str | None) -> list[dict]:
        """The chosen rows; without a bundle only those that fine-tune none."""
        out = table1.methods(args.profile, bundle, run)
        if a2m_path is not None:
            out = [motion_prior.with_audio2motion(m, a2m_path) if m["name"] == "LokiTalk" else m
                   for m in out]  # fmt: skip
        if names:
            out += table2.ablation_methods(out, table1.ABLATIONS, table1.ABLATION_CLAIMS)
        return [m for m in out if m["name"] in chosen]

    def train(rows: list[dict], parallel: int):
        return run_seeded(rows, seeds, data, cells, parallel=parallel, truth=source.studio,
                          resume=bool(getattr(args, "resume", False)),
                          force=bool(getattr(args, "force", False)),
                          ablation_seeds=abl_seeds)  # fmt: skip

    def pretrain_and_train():
        """LokiTalk's F_a and bundle, then the rows that fine-tune it."""
        a2m = motion_prior.for_run(args, source, work)
        shared = ["shared/budget_pretrain", "shared/data", "profiles/" + args.profile]
        bundles = idakt_runs.pretrain_bundles(
            [("rsdf", aux)],
            shared,
            run,
            prof["pretrain_epochs"],
            source.work_dir(work, f"bundles_{args.profile}"),
            args.parallel,
            audio2motion=a2m["path"] if a2m else None,
        )
        bundle = bundles[("rsdf", len(aux))]
        full = chosen_methods(bundle["path"], a2m["path"] if a2m else None)
        return a2m, bundle, full, train([m for m in full if table1.needs_bundle(m["name"])],
                                        args.parallel)  # fmt: skip

    early = chosen_methods(None, None)  # rows that need no bundle
    a2m, bundle = None, None  # LokiTalk's F_a and bundle, when a chosen row fine-tunes it
    if not any(table1.needs_bundle(n) for n in chosen):
        runs, rows, resumed = train(early, args.parallel)
    else:
        done, (a2m, bundle, full, late) = beside_pretraining(early, train, pretrain_and_train,
                                                             args.parallel)  # fmt: skip
        runs, rows, resumed = in_table_order(full, done, late)  # one run's order
    first = [r for m, r in zip(runs, rows) if m["seed"] == 0]  # speed, cross-driving: seed 0
    fps = table2.render_speed(first, data)
    clip, cross = None, None  # cross-driving needs the studio's render of the utterance
    if source.studio:
        clip = table1.cross_clip(work, prof["size"], min(prof["seconds"], 8.0))
        cross = table1.cross_drive(first, clip)
    rows = row_metrics(runs, rows, fps, cross, (bundle or {}).get("pretrain_seconds"))
    stem = "table1" + ("" if args.profile == "default" else f"_{args.profile}") + source.suffix
    files = {
        "bars": bar_chart(
            rows,
            [
                ("psnr", "PSNR (dB) ↑"),
                ("mouth_error", "mouth error ↓"),
                ("sync_conf", "sync confidence ↑"),
                ("fps", "FPS ↑"),
            ],
            out / f"{stem}_bars.png",
            f"Table 1 on {source.label}",
        ).name
    }
    curves = training_curves(rows, out / f"{stem}_curves.png")
    if curves:
        files["training_curves"] = curves.name
    files["frames"] = table2.frames_side_by_side(rows, data, out / f"{stem}_frames.png").name
    report = {
        "table": "table1",
        "command": shlex.join(["python", "benchmarks/run.py"] + sys.argv[1:]),
        "profile": args.profile,
        "settings": prof,
        "seed": 0,
        "seeds": list(range(seeds)),
        "ablation_seeds": abl_seeds,
        "resumed_rows": resumed,
        "data": str(data),
        "data_label": source.label,
        "studio": source.studio,
        "pretrain_data": [str(a) for a in aux],
        "pretrain_label": source.pretrain_label(len(aux)),
        "cross_clip": str(clip) if clip else None,
        "commit": sha,
        "machine": machine(1, args.parallel),
        "load_at_start": load,
        "audio2motion": a2m,
        "wall_seconds": time.perf_counter() - start,
        "peak_rss_mb_harness": peak_rss_mb(),
        "bundle": bundle,
        "render_ratio_lokitalk_vs_er_nerf": (
            fps["ER-NeRF"] / fps["LokiTalk"] if {"ER-NeRF", "LokiTalk"} <= set(fps) else None
        ),
        "cross_driving": cross,
        "paper": table1.PAPER,
        "not_run": table1.NOT_RUN,
        "files": files,
        "references": measures.reference_rows(data) if source.studio else [],
        "results": rows,
    }
    md = table1.markdown(report)
    write_report(report, md, out, stem)
    print(md)
    return report
