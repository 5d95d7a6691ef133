"""GDRF's feature volumes and their warping (sec. 3.2, eqs. 6, 8, 9).

    V_i  = E_c(I_i)                      [N, C, h, w]   feature encoder (eq. 6)
    m'   = γ̃(z) (m - μ(m)) / σ(m) + β(z)                AdaIN of a conv layer's maps (eq. 8)
    w    = W(V_i, z)                     [N, 2, h, w]   flow, in grid_sample units (eq. 9)
    Ṽ_i  = S(V_i, w)                     [N, C, h, w]   bilinear resampling at pixel + w

The flow head starts at zero, so an untrained warp returns the feature volumes unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["AdaIN", "FeatureEncoder", "WarpNet", "base_grid", "warp_features"]


class FeatureEncoder(nn.Module):
    """E_c: images [N, 3, H, W] in [0, 1] -> feature volumes [N, C, H / s, W / s], s =
    ``stride`` (4: two stride-2 convolutions, then one at the same size; 2: the second
    convolution keeps the size; the weights have the same shapes either way)."""

    STRIDES = (2, 4)

    def __init__(self, channels: int = 32, hidden: int = 32, stride: int = 4):
        super().__init__()
        if stride not in self.STRIDES:
            raise ValueError(f"GDRF.feature_stride must be one of {self.STRIDES}, got {stride!r}")
        self.channels, self.stride = channels, stride
        self.net = nn.Sequential(
            nn.Conv2d(3, hidden, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(hidden, hidden, 3, stride=stride // 2, padding=1), nn.ReLU(),
            nn.Conv2d(hidden, channels, 3, padding=1),
        )  # fmt: skip

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images * 2 - 1)


class AdaIN(nn.Module):
    """Eq. 8: maps m [B, C, h, w] normalised per map, scaled and shifted by affine functions
    of z [B or 1, Z]: γ̃ = 1 + A_γ z, β = A_β z (A zero at start, so plain instance norm)."""

    def __init__(self, channels: int, z_dim: int, eps: float = 1e-5):
        super().__init__()
        self.affine = nn.Linear(z_dim, 2 * channels)
        nn.init.zeros_(self.affine.weight)
        nn.init.zeros_(self.affine.bias)
        self.eps = eps

    def forward(self, m: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        mu = m.mean(dim=(2, 3), keepdim=True)
        sigma = (m.var(dim=(2, 3), keepdim=True, unbiased=False) + self.eps).sqrt()
        gamma, beta = self.affine(z).chunk(2, dim=-1)
        gamma = (1 + gamma).expand(m.shape[0], -1)[..., None, None]
        return gamma * (m - mu) / sigma + beta.expand(m.shape[0], -1)[..., None, None]


class WarpNet(nn.Module):
    """W(V_i, z): feature volumes [N, C, h, w] and motion descriptor z [1, Z] -> flow
    [N, 2, h, w] (x, y offsets in grid_sample's [-1, 1] units), from ``layers`` 3x3
    convolutions each followed by AdaIN(z) and ReLU, then a zero-initialised 3x3 flow head."""

    def __init__(self, channels: int, z_dim: int, hidden: int = 32, layers: int = 2):
        super().__init__()
        dims = [channels] + [hidden] * layers
        self.convs = nn.ModuleList(
            nn.Conv2d(dims[i], dims[i + 1], 3, padding=1) for i in range(layers)
        )
        self.norms = nn.ModuleList(AdaIN(hidden, z_dim) for _ in range(layers))
        self.flow = nn.Conv2d(dims[-1], 2, 3, padding=1)
        nn.init.zeros_(self.flow.weight)
        nn.init.zeros_(self.flow.bias)

    def forward(self, volumes: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        h = volumes
        for conv, norm in zip(self.convs, self.norms):
            h = torch.relu(norm(conv(h), z))
        return self.flow(h)


def base_grid(h: int, w: int, like: torch.Tensor) -> torch.Tensor:
    """The pixel centres of an h x w map in grid_sample units (align_corners=False):
    [h, w, 2] (x, y), x = (2 i + 1) / w - 1."""
    ys = (2 * torch.arange(h, device=like.device, dtype=like.dtype) + 1) / h - 1
    xs = (2 * torch.arange(w, device=like.device, dtype=like.dtype) + 1) / w - 1
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx, gy], dim=-1)


def warp_features(volumes: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Eq. 9, Ṽ = S(V, w): volumes [N, C, h, w] resampled bilinearly at each pixel centre
    moved by flow [N, 2, h, w] (border padding); zero flow returns ``volumes`` exactly."""
    n, _, h, w = volumes.shape
    grid = base_grid(h, w, volumes).expand(n, h, w, 2) + flow.permute(0, 2, 3, 1)
    return F.grid_sample(volumes, grid, mode="bilinear", padding_mode="border",
                         align_corners=False)  # fmt: skip
