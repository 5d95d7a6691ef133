"""benchmarks/baselines_studio.py runs through the harness's one process pool: its methods are
the packaged backbone configs with the torso stage and the profile's budget."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import baselines_studio  # noqa: E402


def test_each_backbone_is_one_harness_method_with_the_profile_budget():
    prof = baselines_studio.PROFILES["quick"]
    rad, er = baselines_studio.methods(("rad_nerf", "er_nerf"), prof)
    assert (rad["name"], er["name"]) == ("rad_nerf", "er_nerf")
    assert rad["configs"] == ["configs/rad_nerf.gin", "configs/studio_quick.gin",
                              "configs/torso.gin"]  # fmt: skip
    assert (
        "head/Trainer.steps = 600" in rad["bindings"]
        and "torso/Trainer.steps = 200" in (rad["bindings"])
    )
    assert "TalkingHeadSystem.lips_patches = 4" in er["bindings"]
    assert "TalkingHeadSystem.lips_patches = 4" not in rad["bindings"]


def test_an_unknown_backbone_is_refused(capsys):
    with pytest.raises(SystemExit):
        baselines_studio.main(["--backbones", "nerf"])
    assert "invalid choice: 'nerf'" in capsys.readouterr().err
