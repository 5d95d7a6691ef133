"""The claims ledger: ``benchmarks/results/CLAIMS.md`` written from the result JSON files.

    python benchmarks/ledger.py                      # default-profile results -> CLAIMS.md
    python benchmarks/ledger.py --profile quick --out /tmp/claims.md

Each registered claim (``benchmarks/claims``) is one row: the claim with the paper's number,
our measurement (mean ± std over seeds, or marked single seed), the verdict (holds / does not
hold / inconclusive / contested, by the rules in ``claims/core.py``) and, for every "does not
hold", the cause an ablation row measured or "cause not yet measured" (an ablation row naming
an inconclusive claim is listed too). A comparison that holds while an ablation of its worse
row beats the better row is "contested", with that ablation named. Never edit CLAIMS.md by
hand.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from claims import VERDICTS, contest, find_cause, load_all  # noqa: E402

__all__ = ["load_reports", "judge_all", "markdown", "main"]

RESULTS = Path(__file__).resolve().parent / "results"
STEMS = ("table1", "table2", "table2_rad_nerf", "table3", "table4", "render_overhead", "fig5_truth",
         "gdrf_table1", "gdrf_table2", "gdrf_table5", "gdrf_table6", "dhnerf_table1",
         "dhnerf_table2", "neural_renderer", "neural_renderer_composites",
         "neural_renderer_er_nerf", "neural_renderer_min32_bf16",
         "neural_renderer_er_nerf_min32_bf16",
         "dhnerf_extractor_probe",
         # LokiTalk per sample on 512 px frames' samples of Table 2's trained O+D+R seeds
         # (render_overhead.py --samples-from), and the per-frame bake's PSNR change on them
         "render_overhead_frame_512px/seed0", "render_overhead_frame_512px/seed1",
         "render_overhead_frame_512px/seed2", "frame_bake_512px/frame_bake",
         # the extractor probes of the bank the tables pre-train on since 4622a4b (8 lights)
         "dhnerf_extractor_probe_lights/seed0/dhnerf_extractor_probe",
         "dhnerf_extractor_probe_lights/seed1/dhnerf_extractor_probe",
         # more of that bank's extractors and the supervised ceiling (dhnerf_extractor_probe.py)
         "dhnerf_extractor_probe_ceiling/tables_bank/dhnerf_extractor_probe",
         "dhnerf_extractor_probe_ceiling/more_banks/dhnerf_extractor_probe",
         # C_ex relative to the person, with the expression fit before (and during) the pairs
         "dhnerf_extractor_probe_ceiling/expression_steps/dhnerf_extractor_probe",
         "dhnerf_extractor_probe_ceiling/expression_weight/dhnerf_extractor_probe",
         # the contrastive recipe and the supervised ceiling without and with the bank shifted
         "dhnerf_extractor_probe_shift/contrastive_plain/dhnerf_extractor_probe",
         "dhnerf_extractor_probe_shift/contrastive_shift/dhnerf_extractor_probe",
         "dhnerf_extractor_probe_shift/supervised/dhnerf_extractor_probe",
         "dhnerf_extractor_probe_shift/expression/seed0/dhnerf_extractor_probe",
         "dhnerf_extractor_probe_shift/expression/seed1/dhnerf_extractor_probe",
         "dhnerf_extractor_probe_shift/expression/seed2/dhnerf_extractor_probe",
         "dhnerf_table2_ex_seed1/dhnerf_table2", "dhnerf_table2_recipe/dhnerf_table2",
         "dhnerf_table2_recipe_head_background/dhnerf_table2",
         "dhnerf_table2_ex_seed1_head_background/dhnerf_table2",
         "dhnerf_table1_regions/er_nerf", "dhnerf_table1_recipe_default/dhnerf_table1",
         "dhnerf_extractor_probe_ceiling/expression_weight_seeds/seed1/dhnerf_extractor_probe",
         "dhnerf_extractor_probe_ceiling/expression_weight_seeds/seed2/dhnerf_extractor_probe",
         "dhnerf_extractor_probe_ceiling/expression_weight_seeds/seed2_weight30/"
         "dhnerf_extractor_probe",
         "dhnerf_extractor_probe_ceiling/supervised_seeds/dhnerf_extractor_probe",
         "dhnerf_extractor_probe_ceiling/supervised_seeds_32ids/seed1/dhnerf_extractor_probe",
         "dhnerf_extractor_probe_ceiling/supervised_seeds_32ids/seed2/dhnerf_extractor_probe",
         # the expression recipe's seeds read on people after the bank's too (--validate 4)
         "dhnerf_extractor_probe_ceiling/validation/dhnerf_extractor_probe",
         # Table 1's DH-NeRF with that extractor (run.py dhnerf-table1 --methods DH-NeRF)
         "dhnerf_table1_lights/dhnerf_table1",
         # and with C_id, C_al one code for the clip (DHNeRF.shared_codes; the same command)
         "dhnerf_table1_shared/dhnerf_table1",
         # and with the extractor's recipe of 2026-12-05 (C_ex relative, the expression fit)
         "dhnerf_table1_expression/dhnerf_table1",
         # Table 2's ablation rows on models of that recipe or of today's extractor (run.py
         # dhnerf-table2 --ablations --methods ROW --ablation-seeds 3 [--extractor JSON])
         "dhnerf_table2_refresh_codes/dhnerf_table2",
         "dhnerf_table2_ex_init_expression/dhnerf_table2", "dhnerf_table2_ex_init/dhnerf_table2",
         # Table 2's three rows with that model (run.py dhnerf-table2 --seeds 3)
         "dhnerf_table2_shared/dhnerf_table2",
         # and with C_ex's weights from zero (DHNeRF.ex_init, the default since 7d2b8e9)
         "dhnerf_table2_ex_zero/dhnerf_table2",
         # its full model and the row without the lip-sync module, each with half of the
         # training steps driven by audio (DHNeRF.audio_share; --ablations --ablation-seeds)
         "dhnerf_table2_audio_share/dhnerf_table2",
         # the same two rows on the studio without its moving key light (--studio-unlit)
         "dhnerf_table2_unlit/dhnerf_table2_unlit",
         # the same two rows each without the velocity loss (--ablations --ablation-seeds)
         "dhnerf_table2_velocity/dhnerf_table2",
         # the same two rows with the velocity loss at λ_v 3 (--ablations, seed 0)
         "dhnerf_table2_velocity3/dhnerf_table2",
         # and each with a random background under the head in training (head_background)
         "dhnerf_table2_head_background/dhnerf_table2",
         # Table 2's three rows at the default since 2ffcd15 (the shifted expression-fitted
         # recipe, a random background under the head; run.py dhnerf-table2 --seeds 3)
         "dhnerf_table2_recipe_default/dhnerf_table2",
         # the same with the extractor's light fit (run.py dhnerf-table2 --seeds 3 --extractor
         # '{"light_steps": 300, "light_weight": 10}'), and that extractor's C̄ beside the
         # former default's (dhnerf_extractor_probe.py, both read from their files)
         "dhnerf_table2_light/dhnerf_table2",
         "dhnerf_extractor_probe_light/dhnerf_extractor_probe",
         # Table 1's DH-NeRF seeds' training frames under the test-time codes, their own C_ill,
         # C_ex, both, beside its ER-NeRF seeds' fit (dhnerf_gap.py): where the gap lies
         "dhnerf_gap/dhnerf_gap",
         # the full model trained with half its steps under the mean light, and without the
         # velocity loss (dhnerf-table2 --ablations), and both measured as dhnerf_gap is
         "dhnerf_table2_gap_rows/dhnerf_table2",
         "dhnerf_gap/dhnerf_gap_light_share",
         "dhnerf_gap/dhnerf_gap_no_velocity",
         "dhnerf_table2_gap_velocity3/dhnerf_table2",
         "dhnerf_gap/dhnerf_gap_velocity3",
         # the full model in float32 and with configs/bf16.gin (issue 18)
         "dhnerf_table2_bf16/dhnerf_table2",
         # Table 3's 100% columns with seeds (run.py table3 --methods ... --seeds 3)
         "table3_seeds/table3",
         # a run of some of Table 1's rows (run.py table1 --methods ... --out <folder>): its
         # ablation rows explain the claims they name, as the full table's would
         "table1_head_gap/table1", "table1_head_gap_2/table1",
         # Table 1's ER-NeRF and LokiTalk beside the same rows with λ_α 1e-2
         # (run.py table1 --ablations --methods ER-NeRF LokiTalk 'ER-NeRF, alpha entropy
         # 1e-2' 'LokiTalk, alpha entropy 1e-2' --seeds 3 --ablation-seeds 3)
         "table1_alpha_entropy/table1",
         # some of GDRF Table 1's rows at several seeds (run.py gdrf-table1 --seeds K --methods)
         "gdrf_table1_seeds/gdrf_table1", "gdrf_table2_seeds/gdrf_table2",
         # the same rows but RAD-NeRF's with GDRF's feature volumes at H/2 (the default since)
         "gdrf_table1_h2/gdrf_table1", "gdrf_table2_h2/gdrf_table2",
         "gdrf_table5_h2/gdrf_table5", "gdrf_table6_h2/gdrf_table6",
         # GDRF at 5 s beside its fine-tune with configs/bf16.gin, from one base (issue 18)
         "gdrf_table1_bf16/gdrf_table1",
         # GDRF's 3 s and 10 s rows at 5 seeds (the clip claim's margin), at H/2 and at H/4
         "gdrf_table1_clips_h2/gdrf_table1", "gdrf_table1_clips/gdrf_table1",
         "gdrf_table5_seeds/gdrf_table5",
         "gdrf_table6_seeds/gdrf_table6",
         # GDRF and the image warp at 5 s beside the ablation of the feature volumes' resolution
         # (run.py gdrf-table1 --ablations --methods ...)
         "gdrf_table1_halfres/gdrf_table1",
         # GDRF at 5 s beside its fine-tune with the silhouette term (GDRF.lambda_silhouette;
         # run.py gdrf-table1 --ablations --methods ... --seeds 3 --ablation-seeds 3)
         "gdrf_table1_silhouette/gdrf_table1",
         # the silhouette and neck terms at H/2 (run.py gdrf-table1 --ablations --methods 'GDRF,
         # 5 s' 'GDRF, silhouette loss, 5 s' 'GDRF, neck as background, 5 s' --seeds 3 ...)
         "gdrf_table1_neck/gdrf_table1",
         # how much audio context the studio's mouth needs (GDRF Table 6's LSTM claim)
         "audio_context_probe",
         # where GDRF Table 1's 5 s rows put alpha (error_regions.py --out on their workspaces)
         "gdrf_region_alpha", "gdrf_region_alpha_h2", "gdrf_region_neck_h2",
         # DH-NeRF Table 2's full model and the ablations of why its lip-sync module costs PSNR
         # (run.py dhnerf-table2 --ablations --methods ...)
         "dhnerf_table2_lip/dhnerf_table2",
         # DH-NeRF Table 2's full model and w/o lip-sync rows with F_lip's weights from zero
         "dhnerf_table2_lipinit/dhnerf_table2",
         # DH-NeRF Table 2 with the windowed code extractor of 5f3da90 (today's model)
         "dhnerf_table2_window/dhnerf_table2",
         # O+D+R beside its ablations of issue 14's fixes (run.py table2 --methods --ablations)
         "table2_fixes/table2",
         # O+D+R beside 'O+D+R, 32 samples a ray' and 'O+D+R, no sample cap' (3 seeds each)
         "table2_cap/table2",
         # Table 2's rows beside the same rows with the cap following cut_short (SampleCap)
         "table2_sample_cap/table2",
         # Table 2 with ER-NeRF's region attention off in the static canonical space (47d6c43)
         # beside the static canonical field alone ('O+D, deformation frozen')
         "table2_static_path/table2",
         # O and O+D+R beside the same rows with the alpha-entropy term 100x stronger
         # (run.py table2 --methods O O+D+R 'O, alpha entropy 1e-2' ... --ablations --seeds 3)
         "table2_alpha_entropy/table2",
         # O and O+D+R beside the same rows trained over a random colour under the head
         # (TalkingHeadSystem.head_background = 'random': is the face translucent?)
         "table2_head_background/table2",
         # O and O+D+R beside the same rows over a random colour under head, neck and torso
         # (TalkingHeadSystem.head_background = 'random_body': is the torso translucent?)
         "table2_body_background/table2",
         # Table 2's O+D+R in float32 and under bf16 autocast, side by side (issue 18)
         "table2_bf16/table2",
         # O+D+R with the backbone alone under bf16 (wrap.plugins_float32; issue 18)
         "table2_bf16_backbone/table2",
         # O+D+R with 32 samples a ray in float32 and under bf16 autocast (issue 18)
         "table2_cap_bf16/table2",
         # O+D+R with the tables' refresh and with configs/fast_upkeep.gin's (issue 18)
         "table2_fast_upkeep/table2",
         # and with that refresh every 16 steps, no cell outside the box refreshed (issue 18)
         "table2_fast_upkeep16/table2", "table2_fast_upkeep16_lattice/table2",
         # O+D+R under bf16 with float32 rays (render.exact_geometry; issue 18)
         "table2_bf16_rays/table2",
         # the same with the backbone's density output in float32 (issue 18)
         "table2_bf16_density/table2",
         # bf16 for the first 3/4 of each stage, float32 after (Trainer.amp_until; issue 18)
         "table2_bf16_finish/table2",
         # float32 for the first 1/4 of each stage, bf16 after (Trainer.amp_from; issue 18)
         "table2_bf16_start/table2",
         # the same schedule on O and O+D (seed 0) and on RAD-NeRF's O+D+R (issue 18)
         "table2_bf16_start_rows/table2", "table2_bf16_start_rad_nerf/table2_rad_nerf",
         # Fig. 5 against the truth on a studio whose eyes close often (att_eye's ablation)
         "fig5_truth_blinks0.5-1.5",
         # Table 2's O+D+R with the eye value from AU45 (att_eye's ablation by the eye value's
         # encoding; run.py table2 --methods 'O+D+R, eye value from AU45' --ablations) and
         # Fig. 5 against the truth on its workspaces
         "table2_eye_au45/table2", "fig5_truth_eye_au45",
         # the same for the eyes' colour weight (att_eye) and the face-to-torso cascade
         # (Σ‖Δx_torso‖): 'O+D+R, eyes weighted 50x', 'O+D+R, torso without the cascade'
         "table2_eye_weight/table2", "fig5_truth_eye_weight",
         "table2_eye_weight_10/table2", "fig5_truth_eye_weight_10",
         "table2_torso_no_cascade/table2", "fig5_truth_torso_no_cascade",
         # Fig. 5 against the truth on a studio whose torso follows the head half the way
         # (Σ‖Δx_torso‖'s ablation by the size of the torso's motion; run.py table2
         # --studio-torso-follow 0.5 --methods O+D+R)
         "fig5_truth_torso0.5",
         # its Table 2 and O+D+R on the tables' studio trained beside it (the torso's PSNR)
         "table2_torso0.5/table2_torso0.5", "table2_torso_base/table2",
         # what each RSDF field carries by region (benchmarks/field_knockout.py on the
         # workspaces of table2_torso_base)
         "field_knockout",
         # 'O+D+R, head pose standardised' (RSDF.pose_norm; Σ‖Δx_torso‖'s ablation by the
         # head pose's scale at the torso field's input) and Fig. 5 against the truth on it
         "table2_pose_norm/table2", "fig5_truth_pose_norm",
         # the studio with the key light attached to the head (run.py table2
         # --studio-light-frame head), Fig. 5 against the truth and the field knock-out on it
         "table2_headlight/table2_headlight", "fig5_truth_headlight",
         "field_knockout_headlight/field_knockout",
         # Table 2's 'O+D+R, 32 samples a ray' and 'O+D+R, no sample cap' (run.py table2
         # --ablations, 3 seeds each), Fig. 5 against the truth and the field knock-out on them
         "fig5_truth_samples32", "field_knockout_samples32/field_knockout",
         "fig5_truth_uncapped", "field_knockout_uncapped/field_knockout",
         # Table 2's 'O+D+R, 32 samples a ray, strong region losses', '..., lambda_delta 1e-2'
         # and '..., lambda_delta 1e-1' (run.py table2 --ablations, 3 seeds each), the same
         # two measures on them
         "table2_cap_region/table2",
         "fig5_truth_samples32_region", "field_knockout_samples32_region/field_knockout",
         "fig5_truth_samples32_delta1e-2", "field_knockout_samples32_delta1e-2/field_knockout",
         "fig5_truth_samples32_delta1e-1", "field_knockout_samples32_delta1e-1/field_knockout",
         # C_ex's response on the workspaces of dhnerf_table2_window (full model; without the
         # lip-sync module: --tag no_lipsync), benchmarks/dhnerf_code_response.py
         "dhnerf_code_response", "dhnerf_code_response_no_lipsync")  # fmt: skip


def load_reports(folder: Path, profile: str = "default", stems=STEMS) -> dict:
    """``stem -> JSON`` of the result files of a profile (``table2.json`` for the default,
    ``table2_<profile>.json`` otherwise) that exist in ``folder``; also lists what it read."""
    reports = {}
    for stem in stems:
        name = stem if profile == "default" else f"{stem}_{profile}"
        path = Path(folder) / f"{name}.json"
        if path.is_file():
            reports[stem] = json.loads(path.read_text())
    return reports


def judge_all(reports: dict) -> list[dict]:
    """One dict per registered claim: id, source, claim, measured, verdict, cause."""
    rows = []
    for c in load_all():
        v = c.judge(reports)
        cause = v.cause
        found = find_cause(c.cause_id or c.id, reports, c.tables, c.cause_metric)
        unexplained = found.startswith("cause not yet")
        if (v.verdict == "does not hold" and not (unexplained and v.explained)) or not unexplained:
            cause = f"{cause}; {found}" if cause else found  # ablations name inconclusive ones too
        verdict = v.verdict
        against = contest(c.pair, reports) if c.pair and verdict == "holds" else ""
        if against:
            verdict, cause = "contested", f"{against}; {cause}" if cause else against
        rows.append(dict(id=c.id, source=c.source, claim=c.text, measured=v.measured,
                         verdict=verdict, cause=cause))  # fmt: skip
    return rows


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(rows: list[dict], reports: dict, profile: str) -> str:
    counts = {k: sum(r["verdict"] == k for r in rows) for k in VERDICTS}
    read = ", ".join(
        f"`{s}{'' if profile == 'default' else '_' + profile}.json` (commit "
        f"`{str(rep.get('commit', 'unknown'))[:12]}`)"
        for s, rep in reports.items()
    )
    lines = [
        f"# Claims ledger ({profile} profile)",
        "",
        "Written by `python benchmarks/ledger.py"
        + ("" if profile == "default" else f" --profile {profile}")
        + "` from the result JSON files; never edited by hand.",
        f"Read: {read or 'no result files'}.",
        "",
        f"{counts['holds']} hold, {counts['contested']} contested, "
        f"{counts['does not hold']} do not hold, {counts['inconclusive']} inconclusive. "
        "Rules: a comparison holds when the means differ in the claimed direction and "
        "mean ± std do not overlap; it is inconclusive with a single seed or overlapping "
        'intervals; with a margin ("at least 2 dB above"), the difference of the means ± '
        "the sum of the stds is set against the margin instead: above it holds, below it does "
        "not hold, across it inconclusive; one model in two settings over the same seeds "
        '(bf16 against float32, "within 0.2 dB") is judged on the paired difference, seed by '
        "seed: its mean ± its std against the margin; a threshold holds when mean - std "
        "clears it. A comparison that holds is "
        "contested when an ablation of its worse row beats the better row by the same rule "
        "(seed 0 against seed 0 where a side has one seed): the margin then comes from the "
        "worse row's setup. Missing measurements (n/a) are inconclusive.",
        "",
        "| claim | source | our measurement | verdict | cause / note |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {_cell(r['claim'])} | {r['source']} | {_cell(r['measured'])} "
            f"| **{r['verdict']}** | {_cell(r['cause'])} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--results", default=str(RESULTS), help="folder of the result JSON files")
    ap.add_argument("--profile", default="default", help="which profile's files to read")
    ap.add_argument("--out", default=None, help="markdown to write (default: <results>/CLAIMS.md)")
    args = ap.parse_args(argv)
    folder = Path(args.results)
    if not folder.is_dir():
        print(f"error: --results {folder} is not a folder of result JSON files", file=sys.stderr)
        return 2
    reports = load_reports(folder, args.profile)
    rows = judge_all(reports)
    out = Path(args.out) if args.out else folder / "CLAIMS.md"
    out.write_text(markdown(rows, reports, args.profile))
    json_out = out.with_suffix(".json")
    json_out.write_text(json.dumps({"profile": args.profile, "claims": rows}, indent=1) + "\n")
    print(f"wrote {out} and {json_out} ({len(rows)} claims)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
