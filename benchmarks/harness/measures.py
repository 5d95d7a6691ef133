"""Hooks the tables call for issue 14's measures, kept apart from the table modules.

- Sync (``lokitalk_plugins.metrics.sync``): the column every table prints (confidence, with
  the offset in frames beside it), and two reference rows measured the same way on the val
  frames: the ground-truth frames (ceiling) and one static frame repeated (floor).
- Fig. 5 as numbers: the share of each map inside its studio region (:data:`FIG5_REGIONS`),
  accumulated by ``table2.heat_maps``.
- LMD: which landmark source scored it, or why it is n/a.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .common import fmt

__all__ = [
    "SUPPORT_MASS",
    "support",
    "FIG5_REGIONS",
    "fig5_lines",
    "max_offset_text",
    "METRIC_KEYS",
    "SYNC_HEADER",
    "fig5_shares",
    "lmd_note",
    "pooled_psnr",
    "REGION_PSNR_KEYS",
    "studio_workspace",
    "studio_workspaces",
    "write_diagnostic",
    "workspace_args",
    "reference_lines",
    "ALPHA_ON",
    "region_alpha",
    "region_alpha_summary",
    "region_errors",
    "region_masks_of",
    "label_masks_of",
    "region_psnr",
    "reference_rows",
    "row_sync_cell",
    "shares_text",
    "sync_cell",
    "sync_note",
    "table_metrics",
]

SYNC_HEADER = "Sync conf ↑ (offset)"
# the studio's pixels in three groups (ground-truth labels): the head (face, hair, lips, mouth,
# teeth, eyes), torso + neck, background -> the keys region_psnr reports them under
REGION_PSNR_KEYS = {"head": "psnr_head", "torso+neck": "psnr_torso", "background": "psnr_bg"}
METRIC_KEYS = ("sync_conf", "sync_offset", "sync_max_offset")  # copied from eval to metrics


SUPPORT_MASS = 0.9  # the support of a change: the fewest pixels holding this share of it


def support(change: np.ndarray, mass: float = SUPPORT_MASS) -> np.ndarray:
    """The fewest pixels of ``change`` [H, W] (>= 0) holding ``mass`` of its sum -> bool
    [H, W] (all False when nothing changed)."""
    flat = change.reshape(-1)
    total = float(flat.sum())
    out = np.zeros(flat.shape, dtype=bool)
    if total <= 0:
        return out.reshape(change.shape)
    order = np.argsort(-flat, kind="stable")
    k = int(np.searchsorted(np.cumsum(flat[order]), mass * total)) + 1
    out[order[:k]] = True
    return out.reshape(change.shape)


def _fig5_regions() -> dict:
    from lokitalk_plugins.data.studio import Truth as T

    face = (T.FACE, T.LIPS, T.MOUTH, T.TEETH, T.EYES)
    return {
        "att_lip": ("att_lip", (T.LIPS,)),
        "att_eye": ("att_eye", (T.EYES,)),
        "dx_face": ("dx_face_norm", face),
        "dx_torso": ("dx_torso_norm", (T.NECK, T.TORSO)),
        "dx_joint_face": ("dx_norm", face),  # O+D's one field: where its offsets go
        "dx_joint_torso": ("dx_norm", (T.NECK, T.TORSO)),
    }


# share key -> (ray map, studio label ids of its region); the face is face skin, lips, mouth,
# teeth and eyes (not hair)
FIG5_REGIONS = _fig5_regions()


def fig5_shares():
    """A fresh accumulator of the Fig. 5 shares (``add(maps, labels)``, ``result()``)."""
    from lokitalk_plugins.metrics.regions import RegionShares

    return RegionShares(FIG5_REGIONS)


def sync_cell(x: dict, std: float | None = None) -> str:
    """``0.62 (+0)``: confidence (``± std`` over seeds when given) and offset in frames (a
    mean over seeds may be fractional; "no peak" for a flat curve); n/a when not measured."""
    if x.get("sync_conf") is None:
        return "n/a"
    conf = f"{x['sync_conf']:.2f}" + ("" if std is None else f" ± {std:.2f}")
    offset = x.get("sync_offset")
    if offset is None:
        return f"{conf} (no peak)"
    return f"{conf} ({offset:+.0f})" if float(offset).is_integer() else f"{conf} ({offset:+.1f})"


def row_sync_cell(row: dict) -> str:
    """:func:`sync_cell` of a table row (its seeds' std from ``metrics_std``); a row of
    several seeds gives each seed's offset, ``0.60 ± 0.24 (0, 0, +14)``, not their mean (one
    seed off sync would read as every seed a few frames off)."""
    cell = sync_cell(row["metrics"], (row.get("metrics_std") or {}).get("sync_conf"))
    seeds = [s.get("metrics") or {} for s in row.get("seeds") or []]
    if len(seeds) < 2 or row["metrics"].get("sync_conf") is None:
        return cell
    offsets = [s.get("sync_offset") for s in seeds]
    said = ", ".join("no peak" if o is None else "0" if o == 0 else f"{o:+.0f}" for o in offsets)
    return f"{cell[: cell.rindex(' (')]} ({said})"


def table_metrics(ev: dict, keys) -> dict:
    """A row's metrics from its evaluation ``ev``: ``keys`` and the sync measure's
    (:data:`METRIC_KEYS`); None where not measured."""
    return {k: ev.get(k) for k in (*keys, *METRIC_KEYS)}


def sync_note(report: dict, paper: str) -> str:
    """The sentence under a table with the sync column: how it is measured, what the reference
    rows are, and what the paper's column (``paper``) is."""
    ks = {r["metrics"].get("sync_max_offset") for r in report["results"]} - {None, 0}
    span = f"±{max_offset_text(report)} frames" if ks else "no offsets (n/a: val clip too short)"
    return (
        "Sync: a mouth-opening signal in one fixed window, cross-correlated with the ground "
        f"truth's over {span} (metrics.sync); confidence = peak "
        "minus median, offset in frames (0 = in sync); the italic rows are the ceiling and "
        f"floor of the measure on these val frames. {paper}: compare orderings, not values."
    )


