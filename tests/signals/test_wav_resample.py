"""WAV reading (any rate, channels, width; clear errors) and band-limited resampling."""

from __future__ import annotations

import wave

import numpy as np
import pytest
from audio_helpers import speech

from lokitalk_plugins.signals.features import STUDIO_RATE, logmel, studio_windows
from lokitalk_plugins.signals.resample import resample, resampled_length
from lokitalk_plugins.signals.wav import WavError, load_wav, load_wav_at, wav_info


def _tones(sr, seconds=1.3, freqs=((440, 0.5), (3000, 0.2))):
    t = np.arange(int(seconds * sr)) / sr
    return sum(a * np.sin(2 * np.pi * f * t) for f, a in freqs)


@pytest.mark.parametrize("orig,new", [(44100, 16000), (8000, 16000), (48000, 16000),
                                      (22050, 16000), (16000, 8000)])  # fmt: skip
def test_resample_keeps_the_band_and_the_length(orig, new):
    x = _tones(orig, freqs=((440, 0.5), (1500, 0.2)))
    y = resample(x, orig, new)
    assert y.dtype == np.float32 and y.size == resampled_length(x.size, orig, new)
    assert y.size == int(np.ceil(x.size * new / orig))
    ref = _tones(new, freqs=((440, 0.5), (1500, 0.2)))[: y.size]
    inner = slice(new // 10, -new // 10)  # away from the zero-padded ends
    assert np.abs(y - ref)[inner].max() < 1e-4


def test_resample_removes_what_the_new_rate_cannot_hold():
    x = _tones(44100, freqs=((9000, 0.5),))  # above 8 kHz, the Nyquist rate of 16 kHz
    y = resample(x, 44100, 16000)
    assert np.sqrt(np.mean(y[1600:-1600] ** 2)) < 1e-3  # was 0.35 rms


def test_resample_in_blocks_equals_one_pass_and_same_rate_is_a_copy():
    x = np.random.default_rng(0).normal(size=30011).astype(np.float32)
    one = resample(x, 44100, 16000, block_seconds=100.0)
    for block in (0.01, 0.07, 0.33):
        assert np.allclose(resample(x, 44100, 16000, block_seconds=block), one, atol=1e-6)
    same = resample(x, 16000, 16000)
    assert np.array_equal(same, x) and same is not x
    with pytest.raises(ValueError, match="positive"):
        resample(x, 0, 16000)


def _write(path, pcm: np.ndarray, sr: int, width: int, channels: int | None = None):
    with wave.open(str(path), "wb") as f:
        f.setnchannels(channels or pcm.shape[1])
        f.setsampwidth(width)
        f.setframerate(sr)
        f.writeframes(pcm.tobytes())
    return path


def test_load_wav_widths_and_channels(tmp_path):
    left = np.array([0, 16384, -16384, 32767], "<i2")
    right = np.array([0, 0, 16384, -32768], "<i2")
    path = _write(tmp_path / "s16.wav", np.stack([left, right], 1), 44100, 2)
    mean, sr = load_wav(path)
    first, _ = load_wav(path, channel="first")
    assert sr == 44100 and wav_info(path) == (44100, 2, 4)
    assert np.allclose(first, left / 32768.0) and np.allclose(mean, (left + right) / 65536.0)
    u8 = _write(tmp_path / "u8.wav", np.array([[128], [192], [64]], np.uint8), 8000, 1)
    assert np.allclose(load_wav(u8)[0], [0.0, 0.5, -0.5])
    b24 = np.array([[0x00, 0x00, 0x40], [0x00, 0x00, 0xC0]], np.uint8)  # +-2^22 of 2^23
    p24 = _write(tmp_path / "s24.wav", b24, 16000, 3, channels=1)
    assert np.allclose(load_wav(p24)[0], [0.5, -0.5])
    with pytest.raises(ValueError, match="channel must be one of"):
        load_wav(path, channel="left")


def test_a_file_that_is_not_a_wav_names_the_fix(tmp_path):
    mp3 = tmp_path / "talk.mp3"
    mp3.write_bytes(b"ID3\x04\x00" + bytes(64))
    with pytest.raises(WavError, match=r"talk\.mp3: cannot read as a PCM WAV file") as err:
        load_wav(mp3)
    assert "ffmpeg -i" in str(err.value) and "-ar 16000" in str(err.value)
    assert "\n" not in str(err.value)
    empty = _write(tmp_path / "empty.wav", np.zeros((0, 1), "<i2"), 16000, 2)
    with pytest.raises(WavError, match="holds no samples"):
        load_wav_at(empty, 16000)
    with pytest.raises(FileNotFoundError, match="no such WAV file"):
        load_wav(tmp_path / "absent.wav")


def test_an_8khz_stereo_wav_is_brought_to_16khz_mono(tmp_path):
    lo = speech(tmp_path / "8k.wav", 1.0, sr=8000, channels=2)
    hi = speech(tmp_path / "16k.wav", 1.0, sr=16000)
    wav = load_wav_at(lo, 16000, channel="first")
    assert wav.shape == (16000,)
    ref, _ = load_wav(hi)
    assert np.abs(wav - ref)[800:-800].max() < 2e-3  # only 16-bit rounding differs
    # the studio's log-mel bank is meant for 16 kHz: the 8 kHz file gets the same bands
    lo = speech(tmp_path / "8k_mono.wav", 1.0, sr=8000)  # the mean of the channels differs
    a, b = studio_windows(lo, n_mels=24), studio_windows(hi, n_mels=24)
    assert a.shape == b.shape == (25, 16, 24)
    bands = 14  # the mel bands below 3.5 kHz (the signal's band); the rest is silence
    good = np.abs(a[2:-2, :, :bands] - b[2:-2, :, :bands]).mean()
    naive = logmel(load_wav(lo)[0], sr=8000, n_mels=24)  # what an 8 kHz mel bank gives
    bad = np.abs(naive[2:-2, :bands] - logmel(ref, STUDIO_RATE, n_mels=24)[2:-2, :bands]).mean()
    assert good < 0.2 < bad, (good, bad)
