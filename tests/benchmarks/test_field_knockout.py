"""benchmarks/field_knockout.py: each RSDF field knocked out exactly and restored; the PSNR
lost by region over a row's seeds; what is not an O+D+R studio workspace refused in one line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import field_knockout  # noqa: E402

from lokitalk_plugins.rsdf import RSDF  # noqa: E402


def _trained_like(seed=0):
    torch.manual_seed(seed)
    m = RSDF(audio_dim=4, hidden=16, grid={"num_levels": 2, "log2_hashmap_size": 8})
    with torch.no_grad():
        for field in (m.face, m.torso_field):
            field.net.net[-1].weight.normal_(0, 0.5)
        for p in m.encoder.parameters():
            p.normal_(0, 0.5)
    return m


def _points_and_signals():
    """32 points in the box and one frame's F_a [1, 4], F_e [1, 1], F_h [1, 6]."""
    x = torch.rand(32, 3) * 1.6 - 0.8
    return x, torch.randn(1, 4), torch.rand(1, 1), torch.randn(1, 6)


def _by_hand(m, x, F_a, F_e, poses):
    """Δx_torso at ``x`` averaged over ``poses`` [K, 6], one forward a pose: the reference."""
    return sum(m(x, F_a, F_e, p[None]).dx_torso for p in poses) / len(poses)


def test_a_knocked_out_field_is_exactly_zero_and_comes_back():
    m = _trained_like()
    x = torch.rand(32, 3) * 1.6 - 0.8
    sig = (torch.randn(1, 4), torch.rand(1, 1), torch.randn(1, 6))
    with torch.no_grad():
        before = m(x, *sig)
        with field_knockout.knocked_out(m, "torso"):
            out = m(x, *sig)
            assert out.dx_torso.abs().max() == 0
            torch.testing.assert_close(out.dx_face, before.dx_face)
        with field_knockout.knocked_out(m, "face"):
            out = m(x, *sig)
            assert out.dx_face.abs().max() == 0
        with field_knockout.knocked_out(m, None):
            torch.testing.assert_close(m(x, *sig).x_canonical, before.x_canonical)
        after = m(x, *sig)
    assert before.dx_torso.abs().max() > 1e-3
    torch.testing.assert_close(after.x_canonical, before.x_canonical, rtol=0, atol=0)


def test_one_pose_feeds_the_torso_field_one_head_pose_and_lets_go():
    m = _trained_like()
    x, F_a, F_e, F_h = _points_and_signals()
    pose = torch.randn(1, 6)
    with torch.no_grad():
        want = m(x, F_a, F_e, pose)
        with field_knockout.one_pose(m, pose):
            got = m(x, F_a, F_e, F_h)
            per_point = m(x, F_a, F_e, F_h.expand(32, -1))  # a refresh's per-point F_h
        torch.testing.assert_close(got.dx_torso, want.dx_torso)
        torch.testing.assert_close(per_point.dx_torso, want.dx_torso)
        back = m(x, F_a, F_e, F_h)
    assert (back.dx_torso - want.dx_torso).abs().max() > 1e-4  # its own pose again
    assert "forward" not in vars(m)


def test_static_torso_averages_the_torso_field_over_poses_at_each_point():
    m = _trained_like()
    x, F_a, F_e, F_h = _points_and_signals()
    poses = torch.randn(3, 6)
    with torch.no_grad():
        own = m(x, F_a, F_e, F_h)
        want = _by_hand(m, x, F_a, F_e, poses)
        with field_knockout.static_torso(m, poses):
            got = m(x, F_a, F_e, F_h)
            other = m(x, F_a, F_e, torch.randn(1, 6))  # the frame's own pose no longer counts
        with field_knockout.static_torso(m, poses[:1]), field_knockout.one_pose(m, poses[:1]):
            one = m(x, F_a, F_e, F_h)  # one pose averaged is that pose's field
        back = m(x, F_a, F_e, F_h)
    torch.testing.assert_close(got.dx_torso, want)
    torch.testing.assert_close(other.dx_torso, want)
    torch.testing.assert_close(got.dx_face, own.dx_face)
    torch.testing.assert_close(got.x_canonical, x + own.dx_face + want)
    torch.testing.assert_close(one.dx_torso, m(x, F_a, F_e, poses[:1]).dx_torso)
    assert (want - own.dx_torso).abs().max() > 1e-4  # the frame's own pose gave another Δx
    torch.testing.assert_close(back.x_canonical, own.x_canonical, rtol=0, atol=0)
    assert "forward" not in vars(m)


