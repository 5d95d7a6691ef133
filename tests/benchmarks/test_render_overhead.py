"""benchmarks/render_overhead.py: the per-sample ratios of the five settings, written as JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import render_overhead  # noqa: E402


def test_time_call_takes_the_median_after_a_warm_up():
    calls = []
    assert render_overhead.time_call(lambda: calls.append(1), 3) >= 0.0 and len(calls) == 4


def test_settings_are_timed_in_turn_each_round():
    calls, ticks = [], iter(range(100))
    fns = {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}
    # a clock that advances 1 per reading: every call measures exactly 1
    secs = render_overhead.time_side_by_side(fns, 3, clock=lambda: float(next(ticks)))
    assert calls == ["a", "b"] + ["a", "b"] * 3 and secs == {"a": 1.0, "b": 1.0}


def test_writes_the_ratios(tmp_path, capsys):
    out = tmp_path / "o.json"
    args = ["--points", "512", "--repeats", "1", "--bake-resolution", "8", "--out", str(out)]
    assert render_overhead.main(args) == 0
    rep = json.loads(out.read_text())
    assert set(rep["ratio_to_bare"]) == {"bare", "rsdf", "rsdf_fast", "lokitalk", "lokitalk_fast"}
    assert rep["ratio_to_bare"]["bare"] == 1.0 and rep["per_sample_ratio"] > 0
    assert rep["per_sample_ratio"] == rep["ratio_to_bare"]["lokitalk_fast"]
    assert rep["timer"] == "process_time"  # one thread: CPU seconds of this process
    assert "render_ratio" in rep["whole_pipeline_note"] and "wrote" in capsys.readouterr().out