def reference_rows(data: Path) -> list[dict]:
    """The ceiling and floor of the sync measure on the val split of a studio folder: the
    ground-truth frames, and its first frame repeated. -> rows {method, metrics}."""
    from lokitalk_plugins.data import TalkingHeadFolder
    from lokitalk_plugins.data.studio import load_truth
    from lokitalk_plugins.metrics.sync import mouth_box, mouth_signal, sync_from_signals

    truth = load_truth(data)
    val = TalkingHeadFolder(data, split="val", background="bc", progress=False)
    gt = np.stack([val[i].image.numpy() for i in range(len(val))])
    box = mouth_box(truth.landmarks[int(val[0].img_id)], gt.shape[1], gt.shape[2])
    signal = mouth_signal(gt, box)
    still = np.full_like(signal, signal[0])
    return [
        {"method": "ground truth (ceiling)", "metrics": sync_from_signals(signal, signal)},
        {"method": "one static frame (floor)", "metrics": sync_from_signals(still, signal)},
    ]


def reference_lines(refs: list[dict], columns: int, sync_column: int) -> list[str]:
    """Markdown rows of the reference rows: the sync cell at ``sync_column`` (0 = the method
    column), "—" in the other ``columns - 1`` cells."""
    lines = []
    for r in refs:
        cells = ["—"] * columns
        cells[0], cells[sync_column] = f"*{r['method']}*", sync_cell(r["metrics"])
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def lmd_note(report: dict) -> str:
    """The LMD sentence under a table: the landmark source, or why LMD is n/a."""
    ev = report["results"][0]["eval"] if report.get("results") else {}
    detector = ev.get("landmark_detector", "none")
    if detector == "none":
        why = ev.get("landmark_detector_note") or "the [landmarks] extra is not installed"
        return f"Landmark detector for LMD: none. LMD n/a: {why}."
    lmd = [r["metrics"].get("lmd") for r in report["results"]]
    missed = "" if all(v is not None for v in lmd) else " (n/a: no face found in the frames)"
    return f"Landmark detector for LMD: {detector}{missed}."


def shares_text(shares: dict | None) -> str:
    """``att_lip 0.71, dx_face 0.93``: the measured Fig. 5 shares of a row."""
    if not shares:
        return "n/a"
    return ", ".join(f"{k} {fmt(v)}" for k, v in shares.items() if v is not None) or "n/a"


def max_offset_text(report: dict) -> str:
    """The sync offset range the rows used (``15``), or why there was none."""
    ks = {r["metrics"].get("sync_max_offset") for r in report["results"]} - {None, 0}
    return "/".join(str(k) for k in sorted(ks)) or "0 (val clip too short: n/a)"


def fig5_lines(report: dict) -> list[str]:
    """Fig. 5 as numbers: each deforming method's map shares inside their regions."""
    rows = [r for r in report["results"] if r["metrics"].get("region_shares")]
    if not rows:
        return []
    keys = list(FIG5_REGIONS)
    lines = [
        f"## Fig. 5 as numbers (beside `{report['files'].get('maps', 'the maps')}`)",
        "",
        "Share of each summed map inside its studio region (1 = only there), over the val "
        "frames of the maps: att_lip in lips, att_eye in eyes, Σ‖Δx_face‖ in the face (skin, "
        "lips, mouth, teeth, eyes), Σ‖Δx_torso‖ in torso and neck; O+D's one field (dx_joint) "
        "in the face and in torso and neck.",
        "",
        "| method | " + " | ".join(keys) + " |",
        "|---" * (len(keys) + 1) + "|",
    ]
    for r in rows:
        sh = r["metrics"]["region_shares"]
        lines.append(f"| {r['method']} | " + " | ".join(fmt(sh.get(k)) for k in keys) + " |")
    return lines + [""]


