"""Identities of the studio: every visible and audible trait of a person, drawn from a seed.

Model units: head frame with x to the person's left-to-right as seen by the camera (right),
y up, z towards the camera; 1 unit = 1/4 of the originals' world unit (the loaders' scale 4).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["Identity", "make_identity", "rng_for"]

SKIN_LIGHT = np.array([0.94, 0.80, 0.70])
SKIN_DARK = np.array([0.42, 0.28, 0.20])
HAIR_COLOURS = np.array(
    [
        [0.06, 0.05, 0.05],  # black
        [0.20, 0.12, 0.07],  # dark brown
        [0.42, 0.27, 0.14],  # brown
        [0.78, 0.64, 0.38],  # blond
        [0.55, 0.22, 0.10],  # red
        [0.62, 0.62, 0.60],  # grey
    ]
)
IRIS_COLOURS = np.array(
    [[0.30, 0.18, 0.08], [0.25, 0.40, 0.60], [0.30, 0.45, 0.28], [0.1, 0.07, 0.05]]
)


def rng_for(*keys: int | str) -> np.random.Generator:
    """A generator seeded from a tuple of ints/strings (strings hashed stably by their bytes)."""
    ints = []
    for k in keys:
        if isinstance(k, str):
            ints.append(int.from_bytes(k.encode()[:8].ljust(8, b"\0"), "little"))
        else:
            ints.append(int(k) & 0xFFFFFFFF)
    return np.random.default_rng(np.random.SeedSequence(ints))


@dataclass(frozen=True)
class Identity:
    """All traits of one synthetic person (plain floats and RGB tuples in [0, 1])."""

    seed: int
    head_scale: tuple  # (sx, sy, sz) of skull and face
    jaw_width: float
    nose_size: float
    skin_rgb: tuple
    lip_rgb: tuple
    hair_rgb: tuple
    iris_rgb: tuple
    hair_thickness: float
    hairline_front: float  # y of the front hairline
    hairline_back: float  # y of the hair's lower edge at the back
    fringe: float  # 0 .. 1: how far the hair comes down the forehead
    eye_spacing: float  # half distance between eye centres
    eye_width: float  # half width of the eye opening
    eye_height: float  # half height of the eye opening
    mouth_width: float  # half width of the mouth at neutral
    freckles: float  # 0 .. 1
    pore_strength: float
    texture_seed: int
    f0: float  # voice pitch, Hz
    formant_scale: float  # vocal tract: formant frequencies times this
    rate: float  # speaking rate, syllables per second
    shirt_rgb: tuple
    shirt_stripes: float  # stripe frequency (0: plain)
    background_rgb: tuple  # two colours of the static background
    background_rgb2: tuple
    breath_period: float  # seconds

    def to_dict(self) -> dict:
        """JSON-friendly copy of the traits."""
        d = asdict(self)
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}


def _t(x) -> tuple:
    return tuple(float(round(v, 6)) for v in np.clip(x, 0.0, 1.0))


def make_identity(seed: int) -> Identity:
    """The identity of a seed: same seed, same person."""
    g = rng_for("identity", seed)
    u = g.uniform
    tone = u(0.0, 1.0)
    skin = SKIN_LIGHT * (1 - tone) + SKIN_DARK * tone + g.normal(0, 0.025, 3)
    lip = skin * np.array([0.78, 0.48, 0.50]) + np.array([0.10, 0.02, 0.03]) + g.normal(0, 0.03, 3)
    hair = HAIR_COLOURS[g.integers(len(HAIR_COLOURS))] * u(0.85, 1.15)
    iris = IRIS_COLOURS[g.integers(len(IRIS_COLOURS))]
    f0 = float(np.exp(u(np.log(95.0), np.log(230.0))))
    shirt = g.uniform(0.1, 0.85, 3)
    bg = g.uniform(0.35, 0.8, 3)
    bg2 = np.clip(bg + g.normal(0, 0.12, 3), 0, 1)
    return Identity(
        seed=int(seed),
        head_scale=(float(u(0.9, 1.04)), float(u(0.94, 1.04)), float(u(0.93, 1.0))),
        jaw_width=float(u(0.85, 1.12)),
        nose_size=float(u(0.8, 1.2)),
        skin_rgb=_t(skin),
        lip_rgb=_t(lip),
        hair_rgb=_t(hair),
        iris_rgb=_t(iris),
        hair_thickness=float(u(0.02, 0.06)),
        hairline_front=float(u(0.36, 0.5)),
        hairline_back=float(u(-0.35, -0.05)),
        fringe=float(u(0.0, 1.0)),
        eye_spacing=float(u(0.15, 0.195)),
        eye_width=float(u(0.066, 0.08)),
        eye_height=float(u(0.036, 0.046)),
        mouth_width=float(u(0.115, 0.155)),
        freckles=float(u(0.0, 1.0) ** 2),
        pore_strength=float(u(0.04, 0.1)),
        texture_seed=int(g.integers(0, 2**31 - 1)),
        f0=f0,
        formant_scale=float(np.clip((f0 / 140.0) ** 0.25 * u(0.95, 1.05), 0.88, 1.18)),
        rate=float(u(3.6, 5.8)),
        shirt_rgb=_t(shirt),
        shirt_stripes=float(u(0.0, 1.0) > 0.5) * float(u(6.0, 14.0)),
        background_rgb=_t(bg),
        background_rgb2=_t(bg2),
        breath_period=float(u(3.2, 5.0)),
    )
