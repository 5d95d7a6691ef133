"""benchmarks/harness/measures.py: the sync reference rows, cells and notes the tables print."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

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
    # a seeded row: each seed's offset, not their mean
    seeded = {"metrics": {"sync_conf": 0.6, "sync_offset": 14 / 3},
              "metrics_std": {"sync_conf": 0.24},
              "seeds": [{"metrics": {"sync_offset": o}} for o in (0, 0, 14)]}  # fmt: skip
    assert measures.row_sync_cell(seeded) == "0.60 ± 0.24 (0, 0, +14)"
    seeded["seeds"][1]["metrics"]["sync_offset"] = None
    assert measures.row_sync_cell(seeded) == "0.60 ± 0.24 (0, no peak, +14)"
    one = {"metrics": {"sync_conf": 0.5, "sync_offset": -2}, "seeds": [{"metrics": {}}]}
    assert measures.row_sync_cell(one) == "0.50 (-2)"
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


def test_region_psnr_splits_the_error_by_the_studio_labels(tmp_path):
    import math

    import numpy as np
    import torch

    from lokitalk_plugins.data import TalkingHeadFolder
    from lokitalk_plugins.data.studio import BACKGROUND, load_truth, write_identity

    folder = write_identity(tmp_path / "id", identity=0, seconds=2.0, size=32, seed=0)
    val, truth = TalkingHeadFolder(folder, split="val", progress=False), load_truth(folder)

    class OffOnTheBackground:  # the ground truth, 0.1 too bright on background pixels only
        def render_frame(self, frame):
            bg = torch.from_numpy(np.asarray(truth.labels[frame.img_id]) == BACKGROUND)
            return {"rgb": frame.image + 0.1 * bg[..., None].to(frame.image.dtype)}

    out = measures.region_psnr(OffOnTheBackground(), val, truth, every=1)
    assert out["psnr_bg"] == pytest.approx(20.0, abs=1e-3)  # -10 log10(0.1^2)
    assert out["psnr_head"] == out["psnr_torso"] == pytest.approx(100.0)  # clamped at 1e-10
    assert not math.isnan(out["psnr_bg"])
