"""benchmarks/sample_cap.py: where the cap of occupied samples a ray stops rays, by region."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import sample_cap  # noqa: E402


@pytest.mark.slow
def test_alpha_grows_with_the_cap_and_the_counts_match_a_direct_march(rsdf_workspace, tmp_path):
    import torch

    from lokitalk_plugins.commands.workspace import load_dataset, load_system
    from lokitalk_plugins.data.studio import load_truth

    system, run, stage = load_system(rsdf_workspace)
    val = load_dataset(run, stage, "val", progress=False)
    truth = load_truth(run["data"])
    prof = sample_cap.cap_profile(system, val, truth, [1, 4, 16, 0], every=2)
    assert prof["trained_cap"] == 16 and system.renderer.max_samples == 16  # restored
    assert system.renderer.cap_inference
    for reg, r in prof["regions"].items():
        alphas = [r["caps"][c]["alpha"] for c in ("1", "4", "16", "0")]
        assert all(0.0 <= a <= 1.0 + 1e-6 for a in alphas), reg
        assert all(b >= a - 1e-6 for a, b in zip(alphas, alphas[1:])), (reg, alphas)
        assert 0.0 <= r["over_cap"] <= 1.0 and r["samples"] >= 0.0
    # the counts: a direct, uncapped march of one frame's rays, pooled by region
    from harness.measures import region_masks_of

    frame = val[0]
    counts = sample_cap._occupied_counts(system, frame).reshape(frame.H, frame.W)
    one = sample_cap.cap_profile(system, [frame], truth, [16], every=1)
    for reg, m in region_masks_of(frame, truth).items():
        m = torch.from_numpy(m)
        if m.any():
            r = one["regions"][reg]
            assert r["samples"] == pytest.approx(float(counts[m].float().mean()))
            assert r["over_cap"] == pytest.approx(float((counts[m] > 16).float().mean()))


@pytest.mark.slow
def test_the_script_writes_its_files_and_refuses_to_overwrite(rsdf_workspace, tmp_path, capsys):
    out = tmp_path / "out"
    assert sample_cap.main([str(rsdf_workspace), "--out", str(out), "--caps", "16", "0"]) == 0
    report = json.loads((out / "sample_cap.json").read_text())
    assert report["caps"] == [16, 0] and report["results"][0]["stage"] == "head"
    md = (out / "sample_cap.md").read_text()
    assert "| run | head |" in md and "no cap: alpha" in md
    with pytest.raises(SystemExit):
        sample_cap.main([str(rsdf_workspace), "--out", str(out)])
    assert "exists: pass --force" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        sample_cap.main([str(tmp_path), "--out", str(tmp_path / "o2")])
    assert "is no workspace (no run.json)" in capsys.readouterr().err
