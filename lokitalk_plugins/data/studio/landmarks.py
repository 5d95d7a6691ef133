"""68 iBUG landmarks as fixed points of the head model, moved by the same controls.

Points are laid out in the unit head space from the model's own parameters (jaw contour,
brows, nose, eyes with their lids, outer and inner lip contours), take their depth from the
neutral head surface, follow the frame's jaw, lip width and eye closure, and are projected
with the frame's head pose and the studio camera (pixel coordinates, pixel i spans [i, i+1)).
"""

from __future__ import annotations

import numpy as np
import torch

from .render import Camera, sphere_trace
from .sdf import JAW_DROP, Y_EYE, Y_MOUTH, HeadModel

__all__ = ["landmarks_2d", "landmarks_3d"]


def _layout(model: HeadModel, jaw, lipw, closure):
    """Unit-space (x, y) [F, 68] each, and the jaw weight [68] of each point (1: moves with it)."""
    F = jaw.shape[0]
    x, y = np.zeros((F, 68)), np.zeros((F, 68))
    jw = np.zeros(68)
    th = np.pi * np.arange(17) / 16  # jaw contour, image left (subject's right) to right
    x[:, :17] = -0.42 * np.cos(th) * (0.85 + 0.15 * model.jw)
    y[:, :17] = -0.02 - 0.67 * np.sin(th) ** 1.3
    jw[:17] = np.clip((Y_MOUTH + 0.02 - y[0, :17]) / 0.2, 0, 1)
    ub = np.linspace(-1, 1, 5)
    for k, side in ((17, -1), (22, 1)):  # brows, each listed from image left to right
        x[:, k : k + 5] = side * model.es + 1.3 * model.ew * ub
        y[:, k : k + 5] = Y_EYE + model.eh + 0.05 + 0.025 * (1 - ub**2)
    x[:, 27:31], y[:, 27:31] = 0.0, np.linspace(Y_EYE + 0.01, -0.15, 4)
    x[:, 31:36], y[:, 31:36] = np.linspace(-0.07, 0.07, 5) * model.ns, -0.2
    c = closure[:, None]
    shape = (1 - (1 / 3) ** 2) ** 0.6
    for k, side in ((36, -1), (42, 1)):  # corner, upper, upper, corner, lower, lower
        ex = side * model.es
        xs = np.array([-1, -1 / 3, 1 / 3, 1, 1 / 3, -1 / 3]) * model.ew + ex
        x[:, k : k + 6] = xs
        up = Y_EYE + model.eh * shape * (1 - 2 * c)
        lo = np.full((F, 1), Y_EYE - model.eh * shape)
        y[:, k : k + 6] = np.concatenate([np.full((F, 1), Y_EYE), up, up, np.full((F, 1), Y_EYE),
                                          lo, lo], 1)  # fmt: skip
    mw = model.mw * (0.75 + 0.45 * lipw)[:, None]
    d = (jaw * JAW_DROP)[:, None]
    uo = np.array([-1, -2 / 3, -1 / 3, 0, 1 / 3, 2 / 3, 1, 2 / 3, 1 / 3, 0, -1 / 3, -2 / 3])
    prof = np.sqrt(np.clip(1 - uo**2, 0, 1))
    x[:, 48:60] = 0.97 * mw * uo
    upper = Y_MOUTH + 0.058 * prof
    lower = Y_MOUTH - 0.068 * prof - d
    y[:, 48:60] = np.where(np.arange(12) <= 6, upper, lower)
    y[:, [48, 54]] = Y_MOUTH - 0.5 * d
    ui = np.array([-1, -0.5, 0, 0.5, 1, 0.5, 0, -0.5])
    pi = np.sqrt(np.clip(1 - ui**2, 0, 1))
    x[:, 60:68] = 0.85 * mw * ui
    half = d / 2 + 0.006
    y[:, 60:68] = Y_MOUTH - d / 2 + np.where(np.arange(8) <= 4, 1, -1) * half * pi
    y[:, [60, 64]] = Y_MOUTH - d / 2
    return x, y, jw


def _rest_depth(model: HeadModel, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """z [68] of the neutral head surface seen straight on from +z (unit head space)."""
    sx, sy, sz = model.scale
    o = torch.tensor(np.stack([x * sx, y * sy, np.full(68, 1.0)], -1), dtype=torch.float32)
    d = torch.tensor([[0.0, 0.0, -1.0]]).expand(68, 3)
    zero = torch.zeros(68)
    t, hit = sphere_trace(model.head, o, d, zero, torch.full((68,), 2.0), (zero, zero + 0.5),
                          steps=96, eps=2e-4)  # fmt: skip
    z = (1.0 - t.numpy()) / sz
    return np.where(hit.numpy(), z, 0.0)


def landmarks_3d(model: HeadModel, jaw, lipw, closure) -> np.ndarray:
    """Head-frame landmark positions [F, 68, 3] (model units) for controls [F]."""
    jaw, lipw, closure = (np.asarray(v, dtype=np.float64) for v in (jaw, lipw, closure))
    x0, y0, _ = _layout(model, np.zeros(1), np.full(1, 0.5), np.zeros(1))
    z0 = _rest_depth(model, x0[0], y0[0])
    x, y, jw = _layout(model, jaw, lipw, closure)
    d = (jaw * JAW_DROP)[:, None]
    z = z0[None] + np.zeros_like(x)
    z[:, 48:68] += 0.03 * (0.5 - lipw[:, None])  # rounded lips protrude
    y = y - d * jw[None]  # jaw contour follows the chin
    z = z - 0.25 * d * np.where(np.arange(68) >= 48, (y < Y_MOUTH - 0.01), jw[None])
    sx, sy, sz = model.scale
    return np.stack([x * sx, y * sy, z * sz], -1)


def landmarks_2d(points: np.ndarray, R: np.ndarray, t: np.ndarray, cam: Camera) -> np.ndarray:
    """Project head-frame points [F, K, 3] with head poses R [F, 3, 3], t [F, 3] (OpenGL
    camera frame) to pixels [F, K, 2] (x right, y down)."""
    pc = np.einsum("fij,fkj->fki", R, points) + t[:, None, :]
    u = cam.cx + cam.focal * pc[..., 0] / -pc[..., 2]
    v = cam.cy - cam.focal * pc[..., 1] / -pc[..., 2]
    return np.stack([u, v], -1)
