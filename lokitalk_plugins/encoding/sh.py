"""Real spherical-harmonics encoding of view directions (degree up to 4, i.e. 16 values).

Orthonormal real SH on the unit sphere with the sign convention of the originals' ``shencoder``
(instant-NGP order): band l holds 2l + 1 values, m = -l..l, e.g. band 1 is
``(-c1 y, c1 z, -c1 x)`` with ``c1 = sqrt(3 / (4 pi))``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["SHEncoder", "sh_basis"]

_PI = math.pi
C0 = 0.5 / math.sqrt(_PI)
C1 = math.sqrt(3.0 / (4.0 * _PI))
C2 = (0.5 * math.sqrt(15.0 / _PI), 0.25 * math.sqrt(5.0 / _PI), 0.25 * math.sqrt(15.0 / _PI))
C3 = (
    0.25 * math.sqrt(35.0 / (2.0 * _PI)),
    0.5 * math.sqrt(105.0 / _PI),
    0.25 * math.sqrt(21.0 / (2.0 * _PI)),
    0.25 * math.sqrt(7.0 / _PI),
    0.25 * math.sqrt(105.0 / _PI),
)


def sh_basis(d: torch.Tensor, degree: int = 4) -> torch.Tensor:
    """Real SH basis up to band ``degree - 1``.

    d: [..., 3] unit directions (x, y, z) -> [..., degree**2].
    """
    if not 1 <= degree <= 4:
        raise ValueError(f"degree must be in 1..4, got {degree}")
    x, y, z = d[..., 0], d[..., 1], d[..., 2]
    out = [torch.full_like(x, C0)]
    if degree > 1:
        out += [-C1 * y, C1 * z, -C1 * x]
    if degree > 2:
        xx, yy, zz = x * x, y * y, z * z
        out += [
            C2[0] * x * y,
            -C2[0] * y * z,
            C2[1] * (3.0 * zz - 1.0),
            -C2[0] * x * z,
            C2[2] * (xx - yy),
        ]
    if degree > 3:
        out += [
            -C3[0] * y * (3.0 * xx - yy),
            C3[1] * x * y * z,
            C3[2] * y * (1.0 - 5.0 * zz),
            C3[3] * z * (5.0 * zz - 3.0),
            C3[2] * x * (1.0 - 5.0 * zz),
            C3[4] * z * (xx - yy),
            C3[0] * x * (3.0 * yy - xx),
        ]
    return torch.stack(out, dim=-1)


class SHEncoder(nn.Module):
    """Spherical-harmonics encoder.

    forward(d: [..., 3], size=1.0) -> [..., degree**2]; ``d / size`` should be unit
    directions (the originals pass normalised view directions).
    """

    def __init__(self, input_dim: int = 3, degree: int = 4):
        super().__init__()
        if input_dim != 3:
            raise ValueError("spherical harmonics need 3-D directions")
        if not 1 <= degree <= 4:
            raise ValueError(f"degree must be in 1..4, got {degree}")
        self.input_dim, self.degree = input_dim, degree
        self.output_dim = degree**2

    def forward(self, d: torch.Tensor, size: float = 1.0) -> torch.Tensor:
        """d: [..., 3] -> [..., degree**2]."""
        return sh_basis(d / size, self.degree)

    def extra_repr(self) -> str:
        return f"degree={self.degree}, output_dim={self.output_dim}"
