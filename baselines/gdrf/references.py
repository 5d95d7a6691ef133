"""What GDRF reads from a training folder: its N reference frames (sec. 3.2: images, cameras)
and the face tracking of the clip (the identity α, and β, P for the LSTM's loss L_l).

Every fault of the user's data is a :class:`GDRFDataError` (a ``UserError``) of one line that
names the folder or file and what to do: fewer frames than references, references with other
intrinsics, a ``track_params.pt`` without ``exp`` (or without ``id`` when α is used), a clip
shorter than the LSTM window.
"""

from __future__ import annotations

from pathlib import Path

import torch

from lokitalk_plugins.data.audio2exp import (
    TRACK_FILE,
    Clip,
    read_track_params,
    window_starts,
)
from lokitalk_plugins.errors import UserError

__all__ = [
    "GDRFDataError",
    "check_references",
    "reference_indices",
    "read_references",
    "read_track_clip",
]


class GDRFDataError(UserError, ValueError):
    """A training folder GDRF cannot use; the message names it and what to do."""


def reference_indices(num_frames: int, num_references: int, where: str = "the clip") -> list:
    """N positions spread evenly over a clip of ``num_frames`` frames (first and last
    included): [round(k (F - 1) / (N - 1))] for k < N; GDRFDataError when F < N."""
    if num_frames < num_references:
        raise GDRFDataError(
            f"{where}: {num_frames} frames, fewer than GDRF's {num_references} references; "
            f"use a longer clip or set GDRF.num_references <= {num_frames}"
        )
    if num_references == 1:
        return [0]
    step = (num_frames - 1) / (num_references - 1)
    return [round(k * step) for k in range(num_references)]


def check_references(
    images: torch.Tensor, c2w: torch.Tensor, intrinsics: torch.Tensor, num_references: int,
    where: str = "the references",
) -> None:  # fmt: skip
    """images [N, 3, H, W], c2w [N, 4, 4], intrinsics [N, 4]: N == num_references and one
    camera model for all (the rows of ``intrinsics`` equal), else GDRFDataError."""
    n = images.shape[0]
    if n < num_references:
        raise GDRFDataError(
            f"{where}: {n} reference frames, fewer than GDRF.num_references={num_references}; "
            "give as many frames as references"
        )
    if c2w.shape != (n, 4, 4) or intrinsics.shape != (n, 4) or images.ndim != 4:
        raise GDRFDataError(
            f"{where}: expected images [N, 3, H, W], c2w [N, 4, 4], intrinsics [N, 4], got "
            f"{list(images.shape)}, {list(c2w.shape)}, {list(intrinsics.shape)}"
        )
    other = (intrinsics - intrinsics[:1]).abs().amax(dim=1) > 1e-4
    if bool(other.any()):
        k = int(other.nonzero()[0])
        raise GDRFDataError(
            f"{where}: reference {k} has intrinsics {intrinsics[k].tolist()}, reference 0 "
            f"{intrinsics[0].tolist()}; take all references from one camera (one folder)"
        )


def read_references(dataset, num_references: int) -> dict[str, torch.Tensor]:
    """The reference frames of a TalkingHeadFolder split: {"images" [N, 3, H, W] in [0, 1],
    "c2w" [N, 4, 4], "intrinsics" [N, 4], "index" [N] (positions in the split)}."""
    where = f"{dataset.root} ({dataset.split} split)"
    idx = reference_indices(len(dataset), num_references, where)
    frames = [dataset[i] for i in idx]
    out = {
        "images": torch.stack([f.image.permute(2, 0, 1) for f in frames]).float(),
        "c2w": torch.stack([f.c2w for f in frames]).float(),
        "intrinsics": torch.stack([f.intrinsics for f in frames]).float(),
        "index": torch.tensor(idx, dtype=torch.long),
    }
    check_references(out["images"], out["c2w"], out["intrinsics"], num_references, where)
    return out


def read_track_clip(dataset, seq_len: int, need_id: bool) -> Clip:
    """The split's audio windows and tracking as an Audio2Exp :class:`Clip` (frames [n, K,
    T_a], exp [n, E], pose [n, 6], id [1, D]); GDRFDataError naming ``track_params.pt`` when
    it lacks ``exp`` (or ``id`` with need_id) or has too few rows, or naming the folder when
    no run of ``seq_len`` consecutive frames exists (the LSTM window)."""
    root = Path(dataset.root)
    try:
        track = read_track_params(root / TRACK_FILE)
    except (FileNotFoundError, ValueError) as err:
        raise GDRFDataError(f"{err}; GDRF reads the tracking of its training clip") from None
    img_ids = torch.tensor(dataset.img_ids, dtype=torch.long)
    aud_ids = torch.tensor(dataset.aud_ids, dtype=torch.long)
    if int(img_ids.max()) >= track["exp"].shape[0]:
        raise GDRFDataError(
            f"{root / TRACK_FILE}: {track['exp'].shape[0]} rows, but the {dataset.split} split "
            f"uses img_id {int(img_ids.max())}: re-run the face tracking for this video"
        )
    if need_id and track["id"] is None:
        raise GDRFDataError(
            f"{root / TRACK_FILE}: has no 'id' [1, 100]; GDRF.descriptor='identity' needs the "
            "identity α: re-run the tracking or set GDRF.descriptor = 'lstm'"
        )
    frames = dataset.audio_features[aud_ids]
    clip = Clip(root, dataset.split, frames, track["exp"][img_ids], track["pose"][img_ids],
                img_ids, aud_ids, track["id"])  # fmt: skip
    try:
        window_starts(clip, seq_len)
    except ValueError as err:
        raise GDRFDataError(f"{err} (GDRF's LSTM window)") from None
    return clip
