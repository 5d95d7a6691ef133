"""Validate a whole preprocessed folder up front, listing every problem at once.

>>> problems = validate_folder("data/obama", audio_file="aud_ds.npy", eye_source="au45")
>>> for p in problems: print(p.message)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lokitalk_plugins.data.audio import AudioLayoutError, audio_file_path
from lokitalk_plugins.data.paths import folder_fault
from lokitalk_plugins.data.problems import Problem, compact_problems
from lokitalk_plugins.data.transforms import FrameEntry, read_frame_entries
from lokitalk_plugins.data.validate_files import (
    check_au,
    check_audio,
    check_background,
    check_track,
)
from lokitalk_plugins.data.validate_frames import check_frames
from lokitalk_plugins.errors import OptionError

__all__ = ["EYE_SOURCES", "POSE_SOURCES", "SPLITS", "validate_folder", "audio_shape"]

EYE_SOURCES = ("landmarks", "area", "au45", "auto")
POSE_SOURCES = ("camera", "track")
SPLITS = {"train": "transforms_train.json", "val": "transforms_val.json"}


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
    (``audio_file`` under root: accepted layout, at least max(aud_id) rows), every frame's
    ori_imgs/%d.jpg, %d.lms (68x2), parsing/%d.png (colours), gt_imgs/%d.jpg,
    torso_imgs/%d.png (alpha), that all images have one size, ``au.csv`` (AU45 column, a row
    per frame) when ``eye_source == "au45"``, and ``track_params.pt`` when
    ``pose_source == "track"``. Parsing images may have up to ``parsing_unknown_fraction`` of
    pixels farther than ``parsing_max_distance`` from every class colour (anti-aliasing).
    """
    if eye_source not in EYE_SOURCES:
        raise OptionError(f"eye_source must be one of {EYE_SOURCES}, got {eye_source!r}")
    if pose_source not in POSE_SOURCES:
        raise OptionError(f"pose_source must be one of {POSE_SOURCES}, got {pose_source!r}")
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
        problems += check_audio(audio_path, max(aud_ids) + 1 if aud_ids else 0)
    size, found = check_frames(
        root, img_ids, check_parsing, parsing_max_distance, parsing_unknown_fraction, progress
    )
    problems += compact_problems(found)
    problems += check_background(root / "bc.jpg", size)
    if eye_source == "au45":
        problems += check_au(root / "au.csv", img_ids)
    if pose_source == "track":
        problems += check_track(root / "track_params.pt", max(img_ids) + 1 if img_ids else 0)
    return problems
