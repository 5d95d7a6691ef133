"""LokiTalk Tables 3 and 4: ID-AKT pre-training on auxiliary identities, then fine-tuning on
the scored identity with 100/50/25% of its training frames: studio identities 1.. and 0, or a
user's folders (``--data DIR AUX ...``; see :mod:`harness.data_sources`).

Table 3 (RSDF + ID-AKT): pre-train 0, 10, 10, 10, 5, 3 identities x fine-tune 100, 100, 50,
25, 50, 50 %, and the bare ER-NeRF. Table 4 (ID-AKT on the ER-NeRF field): pre-train 0 / 10 x
100 / 50 %. "0" is the setting without ID-AKT (O+D+R for Table 3, ER-NeRF for Table 4). Every
column trains the same steps on the same val split; all follow ``configs/lokitalk_loss.gin``.
Columns from a bundle fine-tune with ``configs/idakt_finetune_short.gin`` (the backbone's own
rates for the shared model, identity embeddings at 1e-3); one more column per table repeats the
first pre-trained one with the paper's fine-tune rates (``configs/idakt_finetune.gin``), side by
side, since those decide how much a short fine-tune learns.
"""

from __future__ import annotations

from pathlib import Path

from .common import cell, check_rows, fmt
from .experiments import gin_method, run_bindings
from .idakt_runs import PRETRAIN_CONFIGS
from .measures import SYNC_HEADER, lmd_note, reference_lines, row_sync_cell
from .motion_prior import f_a_note
from .seeds import seeds_note

__all__ = ["METRICS", "PAPER", "columns", "finetune_methods", "markdown"]

# what each row reports from its evaluation (issue14b's columns join here)
METRICS = ("psnr", "ssim", "lpips", "lmd", "lip_sync", "mouth_error", "eye_error", "size_mb",
           "fps")  # fmt: skip

# the paper's cells: (pretrain ids, fine-tune %) -> (LMD, Sync, PSNR, LPIPS)
PAPER = {
    "table3": {
        (0, 100): (3.132, 5.423, 30.464, 0.051),
        (10, 100): (3.034, 5.873, 30.482, 0.050),
        (10, 50): (3.125, 5.569, 30.387, 0.058),
        (10, 25): (3.209, 5.396, 29.832, 0.061),
        (5, 50): (3.134, 5.404, 30.387, 0.060),
        (3, 50): (3.148, 5.386, 30.153, 0.059),
        ("ER-NeRF", 100): (3.334, 4.409, 28.425, 0.064),
    },
    "table4": {
        (0, 100): (3.334, 4.409, 28.425, 0.064),
        (0, 50): (3.424, 4.364, 27.761, 0.067),
        (10, 100): (3.308, 4.617, 28.428, 0.064),
        (10, 50): (3.329, 4.405, 28.426, 0.065),
    },
}


# a column's gin file under benchmarks/gin-configs/table34/: (setting, fine-tune rates) -> file;
# from a bundle, our short-run rates or the paper's (sec. 4)
ROW_CONFIGS = {
    ("er_nerf", None): "er_nerf",
    ("rsdf", None): "rsdf",
    ("rsdf", "short"): "rsdf_idakt",
    ("rsdf", "paper"): "rsdf_idakt_paper_rates",
    ("er_nerf", "short"): "er_nerf_idakt",
    ("er_nerf", "paper"): "er_nerf_idakt_paper_rates",
}
# the extra column of each table: the paper's fine-tune rates on this (ids, %) column
PAPER_RATES_COLUMN = (10, 100)


# cells the paper does not give, measured here: Table 3's 50% column without pre-training, so
# the 50% column reads 0 / 3 / 5 / 10 identities (issue 14)
EXTRA_COLUMNS = {"table3": [(0, 50)], "table4": []}


def columns(table: str) -> list[tuple]:
    """(paper pre-train ids or "ER-NeRF", fine-tune %) of a table: the paper's cells in its
    order, then :data:`EXTRA_COLUMNS`."""
    return list(PAPER[table]) + EXTRA_COLUMNS[table]


def rates_label(rates: str | None) -> str:
    return {None: "", "short": "", "paper": " (paper's fine-tune rates)"}[rates]


def needs_bundle(ids) -> bool:
    """Whether a column pre-trained on ``ids`` identities fine-tunes a bundle (0 and the bare
    "ER-NeRF" column train from scratch)."""
    return isinstance(ids, int) and ids != 0


def bare_er_nerf(table: str, ids) -> bool:
    """Whether a column is the bare ER-NeRF: Table 3's "ER-NeRF" column, Table 4's without
    ID-AKT."""
    return ids == "ER-NeRF" or (ids == 0 and table == "table4")


def column_name(table: str, prof: dict, ids, pct: int, rates: str | None) -> str:
    """A column's row label (what ``--methods`` names): "0 ids, 100%", "10 ids, 50%",
    "10 ids, 100%, paper rates", "ER-NeRF, 100%" (Table 4's column without ID-AKT too)."""
    if bare_er_nerf(table, ids):
        return f"ER-NeRF, {pct}%"
    if ids == 0:
        return f"0 ids, {pct}%"
    rates_part = ", paper rates" if rates == "paper" else ""
    return f"{prof['ids'][ids]} ids, {pct}%" + rates_part


