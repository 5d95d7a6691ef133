"""benchmarks/harness/idakt_runs.pretrain_bundles: a cached bundle serves a run only when it was
made from the same gin files, bindings, folders and package source."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from harness import common, idakt_runs, workers  # noqa: E402


@pytest.fixture
def fake_pool(monkeypatch):
    """run_pool stand-in: each pre-training task writes a bundle and its summary as the worker
    does (config.json + out.json with the key), and is recorded."""
    ran = []

    def run_pool(tasks, parallel=2):
        for label, _fn, args in tasks:
            setting, folders, binds, steps, out, configs, key = args
            Path(out).mkdir(parents=True)
            (Path(out) / "config.json").write_text("{}")
            summary = {"identities": len(folders), "steps": steps, **key}
            Path(f"{out}.json").write_text(json.dumps(summary))
            ran.append(label)

    from lokitalk_plugins.commands import pretrain

    monkeypatch.setattr(workers, "run_pool", run_pool)
    monkeypatch.setattr(common, "package_tree", lambda: "tree-a")
    monkeypatch.setattr(pretrain, "train_frames", lambda fs: 10 * len(fs))  # no folder read
    return ran


def _bundles(tmp_path, folders, bindings=("AUDIO_IN_DIM = 32",)):
    return idakt_runs.pretrain_bundles(
        [("er_nerf", folders)], ["profiles/micro"], list(bindings), 1.0, tmp_path / "cache"
    )


def test_a_bundle_is_reused_only_for_what_made_it(tmp_path, fake_pool, monkeypatch, capsys):
    folders = [tmp_path / "id1", tmp_path / "id2"]
    first = _bundles(tmp_path, folders)[("er_nerf", 2)]
    assert not first["cached"] and first["steps"] == 20 and len(fake_pool) == 1
    assert _bundles(tmp_path, folders)[("er_nerf", 2)]["cached"] and len(fake_pool) == 1
    # a folder reached by another spelling of the same path is the same folder
    same = [tmp_path / "x" / ".." / "id1", tmp_path / "id2"]
    assert _bundles(tmp_path, same)[("er_nerf", 2)]["cached"]
    # other bindings, other package source: made again, and the reason printed
    assert not _bundles(tmp_path, folders, ["AUDIO_IN_DIM = 29"])[("er_nerf", 2)]["cached"]
    assert "other bindings (['AUDIO_IN_DIM = 32'])" in capsys.readouterr().out
    monkeypatch.setattr(common, "package_tree", lambda: "tree-b+dirty")
    assert not _bundles(tmp_path, folders, ["AUDIO_IN_DIM = 29"])[("er_nerf", 2)]["cached"]
    assert "package source tree-a, now tree-b+dirty" in capsys.readouterr().out
    assert len(fake_pool) == 3


def test_a_bundle_from_before_the_key_is_made_again(tmp_path, fake_pool):
    old = tmp_path / "cache" / "er_nerf_1ids_10steps"
    old.mkdir(parents=True)
    (old / "config.json").write_text("{}")
    Path(f"{old}.json").write_text(json.dumps({"identities": 1, "bindings": []}))
    (tmp_path / "cache" / "er_nerf_1ids_10steps.work").mkdir()
    key = idakt_runs.bundle_key(["a.gin"], [], [tmp_path / "id1"])
    assert idakt_runs.bundle_refusal(old, key) == "other configs (None)"
    info = _bundles(tmp_path, [tmp_path / "id1"])[("er_nerf", 1)]
    assert not info["cached"] and fake_pool == ["pre-training er_nerf_1ids_10steps"]
    assert not (tmp_path / "cache" / "er_nerf_1ids_10steps.work").exists()
    assert json.loads(Path(f"{old}.json").read_text())["package_tree"] == "tree-a"
    assert idakt_runs.bundle_refusal(tmp_path / "nothing", key) == "no bundle"
