"""``lokitalk synth`` writes identities, ground truth and previews."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from lokitalk_plugins.cli import main
from lokitalk_plugins.data.studio import load_truth, synth


def test_synth_command_with_preview(tmp_path, capsys):
    out = tmp_path / "studio"
    assert main(["synth", "--identities", "2", "--seconds", "0.4", "--size", "24", "--out",
                 str(out), "--preview", "--quiet", "--seed", "1"]) == 0  # fmt: skip
    for k in range(2):
        folder = out / f"id{k:03d}"
        assert (folder / "transforms_train.json").is_file()
        assert load_truth(folder).identity == k
        png = out / f"id{k:03d}.preview.png"
        assert png.is_file() and png.read_bytes()[:4] == b"\x89PNG"
    assert "id001" in capsys.readouterr().out


@pytest.mark.slow
def test_parallel_synth_gives_the_same_bytes(tmp_path):
    a = synth(tmp_path / "a", identities=2, seconds=0.3, size=16, workers=1)
    b = synth(tmp_path / "b", identities=2, seconds=0.3, size=16, workers=2)
    for fa, fb in zip(a, b):
        for p in sorted(fa.rglob("*")):
            if p.is_file():
                q = fb / p.relative_to(fa)
                assert hashlib.sha256(p.read_bytes()).digest() == hashlib.sha256(
                    q.read_bytes()).digest(), p  # fmt: skip


def test_synth_blink_gap_is_kept_in_the_truth(tmp_path, capsys):
    out = tmp_path / "studio"
    assert main(["synth", "--identities", "1", "--seconds", "5.0", "--size", "8", "--out",
                 str(out), "--quiet", "--blink-gap", "0.3", "0.4"]) == 0  # fmt: skip
    truth = load_truth(out / "id000")
    assert truth.meta["blink_gap"] == [0.3, 0.4]
    starts = [s for s, _ in truth.meta["blinks"]]
    assert len(starts) >= 3 and (truth.eye_closure > 0.5).any()
    assert main(["synth", "--out", str(tmp_path / "x"), "--blink-gap", "2", "1"]) == 2
    err = capsys.readouterr().err
    assert "--blink-gap: expected 0 < lo <= hi" in err and len(err.strip().splitlines()) <= 2


def test_synth_torso_follow_is_kept_in_the_truth(tmp_path, capsys):
    out = tmp_path / "studio"
    assert main(["synth", "--identities", "1", "--seconds", "0.4", "--size", "8", "--out",
                 str(out), "--quiet", "--torso-follow", "1"]) == 0  # fmt: skip
    truth = load_truth(out / "id000")
    assert truth.meta["torso_follow"] == 1.0
    assert np.array_equal(truth.torso_pose, truth.pose)  # carried by the head
    assert main(["synth", "--out", str(tmp_path / "x"), "--torso-follow", "2"]) == 2
    err = capsys.readouterr().err
    assert "--torso-follow: expected a number in [0, 1]" in err
    assert len(err.strip().splitlines()) <= 2 and not (tmp_path / "x").exists()


def test_synth_light_frame_head_turns_the_light_with_the_head(tmp_path, capsys):
    """--light-frame head: the key light is the default one turned by the head, so in the
    head's frame it is the same in every frame (kept in the truth as light_dir, intensity 1);
    "camera" writes the default folder; with --lighting, or as a write_identity argument out
    of the choices, refused in one line."""
    from lokitalk_plugins.data.studio import write_identity
    from lokitalk_plugins.data.studio.motion import euler_to_matrix
    from lokitalk_plugins.data.studio.render import LIGHT

    out = tmp_path / "studio"
    assert main(["synth", "--identities", "1", "--seconds", "0.4", "--size", "8", "--out",
                 str(out), "--quiet", "--light-frame", "head"]) == 0  # fmt: skip
    truth = load_truth(out / "id000")
    assert truth.meta["light_frame"] == "head"
    in_head = np.einsum("nji,nj->ni", euler_to_matrix(truth.pose[:, :3]), truth.light_dir)
    base = np.asarray(LIGHT) / np.linalg.norm(LIGHT)
    np.testing.assert_allclose(in_head, np.broadcast_to(base, in_head.shape), atol=1e-5)
    assert np.all(truth.light_intensity == 1.0)
    # "camera" is the default folder, byte for byte
    a = write_identity(tmp_path / "a", seconds=0.2, size=8, light_frame="camera")
    b = write_identity(tmp_path / "b", seconds=0.2, size=8)
    for name in ("ori_imgs/0.jpg", "transforms_train.json", "track_params.pt"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    assert "light_frame" not in load_truth(a).meta and load_truth(a).light_dir is None
    assert main(["synth", "--out", str(tmp_path / "x"), "--light-frame", "head",
                 "--lighting"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "--light-frame head attaches the fixed light to the head" in err
    assert len(err.strip().splitlines()) <= 2 and not (tmp_path / "x").exists()
    with pytest.raises(ValueError, match="light_frame: expected one of camera, head"):
        write_identity(tmp_path / "y", seconds=0.2, size=8, light_frame="world")
    with pytest.raises(ValueError, match="give one of them"):
        write_identity(tmp_path / "z", seconds=0.2, size=8, light_frame="head", lighting=True)