def workspace_args(parser, what: str, stem: str) -> None:
    """The arguments every diagnostic over trained studio workspaces takes: the workspaces
    (``what`` they are), ``--out`` (``<stem>.json`` and ``.md``), ``--every`` (every k-th val
    frame) and ``--force``."""
    parser.add_argument("workspaces", nargs="+", help=f"trained {what} (on studio folders)")
    parser.add_argument("--out", required=True, help=f"folder for {stem}.json and .md")
    parser.add_argument("--every", type=int, default=3, help="every k-th val frame (3)")
    parser.add_argument("--force", action="store_true", help="overwrite existing outputs")


def studio_workspaces(parser, args, stem: str):
    """Each of ``args.workspaces`` (see :func:`workspace_args`) loaded for a diagnostic, after
    refusing to overwrite ``<args.out>/<stem>.json`` without ``--force``, one thread: yields
    (workspace path, system, stage, truth, val frames)."""
    import torch

    from .common import refuse_overwrite

    if args.every < 1:
        parser.error("--every must be >= 1")
    refuse_overwrite(parser, Path(args.out), stem, args.force)
    torch.set_num_threads(1)
    for ws in map(Path, args.workspaces):
        system, _, stage, truth, val = studio_workspace(parser, ws)
        yield ws, system, stage, truth, val


def write_diagnostic(stem: str, argv, out, markdown, **fields) -> dict:
    """A diagnostic's report (``python benchmarks/<stem>.py`` with its arguments, the commit,
    the machine, then ``fields``) written to ``<out>/<stem>.json`` and ``.md`` by
    ``markdown(report)``; prints where, returns the report."""
    import platform
    import sys

    import torch

    from .common import commit, write_report

    report = {
        "command": f"python benchmarks/{stem}.py " + " ".join(argv or sys.argv[1:]),
        "commit": commit(),
        "machine": f"{platform.platform()}, torch {torch.__version__}",
        **fields,
    }
    js, md = write_report(report, markdown(report), Path(out), stem)
    print(f"wrote {js} and {md}")
    return report


def studio_workspace(parser, ws: Path):
    """A trained workspace on a studio folder for a diagnostic script: (system, run, stage,
    truth, val frames); ``parser`` stops with one line when ``ws`` is no workspace or its
    folder has no studio truth."""
    import lokitalk_plugins.registration  # noqa: F401
    from lokitalk_plugins.commands.workspace import load_dataset, load_system
    from lokitalk_plugins.data.studio import load_truth

    if not (ws / "run.json").is_file():
        parser.error(f"{ws} is no workspace (no run.json): pass folders that `lokitalk train` "
                     "or the harness's --work made")  # fmt: skip
    system, run, stage = load_system(ws)
    try:
        truth = load_truth(run["data"])
    except FileNotFoundError as e:
        parser.error(f"{ws}: {e}; this diagnostic needs the studio's region labels")
    return system, run, stage, truth, load_dataset(run, stage, "val", progress=False)


def region_masks_of(frame, truth) -> dict:
    """A frame's studio regions from its ground-truth labels: region (``REGION_PSNR_KEYS``)
    -> bool [H, W] (head: every pixel neither torso, neck nor background)."""
    from lokitalk_plugins.data.studio import BACKGROUND, NECK, TORSO

    labels = np.asarray(truth.labels[frame.img_id])
    torso = np.isin(labels, [NECK, TORSO])
    bg = labels == BACKGROUND
    return {"head": ~(torso | bg), "torso+neck": torso, "background": bg}


def label_masks_of(frame, truth) -> dict:
    """A frame's regions split by the studio's labels: "head: <label>" for each of the head's
    labels (face, hair, lips, mouth, teeth, eyes) and "torso+neck: neck", "torso+neck: torso"
    -> bool [H, W] (each split tiles its region)."""
    from lokitalk_plugins.data.studio import NECK, TORSO
    from lokitalk_plugins.data.studio.labels import HEAD_LABELS, LABEL_NAMES

    labels = np.asarray(truth.labels[frame.img_id])
    out = {f"head: {LABEL_NAMES[k]}": labels == k for k in HEAD_LABELS}
    return out | {"torso+neck: neck": labels == NECK, "torso+neck: torso": labels == TORSO}


