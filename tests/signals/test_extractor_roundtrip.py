"""The real-data round trip: a folder whose features come from an extractor -> lokitalk
train records the extractor -> lokitalk render --audio new.wav computes the same features."""

from __future__ import annotations

import json

import imageio_ffmpeg
import numpy as np
import pytest
import torch
from audio_helpers import speech

from lokitalk_plugins.cli import main
from lokitalk_plugins.commands.workspace import featurizer_of
from lokitalk_plugins.data.folder import TalkingHeadFolder
from lokitalk_plugins.data.studio import write_identity
from lokitalk_plugins.signals.extract import extract_features
from lokitalk_plugins.signals.extractors import ExtractorError
from lokitalk_plugins.train.drive import drive


@pytest.fixture(scope="module")
def folder(tmp_path_factory, tiny_wav2vec):
    data = write_identity(tmp_path_factory.mktemp("rt") / "id000", seconds=1.0, size=32, seed=0)
    feats = extract_features(data / "aud.wav", f"wav2vec@{tiny_wav2vec}", progress=False)
    np.save(data / "aud_eo.npy", feats)  # what RAD-NeRF's nerf/asr.py names it
    return data


@pytest.fixture(scope="module")
def workspace(folder, tiny_wav2vec, tmp_path_factory):
    ws = tmp_path_factory.mktemp("rt") / "run"
    code = main([
        "train", "--config", "configs/er_nerf.gin", "--config", "configs/studio_quick.gin",
        "--data", str(folder), "--workspace", str(ws), "--quiet",
        "--bind", "TalkingHeadFolder.audio_file = 'aud_eo.npy'",
        "--bind", "ERNeRF.audio_in_dim = 44", "--bind", "head/Trainer.steps = 10",
        "--bind", "Trainer.val_every = 10", "--bind", "ERNeRF.grid_size = 32",
        "--bind", "TalkingHeadSystem.num_rays = 256",
        "--audio-extractor", f"wav2vec@{tiny_wav2vec}",
    ])  # fmt: skip
    assert code == 0
    return ws


def _frames(path) -> int:
    reader = imageio_ffmpeg.read_frames(str(path))
    next(reader)
    return sum(1 for _ in reader)


@pytest.mark.slow
def test_render_featurises_a_new_wav_with_the_recorded_extractor(workspace, tiny_wav2vec,
                                                                 tmp_path, capsys):  # fmt: skip
    run = json.loads((workspace / "run.json").read_text())
    assert run["featurizer"] == f"wav2vec@{tiny_wav2vec}"
    wav = speech(tmp_path / "new.wav", 0.8, sr=44100, channels=2)  # any rate, stereo
    out = tmp_path / "talk.mp4"
    args = ["render", "--workspace", str(workspace), "--quiet", "--audio", str(wav)]
    assert main([*args, "--out", str(out)]) == 0
    assert _frames(out) == 20  # 0.8 s: 39 logit frames at 50 Hz -> 20 windows
    # a mismatch with the recorded extractor, and a file that is not a WAV, are refused
    assert main([*args, "--out", str(tmp_path / "x.mp4"), "--extractor", "hubert"]) == 2
    mp3 = tmp_path / "new.mp3"
    mp3.write_bytes(b"ID3" + bytes(40))
    bad = ["render", "--workspace", str(workspace), "--quiet", "--audio", str(mp3)]
    assert main([*bad, "--out", str(tmp_path / "y.mp4")]) == 1
    out_lines = capsys.readouterr().out.splitlines()
    assert "is not wav2vec@" in out_lines[-2] and "cannot read as a PCM WAV" in out_lines[-1]
    assert not (tmp_path / "x.mp4").exists() and not (tmp_path / "y.mp4").exists()


@pytest.mark.slow
def test_render_without_the_weights_fails_at_once(workspace, tmp_path, capsys):
    run_file = workspace / "run.json"
    run = json.loads(run_file.read_text())
    try:
        run_file.write_text(json.dumps({**run, "featurizer": "wav2vec"}))  # the Esperanto model
        wav = speech(tmp_path / "new.wav", 0.4)
        args = ["render", "--workspace", str(workspace), "--audio", str(wav), "--quiet"]
        assert main([*args, "--out", str(tmp_path / "z.mp4")]) == 1
        assert "hf download cpierse/wav2vec2-large-xlsr-53-esperanto" in capsys.readouterr().out
    finally:
        run_file.write_text(json.dumps(run))


def test_the_folder_says_which_extractor_made_its_features(folder, tiny_wav2vec):
    assert featurizer_of(folder, "aud.npy") == "studio"  # the studio's log-mels of aud.wav
    assert featurizer_of(folder, "aud_eo.npy") == "wav2vec"  # RAD-NeRF's name and [N, 16, 44]
    given = f"wav2vec@{tiny_wav2vec}"
    assert featurizer_of(folder, "aud_eo.npy", given) == given
    with pytest.raises(ExtractorError, match=r"\[25, 16, 44\] cannot come from the hubert"):
        featurizer_of(folder, "aud_eo.npy", "hubert")


class AudioGrey(torch.nn.Module):
    @torch.no_grad()
    def render_frame(self, frame):
        level = torch.sigmoid(frame.audio.mean())
        return {"rgb": level.expand(frame.H, frame.W, 3).clone()}


def test_hubert_layout_loads_in_the_reader_and_drives(folder, tiny_hubert_1024, tmp_path):
    spec = f"hubert@{tiny_hubert_1024}"
    hubert = extract_features(speech(tmp_path / "long.wav", 1.2), spec, progress=False)
    assert hubert.shape == (29, 2, 1024)  # ((19200 - 80) // 320) // 2
    np.save(folder / "aud_hu.npy", hubert)
    data = TalkingHeadFolder(folder, split="train", audio_file="aud_hu.npy", progress=False)
    assert tuple(data.audio_features.shape) == (29, 1024, 2) and data[0].audio.shape == (8, 1024, 2)
    new = extract_features(speech(tmp_path / "new.wav", 0.5, sr=22050), spec, progress=False)
    out = list(drive(AudioGrey(), data, new, progress=False))
    assert len(out) == new.shape[0] == 12 and out[3][0].audio.shape == (8, 1024, 2)
    assert torch.equal(out[3][0].audio[4], torch.from_numpy(new[3]).T)  # window 3 of new audio
