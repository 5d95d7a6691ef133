"""Validate a whole preprocessed folder up front, listing every problem at once.

>>> problems = validate_folder("data/obama", audio_file="aud_ds.npy", eye_source="au45")
>>> for p in problems: print(p.message)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lokitalk_plugins.data.audio import (
    ACCEPTED_AUDIO_LAYOUTS,
    AudioLayoutError,
    audio_file_path,
    audio_layout,
    nonfinite_message,
    nonfinite_rows,
)
from lokitalk_plugins.data.paths import folder_fault
from lokitalk_plugins.data.problems import Problem, compact_problems
from lokitalk_plugins.data.readers import AU45_COLUMN, image_size, read_au_column
from lokitalk_plugins.data.transforms import FrameEntry, read_frame_entries
from lokitalk_plugins.data.validate_frames import check_frames

__all__ = ["EYE_SOURCES", "POSE_SOURCES", "SPLITS", "validate_folder", "audio_shape"]

EYE_SOURCES = ("landmarks", "area", "au45", "auto")
POSE_SOURCES = ("camera", "track")
SPLITS = {"train": "transforms_train.json", "val": "transforms_val.json"}


def _problem(path, kind, found, expected, message) -> Problem:
    return Problem(str(path), kind, found, expected, f"{path}: {message}")


def audio_shape(path: str | Path) -> tuple[int, ...]:
    """Shape of a .npy file from its header (memory-mapped, nothing read)."""
    return tuple(np.load(path, mmap_mode="r", allow_pickle=False).shape)


def validate_folder(
    root: str | Path,
    audio_file: str = "aud.npy",
    eye_source: str = "landmarks",
    pose_source: str = "camera",
    check_parsing: bool = True,
    parsing_max_distance: int = 64,
    parsing_unknown_fraction: float = 0.02,
    progress: bool = False,
) -> list[Problem]:
    """Check a RAD-NeRF / ER-NeRF folder; returns every problem found (empty when valid).

    Checks both transforms jsons (keys, frame entries, 4x4 matrices), bc.jpg, the audio file
    (``audio_file`` under root: accepted layout, at least max(aud_id) + 1 rows), every frame's
    ori_imgs/%d.jpg, %d.lms (68x2), parsing/%d.png (colours), gt_imgs/%d.jpg,
    torso_imgs/%d.png (alpha), that all images have one size, ``au.csv`` (AU45 column, a row
    per frame) when ``eye_source == "au45"``, and ``track_params.pt`` when
    ``pose_source == "track"``. Parsing images may have up to ``parsing_unknown_fraction`` of
    pixels farther than ``parsing_max_distance`` from every class colour (anti-aliasing).
    """
    if eye_source not in EYE_SOURCES:
        raise ValueError(f"eye_source must be one of {EYE_SOURCES}, got {eye_source!r}")
    if pose_source not in POSE_SOURCES:
        raise ValueError(f"pose_source must be one of {POSE_SOURCES}, got {pose_source!r}")
    root = Path(root)
    if fault := folder_fault(root):
        return [Problem(str(root), "missing_file", "no folder", "a preprocessed folder", fault)]
    problems: list[Problem] = []
    entries: list[FrameEntry] = []  # well-formed frames, also of a file with other problems
    for name in SPLITS.values():
        _, found_entries, found = read_frame_entries(root / name)
        problems += found
        entries += found_entries
    img_ids = sorted({f.img_id for f in entries})
    aud_ids = [f.aud_id for f in entries]
    try:
        audio_path = audio_file_path(root, audio_file)
    except AudioLayoutError as err:
        problems.append(Problem(str(audio_file), "bad_value", str(audio_file), "a name", str(err)))
    else:
        problems += _check_audio(audio_path, max(aud_ids) + 1 if aud_ids else 0)
    size, found = check_frames(
        root, img_ids, check_parsing, parsing_max_distance, parsing_unknown_fraction, progress
    )
    problems += compact_problems(found)
    problems += _check_background(root / "bc.jpg", size)
    if eye_source == "au45":
        problems += _check_au(root / "au.csv", img_ids)
    if pose_source == "track":
        problems += _check_track(root / "track_params.pt", max(img_ids) + 1 if img_ids else 0)
    return problems


def _check_audio(path: Path, rows_needed: int) -> list[Problem]:
    if not path.is_file():
        return [
            _problem(
                path,
                "missing_file",
                "no file",
                f"audio features {ACCEPTED_AUDIO_LAYOUTS}",
                "audio feature file not found (choose another with audio_file=...)",
            )
        ]
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
        shape = tuple(array.shape)
    except (OSError, ValueError) as err:
        return [_problem(path, "unreadable", str(err), "a .npy array", f"cannot read ({err})")]
    if audio_layout(shape) is None:
        return [
            _problem(
                path,
                "audio_layout",
                f"shape {list(shape)}",
                ACCEPTED_AUDIO_LAYOUTS,
                f"audio features of shape {list(shape)} match no accepted layout; "
                f"expected {ACCEPTED_AUDIO_LAYOUTS}",
            )
        ]
    if shape[0] < rows_needed:
        return [
            _problem(
                path,
                "audio_rows",
                f"{shape[0]} rows",
                f">= {rows_needed} rows",
                f"{shape[0]} audio rows but the largest aud_id is {rows_needed - 1}: "
                f"expected at least {rows_needed} rows",
            )
        ]
    try:
        bad = nonfinite_rows(array)
    except (OSError, ValueError, TypeError) as err:  # truncated data, non-numeric dtype
        return [_problem(path, "unreadable", str(err), "a .npy array", f"cannot read ({err})")]
    if bad:
        msg = nonfinite_message(path, bad).removeprefix(f"{path}: ")
        return [_problem(path, "bad_value", f"{len(bad)} non-finite rows", "finite values", msg)]
    return []


def _check_background(path: Path, size: tuple[int, int] | None) -> list[Problem]:
    if not path.is_file():
        return [
            _problem(
                path,
                "missing_file",
                "no file",
                "the static background image",
                "background image not found",
            )
        ]
    try:
        hw = image_size(path)
    except (OSError, ValueError) as err:
        return [_problem(path, "unreadable", str(err), "an image", f"cannot read image ({err})")]
    if size is not None and hw != size:
        return [
            _problem(
                path,
                "image_size",
                f"{hw[0]}x{hw[1]} (HxW)",
                f"{size[0]}x{size[1]} (HxW)",
                f"background is {hw[0]}x{hw[1]} (HxW) but the frames are {size[0]}x{size[1]}",
            )
        ]
    return []


def _check_au(path: Path, img_ids: list[int]) -> list[Problem]:
    if not path.is_file():
        return [
            _problem(
                path,
                "missing_file",
                "no file",
                f"OpenFace csv with {AU45_COLUMN!r}",
                "au.csv not found but eye_source='au45' needs it "
                "(use eye_source='landmarks' or 'auto')",
            )
        ]
    try:
        values = read_au_column(path, AU45_COLUMN)
    except (OSError, ValueError) as err:
        msg = str(err).removeprefix(f"{path}: ")
        return [_problem(path, "au_column", msg, f"a numeric column {AU45_COLUMN!r}", msg)]
    missing = [i for i in img_ids if i not in values]
    if not missing:
        return []
    shown = ", ".join(str(i) for i in missing[:10]) + (", ..." if len(missing) > 10 else "")
    return [
        _problem(
            path,
            "au_frames",
            f"{len(values)} rows",
            f"a row for each of {len(img_ids)} frames",
            f"{len(values)} rows of {AU45_COLUMN!r} but {len(missing)} frame(s) have no row: "
            f"img_id {shown} (use eye_source='auto' to fall back to landmarks)",
        )
    ]


def _check_track(path: Path, frames_needed: int) -> list[Problem]:
    if not path.is_file():
        return [
            _problem(
                path,
                "missing_file",
                "no file",
                "3DMM tracking (euler, trans)",
                "track_params.pt not found but pose_source='track' needs it",
            )
        ]
    import torch

    try:
        params = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # any unpickling failure is a problem of the file
        return [_problem(path, "unreadable", str(err), "a torch file", f"cannot load ({err})")]
    problems = []
    for key in ("euler", "trans"):
        value = params.get(key) if isinstance(params, dict) else None
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else None
        if shape is None or len(shape) != 2 or shape[1] != 3 or shape[0] < frames_needed:
            found = "absent" if shape is None else f"shape {list(shape)}"
            problems.append(
                _problem(
                    path,
                    "bad_shape",
                    f"{key} {found}",
                    f"{key} [>= {frames_needed}, 3]",
                    f"{key!r} is {found}, expected [N, 3] with N >= {frames_needed}",
                )
            )
    return problems
