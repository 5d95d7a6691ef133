"""The runner of ``benchmarks/run.py dhnerf-table1`` and ``dhnerf-table2``: train the methods
of :mod:`.dhnerf` on the lit studio identity, measure them, probe the DH-NeRF codes, and write
``<out>/<table>[_<profile>].json`` + ``.md`` + plots (curves, bars, a frame strip and, for the
DH-NeRF, a code-traversal strip)."""

from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from . import measures
from .common import cell, commit, fmt, machine, peak_rss_mb, write_report
from .dhnerf import OWN_AUDIO, RECIPE_KEYS
from .seeds import fold_seeds, resumed_lines, seeds_note
from .table2 import ablation_lines, seeded_rows

__all__ = ["run_dhnerf"]

# with the sync measure's keys; fit_psnr: PSNR on training frames (workers.fit_psnr), and the
# studio regions' PSNR, so the ledger can say where a difference lies
METRICS = ("psnr", "fit_psnr", "psnr_head", "psnr_torso", "psnr_bg", "ssim", "lmd",
           "mouth_error", "lip_sync")  # fmt: skip
NA = {
    "fid": "n/a: no Inception-v3 weights on this machine",
    "perceptual": "L_rec is photometric only: no VGG16 weights on this machine",
}
TARGETS = {"ex_expression": 0.8, "ill_light": 0.8, "leakage": 0.1}


def _probes(row: dict, data: Path) -> dict:
    from lokitalk_plugins.commands.workspace import load_system
    from lokitalk_plugins.data import TalkingHeadFolder
    from lokitalk_plugins.data.studio import load_truth
    from lokitalk_plugins.losses import CODE_NAMES

    from .dhnerf import probe_codes

    model = load_system(Path(row["workspace"]))[0].model
    n = int(model.coded_frames)
    ids = np.asarray(TalkingHeadFolder(data, split="train", progress=False).img_ids)[:n]
    truth = load_truth(data)
    get = lambda p: {k: getattr(model, f"{p}_{k}")[:n].detach().numpy() for k in CODE_NAMES}  # noqa: E731
    learned, ref = probe_codes(get("codes"), truth, ids), probe_codes(get("reference"), truth, ids)
    leak = max(learned[k][t] for k in ("id", "al") for t in ("expression", "light")
               if learned[k][t] is not None)  # fmt: skip
    ill = learned["ill"]["light"]  # None on a clip without a light track
    return {"learned": learned, "extractor": ref, "leakage": leak,
            "shared": list(getattr(model, "shared_codes", ())),
            "meets": {"ex_expression": learned["ex"]["expression"] >= TARGETS["ex_expression"],
                      "ill_light": None if ill is None else ill >= TARGETS["ill_light"],
                      "leakage": leak <= TARGETS["leakage"]}}  # fmt: skip


def _render_with_ex(system, frame, enc_a, ex_frame: int):
    """``frame`` (a val frame) rendered by a DH-NeRF with frame 0's C_id, C_al, C_ill and the
    C_ex of training frame ``ex_frame`` (the weight 1: this C_ex, not the audio's) -> [H, W, 3]."""
    import torch

    from lokitalk_plugins.baselines.dhnerf import join_code

    m = system.model
    c = m.codes(0)
    c["ex"] = m.codes(int(ex_frame))["ex"]
    code = join_code(c, 1.0)
    with torch.no_grad():
        res = system.renderer.render_image(
            lambda x, d: m(x, d, enc_a, None, code), frame.c2w, frame.intrinsics.tolist(),
            frame.H, frame.W, frame.background, progress=False,
        )  # fmt: skip
    return res.rgb.numpy()


def _val_setting(workspace: Path, data: Path):
    """(system, val frame 0, its audio encoding, the coded training frames' ids, the truth);
    a ValueError when the workspace's model is not a DH-NeRF."""
    from lokitalk_plugins.baselines.dhnerf import DHNeRF
    from lokitalk_plugins.commands.workspace import load_system
    from lokitalk_plugins.data import TalkingHeadFolder
    from lokitalk_plugins.data.studio import load_truth

    system = load_system(Path(workspace))[0]
    m = system.model
    if not isinstance(m, DHNeRF):
        raise ValueError(f"{workspace}: its model is a {type(m).__name__}, not a DH-NeRF")
    ids = np.asarray(TalkingHeadFolder(data, split="train", progress=False).img_ids)
    frame = TalkingHeadFolder(data, split="val", background="bc", progress=False)[0]
    return system, frame, m.encode_audio(frame.audio[None].float()), ids[: int(m.coded_frames)], \
        load_truth(data)  # fmt: skip


# expression factors whose control by C_ex is measured (the truth's track and the name
# render_controls takes)
RESPONSE_FACTORS = ("jaw", "eye_closure")


