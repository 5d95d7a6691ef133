"""Band-limited resampling of a mono signal between any two integer rates, in plain PyTorch.

Kaiser-windowed sinc interpolation in polyphase form: with g = gcd(orig, new), o = orig / g
and n = new / g, output sample m = k n + j (phase j < n) sits at input position k o + j o / n
and is ``sum_r x[k o + r] h(j o / n - r)``, h the low-pass
``h(t) = 2 f sinc(2 f t) kaiser(t / half_width)`` with cut-off f = rolloff * min(1, n / o) / 2
cycles per input sample and ``width`` zero crossings on each side. One strided Conv1d holds
the n phases; the signal is processed in blocks (equal to one pass), so temporaries stay
bounded for hours of audio. Samples past either end count as zeros.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["resample", "resampled_length", "sinc_kernels"]


def resampled_length(length: int, orig_sr: int, new_sr: int) -> int:
    """Samples out for ``length`` in: ceil(length * new_sr / orig_sr)."""
    return -(-int(length) * int(new_sr) // int(orig_sr))


def sinc_kernels(
    orig_sr: int, new_sr: int, width: int = 24, rolloff: float = 0.94, beta: float = 10.0
) -> tuple[torch.Tensor, int, int, int]:
    """Polyphase filters: (kernels [n, 1, 2 R + o] float32, o, n, R), R = the taps reaching
    before an output's input block (so inputs are padded by R on the left)."""
    g = math.gcd(int(orig_sr), int(new_sr))
    o, n = int(orig_sr) // g, int(new_sr) // g
    f = rolloff * min(1.0, n / o) / 2.0
    half = width / (2.0 * f)
    reach = int(math.ceil(half))
    r = np.arange(-reach, reach + o, dtype=np.float64)[None, :]
    t = np.arange(n, dtype=np.float64)[:, None] * o / n - r  # [n, 2R + o], input samples
    inside = np.abs(t) <= half
    window = np.i0(beta * np.sqrt(np.clip(1.0 - (t / half) ** 2, 0.0, 1.0))) / np.i0(beta)
    h = np.where(inside, 2.0 * f * np.sinc(2.0 * f * t) * window, 0.0)
    return torch.from_numpy(h).float().unsqueeze(1), o, n, reach


def _slice(x: torch.Tensor, start: int, stop: int) -> torch.Tensor:
    """x[start:stop] with zeros where the range leaves [0, len(x))."""
    out = x.new_zeros(stop - start)
    lo, hi = max(start, 0), min(stop, x.numel())
    if hi > lo:
        out[lo - start : hi - start] = x[lo:hi]
    return out


def resample(
    wav, orig_sr: int, new_sr: int, block_seconds: float = 30.0, **filter_kwargs
) -> np.ndarray:
    """Resample ``wav [T]`` from ``orig_sr`` to ``new_sr`` Hz: float32 [ceil(T new / orig)].

    block_seconds: output processed that many seconds at a time (any value gives the same
    result); filter_kwargs: ``width``, ``rolloff``, ``beta`` of ``sinc_kernels``. Equal rates
    return a float32 copy.
    """
    if orig_sr < 1 or new_sr < 1:
        raise ValueError(f"sample rates must be positive, got {orig_sr} -> {new_sr}")
    x = torch.as_tensor(np.asarray(wav, dtype=np.float32).reshape(-1))
    if int(orig_sr) == int(new_sr):
        return x.numpy().copy()
    kernels, o, n, reach = sinc_kernels(orig_sr, new_sr, **filter_kwargs)
    total = resampled_length(x.numel(), orig_sr, new_sr)
    blocks = -(-total // n)  # input blocks of o samples, each giving n outputs
    per = max(1, int(block_seconds * new_sr) // n)
    out = []
    with torch.no_grad():
        for k0 in range(0, blocks, per):
            k1 = min(blocks, k0 + per)
            seg = _slice(x, k0 * o - reach, (k1 - 1) * o + reach + o)
            y = torch.nn.functional.conv1d(seg[None, None], kernels, stride=o)  # [1, n, k1-k0]
            out.append(y[0].T.reshape(-1))
    return torch.cat(out)[:total].numpy()