def _plan(table: str) -> list[tuple]:
    """(ids, pct, rates) of every column in the table's order, the paper-rates one last."""
    return [(ids, pct, "short") for ids, pct in columns(table)] + [(*PAPER_RATES_COLUMN, "paper")]


def column_names(table: str, prof: dict) -> list[str]:
    """Every column's row label, in the table's order (the rows ``--methods`` may name)."""
    return [column_name(table, prof, *c) for c in _plan(table)]


def base_column(table: str, prof: dict) -> str:
    """The column without ID-AKT at 100%: its final training PSNR sets the steps-to-PSNR
    threshold of every column, so a run of some columns must include it."""
    return column_name(table, prof, 0, 100, "short")


def check_chosen(table: str, prof: dict, chosen) -> set[tuple] | None:
    """``--methods`` of Table 3 or 4 (column labels of :func:`column_names`) -> the chosen
    columns as (ids, pct, rates) (None: every column); raises ValueError in one line for a
    name that is no column, or a choice without the base column (:func:`base_column`)."""
    if not chosen:
        return None
    check_rows(chosen, column_names(table, prof), table)
    base = base_column(table, prof)
    if base not in chosen:
        raise ValueError(f"--methods: {table}'s steps-to-PSNR threshold comes from {base!r}; "
                         "name it too")  # fmt: skip
    return {c for c in _plan(table) if column_name(table, prof, *c) in set(chosen)}


def finetune_methods(
    table: str,
    prof: dict,
    bundles: dict | None,
    folders: dict,
    profile: str,
    run: list[str],
    chosen=None,
) -> list[dict]:
    """One training method per column: its ``table34/*.gin`` with the fine-tune budget, the
    data and the profile's files, the run's bindings (``run``, and the bundle's path), and
    data (its share of frames). bundles None: only the columns that need no bundle; chosen
    (of :func:`check_chosen`): only those columns."""
    setting = "rsdf" if table == "table3" else "er_nerf"
    shared = ["shared/budget_finetune", "shared/data", "profiles/" + profile]
    methods = []
    for ids, pct, rates in _plan(table):
        name = column_name(table, prof, ids, pct, rates)
        if (bundles is None and needs_bundle(ids)) or (
            chosen is not None and (ids, pct, rates) not in chosen
        ):
            continue
        binds = list(run)
        if bare_er_nerf(table, ids):
            row, rates = ("er_nerf", None), None
        elif ids == 0:
            row, rates = ("rsdf", None), None
        else:
            row = (setting, rates)
            binds += run_bindings(bundle=bundles[(setting, prof["ids"][ids])]["path"])
        m = gin_method(name, "table34/" + ROW_CONFIGS[row], *shared,
                       key=f"{ids} ids {pct} {rates}",  # unique: two columns may share a name
                       column=[ids, pct], finetune_rates=rates, data=str(folders[pct]))  # fmt: skip
        methods.append(dict(m, bindings=binds))
    return methods


def uses_rsdf(method: dict) -> bool:
    """True for a column trained with RSDF (its first config is a ``table34/rsdf*`` file)."""
    return Path(method["configs"][0]).name.startswith("rsdf")


def seeded_column(table: str):
    """Which columns ``--seeds`` repeats: Table 3's 100% and 50% columns (the paper's claims:
    10 identities against none at 100%, fewer steps, 0/3/5/10 identities at 50%; not the 25%
    column nor the repeat with the paper's fine-tune rates), every column of Table 4."""
    if table == "table3":
        return lambda m: m["column"][1] in (100, 50) and m["finetune_rates"] != "paper"
    return lambda m: True


def pretrain_jobs(
    table: str, prof: dict, aux: list[Path], chosen=None
) -> list[tuple[str, list[Path]]]:
    """The bundles a table fine-tunes (only those of the ``chosen`` columns when given),
    the most identities (the longest pre-training, its budget being epochs) first, so the
    longest job never starts last in the pool."""
    setting = "rsdf" if table == "table3" else "er_nerf"
    wanted = [c for c in _plan(table) if needs_bundle(c[0]) and (chosen is None or c in chosen)]
    counts = sorted({prof["ids"][c[0]] for c in wanted}, reverse=True)
    return [(setting, aux[:n]) for n in counts]


def _seeded_rows(report: dict) -> str:
    """Which rows of a report give mean ± std: every row, or those listed (rows whose JSON
    holds more than one seed)."""
    rows = report["results"]
    many = [r for r in rows if len(r.get("seeds") or []) > 1]
    if len(many) == len(rows):
        return "Every row"

    def label(ids, pct) -> str:
        return f"ER-NeRF {pct}%" if bare_er_nerf(report.get("table"), ids) else f"{ids} ids {pct}%"

    return "The rows " + ", ".join(label(*r["column"]) for r in many)


