"""Per-frame checks of a folder: files present, image sizes, landmarks, parsing colours, alpha.

Images are checked from their headers only (Pillow opens lazily); parsing images are decoded
to count pixels of unknown colours (vectorised, one image at a time).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from lokitalk_plugins.data.masks import PARSING_COLOURS, classify_parsing
from lokitalk_plugins.data.problems import Problem, file_problem
from lokitalk_plugins.data.readers import read_landmarks, read_rgb

__all__ = ["FRAME_FILES", "IMAGE_FILES", "check_frames", "has_end_marker"]

# kind of per-frame file -> pattern under the folder
FRAME_FILES: dict[str, str] = {
    "ori_imgs": "ori_imgs/{}.jpg",
    "lms": "ori_imgs/{}.lms",
    "parsing": "parsing/{}.png",
    "gt_imgs": "gt_imgs/{}.jpg",
    "torso_imgs": "torso_imgs/{}.png",
}
IMAGE_FILES = ("gt_imgs", "ori_imgs", "parsing", "torso_imgs")
_ALPHA_MODES = {"RGBA", "LA", "RGBa", "La", "PA"}


def check_frames(
    root: Path,
    img_ids: list[int],
    check_parsing: bool = True,
    parsing_max_distance: int = 64,
    parsing_unknown_fraction: float = 0.02,
    progress: bool = False,
) -> tuple[tuple[int, int] | None, list[Problem]]:
    """Check every per-frame file of ``img_ids`` under ``root``.

    Returns ((H, W) of the frames, the most common gt_imgs size, or None when no image could
    be read) and the problems found.
    """
    problems: list[Problem] = []
    sizes: dict[tuple[str, int], tuple[int, int]] = {}
    for img_id in tqdm(img_ids, desc="validate frames", disable=not progress, unit="frame"):
        for name, pattern in FRAME_FILES.items():
            path = root / pattern.format(img_id)
            if not path.is_file():
                problems.append(
                    file_problem(
                        path,
                        "missing_file",
                        "no file",
                        f"{name} file of frame {img_id}",
                        f"file not found (frame img_id={img_id} has no {name} file)",
                    )
                )
                continue
            if name == "lms":
                try:
                    read_landmarks(path)
                except ValueError as err:
                    msg = str(err).removeprefix(f"{path}: ")
                    problems.append(file_problem(path, "bad_shape", msg, "68x2 landmarks", msg))
                continue
            try:
                with Image.open(path) as im:
                    w, h = im.size
                    mode = im.mode
                    has_alpha = mode in _ALPHA_MODES or "transparency" in im.info
                    truncated = not has_end_marker(path, im.format)
            except (OSError, ValueError, SyntaxError) as err:
                problems.append(
                    file_problem(
                        path, "unreadable", str(err), "an image", f"cannot read image ({err})"
                    )
                )
                continue
            if truncated:
                problems.append(
                    file_problem(
                        path,
                        "unreadable",
                        f"no {im.format} end marker",
                        "a whole image",
                        f"the {im.format} data is truncated (no end marker); write the image again",
                    )  # fmt: skip
                )
                continue
            sizes[(name, img_id)] = (h, w)
            if name == "torso_imgs" and not has_alpha:
                problems.append(
                    file_problem(
                        path,
                        "no_alpha",
                        f"mode {mode}",
                        "RGBA (alpha 0 off the torso)",
                        f"image mode {mode} has no alpha channel, expected RGBA",
                    )
                )
            if name == "parsing" and check_parsing:
                problems += _check_parsing(path, parsing_max_distance, parsing_unknown_fraction)
    size = _reference_size(sizes)
    if size is not None:
        for (name, img_id), hw in sizes.items():
            if hw != size:
                path = root / FRAME_FILES[name].format(img_id)
                problems.append(
                    file_problem(
                        path,
                        "image_size",
                        f"{hw[0]}x{hw[1]} (HxW)",
                        f"{size[0]}x{size[1]} (HxW)",
                        f"image is {hw[0]}x{hw[1]} (HxW) but the frames are "
                        f"{size[0]}x{size[1]}; gt_imgs, ori_imgs, parsing, torso_imgs "
                        f"and bc.jpg must all have one size",
                    )
                )
    return size, problems


# the last bytes of a whole file, per format (checked in its last 1 KiB: some writers pad)
_END_MARKERS = {"JPEG": b"\xff\xd9", "PNG": b"IEND\xaeB`\x82"}


def has_end_marker(path: Path, fmt: str | None) -> bool:
    """False when a JPEG / PNG file lacks its end marker (cut short by a failed copy or a
    full disk): the header reads, the pixels do not. Other formats: True."""
    marker = _END_MARKERS.get(fmt or "")
    if marker is None:
        return True
    with open(path, "rb") as f:
        f.seek(max(path.stat().st_size - 1024, 0))
        return marker in f.read()


def _reference_size(sizes: dict[tuple[str, int], tuple[int, int]]) -> tuple[int, int] | None:
    gt = Counter(hw for (name, _), hw in sizes.items() if name == "gt_imgs")
    counts = gt or Counter(sizes.values())
    return counts.most_common(1)[0][0] if counts else None


def _check_parsing(path: Path, max_distance: int, max_fraction: float) -> list[Problem]:
    try:
        rgb = read_rgb(path)
    except (OSError, ValueError) as err:
        return [
            file_problem(path, "unreadable", str(err), "an image", f"cannot decode image ({err})")
        ]
    _, unknown = classify_parsing(rgb, max_distance)
    fraction = float(unknown.mean())
    if fraction <= max_fraction:
        return []
    colours, counts = _top_colours(rgb[unknown])
    known = ", ".join(f"{k} {v}" for k, v in PARSING_COLOURS.items())
    return [
        file_problem(
            path,
            "parsing_colours",
            f"{fraction:.1%} unknown pixels, e.g. {colours}",
            f"only the class colours ({known})",
            f"{unknown.sum()} pixels ({fraction:.1%}) have colours far from every "
            f"parsing class, e.g. {colours} ({counts}); expected (RGB) {known} "
            f"(tolerance {max_fraction:.0%} of pixels)",
        )
    ]


def _top_colours(pixels) -> tuple[str, str]:
    values, counts = np.unique(pixels.reshape(-1, 3), axis=0, return_counts=True)
    top = np.argsort(-counts)[:3]
    colours = ", ".join(str(tuple(int(c) for c in values[i])) for i in top)
    return colours, ", ".join(f"{int(counts[i])} px" for i in top)
