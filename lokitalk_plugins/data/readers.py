"""Readers for the per-frame files of a preprocessed folder (images, landmarks, au.csv).

Each reader raises an error naming the file on bad content (``FolderReadError``, a
ValueError); the validator calls the same readers so that what it accepts is what the dataset
can load.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
from PIL import Image

from lokitalk_plugins.data.problems import FolderReadError

__all__ = [
    "image_size",
    "read_rgb",
    "read_rgba",
    "read_landmarks",
    "read_au_column",
    "AU45_COLUMN",
]

AU45_COLUMN = "AU45_r"


def image_size(path: str | Path) -> tuple[int, int]:
    """(H, W) of an image from its header only (no pixel decoding)."""
    with Image.open(path) as im:
        w, h = im.size
    return h, w


def _decode(path: str | Path, mode: str) -> np.ndarray:
    try:
        with Image.open(path) as im:
            return np.array(im.convert(mode))
    except (OSError, ValueError, SyntaxError) as err:  # truncated or damaged image data
        raise FolderReadError(
            f"{path}: cannot decode the image ({err}); re-export it from the original video"
        ) from err


def read_rgb(path: str | Path) -> np.ndarray:
    """An image as uint8 [H, W, 3] (alpha dropped, grey and palette expanded)."""
    return _decode(path, "RGB")


def read_rgba(path: str | Path) -> np.ndarray:
    """An image as uint8 [H, W, 4]; an image without alpha gets alpha 255 everywhere."""
    return _decode(path, "RGBA")


def read_landmarks(path: str | Path) -> np.ndarray:
    """A ``%d.lms`` file: 68 rows of ``x y`` -> float32 [68, 2].

    Raises ValueError naming the file and the shape found when it is not 68 x 2 finite numbers.
    """
    path = Path(path)
    try:
        text = path.read_text()
        rows = [line.split() for line in text.splitlines() if line.strip()]
        widths = {len(r) for r in rows}
        if len(widths) > 1:
            raise ValueError(f"rows of {sorted(widths)} columns")
        values = np.asarray(rows, dtype=np.float64)
    except (ValueError, UnicodeDecodeError) as err:
        raise FolderReadError(f"{path}: landmarks are not a table of numbers ({err})") from err
    if values.ndim != 2 or values.shape != (68, 2):
        shape = "empty" if values.size == 0 else f"{values.shape[0]}x{values.shape[1]}"
        raise FolderReadError(f"{path}: landmarks of shape {shape}, expected 68x2 (x y per row)")
    if not np.isfinite(values).all():
        raise FolderReadError(f"{path}: landmarks contain NaN or infinite values")
    return values.astype(np.float32)


def read_au_column(path: str | Path, column: str = AU45_COLUMN) -> dict[int, float]:
    """One column of an OpenFace ``au.csv``: {img_id: value}.

    Column names are compared with surrounding spaces stripped (OpenFace writes
    ``' AU45_r'``). Rows map to frames by the ``frame`` column when present (OpenFace counts
    from 1, so frame f is img_id f - 1; a column holding a 0 counts from 0), else by row
    order (row r is img_id r). Raises
    ValueError naming the file when the column is absent or a value is not a number.
    """
    path = Path(path)
    try:
        return _au_column(path, column)
    except (UnicodeDecodeError, csv.Error) as err:
        raise FolderReadError(f"{path}: not a readable csv ({err})") from None


def _au_column(path: Path, column: str) -> dict[int, float]:
    with open(path, newline="") as f:
        reader = csv.reader(f)
        try:
            header = [name.strip() for name in next(reader)]
        except StopIteration:
            raise FolderReadError(
                f"{path}: empty file, expected a header with {column!r}"
            ) from None
        if column not in header:
            raise FolderReadError(
                f"{path}: no column {column!r} (found {len(header)} columns: "
                f"{', '.join(header[:8])}{', ...' if len(header) > 8 else ''})"
            )
        col = header.index(column)
        frame_col = header.index("frame") if "frame" in header else None
        pairs: list[tuple[int, float]] = []
        for r, row in enumerate(reader):
            if not row or all(not c.strip() for c in row):
                continue
            try:
                value = float(row[col])
                key = int(float(row[frame_col])) if frame_col is not None else r
                if not math.isfinite(value):
                    raise ValueError(value)
            except (ValueError, IndexError, OverflowError):
                raise FolderReadError(
                    f"{path}: row {r + 2} has no finite number in column {column!r} (or in 'frame')"
                ) from None
            pairs.append((key, value))
    # OpenFace numbers frames from 1; a file numbered from 0 is taken as it is
    base = 1 if frame_col is not None and pairs and min(k for k, _ in pairs) >= 1 else 0
    return {k - base: v for k, v in pairs}