def _data_sentence(report: dict) -> str:
    p = report["settings"]
    if report.get("studio", True):
        return (
            f"Fine-tune identity 0 ({p['size']} px, {p['seconds']:.0f} s; its val split for "
            f"every column); auxiliary identities 1.. ({p['aux_seconds']:.0f} s each); "
        )
    return (
        f"Fine-tune folder `{report['data']}` (its val split for every column; no ground "
        f"truth, so the studio's mouth/eye errors and lip sync are n/a); pre-training on "
        f"{report['pretrain_label']}; "
    )


def _epochs(settings: dict) -> str:
    """The profile's pre-training budget in epochs (older reports: steps, shown as such)."""
    if "pretrain_epochs" in settings:
        return f"{settings['pretrain_epochs']:g}"
    return f"n/a ({settings.get('pretrain')} steps)"


def _bundle_steps(report: dict) -> str:
    """Steps of each bundle, e.g. "rsdf_2ids: 44, rsdf_1ids: 22"."""
    bundles = report.get("bundles", {})
    parts = [f"{k}: {b['steps']}" for k, b in bundles.items() if b.get("steps") is not None]
    return ", ".join(parts) or "n/a"


def markdown(report: dict) -> str:
    t, p, m = report["table"], report["settings"], report["machine"]
    title = {"table3": "Table 3: ID-AKT (RSDF model)", "table4": "Table 4: ID-AKT on ER-NeRF"}[t]
    lines = [
        f"# LokiTalk {title} on {report.get('data_label', 'the studio')} "
        f"({report['profile']} profile)",
        "",
        f"`{report['command']}` at commit `{report['commit'][:12]}`. "
        + _data_sentence(report)
        + f"pre-training {_epochs(p)} epochs ({_bundle_steps(report)} steps), "
        f"fine-tuning {p['finetune']} head + {p['lips']} lips steps, {p['rays']} rays; "
        f"{m['jobs_in_parallel']} jobs at a time, one thread each, {m['cpu_count']} cores "
        f"({m['platform']}); load {report['load_at_start']} at start. Fine-tuning from a "
        "bundle: `idakt_finetune_short.gin` (the backbone's own rates and decay for the shared "
        "model, identity embeddings at 1e-3)"
        + (
            "; the last row repeats a column with the paper's fine-tune rates "
            "(`idakt_finetune.gin`: embeddings 1e-3 -> 1e-4, the rest 1e-4 -> 1e-5)."
            if any(r.get("finetune_rates") == "paper" for r in report["results"])
            else "."
        ),
        "",
        "| pre-train ids (paper) | ids here | fine-tune data | PSNR ↑ | LPIPS ↓ | LMD ↓ "
        f"| {SYNC_HEADER} | mouth err ↓ | eye err ↓ | steps to "
        f"{report['psnr_threshold']:.1f} dB | fine-tune (min) | pre-train (min) "
        "| paper LMD / Sync / PSNR / LPIPS |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["results"]:
        x = r["metrics"]
        ids, pct = r["column"]
        paper = PAPER[t].get((ids, pct), ("not in the paper",))
        pre = x.get("pretrain_minutes")
        label = rates_label(r.get("finetune_rates"))
        lines.append(
            f"| {ids}{label} | {r['ids_here']} | {pct}% | {cell(r, 'psnr')} "
            f"| {cell(r, 'lpips', 3)} | {cell(r, 'lmd')} | {row_sync_cell(r)} "
            f"| {cell(r, 'mouth_error')} "
            f"| {cell(r, 'eye_error')} | {cell(r, 'steps_to_psnr', 0)} | {x['train_minutes']:.1f} "
            f"| {fmt(pre, 1)} | {' / '.join(str(v) for v in paper)} |"
        )
    lines += reference_lines(report.get("references", []), 13, 6)
    if t == "table3":
        lines += f_a_note(report, "the RSDF columns (pre-training and fine-tuning)")
    lines += seeds_note(report, _seeded_rows(report) + " (the fine-tune; one pre-trained bundle "
                        "per identity count)")  # fmt: skip
    lines += [
        "",
        "LPIPS is n/a without AlexNet weights. Sync: confidence and offset of metrics.sync "
        "(fixed mouth window, ±15 frames); the italic rows are its ceiling and floor on these "
        "val frames; the paper's Sync is SyncNet's. Steps to the PSNR: the first "
        "logged head step whose training PSNR (mean of 3 logs) reaches the threshold, "
        "the final training PSNR of the column without ID-AKT at 100% minus 1 dB. "
        "Pre-train minutes: wall time of the bundle's pre-training (cached bundles keep "
        "the time of the run that made them).",
        "",
        lmd_note(report),
        "",
    ]
    return "\n".join(lines)


__all__ += [
    "base_column",
    "check_chosen",
    "column_name",
    "column_names",
    "needs_bundle",
    "pretrain_jobs",
    "PRETRAIN_CONFIGS",
    "seeded_column",
    "uses_rsdf",
]
