"""Audio features from the waveform: 50 Hz log-mel frames packed 16 to a 25 fps video frame.

The layout is the one of the originals' ``aud*.npy`` files: ``[N, 16, K]``, one window of 16
audio frames (50 Hz, hop 320 samples at 16 kHz) per video frame, centred on the video frame's
time ``i / fps``; windows reaching past either end repeat the edge frame.
"""

from __future__ import annotations

import numpy as np

from .wav import load_wav, load_wav_at, write_wav

__all__ = [
    "STUDIO_RATE",
    "load_wav",
    "write_wav",
    "mel_filterbank",
    "logmel",
    "logmel_windows",
    "studio_windows",
]

N_FFT = 512  # 32 ms analysis frame at 16 kHz
WIN = 400  # 25 ms Hann window
WINDOW_FRAMES = 16  # audio frames per video frame window
STUDIO_RATE = 16000  # the studio's aud.wav rate, the rate its mel bank is meant for


def _hz_to_mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def _mel_to_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(sr: int = 16000, n_fft: int = N_FFT, n_mels: int = 32) -> np.ndarray:
    """Triangular mel filters (HTK mel scale, 0 .. sr/2): [n_mels, n_fft // 2 + 1] float64."""
    freqs = np.linspace(0.0, sr / 2.0, n_fft // 2 + 1)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sr / 2.0), n_mels + 2))
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs[None] - lo) / (mid - lo)
    down = (hi - freqs[None]) / (hi - mid)
    return np.maximum(0.0, np.minimum(up, down))


def logmel(wav: np.ndarray, sr: int = 16000, n_mels: int = 32, hop: int | None = None):
    """Log-mel power frames: [M, n_mels] float32, M = 1 + len(wav) // hop, frame j centred at
    sample ``j * hop`` (reflect padding), natural log of mel power + 1e-6.

    hop defaults to sr / 50 (320 at 16 kHz), i.e. 50 frames per second.
    """
    x = np.asarray(wav, dtype=np.float64).reshape(-1)
    hop = int(hop or round(sr / 50))
    n_fft = N_FFT if sr <= 16000 else int(2 ** np.ceil(np.log2(0.032 * sr)))
    win_len = min(n_fft, int(round(0.025 * sr)))
    pad = n_fft // 2
    if x.size <= pad:
        x = np.pad(x, (0, pad + 1 - x.size))
    x = np.pad(x, (pad, pad), mode="reflect")
    m = 1 + (x.size - 2 * pad) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(m)[:, None]
    idx = np.minimum(idx, x.size - 1)
    window = np.zeros(n_fft)
    off = (n_fft - win_len) // 2
    window[off : off + win_len] = np.hanning(win_len + 2)[1:-1]
    spec = np.abs(np.fft.rfft(x[idx] * window[None], axis=1)) ** 2
    mel = spec @ mel_filterbank(sr, n_fft, n_mels).T
    return np.log(mel + 1e-6).astype(np.float32)


def logmel_windows(wav: np.ndarray, sr: int = 16000, fps: int = 25, n_mels: int = 32) -> np.ndarray:
    """Audio windows for video frames: [N, 16, n_mels] float32.

    N = round(len(wav) * fps / sr) video frames; window i holds the 50 Hz log-mel frames
    j = c - 8 .. c + 7 with c the frame at time i / fps, indices clamped to the ends.
    """
    frames = logmel(wav, sr=sr, n_mels=n_mels)
    n = int(round(np.asarray(wav).size * fps / sr))
    centre = np.round(np.arange(n) * 50.0 / fps).astype(np.int64)
    j = centre[:, None] + np.arange(-WINDOW_FRAMES // 2, WINDOW_FRAMES // 2)[None, :]
    j = np.clip(j, 0, frames.shape[0] - 1)
    return np.ascontiguousarray(frames[j], dtype=np.float32)


def studio_windows(path, n_mels: int = 32, fps: int = 25) -> np.ndarray:
    """The studio's log-mel windows of a WAV file of any rate and channel count:
    [N, 16, n_mels] float32. The file is first brought to 16 kHz mono (``load_wav_at``), so
    the mel bank covers the band the studio's own ``aud.npy`` covers."""
    wav = load_wav_at(path, STUDIO_RATE)
    return logmel_windows(wav, sr=STUDIO_RATE, fps=fps, n_mels=n_mels)
