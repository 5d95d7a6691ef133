"""Per-folder choice of the eye value and head-pose source, resolved once at construction."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from lokitalk_plugins.data.problems import FolderReadError
from lokitalk_plugins.data.readers import AU45_COLUMN, read_au_column, read_landmarks
from lokitalk_plugins.signals.eye import au45_to_eye, eye_area_ratio, eye_aspect_ratio
from lokitalk_plugins.signals.pose import head_pose_from_c2w, pose_from_track

__all__ = ["EyeSignal", "au45_values", "describe_eye_source", "resolve_eye_source", "poses_6d"]


def au45_values(root: Path, img_ids: list[int]) -> tuple[dict[int, float] | None, str]:
    """The AU45 values of ``root/au.csv`` by img_id, or None and why they cannot be used
    (no file, no usable ``AU45_r`` column, a frame without a row)."""
    path = root / "au.csv"
    if not path.is_file():
        return None, f"{path}: file not found"
    try:
        values = read_au_column(path, AU45_COLUMN)
    except (OSError, ValueError) as err:
        return None, str(err)
    missing = [i for i in img_ids if i not in values]
    if missing:
        shown = ", ".join(str(i) for i in missing[:10]) + (", ..." if len(missing) > 10 else "")
        return None, (
            f"{path}: no {AU45_COLUMN!r} row for frame(s) img_id {shown} "
            f"({len(values)} rows, {len(img_ids)} frames)"
        )
    return values, ""


def describe_eye_source(root: Path, eye_source: str, img_ids: list[int]) -> tuple[str, str]:
    """(the eye source a folder uses, a warning or ""): "auto" is AU45 when ``au.csv`` is
    usable, else the landmark aspect ratio with a warning saying why."""
    if eye_source != "auto":
        return eye_source, ""
    values, why = au45_values(root, img_ids)
    if values is None:
        return "landmarks", f"{why}; eye values fall back to the landmark aspect ratio"
    return "au45", ""


def resolve_eye_source(root: Path, eye_source: str, img_ids: list[int]) -> tuple[str, dict]:
    """Which eye value a folder uses: returns (source, AU45 values by img_id or {}).

    "au45" requires ``au.csv`` with the AU45 column and a row for every img_id (ValueError
    naming the file and the missing frames otherwise); "auto" uses AU45 when that holds and
    otherwise falls back to the landmark aspect ratio for the whole folder (with a warning),
    never mixing the two (their scales and directions differ).
    """
    if eye_source in ("landmarks", "area"):
        return eye_source, {}
    values, why = au45_values(root, img_ids)
    if values is not None:
        return "au45", values
    if eye_source == "au45":
        raise FolderReadError(f"{why} (use eye_source='auto' to fall back to landmarks)")
    warnings.warn(f"{why}; eye values fall back to the landmark aspect ratio", stacklevel=3)
    return "landmarks", {}


class EyeSignal:
    """The eye value of a frame, [1] float32, from the resolved source."""

    def __init__(self, source: str, au45: dict[int, float], H: int, W: int):
        self.source, self.au45, self.H, self.W = source, au45, H, W

    def __call__(self, img_id: int, landmarks: np.ndarray) -> torch.Tensor:
        if self.source == "au45":
            value = au45_to_eye(torch.tensor(self.au45[img_id], dtype=torch.float64))
        elif self.source == "area":
            value = eye_area_ratio(landmarks, self.H, self.W)
        else:
            value = eye_aspect_ratio(landmarks)
        return value.reshape(1).float()

    def all(self, root: Path, img_ids: list[int]) -> torch.Tensor:
        """Eye values of many frames: [len(img_ids)] float32 (reads only landmark files)."""
        out = [
            self(i, None if self.source == "au45" else read_landmarks(root / f"ori_imgs/{i}.lms"))
            for i in img_ids
        ]
        return torch.cat(out) if out else torch.zeros(0)


def poses_6d(root: Path, pose_source: str, c2w: torch.Tensor, img_ids: list[int]) -> torch.Tensor:
    """6-D poses of a split: [N, 6] float32.

    "camera": Euler angles + translation of the converted camera-to-world ``c2w`` [N, 4, 4];
    "track": ``track_params.pt`` euler and trans rows at each img_id.
    """
    if pose_source == "camera":
        return head_pose_from_c2w(c2w).float()
    path = root / "track_params.pt"
    params = torch.load(path, map_location="cpu", weights_only=True)
    euler, trans = params["euler"], params["trans"]
    if euler.shape[0] <= max(img_ids, default=-1) or trans.shape[0] <= max(img_ids, default=-1):
        raise FolderReadError(
            f"{path}: euler {list(euler.shape)} / trans {list(trans.shape)} have fewer rows "
            f"than the largest img_id + 1 = {max(img_ids) + 1}"
        )
    index = torch.as_tensor(img_ids, dtype=torch.long)
    return pose_from_track(euler[index], trans[index]).float()
