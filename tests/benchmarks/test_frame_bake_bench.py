"""benchmarks/frame_bake.py: the per-frame bake's PSNR change and per-sample cost on trained
workspaces; bad arguments and what is not a workspace refused in one line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import frame_bake  # noqa: E402


def test_refuses_what_is_not_a_workspace_and_bad_subdivisions(tmp_path, capsys):
    with pytest.raises(SystemExit):
        frame_bake.main([str(tmp_path), "--out", str(tmp_path / "o")])
    assert "no workspace (no run.json)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        frame_bake.main([str(tmp_path), "--out", str(tmp_path / "o"), "--subdivisions", "0"])
    assert "--subdivisions: each must be in 1..8" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_summarise_pairs_each_setting_with_the_fast_path():
    def res(fast, bake, ratio):
        regions = ("head", "torso+neck", "background", "frame")
        q = {"fast": dict.fromkeys(regions, fast), "bake 1": dict.fromkeys(regions, bake)}
        return {"quality": q, "costs": {"ratio_to_bare": {"fast": 1.5, "bake 1": ratio}}}

    s = frame_bake.summarise([res(30.0, 29.5, 1.1), res(31.0, 30.9, 1.2)], [1])
    assert s["bake 1"]["change"]["frame"]["seeds"] == [pytest.approx(-0.5), pytest.approx(-0.1)]
    assert s["bake 1"]["ratio_to_bare"]["mean"] == pytest.approx(1.15)
    assert s["fast"]["change"]["head"]["mean"] == 0


@pytest.mark.slow
def test_a_run_on_a_trained_rsdf_workspace(rsdf_workspace, tmp_path, capsys):
    out = tmp_path / "out"
    args = [str(rsdf_workspace), "--out", str(out), "--every", "4", "--repeats", "1",
            "--subdivisions", "1", "2"]  # fmt: skip
    assert frame_bake.main(args) == 0
    rep = json.loads((out / "frame_bake.json").read_text())
    r = rep["results"][0]
    assert set(r["quality"]) == {"fast", "bake 1", "bake 2"}
    assert all(r["quality"][s]["frame"] > 5 for s in r["quality"])
    assert r["quality"]["bake 1"]["exact_share"] < 0.01  # the renderer samples baked cells
    c = r["costs"]
    assert c["samples"] > 0 and 0 < c["occupied_cells"] <= c["grid_resolution"] ** 3
    assert 0 < c["vertices"]["bake 1"] < c["vertices"]["bake 2"]
    assert set(c["ratio_to_bare"]) == {"bare", "fast", "bake 1", "bake 2"}
    md = (out / "frame_bake.md").read_text()
    assert "| bake 2 |" in md and "per-sample cost / bare field" in md
    with pytest.raises(SystemExit):
        frame_bake.main(args)
    assert "--force" in capsys.readouterr().err


def test_a_scaled_frame_keeps_its_pixel_centres_and_multiplies_its_rays(tmp_path):
    import torch

    from lokitalk_plugins.data import TalkingHeadFolder
    from lokitalk_plugins.data.studio import write_identity
    from lokitalk_plugins.render.rays import get_rays

    folder = write_identity(tmp_path / "id", seconds=0.5, size=16)
    frame = TalkingHeadFolder(folder, background="bc", preload=True, progress=False)[0]
    big = frame_bake.scaled_frame(frame, 2)
    assert (big.H, big.W) == (2 * frame.H, 2 * frame.W) and frame_bake.scaled_frame(
        frame, 1
    ) is frame
    assert torch.equal(big.image[::2, ::2], frame.image) and big.background.shape == big.image.shape
    # the same view: the 2 x 2 big pixels over a small pixel average to its ray
    _, d_small = get_rays(frame.c2w, frame.intrinsics.tolist(), frame.H, frame.W,
                          torch.tensor([frame.W + 1]))  # fmt: skip
    quad = torch.tensor([2 * big.W + 2, 2 * big.W + 3, 3 * big.W + 2, 3 * big.W + 3])
    _, d_big = get_rays(big.c2w, big.intrinsics.tolist(), big.H, big.W, quad)
    assert torch.allclose(d_big.mean(0), d_small[0], atol=1e-3)
    assert (d_big - d_small).abs().max() > 1e-3  # four different rays
