"""The runners of ``benchmarks/run.py``: one function per table, each training its methods,
measuring them, and writing ``<out>/<table>[_<profile>].json`` + ``.md`` + plots."""

from __future__ import annotations

import sys
import time
from pathlib import Path

__all__ = ["run_table2", "run_table34"]


def _audio_in_dim(folder: Path) -> int:
    """K, the channels of a folder's audio features: the last axis of aud.npy ([N, 16, K]
    windows, or [N, 2, 1024] HuBERT pairs, or [N, K])."""
    import numpy as np

    return int(np.load(folder / "aud.npy", mmap_mode="r").shape[-1])


def run_table2(args, prof: dict, out: Path) -> dict:
    from harness import table2
    from harness.common import commit, machine, peak_rss_mb, studio_identity, write_report
    from harness.workers import run_methods

    studio = args.data == ["studio"]
    work = Path(args.work)
    data = (
        studio_identity(work, 0, prof["size"], prof["seconds"])
        if studio
        else Path(args.data[0]).resolve()
    )
    label = "the studio (identity 0)" if studio else str(data)
    methods = table2.build_methods(args.backbone, prof, _audio_in_dim(data), studio)
    start, load, sha = time.perf_counter(), machine()["load_average_1min"], commit()
    rows = run_methods(
        methods,
        data,
        work / f"table2_{args.profile}_{args.backbone}",
        parallel=args.parallel,
        truth=studio,
    )
    fps = table2.render_speed(rows, data)
    stem = "table2" + ("" if args.profile == "default" else f"_{args.profile}")
    maps = table2.heat_maps(rows, data, out / f"{stem}_maps.png")
    for r in rows:
        e = r["eval"]
        r["metrics"] = {
            k: e.get(k)
            for k in (
                "psnr",
                "ssim",
                "lpips",
                "lmd",
                "lmd_eyes",
                "mouth_error",
                "eye_error",
                "lip_sync",
                "size_mb",
            )
        }
        r["metrics"].update(
            train_minutes=r["train_seconds"] / 60,
            fps=fps[r["method"]],
            render_ratio=fps["O"] / fps[r["method"]],
            map_means=maps.get(r["method"]),
        )
    files = table2.plots(rows, data, out, stem)
    report = {
        "table": "table2",
        "command": " ".join(["python", "benchmarks/run.py"] + sys.argv[1:]),
        "profile": args.profile,
        "settings": prof,
        "backbone": args.backbone,
        "seed": 0,
        "data": str(data),
        "data_label": label,
        "commit": sha,
        "machine": machine(1, args.parallel),
        "load_at_start": load,
        "wall_seconds": time.perf_counter() - start,
        "peak_rss_mb_harness": peak_rss_mb(),
        "paper": table2.PAPER,
        "files": dict(files, maps=f"{stem}_maps.png"),
        "results": rows,
    }
    md = table2.markdown(report)
    write_report(report, md, out, stem)
    print(md)
    return report


