"""LokiTalk's quantitative claims (Tables 1-4, Fig. 5, the overhead, fine-tune steps), one
registered judge each, reading the result JSONs ``table1`` .. ``table4`` and
``render_overhead``. Importing this module registers them."""

from __future__ import annotations

from .core import (
    FAILS,
    Pair,
    Sample,
    Verdict,
    claim,
    compare,
    explained,
    noted,
    paired_difference,
    paired_within,
    region_note,
    row_sample,
    sample,
    seed_by_seed,
    seed_values,
    sync_note,
    threshold,
)

__all__ = ["ID_AKT_CLAIMS", "METHOD_CLAIMS", "OVERHEAD_LIMIT", "REGION_SHARES", "SHARE_LIMIT"]

SRC = "LokiTalk"
SHARE_LIMIT = 0.5  # issue 14: each region share at least 0.5
OVERHEAD_LIMIT = 1.25  # issue 14: per-sample overhead at inference at most 1.25x
# Fig. 5 share -> what it measures (keys of ``metrics.region_shares`` in table2's rows)
REGION_SHARES = {
    "att_lip": "Σ att_lip inside the lips",
    "att_eye": "Σ att_eye inside the eyes",
    "dx_face": "Σ‖Δx_face‖ inside the face",
    "dx_torso": "Σ‖Δx_torso‖ inside torso and neck",
}


def _method(name):
    return lambda r: r.get("method") == name


def _column(ids, pct):
    return lambda r: r.get("column") == [ids, pct] and r.get("finetune_rates") != "paper"


def _pair(table, a, b, metric, higher, margin=0.0):
    def judge(reports):
        r = reports.get(table)
        sa, sb = sample(r, _method(a), metric, a), sample(r, _method(b), metric, b)
        v = compare(sa, sb, higher, margin)
        if metric == "sync_conf":
            return noted(v, sync_note(r, sa, sb, (_method(a), _method(b))))
        return _with_fit(v, r, a, b) if metric == "psnr" else v

    return judge


def _with_fit(v: Verdict, report, a: str, b: str) -> Verdict:
    """A PSNR verdict with the rows' PSNR on their own training frames (``fit_psnr``, when the
    report has it) as a note: a method that fits its training frames better but scores lower
    on the val frames loses in the step to unseen audio and poses, not in the fit."""
    fa, fb = (sample(report, _method(m), "fit_psnr", m) for m in (a, b))
    notes = [f"PSNR on train frames {fa.text(2)} vs {fb.text(2)}"] if fa.n and fb.n else []
    regions = region_note(report, a, b)
    if regions:
        notes.append(regions)
    if not notes:
        return v
    note = "; ".join(notes)
    return Verdict(v.measured, v.verdict, f"{v.cause}; {note}" if v.cause else note)


# id, table, claim (paper's numbers), better method, worse method, metric, higher is better
METHOD_CLAIMS = [
    ("t1_psnr_er", "table1", "LokiTalk PSNR above ER-NeRF (33.744 vs 32.506 dB)",
     "LokiTalk", "ER-NeRF", "psnr", True),
    ("t1_psnr_rad", "table1", "LokiTalk PSNR above RAD-NeRF (33.744 vs 31.510 dB)",
     "LokiTalk", "RAD-NeRF", "psnr", True),
    ("t1_lmd", "table1", "LokiTalk LMD below ER-NeRF (2.732 vs 2.917)",
     "LokiTalk", "ER-NeRF", "lmd", False),
    ("t1_sync", "table1", "LokiTalk sync confidence above ER-NeRF (5.736 vs 4.944)",
     "LokiTalk", "ER-NeRF", "sync_conf", True),
    ("t2_d", "table2", "O+D PSNR above O (29.203 vs 28.125 dB)", "O+D", "O", "psnr", True),
    ("t2_r", "table2", "O+D+R PSNR above O+D (30.464 vs 29.203 dB)",
     "O+D+R", "O+D", "psnr", True),
    ("t2_lmd", "table2", "O+D+R LMD below O (3.132 vs 3.592)", "O+D+R", "O", "lmd", False),
    ("t2_sync", "table2", "O+D+R sync confidence above O (5.423 vs 3.410)",
     "O+D+R", "O", "sync_conf", True),
]  # fmt: skip
# Table 2's claims take their ablations from Table 2 and from runs of some of its rows
# (run.py table2 --methods ... --ablations --out <folder>): the fixes of issue 14 measured
# one at a time beside O+D+R, the cap of samples a ray lifted (table2_cap), and the static
# canonical field alone, its deformation never trained (table2_static_path), and the rows with
# the alpha-entropy term 100x stronger (table2_alpha_entropy)
T2_RUNS = (
    "table2",
    "table2_fixes/table2",
    "table2_cap/table2",
    "table2_static_path/table2",
    "table2_alpha_entropy/table2",
)
for _id, _table, _text, _a, _b, _metric, _higher in METHOD_CLAIMS:
    _tables = T2_RUNS if _table == "table2" else ()
    claim(_id, f"{SRC} Table {_table[-1]}", _text, tables=_tables,
          pair=Pair(_table, _a, _b, _metric, _higher))(
        _pair(_table, _a, _b, _metric, _higher))  # fmt: skip

# issue 14's targets on the default profile: margins in dB of PSNR
claim("t1_target", "issue 14 target, Table 1",
      "LokiTalk PSNR at least ER-NeRF + 0.5 dB (paper: +1.24 dB)",
      pair=Pair("table1", "LokiTalk", "ER-NeRF"))(
    _pair("table1", "LokiTalk", "ER-NeRF", "psnr", True, 0.5))  # fmt: skip
claim("t2_target", "issue 14 target, Table 2",
      "O+D+R PSNR at least O + 1 dB (paper: +2.34 dB)", tables=T2_RUNS,
      pair=Pair("table2", "O+D+R", "O"))(
    _pair("table2", "O+D+R", "O", "psnr", True, 1.0))  # fmt: skip

# Table 2's claims again with the cap of occupied samples a ray lifted to 32 for every row
# (its ablation rows "O, 32 samples a ray", ... of table2.json; the cap is why the torso field
# moves the head per pose: table2_cap, field_knockout_samples32): ids ending in "_32"
CAP32 = ", 32 samples a ray"
for _id, _table, _text, _a, _b, _metric, _higher in METHOD_CLAIMS:
    if _table == "table2" and _metric == "psnr":
        claim(f"{_id}_32", f"{SRC} Table 2, every row with 32 samples a ray", _text,
              cause_id=_id, pair=Pair("table2", _a + CAP32, _b + CAP32, _metric, _higher))(
            _pair("table2", _a + CAP32, _b + CAP32, _metric, _higher))  # fmt: skip
