"""Ground truth of a studio folder, kept beside it: ``<folder>.truth/{truth.npz, meta.json}``.

Never read by a model: only metrics, tests and previews use it.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from . import labels as L

__all__ = ["Truth", "load_truth", "save_truth", "truth_dir"]

ARRAYS = ("jaw", "lip_width", "eye_closure", "pose", "landmarks", "labels", "envelope",
          "breath", "torso_pose")  # fmt: skip
OPTIONAL_ARRAYS = ("light_dir", "light_intensity")  # written only when the option made them


@dataclass
class Truth:
    """Per-frame causes of a studio folder (N frames of H x W pixels).

    jaw [N] mouth opening 0 (closed) .. 1; lip_width [N] 0 (rounded) .. 1 (spread);
    eye_closure [N] 0 open .. 1 closed; pose [N, 6] head pose (pitch, yaw, roll in rad, then
    the head origin in the camera frame, OpenGL axes, in the folder's world units);
    landmarks [N, 68, 2] pixels (x right, y down; pixel i spans [i, i+1)); labels [N, H, W]
    uint8 region ids (the class constants); envelope [N] audio RMS per frame; breath [N] -1..1;
    torso_pose [N, 6] like pose, for the neck/torso; meta: identity, utterance, seed, fps, sr,
    camera, blinks, phones, identity traits. With the lighting option only (else None):
    light_dir [N, 3] unit, towards the key light in the camera frame (OpenGL axes);
    light_intensity [N] (1 = the fixed light; see ``lighting.py``).
    """

    jaw: np.ndarray
    lip_width: np.ndarray
    eye_closure: np.ndarray
    pose: np.ndarray
    landmarks: np.ndarray
    labels: np.ndarray
    envelope: np.ndarray
    breath: np.ndarray
    torso_pose: np.ndarray
    meta: dict = field(default_factory=dict)
    light_dir: np.ndarray | None = None
    light_intensity: np.ndarray | None = None

    BACKGROUND: ClassVar[int] = L.BACKGROUND
    FACE: ClassVar[int] = L.FACE
    HAIR: ClassVar[int] = L.HAIR
    LIPS: ClassVar[int] = L.LIPS
    MOUTH: ClassVar[int] = L.MOUTH
    TEETH: ClassVar[int] = L.TEETH
    EYES: ClassVar[int] = L.EYES
    NECK: ClassVar[int] = L.NECK
    TORSO: ClassVar[int] = L.TORSO
    LABEL_NAMES: ClassVar[tuple] = L.LABEL_NAMES

    def __len__(self) -> int:
        return int(self.jaw.shape[0])

    @property
    def identity(self) -> int:
        return int(self.meta.get("identity", -1))

    @property
    def utterance(self) -> int:
        return int(self.meta.get("utterance", -1))

    def subset(self, index) -> Truth:
        """The truth of some frames (index: slice, int array or bool mask)."""
        arrays = {k: getattr(self, k)[index] for k in ARRAYS}
        for k in OPTIONAL_ARRAYS:
            arrays[k] = None if getattr(self, k) is None else getattr(self, k)[index]
        return Truth(**arrays, meta=dict(self.meta))


def truth_dir(folder) -> Path:
    """Where a folder's ground truth lives: the sibling ``<folder>.truth``."""
    folder = Path(folder)
    return folder.parent / (folder.name + ".truth")


def save_truth(folder, truth: Truth) -> Path:
    """Write truth.npz (byte-stable: fixed zip timestamps) and meta.json; returns the dir."""
    out = truth_dir(folder)
    out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out / "truth.npz", "w", compression=zipfile.ZIP_DEFLATED) as z:
        for k in ARRAYS + tuple(k for k in OPTIONAL_ARRAYS if getattr(truth, k) is not None):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(getattr(truth, k)))
            info = zipfile.ZipInfo(k + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, buf.getvalue())
    (out / "meta.json").write_text(json.dumps(truth.meta, indent=1, sort_keys=True) + "\n")
    return out


def load_truth(folder) -> Truth:
    """Ground truth of a studio folder (the dataset folder, or its ``.truth`` sibling)."""
    folder = Path(folder)
    d = folder if folder.name.endswith(".truth") else truth_dir(folder)
    if not (d / "truth.npz").is_file():
        raise FileNotFoundError(f"no studio ground truth at {d} (is {folder} a studio folder?)")
    with np.load(d / "truth.npz") as z:
        arrays = {k: z[k] for k in ARRAYS}
        arrays |= {k: z[k] for k in OPTIONAL_ARRAYS if k in z.files}
    meta = json.loads((d / "meta.json").read_text()) if (d / "meta.json").is_file() else {}
    return Truth(**arrays, meta=meta)
