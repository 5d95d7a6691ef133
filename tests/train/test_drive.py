"""drive: new audio windows on the training clip's motion (ping-pong or loop)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lokitalk_plugins.data.audio import AudioLayoutError, audio_window
from lokitalk_plugins.data.folder import TalkingHeadFolder
from lokitalk_plugins.data.studio import write_identity
from lokitalk_plugins.signals.features import load_wav, logmel_windows
from lokitalk_plugins.train.drive import (
    drive,
    driven_samples,
    motion_index,
    prepare_audio,
    studio_features,
)


class AudioColour(nn.Module):
    """A grey level that follows the mean of the frame's audio windows."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(1.0))

    @torch.no_grad()
    def render_frame(self, frame):
        level = torch.sigmoid(self.scale * frame.audio.mean())
        return {"rgb": level.expand(frame.H, frame.W, 3).clone(),
                "depth": torch.zeros(frame.H, frame.W)}  # fmt: skip


@pytest.fixture(scope="module")
def train_set(tmp_path_factory):
    root = write_identity(tmp_path_factory.mktemp("drive") / "id", identity=0, seconds=1.0,
                          size=32, seed=0)  # fmt: skip
    return TalkingHeadFolder(root, split="train", progress=False)


def test_motion_index_pingpong_and_loop():
    assert [motion_index(m, 4) for m in range(10)] == [0, 1, 2, 3, 2, 1, 0, 1, 2, 3]
    assert [motion_index(m, 4, "loop") for m in range(6)] == [0, 1, 2, 3, 0, 1]
    assert [motion_index(m, 1) for m in range(3)] == [0, 0, 0]
    assert [motion_index(m, 2) for m in range(4)] == [0, 1, 0, 1]
    with pytest.raises(ValueError, match="motion"):
        motion_index(0, 3, "bounce")


def test_drive_uses_new_audio_and_training_motion(train_set):
    n = len(train_set)
    m_steps = n + 8  # past the clip's end: the motion comes back (ping-pong)
    g = np.random.default_rng(0)
    ramp = np.linspace(-2, 2, m_steps)[:, None, None]
    feats = (g.normal(0, 1, (m_steps, 16, 32)) + ramp).astype(np.float32)
    windows = torch.from_numpy(feats).transpose(1, 2)
    system = AudioColour().train()
    seen = 0
    for m, (sample, out) in enumerate(drive(system, train_set, feats, progress=False)):
        k = motion_index(m, n)
        own = train_set[k]
        expected_audio = audio_window(windows, m, 8)
        assert torch.equal(sample.audio, expected_audio)
        assert not torch.equal(sample.audio, own.audio)
        assert torch.equal(sample.pose, train_set.poses_6d[k])
        assert torch.equal(sample.c2w, own.c2w) and torch.equal(sample.eye, own.eye)
        assert sample.aud_id == m and sample.img_id == own.img_id
        level = float(torch.sigmoid(expected_audio.mean()))
        assert out["rgb"].shape == (32, 32, 3)
        assert float(out["rgb"][0, 0, 0]) == pytest.approx(level, abs=1e-6)
        seen += 1
    assert seen == m_steps and system.training
    assert [s.img_id for s in driven_samples(train_set, feats[:3], motion="loop")] == [0, 1, 2]
    # the colour follows the audio: a rising feature mean gives a rising grey level
    levels = [float(o["rgb"][0, 0, 0]) for _, o in drive(system, train_set, feats, progress=False)]
    assert levels[-6] > levels[5]


def test_feature_dimension_is_checked(train_set):
    with pytest.raises(ValueError, match=r"K=29 .*K=32"):
        list(driven_samples(train_set, np.zeros((5, 16, 29), np.float32)))
    with pytest.raises(ValueError, match="K=1024"):
        prepare_audio(np.zeros((5, 2, 1024), np.float32), expected=(32, 16))
    with pytest.raises(AudioLayoutError, match="no accepted layout"):
        prepare_audio(np.zeros((5, 8, 32), np.float32))
    ok = prepare_audio(np.zeros((5, 2, 1024), np.float32), expected=(1024, 2))
    assert ok.shape == (5, 1024, 2)


def test_studio_features_are_the_folders_features(train_set, tmp_path):
    root = train_set.root
    feats = studio_features(root / "aud.wav", n_mels=32)
    assert np.array_equal(feats, np.load(root / "aud.npy"))
    wav, sr = load_wav(root / "aud.wav")
    assert np.array_equal(studio_features(root / "aud.wav", n_mels=8),
                          logmel_windows(wav, sr, n_mels=8))  # fmt: skip
    np.save(tmp_path / "f.npy", feats)
    assert len(list(driven_samples(train_set, tmp_path / "f.npy"))) == feats.shape[0]