claim("t2_target_32", "issue 14 target, Table 2, every row with 32 samples a ray",
      "O+D+R PSNR at least O + 1 dB (paper: +2.34 dB)", cause_id="t2_target",
      pair=Pair("table2", "O+D+R" + CAP32, "O" + CAP32))(
    _pair("table2", "O+D+R" + CAP32, "O" + CAP32, "psnr", True, 1.0))  # fmt: skip

# Table 1's PSNR claims with LokiTalk's λ_α (eq. 10-12; the paper gives no value) at 1e-2
# instead of the originals' 1e-4 (table1_alpha_entropy's ablation row 'LokiTalk, alpha entropy
# 1e-2'), against the baselines as their official code trains them, as the paper compares;
# the run's 'ER-NeRF, alpha entropy 1e-2' row says whether the term helps the baseline too
T1_ENTROPY = "table1_alpha_entropy/table1"
claim("t1_psnr_er_entropy", f"{SRC} Table 1, LokiTalk with λ_α 1e-2",
      "LokiTalk PSNR above ER-NeRF (33.744 vs 32.506 dB)", cause_id="t1_psnr_er",
      tables=(T1_ENTROPY,), pair=Pair(T1_ENTROPY, "LokiTalk, alpha entropy 1e-2", "ER-NeRF"))(
    _pair(T1_ENTROPY, "LokiTalk, alpha entropy 1e-2", "ER-NeRF", "psnr", True))  # fmt: skip
claim("t1_target_entropy", "issue 14 target, Table 1, LokiTalk with λ_α 1e-2",
      "LokiTalk PSNR at least ER-NeRF + 0.5 dB (paper: +1.24 dB)", cause_id="t1_target",
      tables=(T1_ENTROPY,), pair=Pair(T1_ENTROPY, "LokiTalk, alpha entropy 1e-2", "ER-NeRF"))(
    _pair(T1_ENTROPY, "LokiTalk, alpha entropy 1e-2", "ER-NeRF", "psnr", True, 0.5))  # fmt: skip

# issue 14's target with the alpha-entropy term 100x stronger in both rows (λ_α 1e-4 -> 1e-2,
# TalkingHeadSystem.entropy_weight; table2_alpha_entropy's ablation rows): the static
# canonical field goes translucent over the face at 16 samples a ray without it, and O is
# measured with the same term, so the plug-ins are judged on one recipe
ENTROPY, ENTROPY_ROW = "table2_alpha_entropy/table2", ", alpha entropy 1e-2"
claim("t2_target_entropy", "issue 14 target, Table 2, every row with λ_α 1e-2",
      "O+D+R PSNR at least O + 1 dB (paper: +2.34 dB)", cause_id="t2_target",
      tables=(ENTROPY,), pair=Pair(ENTROPY, "O+D+R" + ENTROPY_ROW, "O" + ENTROPY_ROW))(
    _pair(ENTROPY, "O+D+R" + ENTROPY_ROW, "O" + ENTROPY_ROW, "psnr", True, 1.0))  # fmt: skip

# issue 14's target with the cap of occupied samples a ray following the rays it cuts short
# up to 32 (configs/sample_cap.gin, SampleCap.limit = 32; table2_sample_cap's ablation row
# "O+D+R, cap follows cut_short up to 32"): a sharp field keeps 16 samples, so O keeps the
# originals' cap and is the row to beat
FOLLOW, FOLLOW_ROW = "table2_sample_cap/table2", "O+D+R, cap follows cut_short up to 32"
claim("t2_target_follow", "issue 14 target, Table 2, the cap following cut_short up to 32",
      "O+D+R PSNR at least O + 1 dB (paper: +2.34 dB)", cause_id="t2_target", tables=(FOLLOW,),
      pair=Pair(FOLLOW, FOLLOW_ROW, "O"))(
    _pair(FOLLOW, FOLLOW_ROW, "O", "psnr", True, 1.0))  # fmt: skip

# Table 2 again with RAD-NeRF as the backbone (``run.py table2 --backbone rad_nerf``; the paper's
# O is "like RAD-NeRF"): the same claims, ids ending in "_rad", explained by that file's
# ablation rows (which name the ER-NeRF claims' ids)
RAD = "table2_rad_nerf"
for _id, _table, _text, _a, _b, _metric, _higher in METHOD_CLAIMS:
    if _table == "table2":
        claim(f"{_id}_rad", f"{SRC} Table 2, RAD-NeRF backbone", _text, cause_id=_id,
              tables=(RAD,), pair=Pair(RAD, _a, _b, _metric, _higher))(
            _pair(RAD, _a, _b, _metric, _higher))  # fmt: skip
claim("t2_target_rad", "issue 14 target, Table 2, RAD-NeRF backbone",
      "O+D+R PSNR at least O + 1 dB (paper: +2.34 dB)", cause_id="t2_target", tables=(RAD,),
      pair=Pair(RAD, "O+D+R", "O"))(
    _pair(RAD, "O+D+R", "O", "psnr", True, 1.0))  # fmt: skip


# issue 18: bf16 autocast becomes the CPU default only within 0.2 dB of float32 on a
# default-profile table (run.py table2 --methods O+D+R "O+D+R, bf16" --ablations --seeds 3
# --out <folder>, the folder named table2_bf16)
BF16 = "table2_bf16/table2"
# the backbone alone under bf16, the deformation field in float32 (run.py table2 --methods
# "O+D+R, bf16 backbone" --ablations --ablation-seeds 3 on table2_bf16's folder, another
# report: judged against table2_bf16's float32 O+D+R)
BF16_BACKBONE = "table2_bf16_backbone/table2"


def _within(table: str, a: str, b: str):
    """Judge: row ``a`` (a setting: bf16, another refresh) within 0.2 dB PSNR of row ``b`` of
    report ``table``, paired seed by seed (``paired_within``), with both rows' PSNR on their
    training frames and by region beside it."""

    def judge(reports):
        r = reports.get(table)
        return _with_fit(paired_within(r, _method(a), r, _method(b), a, b), r, a, b)

    return judge


def _bf16_quality(reports) -> Verdict:
    """bf16_quality's verdict; a miss explained by :data:`BF16_STEPS` where their reports give
    every seed of both rows."""
    v = _within(BF16, "O+D+R, bf16", "O+D+R")(reports)
    lost = (sample(reports.get(BF16), _method("O+D+R, bf16"), "psnr", "bf16").mean
            - sample(reports.get(BF16), _method("O+D+R"), "psnr", "float32").mean)  # fmt: skip
    found = []
    for stem, row, base, what in BF16_STEPS:
        a = sample(reports.get(stem), _method(row), "psnr", row)
        b = sample(reports.get(base), _method("O+D+R"), "psnr", "O+D+R")
        if a.n == b.n > 1:
            found.append(f"{what}: {a.mean - b.mean:+.2f} dB, {seed_by_seed(a, b)}"
                         + _won_back(a.mean - b.mean, lost))  # fmt: skip
    if not found:
        return v
    return explained(v, "where the loss goes, each against float32 O+D+R over the same seeds: "
                        + "; ".join(found))  # fmt: skip


