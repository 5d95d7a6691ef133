"""HuBERT features in ER-NeRF's ``aud_hu.npy`` layout: [N, 2, D] (D = 1024 for
``facebook/hubert-large-ls960-ft``), two 50 Hz frames per 25 fps video frame.

Facts from ER-NeRF ``data_utils/hubert.py`` (the code here is ours):

- input: 16 kHz mono (a stereo file: its first channel), normalised once over the whole
  file by the model's feature extractor (``Wav2Vec2Processor``, zero mean, unit variance);
- features: ``last_hidden_state`` of ``HubertModel``, one frame per 320 samples; the
  convolutional front end acts as one kernel of 400 samples at stride 320, so frame j
  covers samples [320 j, 320 j + 400) and a signal of L samples has
  ``expected = (L - 80) // 320`` frames (no padding at the start);
- long files run in clips of 1000 frames: clip i is samples [320000 i, 320000 i + 320080),
  the rest (from 320000 * (L // 320000)) runs last when it holds at least 400 samples;
  the frames are joined, then cut or zero-padded at the end to ``expected``;
- layout: an odd last frame is dropped (``make_even_first_dim``), then frames 2i, 2i + 1
  form window i: [expected // 2, 2, D].
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from tqdm import tqdm

__all__ = ["HOP", "KERNEL", "CLIP_FRAMES", "hubert_frame_count", "hubert_frames", "pair_frames"]

HOP = 320  # samples per 50 Hz frame at 16 kHz
KERNEL = 400  # receptive field of the convolutional front end, in samples
CLIP_FRAMES = 1000  # frames per clip of a long file (20 s)


def hubert_frame_count(length: int) -> int:
    """Frames of a signal of ``length`` samples: (length - 80) // 320, at least 0."""
    return max(0, (int(length) - (KERNEL - HOP)) // HOP)


def _clips(length: int, clip_frames: int) -> list[tuple[int, int]]:
    """Sample ranges [start, stop) the model runs on, in order."""
    clip = HOP * clip_frames
    full = length // clip
    spans = [(i * clip, min(length, i * clip + clip - HOP + KERNEL)) for i in range(full)]
    if length - full * clip >= KERNEL:
        spans.append((full * clip, length))
    return spans


@torch.no_grad()
def hubert_frames(
    values,
    forward: Callable[[torch.Tensor], torch.Tensor],
    clip_frames: int = CLIP_FRAMES,
    progress: bool = False,
) -> torch.Tensor:
    """50 Hz HuBERT frames of normalised input values: [expected, D] float32 on the CPU.

    values: [L] the feature extractor's output for the whole 16 kHz file; forward: maps one
    clip [1, l] (on the model's device) to its hidden states [t, D]; clip_frames: frames per
    clip (the original's 1000; memory grows with it).
    """
    x = torch.as_tensor(np.asarray(values, dtype=np.float32)).reshape(-1)
    expected = hubert_frame_count(x.numel())
    spans = _clips(x.numel(), clip_frames)
    parts = []
    for start, stop in tqdm(spans, desc="hubert", unit="clip", disable=not progress):
        parts.append(forward(x[start:stop][None]).detach().to("cpu", torch.float32))
    if not parts:
        raise ValueError(
            f"the audio is {x.numel()} samples long, shorter than one HuBERT frame "
            f"({KERNEL} samples at 16 kHz)"
        )
    frames = torch.cat(parts, dim=0)
    if abs(frames.shape[0] - expected) > 1:
        raise RuntimeError(
            f"the model gave {frames.shape[0]} frames for {x.numel()} samples, expected "
            f"{expected}: it does not have HuBERT's 320-sample stride"
        )
    if frames.shape[0] < expected:
        frames = torch.cat([frames, frames.new_zeros(expected - frames.shape[0], frames.shape[1])])
    return frames[:expected]


def pair_frames(frames) -> np.ndarray:
    """[T, D] 50 Hz frames -> [T // 2, 2, D] float32 (an odd last frame dropped)."""
    f = np.asarray(frames, dtype=np.float32)
    t = f.shape[0] - f.shape[0] % 2
    return np.ascontiguousarray(f[:t].reshape(t // 2, 2, f.shape[1]))