def _code_response(workspace: Path, data: Path) -> dict:
    """How far C_ex moves the picture where an expression factor does: for each factor of
    :data:`RESPONSE_FACTORS`, val frame 0 rendered with the C_ex of the coded training frames
    where the factor is smallest and largest (the other codes and the audio fixed) against
    the studio's same frame re-rendered with the factor at those two values; response = the
    model's change over the studio's, summed over the pixels holding 90% of the studio's
    change (1: C_ex moves the picture there as the factor does; 0: not at all)."""
    from lokitalk_plugins.data.studio.counterfactual import render_controls

    from .measures import support

    system, frame, enc_a, ids, truth = _val_setting(workspace, data)
    out = {}
    for factor in RESPONSE_FACTORS:
        values = getattr(truth, factor)[ids]
        lo, hi = int(np.argmin(values)), int(np.argmax(values))
        model = np.abs(_render_with_ex(system, frame, enc_a, hi)
                       - _render_with_ex(system, frame, enc_a, lo)).sum(-1)  # fmt: skip
        pair = [render_controls(data, [int(frame.img_id)], **{factor: float(values[i])})[0][0]
                for i in (lo, hi)]  # fmt: skip
        studio = np.abs(pair[1] - pair[0]).sum(-1)
        sup = support(studio)
        total = float(studio[sup].sum())
        out[factor] = {
            "low": float(values[lo]), "high": float(values[hi]),
            "response": float(model[sup].sum()) / total if total > 0 else None,
        }  # fmt: skip
    return out


def _traversal(row: dict, data: Path, path: Path, steps: int = 5) -> Path:
    """One val frame's camera and audio, C_ex taken from training frames at jaw quantiles and
    from those with the eyes most open and most closed, the other codes fixed (frame 0's):
    one code varied."""
    from .plots import frame_strip

    system, frame, enc_a, ids, truth = _val_setting(Path(row["workspace"]), data)
    jaw, eye = truth.jaw[ids], truth.eye_closure[ids]
    picks = [
        (f"C_ex of jaw {jaw[i]:.2f}", i)
        for i in np.argsort(jaw)[np.linspace(0, len(jaw) - 1, steps).round().astype(int)]
    ]
    picks += [(f"C_ex of eye closure {eye[i]:.2f}", i)
              for i in (int(np.argmin(eye)), int(np.argmax(eye)))]  # fmt: skip
    cols = [(label, _render_with_ex(system, frame, enc_a, i)) for label, i in picks]
    return frame_strip(cols, path, "code traversal: C_ex varied, C_id, C_al, C_ill fixed")


