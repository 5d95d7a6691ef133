"""Motion that speech does not cause: head pose, torso lag and breathing, blinks.

All tracks are per video frame and depend on (identity, seed) only, never on the utterance,
so audio cannot predict them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lokitalk_plugins.errors import OptionError

from .identity import Identity, rng_for

__all__ = [
    "Motion",
    "make_motion",
    "check_torso_follow",
    "euler_to_matrix",
    "BLINK_GAP",
    "BREATH_RISE",
    "CAMERA_DISTANCE",
    "HEAD_HEIGHT",
]

CAMERA_DISTANCE = 3.75  # model units from the camera to the head origin
HEAD_HEIGHT = 0.15  # head origin above the optical axis, model units
MAX_ANGLES = np.radians([9.0, 15.0, 6.0])  # pitch (x), yaw (y), roll (z) limits
MAX_SHIFT = np.array([0.06, 0.04, 0.12])  # translation limits, model units
BREATH_RISE = 0.012  # the torso rises and falls this much with the breath, model units
BLINK_GAP = (2.0, 6.0)  # seconds between blinks, drawn uniformly (a person blinks every few s)


@dataclass
class Motion:
    """Per-frame tracks. euler [N, 3] rad (pitch, yaw, roll), trans [N, 3] head origin in the
    camera frame (OpenGL axes, model units); torso_euler, torso_trans the same for the
    neck/torso; breath [N] in -1..1; eye_closure [N] 0 open .. 1 closed; blinks [(start, dur)]."""

    euler: np.ndarray
    trans: np.ndarray
    torso_euler: np.ndarray
    torso_trans: np.ndarray
    breath: np.ndarray
    eye_closure: np.ndarray
    blinks: list


def euler_to_matrix(euler: np.ndarray) -> np.ndarray:
    """euler [..., 3] (rx, ry, rz) rad -> rotation [..., 3, 3] = Rz @ Ry @ Rx."""
    e = np.asarray(euler, dtype=np.float64)
    cx, cy, cz = np.cos(e[..., 0]), np.cos(e[..., 1]), np.cos(e[..., 2])
    sx, sy, sz = np.sin(e[..., 0]), np.sin(e[..., 1]), np.sin(e[..., 2])
    o, z = np.ones_like(cx), np.zeros_like(cx)
    rx = np.stack([o, z, z, z, cx, -sx, z, sx, cx], -1).reshape(e.shape[:-1] + (3, 3))
    ry = np.stack([cy, z, sy, z, o, z, -sy, z, cy], -1).reshape(e.shape[:-1] + (3, 3))
    rz = np.stack([cz, -sz, z, sz, cz, z, z, z, o], -1).reshape(e.shape[:-1] + (3, 3))
    return rz @ ry @ rx


def _smooth_track(g: np.random.Generator, t: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """Sum of random low-frequency sinusoids per axis, scaled into [-limit, limit]: [N, D]."""
    out = np.zeros((t.size, limit.size))
    for d in range(limit.size):
        freqs = g.uniform(0.04, 0.45, 4)
        amps = g.uniform(0.3, 1.0, 4) / np.arange(1, 5)
        phases = g.uniform(0, 2 * np.pi, 4)
        x = (amps[:, None] * np.sin(2 * np.pi * freqs[:, None] * t[None] + phases[:, None])).sum(0)
        out[:, d] = x / amps.sum() * limit[d]
    return out


def _lag(x: np.ndarray, tau_frames: float) -> np.ndarray:
    """First-order lag (exponential smoothing) along axis 0, started at the first value."""
    a = 1.0 / (1.0 + tau_frames)
    y = np.empty_like(x)
    y[0] = x[0]
    for i in range(1, len(x)):
        y[i] = y[i - 1] + a * (x[i] - y[i - 1])
    return y


def check_blink_gap(gap) -> tuple[float, float]:
    """(lo, hi) seconds between blinks -> floats; an OptionError (a ValueError) naming the
    option otherwise."""
    try:
        lo, hi = (float(v) for v in gap)
    except (TypeError, ValueError):
        raise OptionError(
            f"blink_gap: expected two numbers (lo, hi), seconds between blinks; got {gap!r}"
        ) from None
    if not (0.0 < lo <= hi) or not np.isfinite(hi):
        raise OptionError(
            f"blink_gap: expected 0 < lo <= hi seconds between blinks, got ({lo}, {hi})"
        )
    return lo, hi


def blink_track(
    g: np.random.Generator, n: int, fps: float, gap: tuple[float, float] = BLINK_GAP
) -> tuple[np.ndarray, list]:
    """Eye closure [n] from blinks ``gap`` = (lo, hi) seconds apart (uniform; default 2-6 s),
    each ~0.2 s long."""
    lo, hi = check_blink_gap(gap)
    t = np.arange(n) / fps
    closure = np.zeros(n)
    blinks, s = [], g.uniform(0.3, 3.0)
    while s < n / fps:
        dur = g.uniform(0.16, 0.26)
        u = (t - s) / dur
        inside = (u > 0) & (u < 1)
        closure[inside] = np.maximum(closure[inside], np.sin(np.pi * u[inside]) ** 0.7)
        blinks.append((round(float(s), 4), round(float(dur), 4)))
        s += dur + g.uniform(lo, hi)
    return closure, blinks


def check_torso_follow(k) -> float:
    """How much the torso follows the head, a number in [0, 1] -> float; an OptionError (a
    ValueError) naming the option otherwise."""
    try:
        k = float(k)
    except (TypeError, ValueError):
        raise OptionError(
            f"torso_follow: expected a number in [0, 1] (1: the torso moves with the head), "
            f"got {k!r}"
        ) from None
    if not 0.0 <= k <= 1.0:
        raise OptionError(
            f"torso_follow: expected a number in [0, 1] (1: the torso moves with the head), got {k}"
        )
    return k


def make_motion(
    identity: Identity,
    seed: int,
    n: int,
    fps: float = 25.0,
    blink_gap=BLINK_GAP,
    torso_follow: float | None = None,
) -> Motion:
    """Head pose, torso and blinks of ``n`` frames for (identity, seed); blink_gap: seconds
    between blinks (lo, hi), the other tracks do not depend on it. torso_follow: k in [0, 1]
    moves the torso's pose k of the way from its own track (lagging the head, breathing) to
    the head's, so its motion against the head shrinks to (1 - k) of the default's (exact for
    the translation, to first order for the angles); 1 carries the torso rigidly with the
    head. None (the default) leaves every track as it always was; the head and blink tracks
    never depend on it."""
    g = rng_for("motion", identity.seed, seed)
    t = np.arange(n) / fps
    euler = _smooth_track(g, t, MAX_ANGLES)
    shift = _smooth_track(g, t, MAX_SHIFT)
    trans = shift + np.array([0.0, HEAD_HEIGHT, -CAMERA_DISTANCE])
    breath = np.sin(2 * np.pi * t / identity.breath_period + g.uniform(0, 2 * np.pi))
    torso_euler = 0.35 * _lag(euler, 0.3 * fps)
    torso_trans = 0.5 * _lag(shift, 0.25 * fps) + np.array([0.0, HEAD_HEIGHT, -CAMERA_DISTANCE])
    torso_trans[:, 1] += BREATH_RISE * breath
    if torso_follow is not None:
        k = check_torso_follow(torso_follow)
        torso_euler = (1.0 - k) * torso_euler + k * euler
        torso_trans = (1.0 - k) * torso_trans + k * trans
    closure, blinks = blink_track(rng_for("blink", identity.seed, seed), n, fps, blink_gap)
    return Motion(
        euler=euler.astype(np.float32),
        trans=trans.astype(np.float32),
        torso_euler=torso_euler.astype(np.float32),
        torso_trans=torso_trans.astype(np.float32),
        breath=breath.astype(np.float32),
        eye_closure=closure.astype(np.float32),
        blinks=blinks,
    )
