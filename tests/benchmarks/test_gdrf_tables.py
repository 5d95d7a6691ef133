"""benchmarks/harness/gdrf_tables.py: the rows of GDRF's tables, their gin bindings, the
paper's numbers beside them and the scale of the steps (the training itself: run.py micro)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from harness import gdrf_tables as g  # noqa: E402

CLIPS = {3: Path("c3"), 5: Path("c5"), 10: Path("c10")}
BUNDLES = {b: f"/b/{b}" for b in ("gdrf", "gdrf_image", "gdrf_audio", "gdrf_lstm")}


@pytest.mark.parametrize("table,rows,bases", [
    ("gdrf-table1", 12, ["gdrf", "gdrf_image"]),
    ("gdrf-table2", 12, ["gdrf", "gdrf_image"]),
    ("gdrf-table5", 4, ["gdrf"]),
    ("gdrf-table6", 4, ["gdrf", "gdrf_audio", "gdrf_image", "gdrf_lstm"]),
])  # fmt: skip
def test_rows_and_base_models(table, rows, bases):
    methods = g.methods(table, 0.002, CLIPS, BUNDLES, "micro")
    assert len(methods) == rows and g.bases_needed(table) == bases
    assert all(m["val_background"] == "torso" for m in methods)
    for m in methods:
        assert m["configs"][1:3] == ["benchmarks/gin-configs/gdrf/budget.gin",
                                     "benchmarks/gin-configs/profiles/micro.gin"]  # fmt: skip
        assert {f"STEPS = {m['steps']}", "STEPS_LOG_EVERY = 1"} <= set(m["bindings"])
        if m["row"] in g.BASE:  # a fine-tune from its own base, with the base's file
            base = g.BASE[m["row"]]
            assert f"BUNDLE = '/b/{base}'" in m["bindings"]
            assert m["configs"][0] == f"benchmarks/gin-configs/gdrf/{g.FINETUNE[base]}.gin"
        else:
            assert "BUNDLE" not in " ".join(m["bindings"])
            assert m["configs"][0].endswith(("gdrf/rad_nerf.gin", "gdrf/er_nerf.gin"))


def test_steps_follow_the_scale_and_clips_the_rows():
    t1 = g.methods("gdrf-table1", 0.002, CLIPS, BUNDLES, "micro")
    assert {m["steps"] for m in t1} == {30}  # 15k x 0.002, the same for every row
    assert [m["data"] for m in t1[:4]] == ["c3"] * 4 and t1[-1]["data"] == "c10"
    t2 = g.methods("gdrf-table2", 0.1, CLIPS, BUNDLES, "micro")
    assert sorted({m["steps"] for m in t2}) == [100, 500, 1000]
    t5 = g.methods("gdrf-table5", 0.1, CLIPS, BUNDLES, "micro")
    assert [m["name"] for m in t5] == [f"{n} references" for n in (2, 4, 6, 8)]
    assert t5[2]["configs"][-1] == "benchmarks/gin-configs/gdrf/references_6.gin"


def _report(table: str, sync) -> dict:
    """A report of ``table`` whose row i has PSNR 20 + i and the sync cell ``sync(i)``."""
    methods = g.methods(table, 0.002, CLIPS, BUNDLES, "micro")
    rows = [dict(m, method=m["name"], eval={"landmark_detector": "none"},
                 metrics=dict(psnr=20.0 + i, ssim=0.5, lpips=None, lmd=None, lip_sync=0.25,
                              **sync(i)))
            for i, m in enumerate(methods)]  # fmt: skip
    refs = [{"method": "ground truth (ceiling)", "metrics": {"sync_conf": 1.0, "sync_offset": 0}},
            {"method": "one static frame (floor)", "metrics": {"sync_conf": 0.0,
                                                               "sync_offset": None}}]  # fmt: skip
    return dict(table=table, settings=g.SETTINGS["micro"], profile="micro",
                data_label="the studio", results=rows, references=refs)  # fmt: skip


def test_markdown_puts_the_paper_beside_each_row():
    md = g.markdown(_report("gdrf-table1", lambda i: dict(sync_conf=0.1 * i, sync_offset=-1,
                                                           sync_max_offset=4)))  # fmt: skip
    assert "15k -> 30" in md and "stand-in for DFRF" in md and "Table 3:" in md
    lines = md.splitlines()
    line = next(x for x in lines if x.startswith("| GDRF, 5 s"))
    # PSNR 27 (row 7), the sync cell of row 7 where the legacy lip sync r was, then the paper
    assert "| 27.00 |" in line and "| 0.70 (-1) | 29.260" in line and "3.900" in line
    line = next(x for x in lines if x.startswith("| RAD-NeRF, 3 s"))
    assert "14.360" in line and line.rstrip().endswith("n/a |")
    header = next(x for x in lines if x.startswith("| row |")).split("|")
    ceiling = next(x for x in lines if x.startswith("| *ground truth")).split("|")
    assert "Sync conf" in header[8] and ceiling[8].strip() == "1.00 (+0)"
    assert "(no peak)" in next(x for x in lines if x.startswith("| *one static frame"))
    assert "±4 frames" in md and "0.250" not in md  # the legacy correlation is gone
    assert "--methods" not in md
    # a run of some rows says which, after the whole table (its reference rows included)
    report = _report("gdrf-table1", lambda i: dict(sync_conf=0.1, sync_offset=0))
    report["methods_chosen"] = ["GDRF, 5 s", "ER-NeRF, 5 s"]
    lines = g.markdown(report).splitlines()
    note = lines.index("Only the rows chosen with `--methods` were trained: 'GDRF, 5 s'; "
                       "'ER-NeRF, 5 s'.")  # fmt: skip
    last_row = max(i for i, x in enumerate(lines) if x.startswith("|"))
    assert last_row < note and lines[last_row].startswith("| *one static frame")
    assert "earlier run" not in "\n".join(lines)
    report["resumed_rows"] = ["GDRF, 5 s", "GDRF, 5 s seed 1"]
    assert (
        "Rows trained by an earlier run of this command (same gin files, bindings, folder "
        "and package source; `--resume`): GDRF, 5 s; GDRF, 5 s seed 1."
    ) in g.markdown(report)


def test_table6_says_whether_the_lstm_raises_sync_confidence():
    md = g.markdown(_report("gdrf-table6", lambda i: dict(sync_conf=0.1 * i, sync_offset=0)))
    assert "WarpNet + LSTM above WarpNet in sync confidence: yes (0.20 against 0.10, +0.10" in md
    md = g.markdown(_report("gdrf-table6", lambda i: dict(sync_conf=None)))
    assert "above WarpNet in sync confidence: n/a" in md


def test_table1_says_whether_the_targets_are_met():
    md = g.markdown(_report("gdrf-table1", lambda i: dict(sync_conf=None)))
    # rows: 3 s, 5 s, 10 s x (RAD-NeRF, ER-NeRF, stand-in, GDRF) with PSNR 20 + i: GDRF 5 s is
    # 27, the best from-scratch 5 s is ER-NeRF's 25; GDRF 3 s is 23, 10 s 31
    assert (
        "- GDRF (5 s) at least 2 dB above the best from-scratch backbone (5 s): yes (27.00 "
        "against 25.00, +2.00" in md
    )
    assert "- GDRF 3 s at most 0.5 dB below 10 s: no (23.00 against 31.00, -8.00" in md
    # a run of some rows: the from-scratch backbone that was run, named
    report = _report("gdrf-table1", lambda i: dict(sync_conf=None))
    report["results"] = [r for r in report["results"] if r["row"] != "RAD-NeRF"]
    assert ("- GDRF (5 s) at least 2 dB above the best from-scratch backbone (5 s) (only "
            "ER-NeRF was run): yes (27.00 against 25.00") in g.markdown(report)  # fmt: skip
    report["results"] = [r for r in report["results"] if r["row"] != "ER-NeRF"]
    assert "from-scratch backbone (5 s): n/a (not measured)" in g.markdown(report)


def test_rows_over_seeds_give_mean_and_std_and_the_targets_compare_the_means():
    from harness.seeds import fold_seeds, seeded_methods

    methods = g.methods("gdrf-table1", 0.002, CLIPS, BUNDLES, "micro")
    runs = seeded_methods(methods, 2)
    assert {m["key"] for m in runs if m["seed"] == 0} == {m["name"] for m in methods}
    rows = [dict(m, method=m["name"], workspace="ws", train_seconds=1.0,
                 eval={"landmark_detector": "none"},
                 metrics=dict(psnr=20.0 + i // 2 + (m["seed"] * 2.0), ssim=0.5, lpips=None,
                              lmd=None, lip_sync=0.25, sync_conf=None, sync_offset=None))
            for i, m in enumerate(runs)]  # fmt: skip
    report = dict(_report("gdrf-table1", lambda i: dict(sync_conf=None)), seeds=[0, 1],
                  results=fold_seeds(rows, runs))  # fmt: skip
    md = g.markdown(report)
    line = next(x for x in md.splitlines() if x.startswith("| GDRF, 5 s"))
    assert "| 28.00 ± 1.41 |" in line  # seeds 0 and 1: 27 and 29
    assert "Every row: mean ± sample std over seeds 0, 1;" in md
    assert "the targets below compare the means" in md
    assert "(28.00 against 26.00, +2.00" in md


def test_methods_trains_only_the_chosen_rows_and_their_bases():
    chosen = ["GDRF, 3 s", "ER-NeRF, 5 s", "GDRF, 10 s"]
    rows = g.methods("gdrf-table1", 0.002, CLIPS, BUNDLES, "micro", chosen)
    assert [m["name"] for m in rows] == ["GDRF, 3 s", "ER-NeRF, 5 s", "GDRF, 10 s"]  # table order
    assert g.bases_needed("gdrf-table1", 0.002, chosen) == ["gdrf"]  # not the image warp's base
    assert g.bases_needed("gdrf-table1", 0.002, ["RAD-NeRF, 5 s"]) == []
    # Table 2's labels carry the profile's steps: 1k/5k/10k x 0.1
    assert g.row_names("gdrf-table2", 0.1)[-1] == "GDRF, 1000 steps"
    assert len(g.methods("gdrf-table2", 0.1, CLIPS, BUNDLES, "micro", ["GDRF, 100 steps"])) == 1
    assert g.methods("gdrf-table6", 0.1, CLIPS, BUNDLES, "micro", []) == g.methods(
        "gdrf-table6", 0.1, CLIPS, BUNDLES, "micro"
    )  # none chosen: every row
    with pytest.raises(ValueError, match=r"--methods: no row named \['GDRF, 4 s'\] in "
                       r"gdrf-table1 \(an ablation row needs --ablations\); its rows are "
                       r"\['RAD-NeRF, 3 s'") as err:  # fmt: skip
        g.chosen_plan("gdrf-table1", 0.002, ["GDRF, 4 s", "GDRF, 5 s"])
    assert "\n" not in str(err.value)


def test_a_bad_methods_is_refused_before_anything_is_written(tmp_path, capsys):
    import run  # benchmarks/run.py

    work = tmp_path / "work"
    with pytest.raises(SystemExit, match="--methods: no row named"):
        run.main(["gdrf-table6", "--profile", "micro", "--work", str(work), "--out",
                  str(tmp_path / "out"), "--methods", "LSTM"])  # fmt: skip
    assert not work.exists()
    with pytest.raises(SystemExit):
        run.main(["gdrf-all", "--profile", "micro", "--methods", "GDRF"])
    assert "--methods names the rows of one table" in capsys.readouterr().err


def test_table1_ablations_add_the_quarter_resolution_row_with_its_own_base():
    bundles = dict(BUNDLES, gdrf_quarter="/b/gdrf_quarter")
    plain = g.methods("gdrf-table1", 0.002, CLIPS, bundles, "micro")
    rows = g.methods("gdrf-table1", 0.002, CLIPS, bundles, "micro", ablations=True)
    assert rows[: len(plain)] == plain and "ablation" not in " ".join(map(str, plain))
    assert [r["name"] for r in rows[len(plain) :]] == [f"{n}, 5 s" for n in g.ABLATIONS]
    quarter = rows[len(plain)]
    assert quarter["name"] == "GDRF, features at H/4, 5 s" and quarter["data"] == "c5"
    assert quarter["configs"][0] == "benchmarks/gin-configs/gdrf/finetune_quarter.gin"
    assert "BUNDLE = '/b/gdrf_quarter'" in quarter["bindings"]
    assert quarter["steps"] == plain[0]["steps"]
    assert quarter["ablation"] == {"claims": ["gdrf_dfrf"], "baseline": "GDRF, 5 s",
                                   "isolates": g.ABLATIONS["GDRF, features at H/4"][1]}  # fmt: skip
    assert g.bases_needed("gdrf-table1", 0.002, ["GDRF, features at H/4, 5 s"], True) == [
        "gdrf_quarter"
    ]
    # the gin files bind the stride in both the base model and the fine-tune
    root = Path(__file__).resolve().parents[2] / "benchmarks" / "gin-configs" / "gdrf"
    for name in ("pretrain_quarter.gin", "finetune_quarter.gin"):
        assert "GDRF.feature_stride = 4" in (root / name).read_text()
    # an ablation row without --ablations, or --ablations on a table without such rows
    with pytest.raises(ValueError, match=r"an ablation row needs --ablations"):
        g.chosen_plan("gdrf-table1", 0.002, ["GDRF, features at H/4, 5 s"])
    with pytest.raises(ValueError, match="--ablations: gdrf-table5 has no ablation rows"):
        g.chosen_plan("gdrf-table5", 0.002, None, ablations=True)


@pytest.mark.parametrize(
    "row, gin, binding, claims",
    [("GDRF, silhouette loss", "finetune_silhouette", "GDRF.lambda_silhouette = 0.1",
      ["gdrf_scratch", "gdrf_dfrf"]),
     ("GDRF, neck as background", "finetune_neck", "GDRF.lambda_neck = 0.1", ["gdrf_scratch"])],
)  # fmt: skip
def test_table1_ablations_add_the_alpha_term_rows_fine_tuned_from_gdrfs_own_base(
    row, gin, binding, claims
):
    bundles = dict(BUNDLES, gdrf_quarter="/b/gdrf_quarter")
    rows = g.methods("gdrf-table1", 0.002, CLIPS, bundles, "micro", ablations=True)
    sil = next(r for r in rows if r["name"] == f"{row}, 5 s")
    gdrf = next(r for r in rows if r["name"] == "GDRF, 5 s")
    assert sil["configs"][0] == f"benchmarks/gin-configs/gdrf/{gin}.gin"
    assert sil["configs"][1:] == gdrf["configs"][1:] and sil["data"] == gdrf["data"]
    assert sil["bindings"] == gdrf["bindings"]  # the same base model and steps
    assert sil["ablation"]["baseline"] == "GDRF, 5 s"
    assert sil["ablation"]["claims"] == claims
    assert g.bases_needed("gdrf-table1", 0.002, [f"{row}, 5 s"], True) == ["gdrf"]
    root = Path(__file__).resolve().parents[2] / "benchmarks" / "gin-configs" / "gdrf"
    text = (root / f"{gin}.gin").read_text()
    base = (root / "finetune.gin").read_text()
    # the fine-tune's own bindings, and the row's term on top
    assert binding in text
    for line in base.splitlines():
        if line and not line.startswith("#"):
            assert line in text


def test_table1_ablations_add_the_bf16_row_fine_tuned_from_gdrfs_own_base():
    """The bf16 row: GDRF's fine-tune with configs/bf16.gin added (float32 for the first
    quarter, then bf16 autocast), from GDRF's own base model, at the same clip and steps."""
    bundles = dict(BUNDLES, gdrf_quarter="/b/gdrf_quarter")
    rows = g.methods("gdrf-table1", 0.002, CLIPS, bundles, "micro", ablations=True)
    bf16 = next(r for r in rows if r["name"] == f"{g.BF16}, 5 s")
    gdrf = next(r for r in rows if r["name"] == "GDRF, 5 s")
    assert bf16["configs"][0] == "benchmarks/gin-configs/gdrf/finetune_bf16.gin"
    assert bf16["configs"][1:] == gdrf["configs"][1:] and bf16["data"] == gdrf["data"]
    assert bf16["bindings"] == gdrf["bindings"]
    assert bf16["ablation"]["baseline"] == "GDRF, 5 s" and bf16["ablation"]["claims"] == []
    assert g.bases_needed("gdrf-table1", 0.002, [f"{g.BF16}, 5 s"], True) == ["gdrf"]
    root = Path(__file__).resolve().parents[2] / "benchmarks" / "gin-configs" / "gdrf"
    text = (root / "finetune_bf16.gin").read_text()
    assert "include 'lokitalk_plugins/configs/bf16.gin'" in text
    for line in (root / "finetune.gin").read_text().splitlines():
        if line and not line.startswith("#"):
            assert line in text


def test_the_markdown_names_each_ablation_row_and_its_seeds():
    report = _report("gdrf-table1", lambda i: {"sync_conf": 0.5, "sync_offset": 0})
    half = dict(report["results"][5], method="GDRF, features at H/4, 5 s",
                row="GDRF, features at H/4",
                ablation={"claims": ["gdrf_dfrf"], "isolates": "finer volumes",
                          "baseline": "GDRF, 5 s"})  # fmt: skip
    report["results"].append(half)
    report.update(seeds=[0, 1, 2], ablation_seeds={"GDRF, features at H/4, 5 s": 1})
    md = g.markdown(report)
    assert ("- GDRF, features at H/4, 5 s: finer volumes (base row: 'GDRF, 5 s'; speaks to "
            "gdrf_dfrf)") in md  # fmt: skip
    assert "Every row but 'GDRF, features at H/4, 5 s' (seed 0 only): mean ± sample std" in md