def _won_back(step: float, lost: float) -> str:
    """What a change wins back of bf16_quality's loss ``lost`` (dB, negative) when it leaves
    ``step`` (dB against float32); "" when bf16 lost nothing to win back (or no report)."""
    if not lost < 0:  # NaN without the report, or no loss
        return ""
    share = 1 - step / lost
    said = f"; it wins back {share:.0%} of the {lost:+.2f} dB"
    return said + (": little of the loss is what it changes" if share < 0.25 else "")


def _start_cause(judge, why: str):
    """``judge`` with a miss explained by the float32-start schedule (bf16_quality_start's row,
    against the same float32 O+D+R): ``why`` (what the missing row runs under bf16 that the
    schedule does not), then the schedule's paired difference over the seeds both ran."""

    def wrapped(reports) -> Verdict:
        v = judge(reports)
        common, d = paired_difference(
            seed_values(reports.get(BF16_START), _method(START_ROW), "psnr"),
            seed_values(reports.get(FAST_UPKEEP), _method("O+D+R"), "psnr"))  # fmt: skip
        if v.verdict != FAILS or len(common) < 2:
            return v
        return explained(v, f"{why}; with float32 rays and the first 1/4 of each stage in "
                            f"float32 (Trainer.amp_from 0.25) the loss is {d.mean:+.2f} ± "
                            f"{d.std:.2f} dB over seeds {', '.join(map(str, common))} "
                            "(bf16_quality_start)")  # fmt: skip

    return wrapped


BEFORE_RAYS = ("its rows predate render.exact_geometry (4dcb944): their rays, camera offset and "
               "anchors were bfloat16, and every step ran under bf16")  # fmt: skip
claim("bf16_quality", "issue 18 target, bf16 as the CPU default",
      "O+D+R trained under bf16 autocast within 0.2 dB PSNR of float32 (Table 2, default "
      "profile)", tables=(BF16,))(_bf16_quality)  # fmt: skip

# the same with 32 samples a ray (run.py table2 --methods O+D+R 'O+D+R, 32 samples a ray'
# 'O+D+R, 32 samples a ray, bf16' --ablations --ablation-seeds 3, the folder table2_cap_bf16)
BF16_CAP = "table2_cap_bf16/table2"
claim("bf16_quality_32", "issue 18 target, bf16 as the CPU default",
      "O+D+R with 32 samples a ray trained under bf16 autocast within 0.2 dB PSNR of float32 "
      "(Table 2, default profile)", tables=(BF16_CAP,))(
    _start_cause(_within(BF16_CAP, "O+D+R, 32 samples a ray, bf16", "O+D+R, 32 samples a ray"),
                 BEFORE_RAYS))  # fmt: skip
claim("bf16_quality_o", "issue 18 target, bf16 as the CPU default",
      "O (the bare backbone) trained under bf16 autocast within 0.2 dB PSNR of float32 (Table "
      "2, default profile)", tables=(BF16,))(
    _within(BF16, "O, bf16", "O"))  # fmt: skip


def _against_float32(stem: str, row: str, base_stem: str):
    """Judge: ``row`` of report ``stem`` within 0.2 dB PSNR of the float32 O+D+R of report
    ``base_stem`` (another report of the same float32 code), paired seed by seed
    (``paired_within``: the same initialisation, frames and rays). Noted beside the verdict: the
    PSNR on the training frames of both."""

    def judge(reports):
        v = paired_within(reports.get(stem), _method(row), reports.get(base_stem),
                          _method("O+D+R"), row, f"O+D+R ({base_stem})")  # fmt: skip
        fa = sample(reports.get(stem), _method(row), "fit_psnr", row)
        fb = sample(reports.get(base_stem), _method("O+D+R"), "fit_psnr", "O+D+R")
        notes = [f"PSNR on train frames {fa.text(2)} vs {fb.text(2)}"] if fa.n and fb.n else []
        return noted(v, "; ".join(notes))

    return judge


_bf16_backbone = _start_cause(_against_float32(BF16_BACKBONE, "O+D+R, bf16 backbone", BF16),
                              BEFORE_RAYS)  # fmt: skip
claim("bf16_quality_backbone", "issue 18 target, bf16 as the CPU default",
      "O+D+R with the backbone under bf16 autocast and the deformation field in float32 "
      "(wrap.plugins_float32) within 0.2 dB PSNR of float32 (Table 2, default profile)",
      tables=(BF16_BACKBONE,))(_bf16_backbone)  # fmt: skip

# bf16 again once the rays, camera offset and anchors stay float32 under the autocast
# (render.exact_geometry, 4dcb944: run.py table2 --methods O+D+R 'O+D+R, bf16' --ablations
# --seeds 1 --ablation-seeds 3, the folder table2_bf16_rays), judged against the float32 O+D+R
# of table2_fast_upkeep (3 seeds, de46cdd; the float32 path is the same code: seed 0 gives the
# same PSNR to the last digit in both reports)
BF16_RAYS = "table2_bf16_rays/table2"
FAST_UPKEEP = "table2_fast_upkeep/table2"
_bf16_rays = _start_cause(_against_float32(BF16_RAYS, "O+D+R, bf16", FAST_UPKEEP),
                          "the first 1/4 of each stage ran under bf16 too")  # fmt: skip
# the same with the backbone's density output layer in float32 (TalkingHeadSystem.float32_layers;
# run.py table2 --methods O+D+R 'O+D+R, bf16, density float32' --ablations --seeds 1
# --ablation-seeds 3 at 440b546, the folder table2_bf16_density)
BF16_DENSITY = "table2_bf16_density/table2"
_bf16_density = _against_float32(BF16_DENSITY, "O+D+R, bf16, density float32", FAST_UPKEEP)
# a precision schedule: bf16 for the first 3/4 of each stage, float32 for the rest
# (Trainer.amp_until 0.75; run.py table2 --methods O+D+R 'O+D+R, bf16, float32 finish'
# --ablations --seeds 1 --ablation-seeds 3 at 3b51b74, the folder table2_bf16_finish)
BF16_FINISH = "table2_bf16_finish/table2"
_bf16_finish = _against_float32(BF16_FINISH, "O+D+R, bf16, float32 finish", FAST_UPKEEP)
# the other way round: float32 for the first 1/4 of each stage, bf16 after (Trainer.amp_from
# 0.25; run.py table2 --methods O+D+R 'O+D+R, float32 start, bf16' --ablations --seeds 1
# --ablation-seeds 3 --parallel 1 at b819ddc, the folder table2_bf16_start)
BF16_START = "table2_bf16_start/table2"
START_ROW = "O+D+R, float32 start, bf16"
_bf16_start_odr = _against_float32(BF16_START, START_ROW, FAST_UPKEEP)
# the same schedule on Table 2's other rows and on RAD-NeRF, seed 0, each beside its float32 row
# in one run (run.py table2 --methods O O+D 'O, float32 start, bf16' 'O+D, float32 start, bf16'
# --ablations --parallel 1 at 8b19dfb; --backbone rad_nerf --methods O+D+R 'O+D+R, float32
# start, bf16' at 8b19dfb): (report, row, its float32 row, label)
START_ROWS = "table2_bf16_start_rows/table2"
START_RAD = "table2_bf16_start_rad_nerf/table2_rad_nerf"
START_ELSEWHERE = (
    (START_ROWS, "O", "ER-NeRF O"),
    (START_ROWS, "O+D", "ER-NeRF O+D"),
    (START_RAD, "O+D+R", "RAD-NeRF O+D+R"),
)  # fmt: skip


