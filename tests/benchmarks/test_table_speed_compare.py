"""benchmarks/table_speed_compare.py: two runs of one table side by side."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import table_speed_compare as tsc  # noqa: E402


def _report(commit, wall, rows, **extra):
    return dict(table="table2", profile="default", commit=commit, command="python run.py",
                wall_seconds=wall, load_at_start=0.1,
                machine={"jobs_in_parallel": 2, "cpu_count": 2, "platform": "linux"},
                results=rows, **extra)  # fmt: skip


def _row(name, seconds, head_seconds, psnr, seeds=None):
    row = {"method": name, "train_seconds": seconds, "metrics": {"psnr": psnr},
           "stages": {"head": {"steps": 400, "wall_time": head_seconds}}}  # fmt: skip
    if seeds:
        row["seeds"] = seeds
    return row


def test_compare_gives_wall_and_row_ratios_on_seed_0():
    base = _report("a" * 40, 900.0, [_row("O", 300.0, 200.0, 27.0), _row("gone", 10, 5, 1.0)])
    seeds = [{"seed": 0, "train_seconds": 150.0, "metrics": {"psnr": 27.5}},
             {"seed": 1, "train_seconds": 170.0, "metrics": {"psnr": 26.5}}]  # fmt: skip
    new = _report("b" * 40, 600.0, [_row("O", 160.0, 100.0, 27.0, seeds), _row("new", 1, 1, 2)])
    r = tsc.compare(base, new)
    assert r["wall_ratio"] == pytest.approx(1.5)
    o = r["rows"][0]
    assert o["method"] == "O" and o["train_ratio"] == pytest.approx(2.0)  # seed 0's 150 s
    assert o["head_rate_ratio"] == pytest.approx(2.0)  # 4 against 2 steps a second
    assert o["psnr_difference"] == pytest.approx(0.5)
    assert [x["method"] for x in r["rows"]] == ["O", "gone", "new"]
    assert r["rows"][1]["new"] is None and "train_ratio" not in r["rows"][2]
    md = tsc.markdown(r)
    assert "**End to end: 1.50x**" in md
    assert "| O | 300 | 150 | 2.00x | 2.00 | 4.00 | 2.00x | 27.00 | 27.50 | 0.50 |" in md
    assert "| gone | 10 |  |  |" in md


def test_reports_of_different_tables_are_refused():
    base, new = _report("a", 1.0, []), _report("b", 1.0, [])
    new["profile"] = "quick"
    with pytest.raises(ValueError, match="differ in profile: 'default' against 'quick'"):
        tsc.compare(base, new)


def test_the_command_line_writes_both_files_and_overwrites_only_with_force(tmp_path, capsys):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(_report("a" * 40, 100.0, [_row("O", 50, 40, 27.0)])))
    b.write_text(json.dumps(_report("b" * 40, 50.0, [_row("O", 25, 20, 27.1)])))
    out = tmp_path / "res" / "cmp"
    assert tsc.main([str(a), str(b), "--out", str(out)]) == 0
    assert json.loads(out.with_suffix(".json").read_text())["wall_ratio"] == 2.0
    assert "**End to end: 2.00x**" in out.with_suffix(".md").read_text()
    with pytest.raises(SystemExit):
        tsc.main([str(a), str(b), "--out", str(out)])
    assert "pass --force to overwrite" in capsys.readouterr().err
    assert tsc.main([str(a), str(b), "--out", str(out), "--force"]) == 0
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(SystemExit):
        tsc.main([str(a), str(tmp_path / "bad.json"), "--out", str(tmp_path / "x")])
    assert "not a report of benchmarks/run.py (no ['table'" in capsys.readouterr().err
