"""benchmarks/harness/measures.py: the sync reference rows, cells and notes the tables print."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from harness import measures  # noqa: E402


def test_reference_rows_are_the_ceiling_and_the_floor(tmp_path):
    from lokitalk_plugins.data.studio import write_identity

    folder = write_identity(tmp_path / "id", identity=1, seconds=4.0, size=32, seed=0)
    top, floor = measures.reference_rows(folder)
    assert top["method"].startswith("ground truth") and floor["method"].startswith("one static")
    assert top["metrics"]["sync_offset"] == 0 and top["metrics"]["sync_conf"] > 0.3
    assert floor["metrics"]["sync_conf"] == 0.0 and floor["metrics"]["sync_max_offset"] >= 2
    lines = measures.reference_lines([top, floor], 5, 2)
    assert lines[1] == "| *one static frame (floor)* | — | 0.00 (no peak) | — | — |"


def test_cells_and_notes():
    assert measures.sync_cell({"sync_conf": 0.456, "sync_offset": -3}) == "0.46 (-3)"
    assert measures.sync_cell({"sync_conf": None}) == "n/a"
    rows = [
        {
            "method": "O",
            "metrics": {"lmd": None, "sync_max_offset": 0},
            "eval": {"landmark_detector": "none", "landmark_detector_note": "the extra is missing"},
        }
    ]
    report = {"results": rows, "files": {"maps": "m.png"}}
    assert measures.lmd_note(report) == (
        "Landmark detector for LMD: none. LMD n/a: the extra is missing."
    )
    assert "too short" in measures.max_offset_text(report)
    assert measures.fig5_lines(report) == []  # no method with maps
    rows.append({"method": "O+D+R", "metrics": {"region_shares": {"att_lip": 0.75}}})
    table = measures.fig5_lines(report)
    assert "`m.png`" in table[0] and "| O+D+R | 0.75 | n/a |" in "\n".join(table)
    rows[0]["eval"]["landmark_detector"] = "mediapipe-facemesh"
    assert "mediapipe-facemesh (n/a: no face found" in measures.lmd_note(report)
