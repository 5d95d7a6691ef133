"""The studio's voice: an utterance (seed) spoken by an identity, and the mouth it drives.

An utterance is a phone sequence (syllables of consonant + vowel (+ coda), words, phrases and
pauses) with relative durations; the identity's speaking rate scales it in time, its pitch and
vocal tract colour the voice. The same timeline drives the waveform (harmonics shaped by
vowel formants, noise bursts and frication for consonants) and the articulators (jaw opening:
open vowels open, bilabials close; lip width: rounded vowels narrow), so the jaw track is
defined by the syllable timing and any identity can say any utterance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from .identity import Identity, rng_for

__all__ = ["Speech", "speak", "make_phones", "PHONES", "CONTROL_RATE"]

CONTROL_RATE = 1000  # Hz, rate of the articulator and source-filter controls
# phone -> (jaw, lip width, voicing, noise amplitude, noise band lo/hi Hz, F1, F2, F3, kind)
PHONES = {
    "a": (1.00, 0.65, 1.0, 0.0, 0, 0, 750, 1250, 2600, "vowel"),
    "e": (0.60, 0.80, 1.0, 0.0, 0, 0, 500, 1900, 2600, "vowel"),
    "i": (0.25, 0.95, 0.9, 0.0, 0, 0, 300, 2300, 3000, "vowel"),
    "o": (0.70, 0.25, 1.0, 0.0, 0, 0, 500, 900, 2500, "vowel"),
    "u": (0.30, 0.10, 0.9, 0.0, 0, 0, 320, 800, 2300, "vowel"),
    "p": (0.00, 0.50, 0.0, 0.55, 500, 5000, 400, 1200, 2500, "stop"),
    "b": (0.00, 0.50, 0.12, 0.40, 300, 3000, 300, 1100, 2400, "stop"),
    "m": (0.00, 0.50, 0.35, 0.0, 0, 0, 250, 1000, 2200, "nasal"),
    "t": (0.15, 0.60, 0.0, 0.50, 2500, 7000, 400, 1700, 2600, "stop"),
    "d": (0.15, 0.60, 0.12, 0.40, 2000, 5000, 350, 1600, 2600, "stop"),
    "k": (0.25, 0.55, 0.0, 0.50, 1200, 3500, 400, 1500, 2500, "stop"),
    "n": (0.15, 0.60, 0.35, 0.0, 0, 0, 250, 1600, 2500, "nasal"),
    "s": (0.12, 0.80, 0.0, 0.45, 4500, 7800, 400, 1700, 2600, "fric"),
    "S": (0.15, 0.30, 0.0, 0.50, 2000, 5500, 400, 1600, 2500, "fric"),
    "f": (0.08, 0.55, 0.0, 0.22, 1500, 7500, 400, 1400, 2500, "fric"),
    "l": (0.30, 0.60, 0.5, 0.0, 0, 0, 380, 1100, 2600, "liquid"),
    "w": (0.20, 0.05, 0.5, 0.0, 0, 0, 300, 700, 2300, "liquid"),
    "_": (0.05, 0.50, 0.0, 0.0, 0, 0, 500, 1500, 2500, "pause"),
}
ONSETS = "pbmtdknsSflw"
CODAS = "nmstkl"
VOWEL_P = {"a": 0.3, "e": 0.2, "i": 0.2, "o": 0.17, "u": 0.13}
BASE_DUR = {"vowel": 0.11, "stop": 0.06, "nasal": 0.06, "fric": 0.08, "liquid": 0.06}


@dataclass
class Speech:
    """A spoken utterance. wav [T] float32 at sr; per video frame: jaw [N], lip_width [N]
    (both 0..1); phones: list of (phone, start s, duration s); envelope [N] RMS per frame."""

    wav: np.ndarray
    sr: int
    jaw: np.ndarray
    lip_width: np.ndarray
    envelope: np.ndarray
    phones: list


def make_phones(utterance: int, seconds: float, rate: float) -> list[tuple[str, float, float]]:
    """Phone timeline of an utterance at ``rate`` syllables/s, covering ``seconds``.

    The phone content and relative timing depend on the utterance seed only (a faster speaker
    says more of the same sequence in the same time).
    """
    g = rng_for("utterance", utterance)
    scale = 5.0 / rate
    out, t = [], 0.0

    def add(p, d):
        nonlocal t
        out.append((p, t, d))
        t += d

    add("_", g.uniform(0.15, 0.35))
    vowels, vp = list(VOWEL_P), np.array(list(VOWEL_P.values()))
    while t < seconds:
        for _word in range(int(g.integers(2, 7))):
            for s in range(int(g.integers(1, 4))):
                stress = 1.35 if s == 0 else 1.0
                if g.uniform() < 0.75:
                    c = ONSETS[g.integers(len(ONSETS))]
                    add(c, BASE_DUR[PHONES[c][9]] * scale * g.uniform(0.8, 1.2))
                v = vowels[g.choice(len(vowels), p=vp)]
                add(v, BASE_DUR["vowel"] * stress * scale * g.uniform(0.8, 1.25))
                if g.uniform() < 0.25:
                    c = CODAS[g.integers(len(CODAS))]
                    add(c, BASE_DUR[PHONES[c][9]] * scale * g.uniform(0.8, 1.2))
            if g.uniform() < 0.3:
                add("_", g.uniform(0.03, 0.08))
        add("_", g.uniform(0.25, 0.6))
    return out


def _controls(phones, n_ctrl: int) -> dict:
    """Piecewise targets of every control at CONTROL_RATE: dict of [n_ctrl] arrays."""
    cols = ["jaw", "lipw", "voice", "noise", "lo", "hi", "F1", "F2", "F3"]
    c = {k: np.zeros(n_ctrl) for k in cols}
    c["burst"] = np.zeros(n_ctrl, dtype=bool)
    for p, start, dur in phones:
        a, b = int(round(start * CONTROL_RATE)), int(round((start + dur) * CONTROL_RATE))
        a, b = min(a, n_ctrl), min(max(b, a + 1), n_ctrl)
        for k, v in zip(cols, PHONES[p][:9]):
            c[k][a:b] = v
        if PHONES[p][9] == "stop":  # closure, then a burst over the last 20 ms
            c["burst"][a:b] = True
            c["noise"][a : max(a, b - 20)] = 0.0
    return c


def speak(identity: Identity, utterance: int, seconds: float, fps: int = 25, sr: int = 16000):
    """Render ``utterance`` in ``identity``'s voice: a :class:`Speech` of round(seconds*fps)
    frames and exactly n_frames * sr / fps samples."""
    n_frames = int(round(seconds * fps))
    n_samp = int(round(n_frames * sr / fps))
    n_ctrl = int(np.ceil(n_samp / sr * CONTROL_RATE)) + 1
    phones = make_phones(utterance, n_ctrl / CONTROL_RATE, identity.rate)
    c = _controls(phones, n_ctrl)
    g = rng_for("voice", identity.seed, utterance)
    sm = lambda x, ms: gaussian_filter1d(x, ms * CONTROL_RATE / 1000.0, mode="nearest")  # noqa: E731
    jaw = np.clip(sm(c["jaw"], 22), 0, 1)
    lipw = np.clip(sm(c["lipw"], 25), 0, 1)
    voice, noise = sm(c["voice"], 6), sm(c["noise"], 3)
    formants = [sm(c[k], 12) * identity.formant_scale for k in ("F1", "F2", "F3")]
    # pitch: declination over phrases, random accents, slow jitter
    tc = np.arange(n_ctrl) / CONTROL_RATE
    accent = sm(g.normal(0, 1, n_ctrl), 120) * 6.0
    f0 = identity.f0 * (1.0 + 0.06 * np.cos(2 * np.pi * tc / 2.7) + 0.08 * accent)
    f0 = np.clip(f0, 60.0, 400.0)
    # upsample the controls to audio rate
    ts = np.arange(n_samp) / sr
    up = lambda x: np.interp(ts, tc, x)  # noqa: E731
    f0s = up(f0)
    phase = 2 * np.pi * np.cumsum(f0s) / sr
    wav = np.zeros(n_samp)
    n_harm = int(7000 / f0.min())
    bw = (90.0, 110.0, 160.0)
    gains = (1.0, 0.6, 0.3)
    vs = up(voice)
    fs = [up(f) for f in formants]
    for k in range(1, n_harm + 1):
        fk = k * f0s
        env = sum(gn / (1.0 + ((fk - F) / b) ** 2) for gn, F, b in zip(gains, fs, bw))
        wav += vs * env * k**-0.5 * (fk < 7800) * np.sin(k * phase)
    # consonant noise: one band-limited noise per distinct band, gated by its phones
    white = np.fft.rfft(g.normal(0, 1, n_samp))
    freqs = np.fft.rfftfreq(n_samp, 1.0 / sr)
    bands = {(lo, hi) for lo, hi in zip(c["lo"], c["hi"]) if hi > 0}
    for lo, hi in sorted(bands):
        band = np.fft.irfft(white * ((freqs >= lo) & (freqs <= hi)), n=n_samp)
        band /= band.std() + 1e-12
        gate = noise * ((c["lo"] == lo) & (c["hi"] == hi))
        wav += 0.25 * up(sm(gate, 2)) * band
    wav = wav / (np.abs(wav).max() + 1e-9) * 0.7 + g.normal(0, 3e-4, n_samp)
    t_frames = np.arange(n_frames) / fps
    at = lambda x: np.interp(t_frames, tc, x)  # noqa: E731
    spf = n_samp // n_frames if n_frames else 1
    env = np.sqrt((wav[: n_frames * spf].reshape(n_frames, spf) ** 2).mean(axis=1))
    return Speech(
        wav=wav.astype(np.float32),
        sr=sr,
        jaw=at(jaw).astype(np.float32),
        lip_width=at(lipw).astype(np.float32),
        envelope=env.astype(np.float32),
        phones=[(p, round(s, 4), round(d, 4)) for p, s, d in phones if s < n_samp / sr],
    )
