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
