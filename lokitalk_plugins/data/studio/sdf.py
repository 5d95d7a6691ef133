"""Signed distances of a studio person: the head (head frame) and the neck/torso (body frame).

Points come as separate coordinate tensors x, y, z [M] (model units; y up, z towards the
camera) with per-point controls jaw, lip width [M] (0..1), so many frames trace in one batch.
The head is a smooth union of ellipsoids (skull, face, jaw, chin, nose, ears, eyeballs, lips),
a mouth cavity carved between the lips whose height follows the jaw, teeth, and a hair shell
above a hairline. The jaw does not move geometry: query points below the mouth line are
moved (rest = observed + jaw offset), so chin, lower lip and lower teeth follow it.
For tracing, ``head_fast`` reads the jaw-independent rest part from a grid computed once.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .identity import Identity

__all__ = ["HeadModel", "ellipsoid", "smin", "smoothstep", "Y_MOUTH", "Y_EYE", "JAW_DROP"]

Y_MOUTH = -0.3  # mouth line (unit head space)
Y_EYE = 0.06  # eye centre height
JAW_DROP = 0.13  # mouth opening at jaw = 1 (model units)
SKULL_C, SKULL_R = (0.0, 0.2, -0.06), (0.56, 0.64, 0.42)
FACE_C, FACE_R = (0.0, -0.12, 0.05), (0.44, 0.52, 0.35)
BOX = (0.97, 0.97, 0.49)  # the head is clipped to this box (model units)
GRID_HALF = (1.1, 1.08, 0.56)  # extent of the precomputed rest distance grid (unit space)
GRID_STEP = 0.028
TRACE_BAND = 0.025  # head_trace is exact closer than this to the grid surface
MOUTH_BOX = ((-0.26, -0.56, 0.05), (0.26, -0.2, 0.6))  # lips, cavity and teeth lie inside
LIP_BLEND = 0.025  # smooth-union radius of the lips


def ellipsoid(x, y, z, c, r):
    """Approximate signed distance to an ellipsoid (centre c, radii r; floats or [M])."""
    px, py, pz = (x - c[0]) / r[0], (y - c[1]) / r[1], (z - c[2]) / r[2]
    k0 = torch.sqrt(px * px + py * py + pz * pz)
    k1 = torch.sqrt((px / r[0]) ** 2 + (py / r[1]) ** 2 + (pz / r[2]) ** 2)
    return k0 * (k0 - 1.0) / (k1 + 1e-6)


def smin(a, b, k: float):
    """Polynomial smooth minimum with blend radius k."""
    h = torch.clamp(k - (a - b).abs(), min=0.0) / k
    return torch.minimum(a, b) - h * h * (k * 0.25)


def smoothstep(e0: float, e1: float, x):
    """0 below e0, 1 above e1 (or reversed when e1 < e0), cubic in between."""
    t = torch.clamp((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _mouth_box_distance(x, y, z):
    """Chebyshev-style distance (a lower bound of the Euclidean one) to MOUTH_BOX: [M]."""
    lo, hi = MOUTH_BOX
    bx = torch.maximum(lo[0] - x, x - hi[0])
    by = torch.maximum(lo[1] - y, y - hi[1])
    return torch.maximum(torch.maximum(bx, by), torch.maximum(lo[2] - z, z - hi[2]))


def _face_z(y: float, x: float = 0.0) -> float:
    """z of the face ellipsoid's front surface at (x, y), unit head space."""
    u = 1.0 - ((x - FACE_C[0]) / FACE_R[0]) ** 2 - ((y - FACE_C[1]) / FACE_R[1]) ** 2
    return FACE_C[2] + FACE_R[2] * max(u, 0.0) ** 0.5