def run_table34(args, prof: dict, out: Path, table: str) -> dict:
    from harness import idakt_runs, table34
    from harness.common import commit, machine, peak_rss_mb, studio_identity, write_report
    from harness.workers import run_methods

    if args.data != ["studio"]:
        raise SystemExit(f"{table} pre-trains on studio identities: run it with --data studio")
    work, start = Path(args.work), time.perf_counter()
    load, sha = machine()["load_average_1min"], commit()
    data = studio_identity(work, 0, prof["size"], prof["seconds"])
    folders = {pct: idakt_runs.fraction_folder(data, pct) for pct in (100, 50, 25)}
    aux = idakt_runs.aux_identities(
        work, max(prof["ids"].values()), prof["size"], prof["aux_seconds"]
    )
    common = [
        f"TalkingHeadSystem.num_rays = {prof['rays']}",
        "ERNeRF.audio_in_dim = 32",
        "TalkingHeadSystem.lips_patches = 4",
    ]
    t0 = time.perf_counter()
    bundles = idakt_runs.pretrain_bundles(
        table34.pretrain_jobs(table, prof, aux),
        common,
        prof["pretrain"],
        work / f"bundles_{args.profile}",
        parallel=args.parallel,
    )
    pretrain_wall = time.perf_counter() - t0
    steps = [
        f"head/Trainer.steps = {prof['finetune']}",
        f"lips/Trainer.steps = {prof['lips']}",
        "Trainer.val_every = 1000000",
        "Trainer.ckpt_every = 1000000",
        f"Trainer.log_every = {max(1, prof['finetune'] // 40)}",
    ]
    methods = table34.finetune_methods(table, prof, bundles, folders, common + steps)
    rows = run_methods(methods, data, work / f"{table}_{args.profile}", parallel=args.parallel)
    base = rows[0]  # the column without ID-AKT at 100 %
    last = idakt_runs.steps_to_psnr(base["workspace"], -1e9)  # any logged step
    threshold = _final_train_psnr(base["workspace"]) - 1.0 if last is not None else 0.0
    for m, r in zip(methods, rows):
        ids, pct = m["column"]
        e = r["eval"]
        r["column"] = [ids, pct]
        r["finetune_rates"] = m["finetune_rates"]
        r["ids_here"] = prof["ids"].get(ids, 0) if isinstance(ids, int) else 0
        r["metrics"] = {
            k: e.get(k)
            for k in (
                "psnr",
                "ssim",
                "lpips",
                "lmd",
                "lip_sync",
                "mouth_error",
                "eye_error",
                "size_mb",
                "fps",
            )
        }
        r["metrics"].update(
            train_minutes=r["train_seconds"] / 60,
            steps_to_psnr=idakt_runs.steps_to_psnr(r["workspace"], threshold),
        )
        setting = "rsdf" if table == "table3" else "er_nerf"
        b = bundles.get((setting, r["ids_here"])) if r["ids_here"] else None
        r["bundle"] = b
        if b and b.get("pretrain_seconds") is not None:
            r["metrics"]["pretrain_minutes"] = b["pretrain_seconds"] / 60
    stem = table + ("" if args.profile == "default" else f"_{args.profile}")
    from harness.plots import bar_chart, training_curves

    files = {
        "bars": bar_chart(
            rows,
            [
                ("psnr", "PSNR (dB) ↑"),
                ("mouth_error", "mouth error ↓"),
                ("lip_sync", "lip sync r ↑"),
            ],
            out / f"{stem}_bars.png",
            f"{table} on the studio",
        ).name
    }
    curves = training_curves(rows, out / f"{stem}_curves.png")
    if curves:
        files["training_curves"] = curves.name
    report = {
        "table": table,
        "command": " ".join(["python", "benchmarks/run.py"] + sys.argv[1:]),
        "profile": args.profile,
        "settings": prof,
        "seed": 0,
        "data": str(data),
        "commit": sha,
        "machine": machine(1, args.parallel),
        "load_at_start": load,
        "wall_seconds": time.perf_counter() - start,
        "pretrain_wall_seconds": pretrain_wall,
        "peak_rss_mb_harness": peak_rss_mb(),
        "psnr_threshold": threshold,
        "bundles": {f"{k[0]}_{k[1]}ids": v for k, v in bundles.items()},
        "paper": {str(k): v for k, v in table34.PAPER[table].items()},
        "files": files,
        "results": rows,
    }
    md = table34.markdown(report)
    write_report(report, md, out, stem)
    print(md)
    return report


def _final_train_psnr(workspace: str) -> float:
    import csv

    with open(Path(workspace) / "logs" / "head.csv") as f:
        recs = [float(r["psnr"]) for r in csv.DictReader(f) if r.get("psnr")]
    return sum(recs[-3:]) / len(recs[-3:])