def _bf16_start(reports) -> Verdict:
    """bf16_quality_start's verdict, noted with :data:`START_ELSEWHERE`: each row's PSNR and
    training minutes against its float32 row."""
    v = _bf16_start_odr(reports)
    found = []
    for stem, row, label in START_ELSEWHERE:
        r, bf16 = reports.get(stem), f"{row}, float32 start, bf16"
        a, b = sample(r, _method(bf16), "psnr", bf16), sample(r, _method(row), "psnr", row)
        ta = row_sample(r, _method(bf16), "train_seconds", "", scale=1 / 60)
        tb = row_sample(r, _method(row), "train_seconds", "", scale=1 / 60)
        if a.n == b.n == 1 and ta.n == tb.n == 1:
            found.append(f"{label} {a.mean - b.mean:+.2f} dB, trained in {ta.mean:.1f} "
                         f"against {tb.mean:.1f} min")  # fmt: skip
    if not found:
        return v
    return noted(v, "the same schedule elsewhere, seed 0 beside its float32 row in one run: "
                    + "; ".join(found), on_hold=True)  # fmt: skip


# issue 18: configs/fast_upkeep.gin becomes the default refresh only within 0.2 dB of the tables'
# refresh with a deformation plug-in (run.py table2 --methods O+D+R 'O+D+R, fast upkeep'
# --ablations --seeds 3 --ablation-seeds 3, the folder table2_fast_upkeep)
claim("fast_upkeep_quality", "issue 18 target, the faster occupancy refresh as the default",
      "O+D+R trained with configs/fast_upkeep.gin's refresh within 0.2 dB PSNR of the tables' "
      "refresh (Table 2, default profile)", tables=(FAST_UPKEEP,))(
    _within(FAST_UPKEEP, "O+D+R, fast upkeep", "O+D+R"))  # fmt: skip
# the same refresh every 16 steps with no cell outside the ray-marching box refreshed
# (GridUpkeep.box_only; gin-configs/table2/ablations/fast_upkeep_every16.gin): as fast as
# fast_upkeep.gin with RSDF at the 128^3 grid (train_speed_box_er_nerf_odr.md, seed 0); run.py
# table2 --methods O+D+R 'O+D+R, fast upkeep every 16' --ablations --seeds 6 --ablation-seeds 6
# --resume (6 seeds since 2026-12-07; the first three from the 3-seed run)
FAST_UPKEEP_16 = "table2_fast_upkeep16/table2"
claim("fast_upkeep16_quality", "issue 18 target, the faster occupancy refresh as the default",
      "O+D+R trained with configs/fast_upkeep.gin's refresh every 16 steps and no cell outside "
      "the ray-marching box refreshed within 0.2 dB PSNR of the tables' refresh (Table 2, "
      "default profile)", tables=(FAST_UPKEEP_16,))(
    _within(FAST_UPKEEP_16, "O+D+R, fast upkeep every 16", "O+D+R"))  # fmt: skip
# that refresh with the deformed refresh on the lattice (GridUpkeep.deformed_lattice = 33;
# gin-configs/table2/ablations/fast_upkeep_every16_lattice.gin): RSDF from 33^3 vertices and
# the canonical density on the lattice (train_speed_deformed_lattice_er_nerf_odr.md); run.py
# table2 --methods O+D+R 'O+D+R, fast upkeep every 16, deformed lattice' --ablations
FAST_UPKEEP_16_LATTICE = "table2_fast_upkeep16_lattice/table2"
claim("fast_upkeep16_lattice_quality", "issue 18 target, the faster occupancy refresh",
      "O+D+R trained with the every-16 fast refresh and the deformed refresh on the lattice "
      "within 0.2 dB PSNR of the tables' refresh (Table 2, default profile)",
      tables=(FAST_UPKEEP_16_LATTICE,))(
    _within(FAST_UPKEEP_16_LATTICE, "O+D+R, fast upkeep every 16, deformed lattice",
            "O+D+R"))  # fmt: skip
claim("bf16_quality_rays", "issue 18 target, bf16 as the CPU default",
      "O+D+R trained under bf16 autocast with float32 rays within 0.2 dB PSNR of float32 "
      "(Table 2, default profile)", tables=(BF16_RAYS,))(_bf16_rays)  # fmt: skip
claim("bf16_quality_density", "issue 18 target, bf16 as the CPU default",
      "O+D+R trained under bf16 autocast with float32 rays and the backbone's density output in "
      "float32 within 0.2 dB PSNR of float32 (Table 2, default profile)",
      tables=(BF16_DENSITY,))(_bf16_density)  # fmt: skip
claim("bf16_quality_finish", "issue 18 target, bf16 as the CPU default",
      "O+D+R trained under bf16 autocast for the first 3/4 of each stage and in float32 for the "
      "last 1/4 (Trainer.amp_until 0.75) within 0.2 dB PSNR of float32 (Table 2, default "
      "profile)", tables=(BF16_FINISH,))(_bf16_finish)  # fmt: skip
# where bf16_quality's loss goes, measured one change at a time (each row against float32 O+D+R
# over the same seeds): (report, bf16 row, report of its float32 O+D+R, what the row changes)
BF16_STEPS = (
    (BF16_RAYS, "O+D+R, bf16", FAST_UPKEEP,
     "the rays, camera offset and anchors float32 under the autocast (render.exact_geometry, "
     "4dcb944; this claim's rows predate it: their rays were bfloat16)"),
    (BF16_START, "O+D+R, float32 start, bf16", FAST_UPKEEP,
     "with those, the first 1/4 of each stage in float32 too (Trainer.amp_from 0.25)"),
    (BF16_BACKBONE, "O+D+R, bf16 backbone", BF16,
     "before 4dcb944, the deformation field in float32, the rest under bf16 "
     "(wrap.plugins_float32)"),
)  # fmt: skip


