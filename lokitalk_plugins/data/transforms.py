"""``transforms_train.json`` / ``transforms_val.json``: reading and checking.

Top level: ``focal_len`` (or ``fl_x``/``fl_y``), ``cx``, ``cy`` and ``frames``, a list of
``{img_id, aud_id, transform_matrix}`` with a 4x4 camera-to-world matrix.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lokitalk_plugins.data.camera import focal_keys_present, intrinsics_from_meta
from lokitalk_plugins.data.problems import FolderValidationError, Problem

__all__ = ["FrameEntry", "Transforms", "check_transforms", "read_frame_entries", "load_transforms"]


@dataclass(frozen=True)
class FrameEntry:
    """One frame of a split: image id, audio row, raw camera-to-world matrix [4, 4] float64."""

    img_id: int
    aud_id: int
    matrix: np.ndarray


@dataclass(frozen=True)
class Transforms:
    """A parsed transforms json: intrinsics (fx, fy, cx, cy) pixels and its frames."""

    path: Path
    intrinsics: tuple[float, float, float, float]
    frames: list[FrameEntry]
    meta: dict


# the largest magnitude accepted: intrinsics and poses become float32 (max 3.4e38) and the
# poses are scaled, so a value beyond this is a broken file, not a camera
LIMIT = 1e30


def _is_number(v) -> bool:
    return (
        isinstance(v, (int, float))
        and not isinstance(v, bool)
        and math.isfinite(v)
        and abs(v) < LIMIT
    )


def _is_index(v) -> bool:
    return (isinstance(v, int) and not isinstance(v, bool) and v >= 0) or (
        isinstance(v, float) and v.is_integer() and v >= 0
    )


def _frames_text(ids: list[int]) -> str:
    shown = ", ".join(str(i) for i in ids[:8])
    return f"{shown}{', ...' if len(ids) > 8 else ''} ({len(ids)} frame(s))"


def check_transforms(path: str | Path) -> tuple[Transforms | None, list[Problem]]:
    """Read and check one transforms json. Returns (Transforms or None, problems).

    The result is None when there is any problem; each kind of per-frame fault is one
    Problem listing the positions (index in ``frames``) of the frames concerned.
    """
    transforms, _, problems = read_frame_entries(path)
    return transforms, problems


def read_frame_entries(
    path: str | Path,
) -> tuple[Transforms | None, list[FrameEntry], list[Problem]]:
    """Like :func:`check_transforms`, plus the well-formed frame entries even when other
    parts of the file have problems (a missing ``focal_len`` still lets the validator check
    the frames' files): returns (Transforms or None, entries, problems)."""
    path = Path(path)
    p = str(path)

    def problem(kind, found, expected, message):
        return Problem(p, kind, found, expected, f"{p}: {message}")

    if not path.is_file():
        return None, [], [problem("missing_file", "no file", "a transforms json", "file not found")]
    try:
        meta = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        return None, [], [problem("bad_json", str(err), "valid JSON", f"not valid JSON ({err})")]
    if not isinstance(meta, dict):
        found = type(meta).__name__
        return None, [], [problem("bad_json", found, "a JSON object", f"top level is a {found}")]
    problems: list[Problem] = []
    if not focal_keys_present(meta):
        problems.append(
            problem(
                "missing_key",
                "no focal_len or fl_x",
                "focal_len (or fl_x, fl_y)",
                "missing key 'focal_len' (or 'fl_x'): the focal length in pixels",
            )
        )
    for key in ("focal_len", "fl_x", "fl_y", "cx", "cy"):
        if key in ("cx", "cy") and key not in meta:
            problems.append(
                problem(
                    "missing_key",
                    f"no {key}",
                    f"{key}: a number (pixels)",
                    f"missing key {key!r}: the principal point in pixels",
                )
            )
        elif key in meta and not (_is_number(meta[key]) and (key in ("cx", "cy") or meta[key] > 0)):
            problems.append(
                problem(
                    "bad_value",
                    f"{key} = {meta[key]!r}",
                    f"{key}: a positive number < {LIMIT:g}",
                    f"key {key!r} is {meta[key]!r}, expected a positive number < {LIMIT:g}",
                )
            )
    frames = meta.get("frames")
    if not isinstance(frames, list) or not frames:
        found = "missing key 'frames'" if "frames" not in meta else f"frames = {frames!r:.40}"
        problems.append(
            problem(
                "missing_key" if "frames" not in meta else "bad_value",
                found,
                "frames: a non-empty list",
                f"{found}, expected a non-empty list of frames",
            )
        )
        return None, [], problems
    faults: dict[str, list[int]] = {}
    entries: list[FrameEntry] = []
    for pos, f in enumerate(frames):
        if not isinstance(f, dict):
            faults.setdefault("is not an object", []).append(pos)
            continue
        ok = True
        for key in ("img_id", "aud_id"):
            if key not in f:
                faults.setdefault(f"has no key {key!r}", []).append(pos)
                ok = False
            elif not _is_index(f[key]):
                faults.setdefault(f"has {key!r} that is not an integer >= 0", []).append(pos)
                ok = False
        matrix = None
        if "transform_matrix" not in f:
            faults.setdefault("has no key 'transform_matrix'", []).append(pos)
        else:
            try:
                matrix = np.asarray(f["transform_matrix"], dtype=np.float64)
            except (ValueError, TypeError):
                matrix = None
            if (
                matrix is None
                or matrix.shape != (4, 4)
                or not np.isfinite(matrix).all()
                or np.abs(matrix).max() >= LIMIT
            ):
                faults.setdefault("has a 'transform_matrix' that is not 4x4 numbers", []).append(
                    pos
                )
                matrix = None
        if ok and matrix is not None:
            entries.append(FrameEntry(int(f["img_id"]), int(f["aud_id"]), matrix))
    for what, positions in faults.items():
        kind = "missing_key" if "no key" in what else "bad_value"
        problems.append(
            problem(
                kind,
                f"frames {_frames_text(positions)} {what}",
                "each frame: img_id, aud_id (integers >= 0), transform_matrix (4x4)",
                f"frames[{_frames_text(positions)}] {what}",
            )
        )
    if problems:
        return None, entries, problems
    return Transforms(path, intrinsics_from_meta(meta), entries, meta), entries, []


def load_transforms(path: str | Path) -> Transforms:
    """Read one transforms json, raising FolderValidationError listing its problems."""
    transforms, problems = check_transforms(path)
    if transforms is None:
        raise FolderValidationError(Path(path).parent, problems)
    return transforms