def _row(cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _response_lines(row: dict) -> list[str]:
    """The markdown of C_ex's response (:func:`_code_response`) over the row's seeds."""
    per_seed = [s["probes"]["code_response"] for s in row.get("seeds") or [row]
                if "code_response" in (s.get("probes") or {})]  # fmt: skip
    if not per_seed:
        return []
    cells = []
    for factor in RESPONSE_FACTORS:
        vals = [x[factor]["response"] for x in per_seed if x[factor]["response"] is not None]
        if not vals:
            continue
        std = f" ± {np.std(vals, ddof=1):.2f}" if len(vals) > 1 else ""
        lo, hi = per_seed[0][factor]["low"], per_seed[0][factor]["high"]
        cells.append(f"{factor.replace('_', ' ')} ({lo:.2f} -> {hi:.2f}) {np.mean(vals):.2f}{std}")
    return ["", f"C_ex's response ({len(per_seed)} seed(s)): val frame 0 rendered with the C_ex of "
            "the training frames where a factor is smallest and largest, the other codes and the "
            "audio fixed, changes the pixels carrying 90% of the studio's own change for that "
            "factor by this share of it (1: as the factor does; 0: not at all): "
            + "; ".join(cells) + "."]  # fmt: skip


def _extractor_said(report: dict) -> str:
    """The extractor's recipe as the markdown states it: what its pre-training record
    (``assets.bank``) sets beside the bank, and ``--extractor``'s keywords when given."""
    bank = (report.get("assets") or {}).get("bank") or {}
    recipe = {k: bank[k] for k in RECIPE_KEYS if k in bank}
    given = report.get("extractor")
    said = f" The code extractor's recipe: `{json.dumps(recipe)}`" if recipe else ""
    if given:
        said += (", with" if said else " The code extractor with") + (
            f" `{json.dumps(given)}` over the tables' (`--extractor`)"
        )
    threads, cpu = ((report.get("assets") or {}).get(k) for k in ("threads", "cpu"))
    if said and threads:
        said += f", pre-trained on {threads} thread{'s' if threads > 1 else ''}"
        said += f" of {cpu}" if cpu else ""
    return said + "." if said else ""


def _markdown(report: dict) -> str:
    paper, p = report["paper"], report["settings"]
    lines = [
        f"# Disentangling Head NeRF {report['table']} on the "
        f"{'studio without its moving key light' if report.get('unlit') else 'lit studio'} "
        f"({report['profile']} profile)",
        "",
        f"`{report['command']}` at commit `{report['commit'][:12]}`; {p['size']} px, "
        f"{p['seconds']:.0f} s, {p['head']} head steps of {p['rays']} rays; the head stage "
        "only, so every row is scored over the studio's torso image (the head alone)."
        + _extractor_said(report),
        "",
        _row(
            [
                "method",
                "PSNR",
                "PSNR on train frames",
                "SSIM",
                "LMD",
                "mouth err",
                measures.SYNC_HEADER,
                "FID",
            ]
        ),
        _row(["---"] * 8),
    ]
    for r in report["results"]:
        cells = [cell(r, k, 3) for k in ("psnr", "fit_psnr", "ssim", "lmd", "mouth_error")]
        lines.append(_row([r["method"], *cells, measures.row_sync_cell(r), "n/a"]))
    lines += measures.reference_lines(report.get("references", []), 8, 6)
    resumed = report.get("resumed_rows")
    if resumed is None:  # a report written before the seeds: the rows' own flags
        resumed = [r["method"] for r in report["results"] if r.get("resumed")]
    lines += resumed_lines(resumed)
    lines += seeds_note(
        report,
        seeded_rows(report),
        "; the probes below, the frame strip and the "
        "code traversal are seed 0's, the probes' verdicts use every seed's",
    )
    lines += [
        "",
        measures.sync_note(report, "The paper's Sync is SyncNet's confidence on real video"),
        "",
        measures.lmd_note(report),
        "",
        "The paper (real videos):",
        "",
        _row(["method", "PSNR", "SSIM", "FID", "Sync", "LMD"]),
        _row(["---"] * 6),
    ]
    lines += [_row([k, *vals]) for k, vals in paper.items()]
    for r in (r for r in report["results"] if "probes" in r):
        pr = r["probes"]
        shared = pr.get("shared") or []
        one = (f"; {', '.join('C_' + k for k in shared)}: one code for the clip "
               "(`DHNeRF.shared_codes`), constant over its frames, so R² 0 by construction"
               if shared else "")  # fmt: skip
        lines += ["", f"Probes of {r['method']} (R² on held-out training frames; targets "
                  f"C_ex, C_ill >= 0.8, leakage <= 0.1{one}):", "",
                  _row(["code", "C -> expression", "C -> light", "C̄ -> expression",
                        "C̄ -> light"]), _row(["---"] * 5)]  # fmt: skip
        for k, v in pr["learned"].items():
            e = pr["extractor"][k]
            lines.append(_row([f"C_{k}", *(fmt(x[t], 3) for x in (v, e)
                                            for t in ("expression", "light"))]))  # fmt: skip
        lines += _response_lines(r)
    rows = {r["method"]: r["metrics"] for r in report["results"] if "ablation" not in r}
    if "full model" in rows:  # the paper's direction: the full model above both ablations
        # (on the means where the rows fold seeds; n/a where a run left one out)
        for k in ("psnr", "sync_conf"):
            full = rows["full model"].get(k)
            others = [rows.get(n, {}).get(k) for n in ("w/o lip-sync module",
                                                       "w/o disentangling loss")]  # fmt: skip
            known = full is not None and None not in others
            above = known and all(full > o for o in others)
            lines.append(f"- full model above both ablations in {k}: "
                         f"{('yes' if above else 'no') if known else 'n/a'}")  # fmt: skip
        full, without = (rows.get(n, {}).get("lmd") for n in ("full model", "w/o lip-sync module"))
        lower = "n/a" if None in (full, without) else ("yes" if full < without else "no")
        lines.append(f"- the lip-sync module lowers LMD: {lower}")
    lines += ablation_lines(report)
    if report.get("methods"):
        lines += [
            "",
            "Rows chosen (`--methods`): " + ", ".join(f"'{m}'" for m in report["methods"]),
        ]
    lines += ["", *(f"- {k}: {v}" for k, v in report["notes"].items()), ""]
    return "\n".join(lines)


def run_dhnerf(args, prof: dict, out: Path, table: str) -> dict:
    from . import dhnerf
    from .common import check_rows
    from .plots import bar_chart, training_curves
    from .table2 import ablation_methods, ablation_seeds, frames_side_by_side
    from .workers import run_seeded

    ablations = dhnerf.ABLATIONS if table == "dhnerf-table2" else {}
    with_ablations, chosen = bool(getattr(args, "ablations", False)), getattr(args, "methods", None)
    build = dhnerf.table1_methods if table == "dhnerf-table1" else dhnerf.table2_methods

    def rows_of(a: dict) -> list[dict]:
        methods = build(args.profile, a)
        return methods + (ablation_methods(methods, ablations, dhnerf.ABLATION_CLAIMS)
                          if with_ablations else [])  # fmt: skip

    # bad options are refused before anything trains (the names do not need the assets)
    names = [m["name"] for m in rows_of({"extractor": "", "lipsync": None, "notes": []})]
    try:
        if with_ablations and not ablations:
            raise ValueError(f"--ablations: {table} has no ablation rows; dhnerf-table2 has")
        if chosen:
            check_rows(chosen, names, table, "" if with_ablations or not ablations
                       else " (an ablation row needs --ablations)")  # fmt: skip
        picked = [n for n in names if not chosen or n in chosen]
        abl_seeds = ablation_seeds(getattr(args, "ablation_seeds", None),
                                   [n for n in picked if n in ablations])  # fmt: skip
    except ValueError as e:
        raise SystemExit(str(e)) from None
    work = Path(args.work)
    unlit = bool(getattr(args, "studio_unlit", False))
    data = dhnerf.lit_studio(work, prof, lighting=not unlit)
    a = dhnerf.assets(work / "dhnerf", args.profile, data, getattr(args, "extractor", None),
                      tag="_unlit" if unlit else "")  # fmt: skip
    start, sha = time.perf_counter(), commit()
    if not a["lipsync"] and OWN_AUDIO in picked:  # it would be the full model itself
        picked.remove(OWN_AUDIO)
        abl_seeds.pop(OWN_AUDIO, None)
        a["notes"].append(f"'{OWN_AUDIO}' not run: without a lip-sync module the full model's "
                          "F_lip is already its own audio network")  # fmt: skip
    methods, seeds = [m for m in rows_of(a) if m["name"] in picked], int(getattr(args, "seeds", 1))
    rows_dir = work / f"{table}_{args.profile}{'_unlit' if unlit else ''}"
    runs, rows, resumed = run_seeded(methods, seeds, data, rows_dir,
                                     parallel=args.parallel, truth=True,
                                     resume=bool(getattr(args, "resume", False)),
                                     force=bool(getattr(args, "force", False)),
                                     ablation_seeds=abl_seeds)  # fmt: skip
    stem = table.replace("-", "_") + ("" if args.profile == "default" else f"_{args.profile}")
    stem += "_unlit" if unlit else ""
    files, probes = {}, {}
    for m, r, is_dh in zip(runs, rows, dhnerf.probed(runs)):
        r["metrics"] = measures.table_metrics(r["eval"], METRICS)
        if is_dh:  # every seed's DH-NeRF codes are probed, and C_ex's response measured
            probes[r["workspace"]] = dict(
                _probes(r, data), code_response=_code_response(r["workspace"], data)
            )
            if m["seed"] == 0:
                r["probes"] = probes[r["workspace"]]
    rows = fold_seeds(rows, runs)
    for r in rows:  # each seed's probes beside its metrics (the ledger judges them all)
        for s in r["seeds"]:
            if s["workspace"] in probes:
                s["probes"] = probes[s["workspace"]]
    dh = next((r for r in rows if "probes" in r), None)
    files["traversal"] = dh and _traversal(dh, data, out / f"{stem}_traversal.png").name
    curves = training_curves(rows, out / f"{stem}_curves.png")
    files["curves"] = curves.name if curves else None
    bars = [
        ("psnr", "PSNR (dB)"),
        ("sync_conf", "sync confidence ↑"),
        ("mouth_error", "mouth error"),
    ]
    files["bars"] = bar_chart(rows, bars, out / f"{stem}_bars.png", table).name
    files["frames"] = frames_side_by_side(rows, data, out / f"{stem}_frames.png").name
    report = {
        "table": table, "command": shlex.join(["python", "benchmarks/run.py"] + sys.argv[1:]),
        "profile": args.profile, "settings": prof, "seed": 0, "seeds": list(range(seeds)),
        "resumed_rows": resumed, "ablation_seeds": abl_seeds, "methods": chosen,
        "extractor": getattr(args, "extractor", None) or {},
        "data": str(data), "unlit": unlit,
        "commit": sha, "machine": machine(1, args.parallel),
        "wall_seconds": time.perf_counter() - start, "peak_rss_mb_harness": peak_rss_mb(),
        "paper": dhnerf.PAPER1 if table == "dhnerf-table1" else dhnerf.PAPER2,
        "notes": dict(NA, **{f"asset_{i}": n for i, n in enumerate(a["notes"])}),
        "assets": a, "files": files, "references": measures.reference_rows(data),
        "results": rows,
    }  # fmt: skip
    md = _markdown(report)
    write_report(report, md, out, stem)
    print(md)
    return report