def region_errors(rgb, frame, truth) -> dict:
    """One rendered frame's squared colour error split by the studio's ground-truth labels:
    rgb [H, W, 3] -> region (``REGION_PSNR_KEYS``) -> (sum of squared error, pixel count)."""
    err = ((rgb - frame.image) ** 2).mean(-1).numpy()
    masks = region_masks_of(frame, truth)
    return {k: (float(err[m].sum()), int(m.sum())) for k, m in masks.items()}


def pooled_psnr(sq_error: float, pixels: int) -> float:
    """PSNR (dB) of pixels whose squared colour errors sum to ``sq_error`` (floored at 100 dB)."""
    return float(-10 * np.log10(max(sq_error / pixels, 1e-10)))


ALPHA_ON = 0.1  # a pixel the field covers: accumulated alpha above this
_ALPHA_SUMS = ("sq_error", "pixels", "alpha", "covered", "near_head_sq_error", "covered_far",
               "background_sq_error")  # fmt: skip


def region_alpha(rgb, alpha, frame, truth, near: int = 3, labels: bool = False) -> dict:
    """Where one rendered frame's error and the field's alpha lie in each studio region.

    rgb [H, W, 3], alpha [H, W] (the renderer's accumulated weights) -> region -> sums over its
    pixels: ``sq_error`` (the colour error), ``pixels``, ``alpha``, ``covered`` (alpha >
    :data:`ALPHA_ON`), ``near_head_sq_error`` (the error of pixels within ``near`` px of the
    head, the square around each head pixel), ``covered_far`` (covered pixels further from the
    head) and ``background_sq_error`` (the frame's background image alone against the truth:
    what a renderer with no alpha there would score). :func:`region_alpha_summary` turns
    summed frames into shares and PSNR. labels: the head split by the studio's labels as
    well, and torso + neck into neck and torso (:func:`label_masks_of`: "head: face", ...,
    "torso+neck: neck")."""
    import torch

    err = ((rgb - frame.image) ** 2).mean(-1).numpy()
    bg_err = ((frame.background - frame.image) ** 2).mean(-1).numpy()
    a = np.asarray(alpha, dtype=np.float64).reshape(err.shape)
    masks = region_masks_of(frame, truth)
    if labels:
        masks |= label_masks_of(frame, truth)
    head = torch.as_tensor(masks["head"], dtype=torch.float32)[None, None]
    near_head = torch.nn.functional.max_pool2d(head, 2 * near + 1, stride=1, padding=near)
    near_head = near_head[0, 0].numpy() > 0
    covered = a > ALPHA_ON
    out = {}
    for k, m in masks.items():
        out[k] = dict(zip(_ALPHA_SUMS, (
            float(err[m].sum()), int(m.sum()), float(a[m].sum()), int((m & covered).sum()),
            float(err[m & near_head].sum()), int((m & covered & ~near_head).sum()),
            float(bg_err[m].sum()))))  # fmt: skip
    return out


def region_alpha_summary(sums: dict) -> dict:
    """Summed :func:`region_alpha` sums -> region -> ``psnr``, ``mean_alpha``,
    ``covered_share`` (of the region's pixels), ``near_head_error_share`` (of its squared
    error), ``covered_far_share`` (of its pixels), ``background_image_psnr`` (None where the
    region has no pixels; an error share is None where the region has no error)."""
    out = {}
    for k, s in sums.items():
        n, e = s["pixels"], s["sq_error"]
        out[k] = {
            "psnr": pooled_psnr(e, n) if n else None,
            "mean_alpha": s["alpha"] / n if n else None,
            "covered_share": s["covered"] / n if n else None,
            "near_head_error_share": s["near_head_sq_error"] / e if e > 0 else None,
            "covered_far_share": s["covered_far"] / n if n else None,
            "background_image_psnr": pooled_psnr(s["background_sq_error"], n) if n else None,
        }
    return out


def region_psnr(system, val, truth, every: int = 3) -> dict:
    """PSNR (dB) inside each studio region over every ``every``-th val frame (the pooled
    squared error of the region's pixels): where a method gains or loses against another.
    -> ``psnr_head``, ``psnr_torso``, ``psnr_bg`` (None for a region no frame shows)."""
    import torch

    sums = {k: [0.0, 0] for k in REGION_PSNR_KEYS}
    with torch.no_grad():
        for i in range(0, len(val), every):
            frame = val[i]
            for k, (e, n) in region_errors(system.render_frame(frame)["rgb"], frame, truth).items():
                sums[k][0] += e
                sums[k][1] += n
    return {REGION_PSNR_KEYS[k]: (pooled_psnr(e, n) if n else None) for k, (e, n) in sums.items()}