claim("bf16_quality_start", "issue 18 target, bf16 as the CPU default",
      "O+D+R trained in float32 for the first 1/4 of each stage and under bf16 autocast for the "
      "last 3/4 (Trainer.amp_from 0.25) within 0.2 dB PSNR of float32 (Table 2, default "
      "profile)", tables=(BF16_START,))(_bf16_start)  # fmt: skip


# Fig. 5 share -> (the cause whose change the map should follow, the region's name), as in
# benchmarks/fig5_truth.py
SHARE_CAUSE = {"att_lip": ("the mouth", "lips"), "att_eye": ("the eyes", "eyes"),
               "dx_face": ("mouth and eyes", "face"),
               "dx_torso": ("the torso against the head", "torso and neck")}  # fmt: skip


def _pm(x: dict, digits: int = 2) -> str:
    """A summary cell {"mean", "std"} (a fig5_truth or field_knockout summary) as "m ± s",
    "m" without a std, "n/a" without a mean."""
    if x["mean"] is None:
        return "n/a"
    return f"{x['mean']:.{digits}f}" + ("" if x["std"] is None else f" ± {x['std']:.{digits}f}")


def _torso_size(report: dict | None) -> str:
    """The torso field's size beside its cause in a fig5_truth run: the learned ‖Δx_torso‖ on
    the torso and neck against how far the torso moves in the head's frame; "" for a run
    from before fig5_truth measured it."""
    off = ((report or {}).get("summary") or {}).get("torso_offset")
    need = ((report or {}).get("signals") or {}).get("torso_motion")
    if not off or not need or off["torso_neck"]["mean"] is None:
        return ""

    def cell(x):
        return _pm(x, 3)

    t = off["torso_neck"]
    ratio = t["mean"] / need["median"]
    r2 = need.get("pose_r2")
    said = (f"; a linear read-out from the frame's head pose predicts R² {r2:.2f} of that motion"
            if r2 is not None else "")  # fmt: skip
    return (f"‖Δx_torso‖ averages {cell(t)} on the torso and neck ({ratio:.2f}x "
            f"the median {need['median']:.3f} the torso moves against the head) and "
            f"{cell(off['head'])} on the head{said}")  # fmt: skip


def _dynamic_share(report: dict | None) -> str:
    """The torso field's pose-dependent part in a fig5_truth run (Σ‖Δx_torso − Δx̄_torso‖,
    Δx̄_torso its average over poses at each point): its share inside torso and neck; "" for a
    run from before fig5_truth measured it."""
    s = ((report or {}).get("summary") or {}).get("dx_torso_dynamic")
    if not s or s["map_share_label"]["mean"] is None:
        return ""
    share = _pm(s["map_share_label"])
    return (f"its pose-dependent part (Σ‖Δx_torso − Δx̄_torso‖, Δx̄_torso its average over "
            f"poses at each point) lies {share} inside torso and neck")  # fmt: skip


def _truth_cause(report: dict | None, key: str) -> str:
    """The studio's truth about a share (``fig5_truth.json``): where the map's cause changes
    the picture, and how much of the map lies there; "" without the file."""
    s = ((report or {}).get("summary") or {}).get(key)
    if not s or s["truth_share_label"]["mean"] is None:
        return ""

    def cell(stat):
        return _pm(s[stat])

    cause, region = SHARE_CAUSE[key]
    n = len(report.get("workspaces", ()))
    g = report.get("signals") or {}
    often = ""
    if key == "att_eye" and g:
        often = (
            f"; the eyes close in {g['eyes_closed_frames']:.1%} of the frames "
            f"({g['blinks']} blinks) and cover {g['eyes_pixels']:.2%} of the pixels"
        )
    if key == "dx_torso":
        often = "; ".join(t for t in (_torso_size(report), _dynamic_share(report)) if t)
        often = f"; {often}" if often else ""
    return (f"fig5_truth ({n} seed(s)), studio re-rendered with {cause} changed: "
            f"{cell('truth_share_label')} of the change it makes lies inside the {region} "
            f"region (a map that follows it exactly scores that); the map holds "
            f"{cell('map_share_support')} inside the pixels carrying 90% of that change, "
            f"where an even map would hold {cell('support_area')}{often}")  # fmt: skip


# the isolating ablations of a missed Fig. 5 share, each a fig5_truth run (--tag) on the
# workspaces of Table 2's O+D+R with one cause changed: stem -> (the share it speaks to, what
# it isolates, the setting, whether the clip's blink frequency belongs in the quote)
# - a studio whose eyes close often (run.py table2 --studio-blinks 0.5 1.5 --methods O+D+R
#   --seeds 3, then fig5_truth.py --tag blinks0.5-1.5): does att_eye follow the eyes once the
#   data asks it to?
# - the ablation rows of run.py table2 --methods ROW --ablations --ablation-seeds 3 (ROW:
#   'O+D+R, eye value from AU45', 'O+D+R, eyes weighted 50x' and '... 10x', 'O+D+R, torso
#   without the cascade'), then fig5_truth.py --method ROW --tag eye_au45|eye_weight|
#   eye_weight_10|torso_no_cascade
# - a studio whose torso follows the head half the way (run.py table2 --studio-torso-follow
#   0.5 --methods O+D+R --seeds 3, then fig5_truth.py --tag torso0.5): does the torso field
#   reach the torso's motion once there is half as much of it?
# - 'O+D+R, head pose standardised' (--ablations, RSDF.pose_norm), then fig5_truth.py --method
#   ROW --tag pose_norm: does the torso field follow the pose once F_h varies at unit scale?
# - a studio whose key light is attached to the head (run.py table2 --studio-light-frame head
#   --methods O+D+R --seeds 3, then fig5_truth.py --tag headlight and field_knockout.py --out
#   results/field_knockout_headlight): is the torso field's offset on the head there for the
#   head's shading, which changes with the pose under the camera's light?
FIG5_BLINKS = "fig5_truth_blinks0.5-1.5"
FIG5_RUNS = {
    FIG5_BLINKS: ("att_eye", "how often the eyes close",
                  "O+D+R on the studio with blinks 0.5-1.5 s apart", True),
    "fig5_truth_eye_au45": ("att_eye", "the eye value's encoding",
                            "O+D+R with F_e from AU45, 0 open .. 1 closed, instead of the "
                            "landmarks' aspect ratio, about 0.6 open and 0 closed", False),
    "fig5_truth_eye_weight": ("att_eye", "the eyes' share of the colour loss",
                              "O+D+R with the eyes weighted 50x instead of 2x", False),
    "fig5_truth_eye_weight_10": ("att_eye", "the eyes' share of the colour loss, a dose point",
                                 "O+D+R with the eyes weighted 10x instead of 2x", False),
    "fig5_truth_torso_no_cascade": ("dx_torso", "the face-to-torso cascade",
                                    "O+D+R with zeros in place of Δx_face at the torso "
                                    "field's input", False),
    "fig5_truth_torso0.5": ("dx_torso", "the size of the torso's motion against the head",
                            "O+D+R on the studio with the torso following the head half the way",
                            False),
    "fig5_truth_pose_norm": ("dx_torso", "the head pose's scale at the torso field's input",
                             "O+D+R with F_h standardised by the training frames' mean and std",
                             False),
    "fig5_truth_headlight": ("dx_torso", "the head's shading changing with its pose",
                             "O+D+R on the studio with the key light attached to the head", False),
    "fig5_truth_samples32": ("dx_torso", "the cap of occupied samples a ray",
                             "Table 2's 'O+D+R, 32 samples a ray' (16 -> 32, in training and at "
                             "inference)", False),
    "fig5_truth_uncapped": ("dx_torso", "the cap of occupied samples a ray",
                            "Table 2's 'O+D+R, no sample cap' (16 -> none)", False),
    "fig5_truth_samples32_region": ("dx_torso", "L_Δ's weight once the cap is lifted",
                                    "Table 2's 'O+D+R, 32 samples a ray, strong region losses' "
                                    "(λ_Δ 1e-5 -> 1e-2, λ_att 1e-4 -> 1e-3)", False),
    "fig5_truth_samples32_delta1e-2": ("dx_torso", "L_Δ's weight alone once the cap is lifted",
                                       "Table 2's 'O+D+R, 32 samples a ray, lambda_delta 1e-2' "
                                       "(λ_Δ 1e-2, λ_att at its default 1e-4)", False),
    "fig5_truth_samples32_delta1e-1": ("dx_torso", "L_Δ's weight once the cap is lifted, a dose "
                                       "point", "Table 2's 'O+D+R, 32 samples a ray, "
                                       "lambda_delta 1e-1' (λ_Δ 1e-1, λ_att 1e-3)", False),
}  # fmt: skip


