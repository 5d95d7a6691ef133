"""``benchmarks/run.py baselines`` (``benchmarks/baselines_studio.py`` calls it) runs through the
harness's one process pool: its methods are gin files, the packaged backbone recipes with the
torso stage, and the profile's budget."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import baselines_studio  # noqa: E402
from harness import baselines  # noqa: E402
from harness.experiments import budget  # noqa: E402


def test_each_backbone_is_one_harness_method_with_the_profile_budget():
    rad, er = baselines.methods(("rad_nerf", "er_nerf"), "quick")
    assert (rad["name"], er["name"]) == ("rad_nerf", "er_nerf")
    assert rad["configs"] == ["benchmarks/gin-configs/baselines/rad_nerf.gin",
                              "benchmarks/gin-configs/baselines/budget.gin",
                              "benchmarks/gin-configs/profiles/quick.gin"]  # fmt: skip
    assert rad["bindings"] == er["bindings"] == []
    assert budget("quick") == dict(head=600, lips=100, torso=200, finetune=300, rays=1024)
    assert budget("long") == dict(head=8000, lips=200, torso=2000, rays=2048)
    root = Path(__file__).resolve().parents[2]
    text = {m["name"]: (root / m["configs"][0]).read_text() for m in (rad, er)}
    assert "include 'lokitalk_plugins/configs/torso.gin'" in text["rad_nerf"]
    assert "LipsSampling.patches = 4" in text["er_nerf"]
    assert "lips_patches" not in text["rad_nerf"]


def test_an_unknown_backbone_is_refused(capsys):
    with pytest.raises(SystemExit):
        baselines_studio.main(["--backbones", "nerf"])
    assert "invalid choice: 'nerf'" in capsys.readouterr().err
