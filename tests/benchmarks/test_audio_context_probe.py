"""benchmarks/audio_context_probe.py: ridge probes from audio windows with more or less context
to the studio's true mouth."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import audio_context_probe as acp  # noqa: E402


def test_windows_stack_the_neighbours_clamped_at_the_ends():
    aud = np.arange(5, dtype=np.float32)[:, None, None] * np.ones((1, 2, 1), np.float32)
    x = acp.windows(aud, 3)
    assert x.shape == (5, 6)
    assert x[0].tolist() == [0, 0, 0, 0, 1, 1]  # frame -1 clamped to frame 0
    assert x[2].tolist() == [1, 1, 2, 2, 3, 3]
    assert x[4].tolist() == [3, 3, 4, 4, 4, 4]
    assert acp.windows(aud, 1).tolist() == aud.reshape(5, -1).tolist()


def test_a_lagged_target_needs_context_and_a_present_one_does_not():
    g = np.random.default_rng(0)
    n = 400
    aud = g.normal(size=(n, 2, 3))
    w = g.normal(size=6)
    now = aud.reshape(n, -1) @ w
    lagged = np.roll(now, 3)  # the frame 3 before's window
    train, val = np.arange(0, 340), np.arange(350, n)  # the val frames after a gap
    assert acp.probe(acp.windows(aud, 1), now, train, val)["r2"] > 0.99
    assert acp.probe(acp.windows(aud, 1), lagged, train, val)["r2"] < 0.2
    assert acp.probe(acp.windows(aud, 7), lagged, train, val)["r2"] > 0.95
    assert np.isnan(acp.r2(np.ones(4), np.zeros(4)))
    assert acp.r2(np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 2.0])) == pytest.approx(0.0)


def test_the_script_on_a_studio_identity(tmp_path, capsys):
    from lokitalk_plugins.data.studio import write_identity

    data = write_identity(tmp_path / "id000", seconds=8.0, size=32, seed=0)
    out = tmp_path / "o" / "probe.json"
    assert acp.main(["--data", str(data), "--contexts", "1", "3", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["contexts"] == [1, 3] and set(report["r2"]["1"]) == {"jaw", "lip_width"}
    # the studio's jaw follows the frame's own syllable: one window reads most of it
    assert report["r2"]["1"]["jaw"]["r2"] > 0.5
    assert report["r2"]["1"]["jaw"]["lambda"] in acp.LAMBDAS
    assert "| 3 |" in out.with_suffix(".md").read_text()
    capsys.readouterr()
    for argv, message in (
        (["--data", str(data), "--out", str(out)], "exists; pass --force"),
        (["--data", str(data), "--contexts", "2"], "--contexts: 2 is not an odd number"),
        (["--data", str(tmp_path)], "no aud.npy"),
    ):
        with pytest.raises(SystemExit):
            acp.main(argv)
        assert message in capsys.readouterr().err
