"""Materials of the studio: region labels at surface hits, procedural textures, background.

Textures are 3D value noise sampled at the rest (undeformed) position of a hit, so skin detail
sticks to the skin when the jaw moves. Colours are linear RGB in [0, 1].
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from . import labels as L
from .identity import Identity
from .sdf import Y_EYE, HeadModel, smoothstep

__all__ = ["Noise3D", "head_labels", "head_albedo", "body_albedo", "background_image", "lambert"]


class Noise3D:
    """Smooth random field on [-1, 1]^3 (mirrored outside), sampled with trilinear weights."""

    def __init__(self, seed: int, res: int = 40):
        g = torch.Generator().manual_seed(int(seed))
        self.vol = torch.rand(1, 1, res, res, res, generator=g)

    def __call__(self, x, y, z, freq: float | tuple = 1.0):
        """Noise in [0, 1] at points [M] scaled by freq (cells per unit ~ 10 * freq)."""
        fx, fy, fz = freq if isinstance(freq, tuple) else (freq,) * 3
        grid = torch.stack([x * (0.5 * fx), y * (0.5 * fy), z * (0.5 * fz)], -1)
        grid = grid.to(self.vol.dtype).view(1, 1, 1, -1, 3)
        out = F.grid_sample(self.vol, grid, align_corners=True, padding_mode="reflection")
        return out.view(-1).to(x.dtype)


def _eye_coords(model: HeadModel, x, y):
    """Eye-local coordinates (u across, v up; both about -1..1) and lid shape."""
    u = (x.abs() - model.es) / model.ew
    v = (y - Y_EYE) / model.eh
    shape = torch.clamp(1.0 - u * u, min=0.0) ** 0.6
    return u, v, shape


def head_labels(model: HeadModel, parts: dict, closure) -> torch.Tensor:
    """Region label [M] (uint8) of head hits from ``model.head(..., parts=True)``."""
    eps = 1e-3
    lab = torch.full_like(parts["s"], L.FACE, dtype=torch.uint8)
    u, v, shape = _eye_coords(model, parts["x"], parts["y"])
    eye = (u.abs() < 1) & (v > -shape) & (v < shape * (1 - 2 * closure)) & (parts["z"] > 0.2)
    lab[eye] = L.EYES
    lab[parts["lips"] < 0.008] = L.LIPS
    mouth = -parts["cav"] >= parts["skin"] - eps
    lab[mouth] = L.MOUTH
    lab[parts["teeth"] <= parts["carved"] + eps] = L.TEETH
    lab[parts["hair"] <= torch.minimum(parts["carved"], parts["teeth"]) + eps] = L.HAIR
    return lab


def head_albedo(model: HeadModel, noise: Noise3D, parts: dict, lab, closure, lipw):
    """Albedo [M, 3] of head hits (skin texture with pores and freckles, brows, eyes, lips,
    dark mouth interior, teeth, hair strands)."""
    idn = model.identity
    x, y, z, qy, qz = parts["x"], parts["y"], parts["z"], parts["qy"], parts["qz"]
    dev, dt = x.device, x.dtype
    col = lambda c: torch.tensor(c, device=dev, dtype=dt)  # noqa: E731
    blotch = noise(x, qy, qz, 0.35) - 0.5
    pores = noise(x + 0.31, qy - 0.17, qz, 7.0) - 0.5
    fine = noise(x - 0.2, qy + 0.4, qz + 0.1, 2.5)
    freck = (fine > 0.78 - 0.1 * idn.freckles).to(dt) * idn.freckles * 0.3
    cheek = torch.exp(-(((x.abs() - 0.22) / 0.1) ** 2 + ((qy + 0.1) / 0.09) ** 2))
    skin = col(idn.skin_rgb) * (1 + 0.25 * blotch + 2 * idn.pore_strength * pores)[:, None]
    skin = skin * (1 - freck)[:, None] + cheek[:, None] * col([0.08, -0.03, -0.03])
    # brows and eyelid lash line
    u, v, shape = _eye_coords(model, x, y)
    ub = (x.abs() - model.es) / (1.3 * model.ew)
    yb = Y_EYE + model.eh + 0.05 + 0.025 * (1 - ub * ub)
    brow = ((ub.abs() < 1) & ((y - yb).abs() < 0.017) & (z > 0.2)).to(dt)[:, None]
    lid = (u.abs() < 1) & ((v - shape * (1 - 2 * closure)).abs() < 0.18) & (z > 0.2)
    skin = skin * (1 - 0.8 * brow) + 0.8 * brow * col(idn.hair_rgb)
    skin = torch.where(lid[:, None], skin * 0.35, skin)
    out = skin
    # eyes: sclera, iris, pupil
    r = torch.sqrt((x.abs() - model.es) ** 2 + (y - Y_EYE) ** 2)
    eye = torch.where((r < 0.8 * model.eh)[:, None], col(idn.iris_rgb), col([0.93, 0.92, 0.88]))
    eye = torch.where((r < 0.32 * model.eh)[:, None], col([0.02, 0.02, 0.02]), eye)
    out = torch.where((lab == L.EYES)[:, None], eye, out)
    # lips with fine vertical lines, mouth interior darker with depth, teeth
    _, zl = model.mouth(lipw)
    lines = noise(x, y, z, (9.0, 1.0, 1.0)) - 0.5
    lips = col(idn.lip_rgb) * (1 + 0.25 * lines + 0.1 * blotch)[:, None]
    out = torch.where((lab == L.LIPS)[:, None], lips, out)
    depth = torch.clamp((z - (zl - 0.27)) / 0.25, 0.0, 1.0)
    inner = col([0.32, 0.08, 0.08]) * (0.25 + 0.75 * depth)[:, None]
    out = torch.where((lab == L.MOUTH)[:, None], inner, out)
    teeth = col([0.9, 0.88, 0.8]) * (0.6 + 0.4 * depth)[:, None]
    out = torch.where((lab == L.TEETH)[:, None], teeth, out)
    strand = noise(x, y, z, (14.0, 1.2, 14.0)) - 0.5
    hair = col(idn.hair_rgb) * (1 + 0.7 * strand + 0.2 * blotch)[:, None]
    out = torch.where((lab == L.HAIR)[:, None], hair, out)
    return out.clamp(0.0, 1.0)


def body_albedo(model: HeadModel, noise: Noise3D, parts: dict, x, y, z):
    """Albedo [M, 3] and labels [M] of body hits: skin-coloured neck, shirt torso."""
    idn = model.identity
    dev, dt = x.device, x.dtype
    neck = (parts["neck"] < parts["torso"]) & (y > -1.15 + 0.1 * smoothstep(0.3, 0.0, x.abs()))
    lab = torch.where(neck, L.NECK, L.TORSO).to(torch.uint8)
    skin = torch.tensor(idn.skin_rgb, device=dev, dtype=dt) * 0.93
    skin = skin * (1 + 0.2 * (noise(x, y, z, 0.35) - 0.5))[:, None]
    stripes = 1.0 - 0.3 * (torch.sin(y * idn.shirt_stripes * 6.283) > 0).to(dt)
    fabric = 1 + 0.3 * (noise(x * 1.7, y * 1.7, z, 6.0) - 0.5)
    shirt = torch.tensor(idn.shirt_rgb, device=dev, dtype=dt) * (stripes * fabric)[:, None]
    return torch.where(neck[:, None], skin, shirt).clamp(0, 1), lab


def background_image(identity: Identity, size: int) -> np.ndarray:
    """Static studio background [size, size, 3] float32 in [0, 1]: a wall with a soft light
    patch and a faint low-frequency texture."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) / max(size - 1, 1)
    g = np.random.default_rng(identity.seed + 7919)
    c1, c2 = np.array(identity.background_rgb), np.array(identity.background_rgb2)
    img = c1 * (1 - yy[..., None]) + c2 * yy[..., None]
    cx, cy = g.uniform(0.1, 0.9, 2)
    img = img + 0.12 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / 0.08)[..., None]
    waves = sum(
        np.sin(2 * np.pi * (g.uniform(1, 4) * xx + g.uniform(1, 4) * yy) + g.uniform(0, 6.3))
        for _ in range(3)
    )
    img = img * (1 + 0.03 * waves[..., None])
    return np.clip(img, 0, 1).astype(np.float32)


def lambert(albedo, normal, light, intensity=None):
    """Lambert + ambient shading: albedo [M, 3], unit normal [M, 3], unit light [M, 3];
    intensity [M] of the key light (None: 1, the fixed studio light)."""
    ndl = torch.clamp((normal * light).sum(-1), min=0.0)
    if intensity is not None:
        ndl = ndl * intensity
    return albedo * (0.5 + 0.65 * ndl)[:, None]
