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


def test_markdown_puts_the_paper_beside_each_row():
    methods = g.methods("gdrf-table1", 0.002, CLIPS, BUNDLES, "micro")
    rows = [dict(m, method=m["name"], metrics=dict(psnr=20.0 + i, ssim=0.5, lpips=None,
                                                   lmd=None, lip_sync=0.25))
            for i, m in enumerate(methods)]  # fmt: skip
    report = dict(table="gdrf-table1", settings=g.SETTINGS["micro"], profile="micro",
                  data_label="the studio", results=rows)  # fmt: skip
    md = g.markdown(report)
    assert "15k -> 30" in md and "stand-in for DFRF" in md and "Table 3:" in md
    line = next(x for x in md.splitlines() if x.startswith("| GDRF, 5 s"))
    assert "| 27.00 |" in line and "29.260" in line and "3.900" in line
    line = next(x for x in md.splitlines() if x.startswith("| RAD-NeRF, 3 s"))
    assert "14.360" in line and line.rstrip().endswith("n/a |")
