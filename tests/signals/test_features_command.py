"""``lokitalk features``: a WAV -> the studio's log-mel windows as an .npy."""

from __future__ import annotations

import numpy as np

from lokitalk_plugins.cli import main
from lokitalk_plugins.commands import features as features_command
from lokitalk_plugins.signals.features import load_wav, logmel_windows, write_wav


def _run(argv) -> int:
    return main(["features", *argv])


def _errors(capsys) -> list[str]:
    """The messages of the ``lokitalk features: error:`` lines on stderr (one per failure)."""
    lines = capsys.readouterr().err.splitlines()
    errors = [ln for ln in lines if ln.startswith("lokitalk features: error: ")]
    hints = [ln for ln in lines if ln == "(run again with --debug for the traceback)"]
    assert len(hints) == len(errors)  # each one line and the --debug hint (stderr also
    # holds the progress bars)
    return [ln.removeprefix("lokitalk features: error: ") for ln in errors]


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
    assert _run([str(tmp_path / "missing.wav")]) == 2
    (tmp_path / "junk.wav").write_bytes(b"not a wav file at all")
    assert _run([str(tmp_path / "junk.wav")]) == 2
    assert _run([str(_speech(tmp_path / "s.wav")), "--n-mels", "0"]) == 2
    missing, junk, mels = _errors(capsys)
    assert "no such file" in missing and "cannot read" in junk and "positive" in mels
    assert isinstance(features_command.HELP, str) and "\n" not in features_command.HELP


def test_hubert_features_in_er_nerf_layout(tiny_hubert_1024, tmp_path, capsys):
    from audio_helpers import speech

    wav = speech(tmp_path / "talk.wav", 1.0, sr=44100, channels=2)
    args = [str(wav), "--extractor", "hubert", "--model", str(tiny_hubert_1024), "--quiet"]
    assert _run(args) == 0
    feats = np.load(tmp_path / "talk_hu.npy")  # ER-NeRF's name for X.wav
    assert feats.shape == (24, 2, 1024) and feats.dtype == np.float32
    out = capsys.readouterr().out
    assert "talk_hu.npy: [24, 2, 1024]" in out and "44100 Hz, 2 channel(s)" in out


def test_wav2vec_features_in_rad_nerf_layout(tiny_wav2vec, tmp_path, capsys):
    from audio_helpers import speech

    wav = speech(tmp_path / "talk.wav", 0.5, sr=8000)
    assert _run([str(wav), "--extractor", "wav2vec", "--model", str(tiny_wav2vec)]) == 0
    assert np.load(tmp_path / "talk_eo.npy").shape == (13, 16, 44)  # an Esperanto model
    capsys.readouterr()
    assert _run([str(wav), "--extractor", "wav2vec", "--model", str(tiny_wav2vec),
                 "--fps", "30"]) == 2  # fmt: skip
    assert "fps must be 25" in _errors(capsys)[0]


def test_extractors_that_cannot_run_here(tiny_hubert, tmp_path, capsys):
    wav = _speech(tmp_path / "talk.wav")
    assert _run([str(wav), "--extractor", "deepspeech"]) == 2
    assert _run([str(wav), "--extractor", "hubert", "--model", "nobody/absent"]) == 2
    assert _run([str(wav), "--extractor", "hubert", "--model", str(tiny_hubert)]) == 2
    out = _errors(capsys)
    assert len(out) == 3
    assert "TensorFlow 1.x" in out[0] and "hf download nobody/absent" in out[1]
    assert "[14, 2, 32]" in out[2] and "does not accept" in out[2]  # 0.6 s, 32-d HuBERT
    assert not list(tmp_path.glob("*.npy"))
