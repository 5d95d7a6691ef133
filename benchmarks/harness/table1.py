"""LokiTalk Table 1: RAD-NeRF, ER-NeRF and LokiTalk (RSDF + ID-AKT on the ER-NeRF field)
trained on studio identity 0 (or a user's folder), scored on its val split, plus, on the studio,
cross-driving: each model driven by an utterance of identity 1 it never heard, against the
studio's render of identity 0 saying it (a user's folder has no such render: n/a).

The baselines train with their originals' recipes (head, lips, 2D torso; ``configs/torso.gin``);
LokiTalk fine-tunes the same number of head and lips steps from the 10-identity pre-trained
bundle of Table 3 (shared cache), with ``configs/lokitalk_loss.gin`` (torso in the 3D field).
"""

from __future__ import annotations

from pathlib import Path

from .common import cell, check_rows, fmt
from .experiments import gin_method, run_bindings
from .measures import SYNC_HEADER, lmd_note, reference_lines, row_sync_cell, sync_cell
from .motion_prior import f_a_note
from .seeds import seeds_note

__all__ = [
    "ABLATIONS",
    "ABLATION_CLAIMS",
    "NOT_RUN",
    "PAPER",
    "ROWS",
    "chosen_rows",
    "cross_clip",
    "cross_drive",
    "markdown",
    "methods",
    "needs_bundle",
]

# the paper's Table 1: PSNR, LPIPS, LMD, LMD-E, Sync, cost, FPS, size (MB)
PAPER = {
    "RAD-NeRF": (31.510, 0.068, 3.008, 2.283, 4.410, "5h", 32, 16.47),
    "ER-NeRF": (32.506, 0.035, 2.917, 2.219, 4.944, "2h", 34, 7.14),
    "LokiTalk": (33.744, 0.029, 2.732, 2.214, 5.736, "3h", 29, 22.90),
}
NOT_RUN = {
    "Wav2Lip": "a 2D GAN method outside this library's scope (no NeRF backbone to plug into)",
    "AD-NeRF": "not rebuilt here: only RAD-NeRF and ER-NeRF are (BACKBONES.md)",
    "GeneFace": "not rebuilt here: only RAD-NeRF and ER-NeRF are (BACKBONES.md)",
}

# --ablations: rows that isolate a cause of a missed claim of this table (as Table 2's:
# harness.table2.ablation_methods builds them), trained for seed 0 only unless --ablation-seeds
# says otherwise: row name -> (the row it changes, the gin file added after the row's own,
# under benchmarks/gin-configs, what it isolates)
TORSO_2D = ("LokiTalk's torso out of its 3D field: the head and lips stages over the torso "
            "images, then a 2D torso field on the head pose, trained in a third stage as "
            "ER-NeRF's")  # fmt: skip
PORTRAIT_BOX = ("ER-NeRF rendered in LokiTalk's portrait box (bound 1.5 on the studio) "
                "instead of its head box (bound 1): the same hash tables and occupancy grid "
                "over a 1.5x larger cube")  # fmt: skip
BACKBONE_AUDIO = ("LokiTalk's backbone field keeps its own audio and eye path beside RSDF "
                  "(no static canonical space, eq. 5), fine-tuned from one bundle")  # fmt: skip
SAMPLES_32 = ("the cap of occupied samples a ray, 16 -> 32, in training and at inference: "
              "LokiTalk's portrait box, torso and deformed occupancy refresh leave more "
              "occupied cells in front of the face for the first 16 samples to land "
              "in")  # fmt: skip
PLAIN_MSE = ("LokiTalk's colour loss without region weights (eq. 6's eyes and lips 2x, which "
             "lokitalk_loss.gin sets and the ER-NeRF row does not have): the originals' plain "
             "mean squared error")  # fmt: skip
ENTROPY = ("the alpha-entropy term 100x stronger (λ_α 1e-4 -> 1e-2, "
           "TalkingHeadSystem.entropy_weight) in training: each ray's alpha pushed to 0 or 1 "
           "(in Table 2 it made the static canonical field opaque over the face)")  # fmt: skip
