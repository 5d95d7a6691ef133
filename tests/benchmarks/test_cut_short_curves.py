"""benchmarks/cut_short_curves.py: each row's cut_short and sample cap from its seeds' logs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import cut_short_curves  # noqa: E402

HEADER = "step,wall_time,loss,psnr,cut_short,sample_cap,val_psnr\n"


def _workspace(root: Path, name: str, lines: list[str]) -> Path:
    ws = root / name
    (ws / "logs").mkdir(parents=True)
    (ws / "logs" / "head.csv").write_text(HEADER + "".join(lines))
    return ws


def _steps(cuts, caps, wall=6.0):
    """Log lines at steps 10, 20, ...; a validation line (no cut_short) after the second."""
    lines = []
    for i, (c, cap) in enumerate(zip(cuts, caps, strict=True)):
        step = 10 * (i + 1)
        lines.append(f"{step},{wall * (i + 1)},0.1,25.0,{c},{'' if cap is None else cap},\n")
        if i == 1:
            lines.append(f"{step},{wall * (i + 1)},,,,,26.0\n")
    return lines


def test_rows_summarise_their_seeds_logs_and_the_files_are_written(tmp_path):
    cuts_a = [0.5, 0.4, 0.3, 0.2, 0.2, 0.1, 0.1, 0.1, 0.1, 0.04]
    caps_a = [16, 16, 16, 32, 32, 32, 48, 48, 48, 48]
    cuts_b = [0.3, 0.2, 0.2, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.06]
    caps_b = [16] * 5 + [32] * 5
    a = _workspace(tmp_path, "ws_odr", _steps(cuts_a, caps_a))
    b = _workspace(tmp_path, "ws_odr_seed_1", _steps(cuts_b, caps_b))
    fixed = _workspace(tmp_path, "ws_o", _steps([0.1] * 10, [None] * 10, wall=3.0))
    report = {"commit": "abc", "results": [
        {"method": "O+D+R, cap follows cut_short", "workspace": str(a),
         "seeds": [{"seed": 0, "workspace": str(a)}, {"seed": 1, "workspace": str(b)}]},
        {"method": "O", "workspace": str(fixed)},
        {"method": "gone", "workspace": str(tmp_path / "missing")},
    ]}  # fmt: skip
    path = tmp_path / "table2.json"
    path.write_text(json.dumps(report))
    assert cut_short_curves.main([str(path), "--out", str(tmp_path / "out")]) == 0
    data = json.loads((tmp_path / "out" / "table2_cut_short.json").read_text())
    rows = {r["method"]: r for r in data["rows"]}
    assert set(rows) == {"O+D+R, cap follows cut_short", "O"}  # no log: left out
    s0, s1 = rows["O+D+R, cap follows cut_short"]["seeds"]
    # the last tenth of 100 steps: step 100 alone
    assert s0["cut_short_first"] == 0.5 and s0["cut_short_late"] == pytest.approx(0.04)
    assert (s0["cap_start"], s0["cap_end"], s0["cap_rose_at"]) == (16, 48, 40)
    assert (s1["cap_end"], s1["cap_rose_at"]) == (32, 60) and s1["minutes"] == 1.0
    series = rows["O+D+R, cap follows cut_short"]
    assert series["steps"][:2] == [10, 20] and series["cut_short"][0] == pytest.approx(0.4)
    assert series["sample_cap"][3] == 24.0  # the seeds' mean: 32 and 16 at step 40
    o = rows["O"]["seeds"][0]
    assert o["cap_end"] is None and o["cap_rose_at"] is None and o["minutes"] == 0.5
    assert rows["O"]["sample_cap"] == [None] * 10
    md = (tmp_path / "out" / "table2_cut_short.md").read_text()
    assert "| O+D+R, cap follows cut_short | 2 | 0.400 ± 0.141 | 0.050 ± 0.014 | 48, 32 | " \
        "40, 60 | 1.0 ± 0.0 |" in md  # fmt: skip
    assert "| O | 1 | 0.100 ± 0.000 | 0.100 ± 0.000 | fixed | - | 0.5 ± 0.0 |" in md
    assert (tmp_path / "out" / "table2_cut_short.png").stat().st_size > 0
    # the files are never overwritten without --force
    with pytest.raises(SystemExit):
        cut_short_curves.main([str(path), "--out", str(tmp_path / "out")])
    assert cut_short_curves.main([str(path), "--out", str(tmp_path / "out"), "--force"]) == 0


def test_a_file_that_is_not_a_table_or_has_no_logs_is_refused_in_one_line(tmp_path, capsys):
    bad = tmp_path / "notes.json"
    bad.write_text("[1, 2]")
    with pytest.raises(SystemExit):
        cut_short_curves.main([str(bad)])
    assert "not a table's JSON with 'results'" in capsys.readouterr().err
    empty = tmp_path / "table2.json"
    empty.write_text(json.dumps({"results": [{"method": "O", "workspace": str(tmp_path)}]}))
    with pytest.raises(SystemExit):
        cut_short_curves.main([str(empty)])
    assert "no row's workspace has logs/head.csv with cut_short" in capsys.readouterr().err
