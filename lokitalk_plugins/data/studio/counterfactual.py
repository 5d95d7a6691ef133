"""Where each driving signal changes the picture: studio frames re-rendered with one cause
changed, everything else as recorded.

A studio folder's truth keeps every cause of every frame (pose, torso pose, jaw, lip width,
eye closure, breath, light). Re-rendering a frame from those tracks gives the frame itself
(the sensor noise aside); re-rendering it with one cause changed and taking the per-pixel
difference shows which pixels that cause moves. These maps are the ground truth that
LokiTalk's Fig. 5 is about: the audio feature should act where the mouth moves the image, the
eye feature where the eyes do, the head pose's torso field where the torso moves relative to
the head.

Changes (``CAUSES``):

- ``"mouth"``: jaw closed (0) and the lip width at the clip's mean: what the audio drives;
- ``"eyes"``: the eyes toggled (closure 1 - round(closure): open <-> closed), so the eye
  region shows in every frame, blinking or not: what the eye feature can act on;
- ``"torso"``: neck and torso carried rigidly by the head (the torso's pose := the head's),
  so that in the head's frame, the canonical frame of the NeRF, they stand still: what the
  torso field has to model (breathing, which no signal gives, is kept).

>>> change, labels = cause_maps(folder, frames=[3, 7], causes=("mouth", "eyes"))
>>> change["mouth"].shape      # [2, H, W]: summed |RGB difference| per pixel, >= 0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .folder import WORLD_SCALE
from .identity import make_identity
from .motion import BREATH_RISE, euler_to_matrix
from .render import camera_for, render_batch
from .sdf import HeadModel
from .shade import Noise3D
from .truth import Truth, load_truth

__all__ = ["CAUSES", "CONTROLS", "cause_maps", "render_controls", "render_from_truth"]

CAUSES = ("mouth", "eyes", "torso")


def _tracks(truth: Truth, idx: np.ndarray) -> dict:
    f32 = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32)  # noqa: E731
    pose, torso = truth.pose[idx], truth.torso_pose[idx]
    scale = float(truth.meta.get("camera", {}).get("world_scale", WORLD_SCALE))
    out = dict(  # the truth keeps translations in world units: the renderer's are x scale
        head_R=f32(euler_to_matrix(pose[:, :3])), head_t=f32(pose[:, 3:] * scale),
        body_R=f32(euler_to_matrix(torso[:, :3])), body_t=f32(torso[:, 3:] * scale),
        jaw=f32(truth.jaw[idx]), lipw=f32(truth.lip_width[idx]),
        closure=f32(truth.eye_closure[idx]), breath=f32(truth.breath[idx]),
    )  # fmt: skip
    if truth.light_dir is not None:
        out["light_dir"] = f32(truth.light_dir[idx])
        out["light_intensity"] = f32(truth.light_intensity[idx])
    return out


def _changed(truth: Truth, tracks: dict, cause: str) -> dict:
    t = dict(tracks)
    if cause == "mouth":
        t["jaw"] = torch.zeros_like(t["jaw"])
        t["lipw"] = torch.full_like(t["lipw"], float(np.mean(truth.lip_width)))
    elif cause == "eyes":
        t["closure"] = 1.0 - t["closure"].round()
    elif cause == "torso":  # carried by the head, still rising with the breath
        rise = torch.zeros_like(t["head_t"])
        rise[:, 1] = BREATH_RISE * t["breath"]
        t["body_R"], t["body_t"] = t["head_R"].clone(), t["head_t"] + rise
    else:
        raise ValueError(f"cause {cause!r}: expected one of {list(CAUSES)}")
    return t


def render_from_truth(truth: Truth, frames: Sequence[int], size: int, tracks: dict | None = None):
    """Frames ``frames`` of a studio clip rendered from its truth tracks (or ``tracks``, the
    same keys changed) -> (rgb [F, H, W, 3] in [0, 1] with zeros on the background,
    labels [F, H, W] uint8)."""
    idx = np.asarray(list(frames), dtype=np.int64)
    if idx.size == 0 or idx.min() < 0 or idx.max() >= len(truth):
        raise ValueError(f"frames must lie in 0..{len(truth) - 1}, got {list(frames)}")
    idn = make_identity(truth.identity)
    t = tracks if tracks is not None else _tracks(truth, idx)
    lit = {k: t[k] for k in ("light_dir", "light_intensity") if k in t}
    with torch.no_grad():
        r = render_batch(HeadModel(idn), Noise3D(idn.texture_seed), camera_for(int(size)),
                         t["head_R"], t["head_t"], t["body_R"], t["body_t"], t["jaw"], t["lipw"],
                         t["closure"], t["breath"], **lit)  # fmt: skip
    fg = (r["labels"] != 0) | r["body_mask"]
    return torch.where(fg[..., None], r["rgb"], 0.0).numpy(), r["labels"].numpy()


# expression factors ``render_controls`` can set -> their track in ``_tracks``
CONTROLS = {"jaw": "jaw", "lip_width": "lipw", "eye_closure": "closure"}


def render_controls(folder, frames: Sequence[int], **controls: float):
    """Frames ``frames`` of a studio folder re-rendered with expression factors set to a value
    (``jaw=``, ``lip_width=``, ``eye_closure=``; the others, the pose, light and breath as
    recorded) -> (rgb [F, H, W, 3] in [0, 1], zeros on the background; labels [F, H, W])."""
    unknown = [c for c in controls if c not in CONTROLS]
    if unknown:
        raise ValueError(f"control {unknown[0]!r}: expected one of {list(CONTROLS)}")
    truth = load_truth(folder)
    idx = np.asarray(list(frames), dtype=np.int64)
    if idx.size == 0 or idx.min() < 0 or idx.max() >= len(truth):
        raise ValueError(f"frames must lie in 0..{len(truth) - 1}, got {list(frames)}")
    tracks = _tracks(truth, idx)
    for name, value in controls.items():
        tracks[CONTROLS[name]] = torch.full_like(tracks[CONTROLS[name]], float(value))
    return render_from_truth(truth, idx, int(truth.labels.shape[-1]), tracks)


def cause_maps(folder, frames: Sequence[int], causes: Sequence[str] = CAUSES):
    """For each cause, the per-pixel change of frames ``frames`` of the studio folder
    ``folder`` when that cause alone is changed (module doc) -> (cause -> [F, H, W] float
    |ΔRGB| summed over channels, labels [F, H, W] of the frames as recorded)."""
    unknown = [c for c in causes if c not in CAUSES]
    if unknown:
        raise ValueError(f"cause {unknown[0]!r}: expected one of {list(CAUSES)}")
    truth = load_truth(folder)
    size = int(truth.labels.shape[-1])
    if truth.identity < 0:
        raise ValueError(f"{folder}: its truth names no studio identity (meta.json)")
    idx = np.asarray(list(frames), dtype=np.int64)
    base, labels = render_from_truth(truth, idx, size)
    tracks = _tracks(truth, idx)
    out = {}
    for cause in causes:
        rgb, _ = render_from_truth(truth, idx, size, _changed(truth, tracks, cause))
        out[cause] = np.abs(rgb - base).sum(-1)
    return out, labels
