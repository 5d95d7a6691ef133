"""benchmarks/error_regions.py and harness.measures.region_alpha: where a field's error and
alpha lie by studio region."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import error_regions  # noqa: E402
from harness.measures import region_alpha, region_alpha_summary  # noqa: E402

from lokitalk_plugins.data.studio import BACKGROUND, FACE, TORSO  # noqa: E402


def _frame():
    """A 10x10 frame: a 2x2 head at rows 2-3, cols 2-3; the bottom row torso; the rest
    background. Truth and background image grey 0.5; the rendering off by 0.1 at the head, by
    0.2 at one background pixel beside the head and one far from it."""
    labels = np.full((10, 10), BACKGROUND)
    labels[2:4, 2:4] = FACE
    labels[9, :] = TORSO
    image = torch.full((10, 10, 3), 0.5)
    background = image.clone()
    background[9, :] = 0.3  # the background image misses the torso by 0.2
    rgb = image.clone()
    rgb[2:4, 2:4] += 0.1
    rgb[4, 3] += 0.2  # one pixel below the head: within 1 px of it
    rgb[7, 8] += 0.2  # far from the head
    alpha = torch.zeros(10, 10)
    alpha[2:4, 2:4] = 1.0
    alpha[4, 3] = 0.5
    alpha[7, 8] = 0.05  # not covered (alpha <= 0.1)
    alpha[0, 9] = 0.2  # covered, far from the head, no error
    frame = SimpleNamespace(image=image, background=background, img_id=0)
    truth = SimpleNamespace(labels={0: labels})
    return rgb, alpha, frame, truth


def test_region_alpha_sums_each_region_by_hand():
    rgb, alpha, frame, truth = _frame()
    s = region_alpha(rgb, alpha, frame, truth, near=1)
    assert s["head"]["pixels"] == 4 and s["torso+neck"]["pixels"] == 10
    assert s["background"]["pixels"] == 100 - 4 - 10
    assert s["head"]["sq_error"] == pytest.approx(4 * 0.01, rel=1e-5)
    assert s["head"]["alpha"] == pytest.approx(4.0) and s["head"]["covered"] == 4
    bg = s["background"]
    assert bg["sq_error"] == pytest.approx(2 * 0.04, rel=1e-5)
    assert bg["near_head_sq_error"] == pytest.approx(0.04, rel=1e-5)  # the pixel below the head
    assert bg["alpha"] == pytest.approx(0.5 + 0.05 + 0.2)
    assert bg["covered"] == 2 and bg["covered_far"] == 1  # (4, 3) near, (0, 9) far
    assert bg["background_sq_error"] == 0.0
    assert s["torso+neck"]["background_sq_error"] == pytest.approx(10 * 0.04, rel=1e-5)
    summary = region_alpha_summary(s)
    assert summary["background"]["near_head_error_share"] == pytest.approx(0.5)
    assert summary["background"]["covered_share"] == pytest.approx(2 / 86)
    assert summary["background"]["psnr"] == pytest.approx(-10 * np.log10(0.08 / 86), rel=1e-5)
    assert summary["torso+neck"]["background_image_psnr"] == pytest.approx(
        -10 * np.log10(0.04), rel=1e-5)  # fmt: skip
    assert summary["torso+neck"]["near_head_error_share"] is None  # no error there
    # a wider outline takes in the far pixel too: (7, 8) is 5 px from the head (the square)
    wide = region_alpha_summary(region_alpha(rgb, alpha, frame, truth, near=6))
    assert wide["background"]["near_head_error_share"] == pytest.approx(1.0)


def test_labels_split_the_head_by_the_studios_labels():
    """labels=True: each head label is a region of its own, the head's sums split among them,
    and torso + neck split into neck and torso (the frame's three regions unchanged); a label
    with no pixels sums to nothing."""
    from lokitalk_plugins.data.studio import HAIR, NECK

    rgb, alpha, frame, truth = _frame()
    truth.labels[0][2, 2] = HAIR  # one head pixel hair, three face
    truth.labels[0][9, :3] = NECK  # three of the bottom row's pixels neck, seven torso
    alpha[9, :3] = 0.6  # the field covers the neck: drawn as the truth there
    rgb[9, :3] = frame.image[9, :3]
    plain = region_alpha(rgb, alpha, frame, truth, near=1)
    s = region_alpha(rgb, alpha, frame, truth, near=1, labels=True)
    assert {k: v for k, v in s.items() if ": " not in k} == plain
    neck, torso = s["torso+neck: neck"], s["torso+neck: torso"]
    assert neck["pixels"] == 3 and torso["pixels"] == 7
    assert neck["covered"] == 3 and torso["covered"] == 0
    assert neck["sq_error"] == 0.0 and torso["sq_error"] == 0.0
    # the background image alone misses both by 0.2: what leaving the neck to it would score
    assert neck["background_sq_error"] == pytest.approx(3 * 0.04, rel=1e-5)
    for key in ("pixels", "sq_error", "alpha", "covered", "background_sq_error"):
        assert neck[key] + torso[key] == pytest.approx(s["torso+neck"][key])
    assert s["head: face"]["pixels"] == 3 and s["head: hair"]["pixels"] == 1
    assert s["head: face"]["sq_error"] == pytest.approx(3 * 0.01, rel=1e-5)
    assert s["head: face"]["alpha"] == pytest.approx(3.0)
    assert s["head: teeth"]["pixels"] == 0 and s["head: teeth"]["sq_error"] == 0.0
    parts = [v for k, v in s.items() if k.startswith("head: ")]
    for key in ("pixels", "sq_error", "alpha", "covered"):
        assert sum(p[key] for p in parts) == pytest.approx(s["head"][key])
    assert region_alpha_summary(s)["head: teeth"]["psnr"] is None


def test_method_of_reads_the_harness_row_or_the_folder(tmp_path):
    ws = tmp_path / "ws_gdrf__5_s_seed_1"
    ws.mkdir()
    assert error_regions.method_of(ws) == "gdrf__5_s"
    (tmp_path / "row_other.json").write_text(json.dumps({"workspace": "elsewhere/ws_x"}))
    (tmp_path / "row_bad.json").write_text("{")
    (tmp_path / "row_gdrf__5_s_seed_1.json").write_text(
        json.dumps({"workspace": str(ws), "method": "GDRF, 5 s"}))  # fmt: skip
    assert error_regions.method_of(ws) == "GDRF, 5 s"


def test_reuse_takes_a_workspaces_own_report_only_when_it_is_current(tmp_path):
    import os

    ws = tmp_path / "ws_m"
    (ws / "checkpoints").mkdir(parents=True)
    ckpt = ws / "checkpoints" / "head.pt"
    ckpt.write_bytes(b"x")
    report = ws / "error_regions.json"
    report.write_text(json.dumps({"every": 3, "near_px": 3, "labels": True, "regions": {}}))
    os.utime(ckpt, (1000, 1000))
    os.utime(report, (2000, 2000))
    assert error_regions.reusable(ws, 3, 3, True)["labels"] is True
    # measured with other options: rendered again
    assert error_regions.reusable(ws, 4, 3, True) is None
    assert error_regions.reusable(ws, 3, 2, True) is None
    assert error_regions.reusable(ws, 3, 3, False) is None
    # the workspace changed after it (trained again): rendered again
    os.utime(ckpt, (3000, 3000))
    assert error_regions.reusable(ws, 3, 3, True) is None
    # a report without the options (written before they were recorded), or unreadable
    report.write_text(json.dumps({"near_px": 3, "regions": {}}))
    assert error_regions.reusable(ws, 3, 3, False) is None
    report.write_text("{")
    assert error_regions.reusable(ws, 3, 3, True) is None
    assert error_regions.reusable(tmp_path / "missing", 3, 3, True) is None
    # --uncapped keeps its own report beside: each reused for its own option, and writing one
    # does not make the other stale
    report.write_text(json.dumps({"every": 3, "near_px": 3, "labels": True, "regions": {}}))
    os.utime(ckpt, (1000, 1000))
    os.utime(report, (2000, 2000))
    other = ws / "error_regions_uncapped.json"
    assert error_regions.own_report(ws, True) == other
    other.write_text(json.dumps({"every": 3, "near_px": 3, "labels": True, "uncapped": True}))
    os.utime(other, (4000, 4000))
    assert error_regions.reusable(ws, 3, 3, True)["regions"] == {}
    assert error_regions.reusable(ws, 3, 3, True, uncapped=True)["uncapped"] is True
    report.write_text(json.dumps({"every": 3, "near_px": 3, "labels": True, "uncapped": True}))
    os.utime(report, (2000, 2000))
    assert error_regions.reusable(ws, 3, 3, True) is None  # a capped file claiming otherwise


@pytest.mark.slow
def test_the_script_pools_seeds_and_refuses_to_overwrite(
    rsdf_workspace, tmp_path, capsys, monkeypatch
):
    # two copies of one workspace as a method's two seeds: the same numbers, std 0
    a, b = tmp_path / "ws_m", tmp_path / "ws_m_seed_1"
    shutil.copytree(rsdf_workspace, a)
    shutil.copytree(rsdf_workspace, b)
    out = tmp_path / "res" / "regions.json"
    assert error_regions.main([str(a), str(b), "--every", "4", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert [r["method"] for r in report["results"]] == ["m", "m"]
    one = report["results"][0]["regions"]
    assert sum(r["error_share"] for r in one.values()) == pytest.approx(1.0)
    for region, stats in report["by_method"]["m"].items():
        mean, std, n = stats["psnr"]
        assert n == 2 and std == pytest.approx(0.0, abs=1e-9)
        assert mean == pytest.approx(one[region]["psnr"])
        assert 0.0 <= stats["mean_alpha"][0] <= 1.0 + 1e-6
    assert (a / "error_regions.json").is_file()
    md = out.with_suffix(".md").read_text()
    assert "| m | background | 2 |" in md and "error within 3 px of head" in md
    # the occupancy grid's summary: the trained grid's own numbers, pooled over the seeds
    grid = report["results"][0]["grid"]
    assert grid["threshold"] == pytest.approx(min(grid["mean_density"], 10.0))
    assert 0.0 < grid["occupied_share"] <= grid["valid_share"] <= 1.0
    assert report["grid_by_method"]["m"]["threshold"] == [grid["threshold"]] * 2
    assert "| method | n | mean density | threshold | occupied |" in md
    mean, thresh = grid["mean_density"], grid["threshold"]
    assert f"| m | 2 | {mean:.3f} ± 0.000 | {thresh:.3f} ± 0.000 |" in md
    assert "--uncapped" not in md

    # --uncapped: rays marched to their far distance; alpha can only grow, its own report
    lifted = tmp_path / "res" / "uncapped.json"
    assert error_regions.main([str(a), "--every", "4", "--uncapped", "--out", str(lifted)]) == 0
    free = json.loads(lifted.read_text())["results"][0]
    assert free["uncapped"] is True and (a / "error_regions_uncapped.json").is_file()
    assert free["grid"] == grid
    for region, stats in free["regions"].items():
        if stats["mean_alpha"] is not None:
            assert stats["mean_alpha"] >= one[region]["mean_alpha"] - 1e-6
    assert "(`--uncapped`)" in lifted.with_suffix(".md").read_text()

    # --reuse: the workspaces' own reports stand in for rendering them again
    def no_render(*args):
        raise AssertionError("rendered again")

    monkeypatch.setattr(error_regions, "measure", no_render)
    again = tmp_path / "res" / "again.json"
    assert error_regions.main([str(a), str(b), "--every", "4", "--reuse", "--out", str(again)]) == 0
    assert json.loads(again.read_text())["by_method"] == report["by_method"]
    with pytest.raises(AssertionError, match="rendered again"):  # other options: measured
        error_regions.main([str(a), "--every", "3", "--reuse"])
    with pytest.raises(SystemExit):
        error_regions.main([str(a), "--out", str(out)])
    assert "exists; pass --force" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        error_regions.main([str(tmp_path)])
    assert "no run.json" in capsys.readouterr().err
