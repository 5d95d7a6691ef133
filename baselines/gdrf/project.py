"""GDRF's pixel-aligned features (sec. 3.3, eq. 10) and their aggregation over references.

(u, v)_i = K_i [R_i^T (x - t_i)]      pinhole projection into reference i (the inverse of
                                      :func:`lokitalk_plugins.render.get_rays`: pixel
                                      (i, j) has its centre at (i + 0.5, j + 0.5))
f_i      = Bil((u, v)_i, Ṽ_i)         bilinear sample of the warped volume  [N, S, C]
f        = Σ_i a_i v(f_i)             slot-attention style: one slot, softmax over the
                                      references that see the point, then a GRU update
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lokitalk_plugins.render import exact_geometry

__all__ = ["AttentionAggregator", "project_points", "sample_features"]


def project_points(
    x: torch.Tensor, c2w: torch.Tensor, intrinsics: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """x [S, 3] world points; c2w [N, 4, 4]; intrinsics [N, 4] (fx, fy, cx, cy) pixels ->
    uv [N, S, 2] pixel coordinates (x right, y down; pixel centres at +0.5) and depth
    [N, S] along each camera's +z (the viewing axis of get_rays)."""
    rot, t = c2w[:, :3, :3], c2w[:, :3, 3]
    with exact_geometry(x):  # in its own dtype under a training autocast too
        cam = torch.einsum("nji,nsj->nsi", rot, x[None] - t[:, None])  # R^T (x - t)
    depth = cam[..., 2]
    z = torch.where(depth.abs() < 1e-6, torch.full_like(depth, 1e-6), depth)
    fx, fy, cx, cy = (intrinsics[:, k, None] for k in range(4))
    uv = torch.stack([fx * cam[..., 0] / z + cx, fy * cam[..., 1] / z + cy], dim=-1)
    return uv, depth


def sample_features(
    volumes: torch.Tensor, uv: torch.Tensor, H: int, W: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """volumes [N, C, h, w] over an H x W image; uv [N, S, 2] pixels -> features [N, S, C]
    (bilinear, zero outside) and inside [N, S] (bool: the point falls inside the image)."""
    grid = torch.stack([2 * uv[..., 0] / W - 1, 2 * uv[..., 1] / H - 1], dim=-1)
    inside = (grid.abs() <= 1).all(dim=-1)
    f = F.grid_sample(volumes, grid[:, :, None], mode="bilinear", padding_mode="zeros",
                      align_corners=False)  # fmt: skip
    return f[..., 0].permute(0, 2, 1), inside


class AttentionAggregator(nn.Module):
    """N feature vectors per point -> one (slot attention with a single learnt slot).

    features [N, S, C], valid [N, S] bool -> f [S, dim]: keys k = W_k LN(f_i), values
    v = W_v LN(f_i), query q = W_q LN(slot); a_i = softmax_i(q·k_i / sqrt(dim)) over the
    valid references (all of them where none is valid); f = GRU(Σ_i a_i v_i, slot), repeated
    ``iterations`` times. Also returns a [S, N] (the weights of the last iteration).
    """

    def __init__(self, channels: int, dim: int = 32, iterations: int = 1):
        super().__init__()
        self.dim, self.iterations = dim, iterations
        self.slot = nn.Parameter(torch.randn(dim) * dim**-0.5)
        self.norm_in, self.norm_slot = nn.LayerNorm(channels), nn.LayerNorm(dim)
        self.to_k = nn.Linear(channels, dim, bias=False)
        self.to_v = nn.Linear(channels, dim, bias=False)
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.gru = nn.GRUCell(dim, dim)

    def forward(self, features: torch.Tensor, valid: torch.Tensor):
        f = self.norm_in(features.transpose(0, 1))  # [S, N, C]
        k, v = self.to_k(f), self.to_v(f)
        mask = valid.transpose(0, 1)
        mask = mask | ~mask.any(dim=1, keepdim=True)
        slot = self.slot.expand(f.shape[0], -1)
        for _ in range(self.iterations):
            q = self.to_q(self.norm_slot(slot))
            logits = torch.einsum("sd,snd->sn", q, k) * self.dim**-0.5
            a = logits.masked_fill(~mask, float("-inf")).softmax(dim=1)
            slot = self.gru(torch.einsum("sn,snd->sd", a, v), slot)
        return slot, a
