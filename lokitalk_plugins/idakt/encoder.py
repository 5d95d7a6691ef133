"""The ID-Encoder of ID-Aware Knowledge Transfer (LokiTalk sec. 3.3): one reference frame of a
person -> one identity feature vector, from which the heads of
:class:`~lokitalk_plugins.idakt.module.IDAKT` read the dynamic, appearance and geometry features,
the canonical-offset code and the hyper-network weights.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["MIN_IMAGE_SIZE", "IDEncoder"]

# the smallest height / width the encoder accepts (four stride-2 blocks leave at least 1 pixel)
MIN_IMAGE_SIZE = 16


class IDEncoder(nn.Module):
    """A small strided CNN on one reference frame.

    ``num_blocks`` blocks of [3x3 conv with stride 2 -> GroupNorm -> ReLU]; block i has
    ``width * 2 ** min(i, 2)`` channels (doubling twice, then constant), followed by a global
    average pool and a linear layer to ``feature_dim``. ``norm_groups``: groups of every
    GroupNorm (0: no normalisation, the convolutions then carry a bias). The input is mapped
    from [0, 1] to [-1, 1] inside.

    forward(image: [B, in_channels, H, W] float in [0, 1], H, W >= 16) -> [B, feature_dim].
    """

    def __init__(
        self,
        in_channels: int = 3,
        width: int = 32,
        num_blocks: int = 4,
        feature_dim: int = 128,
        norm_groups: int = 8,
    ):
        super().__init__()
        if min(in_channels, width, num_blocks, feature_dim) < 1 or norm_groups < 0:
            raise ValueError(
                "in_channels, width, num_blocks, feature_dim must be >= 1 and norm_groups >= 0, "
                f"got {in_channels}, {width}, {num_blocks}, {feature_dim}, {norm_groups}"
            )
        if norm_groups and width % norm_groups:
            raise ValueError(f"width {width} is not divisible by norm_groups {norm_groups}")
        self.in_channels, self.width, self.num_blocks = in_channels, width, num_blocks
        self.feature_dim, self.norm_groups = feature_dim, norm_groups
        layers: list[nn.Module] = []
        c_in = in_channels
        for i in range(num_blocks):
            c_out = width * 2 ** min(i, 2)
            layers.append(nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=not norm_groups))
            if norm_groups:
                layers.append(nn.GroupNorm(norm_groups, c_out))
            layers.append(nn.ReLU(inplace=True))
            c_in = c_out
        self.blocks = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.proj = nn.Linear(c_in, feature_dim)

    def config(self) -> dict:
        """JSON-able constructor keyword arguments: ``IDEncoder(**e.config())`` rebuilds it."""
        return dict(
            in_channels=self.in_channels,
            width=self.width,
            num_blocks=self.num_blocks,
            feature_dim=self.feature_dim,
            norm_groups=self.norm_groups,
        )

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """image: [B, in_channels, H, W] in [0, 1] with H, W >= 16 -> [B, feature_dim]."""
        if image.dim() != 4 or image.shape[1] != self.in_channels:
            raise ValueError(
                f"expected an image [B, {self.in_channels}, H, W], got {tuple(image.shape)}"
            )
        if min(image.shape[-2:]) < MIN_IMAGE_SIZE:
            raise ValueError(
                f"image is {tuple(image.shape[-2:])}: height and width must be >= {MIN_IMAGE_SIZE}"
            )
        x = self.blocks(image * 2.0 - 1.0)
        return self.proj(self.pool(x).flatten(1))
