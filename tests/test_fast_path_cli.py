"""``lokitalk eval`` and ``lokitalk render`` with the plug-ins' inference fast path
(``--fast-path``, ``--plugin-precision``, ``--frame-bake``); bad uses refused in one line."""

from __future__ import annotations

import json

import pytest

from lokitalk_plugins.cli import main
from lokitalk_plugins.commands.fast_path_options import fast_path_settings


class _Args:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def test_the_options_ask_for_the_fast_path_only_when_given():
    assert (
        fast_path_settings(_Args(fast_path=False, plugin_precision=None, frame_bake=None)) is None
    )
    assert fast_path_settings(_Args(fast_path=True, plugin_precision=None, frame_bake=None)) == {
        "precision": "float32", "frame_bake": 0}  # fmt: skip
    assert fast_path_settings(_Args(fast_path=False, plugin_precision="auto", frame_bake=2)) == {
        "precision": "auto", "frame_bake": 2}  # fmt: skip


@pytest.mark.slow
def test_eval_on_the_fast_path_and_with_a_frame_bake(rsdf_workspace, tmp_path):
    ws = str(rsdf_workspace)
    ref, fast, baked = (tmp_path / f"{n}.json" for n in ("ref", "fast", "baked"))
    common = ["eval", "--workspace", ws, "--quiet", "--max-frames", "2"]
    assert main([*common, "--out", str(ref)]) == 0
    assert main([*common, "--out", str(fast), "--fast-path"]) == 0
    assert main([*common, "--out", str(baked), "--frame-bake", "4"]) == 0
    r, f, b = (json.loads(p.read_text()) for p in (ref, fast, baked))
    assert "fast_path" not in r and f["fast_path"] == {"precision": "float32", "frame_bake": 0}
    assert b["fast_path"] == {"precision": "float32", "frame_bake": 4}
    assert f["psnr"] == pytest.approx(r["psnr"], abs=1e-6)  # exact without ID-AKT
    assert abs(b["psnr"] - r["psnr"]) < 0.5 and b["psnr"] != f["psnr"]  # close, not the same


@pytest.mark.slow
def test_render_with_a_frame_bake(rsdf_workspace, tmp_path):
    run = json.loads((rsdf_workspace / "run.json").read_text())
    out = tmp_path / "a.mp4"
    args = ["render", "--workspace", str(rsdf_workspace), "--audio-features",
            f"{run['data']}/aud.npy", "--out", str(out), "--quiet", "--max-frames", "3",
            "--frame-bake", "2"]  # fmt: skip
    assert main(args) == 0 and out.stat().st_size > 0


@pytest.mark.slow
def test_bad_uses_are_refused_in_one_line(rsdf_workspace, tmp_path, capsys):
    common = ["eval", "--workspace", str(rsdf_workspace), "--quiet", "--max-frames", "1",
              "--out", str(tmp_path / "e.json")]  # fmt: skip
    for bad in ("9", "0"):
        assert main([*common, "--frame-bake", bad]) == 2
        assert f"--frame-bake {bad}: expected 1..8" in capsys.readouterr().out
    assert not (tmp_path / "e.json").exists()
    from lokitalk_plugins.train.runtime import cpu_bf16_support

    if cpu_bf16_support() is None:
        assert main([*common, "--plugin-precision", "bfloat16"]) == 2
        assert "needs a CPU with bfloat16" in capsys.readouterr().out
