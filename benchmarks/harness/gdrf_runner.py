"""The runner of GDRF's tables (``python benchmarks/run.py gdrf-table1`` ...): clips of the
unseen identity, cached base models, the rows trained by the worker pool, then
``<out>/gdrf_table<N>[_<profile>].json`` + ``.md`` + plots (bars, curves, a frame strip)."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

__all__ = ["run_gdrf_table", "write_not_run"]


def run_gdrf_table(args, prof: dict, out: Path) -> dict:
    from harness import gdrf_tables as g
    from harness import idakt_runs, measures
    from harness.common import commit, machine, peak_rss_mb, studio_identity, write_report
    from harness.seeds import fold_seeds
    from harness.table2 import ablation_seeds
    from harness.workers import run_seeded

    table = args.table
    if list(args.data) != ["studio"]:
        raise SystemExit(
            "--data: GDRF's tables run on the studio only (the clips are cut from studio "
            "identity 0, the base models pre-train on studio identities 1..)"
        )
    s, work = dict(g.SETTINGS[args.profile]), Path(args.work)
    chosen = list(getattr(args, "methods", None) or [])
    ablations = bool(getattr(args, "ablations", False))
    try:  # a bad --methods or --ablation-seeds is refused before anything is written or trained
        plan = g.chosen_plan(table, s["scale"], chosen, ablations)
        names = [g.label(table, *p) for p in plan if p[0] in g.ABLATIONS]
        abl_seeds = ablation_seeds(getattr(args, "ablation_seeds", None), names)
    except ValueError as e:
        raise SystemExit(str(e)) from None
    start, load, sha = time.perf_counter(), machine()["load_average_1min"], commit()
    data = studio_identity(work, 0, prof["size"], s["seconds"])
    root = work / f"gdrf_clips_{prof['size']}px_{s['seconds']:.0f}s"
    clips = {sec: idakt_runs.first_frames_folder(data, sec * g.FPS, root / f"id000_{sec}s")
             for sec in (3, 5, 10)}  # fmt: skip
    aux = idakt_runs.aux_identities(work, s["ids"], prof["size"], prof["aux_seconds"])
    needed = g.bases_needed(table, s["scale"], chosen, ablations)
    jobs = [(b, aux) for b in needed]
    cache = work / f"gdrf_bundles_{args.profile}"
    shared = ["shared/budget_pretrain", "profiles/" + args.profile]
    bundles = idakt_runs.pretrain_bundles(jobs, shared, [], s["pretrain_epochs"], cache,
                                          args.parallel)  # fmt: skip
    paths = {b: bundles[(b, len(aux))]["path"] for b in needed}
    methods = g.methods(table, s["scale"], clips, paths, args.profile, chosen, ablations)
    seeds = int(getattr(args, "seeds", 1))
    runs, rows, resumed = run_seeded(methods, seeds, data, work / f"{table}_{args.profile}",
                                     parallel=args.parallel,
                                     resume=bool(getattr(args, "resume", False)),
                                     force=bool(getattr(args, "force", False)),
                                     ablation_seeds=abl_seeds)  # fmt: skip
    for row, m in zip(rows, runs):
        row.update({k: m[k] for k in ("row", "seconds", "steps", "refs", "paper_steps", "data")
                    if k in m})  # fmt: skip
        row["metrics"] = measures.table_metrics(row["eval"], g.METRICS)
    rows = fold_seeds(rows, runs)
    stem = table.replace("-", "_") + ("" if args.profile == "default" else f"_{args.profile}")
    report = {
        "table": table,
        "command": shlex.join(["python", "benchmarks/run.py"] + sys.argv[1:]),
        "profile": args.profile,
        "settings": dict(s, size=prof["size"], rays=prof["rays"], aux_seconds=prof["aux_seconds"]),
        "seed": 0,
        "seeds": list(range(seeds)),
        "methods_chosen": chosen or None,
        "resumed_rows": resumed,
        "ablation_seeds": abl_seeds or None,
        "data": str(data),
        "data_label": "the studio (identity 0 unseen, bases on identities 1..)",
        "commit": sha,
        "machine": machine(1, args.parallel),
        "load_at_start": load,
        "wall_seconds": time.perf_counter() - start,
        "peak_rss_mb_harness": peak_rss_mb(),
        "paper": {" / ".join(map(str, k)): v for k, v in g.PAPER[table].items()},
        "bases": {b: bundles[(b, len(aux))] for b in needed},
        "not_run": g.NOT_RUN,
        "references": measures.reference_rows(data),
        "files": _plots(rows, out, stem, table),
        "results": rows,
    }
    md = g.markdown(report)
    write_report(report, md, out, stem)
    print(md)
    return report


def _plots(rows: list[dict], out: Path, stem: str, table: str) -> dict:
    """Bars of PSNR, SSIM and sync confidence; training curves; the val frame 0 of the last
    four rows (the longest clip or most steps) beside the truth."""
    import lokitalk_plugins.registration  # noqa: F401
    from harness.plots import bar_chart, frame_strip, training_curves
    from lokitalk_plugins.commands.workspace import load_system
    from lokitalk_plugins.data import TalkingHeadFolder

    files = {"bars": bar_chart(rows, [("psnr", "PSNR (dB)"), ("ssim", "SSIM"),
                                      ("sync_conf", "sync confidence ↑")],
                               out / f"{stem}_bars.png", f"GDRF {table}").name}  # fmt: skip
    curves = training_curves(rows, out / f"{stem}_curves.png")
    if curves is not None:
        files["training_curves"] = curves.name
    columns = []
    for row in rows[-4:]:
        system, _run, _stage = load_system(Path(row["workspace"]))
        val = TalkingHeadFolder(row["data"], split="val", background="torso", progress=False)
        frame = val[0]
        columns.append((row["method"], system.render_frame(frame)["rgb"].numpy()))
    columns.append(("truth", frame.image.numpy()))
    files["frames"] = frame_strip(columns, out / f"{stem}_frames.png", "val frame 0").name
    return files


def write_not_run(args, out: Path) -> dict:
    """GDRF's Tables 3 and 4, printed as not run with the reason."""
    from harness import gdrf_tables as g
    from harness.common import write_report

    report = {"table": "gdrf-table34", "profile": args.profile, "not_run": g.NOT_RUN}
    md = "# GDRF Tables 3 and 4: not run\n\n" + "".join(
        f"- {k}: {v}\n" for k, v in g.NOT_RUN.items()
    )
    stem = "gdrf_table34" + ("" if args.profile == "default" else f"_{args.profile}")
    write_report(report, md, out, stem)
    print(md)
    return report