ABLATIONS = {
    "LokiTalk, torso as the originals train it": ("LokiTalk", "table1/ablations/torso_2d",
                                                  TORSO_2D),
    "ER-NeRF in LokiTalk's portrait box": ("ER-NeRF", "table1/ablations/portrait_box",
                                           PORTRAIT_BOX),
    "LokiTalk, backbone keeps its audio": ("LokiTalk", "table1/ablations/backbone_audio",
                                           BACKBONE_AUDIO),
    "ER-NeRF, 32 samples a ray": ("ER-NeRF", "table1/ablations/samples_32", SAMPLES_32),
    "LokiTalk, 32 samples a ray": ("LokiTalk", "table1/ablations/samples_32", SAMPLES_32),
    "LokiTalk, plain MSE": ("LokiTalk", "table1/ablations/plain_mse", PLAIN_MSE),
    "ER-NeRF, alpha entropy 1e-2": ("ER-NeRF", "table1/ablations/alpha_entropy", ENTROPY),
    "LokiTalk, alpha entropy 1e-2": ("LokiTalk", "table1/ablations/alpha_entropy", ENTROPY),
}  # fmt: skip
ABLATION_CLAIMS = {"table1/ablations/torso_2d": ["t1_psnr_er", "t1_psnr_rad", "t1_target"],
                   "table1/ablations/portrait_box": ["t1_psnr_er", "t1_target"],
                   "table1/ablations/backbone_audio": ["t1_psnr_er", "t1_psnr_rad",
                                                       "t1_target"],
                   "table1/ablations/samples_32": ["t1_psnr_er", "t1_target"],
                   "table1/ablations/plain_mse": ["t1_psnr_er", "t1_target"],
                   "table1/ablations/alpha_entropy": ["t1_psnr_er", "t1_psnr_rad",
                                                      "t1_target"]}  # fmt: skip
ROWS = {"RAD-NeRF": "rad_nerf", "ER-NeRF": "er_nerf", "LokiTalk": "lokitalk"}


def needs_bundle(name: str) -> bool:
    """Whether the row ``name`` (a row of :data:`ROWS` or an ablation's) fine-tunes LokiTalk's
    pre-trained bundle, so the run must pre-train it (and train LokiTalk's F_a) first."""
    return (ABLATIONS[name][0] if name in ABLATIONS else name) == "LokiTalk"


def methods(profile: str, bundle: str | None, run: list[str]) -> list[dict]:
    """The three rows of :data:`ROWS`: ``table1/<row>.gin`` each, the shared budget and data
    files and the profile's; ``run``: the run's bindings (:func:`~.experiments.run_bindings`),
    LokiTalk's with the pre-trained ``bundle`` too (None: the run trains no LokiTalk row, and
    the LokiTalk row is left out)."""
    shared = ["shared/budget", "shared/budget_torso", "shared/data", "profiles/" + profile]
    keep = [name for name in ROWS if bundle is not None or not needs_bundle(name)]
    out = [dict(gin_method(name, "table1/" + ROWS[name], *shared), bindings=list(run))
           for name in keep]  # fmt: skip
    if bundle is not None:
        out[-1]["bindings"] += run_bindings(bundle=bundle)
    return out


def chosen_rows(chosen: list[str] | None, ablations: bool) -> list[str]:
    """The rows a run trains and reports: ``chosen`` (``--methods``) or every row, ablations
    included with ``ablations``. Raises ValueError naming the option and the rows there are
    for a name that is no row (or an ablation row without ``--ablations``)."""
    names = [*ROWS, *(ABLATIONS if ablations else ())]
    if not chosen:
        return names
    hint = " (an ablation row needs --ablations)" if set(chosen) & set(ABLATIONS) else ""
    check_rows(chosen, names, "table1", hint)
    return [n for n in names if n in chosen]


def cross_clip(work: Path, size: int, seconds: float) -> Path:
    """Identity 0 (same seed: same head motion) saying identity 1's utterance, written once."""
    from lokitalk_plugins.data.studio import write_identity
    from lokitalk_plugins.data.studio.writer import default_utterance

    folder = Path(work) / f"studio_{size}px_{seconds:.0f}s" / "id000_says_id001"
    if not (folder / "transforms_val.json").exists():
        write_identity(
            folder,
            identity=0,
            seconds=seconds,
            size=size,
            seed=0,
            utterance=default_utterance(1, 0),
        )
    return folder


def cross_drive(rows: list[dict], clip: Path, frames: int = 60) -> dict:
    """Each model on the cross clip's frames (its audio, pose and eye tracks): -> method ->
    {psnr, mouth_error, lip_sync, frames}."""
    from lokitalk_plugins.commands.workspace import load_system
    from lokitalk_plugins.data import TalkingHeadFolder
    from lokitalk_plugins.data.studio import load_truth
    from lokitalk_plugins.train.evaluate import evaluate

    data = TalkingHeadFolder(clip, split="train", background="bc", progress=False)
    truth, out = load_truth(clip), {}
    for row in rows:
        system, _, _ = load_system(Path(row["workspace"]))
        res = evaluate(system, data, truth=truth, lpips=False, max_frames=frames, progress=False)
        keys = ("psnr", "mouth_error", "lip_sync", "sync_conf", "sync_offset", "frames")
        out[row["method"]] = {k: res.get(k) for k in keys}
    return out


def _data_sentence(report: dict) -> str:
    p = report["settings"]
    if report.get("studio", True):
        return f"identity 0, {p['size']} px, {p['seconds']:.0f} s; "
    return (
        f"folder `{report['data']}` (no ground truth: mouth/eye errors and lip sync n/a); "
        f"LokiTalk pre-trained on {report['pretrain_label']}; "
    )