def test_dynamic_torso_map_is_the_torso_field_minus_its_average_over_poses():
    m = _trained_like()
    x, F_a, F_e, F_h = _points_and_signals()
    poses = torch.randn(4, 6)
    with torch.no_grad():
        own = m(x, F_a, F_e, F_h)
        mean = _by_hand(m, x, F_a, F_e, poses)
        with field_knockout.dynamic_torso_map(m, poses):
            got = m(x, F_a, F_e, F_h)
            quiet = m(x, F_a, F_e, F_h, maps=False)  # no maps asked: none made
            at_one = m(x, F_a, F_e, poses[:1])
        with field_knockout.dynamic_torso_map(m, poses[:1]):
            still = m(x, F_a, F_e, poses[:1])  # one pose averaged: nothing moves
    dyn = got.maps[field_knockout.DYNAMIC_MAP]
    torch.testing.assert_close(dyn, torch.linalg.vector_norm(own.dx_torso - mean, dim=-1))
    torch.testing.assert_close(got.x_canonical, own.x_canonical)  # the deformation unchanged
    torch.testing.assert_close(got.maps["dx_torso_norm"], own.maps["dx_torso_norm"])
    assert dyn.max() > 1e-4 and field_knockout.DYNAMIC_MAP not in quiet.maps
    assert not torch.equal(at_one.maps[field_knockout.DYNAMIC_MAP], dyn)
    assert still.maps[field_knockout.DYNAMIC_MAP].abs().max() < 1e-6
    assert "forward" not in vars(m)


def test_summarise_gives_the_psnr_lost_per_region_over_seeds():
    def prof(head, torso):
        regions = {"head": head, "torso+neck": torso, "background": 30.0, "frame": 27.0}
        return {"none": {"head": 28.0, "torso+neck": 22.0, "background": 30.0, "frame": 27.0},
                "torso": regions}  # fmt: skip

    s = field_knockout.summarise([prof(20.0, 21.0), prof(22.0, 21.5)], ["torso"])
    assert s["none"]["head"]["mean"] == 28.0 and s["none"]["head"]["std"] == 0.0
    assert s["torso"]["head"]["mean"] == pytest.approx(7.0)
    assert s["torso"]["head"]["std"] == pytest.approx(2**0.5)
    assert s["torso"]["torso+neck"]["seeds"] == [1.0, 0.5]
    assert s["torso"]["background"]["mean"] == 0.0


def test_refuses_what_is_not_a_workspace(tmp_path, capsys):
    with pytest.raises(SystemExit):
        field_knockout.main([str(tmp_path), "--out", str(tmp_path / "o")])
    assert "no workspace (no run.json)" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_a_run_on_a_trained_rsdf_workspace(rsdf_workspace, tmp_path, capsys):
    out = tmp_path / "out"
    args = [str(rsdf_workspace), "--out", str(out), "--every", "4"]
    assert field_knockout.main(args) == 0
    rep = json.loads((out / "field_knockout.json").read_text())
    prof = rep["results"][0]["profile"]
    assert set(prof) == {"none", "torso", "face", "torso_pose", "torso_static"}
    assert all(prof["none"][r] > 5 for r in ("head", "torso+neck", "background", "frame"))
    lost = rep["summary"]["torso"]["frame"]
    assert lost["seeds"] == [pytest.approx(prof["none"]["frame"] - prof["torso"]["frame"])]
    md = (out / "field_knockout.md").read_text()
    assert "| Δx_torso set to 0: PSNR lost (dB) |" in md and "| Δx_face set to 0" in md
    assert "| Δx_torso under one pose (the val frames' mean): PSNR lost (dB) |" in md
    assert "| Δx_torso replaced by its average over poses at each point: PSNR lost" in md
    assert rep["static_poses"] == 16
    with pytest.raises(SystemExit):  # the outputs exist: refused without --force
        field_knockout.main(args)
    assert "--force" in capsys.readouterr().err
