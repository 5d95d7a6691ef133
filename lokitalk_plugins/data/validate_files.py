"""Checks of a folder's single files: the audio features, bc.jpg, au.csv, track_params.pt.

Each returns the problems found (empty when the file is fine), every message naming the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from lokitalk_plugins.data.audio import (
    ACCEPTED_AUDIO_LAYOUTS,
    audio_layout,
    feature_values_fault,
)
from lokitalk_plugins.data.problems import Problem, file_problem
from lokitalk_plugins.data.readers import AU45_COLUMN, image_size, read_au_column
from lokitalk_plugins.data.validate_frames import has_end_marker

__all__ = ["check_audio", "check_background", "check_au", "check_track"]


def _missing(path: Path, expected: str, message: str) -> list[Problem]:
    return [file_problem(path, "missing_file", "no file", expected, message)]


def _unreadable(path: Path, err: Exception, expected: str, what: str) -> list[Problem]:
    return [file_problem(path, "unreadable", str(err), expected, f"{what} ({err})")]


def check_audio(path: Path, rows_needed: int) -> list[Problem]:
    if not path.is_file():
        return _missing(
            path,
            f"audio features {ACCEPTED_AUDIO_LAYOUTS}",
            "audio feature file not found (choose another with audio_file=...)",
        )
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
        shape = tuple(array.shape)
    except (OSError, ValueError, EOFError) as err:  # EOFError: an empty file
        return _unreadable(path, err, "a .npy array", "cannot read")
    if audio_layout(shape) is None:
        return [
            file_problem(
                path,
                "audio_layout",
                f"shape {list(shape)}",
                ACCEPTED_AUDIO_LAYOUTS,
                f"audio features of shape {list(shape)} match no accepted layout; "
                f"expected {ACCEPTED_AUDIO_LAYOUTS}",
            )
        ]
    if shape[0] < rows_needed - 1:  # one short: ER-NeRF's HuBERT pairs; the last row is reused
        return [
            file_problem(
                path,
                "audio_rows",
                f"{shape[0]} rows",
                f">= {rows_needed - 1} rows",
                f"{shape[0]} audio rows but the largest aud_id is {rows_needed - 1}: "
                f"expected at least {rows_needed} rows (or one fewer: the last frame then "
                "reuses the last row, as the originals do)",
            )
        ]
    try:
        fault = feature_values_fault(array)
    except (OSError, ValueError) as err:  # truncated data
        return _unreadable(path, err, "a .npy array", "cannot read")
    if fault:
        return [file_problem(path, "bad_value", fault, "finite real numbers", fault)]
    return []


def check_background(path: Path, size: tuple[int, int] | None) -> list[Problem]:
    if not path.is_file():
        return _missing(path, "the static background image", "background image not found")
    try:
        hw = image_size(path)
        with Image.open(path) as im:
            whole = has_end_marker(path, im.format)
    except (OSError, ValueError, SyntaxError) as err:
        return _unreadable(path, err, "an image", "cannot read image")
    if not whole:
        msg = "the image data is truncated (no end marker); write it again"
        return [file_problem(path, "unreadable", "no end marker", "a whole image", msg)]
    if size is not None and hw != size:
        return [
            file_problem(
                path,
                "image_size",
                f"{hw[0]}x{hw[1]} (HxW)",
                f"{size[0]}x{size[1]} (HxW)",
                f"background is {hw[0]}x{hw[1]} (HxW) but the frames are {size[0]}x{size[1]}",
            )
        ]
    return []


def check_au(path: Path, img_ids: list[int]) -> list[Problem]:
    if not path.is_file():
        return _missing(
            path,
            f"OpenFace csv with {AU45_COLUMN!r}",
            "au.csv not found but eye_source='au45' needs it "
            "(use eye_source='landmarks' or 'auto')",
        )
    try:
        values = read_au_column(path, AU45_COLUMN)
    except (OSError, ValueError) as err:
        msg = str(err).removeprefix(f"{path}: ")
        return [file_problem(path, "au_column", msg, f"a numeric column {AU45_COLUMN!r}", msg)]
    missing = [i for i in img_ids if i not in values]
    if not missing:
        return []
    shown = ", ".join(str(i) for i in missing[:10]) + (", ..." if len(missing) > 10 else "")
    return [
        file_problem(
            path,
            "au_frames",
            f"{len(values)} rows",
            f"a row for each of {len(img_ids)} frames",
            f"{len(values)} rows of {AU45_COLUMN!r} but {len(missing)} frame(s) have no row: "
            f"img_id {shown} (use eye_source='auto' to fall back to landmarks)",
        )
    ]


def check_track(path: Path, frames_needed: int) -> list[Problem]:
    if not path.is_file():
        return _missing(
            path,
            "3DMM tracking (euler, trans)",
            "track_params.pt not found but pose_source='track' needs it",
        )
    import torch

    try:
        params = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # any unpickling failure is a problem of the file
        return _unreadable(path, err, "a torch file", "cannot load")
    problems = []
    for key in ("euler", "trans"):
        value = params.get(key) if isinstance(params, dict) else None
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else None
        if shape is not None and not torch.isfinite(value).all():
            problems.append(
                file_problem(
                    path,
                    "bad_value",
                    f"{key} not finite",
                    f"{key}: finite values",
                    f"{key!r} holds NaN or infinite values: track the video again",
                )  # fmt: skip
            )
        elif shape is None or len(shape) != 2 or shape[1] != 3 or shape[0] < frames_needed:
            found = "absent" if shape is None else f"shape {list(shape)}"
            problems.append(
                file_problem(
                    path,
                    "bad_shape",
                    f"{key} {found}",
                    f"{key} [>= {frames_needed}, 3]",
                    f"{key!r} is {found}, expected [N, 3] with N >= {frames_needed}",
                )
            )
    return problems
