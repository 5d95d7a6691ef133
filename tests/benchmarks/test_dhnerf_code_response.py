"""benchmarks/dhnerf_code_response.py: refusals in one line; on a trained DH-NeRF it is run by
the micro table's test (tests/benchmarks/test_dhnerf_tables.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import dhnerf_code_response  # noqa: E402


def test_refuses_what_is_not_a_trained_workspace(tmp_path, capsys):
    assert dhnerf_code_response.main(["--workspaces", str(tmp_path),
                                      "--out", str(tmp_path / "o")]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "no checkpoints/latest.pt and run.json there" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_refuses_workspaces_on_two_folders_or_without_truth(tmp_path, capsys):
    def ws(name, data):
        w = tmp_path / name
        (w / "checkpoints").mkdir(parents=True)
        (w / "checkpoints" / "latest.pt").write_bytes(b"")
        (w / "run.json").write_text(json.dumps({"data": str(data)}))
        return str(w)

    a, b = ws("a", tmp_path / "x"), ws("b", tmp_path / "y")
    assert dhnerf_code_response.main(["--workspaces", a, b, "--out", str(tmp_path / "o")]) == 2
    assert "train on different folders" in capsys.readouterr().err
    assert dhnerf_code_response.main(["--workspaces", a, "--out", str(tmp_path / "o")]) == 2
    assert "which has no studio truth beside it" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_refuses_a_model_that_is_not_a_dhnerf(rsdf_workspace, tmp_path, capsys):
    out = tmp_path / "o"
    assert dhnerf_code_response.main(["--workspaces", str(rsdf_workspace), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "its model is a WrappedModel, not a DH-NeRF; give a trained DH-NeRF workspace" in err
    assert not out.exists()
