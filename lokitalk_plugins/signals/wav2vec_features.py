"""wav2vec 2.0 CTC logits in RAD-NeRF's ``aud_eo.npy`` layout: [N, 16, K] (K = 44, the
vocabulary of ``cpierse/wav2vec2-large-xlsr-53-esperanto``), 16 frames at 50 Hz per window.

Facts from RAD-NeRF ``nerf/asr.py`` (``python nerf/asr.py --wav aud.wav --save_feats``,
also ER-NeRF ``data_utils/wav2vec.py``; the code here is ours):

- input: 16 kHz mono (a stereo file: its first channel), cut into chunks of 320 samples
  (20 ms, the last one shorter); 10 chunks of zeros are put before the first;
- the model (``AutoModelForCTC``) runs on segments of left + mid + right = 10 + 50 + 10
  chunks, each normalised on its own by the feature extractor; segment k starts at chunk
  50 k and runs when its 70th chunk has arrived; its logits keep [left, T - right + 1) of
  its T frames (50 when the segment is whole);
- at the end of the file the chunks not yet used (from chunk 50 K, the last 20 of the
  previous segment included) form the last segment, whose logits keep [left, T);
- windows: the M logit frames [M, K] are unfolded with a window of 16, stride 2 and 8
  zero frames of padding at each end: window i holds frames 2 i - 8 .. 2 i + 7,
  [M // 2 + 1, 16, K] (one per 25 fps video frame).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from tqdm import tqdm

__all__ = ["CHUNK", "SEGMENT", "WINDOW", "segments", "wav2vec_logits", "unfold_windows"]

CHUNK = 320  # samples per 20 ms chunk at 16 kHz
SEGMENT = (10, 50, 10)  # left context, middle, right context, in chunks
WINDOW = 16  # frames per window; stride 2 (50 Hz -> 25 fps), 8 frames of padding at each end


def segments(length: int, left: int = 10, mid: int = 50, right: int = 10) -> list[tuple]:
    """(start, stop, last) sample ranges of the left-padded signal (``left`` chunks of
    zeros, then ``length`` samples), one per model run, in order."""
    padded = left * CHUNK + int(length)
    chunks = left + -(-int(length) // CHUNK)
    size = left + mid + right
    runs = (chunks - size) // mid + 1 if chunks >= size else 0
    spans = [(k * mid * CHUNK, min(padded, (k * mid + size) * CHUNK), False) for k in range(runs)]
    spans.append((runs * mid * CHUNK, padded, True))
    return spans


@torch.no_grad()
def wav2vec_logits(
    wav,
    normalize: Callable[[np.ndarray], np.ndarray],
    forward: Callable[[torch.Tensor], torch.Tensor],
    left: int = 10,
    mid: int = 50,
    right: int = 10,
    progress: bool = False,
) -> torch.Tensor:
    """50 Hz logit frames of a 16 kHz signal: [M, K] float32 on the CPU.

    wav: [L] float32 at 16 kHz; normalize: the feature extractor on one segment
    ([l] -> [l]); forward: one segment [1, l] -> its logits [t, K].
    """
    x = np.asarray(wav, dtype=np.float32).reshape(-1)
    padded = np.concatenate([np.zeros(left * CHUNK, np.float32), x])
    parts = []
    spans = segments(x.size, left, mid, right)
    for start, stop, last in tqdm(spans, desc="wav2vec", unit="segment", disable=not progress):
        values = torch.as_tensor(np.asarray(normalize(padded[start:stop]), dtype=np.float32))
        logits = forward(values.reshape(1, -1)).detach().to("cpu", torch.float32)
        t = logits.shape[0]
        parts.append(logits[left:] if last else logits[left : min(t, t - right + 1)])
    return torch.cat(parts, dim=0)


def unfold_windows(frames, window: int = WINDOW, stride: int = 2) -> np.ndarray:
    """[M, K] frames -> [M // stride + 1, window, K] float32; window i holds frames
    stride * i - window // 2 + (0 .. window - 1), zeros outside [0, M)."""
    f = np.asarray(frames, dtype=np.float32)
    m, k = f.shape
    pad = window // 2
    padded = np.zeros((m + 2 * pad, k), np.float32)
    padded[pad : pad + m] = f
    n = (m + 2 * pad - window) // stride + 1
    idx = stride * np.arange(n)[:, None] + np.arange(window)[None, :]
    return np.ascontiguousarray(padded[idx])
