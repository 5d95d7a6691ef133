"""GDRF's base model: `lokitalk gdrf-pretrain` on two studio identities writes a bundle; a
GDRF built with ``pretrained=`` starts from it and fine-tunes on an unseen identity."""

from __future__ import annotations

import json

import gin
import pytest
import torch

import lokitalk_plugins.registration  # noqa: F401  (registers the configurables)
from lokitalk_plugins.baselines.gdrf import GDRF
from lokitalk_plugins.baselines.gdrf.bundle import shared_state
from lokitalk_plugins.cli import main
from lokitalk_plugins.data.studio import write_identity
from lokitalk_plugins.idakt.hub import ComponentMismatchError, from_pretrained
from lokitalk_plugins.train.run import train_from_config

BINDS = ["GDRF.audio_in_dim = 32", "TalkingHeadSystem.num_rays = 64", "GDRF.lstm_hidden = 32"]
CONFIG = ["--config", "configs/gdrf.gin", *(x for b in BINDS for x in ("--bind", b))]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    root = tmp_path_factory.mktemp("gdrf")
    ids = [write_identity(root / f"id00{i}", identity=i, seconds=1.0, size=32) for i in (1, 2)]
    out = root / "base"
    try:
        code = main(["gdrf-pretrain", *map(str, ids), *CONFIG, "--steps", "4", "--quiet",
                     "--out", str(out)])  # fmt: skip
    finally:
        gin.clear_config()
    assert code == 0
    return out


def test_pretrain_writes_a_gdrf_bundle_and_refuses_to_overwrite_it(bundle, capsys):
    meta = json.loads((bundle / "config.json").read_text())
    assert meta["config"]["model"] == "gdrf" and meta["config"]["gdrf"]["lstm_hidden"] == 32
    loaded = from_pretrained(str(bundle))
    assert "ref_images" not in loaded.state_dicts["gdrf"]  # one identity's, not the base's
    assert "warp.flow.weight" in loaded.state_dicts["gdrf"]
    capsys.readouterr()
    try:
        code = main(["gdrf-pretrain", str(bundle.parent / "id001"), *CONFIG, "--steps", "1",
                     "--quiet", "--out", str(bundle)])  # fmt: skip
    finally:
        gin.clear_config()
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and "already holds" in err[0] and "--overwrite" in err[0]


def test_a_fine_tune_starts_from_the_base_model(bundle, tmp_path):
    model = GDRF(audio_in_dim=32, lstm_hidden=32, pretrained=str(bundle))
    saved = from_pretrained(str(bundle)).state_dicts["gdrf"]
    own = shared_state(model)
    assert set(own) == set(saved) and all(torch.equal(own[k], saved[k]) for k in saved)
    assert bool(model.lstm_ready)  # the base model's standardisation is kept
    with pytest.raises(ComponentMismatchError, match=r"GDRF.lstm_hidden = 32 \(here 128\)"):
        GDRF(audio_in_dim=32, pretrained=str(bundle))

    unseen = write_identity(tmp_path / "id003", identity=3, seconds=1.0, size=32)
    files = ["configs/gdrf.gin", "configs/gdrf_finetune.gin"]
    binds = [*BINDS, f"GDRF.pretrained = '{bundle}'", "head/Trainer.steps = 3",
             "Trainer.val_every = 3"]  # fmt: skip
    try:
        out = train_from_config(files, binds, data=unseen, workspace=tmp_path / "run",
                                progress=False)  # fmt: skip
    finally:
        gin.clear_config()
    assert out["stages"]["head"]["final_loss"] is not None
