"""``lokitalk features``: a WAV -> the studio's log-mel windows as an .npy."""

from __future__ import annotations

import argparse

import numpy as np

from lokitalk_plugins.signals import features_command
from lokitalk_plugins.signals.features import load_wav, logmel_windows, write_wav


def _run(argv) -> int:
    parser = argparse.ArgumentParser()
    features_command.configure(parser)
    return features_command.run(parser.parse_args(argv))


def _speech(path, seconds=0.6, sr=16000):
    g = np.random.default_rng(0)
    t = np.arange(int(seconds * sr)) / sr
    wav = 0.3 * np.sin(2 * np.pi * 180 * t) * (0.5 + 0.5 * np.sin(9 * t)) + 0.01 * g.normal(
        size=t.size
    )
    return write_wav(path, wav, sr)


def test_features_match_the_studio_featurizer(tmp_path, capsys):
    wav = _speech(tmp_path / "speech.wav")
    assert _run([str(wav), "--out", str(tmp_path / "out/f.npy"), "--n-mels", "24"]) == 0
    feats = np.load(tmp_path / "out/f.npy")
    pcm, sr = load_wav(wav)
    assert feats.shape == (15, 16, 24) and feats.dtype == np.float32  # 0.6 s at 25 fps
    assert np.array_equal(feats, logmel_windows(pcm, sr=sr, fps=25, n_mels=24))
    assert "[15, 16, 24]" in capsys.readouterr().out


def test_default_output_and_fps(tmp_path):
    wav = _speech(tmp_path / "speech.wav", seconds=0.5, sr=8000)
    assert _run([str(wav), "--fps", "30"]) == 0
    feats = np.load(tmp_path / "speech.npy")
    assert feats.shape == (15, 16, 32)  # default n_mels; 0.5 s at 30 fps


def test_bad_inputs(tmp_path, capsys):
    assert _run([str(tmp_path / "missing.wav")]) == 1
    (tmp_path / "junk.wav").write_bytes(b"not a wav file at all")
    assert _run([str(tmp_path / "junk.wav")]) == 1
    assert _run([str(_speech(tmp_path / "s.wav")), "--n-mels", "0"]) == 2
    out = capsys.readouterr().out
    assert "no such file" in out and "cannot read" in out and "positive" in out
    assert isinstance(features_command.HELP, str) and "\n" not in features_command.HELP
