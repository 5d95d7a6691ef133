"""WAV input of every audio featurizer: any PCM WAV (any rate, any channel count, 8 to 32
bit) read as mono float32, and brought to the rate a featurizer was made for.

>>> wav = load_wav_at("speech.wav", 16000)        # [T] float32 at 16 kHz, mono
>>> wav, sr = load_wav("speech.wav")             # [T] float32 at the file's own rate

A file that is not a PCM WAV (an mp3, a float WAV, a text file) raises ``WavError`` naming
the file and the ffmpeg command that converts it; nothing is featurised at a wrong rate.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from lokitalk_plugins.errors import UserError

from .resample import resample

__all__ = ["WavError", "CHANNELS", "wav_info", "load_wav", "load_wav_at", "write_wav"]

CHANNELS = ("mean", "first")
BLOCK_FRAMES = 1 << 20  # frames decoded at a time (bounded temporaries for long files)


class WavError(UserError, ValueError):
    """A file that cannot be read as a PCM WAV; the message names it and a fix."""


def _convert_hint(path) -> str:
    out = Path(path).with_suffix(".16k.wav").name
    return f"convert it with: ffmpeg -i {path} -ac 1 -ar 16000 -c:a pcm_s16le {out}"


def _decode(raw: bytes, width: int, path) -> np.ndarray:
    if width == 1:
        return (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    if width == 2:
        return np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    if width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        return np.where(v >= 1 << 23, v - (1 << 24), v).astype(np.float32) / float(1 << 23)
    if width == 4:
        return np.frombuffer(raw, "<i4").astype(np.float32) / float(1 << 31)
    raise WavError(f"{path}: unsupported sample width {width} bytes; {_convert_hint(path)}")


def _open(path):
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such WAV file")
    try:
        return wave.open(str(path), "rb")
    except (wave.Error, EOFError) as err:
        raise WavError(
            f"{path}: cannot read as a PCM WAV file ({err}); {_convert_hint(path)}"
        ) from None


def wav_info(path) -> tuple[int, int, int]:
    """(sample rate, channels, frames) from a WAV file's header."""
    with _open(path) as f:
        return f.getframerate(), f.getnchannels(), f.getnframes()


def load_wav(path, channel: str = "mean") -> tuple[np.ndarray, int]:
    """Read a PCM WAV file: returns (wav [T] float32 mono in [-1, 1], sample rate).

    channel: "mean" averages the channels (what ``ffmpeg -ac 1`` does); "first" keeps
    channel 0 (what the originals' wav2vec and HuBERT scripts do with a stereo file).
    Decoded in blocks, so memory is the mono float32 signal plus one block.
    """
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {CHANNELS}, got {channel!r}")
    with _open(path) as f:
        sr, ch, width, n = f.getframerate(), f.getnchannels(), f.getsampwidth(), f.getnframes()
        if sr < 1 or ch < 1:
            raise WavError(f"{path}: WAV header says {sr} Hz, {ch} channels; {_convert_hint(path)}")
        out = np.empty(n, dtype=np.float32)
        done = 0
        while done < n:
            raw = f.readframes(min(BLOCK_FRAMES, n - done))
            if not raw:
                break
            x = _decode(raw, width, path)
            x = x[: x.size - x.size % ch].reshape(-1, ch)
            out[done : done + len(x)] = x.mean(axis=1) if channel == "mean" else x[:, 0]
            done += len(x)
    return out[:done], int(sr)


def load_wav_at(path, sample_rate: int, channel: str = "mean") -> np.ndarray:
    """A WAV file as mono float32 [T'] at ``sample_rate`` (resampled when the file's rate
    differs, see ``resample``). Raises WavError for an unreadable or empty file."""
    wav, sr = load_wav(path, channel=channel)
    if wav.size == 0:
        raise WavError(f"{path}: the WAV file holds no samples")
    return resample(wav, sr, sample_rate)


def write_wav(path, wav: np.ndarray, sr: int = 16000) -> Path:
    """Write ``wav [T]`` (float, clipped to [-1, 1]) as 16-bit PCM mono; returns the path."""
    x = np.clip(np.asarray(wav, dtype=np.float64).reshape(-1), -1.0, 1.0)
    pcm = np.round(x * 32767.0).astype("<i2")
    path = Path(path)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(int(sr))
        f.writeframes(pcm.tobytes())
    return path
