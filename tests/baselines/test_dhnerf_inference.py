"""The DH-NeRF at test time is driven by audio alone: a val frame renders without its image,
its landmarks, masks or index being read; the test-time code takes C_ex from F_lip through E,
which learns the training frames' codes."""

from __future__ import annotations

import pytest
import torch
from dhnerf_helpers import DIMS, make_model, short_run

from lokitalk_plugins.baselines.dhnerf import CodeExtractor
from lokitalk_plugins.data import TalkingHeadFolder
from lokitalk_plugins.data.studio import write_identity
from lokitalk_plugins.pipeline import TalkingHeadSystem, TrainBatch
from lokitalk_plugins.render import NeuralRenderer

HIDDEN = ("image", "landmarks", "masks", "index")


class WithoutTruth:
    """A val frame whose image, landmarks, masks and index raise when read (H, W kept)."""

    def __init__(self, frame):
        self._frame, self.H, self.W = frame, frame.H, frame.W

    def __getattr__(self, name):
        if name in HIDDEN:
            raise AssertionError(f"the render read the val frame's {name}")
        return getattr(self._frame, name)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_identity(tmp_path_factory.mktemp("studio") / "id", seconds=0.8, size=32)


def trained(folder, steps: int, neural: bool = False, **kw):
    """A DH-NeRF system after ``steps`` head steps on the folder, and its training split;
    neural: with the 2D neural renderer (§3.2) on M at a quarter of the resolution."""
    data = TalkingHeadFolder(folder, background="bc", preload=True, progress=False)
    model = make_model(data, CodeExtractor(**DIMS, size=16, width=8), **kw)
    extra = {}
    if neural:
        nr = NeuralRenderer(in_dim=3 + 64, scale=4)
        extra = dict(neural_renderer=nr, neural_feature="geo_feat")
    system = TalkingHeadSystem(model, num_rays=256, lr_mlp=2e-3, **extra)
    system.prepare(data)
    system.set_stage("head")
    short_run(system, data, steps)
    return system, data


@pytest.mark.parametrize("neural", [False, True])
def test_a_val_frame_renders_from_its_audio_and_camera_alone(folder, neural):
    system, _ = trained(folder, 5, neural)
    val = TalkingHeadFolder(folder, split="val", background="bc", progress=False)
    with torch.no_grad():
        blind = system.render_frame(WithoutTruth(val[0]))["rgb"]
        seen = system.render_frame(val[0])["rgb"]
        with pytest.raises(AssertionError, match="read the val frame's image"):
            WithoutTruth(val[0]).image  # noqa: B018  (the guard itself works)
    assert blind.shape == (32, 32, 3) and torch.equal(blind, seen)


def test_the_test_time_expression_comes_from_the_audio(folder):
    system, data = trained(folder, 1, lip_sync=False)  # F_lip reaches D only through C_ex*
    m = system.model
    test, train = m.individual_code(None), m.individual_code(2)
    assert test[0, -1] == 0 and train[0, -1] == 1
    x = torch.rand(40, 3, generator=torch.Generator().manual_seed(0)) * 0.6 - 0.3
    a, b = (m.encode_audio(data[i].audio[None].float()) for i in (0, len(data) - 1))
    with torch.no_grad():
        enc = m.encode_points(x)
        at_test = [m.density(enc, f, None, test)["sigma"] for f in (a, b)]
        at_train = [m.density(enc, f, None, train)["sigma"] for f in (a, b)]
        own = m.split_code(test)
        c_ex = m.split_code(m.individual_code(None))["ex"]
    assert not torch.allclose(at_test[0], at_test[1])  # the audio moves the expression ...
    assert torch.equal(at_train[0], at_train[1])  # ... a training frame keeps its own C_ex
    assert torch.equal(own["ex"], c_ex)  # the mean C_ex is still in the code (no audio: used)
    with torch.no_grad():
        no_audio = m.density(enc, None, None, test)["sigma"]
        mean_ex = m.density(enc, None, None, torch.cat([test[:, :-1], torch.ones(1, 1)], -1))
    assert torch.equal(no_audio, mean_ex["sigma"])


def test_e_learns_the_training_frames_expression_codes(folder):
    def misfit(system, data):
        with torch.no_grad():
            terms = [system.model.loss_terms(None, TrainBatch(None, data[i]), 0.0)
                     for i in range(len(data))]  # fmt: skip
        return sum(float(t["dhnerf_ex_audio"]) for t in terms) / len(terms)

    before = misfit(*trained(folder, 0))
    after = misfit(*trained(folder, 60))
    assert after < 0.5 * before, (before, after)
