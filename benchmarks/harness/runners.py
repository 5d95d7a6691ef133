"""The runners of ``benchmarks/run.py``: one function per table, each training its methods,
measuring them, and writing ``<out>/<table>[_<profile>].json`` + ``.md`` + plots."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

__all__ = ["run_table2", "run_table34"]


def run_table2(args, prof: dict, out: Path) -> dict:
    from harness import measures, motion_prior, table2
    from harness.common import check_rows, commit, machine, peak_rss_mb, write_report
    from harness.data_sources import resolve_data
    from harness.experiments import run_bindings
    from harness.seeds import fold_seeds
    from harness.workers import (
        beside_pretraining,
        in_table_order,
        refuse_replacing,
        run_pool,
        run_seeded,
        seeded_runs,
    )
    from lokitalk_plugins.data.studio import load_truth
    from lokitalk_plugins.data.studio.lighting import check_light_frame
    from lokitalk_plugins.data.studio.motion import check_blink_gap, check_torso_follow

    try:  # a malformed --ablation-seeds is refused before anything trains
        table2.ablation_seeds(getattr(args, "ablation_seeds", None), list(table2.ABLATIONS))
    except ValueError as e:
        raise SystemExit(str(e)) from None
    work = Path(args.work)
    studio_options = []  # --studio-blinks, -torso-follow, -light-frame: checked, or refused
    for flag, option, check in (
        ("studio_blinks", "blink_gap", check_blink_gap),
        ("studio_torso_follow", "torso_follow", check_torso_follow),
        ("studio_light_frame", "light_frame", check_light_frame),
    ):
        value = getattr(args, flag, None)
        try:
            studio_options.append(None if value is None else check(value))
        except ValueError as e:
            why = str(e).replace(f"{option}: ", "")
            raise SystemExit(f"--{flag.replace('_', '-')}: {why}") from None
    source = resolve_data(args.data, work, prof, *studio_options)
    data, studio, label = source.data, source.studio, source.label
    run = run_bindings(audio_in_dim=source.audio_dim, portrait_box=source.portrait_box())
    methods = table2.build_methods(args.backbone, args.profile, run, studio)
    # our ablation row: O+D+R with GDRF's LSTM as F_a (before O+D+R takes the Audio2Motion F_a)
    chosen = getattr(args, "methods", None)
    lstm = None
    if not chosen or table2.LSTM_ROW in chosen:
        lstm = table2.lstm_path(data, source.work_dir(work, "audio2exp") / f"a2e_{args.profile}.pt")
    if lstm is not None:
        methods.append(table2.lstm_method(methods[-1], lstm, args.backbone))
    a2m = motion_prior.planned_for_run(args, source, work)  # O+D+R: the paper's F_a
    if a2m is not None:
        methods = [
            motion_prior.with_audio2motion(m, a2m) if m["name"] == "O+D+R" else m for m in methods
        ]
    if getattr(args, "ablations", False):
        methods += table2.ablation_methods(methods)
    if chosen:
        try:
            check_rows(chosen, [m["name"] for m in methods], "table2")
        except ValueError as e:
            raise SystemExit(str(e)) from None
        methods = [m for m in methods if m["name"] in chosen]
    seeds = int(getattr(args, "seeds", 1))
    names = [m["name"] for m in methods if "ablation" in m]
    try:
        abl_seeds = table2.ablation_seeds(getattr(args, "ablation_seeds", None), names)
    except ValueError as e:
        raise SystemExit(str(e)) from None
    start, load, sha = time.perf_counter(), machine()["load_average_1min"], commit()
    # the signal models (GDRF's LSTM, the Audio2Motion VAE) train on the cores the rows that
    # take neither leave free; then the rows that take one
    a2m_cached = a2m is not None and a2m.is_file()
    a2m_steps = motion_prior.A2M_STEPS[args.profile]
    tasks = {name: t for name, t in (
        ("GDRF's LSTM", table2.lstm_task(data, lstm, prof["head"]) if lstm else None),
        ("Audio2Motion", motion_prior.training_task(data, a2m, a2m_steps) if a2m else None),
    ) if t is not None}  # fmt: skip
    cells = work / f"table2_{args.profile}_{args.backbone}"
    if not getattr(args, "force", False):  # before the signal models train
        refuse_replacing(seeded_runs(methods, seeds, abl_seeds), cells, data,
                         bool(getattr(args, "resume", False)))  # fmt: skip
    inputs = [str(p) for p in (lstm, a2m) if p is not None]
    late = [m for m in methods if any(p in " ".join(m["bindings"]) for p in inputs)]
    early = [m for m in methods if m not in late]

    def train(rows: list[dict], parallel: int):
        return run_seeded(rows, seeds, data, cells,
                          parallel=parallel, truth=studio,
                          resume=bool(getattr(args, "resume", False)),
                          force=bool(getattr(args, "force", False)),
                          ablation_seeds=abl_seeds)  # fmt: skip

    def prepare_and_train():
        run_pool(list(tasks.values()), args.parallel)
        return train(late, args.parallel)

    if tasks:
        what = "the training of " + " and ".join(tasks)
        done, rest = beside_pretraining(early, train, prepare_and_train, args.parallel, what)
        runs, rows, resumed = in_table_order(methods, done, rest)
    else:
        runs, rows, resumed = train(methods, args.parallel)
    a2m = None if a2m is None else motion_prior.summary(a2m, a2m_steps, a2m_cached)
    first = [r for m, r in zip(runs, rows) if m["seed"] == 0]  # speed and maps: seed 0
    fps = table2.render_speed(first, data)
    stem = "table2" + ("" if args.profile == "default" else f"_{args.profile}")
    stem += ("" if args.backbone == "er_nerf" else f"_{args.backbone}") + source.suffix
    labels = load_truth(data).labels if studio else None
    maps = table2.heat_maps(first, data, out / f"{stem}_maps.png", labels=labels)
    for m, r in zip(runs, rows):
        e = r["eval"]
        r["metrics"] = {k: e.get(k) for k in table2.METRICS + measures.METRIC_KEYS}
        r["metrics"]["train_minutes"] = r["train_seconds"] / 60
        if m["seed"] == 0:
            r["metrics"].update(
                fps=fps[r["method"]],
                render_ratio=fps["O"] / fps[r["method"]] if "O" in fps else None,
                map_means=maps.get(r["method"]),
                region_shares=r.pop("region_shares", None),
            )
    rows = fold_seeds(rows, runs)
    files = table2.plots(rows, data, out, stem, label)
    report = {
        "table": "table2",
        "command": shlex.join(["python", "benchmarks/run.py"] + sys.argv[1:]),
        "profile": args.profile,
        "settings": prof,
        "backbone": args.backbone,
        "seed": 0,
        "seeds": list(range(seeds)),
        "ablation_seeds": abl_seeds,
        "audio2motion": a2m,
        "data": str(data),
        "data_label": label,
        "commit": sha,
        "machine": machine(1, args.parallel),
        "load_at_start": load,
        "resumed_rows": resumed,
        "wall_seconds": time.perf_counter() - start,
        "peak_rss_mb_harness": peak_rss_mb(),
        "paper": table2.PAPER,
        "files": dict(files, maps=f"{stem}_maps.png"),
        "references": measures.reference_rows(data) if studio else [],
        "results": rows,
    }
    md = table2.markdown(report)
    write_report(report, md, out, stem)
    print(md)
    return report


def run_table34(args, prof: dict, out: Path, table: str) -> dict:
    from harness import idakt_runs, measures, motion_prior, table2, table34
    from harness.common import commit, machine, peak_rss_mb, write_report
    from harness.data_sources import resolve_data
    from harness.experiments import run_bindings
    from harness.seeds import fold_seeds, seeded_methods
    from harness.workers import beside_pretraining, run_methods

    work, start = Path(args.work), time.perf_counter()
    # a bad --methods is refused before anything is written or trained
    try:
        chosen = table34.check_chosen(table, prof, getattr(args, "methods", None))
    except ValueError as e:
        raise SystemExit(str(e)) from None
    load, sha = machine()["load_average_1min"], commit()
    source = resolve_data(args.data, work, prof)
    data = source.data
    shares = source.work_dir(work, "frame_shares") if not source.studio else None
    folders = {pct: idakt_runs.fraction_folder(data, pct, shares) for pct in (100, 50, 25)}
    aux = source.pretrain_folders(work, max(prof["ids"].values()), prof)
    # fewer user folders than the paper's identities: every count is capped to what is there
    prof = dict(prof, ids={k: min(v, len(aux)) for k, v in prof["ids"].items()})
    run = run_bindings(audio_in_dim=source.audio_dim, portrait_box=source.portrait_box(*aux))
    a2m = motion_prior.for_run(args, source, work) if table == "table3" else None
    seeds = int(getattr(args, "seeds", 1))
    cells = source.work_dir(work, f"{table}_{args.profile}")

    def seeded(bundles: dict | None) -> list[dict]:
        """The columns (only those that need no bundle without ``bundles``), each seeded."""
        columns = table34.finetune_methods(table, prof, bundles, folders, args.profile, run, chosen)
        if a2m is not None:  # RSDF's F_a in every RSDF column (not the bare ER-NeRF one)
            columns = [
                motion_prior.with_audio2motion(m, a2m["path"]) if table34.uses_rsdf(m) else m
                for m in columns
            ]
        return seeded_methods(columns, seeds, select=table34.seeded_column(table))

    def train(methods: list[dict], parallel: int) -> list[dict]:
        force = bool(getattr(args, "force", False))
        return run_methods(methods, data, cells, parallel, source.studio, force=force)

    def pretrain_and_train():
        """The bundles, then the columns that fine-tune them."""
        t0 = time.perf_counter()
        bundles = idakt_runs.pretrain_bundles(
            table34.pretrain_jobs(table, prof, aux, chosen),
            ["shared/budget_pretrain", "shared/data", "profiles/" + args.profile],
            run,
            prof["pretrain_epochs"],
            source.work_dir(work, f"bundles_{args.profile}"),
            parallel=args.parallel,
            audio2motion=a2m["path"] if a2m else None,
        )
        wall, methods = time.perf_counter() - t0, seeded(bundles)
        late = [m for m in methods if table34.needs_bundle(m["column"][0])]
        return bundles, wall, methods, late, train(late, args.parallel)

    early = seeded(None)  # the columns that train from scratch, beside the pre-training
    early_rows, (bundles, pretrain_wall, methods, late, late_rows) = beside_pretraining(
        early, train, pretrain_and_train, args.parallel
    )
    by_key = {m["key"]: r for m, r in zip(early + late, early_rows + late_rows)}
    rows = [by_key[m["key"]] for m in methods]  # one run's order
    base = rows[0]  # the column without ID-AKT at 100 % (seed 0)
    last = idakt_runs.steps_to_psnr(base["workspace"], -1e9)  # any logged step
    threshold = _final_train_psnr(base["workspace"]) - 1.0 if last is not None else 0.0
    for m, r in zip(methods, rows):
        ids, pct = m["column"]
        e = r["eval"]
        r["column"] = [ids, pct]
        r["finetune_rates"] = m["finetune_rates"]
        r["ids_here"] = prof["ids"].get(ids, 0) if isinstance(ids, int) else 0
        r["metrics"] = {k: e.get(k) for k in table34.METRICS + measures.METRIC_KEYS}
        r["metrics"].update(
            train_minutes=r["train_seconds"] / 60,
            steps_to_psnr=idakt_runs.steps_to_psnr(r["workspace"], threshold),
        )
        setting = "rsdf" if table == "table3" else "er_nerf"
        b = bundles.get((setting, r["ids_here"])) if r["ids_here"] else None
        r["bundle"] = b
        if b and b.get("pretrain_seconds") is not None:
            r["metrics"]["pretrain_minutes"] = b["pretrain_seconds"] / 60
    rows = fold_seeds(rows, methods)
    stem = table + ("" if args.profile == "default" else f"_{args.profile}") + source.suffix
    from harness.plots import bar_chart, training_curves

    files = {
        "bars": bar_chart(
            rows,
            [
                ("psnr", "PSNR (dB) ↑"),
                ("mouth_error", "mouth error ↓"),
                ("sync_conf", "sync confidence ↑"),
            ],
            out / f"{stem}_bars.png",
            f"{table} on {source.label}",
        ).name
    }
    curves = training_curves(rows, out / f"{stem}_curves.png")
    if curves:
        files["training_curves"] = curves.name
    strip = table2.frames_side_by_side(rows, data, out / f"{stem}_frames.png")
    files["frames"] = strip.name
    report = {
        "table": table,
        "command": shlex.join(["python", "benchmarks/run.py"] + sys.argv[1:]),
        "profile": args.profile,
        "settings": prof,
        "seed": 0,
        "seeds": list(range(seeds)),
        "audio2motion": a2m,
        "data": str(data),
        "data_label": source.label,
        "studio": source.studio,
        "pretrain_data": [str(a) for a in aux],
        "pretrain_label": source.pretrain_label(len(aux)),
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
        "references": measures.reference_rows(data) if source.studio else [],
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
