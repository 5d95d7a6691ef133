"""Drive a trained system with new audio: the training clip's head motion, the new voice.

>>> feats = np.load("speech_ds.npy")                 # [M, 16, K] (or [M, 2, 1024], HuBERT)
>>> for sample, out in drive(system, train_set, feats):
...     frame = out["rgb"]                           # [H, W, 3] in [0, 1]

Step m (0 <= m < M) takes camera, pose, eye value, background and masks from one frame of
the dataset (normally the training split, whose motion the model knows) and replaces the
frame's audio by the 8 windows around window m of the new features, built exactly as the
dataset builds its own (``lokitalk_plugins.data.audio.audio_window``: zeros past the ends).

When M exceeds the clip's N frames the motion is replayed. ``motion="pingpong"`` (default)
plays the clip forward then backward (0, 1, .., N-1, N-2, .., 1, 0, 1, ..) so the head never
jumps from the last pose to the first; ``motion="loop"`` restarts at frame 0 (a jump at each
seam, but the motion keeps its original direction of time, e.g. for blinks).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from lokitalk_plugins.data.audio import (
    ACCEPTED_AUDIO_LAYOUTS,
    AudioLayoutError,
    audio_layout,
    audio_window,
    feature_values_fault,
)
from lokitalk_plugins.errors import OptionError
from lokitalk_plugins.signals.features import studio_windows

__all__ = [
    "MOTIONS",
    "motion_index",
    "prepare_audio",
    "studio_features",
    "driven_samples",
    "drive",
]

MOTIONS = ("pingpong", "loop")


def motion_index(step: int, n: int, motion: str = "pingpong") -> int:
    """The dataset frame whose motion step ``step`` replays, for a clip of ``n`` frames."""
    if motion not in MOTIONS:
        raise OptionError(f"motion must be one of {MOTIONS}, got {motion!r}")
    if n < 1:
        raise ValueError("the clip has no frame")
    if motion == "loop" or n == 1:
        return step % n
    period = 2 * (n - 1)
    k = step % period
    return k if k < n else period - k


def prepare_audio(features, expected: tuple[int, int] | None = None) -> torch.Tensor:
    """New audio features in a file layout -> float32 [M, K, T] as the dataset holds them.

    features: array-like [M, 16, K] or [M, 2, 1024] (or a path to such a ``.npy``);
    expected: (K, T) of the model's training features (the dataset's), checked with an error
    naming both when they differ. Features that cannot be read, of another layout or holding
    NaN / inf raise AudioLayoutError naming the file.
    """
    where = "audio features"
    if isinstance(features, (str, Path)):
        where = str(features)
        try:
            features = np.load(features, allow_pickle=False)
        except (OSError, ValueError, EOFError) as err:
            raise AudioLayoutError(
                f"{where}: cannot read audio features ({err}); pass a .npy array "
                f"{ACCEPTED_AUDIO_LAYOUTS}"
            ) from err
    if fault := feature_values_fault(np.asarray(features)):
        raise AudioLayoutError(f"{where}: {fault}")
    array = np.asarray(features, dtype=np.float32)
    if audio_layout(tuple(array.shape)) is None:
        raise AudioLayoutError(
            f"{where} of shape {list(array.shape)} match no accepted layout; "
            f"expected {ACCEPTED_AUDIO_LAYOUTS}"
        )
    feats = torch.from_numpy(np.ascontiguousarray(array)).transpose(1, 2).contiguous()
    if expected is not None and tuple(feats.shape[1:]) != tuple(expected):
        k, t = expected
        raise AudioLayoutError(
            f"audio features have K={feats.shape[1]} features x {feats.shape[2]} frames per "
            f"window (file shape {list(array.shape)}), but the model was trained on K={k} x "
            f"{t} (file shape [N, {t}, {k}]): compute them with the same extractor and settings "
            f"as the training audio"
        )
    return feats


def studio_features(wav_path, n_mels: int = 32, fps: int = 25) -> np.ndarray:
    """The studio's log-mel windows of a WAV file: [M, 16, n_mels] float32, M video frames
    (what ``lokitalk features`` and the studio's ``aud.npy`` hold); any rate and channel
    count, brought to the studio's 16 kHz first."""
    return studio_windows(wav_path, n_mels=n_mels, fps=fps)


def _expected(dataset) -> tuple[int, int]:
    feats = dataset.audio_features  # [N, K, T]
    return int(feats.shape[1]), int(feats.shape[2])


def driven_samples(
    dataset, audio_features, motion: str = "pingpong", expected: tuple[int, int] | None = None
) -> Iterator:
    """``FrameSample``s of the driven clip, one per window of ``audio_features`` (M of them).

    dataset: a ``TalkingHeadFolder`` (its frames give camera, pose, eye, background, masks;
    its ``audio_features`` [N, K, T] the expected (K, T) unless ``expected`` is given);
    audio_features: [M, 16, K] / [M, 2, 1024] array or .npy path. Each sample keeps the
    dataset frame's ``index`` and ``img_id`` (so ``image`` is that training frame, not a
    ground truth of the new audio); ``aud_id`` becomes m and ``audio`` [8, K, T] the windows
    around m of the new features.
    """
    feats = prepare_audio(audio_features, expected or _expected(dataset))
    num_windows = int(getattr(dataset, "num_audio_windows", 8))
    att = int(getattr(dataset, "audio_att", 2))
    for m in range(feats.shape[0]):
        frame = dataset[motion_index(m, len(dataset), motion)]
        audio = audio_window(feats, m, num_windows, att).to(frame.audio.dtype)
        yield dataclasses.replace(frame, aud_id=m, audio=audio)


@torch.no_grad()
def drive(
    system,
    dataset,
    audio_features,
    motion: str = "pingpong",
    expected: tuple[int, int] | None = None,
    progress: bool = True,
) -> Iterator[tuple]:
    """Render the driven clip: yields ``(sample, out)`` per step, ``out`` the dict of
    ``system.render_frame(sample)`` ("rgb" [H, W, 3] in [0, 1], "depth" [H, W], ...).

    See ``driven_samples`` for the arguments. The system is put in eval mode for the clip
    and back in its former mode after (also when the caller stops early).
    """
    feats = prepare_audio(audio_features, expected or _expected(dataset))
    was_training = getattr(system, "training", None)
    if was_training:
        system.eval()
    try:
        samples = driven_samples(dataset, feats.transpose(1, 2).numpy(), motion, expected)
        for sample in tqdm(samples, total=feats.shape[0], desc="drive", unit="frame",
                           disable=not progress):  # fmt: skip
            yield sample, system.render_frame(sample)
    finally:
        if was_training:
            system.train()
