"""write_video (H.264, optional AAC soundtrack), panels, and render_video on a studio folder."""

from __future__ import annotations

import re
import subprocess

import imageio_ffmpeg
import numpy as np
import pytest
import torch
from matplotlib import colormaps
from torch import nn

from lokitalk_plugins.data.folder import TalkingHeadFolder
from lokitalk_plugins.data.studio import write_identity
from lokitalk_plugins.signals.features import write_wav
from lokitalk_plugins.train.render_clip import render_video
from lokitalk_plugins.train.video import colorize_depth, pad_even, side_by_side, write_video


def _frames(t=8, h=32, w=32):
    """Flat colour frames (compress almost losslessly): frame i has level 20 + 25 i."""
    levels = 20 + 25 * np.arange(t, dtype=np.uint8)
    out = np.zeros((t, h, w, 3), np.uint8)
    out[..., 0] = levels[:, None, None]
    out[..., 1] = 128
    out[..., 2] = 255 - levels[:, None, None]
    return out


def _read(path):
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = reader.__next__()
    w, h = meta["size"]
    frames = [np.frombuffer(f, np.uint8).reshape(h, w, 3) for f in reader]
    return meta, np.stack(frames)


def _probe(path) -> str:
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)]
    return subprocess.run(cmd, capture_output=True, text=True).stderr


def _wav(path, seconds, sr=16000):
    t = np.arange(int(seconds * sr)) / sr
    return write_wav(path, 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(7 * t)) / 2, sr)


def test_write_video_reads_back(tmp_path):
    frames = _frames()
    path = write_video(tmp_path / "v.mp4", frames, fps=25)
    meta, back = _read(path)
    assert back.shape == (8, 32, 32, 3) and meta["fps"] == 25
    assert np.abs(back.astype(int) - frames).mean() < 4  # H.264 is lossy, flat frames barely
    info = _probe(path)
    assert "Video: h264" in info and "yuv420p" in info and "Audio:" not in info


def test_write_video_with_audio(tmp_path):
    wav = _wav(tmp_path / "a.wav", seconds=8 / 25)
    frames = (f.astype(np.float32) / 255 for f in _frames())  # an iterator of floats
    path = write_video(tmp_path / "va.mp4", frames, fps=25, audio_wav=wav)
    info = _probe(path)
    assert re.search(r"Audio: aac", info) and "Video: h264" in info
    meta, back = _read(path)
    assert back.shape[0] == 8 and meta["size"] == (32, 32) and meta["fps"] == 25
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav", "va.mp4"]  # no temp file


