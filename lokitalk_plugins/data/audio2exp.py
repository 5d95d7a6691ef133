"""Audio2Exp data: 3DMM ground truth from ``track_params.pt`` and audio frames of a split.

``track_params.pt`` (the RAD-NeRF / ER-NeRF layout; the studio writes it too) holds, per video
frame (row = ``img_id``): ``exp`` [N, 79] expression coefficients, ``euler`` [N, 3] radians,
``trans`` [N, 3]; and ``id`` [1, 100] identity coefficients. The pose P is euler then trans
(6, the order of :func:`~lokitalk_plugins.signals.pose.pose_from_track`).

A :class:`Clip` is one split of one folder: the frames' audio windows (``aud_id`` rows of the
audio file) and targets (``img_id`` rows of the tracking), in the split's order. Training
windows are runs of ``seq_len`` frames with consecutive ``img_id`` (:func:`window_starts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from lokitalk_plugins.data.audio import load_audio_features
from lokitalk_plugins.data.transforms import load_transforms
from lokitalk_plugins.data.validate import SPLITS
from lokitalk_plugins.signals.pose import pose_from_track

__all__ = ["TRACK_FILE", "Clip", "read_track_params", "read_clip", "window_starts", "runs"]

TRACK_FILE = "track_params.pt"


def read_track_params(path: str | Path) -> dict:
    """{"exp" [N, E] float32, "pose" [N, 6] float32, "id" [1, D] or None} of a tracking file.

    Raises FileNotFoundError or ValueError naming the file: no ``exp`` (or ``euler`` /
    ``trans``), a key that is not a [N, d] tensor, or keys with different numbers of rows.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: not found; Audio2Exp learns from the face tracker's {TRACK_FILE} "
            "(exp [N, 79], euler [N, 3], trans [N, 3]) of a RAD-NeRF/ER-NeRF folder"
        )
    try:
        params = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # any unpickling failure is a fault of the file
        raise ValueError(f"{path}: cannot be read as a torch file ({err})") from None
    keys = sorted(params) if isinstance(params, dict) else type(params).__name__
    for key, width in (("exp", None), ("euler", 3), ("trans", 3)):
        if not isinstance(params, dict) or key not in params:
            raise ValueError(
                f"{path}: has no {key!r} (found {keys}); Audio2Exp needs the tracker's "
                "expression exp [N, 79] and pose euler [N, 3], trans [N, 3]"
            )
        v = params[key]
        if not isinstance(v, torch.Tensor) or v.ndim != 2 or (width and v.shape[1] != width):
            shape = list(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__
            raise ValueError(f"{path}: {key!r} is {shape}, expected [N, {width or 'E'}]")
    rows = {k: params[k].shape[0] for k in ("exp", "euler", "trans")}
    if len(set(rows.values())) != 1:
        raise ValueError(
            f"{path}: length mismatch, exp has {rows['exp']} rows, euler {rows['euler']}, "
            f"trans {rows['trans']}: one row per video frame in each"
        )
    ident = params.get("id")
    return {
        "exp": params["exp"].float(),
        "pose": pose_from_track(params["euler"], params["trans"]).float(),
        "id": ident.float().reshape(1, -1) if isinstance(ident, torch.Tensor) else None,
    }


@dataclass
class Clip:
    """One split of one folder: frames [n, K, T_a] (audio windows), exp [n, E], pose [n, 6],
    img_ids, aud_ids [n] (long), id [1, D] or None."""

    root: Path
    split: str
    frames: torch.Tensor
    exp: torch.Tensor
    pose: torch.Tensor
    img_ids: torch.Tensor
    aud_ids: torch.Tensor
    id: torch.Tensor | None

    def __len__(self) -> int:
        return int(self.img_ids.shape[0])


def read_clip(root: str | Path, split: str = "train", audio_file: str = "aud.npy") -> Clip:
    """The split's frames and targets; raises ValueError naming the file whose rows do not
    cover the split's ``img_id`` / ``aud_id`` (or FileNotFoundError for a missing file)."""
    root = Path(root)
    frames = load_transforms(root / SPLITS[split]).frames
    img_ids = torch.tensor([f.img_id for f in frames], dtype=torch.long)
    aud_ids = torch.tensor([f.aud_id for f in frames], dtype=torch.long)
    track = read_track_params(root / TRACK_FILE)
    feats = load_audio_features(root / audio_file)
    for name, ids, rows, path in (
        ("img_id", img_ids, track["exp"].shape[0], root / TRACK_FILE),
        ("aud_id", aud_ids, feats.shape[0], root / audio_file),
    ):  # fmt: skip
        if len(ids) and int(ids.max()) >= rows:
            raise ValueError(
                f"{path}: length mismatch, it has {rows} rows but {SPLITS[split]} uses {name} "
                f"up to {int(ids.max())}: regenerate it for this video"
            )
    return Clip(root, split, feats[aud_ids], track["exp"][img_ids], track["pose"][img_ids],
                img_ids, aud_ids, track["id"])  # fmt: skip


def runs(img_ids: torch.Tensor) -> list[tuple[int, int]]:
    """(start, stop) positions of the runs of consecutive img_ids ([n] long), in order."""
    if img_ids.numel() == 0:
        return []
    breaks = (img_ids.diff() != 1).nonzero().flatten() + 1
    edges = [0, *breaks.tolist(), int(img_ids.numel())]
    return list(zip(edges[:-1], edges[1:]))


def window_starts(clip: Clip, seq_len: int) -> torch.Tensor:
    """Positions s [S] (long) where frames s .. s + seq_len - 1 have consecutive img_ids.

    Raises ValueError naming the folder when the split has no such run (a clip shorter than
    the LSTM window).
    """
    starts = [torch.arange(a, b - seq_len + 1) for a, b in runs(clip.img_ids) if b - a >= seq_len]
    if not starts:
        longest = max((b - a for a, b in runs(clip.img_ids)), default=0)
        raise ValueError(
            f"{clip.root}: the {clip.split} split has at most {longest} consecutive frames, fewer "
            f"than the LSTM window of {seq_len}: use a longer clip or a shorter window (seq_len)"
        )
    return torch.cat(starts)
