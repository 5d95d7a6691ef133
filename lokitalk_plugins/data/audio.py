"""Audio feature files of a preprocessed folder and the per-frame window of 8 windows.

Accepted layouts of ``aud*.npy`` (one row per 25 fps video frame):

- ``[N, 16, K]``: 16 audio frames at 50 Hz of K features (DeepSpeech K=29, wav2vec K=44,
  log-mel or others any K); a window is returned as ``[K, 16]``.
- ``[N, 2, 1024]``: HuBERT, two 50 Hz frames of 1024 features; a window is ``[1024, 2]``.

Both become ``[N, K, T]`` (features first, then time), what AudioNet's Conv1d expects.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

__all__ = [
    "ACCEPTED_AUDIO_LAYOUTS",
    "AudioLayoutError",
    "audio_layout",
    "load_audio_features",
    "audio_window",
]

ACCEPTED_AUDIO_LAYOUTS = (
    "[N, 16, K] (16 audio frames of K features, any K) or [N, 2, 1024] (HuBERT)"
)


class AudioLayoutError(ValueError):
    """An audio feature file whose shape matches no accepted layout."""


def audio_layout(shape: tuple[int, ...]) -> str | None:
    """Name of the layout of an audio array of this shape: "windows", "hubert" or None."""
    if len(shape) != 3 or min(shape) < 1:
        return None
    if shape[1] == 16:
        return "windows"
    if shape[1] == 2 and shape[2] == 1024:
        return "hubert"
    return None


def layout_error_message(path, shape) -> str:
    """The message for a file whose shape matches no accepted layout."""
    return (
        f"{path}: audio features of shape {list(shape)} match no accepted layout; "
        f"expected {ACCEPTED_AUDIO_LAYOUTS}"
    )


def load_audio_features(path: str | Path) -> torch.Tensor:
    """Load an audio feature file: returns float32 [N, K, T] (T = 16, or 2 for HuBERT).

    Raises FileNotFoundError naming the file, or AudioLayoutError naming the file, the shape
    found and the layouts accepted.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: audio feature file not found")
    array = np.load(path, mmap_mode="r", allow_pickle=False)
    if audio_layout(tuple(array.shape)) is None:
        raise AudioLayoutError(layout_error_message(path, array.shape))
    feats = torch.from_numpy(np.array(array, dtype=np.float32))
    return feats.transpose(1, 2).contiguous()


def audio_window(
    features: torch.Tensor, index: int, num_windows: int = 8, att: int = 2
) -> torch.Tensor:
    """The windows [index - num_windows//2, index + num_windows - num_windows//2) of a file,
    or with ``att=1`` (the originals' ``--att 1``) the num_windows before the frame,
    [index - num_windows, index).

    features: [N, K, T]; index: the frame's ``aud_id``. Windows outside [0, N) are zeros.
    Returns [num_windows, K, T] (8 x K x 16 by default). (``att=0`` models read the centre
    window, ``index``, of the default stack.)
    """
    n = features.shape[0]
    left = index - (num_windows if att == 1 else num_windows // 2)
    out = features.new_zeros((num_windows,) + tuple(features.shape[1:]))
    lo, hi = max(left, 0), min(left + num_windows, n)
    if hi > lo:
        out[lo - left : hi - left] = features[lo:hi]
    return out
