"""The studio's optional moving key light: a known, smooth per-frame direction and intensity.

Off by default (``write_identity(lighting=False)``): the key light is then the fixed
``render.LIGHT`` at intensity 1 and a folder is byte-identical to one written before this
option existed. On, the light swings around its default direction and dims and brightens
slowly, from (identity, seed) only (never the utterance), so illumination is a cause of its
own that no other track predicts; the track is kept in the truth files (``light_dir``,
``light_intensity``).

Shading with a light l of intensity k at a surface of albedo a and normal n:
a (0.5 + 0.65 k max(n·l, 0)) (the fixed light is k = 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .identity import Identity, rng_for
from .motion import _smooth_track
from .render import LIGHT

__all__ = [
    "INTENSITY_RANGE",
    "LIGHT_FRAMES",
    "Lighting",
    "MAX_SWING",
    "check_light_frame",
    "head_light",
    "make_lighting",
]

# where the fixed key light is attached: the camera (the default: as the head turns, its
# shading changes with the pose) or the head (its shading is the same in every frame)
LIGHT_FRAMES = ("camera", "head")
MAX_SWING = np.radians([55.0, 30.0])  # azimuth (about the camera's y), elevation limits
INTENSITY_RANGE = (0.5, 1.3)  # the key light's intensity (above ~1.3, skin saturates)


@dataclass
class Lighting:
    """Per-frame key light. direction [N, 3] unit vectors towards the light in the camera
    frame (OpenGL axes: x right, y up, z towards the viewer); intensity [N] (1 = the fixed
    light's)."""

    direction: np.ndarray
    intensity: np.ndarray


def _rotation(azimuth: np.ndarray, elevation: np.ndarray) -> np.ndarray:
    """[N, 3, 3]: a rotation by elevation about x, then by azimuth about y."""
    ca, sa, ce, se = np.cos(azimuth), np.sin(azimuth), np.cos(elevation), np.sin(elevation)
    o, z = np.ones_like(ca), np.zeros_like(ca)
    ry = np.stack([ca, z, sa, z, o, z, -sa, z, ca], -1).reshape(-1, 3, 3)
    rx = np.stack([o, z, z, z, ce, -se, z, se, ce], -1).reshape(-1, 3, 3)
    return ry @ rx


def make_lighting(identity: Identity, seed: int, n: int, fps: float = 25.0) -> Lighting:
    """The key light of ``n`` frames for (identity, seed): the default direction turned by a
    smooth azimuth/elevation track within ``MAX_SWING``, and a smooth intensity track within
    ``INTENSITY_RANGE`` (sums of random low-frequency sinusoids, 0.04-0.45 Hz)."""
    g = rng_for("lighting", identity.seed, seed)
    t = np.arange(n) / fps
    swing = _smooth_track(g, t, MAX_SWING)  # [n, 2]
    lo, hi = INTENSITY_RANGE
    level = _smooth_track(g, t, np.array([1.0]))[:, 0]  # in [-1, 1]
    base = np.asarray(LIGHT, dtype=np.float64)
    base = base / np.linalg.norm(base)
    direction = _rotation(swing[:, 0], swing[:, 1]) @ base
    direction = direction / np.linalg.norm(direction, axis=-1, keepdims=True)
    intensity = (lo + hi) / 2 + (hi - lo) / 2 * level
    return Lighting(direction=direction.astype(np.float32), intensity=intensity.astype(np.float32))


def check_light_frame(frame) -> str:
    """The frame the fixed key light is attached to, one of :data:`LIGHT_FRAMES` -> str; a
    ValueError naming the choices otherwise."""
    if frame not in LIGHT_FRAMES:
        raise ValueError(
            f"light_frame: expected one of {', '.join(LIGHT_FRAMES)} (head: the light turns "
            f"with the head, so its shading does not change with the pose), got {frame!r}"
        )
    return str(frame)


def head_light(head_R: np.ndarray) -> Lighting:
    """The fixed key light attached to the head: per frame, ``render.LIGHT`` turned by the
    head's rotation head_R [N, 3, 3] (camera frame), intensity 1, so in the head's own frame
    the light is ``LIGHT`` in every frame (the head's shading does not change with its
    pose)."""
    base = np.asarray(LIGHT, dtype=np.float64)
    base = base / np.linalg.norm(base)
    direction = np.einsum("nij,j->ni", np.asarray(head_R, dtype=np.float64), base)
    n = direction.shape[0]
    return Lighting(direction=direction.astype(np.float32), intensity=np.ones(n, np.float32))
