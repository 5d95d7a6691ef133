"""benchmarks/render_overhead.py: the per-sample ratios of its settings, written as JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

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
    from lokitalk_plugins.train.runtime import cpu_bf16_support

    names = {"bare", "bare_unfused", "rsdf", "rsdf_fast", "lokitalk", "lokitalk_fast",
             "lokitalk_fast_mlp"}  # fmt: skip
    bf16 = cpu_bf16_support() is not None
    if bf16:
        names |= {"lokitalk_fast_bf16", "lokitalk_fast_bf16_lattice", "bare_bf16",
                  "lokitalk_fast_all_bf16"}  # fmt: skip
    assert set(rep["ratio_to_bare"]) == names
    assert rep["ratio_to_bare"]["bare"] == 1.0 and rep["per_sample_ratio"] > 0
    pool = (
        ("lokitalk_fast_bf16", "lokitalk_fast_bf16_lattice")
        if bf16
        else ("lokitalk_fast_mlp", "lokitalk_fast")
    )
    best = min(pool, key=rep["ratio_to_bare"].get)  # the faster of LokiTalk's fast paths
    assert rep["per_sample_setting"] == best
    assert rep["per_sample_ratio"] == rep["ratio_to_bare"][best]
    assert rep["per_sample_ratio_float32"] == min(
        rep["ratio_to_bare"]["lokitalk_fast"], rep["ratio_to_bare"]["lokitalk_fast_mlp"]
    )
    s = rep["seconds_median"]
    assert rep["all_bf16_ratio"] == (s["lokitalk_fast_all_bf16"] / s["bare_bf16"] if bf16 else None)
    assert rep["timer"] == "process_time"  # one thread: CPU seconds of this process
    from lokitalk_plugins.train.allocator import allocator_state

    assert rep["allocator"] == allocator_state()  # called, not run as a script: as started
    assert "render_ratio" in rep["whole_pipeline_note"] and "wrote" in capsys.readouterr().out
    comp = rep["components"]
    assert comp["setting"] == best
    assert set(comp["seconds_median"]) == {"bare", best, "rsdf_encoder", "rsdf", "id_offset"}
    excess = comp["seconds_median"][best] - comp["seconds_median"]["bare"]
    assert comp["excess_seconds"] == pytest.approx(excess)
    if comp["share_of_excess"] is not None:
        assert sum(comp["share_of_excess"].values()) == pytest.approx(1.0)


def test_components_are_the_parts_the_wrapped_forward_adds():
    import torch

    parts = render_overhead.components("er_nerf", "float32")
    x = (torch.rand(64, 3, generator=torch.Generator().manual_seed(0)) * 2 - 1) * 0.5
    d = torch.nn.functional.normalize(torch.randn(64, 3), dim=-1)
    with torch.no_grad():
        assert parts["rsdf_encoder"](x, d).shape == (64, 20)
        warp = parts["rsdf"](x, d)
        assert warp.x_canonical.shape == (64, 3) and warp.maps == {}  # maps off: the fast path
        # random trained-like weights: the offsets are not the identity's zeros
        assert not torch.equal(warp.x_canonical, x)
        assert parts["id_offset"](x, d).shape == (64, 3)


def test_refuses_a_folder_that_is_not_a_trained_workspace(tmp_path, capsys):
    args = ["--points", "64", "--repeats", "1", "--out", str(tmp_path / "o.json"),
            "--workspaces", str(tmp_path)]  # fmt: skip
    assert render_overhead.main(args) == 2
    err = capsys.readouterr().err
    assert f"--workspaces {tmp_path}: no checkpoints/latest.pt" in err
    assert not (tmp_path / "o.json").exists()  # refused before any timing


@pytest.mark.slow
@pytest.mark.skipif(
    __import__("lokitalk_plugins.train.runtime", fromlist=["x"]).cpu_bf16_support() is None,
    reason="this CPU has no bfloat16 instructions",
)
def test_the_bfloat16_plugins_quality_on_a_trained_workspace(rsdf_workspace, tmp_path):
    ws = rsdf_workspace
    out = tmp_path / "o.json"
    args = ["--points", "256", "--repeats", "1", "--bake-resolution", "8", "--out", str(out),
            "--workspaces", str(ws), "--max-frames", "2"]  # fmt: skip
    assert render_overhead.main(args) == 0
    (q,) = json.loads(out.read_text())["quality"]
    assert q["workspace"] == str(ws) and q["frames"] == 2
    f32, b16 = q["float32"]["psnr"], q["bfloat16"]["psnr"]
    assert 5 < f32 < 60 and abs(q["psnr_change_db"] - (b16 - f32)) < 1e-9
    assert abs(q["psnr_change_db"]) < 0.5 and q["bfloat16"]["fps"] > 0
    # the fused linear calls against their twin on the same renders: the same image
    ref = q["float32_unfused"]
    assert abs(q["fused_psnr_change_db"] - (f32 - ref["psnr"])) < 1e-9
    assert abs(q["fused_psnr_change_db"]) < 0.01 and ref["fps"] > 0
    assert q["fused_fps_ratio"] == q["float32"]["fps"] / ref["fps"]


@pytest.mark.slow
def test_samples_from_a_trained_workspace_times_its_frame_and_the_frame_bakes(
    rsdf_workspace, tmp_path, capsys
):
    out = tmp_path / "o.json"
    args = ["--repeats", "1", "--bake-resolution", "8", "--out", str(out),
            "--samples-from", str(rsdf_workspace), "--frame-bakes", "1", "2"]  # fmt: skip
    assert render_overhead.main(args) == 0
    rep = json.loads(out.read_text())
    assert {"lokitalk_frame_bake_1", "lokitalk_frame_bake_2"} <= set(rep["ratio_to_bare"])
    assert set(rep["frame_bake_ratio"]) == {"1", "2"}  # JSON keys
    assert rep["frame_bake_ratio"]["2"] == rep["ratio_to_bare"]["lokitalk_frame_bake_2"]
    assert "samples of val frame 0" in rep["points"] and str(rsdf_workspace) in rep["points"]
    with pytest.raises(SystemExit):
        render_overhead.main(args[:-3] + ["--frame-bakes", "0"])
    assert "--frame-bakes: each must be in 1..8" in capsys.readouterr().err


def test_random_points_by_default_and_no_frame_bake(tmp_path):
    out = tmp_path / "o.json"
    args = ["--points", "256", "--repeats", "1", "--bake-resolution", "8", "--out", str(out)]
    assert render_overhead.main(args) == 0
    rep = json.loads(out.read_text())
    assert rep["points"] == "256 random points in the box" and rep["frame_bake_ratio"] == {}


def test_only_times_the_bare_field_and_the_named_settings(tmp_path, capsys):
    out = tmp_path / "o.json"
    args = ["--points", "256", "--repeats", "1", "--bake-resolution", "8", "--out", str(out),
            "--only", "lokitalk_fast", "rsdf_fast"]  # fmt: skip
    assert render_overhead.main(args) == 0
    rep = json.loads(out.read_text())
    assert set(rep["ratio_to_bare"]) == {"bare", "lokitalk_fast", "rsdf_fast"}
    assert rep["per_sample_ratio_float32"] == rep["ratio_to_bare"]["lokitalk_fast"]
    from lokitalk_plugins.train.runtime import cpu_bf16_support

    if cpu_bf16_support() is not None:  # the bf16 fast paths were not timed: no verdict figure
        assert rep["per_sample_ratio"] is None and rep["components"]["share_of_excess"] is None
    with pytest.raises(SystemExit):
        render_overhead.main(args[:-2] + ["nonsense"])
    assert "--only: no setting 'nonsense' here" in capsys.readouterr().err
