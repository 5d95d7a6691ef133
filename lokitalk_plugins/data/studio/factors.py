"""Any identity with any expression and light: studio stills for exact contrastive pairs.

The Disentangling Head NeRF pre-trains its code extractor on pairs that share one factor:
the same expression on different people (positives of the expression code), the same person
with different expressions (negatives), likewise for identity and light. A video gives such
pairs only approximately; the studio renders them exactly, because every factor is a
separate input of its renderer.

>>> bank = factor_bank(identities=[0, 1, 2], expressions=6, lights=3, size=32)
>>> bank.images.shape            # [3 * 6 * 3, 32, 32, 3] in [0, 1], over the background
>>> bank.identity, bank.expression, bank.light   # [B] int indices of each image's factors

An expression is (jaw, lip width, eye closure) in [0, 1]^3; a light is a key-light direction
(a unit vector in the camera frame) and an intensity, as in ``lighting.make_lighting``. By
default the head pose is each identity's first frame of ``make_motion(identity, seed=0)``:
fixed, so that the pose is a cause of none of the pairs. With ``poses = P > 0`` each image
takes one of P poses of that identity's motion track (frames spread over 20 s), drawn at
random per image: a nuisance no pair is defined by, so every code is trained to ignore the
head motion a video has (``benchmarks/dhnerf_extractor_probe.py`` measures what it changes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .identity import make_identity, rng_for
from .lighting import INTENSITY_RANGE, MAX_SWING, _rotation
from .motion import euler_to_matrix, make_motion
from .render import LIGHT, camera_for, render_batch
from .sdf import HeadModel
from .shade import Noise3D, background_image

__all__ = ["FactorBank", "factor_bank", "render_factors"]


@dataclass
class FactorBank:
    """Studio stills on a grid of factors. images [B, H, W, 3] in [0, 1]; identity,
    expression, light [B] int64 indices into identities, expressions [E, 3] (jaw, lip width,
    eye closure) and the lights (light_dir [L, 3], light_intensity [L])."""

    images: torch.Tensor
    identity: torch.Tensor
    expression: torch.Tensor
    light: torch.Tensor
    identities: list[int]
    expressions: torch.Tensor
    light_dir: torch.Tensor
    light_intensity: torch.Tensor


POSE_TRACK_FRAMES = 500  # the motion track poses are drawn from: 20 s at 25 fps


def render_factors(identity: int, expressions, light_dir, light_intensity, size: int = 32,
                   pose_frames=None):  # fmt: skip
    """One identity with B (expression, light) settings -> images [B, size, size, 3] in [0, 1]
    over its background. expressions: [B, 3] (jaw, lip width, eye closure); light_dir [B, 3]
    unit; light_intensity [B]; pose_frames: None (every image in the track's first pose) or
    [B] frame indices into the identity's motion track (``make_motion(identity, 0,
    POSE_TRACK_FRAMES)``): head and torso pose and breath of that frame."""
    idn = make_identity(int(identity))
    expr = torch.as_tensor(np.asarray(expressions), dtype=torch.float32).reshape(-1, 3)
    B = expr.shape[0]
    f32 = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32)  # noqa: E731
    if pose_frames is None:
        motion = make_motion(idn, 0, 1)
        rep = lambda a: f32(a)[:1].expand(B, *f32(a).shape[1:]).contiguous()  # noqa: E731
    else:
        frames = np.asarray(pose_frames, dtype=np.int64).reshape(-1)
        if (
            len(frames) != B
            or frames.min(initial=0) < 0
            or frames.max(initial=0) >= POSE_TRACK_FRAMES
        ):
            raise ValueError(f"pose_frames: expected {B} indices in [0, {POSE_TRACK_FRAMES})")
        motion = make_motion(idn, 0, POSE_TRACK_FRAMES)
        rep = lambda a: f32(np.asarray(a)[frames]).contiguous()  # noqa: E731
    with torch.no_grad():
        r = render_batch(
            HeadModel(idn), Noise3D(idn.texture_seed), camera_for(size),
            rep(euler_to_matrix(motion.euler)), rep(motion.trans),
            rep(euler_to_matrix(motion.torso_euler)), rep(motion.torso_trans),
            expr[:, 0], expr[:, 1], expr[:, 2], rep(motion.breath),
            light_dir=f32(light_dir).reshape(B, 3), light_intensity=f32(light_intensity).reshape(B),
        )  # fmt: skip
    bg = torch.from_numpy(background_image(idn, size)).float()
    fg = r["body_mask"] | (r["labels"] != 0)
    return torch.where(fg[..., None], r["rgb"], bg).clamp(0, 1)


def factor_bank(
    identities: Sequence[int],
    expressions: int = 6,
    lights: int = 3,
    size: int = 32,
    seed=0,
    poses: int = 0,
    grid: bool = False,
) -> FactorBank:
    """Every identity x ``expressions`` random expressions x ``lights`` random lights, the
    same expressions and lights for every identity (drawn from ``seed``): exact pairs.
    ``poses`` > 0: each image in one of that many poses of its identity's track, drawn per
    image (see the module doc); 0: the first pose for all. ``grid``: the expressions are a
    factorial grid, ``expressions`` levels of each of jaw, lip width and eye closure evenly in
    [0, 1] (expressions**3 of them), so two expressions may differ in one factor only and
    every factor separates some negatives (random draws differ in all three at once, and the
    code then needs only the most visible one, the jaw, to tell them apart)."""
    if int(poses) < 0:
        raise ValueError(f"poses must be >= 0, got {poses}")
    ids = [int(i) for i in identities]
    g = rng_for("factor_bank", seed)
    if grid:
        lv = np.linspace(0, 1, int(expressions), dtype=np.float32)
        expr = np.stack(np.meshgrid(lv, lv, lv, indexing="ij"), -1).reshape(-1, 3)
    else:
        expr = g.uniform(0, 1, (int(expressions), 3)).astype(np.float32)
    lo, hi = INTENSITY_RANGE
    swing = g.uniform(-1, 1, (int(lights), 2)) * MAX_SWING
    base = np.asarray(LIGHT, dtype=np.float64) / np.linalg.norm(LIGHT)
    ldir = (_rotation(swing[:, 0], swing[:, 1]) @ base).astype(np.float32)
    lint = g.uniform(lo, hi, int(lights)).astype(np.float32)
    e_idx, l_idx = np.meshgrid(np.arange(len(expr)), np.arange(len(lint)), indexing="ij")
    e_idx, l_idx = e_idx.reshape(-1), l_idx.reshape(-1)
    n = len(e_idx)
    if int(poses) > 0:
        grid = np.linspace(0, POSE_TRACK_FRAMES - 1, int(poses)).round().astype(np.int64)
        frames = [grid[g.integers(0, len(grid), n)] for _ in ids]
    else:
        frames = [None] * len(ids)
    images = [render_factors(i, expr[e_idx], ldir[l_idx], lint[l_idx], size, f)
              for i, f in zip(ids, frames)]  # fmt: skip
    as_long = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.long)  # noqa: E731
    return FactorBank(
        images=torch.cat(images),
        identity=as_long(np.repeat(np.arange(len(ids)), n)),
        expression=as_long(np.tile(e_idx, len(ids))),
        light=as_long(np.tile(l_idx, len(ids))),
        identities=ids,
        expressions=torch.from_numpy(expr),
        light_dir=torch.from_numpy(ldir),
        light_intensity=torch.from_numpy(lint),
    )