# an isolating fig5_truth run's table and the same row on the tables' studio at one package
# source (run.py table2 --methods O+D+R --seeds 3 beside it): the torso's PSNR on either side
TORSO_BASE = "table2_torso_base/table2"
FIG5_PSNR = {
    "fig5_truth_torso0.5": ("table2_torso0.5/table2_torso0.5", "O+D+R"),
    "fig5_truth_pose_norm": ("table2_pose_norm/table2", "O+D+R, head pose standardised"),
    "fig5_truth_headlight": ("table2_headlight/table2_headlight", "O+D+R"),
}


def _torso_psnr(reports: dict, stem: str) -> str:
    """The torso and neck's PSNR in the run behind ``stem`` (:data:`FIG5_PSNR`) against
    O+D+R's on the tables' studio (:data:`TORSO_BASE`); "" without both."""
    if stem not in FIG5_PSNR:
        return ""
    table, row = FIG5_PSNR[stem]
    a = sample(reports.get(table), _method(row), "psnr_torso", "")
    b = sample(reports.get(TORSO_BASE), _method("O+D+R"), "psnr_torso", "")
    if not (a.n and b.n):
        return ""
    return (f"torso + neck PSNR{a.text(2)} against{b.text(2)} for O+D+R on the tables' "
            f"studio ({TORSO_BASE})")  # fmt: skip


KNOCKOUT = "field_knockout"  # benchmarks/field_knockout.py on the O+D+R workspaces


# an isolating run's field_knockout (run on its workspaces, --out <its folder>)
FIG5_KNOCKOUT = {"fig5_truth_headlight": "field_knockout_headlight/field_knockout",
                 "fig5_truth_samples32": "field_knockout_samples32/field_knockout",
                 "fig5_truth_uncapped": "field_knockout_uncapped/field_knockout",
                 "fig5_truth_samples32_region": "field_knockout_samples32_region/field_knockout",
                 "fig5_truth_samples32_delta1e-2":
                     "field_knockout_samples32_delta1e-2/field_knockout",
                 "fig5_truth_samples32_delta1e-1":
                     "field_knockout_samples32_delta1e-1/field_knockout"}  # fmt: skip


def _knockout_note(reports: dict, stem: str = KNOCKOUT) -> str:
    """What Δx_torso carries, region by region (``stem``, a ``field_knockout`` report: the
    PSNR each region loses when the field's offset is set to zero); "" without the run."""
    rep = reports.get(stem) or {}
    lost = (rep.get("summary") or {}).get("torso")
    if not lost or lost["frame"]["mean"] is None:
        return ""

    cell = _pm
    n = len(rep.get("results", ()))
    text = (f"{stem} ({n} seed(s)): Δx_torso set to zero costs the head "
            f"{cell(lost['head'])} dB, the torso and neck {cell(lost['torso+neck'])}, the "
            f"background {cell(lost['background'])} (the whole frame "
            f"{cell(lost['frame'])})")  # fmt: skip
    pose = rep["summary"].get("torso_pose")
    if pose and pose["frame"]["mean"] is not None:
        text += (f"; fed one head pose in every frame (the val frames' mean) it costs the head "
                 f"{cell(pose['head'])}, the torso and neck {cell(pose['torso+neck'])}, the "
                 f"background {cell(pose['background'])}")  # fmt: skip
    static = rep["summary"].get("torso_static")
    if static and static["frame"]["mean"] is not None:
        k = rep.get("static_poses", "several")
        text += (f"; its pose-dependent part alone (Δx_torso replaced at every point by its "
                 f"average over {k} val frames' poses) costs the head {cell(static['head'])}, "
                 f"the torso and neck {cell(static['torso+neck'])}, the background "
                 f"{cell(static['background'])}")  # fmt: skip
    return text