@pytest.mark.parametrize("with_audio", [False, True])
def test_interrupted_write_leaves_no_partial_video_and_keeps_the_old_one(tmp_path, with_audio):
    wav = _wav(tmp_path / "a.wav", seconds=8 / 25)
    old = write_video(tmp_path / "v.mp4", _frames(t=3), fps=25)
    before = old.read_bytes()

    def interrupted():
        yield from _frames(t=5)
        raise KeyboardInterrupt  # Ctrl-C in the middle of a render

    with pytest.raises(KeyboardInterrupt):
        write_video(
            tmp_path / "v.mp4", interrupted(), fps=25, audio_wav=wav if with_audio else None
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav", "v.mp4"]
    assert old.read_bytes() == before


def test_odd_sizes_are_padded_and_errors(tmp_path):
    frames = _frames(t=3, h=31, w=33)
    _, back = _read(write_video(tmp_path / "odd.mp4", frames, fps=10))
    assert back.shape == (3, 32, 34, 3)
    padded = pad_even(frames[0])
    assert padded.shape == (32, 34, 3) and np.array_equal(padded[:31, :33], frames[0])
    assert np.array_equal(padded[31, :33], frames[0][30])
    assert np.array_equal(padded[:31, 33], frames[0][:, 32])
    with pytest.raises(ValueError, match="no frames"):
        write_video(tmp_path / "none.mp4", [], fps=25)
    with pytest.raises(ValueError, match="frame 1"):
        write_video(tmp_path / "mixed.mp4", [frames[0], _frames(1)[0]], fps=25)


def test_panels_and_depth_scale_per_clip():
    pred = np.zeros((2, 4, 5, 3), np.float32)
    gt = np.full((2, 4, 5, 3), 255, np.uint8)
    depth = np.stack([np.full((4, 5), 1.0), np.full((4, 5), 3.0)])
    depth[0, 0, 0] = 2.0
    panel = side_by_side(pred, gt, depth, cmap="viridis")
    assert panel.shape == (2, 4, 15, 3) and panel.dtype == np.uint8
    assert (panel[:, :, :5] == 0).all() and (panel[:, :, 5:10] == 255).all()
    lut = lambda t: np.round(np.array(colormaps["viridis"](t)[:3]) * 255)  # noqa: E731
    assert panel[0, 1, 10].tolist() == lut(0.0).tolist()  # the clip's nearest
    assert panel[1, 1, 10].tolist() == lut(1.0).tolist()  # the clip's farthest
    assert panel[0, 0, 10].tolist() == lut(0.5).tolist()
    assert side_by_side(pred[0], gt[0]).shape == (4, 10, 3)
    assert colorize_depth(np.array([[np.inf, 1.0, 2.0]]))[0, 0].tolist() == lut_turbo(0.0)


def lut_turbo(t):
    return np.round(np.array(colormaps["turbo"](t)[:3]) * 255).tolist()


class AudioColour(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(1))

    @torch.no_grad()
    def render_frame(self, frame):
        level = torch.sigmoid(self.w * frame.audio.mean())
        depth = torch.linspace(1, 2, frame.W).expand(frame.H, frame.W) + frame.pose[5]
        return {"rgb": level.expand(frame.H, frame.W, 3).clone(), "depth": depth}


@pytest.fixture(scope="module")
def train_set(tmp_path_factory):
    root = write_identity(tmp_path_factory.mktemp("video") / "id", identity=0, seconds=1.0,
                          size=32, seed=0)  # fmt: skip
    return TalkingHeadFolder(root, split="train", progress=False)


def test_render_video_own_clip_and_panels(train_set, tmp_path):
    res = render_video(AudioColour(), train_set, tmp_path / "own.mp4", max_frames=5,
                       progress=False)  # fmt: skip
    assert res["frames"] == 5 and res["size"] == [32, 32] and not res["driven"]
    meta, back = _read(res["path"])
    assert back.shape == (5, 32, 32, 3)
    res = render_video(AudioColour(), train_set, tmp_path / "sbs.mp4", side_by_side=True,
                       depth=True, max_frames=4, progress=False)  # fmt: skip
    _, back = _read(res["path"])
    assert back.shape == (4, 32, 96, 3)


def test_render_video_from_wav_with_studio_featurizer(train_set, tmp_path):
    wav = _wav(tmp_path / "speech.wav", seconds=1.2)  # 30 frames > 22 training frames
    system = AudioColour()
    system.w.data.fill_(0.2)  # log-mel values are about -10: keep the sigmoid off its tails
    res = render_video(system, train_set, tmp_path / "talk.mp4", audio_wav=wav,
                       featurizer="studio", progress=False)  # fmt: skip
    assert res["driven"] and res["frames"] == 30
    assert "Audio: aac" in _probe(res["path"])
    _, back = _read(res["path"])
    assert back.shape[0] == 30
    assert np.ptp(back[:, 16, 16].astype(int).mean(-1)) > 5  # the grey follows the audio


def test_wav_refused_for_external_features(train_set, tmp_path):
    wav = _wav(tmp_path / "speech.wav", seconds=0.4)
    with pytest.raises(ValueError, match="feature file"):
        render_video(AudioColour(), train_set, tmp_path / "x.mp4", audio_wav=wav,
                     featurizer=None, progress=False)  # fmt: skip
    assert not (tmp_path / "x.mp4").exists()
    feats = np.zeros((10, 16, 32), np.float32)  # features from the model's extractor + wav
    res = render_video(AudioColour(), train_set, tmp_path / "y.mp4", audio_features=feats,
                       audio_wav=wav, featurizer=None, progress=False)  # fmt: skip
    assert res["frames"] == 10 and "Audio: aac" in _probe(res["path"])
    _, back = _read(res["path"])
    assert np.abs(back.astype(int) - 128).max() <= 2  # sigmoid(0) = 0.5 grey
    with pytest.raises(ValueError, match="unknown audio extractor 'mfcc'"):
        render_video(AudioColour(), train_set, tmp_path / "z.mp4", featurizer="mfcc")
