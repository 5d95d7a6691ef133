"""HuBERT and wav2vec extractors on tiny random models: the originals' frames, windows,
padding and clips, checked against literal re-enactments of their scripts' loops."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from audio_helpers import speech

from lokitalk_plugins.signals.extract import extract_features
from lokitalk_plugins.signals.extractors import (
    ExtractorError,
    check_spec_fits,
    format_spec,
    load_extractor,
    parse_spec,
    resolve_spec,
    spec_from_file,
)
from lokitalk_plugins.signals.hubert_features import hubert_frame_count, hubert_frames
from lokitalk_plugins.signals.wav import WavError, load_wav_at
from lokitalk_plugins.signals.wav2vec_features import unfold_windows, wav2vec_logits

LENGTHS = [800, 16000, 19200, 22880, 35100, 35200, 59200]  # samples at 16 kHz


def _wav(n, seed=0):
    g = np.random.default_rng(seed)
    return (0.2 * g.normal(size=n)).astype(np.float32)


def _normalize(x):
    x = np.asarray(x, np.float32)
    return (x - x.mean()) / np.sqrt(x.var() + 1e-7)


def _original_wav2vec_stream(wav, normalize, forward, l=10, m=50, r=10):
    """RAD-NeRF nerf/asr.py --save_feats, re-enacted chunk by chunk (20 ms chunks, l zero
    chunks first, a run whenever l + m + r chunks are held, the last run at the end)."""
    frames = [np.zeros(320, np.float32)] * l
    feats, idx, done = [], 0, False
    while not done:
        if idx < len(wav):
            frames.append(wav[idx : idx + 320])
            idx += 320
            if len(frames) < l + m + r:
                continue
        else:
            done = True
        inputs = np.concatenate(frames)
        if not done:
            frames = frames[-(l + r) :]
        logits = forward(torch.from_numpy(normalize(inputs))[None])
        t = logits.shape[0]
        feats.append(logits[l:] if done else logits[l : min(t, t - r + 1)])
    return torch.cat(feats)


def _original_hubert_clips(values, forward, clip_frames):
    """ER-NeRF data_utils/hubert.py, re-enacted with clips of ``clip_frames`` frames."""
    clip = 320 * clip_frames
    n = values.shape[0] // clip
    expected = (values.shape[0] - 80) // 320
    res = [forward(values[None, i * clip : i * clip + clip - 320 + 400]) for i in range(n)]
    rest = values[n * clip :] if n else values
    if rest.shape[0] >= 400:
        res.append(forward(rest[None]))
    ret = torch.cat(res)
    if ret.shape[0] < expected:
        ret = torch.nn.functional.pad(ret, (0, 0, 0, expected - ret.shape[0]))
    return ret[:expected]


@pytest.fixture(scope="module")
def wav2vec(tiny_wav2vec):
    fe, net = load_extractor("wav2vec", str(tiny_wav2vec), device="cpu")
    return fe, lambda v: net(v).logits[0]


@pytest.fixture(scope="module")
def hubert(tiny_hubert):
    fe, net = load_extractor("hubert", str(tiny_hubert), device="cpu")
    return fe, lambda v: net(v).last_hidden_state[0]


@pytest.mark.parametrize("n", LENGTHS)
def test_wav2vec_runs_the_originals_segments(wav2vec, n):
    _, forward = wav2vec
    wav = _wav(n)
    ours = wav2vec_logits(wav, _normalize, forward)
    ref = _original_wav2vec_stream(wav, _normalize, forward)
    assert ours.shape == ref.shape and ours.shape[1] == 44
    assert torch.allclose(ours, ref, atol=1e-6)
    if n % 320 == 0:
        assert ours.shape[0] == n // 320 - 1  # one frame per 20 ms, less one


def test_wav2vec_windows_are_the_originals_unfold():
    frames = torch.randn(37, 44)
    ours = unfold_windows(frames.numpy())
    x = frames.T.reshape(1, 44, 37, 1)
    ref = torch.nn.functional.unfold(x, kernel_size=(16, 1), padding=(8, 0), stride=(2, 1))
    ref = ref.view(44, 16, -1).permute(2, 1, 0)
    assert ours.shape == (19, 16, 44) and np.array_equal(ours, ref.numpy())


@pytest.mark.parametrize("seconds,windows", [(0.3, 8), (1.0, 25), (1.43, 36), (3.7, 93)])
def test_wav2vec_features_layout_and_padding(tiny_wav2vec, tmp_path, seconds, windows):
    wav = speech(tmp_path / "s.wav", seconds)
    feats = extract_features(wav, f"wav2vec@{tiny_wav2vec}", progress=False)
    assert feats.shape == (windows, 16, 44) and feats.dtype == np.float32
    logits = wav2vec_logits(load_wav_at(wav, 16000), _normalize_from(tiny_wav2vec),
                            _forward(tiny_wav2vec, "wav2vec"))  # fmt: skip
    m = logits.shape[0]
    assert windows == m // 2 + 1
    assert np.all(feats[0, :8] == 0) and np.allclose(feats[0, 8:], logits[:8], atol=1e-6)
    assert np.allclose(feats[3, 8], logits[6], atol=1e-6)  # window i centres on frame 2i
    past = 8 + m - 2 * (windows - 1)  # rows of the last window past the last frame
    assert np.all(feats[-1, past:] == 0) and np.any(feats[-1, past - 1] != 0)


def _normalize_from(folder):
    fe, _ = load_extractor("wav2vec", str(folder), device="cpu")
    return lambda x: fe(x, sampling_rate=16000, return_tensors="np").input_values[0]


def _forward(folder, name):
    _, net = load_extractor(name, str(folder), device="cpu")
    if name == "hubert":
        return lambda v: net(v).last_hidden_state[0]
    return lambda v: net(v).logits[0]


@pytest.mark.parametrize("n", LENGTHS + [12799, 12800 + 399, 12800 + 400])
def test_hubert_clips_are_the_originals(hubert, n):
    _, forward = hubert
    values = torch.from_numpy(_normalize(_wav(n, seed=1)))
    ours = hubert_frames(values, forward, clip_frames=20)  # clips of 6400 samples
    ref = _original_hubert_clips(values, forward, clip_frames=20)
    assert ours.shape == ref.shape == (hubert_frame_count(n), 32)
    assert torch.allclose(ours, ref, atol=1e-6)


def test_a_long_wav_runs_in_the_originals_20_s_clips(hubert):
    _, forward = hubert
    values = torch.from_numpy(_normalize(_wav(21 * 16000 + 123, seed=4)))  # 21 s: two clips
    calls = []
    ours = hubert_frames(values, lambda v: calls.append(v.shape[1]) or forward(v))
    assert calls == [320080, 16123]  # 1000 frames, then the rest from sample 320000
    ref = _original_hubert_clips(values, forward, clip_frames=1000)
    assert ours.shape == (hubert_frame_count(values.numel()), 32) == (1050, 32)
    assert torch.allclose(ours, ref, atol=1e-6)


def test_hubert_one_clip_is_one_pass_and_the_end_is_zero_padded(hubert):
    _, forward = hubert
    values = torch.from_numpy(_normalize(_wav(16000 + 80 + 320 * 3, seed=2)))
    whole = forward(values[None])  # the model on the whole signal at once
    ours = hubert_frames(values, forward)  # clip_frames 1000 > 53 frames: one clip
    assert torch.allclose(ours, whole[: ours.shape[0]], atol=1e-6)
    # the first frame starts at sample 0 (no padding before); a rest shorter than the
    # 400-sample kernel makes no frame
    assert (
        hubert_frame_count(6400 + 399)
        == 20
        == hubert_frames(torch.zeros(6799), forward, clip_frames=20).shape[0]
    )
    # a model giving one frame too few is zero-padded at the end, as the original does
    short = lambda v: torch.ones(max(0, (v.shape[1] - 80) // 320 - 1), 3)  # noqa: E731
    frames = hubert_frames(torch.zeros(3280), short)
    assert frames.shape == (10, 3) and torch.all(frames[-1] == 0) and torch.all(frames[-2] == 1)
    with pytest.raises(RuntimeError, match="320-sample stride"):
        hubert_frames(torch.zeros(12880), short, clip_frames=10)  # 3 clips, 3 frames short


@pytest.mark.parametrize("seconds,windows", [(0.3, 7), (1.0, 24), (1.43, 35), (3.7, 92)])
def test_hubert_features_layout(tiny_hubert, tmp_path, seconds, windows):
    wav = speech(tmp_path / "s.wav", seconds)
    feats = extract_features(wav, f"hubert@{tiny_hubert}", progress=False)
    n = int(round(seconds * 16000))
    assert feats.shape == (windows, 2, 32) == (hubert_frame_count(n) // 2, 2, 32)
    frames = hubert_frames(_normalize(load_wav_at(wav, 16000)), _forward(tiny_hubert, "hubert"))
    assert np.allclose(feats[5, 1], frames[11], atol=1e-5)  # window i = frames 2i, 2i + 1


def test_any_rate_and_channels_give_the_16khz_features(tiny_hubert, tmp_path):
    ref = extract_features(speech(tmp_path / "a.wav", 1.0), f"hubert@{tiny_hubert}",
                           progress=False)  # fmt: skip
    stereo = speech(tmp_path / "b.wav", 1.0, sr=44100, channels=2)
    feats = extract_features(stereo, f"hubert@{tiny_hubert}", progress=False)
    assert feats.shape == ref.shape
    assert np.abs(feats - ref)[1:-1].max() < 0.05 * np.abs(ref).max()


def test_missing_weights_fail_at_once_with_what_to_do(tmp_path):
    with pytest.raises(ExtractorError) as err:  # the WAV is not even read
        extract_features(tmp_path / "absent.wav", "hubert@lokitalk-tests/absent-hubert")
    msg = str(err.value)
    assert "'lokitalk-tests/absent-hubert'" in msg and "hf download" in msg
    assert "--model FOLDER" in msg and "\n" not in msg
    mp3 = tmp_path / "talk.mp3"
    mp3.write_bytes(b"ID3" + bytes(40))
    with pytest.raises(WavError, match="cannot read as a PCM WAV"):  # before the model loads
        extract_features(mp3, "hubert@" + str(tmp_path))  # a folder with no weights in it
    (tmp_path / "empty").mkdir()
    with pytest.raises(ExtractorError, match="could not be loaded"):
        load_extractor("wav2vec", str(tmp_path / "empty"))


def test_deepspeech_is_refused_with_the_command_to_run(tmp_path):
    with pytest.raises(ExtractorError) as err:
        extract_features("talk.wav", "deepspeech")
    msg = str(err.value)
    assert "TensorFlow 1.x" in msg and "extract_ds_features.py --input talk.wav" in msg
    assert "--audio-features talk.npy" in msg


def test_specs_and_what_a_file_says(tmp_path, monkeypatch):
    assert parse_spec("hubert") == ("hubert", "facebook/hubert-large-ls960-ft")
    assert parse_spec("wav2vec@/m/x") == ("wav2vec", "/m/x")
    assert parse_spec("studio") == ("studio", None)
    assert format_spec("hubert", "facebook/hubert-large-ls960-ft") == "hubert"
    assert format_spec("hubert", "/m/h") == "hubert@/m/h"
    (tmp_path / "m").mkdir()
    with monkeypatch.context() as m:
        m.chdir(tmp_path)
        assert resolve_spec("hubert@m") == f"hubert@{tmp_path.resolve() / 'm'}"
        assert resolve_spec("wav2vec@org/name") == "wav2vec@org/name"  # a Hub name stays
        assert resolve_spec("hubert") == "hubert" and resolve_spec("studio") == "studio"
    with pytest.raises(ExtractorError, match="unknown audio extractor 'mfcc'"):
        parse_spec("mfcc")
    with pytest.raises(ExtractorError, match="takes no model"):
        parse_spec("studio@x")
    np.save(tmp_path / "aud_hu.npy", np.zeros((4, 2, 1024), np.float32))
    np.save(tmp_path / "aud_eo.npy", np.zeros((4, 16, 44), np.float32))
    np.save(tmp_path / "aud_ds.npy", np.zeros((4, 16, 32), np.float32))  # not DeepSpeech's
    assert spec_from_file(tmp_path / "aud_hu.npy") == "hubert"
    assert spec_from_file(tmp_path / "aud_eo.npy") == "wav2vec"
    assert spec_from_file(tmp_path / "aud_ds.npy") is None
    check_spec_fits("hubert", tmp_path / "aud_hu.npy")
    check_spec_fits("wav2vec@/my/model", tmp_path / "aud_ds.npy")  # any K for other models
    with pytest.raises(ExtractorError, match=r"\[4, 2, 1024\] cannot come from the wav2vec"):
        check_spec_fits("wav2vec", tmp_path / "aud_hu.npy")
    with pytest.raises(ExtractorError, match=r"writes \[N, 16, 29\]"):
        check_spec_fits("deepspeech", tmp_path / "aud_ds.npy")