def _run_note(reports: dict, stem: str, key: str) -> str:
    """The share ``key`` in the isolating fig5_truth run ``stem`` (:data:`FIG5_RUNS`) beside
    the tables' studio (``fig5_truth``); "" without the run."""
    rep = reports.get(stem) or {}
    s = (rep.get("summary") or {}).get(key)
    if not s or s["map_share_label"]["mean"] is None:
        return ""

    def cell(summary, stat):
        return _pm(summary[stat])

    _, isolates, setting, frequency = FIG5_RUNS[stem]
    g, n = rep.get("signals") or {}, len(rep.get("workspaces", ()))
    often = (
        f"the eyes close in {g['eyes_closed_frames']:.1%} of the frames, "
        if g and frequency
        else ""
    )
    cause = SHARE_CAUSE[key][0]
    cause += "'" if cause.endswith("s") else "'s"  # the eyes' change, the mouth's change
    text = (f"{stem} (isolates {isolates}: {setting}, {often}{n} seed(s)): {REGION_SHARES[key]} "
            f"{cell(s, 'map_share_label')}, "
            f"on the pixels carrying 90% of {cause} change {cell(s, 'map_share_support')} "
            f"(an even map {cell(s, 'support_area')})")  # fmt: skip
    base = ((reports.get("fig5_truth") or {}).get("summary") or {}).get(key)
    if base and base["map_share_label"]["mean"] is not None:
        text += (f" against {cell(base, 'map_share_label')} and "
                 f"{cell(base, 'map_share_support')} on the tables' studio")  # fmt: skip
    size = _torso_size(rep) if key == "dx_torso" else ""
    dynamic = _dynamic_share(rep) if key == "dx_torso" else ""
    size = "; ".join(t for t in (size, dynamic) if t)
    psnr = _torso_psnr(reports, stem) if key == "dx_torso" else ""
    knock = _knockout_note(reports, FIG5_KNOCKOUT[stem]) if stem in FIG5_KNOCKOUT else ""
    return "; ".join(t for t in (text + (f"; there {size}" if size else ""), psnr, knock) if t)


def _share(key):
    def judge(reports):
        s = sample(reports.get("table2"), _method("O+D+R"), f"region_shares.{key}", "O+D+R")
        fig5 = ((reports.get("fig5_truth") or {}).get("summary") or {}).get(key)
        seeds = tuple(v for v in (fig5 or {}).get("map_share_label", {}).get("seeds", ())
                      if v is not None)  # fmt: skip
        if len(seeds) > s.n:  # the same share over more seeds (fig5_truth's workspaces)
            s = Sample(seeds, "O+D+R (fig5_truth)")
        v = threshold(s, SHARE_LIMIT, single_seed_band=0.05)
        truth = _truth_cause(reports.get("fig5_truth"), key)
        runs = [_run_note(reports, stem, key) for stem, r in FIG5_RUNS.items() if r[0] == key]
        knock = _knockout_note(reports) if key == "dx_torso" else ""
        truth = "; ".join(t for t in (truth, knock, *runs) if t)
        if truth and v.verdict != "holds":
            cause = f"{v.cause}; {truth}" if v.cause else truth
            return Verdict(v.measured, v.verdict, cause, explained=True)
        return v

    return judge


for _key, _what in REGION_SHARES.items():
    claim(
        f"fig5_{_key}",
        f"{SRC} Fig. 5",
        f"region specificity: share of {_what} (maps; target ≥ {SHARE_LIMIT})",
        tables=("table2", "table2_cap/table2", "table2_cap_region/table2"),
        cause_metric=f"region_shares.{_key}",
    )(_share(_key))

# Fig. 5's Σ||Δx_torso|| share again in one setting of ours (not the paper's λ_Δ 1e-5): 32
# samples a ray and λ_Δ 1e-2 alone (Table 2's ablation "O+D+R, 32 samples a ray, lambda_delta
# 1e-2"), judged on the seeds of its fig5_truth run; its misses are the original claim's
REGION_RUN = "fig5_truth_samples32_delta1e-2"


@claim("fig5_dx_torso_32_region",
       f"{SRC} Fig. 5, with 32 samples a ray and λ_Δ 1e-2 (ours; the paper's λ_Δ is 1e-5)",
       f"region specificity: share of {REGION_SHARES['dx_torso']} (maps; target ≥ "
       f"{SHARE_LIMIT})", cause_id="fig5_dx_torso")  # fmt: skip
def _share_region(reports):
    s = ((reports.get(REGION_RUN) or {}).get("summary") or {}).get("dx_torso") or {}
    seeds = tuple(v for v in s.get("map_share_label", {}).get("seeds", ()) if v is not None)
    v = threshold(Sample(seeds, f"O+D+R, 32 samples a ray, lambda_delta 1e-2 ({REGION_RUN})"),
                  SHARE_LIMIT, single_seed_band=0.05)  # fmt: skip
    note = _run_note(reports, REGION_RUN, "dx_torso")
    return Verdict(v.measured, v.verdict, "; ".join(t for t in (v.cause, note) if t),
                   explained=bool(note))  # fmt: skip


OVERHEAD_TEXT = (
    f"plug-ins' per-sample overhead at inference 1.17x (34 -> 29 FPS; target ≤ {OVERHEAD_LIMIT}x)"
)


# LokiTalk's per-sample cost on the samples a 512 px frame's render asks for (the papers' frame
# size; render_overhead.py --samples-from WS --samples-scale 4, one file per trained O+D+R
# workspace whose samples and grid are used): the exact fast path, and the per-frame bake
# (inference_fast_path(frame_bake=k)), an approximation that counts only where its PSNR change on
# those workspaces (frame_bake.py, seed means of the whole frame and the head) is within
# BAKE_PSNR_MARGIN dB
FRAME_OVERHEAD_RUNS = tuple(f"render_overhead_frame_512px/seed{i}" for i in range(3))
FRAME_BAKE_RUN = "frame_bake_512px/frame_bake"
BAKE_PSNR_MARGIN = 0.1


def _bake_quality(reports, k) -> tuple[bool, str]:
    """(within the margin, a note) for the per-frame bake k in ``FRAME_BAKE_RUN``."""
    change = ((((reports.get(FRAME_BAKE_RUN) or {}).get("summary") or {}).get(f"bake {k}")
               or {}).get("change") or {})  # fmt: skip
    frame, head = change.get("frame") or {}, change.get("head") or {}
    if frame.get("mean") is None or head.get("mean") is None:
        return False, f"bake {k}: no PSNR measured"
    std = "" if frame.get("std") is None else f" ± {frame['std']:.2f}"
    note = (f"its PSNR change {frame['mean']:+.2f}{std} dB (frame), {head['mean']:+.2f} dB "
            f"(head) over {len(frame.get('seeds') or ())} trained O+D+R seeds")  # fmt: skip
    return min(frame["mean"], head["mean"]) >= -BAKE_PSNR_MARGIN, note


def frame_paths(reports) -> list[tuple[str, Sample, str]]:
    """LokiTalk's inference paths measured on 512 px frames' samples: (name, Sample of the
    per-sample ratio over the files of ``FRAME_OVERHEAD_RUNS``, note), the exact fast path
    first, then each per-frame bake (named "... (over the PSNR margin)" where its PSNR
    change is not within the margin: such a path is never judged)."""
    runs = [reports[r] for r in FRAME_OVERHEAD_RUNS if r in reports]
    if not runs:
        return []
    paths = []
    exact = [r["per_sample_ratio"] for r in runs if r.get("per_sample_ratio") is not None]
    if exact:
        setting = runs[0].get("per_sample_setting")
        paths.append(("exact fast path", Sample(tuple(exact), f"exact fast path ({setting})"),
                      "exact"))  # fmt: skip
    ks = sorted({int(k) for r in runs for k in (r.get("frame_bake_ratio") or {})})
    for k in ks:
        vals = tuple(r["frame_bake_ratio"][str(k)] for r in runs
                     if str(k) in (r.get("frame_bake_ratio") or {}))  # fmt: skip
        ok, note = _bake_quality(reports, k)
        if vals:  # a bake over the PSNR margin is listed with its note, not judged
            name = f"per-frame bake k={k}" + ("" if ok else " (over the PSNR margin)")
            paths.append((name, Sample(vals, f"per-frame bake k={k}"), note))
    return paths


