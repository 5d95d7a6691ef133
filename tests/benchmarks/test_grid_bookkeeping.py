"""benchmarks/grid_bookkeeping.py at 32^3: every setting timed for both backends, the grids
end bit for bit the same, the markdown; bad arguments and an existing report refused."""

from __future__ import annotations

import json

import pytest

SCRIPT = "grid_bookkeeping.py"


def test_quick_run_times_both_backends_and_they_agree(tmp_path, run_script):
    out = tmp_path / "out"
    proc = run_script(SCRIPT, "--quick", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "grid_bookkeeping.json").read_text())
    rows = report["rows"]
    assert [r["setting"].split(" ")[0].strip(",") for r in rows] == [
        "full",
        "sparse",
        "sparse",
        "spread",
    ]
    for r in rows:
        assert r["resolution"] == 32 and r["ms_torch"] > 0 and r["ms_fused"] > 0
        # from the unrounded medians
        assert r["speedup"] == pytest.approx(r["ms_torch"] / r["ms_fused"], rel=0.1)
        assert r["bit_for_bit"] is True
        assert 0 < r["occupied_share"] < r["valid_share"] < 1  # the synthetic state
        assert len(r["rounds_ms"]["torch"]) == len(r["rounds_ms"]["auto"]) == 2
    chunks = report["chunks"]  # the whole-refresh part: quick mode's two chunk sizes
    assert {(r["precision"], r["chunk"]) for r in chunks} >= {("float32", 1024), ("float32", 4096)}
    assert all(r["ms"] > 0 for r in chunks) and chunks[0]["speedup_vs_first_chunk"] == 1.0
    md = (out / "grid_bookkeeping.md").read_text()
    assert "| 32^3 | full (the originals') |" in md and "| yes |" in md
    assert "| 32^3 | float32 | 4096 |" in md
    again = run_script(SCRIPT, "--quick", "--out", str(out))
    assert again.returncode == 2 and "pass --force" in again.stderr.strip().splitlines()[-1]


def test_bad_arguments_are_refused_in_one_line(tmp_path, run_script):
    for args, words in ((["--resolutions", "48"], "not a power of two"),
                        (["--rounds", "0"], "--rounds must be >= 1"),
                        (["--chunks", "0"], "not a positive number")):  # fmt: skip
        proc = run_script(SCRIPT, *args, "--out", str(tmp_path))
        assert proc.returncode == 2 and words in proc.stderr.strip().splitlines()[-1]
