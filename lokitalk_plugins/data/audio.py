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

from lokitalk_plugins.errors import UserError

__all__ = [
    "ACCEPTED_AUDIO_LAYOUTS",
    "AudioLayoutError",
    "audio_layout",
    "audio_file_path",
    "nonfinite_rows",
    "feature_values_fault",
    "load_audio_features",
    "audio_window",
]

ACCEPTED_AUDIO_LAYOUTS = (
    "[N, 16, K] (16 audio frames of K features, any K) or [N, 2, 1024] (HuBERT)"
)


class AudioLayoutError(UserError, ValueError):
    """Audio features whose shape matches no accepted layout, or that hold NaN / inf."""


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


def audio_file_path(root: str | Path, audio_file: str | Path) -> Path:
    """``root / audio_file``; AudioLayoutError when ``audio_file`` is not a name inside the
    folder (absolute, or with ``..``): a folder's audio belongs to the folder."""
    name = Path(audio_file)
    if name.is_absolute() or ".." in name.parts or not name.parts:
        raise AudioLayoutError(
            f"audio_file {str(audio_file)!r} is not a file name inside the folder {root}: copy "
            "the features into the folder and pass their name (--audio-file aud_ds.npy, or "
            "TalkingHeadFolder.audio_file)"
        )
    return Path(root) / name


def nonfinite_rows(array, block: int = 4096) -> list[int]:
    """Rows (first axis) of an array, e.g. a memory-mapped ``.npy``, holding NaN or infinite
    values as float32 (what the model gets: 1e39 is inf); read ``block`` rows at a time."""
    bad: list[int] = []
    for start in range(0, len(array), block):
        with np.errstate(over="ignore"):
            part = np.asarray(array[start : start + block], dtype=np.float32)
        rows = ~np.isfinite(part.reshape(len(part), -1)).all(axis=1)
        bad += (np.flatnonzero(rows) + start).tolist()
    return bad


def feature_values_fault(array) -> str:
    """ "" when every value of an audio feature array is a finite real number, else what is
    wrong and what to do (for a message after the file name): a dtype that is not real
    numbers (complex, text, object, bool), or the rows holding NaN / infinite values."""
    fix = "recompute the features (lokitalk features, or your extractor)"
    if np.dtype(array.dtype).kind not in "iuf":
        return f"audio features of dtype {array.dtype}, expected real numbers (float32); {fix}"
    rows = nonfinite_rows(array)
    if not rows:
        return ""
    shown = ", ".join(str(r) for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
    return f"{len(rows)} row(s) of audio features hold NaN or infinite values (row {shown}); {fix}"


def load_audio_features(path: str | Path) -> torch.Tensor:
    """Load an audio feature file: returns float32 [N, K, T] (T = 16, or 2 for HuBERT).

    Raises FileNotFoundError naming the file, or AudioLayoutError naming the file and the
    shape found and the layouts accepted, or what is wrong with its values (dtype, NaN / inf).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: audio feature file not found")
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:  # EOFError: an empty file
        raise AudioLayoutError(f"{path}: cannot read audio features ({err})") from err
    if audio_layout(tuple(array.shape)) is None:
        raise AudioLayoutError(layout_error_message(path, array.shape))
    if fault := feature_values_fault(array):
        raise AudioLayoutError(f"{path}: {fault}")
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