@claim("overhead", f"{SRC} Table 1 FPS", OVERHEAD_TEXT)
def _overhead(reports):
    rep = reports.get("render_overhead") or {}
    value = rep.get("per_sample_ratio")
    paths = frame_paths(reports)
    notes = []
    judged = [p for p in paths if "over the PSNR margin" not in p[0]]
    rejected = [p for p in paths if "over the PSNR margin" in p[0]]
    if judged:  # the frames' samples: the fastest path that keeps the picture is judged
        name, s, note = min(judged, key=lambda p: p[1].mean)
        where = "on the samples of 512 px frames of trained O+D+R workspaces (random weights)"
        s = Sample(s.values, f"{s.label} {where}" + ("" if note == "exact" else f"; {note}"))
        others = [p.text(2) for n, p, _ in judged if n != name]
        others += [f"{p.text(2)}, but {note} (over the {BAKE_PSNR_MARGIN} dB margin)"
                   for _, p, note in rejected]  # fmt: skip
        if others:
            notes.append("also " + "; ".join(others))
        if value is not None:
            notes.append(f"{value:.2f}x on random points in the box")
    else:
        s = Sample((float(value),) if value is not None else (), "wrapped / bare per sample")
    v = threshold(s, OVERHEAD_LIMIT, at_least=False, single_seed_band=0.05)
    if rep.get("per_sample_setting"):
        notes.append(f"setting {rep['per_sample_setting']}")
    if rep.get("per_sample_ratio_float32") is not None:
        notes.append(f"float32 fast path {rep['per_sample_ratio_float32']:.2f}x")
    if rep.get("all_bf16_ratio") is not None:
        notes.append(f"backbone in bfloat16 too {rep['all_bf16_ratio']:.2f}x")
    unfused = (rep.get("ratio_to_bare") or {}).get("bare_unfused")
    if unfused is not None:  # the denominator's own speed-up, said beside the ratio
        notes.append(f"the bare field itself {unfused:.2f}x faster with the fused linear calls")
    if rep.get("allocator"):
        notes.append(f"allocator {rep['allocator']}")
    whole = (reports.get("table1") or {}).get("render_ratio_lokitalk_vs_er_nerf")
    if whole is not None:  # a different quantity: labelled, never used for the verdict
        notes.append(f"whole-pipeline frame ratio, Table 1: {whole:.2f}x")
    if notes:
        v = Verdict(v.measured + f" ({'; '.join(notes)})", v.verdict, v.cause)
    frame_run = next((reports[r] for r in FRAME_OVERHEAD_RUNS if r in reports), None)
    if judged and frame_run and (frame_run.get("components") or {}).get("share_of_excess"):
        parts = _overhead_parts(frame_run["components"]) + " (a 512 px frame's samples)"
    else:
        parts = _overhead_parts(rep.get("components") or {})
    if parts and v.verdict != "holds":
        v = Verdict(v.measured, v.verdict, f"{v.cause}; {parts}" if v.cause else parts, True)
    return v


def _overhead_parts(comp: dict) -> str:
    """Where the plug-ins' excess per sample goes (``render_overhead.json``'s components)."""
    shares, secs = comp.get("share_of_excess"), comp.get("seconds_median") or {}
    if not shares or "bare" not in secs:
        return ""
    per = ", ".join(f"{k} {v:.0%}" for k, v in shares.items())
    return (f"render_overhead components: the wrapped field's excess is "
            f"{1000 * comp['excess_seconds']:.1f} ms a call over the bare field's "
            f"{1000 * secs['bare']:.1f} ms ({per})")  # fmt: skip


def _label(col) -> str:
    return f"{'no ID-AKT' if col[0] == 0 else f'{col[0]} ids'} {col[1]}%"


# the runs a Table 3 / 4 claim reads, the first that has both its columns: a run of some of
# Table 3's columns with more seeds (run.py table3 --methods ... --seeds K --out <folder>),
# then the whole table
T34_RUNS = {"table3": ("table3_seeds/table3", "table3"), "table4": ("table4",)}


def _t34(table, a, b, metric="psnr", higher=True):
    def judge(reports):
        pairs = [
            (sample(r, _column(*a), metric, _label(a)), sample(r, _column(*b), metric, _label(b)))
            for r in (reports.get(t) for t in T34_RUNS[table])
        ]
        sa, sb = next(((x, y) for x, y in pairs if x.n and y.n), pairs[-1])
        return compare(sa, sb, higher, digits=2 if metric == "psnr" else 0)

    return judge


STEPS = "steps_to_psnr"
# id, table, claim (paper's numbers), better column, worse column, metric, higher is better
ID_AKT_CLAIMS = [
    ("t3_pretrain", "table3", "pre-training on 10 ids raises PSNR at 100% (30.482 vs 30.464 dB)",
     (10, 100), (0, 100), "psnr", True),
    ("t3_ids_10_5", "table3", "at 50%, 10 ids above 5 ids (30.387 vs 30.387 dB: a tie)",
     (10, 50), (5, 50), "psnr", True),
    ("t3_ids_5_3", "table3", "at 50%, 5 ids above 3 ids (30.387 vs 30.153 dB)",
     (5, 50), (3, 50), "psnr", True),
    ("t3_steps", "table3", "fewer fine-tune steps with ID-AKT (steps to the PSNR threshold)",
     (10, 100), (0, 100), STEPS, False),
    ("t4_idakt", "table4", "ID-AKT on ER-NeRF raises PSNR at 100% (28.428 vs 28.425 dB)",
     (10, 100), (0, 100), "psnr", True),
    ("t4_idakt_50", "table4", "ID-AKT on ER-NeRF raises PSNR at 50% (28.426 vs 27.761 dB)",
     (10, 50), (0, 50), "psnr", True),
    ("t4_steps", "table4", "fewer fine-tune steps with ID-AKT on ER-NeRF",
     (10, 100), (0, 100), STEPS, False),
]  # fmt: skip
for _id, _table, _text, _a, _b, _metric, _higher in ID_AKT_CLAIMS:
    _src = f"{SRC} {'Table ' + _table[-1] if _metric != STEPS else '§4.4, ' + _table}"
    claim(_id, _src, _text)(_t34(_table, _a, _b, _metric, _higher))
