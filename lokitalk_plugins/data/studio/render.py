"""Batched sphere tracing of studio frames (torch, float32, CPU or GPU).

The camera is fixed (OpenGL axes: looks along -z, y up; pixel centres at +0.5); the head and
the body move, each through its own rigid pose, so rays are moved into the head frame and the
body frame, traced against each part within its bounding box, and composited by depth.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .sdf import BOX
from .shade import body_albedo, head_albedo, head_labels, lambert

__all__ = ["Camera", "camera_for", "camera_rays", "sphere_trace", "render_batch", "FOCAL_FACTOR"]

FOCAL_FACTOR = 1.7  # focal length in pixels = FOCAL_FACTOR * image size
BODY_BOX = ((-1.35, -2.4, -0.62), (1.35, -0.05, 0.42))
LIGHT = (-0.35, 0.5, 0.8)  # key light direction in the camera frame (towards the light)


@dataclass(frozen=True)
class Camera:
    """Pinhole camera: image size (square), focal length and principal point in pixels."""

    size: int
    focal: float
    cx: float
    cy: float


def camera_for(size: int) -> Camera:
    """The studio camera for a square image of ``size`` pixels."""
    return Camera(int(size), FOCAL_FACTOR * size, size / 2.0, size / 2.0)


def camera_rays(cam: Camera, dtype=torch.float32, device=None) -> torch.Tensor:
    """Unit ray directions [H*W, 3] in the camera frame (OpenGL), row-major pixels."""
    j, i = torch.meshgrid(
        torch.arange(cam.size, dtype=dtype, device=device),
        torch.arange(cam.size, dtype=dtype, device=device),
        indexing="ij",
    )
    d = torch.stack(
        [(i + 0.5 - cam.cx) / cam.focal, -(j + 0.5 - cam.cy) / cam.focal, -torch.ones_like(i)], -1
    ).view(-1, 3)
    return d / d.norm(dim=-1, keepdim=True)


def _box_span(o, d, lo, hi):
    """Entry/exit distances [R] of rays o + t d through an axis-aligned box."""
    lo = torch.tensor(lo, dtype=o.dtype, device=o.device)
    hi = torch.tensor(hi, dtype=o.dtype, device=o.device)
    inv = 1.0 / torch.where(d.abs() < 1e-9, torch.full_like(d, 1e-9), d)
    a, b = (lo - o) * inv, (hi - o) * inv
    t0 = torch.minimum(a, b).amax(-1).clamp(min=0.0)
    t1 = torch.maximum(a, b).amin(-1)
    return t0, t1


def sphere_trace(fn, o, d, t0, t1, ctrl, steps: int = 64, eps: float = 1e-3, eps_rel=0.0,
                 relax: float = 0.9):  # fmt: skip
    """Sphere tracing of ``fn(x, y, z, *ctrl) -> distance [M]`` along rays o, d [R, 3] from t0
    to t1 [R]; ctrl: tuple of per-ray [R] controls. A ray hits when the distance is below
    eps + eps_rel * t (eps_rel ~ a fraction of the pixel footprint per unit distance).
    Returns t [R] and hit [R] bool."""
    t = t0.clone()
    hit = torch.zeros_like(t0, dtype=torch.bool)
    idx = torch.nonzero(t0 < t1).view(-1)
    # packed active rays: o (3), d (3), t, t1, then the controls
    pack = torch.cat([o[idx], d[idx], t[idx, None], t1[idx, None]]
                     + [c[idx, None].to(o.dtype) for c in ctrl], 1)  # fmt: skip
    live = torch.ones(idx.numel(), dtype=torch.bool, device=o.device)
    for _ in range(steps):
        if idx.numel() == 0:
            break
        ta = pack[:, 6]
        p = pack[:, 0:3] + ta[:, None] * pack[:, 3:6]
        s = fn(p[:, 0], p[:, 1], p[:, 2], *pack[:, 8:].unbind(1))
        done = live & (s < eps + eps_rel * ta)
        hit[idx[done]] = True
        live = live & ~done
        ta = ta + relax * s * live
        pack[:, 6] = ta
        live = live & (ta < pack[:, 7])
        n_live = int(live.sum())
        if n_live < 0.75 * idx.numel():
            t[idx] = ta
            idx, pack, live = idx[live], pack[live], live[live]
    if idx.numel():
        t[idx] = pack[:, 6]
    return t, hit


def _normals(fn, x, y, z, ctrl, h: float = 2e-3):
    """Unit SDF gradients [M, 3] by the four-tap tetrahedron rule."""
    n = torch.zeros(x.shape[0], 3, dtype=x.dtype, device=x.device)
    for k in ((1, -1, -1), (-1, -1, 1), (-1, 1, -1), (1, 1, 1)):
        v = fn(x + k[0] * h, y + k[1] * h, z + k[2] * h, *ctrl)
        n = n + v[:, None] * torch.tensor(k, dtype=x.dtype, device=x.device)
    return n / (n.norm(dim=-1, keepdim=True) + 1e-12)


def _to_frame(R, t, dirs, fidx):
    """Camera rays (origin 0) into an object frame with pose p_cam = R p + t: o, d [R, 3]."""
    Rt = R.transpose(1, 2)
    o = -(Rt @ t[:, :, None])[:, :, 0]
    return o[fidx], torch.einsum("rij,rj->ri", Rt[fidx], dirs)


def _light_in(frame_R, fidx, light, light_dir):
    """The key light in an object frame (R^T l) for rays of frames ``fidx`` [M]: [M, 3]."""
    if light_dir is None:
        return light @ frame_R[fidx]
    return torch.einsum("mi,mij->mj", light_dir[fidx], frame_R[fidx])


def render_batch(model, noise, cam, head_R, head_t, body_R, body_t, jaw, lipw, closure, breath,
                 light_dir=None, light_intensity=None):  # fmt: skip
    """Render B frames. Poses [B, 3, 3] / [B, 3] (camera frame, OpenGL), controls [B];
    light_dir [B, 3] unit and light_intensity [B]: a per-frame key light (None: the fixed
    ``LIGHT`` at intensity 1, exactly as without the option).

    Returns dict: rgb [B, H, W, 3] float (no background: zeros there), labels [B, H, W]
    uint8, body_rgb [B, H, W, 3] and body_mask [B, H, W] bool (neck/torso without the head).
    """
    B, H = head_R.shape[0], cam.size
    dt, dev = head_R.dtype, head_R.device
    dirs0 = camera_rays(cam, dt, dev)
    P = dirs0.shape[0]
    fidx = torch.arange(B, device=dev).repeat_interleave(P)
    dirs = dirs0.repeat(B, 1)
    light = torch.tensor(LIGHT, dtype=dt, device=dev)
    light = light / light.norm()
    eps_rel = 0.25 / cam.focal  # a quarter of a pixel's footprint
    rgb = torch.zeros(B * P, 3, dtype=dt, device=dev)
    lab = torch.zeros(B * P, dtype=torch.uint8, device=dev)
    out_t = torch.full((B * P,), float("inf"), dtype=dt, device=dev)
    body_rgb, body_mask = torch.zeros_like(rgb), torch.zeros(B * P, dtype=torch.bool, device=dev)
    # body first, then the head in front of it
    o, d = _to_frame(body_R, body_t, dirs, fidx)
    t0, t1 = _box_span(o, d, *BODY_BOX)
    ctrl = (jaw[fidx], breath[fidx])
    t, hit = sphere_trace(model.body, o, d, t0, t1, ctrl, eps=1e-4, eps_rel=eps_rel)
    if hit.any():
        hi = torch.nonzero(hit).view(-1)
        p = o[hi] + t[hi, None] * d[hi]
        c = tuple(v[hi] for v in ctrl)
        parts = model.body(p[:, 0], p[:, 1], p[:, 2], *c, parts=True)
        alb, blab = body_albedo(model, noise, parts, p[:, 0], p[:, 1], p[:, 2])
        nrm = _normals(model.body, p[:, 0], p[:, 1], p[:, 2], c)
        lgt = _light_in(body_R, fidx[hi], light, light_dir)  # in the body frame: R^T l
        k = None if light_intensity is None else light_intensity[fidx[hi]]
        body_rgb[hi] = lambert(alb, nrm, lgt, k)
        body_mask[hi] = True
        rgb[hi], lab[hi], out_t[hi] = body_rgb[hi], blab, t[hi]
    o, d = _to_frame(head_R, head_t, dirs, fidx)
    t0, t1 = _box_span(o, d, tuple(-b for b in BOX), BOX)
    ctrl = (jaw[fidx], lipw[fidx])
    t, hit = sphere_trace(model.head_trace, o, d, t0, t1, ctrl, eps=1e-4, eps_rel=eps_rel)
    hit = hit & (t < out_t)
    if hit.any():
        hi = torch.nonzero(hit).view(-1)
        p = o[hi] + t[hi, None] * d[hi]
        c = tuple(v[hi] for v in ctrl)
        parts = model.head(p[:, 0], p[:, 1], p[:, 2], *c, parts=True)
        cl = closure[fidx[hi]]
        hlab = head_labels(model, parts, cl)
        alb = head_albedo(model, noise, parts, hlab, cl, c[1])
        nrm = _normals(model.head, p[:, 0], p[:, 1], p[:, 2], c)
        lgt = _light_in(head_R, fidx[hi], light, light_dir)
        k = None if light_intensity is None else light_intensity[fidx[hi]]
        rgb[hi], lab[hi] = lambert(alb, nrm, lgt, k), hlab
    shape = (B, H, H)
    return dict(
        rgb=rgb.view(*shape, 3),
        labels=lab.view(shape),
        body_rgb=body_rgb.view(*shape, 3),
        body_mask=body_mask.view(shape),
    )
