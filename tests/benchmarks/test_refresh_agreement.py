"""benchmarks/refresh_agreement.py: the deformed refresh on the lattice against the exact one
on a trained ER-NeRF + RSDF workspace; bad arguments and what is not a workspace refused in
one line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import refresh_agreement  # noqa: E402


@pytest.mark.parametrize(
    "extra, message",
    [([], "no workspace (no run.json)"),
     (["--vertices", "1"], "--vertices [1]: 0 (the exact deformation)"),
     (["--refreshes", "1"], "--refreshes must be >= 2"),
     (["--fraction", "2"], "--fraction 2.0: a share in [0, 1]")],
)  # fmt: skip
def test_refusals_in_one_line(tmp_path, capsys, extra, message):
    with pytest.raises(SystemExit):
        refresh_agreement.main([str(tmp_path), "--out", str(tmp_path / "o"), *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1]
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_a_run_on_a_trained_rsdf_workspace(rsdf_workspace, tmp_path, capsys):
    out = tmp_path / "out"
    args = [str(rsdf_workspace), "--out", str(out), "--vertices", "0", "5", "65",
            "--refreshes", "2"]  # fmt: skip
    assert refresh_agreement.main(args) == 0
    rep = json.loads((out / "refresh_agreement.json").read_text())
    m = rep["workspaces"][str(rsdf_workspace)]
    assert m["resolution"] == 32 and len(m["cells"]) == 2 and min(m["cells"]) > 0
    assert 0 <= m["noise_floor"][0] <= 1 and 0 < m["exact_occupied"][0] <= 1
    s = m["settings"]
    assert set(s) == {"0", "5", "65"} and "offset_error_cells" not in s["0"]
    assert all(0 <= s[v]["disagreement"][0] <= 1 for v in s)
    # a vertex every half cell reads the deformation far closer than one every 8 cells
    e5, e65 = s["5"]["offset_error_cells"], s["65"]["offset_error_cells"]
    assert e65["q90"] < e5["q90"] and e65["q50"] <= e65["q90"] <= e65["max"]
    md = (out / "refresh_agreement.md").read_text()
    assert "| 65^3 vertices |" in md and "noise floor" in md
    with pytest.raises(SystemExit):
        refresh_agreement.main(args)
    assert "--force" in capsys.readouterr().err