class HeadModel:
    """Geometry of one identity. ``head(...)`` and ``body(...)`` return distances [M]."""

    def __init__(self, identity: Identity):
        self.identity = identity
        self.scale = tuple(identity.head_scale)
        self.min_scale = min(self.scale)
        self.jw, self.ns = identity.jaw_width, identity.nose_size
        self.es, self.ew, self.eh = identity.eye_spacing, identity.eye_width, identity.eye_height
        self.mw = identity.mouth_width
        self.z_mouth = _face_z(Y_MOUTH)
        self.z_eye = _face_z(Y_EYE, self.es)
        self.hair_r = tuple(r + identity.hair_thickness for r in SKULL_R)
        self._grid = None

    def mouth(self, lipw):
        """Half width and z of the lips for lip width controls [M] (unit head space)."""
        return self.mw * (0.75 + 0.45 * lipw), self.z_mouth - 0.012 + 0.03 * (1.0 - lipw)

    def _skin(self, x, y, z):
        """Skin (skull, face, jaw, chin, nose, ears, eyeballs) and hair distances at rest
        points of the unit head space."""
        ax = x.abs()
        s = smin(ellipsoid(x, y, z, SKULL_C, SKULL_R), ellipsoid(x, y, z, FACE_C, FACE_R), 0.12)
        s = smin(s, ellipsoid(x, y, z, (0.0, -0.42, 0.02), (0.36 * self.jw, 0.26, 0.3)), 0.1)
        s = smin(s, ellipsoid(x, y, z, (0.0, -0.56, 0.13), (0.2 * self.jw, 0.14, 0.22)), 0.06)
        ns = self.ns
        s = smin(s, ellipsoid(x, y, z, (0.0, -0.07, 0.37), (0.055 * ns, 0.14, 0.08 * ns)), 0.05)
        s = smin(s, ellipsoid(x, y, z, (0.0, -0.18, 0.35), (0.09 * ns, 0.045, 0.06 * ns)), 0.03)
        s = smin(s, ellipsoid(ax, y, z, (0.54, -0.02, -0.06), (0.05, 0.12, 0.08)), 0.02)
        s = smin(s, ellipsoid(ax, y, z, (self.es, Y_EYE, self.z_eye - 0.05), (0.07,) * 3), 0.02)
        idn = self.identity
        fringe = idn.fringe * 0.12 * smoothstep(0.3, 0.1, ax) * smoothstep(0.1, 0.3, z)
        hl = idn.hairline_back + (idn.hairline_front - idn.hairline_back) * smoothstep(-0.2, 0.3, z)
        hair = torch.maximum(ellipsoid(x, y, z, SKULL_C, self.hair_r), (hl - fringe - y) * 0.7)
        return s, hair

    def _mouth(self, x, y, z, d, lipw, skin):
        """Lips, mouth cavity and teeth (unit space, observed points; d: jaw drop)."""
        jy, jz = y + d, z + 0.25 * d  # rest position of points attached to the jaw
        mw, zl = self.mouth(lipw)
        lips = torch.minimum(
            ellipsoid(x, y, z, (0.0, Y_MOUTH + 0.028, zl), (mw, 0.03, 0.05)),
            ellipsoid(x, jy, jz, (0.0, Y_MOUTH - 0.032, zl - 0.005), (0.95 * mw, 0.036, 0.05)),
        )
        s = smin(skin, lips, LIP_BLEND)
        cav = ellipsoid(x, y, z, (0.0, Y_MOUTH - d / 2, zl - 0.1), (0.85 * mw, d / 2 + 0.006, 0.17))
        carved = torch.maximum(s, -cav)
        teeth = torch.minimum(
            ellipsoid(x, y, z, (0.0, Y_MOUTH + 0.004, zl - 0.065), (0.62 * mw, 0.022, 0.05)),
            ellipsoid(x, jy, jz, (0.0, Y_MOUTH - 0.006, zl - 0.075), (0.56 * mw, 0.02, 0.05)),
        )
        return dict(lips=lips, cav=cav, carved=carved, teeth=teeth, skin=s)

    def _deform(self, x, y, z, jaw):
        """Unit-space coordinates, jaw drop, and rest coordinates of observed points."""
        sx, sy, sz = self.scale
        x, y, z = x / sx, y / sy, z / sz
        d = jaw * JAW_DROP
        w = smoothstep(Y_MOUTH + 0.01, Y_MOUTH - 0.1, y) * smoothstep(-0.35, 0.05, z)
        return x, y, z, d, y + w * d, z + w * 0.25 * d

    def _clip(self, s, x, y, z):
        sx, sy, sz = self.scale
        b = torch.maximum((x * sx).abs() - BOX[0], (y * sy).abs() - BOX[1])
        return torch.maximum(s * self.min_scale, torch.maximum(b, (z * sz).abs() - BOX[2]))

    def head(self, x, y, z, jaw, lipw, parts: bool = False):
        """Head distance at head-frame points; with parts=True a dict of the components."""
        x, y, z, d, qy, qz = self._deform(x, y, z, jaw)
        skin, hair = self._skin(x, qy, qz)
        if not parts:
            return self._clip(
                self._with_mouth(x, y, z, d, lipw, torch.minimum(skin, hair)), x, y, z
            )
        m = self._mouth(x, y, z, d, lipw, skin)
        total = self._clip(torch.minimum(torch.minimum(m["carved"], m["teeth"]), hair), x, y, z)
        return dict(m, s=total, hair=hair, x=x, y=y, z=z, qy=qy, qz=qz)

    def _with_mouth(self, x, y, z, d, lipw, s):
        """Add the mouth (lips, cavity, teeth: all inside MOUTH_BOX) to rest distances s [M].
        Exact: points farther from the box than s + the lips' blend radius keep s."""
        dbox = _mouth_box_distance(x, y, z)
        out = s.clone()
        idx = torch.nonzero(dbox < s.clamp(min=0.0) + LIP_BLEND).view(-1)
        if idx.numel():
            m = self._mouth(x[idx], y[idx], z[idx], d[idx], lipw[idx], s[idx])
            out[idx] = torch.minimum(m["carved"], m["teeth"])
        return out

    def _build_grid(self, dtype, device):
        """Rest skin-and-hair distances on a grid over GRID_HALF (unit space)."""
        n = [int(round(2 * h / GRID_STEP)) + 1 for h in GRID_HALF]
        axes = [torch.linspace(-h, h, k, dtype=dtype, device=device) for h, k in zip(GRID_HALF, n)]
        z, y, x = torch.meshgrid(axes[2], axes[1], axes[0], indexing="ij")
        vals = []
        for a, b, c in zip(x.reshape(-1).split(65536), y.reshape(-1).split(65536),
                           z.reshape(-1).split(65536)):  # fmt: skip
            s, hair = self._skin(a, b, c)
            vals.append(torch.minimum(s, hair))
        return torch.cat(vals).view(1, 1, n[2], n[1], n[0])

    def head_fast(self, x, y, z, jaw, lipw):
        """Lower estimate of the head distance: the rest skin and hair from a precomputed grid
        (trilinear, so only approximate), the mouth box distance as a bound for the mouth."""
        if self._grid is None or self._grid.dtype != x.dtype or self._grid.device != x.device:
            self._grid = self._build_grid(x.dtype, x.device)
        x, y, z, d, qy, qz = self._deform(x, y, z, jaw)
        g = torch.stack([x / GRID_HALF[0], qy / GRID_HALF[1], qz / GRID_HALF[2]], -1)
        s = F.grid_sample(self._grid, g.view(1, 1, 1, -1, 3), align_corners=True,
                          padding_mode="border").view(-1)  # fmt: skip
        dbox = _mouth_box_distance(x, y, z)
        near = dbox < s.clamp(min=0.0) + LIP_BLEND
        s = torch.where(near, torch.minimum(s, dbox) - LIP_BLEND / 4, s)
        return self._clip(s, x, y, z)

    def head_trace(self, x, y, z, jaw, lipw):
        """Distance for sphere tracing: the grid estimate shrunk to a safe bound away from
        the surface, the exact ``head`` within TRACE_BAND of it."""
        s = self.head_fast(x, y, z, jaw, lipw)
        near = torch.nonzero(s < TRACE_BAND).view(-1)
        s = torch.where(s > 0, s * 0.7, s)
        if near.numel():
            s[near] = self.head(x[near], y[near], z[near], jaw[near], lipw[near])
        return s

    def body(self, x, y, z, jaw, breath, parts: bool = False):
        """Neck/torso distance at body-frame points; jaw [M] tugs the neck's front top a
        little, breath [M] in -1..1 swells the torso."""
        d = jaw * JAW_DROP
        yn = y + 0.3 * d * smoothstep(-1.0, -0.6, y) * smoothstep(-0.1, 0.1, z)
        py = torch.clamp(yn, -1.4, -0.6)  # the top stays inside the head, behind the mouth
        neck = torch.sqrt(x * x + (yn - py) ** 2 + (z + 0.12) ** 2) - 0.23
        br = 1.0 + 0.015 * breath
        torso = ellipsoid(x, y - 0.01 * breath, z, (0.0, -1.56, -0.12), (1.2 * br, 0.55, 0.4 * br))
        s = smin(neck, torso, 0.12)
        if not parts:
            return s
        return dict(s=s, neck=neck, torso=torso)
