"""A GDRF base model through the Hub: saved as a bundle, placed in a Hub cache as the repo
``lokitalk-test/gdrf-tiny`` (no network, offline mode) and fine-tuned from by repo id:
``GDRF(pretrained="org/name")`` starts from exactly its shared weights, keeps its own
identity buffers, and a GDRF of other sizes is refused naming the repo and the binding."""

from __future__ import annotations

import pytest
import torch
from hub_helpers import prepare_hub_cache
from huggingface_hub import constants

from lokitalk_plugins.baselines.gdrf import GDRF, save_gdrf_bundle
from lokitalk_plugins.baselines.gdrf.bundle import shared_state
from lokitalk_plugins.idakt.hub import ComponentMismatchError

REPO = "lokitalk-test/gdrf-tiny"
SIZES = dict(audio_in_dim=8, channels=8, z_dim=16, hidden=16, lstm_hidden=8, seq_len=4,
             exp_dim=5, id_dim=3, grid_size=8)  # fmt: skip


def test_a_gdrf_bundle_round_trips_through_the_hub_cache(tmp_path, monkeypatch):
    torch.manual_seed(0)
    base = GDRF(**SIZES)
    with torch.no_grad():  # a "pre-trained" base: every shared weight away from its init
        for p in base.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    folder = save_gdrf_bundle(base, tmp_path / "bundle", card={"identities": 2})
    prepare_hub_cache(tmp_path / "hub", folder, repo_id=REPO)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)

    torch.manual_seed(1)
    tuned = GDRF(**SIZES, pretrained=REPO)
    saved, got = shared_state(base), shared_state(tuned)
    assert set(saved) == set(got) and all(torch.equal(saved[k], got[k]) for k in saved)
    assert "warp.flow.weight" in got and "ref_images" not in got  # one identity's: not shared
    assert tuned.ref_images.shape[0] == 0  # the new clip's references come at "prepare"
    with pytest.raises(ComponentMismatchError, match=rf"{REPO}: pre-trained with "
                       r"GDRF.hidden = 16 \(here 32\)") as err:  # fmt: skip
        GDRF(**(SIZES | {"hidden": 32}), pretrained=REPO)
    assert "\n" not in str(err.value)


def test_a_bundle_of_another_feature_stride_is_refused(tmp_path):
    """The encoder's weights have the same shapes at either stride, so only the config can
    tell: a bundle saved before ``feature_stride`` existed (no key) is an H/4 one. Without
    ``feature_stride`` a fine-tune takes the bundle's; a bound one must match it; a model
    without a bundle is H/2."""
    import json

    torch.manual_seed(0)
    assert GDRF(**SIZES).config()["feature_stride"] == 2
    folder = save_gdrf_bundle(GDRF(**SIZES, feature_stride=4), tmp_path / "bundle")
    with pytest.raises(ComponentMismatchError, match=r"GDRF.feature_stride = 4 \(here 2\)"):
        GDRF(**SIZES, feature_stride=2, pretrained=str(folder))
    assert GDRF(**SIZES, pretrained=str(folder)).encoder.stride == 4
    config = folder / "config.json"
    cfg = json.loads(config.read_text())
    assert cfg["config"]["gdrf"].pop("feature_stride") == 4
    config.write_text(json.dumps(cfg))  # as written before the option
    assert GDRF(**SIZES, pretrained=str(folder)).config()["feature_stride"] == 4
    with pytest.raises(ComponentMismatchError, match=r"GDRF.feature_stride = 4 \(here 2\)"):
        GDRF(**SIZES, feature_stride=2, pretrained=str(folder))
    half = save_gdrf_bundle(GDRF(**SIZES), tmp_path / "half")
    assert GDRF(**SIZES, pretrained=str(half)).encoder.stride == 2
    # a bundle whose weights predate volume_stride (as the last commits wrote it): its config
    # says the stride

    from lokitalk_plugins.idakt.hub import save_pretrained

    model = GDRF(**SIZES)
    weights = {k: v for k, v in shared_state(model).items() if k != "volume_stride"}
    half = save_pretrained(tmp_path / "older", {"gdrf": weights},
                           {"model": "gdrf", "gdrf": model.config()})  # fmt: skip
    tuned = GDRF(**SIZES, pretrained=str(half))
    assert int(tuned.volume_stride) == 2
    # a fine-tune's checkpoint from then (no volume_stride) has its bundle's stride, 2 here
    from lokitalk_plugins.train import load_model_weights

    old = {k: v for k, v in tuned.state_dict().items() if k != "volume_stride"}
    load_model_weights(GDRF(**SIZES, pretrained=str(half)), {"model": old}, strict=True)
    with pytest.raises(ComponentMismatchError, match=r"GDRF.feature_stride = 2 \(here 4\)"):
        GDRF(**SIZES, feature_stride=4, pretrained=str(half))
