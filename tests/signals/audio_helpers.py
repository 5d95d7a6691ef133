"""Test WAV files: a voiced, band-limited signal at any rate and channel count."""

from __future__ import annotations

import wave

import numpy as np

from lokitalk_plugins.signals.wav import write_wav


def speech(path, seconds: float, sr: int = 16000, channels: int = 1, seed: int = 0):
    """A voiced, band-limited test signal (< 3.5 kHz) written as 16-bit PCM."""
    g = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * sr))) / sr
    x = 0.3 * np.sin(2 * np.pi * 180 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    x += 0.1 * np.sin(2 * np.pi * 1100 * t + g.uniform(0, 6)) + 0.05 * np.sin(2 * np.pi * 2900 * t)
    if channels == 1:
        return write_wav(path, x, sr)
    pcm = np.round(np.clip(x, -1, 1) * 32767).astype("<i2")
    stereo = np.stack([pcm] + [(pcm // (c + 1)) for c in range(1, channels)], axis=1)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(channels)
        f.setsampwidth(2)
        f.setframerate(sr)
        f.writeframes(stereo.tobytes())
    return path