def markdown(report: dict) -> str:
    p, m = report["settings"], report["machine"]
    lines = [
        f"# LokiTalk Table 1 on {report.get('data_label', 'the studio')} "
        f"({report['profile']} profile)",
        "",
        f"`{report['command']}` at commit `{report['commit'][:12]}`; "
        + _data_sentence(report)
        + f"head/lips/torso steps {p['head']}/{p['lips']}/{p['torso']} "
        f"(LokiTalk: head/lips, torso in the 3D field), {p['rays']} rays; "
        f"{m['jobs_in_parallel']} jobs at a time, one thread each, {m['cpu_count']} cores "
        f"({m['platform']}); load {report['load_at_start']} at start. FPS: render_frame at "
        f"the data's resolution, one thread, methods one after the other in one process.",
        "",
        f"| method | PSNR ↑ | LPIPS ↓ | LMD ↓ | LMD-E ↓ | {SYNC_HEADER} | mouth err ↓ "
        "| eye err ↓ | cost (min) | FPS | size (MB) | paper PSNR / LPIPS / LMD / LMD-E / Sync / "
        "cost / FPS / MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["results"]:
        x, paper = r["metrics"], PAPER.get(r["method"])
        if paper is None:  # an ablation row: what it changes, in the paper's column
            abl = r.get("ablation") or {}
            paper = [f"ablation of {abl.get('baseline', '?')}: {abl.get('isolates', '?')}"]
        cost = f"{x['train_minutes']:.1f}"
        if x.get("pretrain_minutes") is not None:
            cost += f" (+{x['pretrain_minutes']:.1f} pre-training, once)"
        lines.append(
            f"| {r['method']} | {cell(r, 'psnr')} | {fmt(x['lpips'], 3)} | {cell(r, 'lmd')} "
            f"| {cell(r, 'lmd_eyes')} | {row_sync_cell(r)} | {cell(r, 'mouth_error')} "
            f"| {cell(r, 'eye_error')} | {cost} | {fmt(x['fps'], 2)} | {fmt(x['size_mb'])} "
            f"| {' / '.join(str(v) for v in paper)} |"
        )
    lines += reference_lines(report.get("references", []), 12, 5)
    for name, why in NOT_RUN.items():
        lines.append(f"| {name} | not run: {why} | | | | | | | | | | |")
    from .table2 import region_lines, seeded_rows

    lines += seeds_note(report, seeded_rows(report), "; train minutes are the mean; FPS and "
                        "cross-driving are measured on seed 0")  # fmt: skip
    regions = region_lines(report)  # Table 2's section: PSNR by region, when the rows have it
    lines += ["", *regions[:-1]] if regions else []
    ratio = report["render_ratio_lokitalk_vs_er_nerf"]
    lines.append("")
    if ratio is None:
        lines.append("Whole-pipeline frame time, LokiTalk over ER-NeRF: n/a, the run trained "
                     "only some of the rows (`--methods`).")  # fmt: skip
    else:
        lines.append(
            f"Whole-pipeline frame time, LokiTalk over ER-NeRF, measured side by side: "
            f"{ratio:.2f}x (LokiTalk renders its torso in the 3D field, ER-NeRF in a 2D torso "
            "stage, so this is not the plug-ins' per-sample cost: that is "
            "`benchmarks/render_overhead.py`'s per_sample_ratio; the paper: 34 -> 29 FPS, "
            "1.17x)."
        )
    lines += ["", "## Cross-driving: identity 0 saying identity 1's utterance", ""]
    if report["cross_driving"] is None:
        lines.append(
            "n/a on a user's folder: scoring it needs a ground-truth video of the same person "
            "saying the other utterance, which only the studio renders."
        )
    else:
        lines += [
            f"| method | PSNR ↑ | mouth err ↓ | {SYNC_HEADER} | frames |",
            "|---|---|---|---|---|",
        ]
        for name, x in report["cross_driving"].items():
            lines.append(
                f"| {name} | {fmt(x['psnr'])} | {fmt(x['mouth_error'])} "
                f"| {sync_cell(x)} | {x['frames']} |"
            )
    lines += [
        "",
        "LPIPS is n/a without AlexNet weights. Sync: confidence (peak minus median of the "
        "correlation of a fixed-window mouth signal with the ground truth's over ±15 frames, "
        "metrics.sync) and offset in frames; the italic rows are its ceiling and floor on "
        "these val frames; the paper's Sync is SyncNet's. Cost is training wall time on this "
        "CPU, not GPU hours.",
        "",
        lmd_note(report),
        "",
    ]
    if report.get("bundle", True) is not None:  # a run with a LokiTalk row
        lines += f_a_note(report, "LokiTalk (pre-training and fine-tuning)")
    return "\n".join([*lines, ""])
