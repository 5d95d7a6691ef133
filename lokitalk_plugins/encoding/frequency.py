"""Positional (frequency) encoding, as used by the torso branches of RAD-NeRF and ER-NeRF."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["FrequencyEncoder"]


class FrequencyEncoder(nn.Module):
    """Sinusoids of the input at ``n_freqs`` frequencies.

    Frequencies: ``2 ** linspace(0, max_freq_log2, n_freqs)`` (log sampling, the default) or
    ``linspace(1, 2 ** max_freq_log2, n_freqs)``. Output order: the input itself (if
    ``include_input``), then for each frequency f in increasing order ``sin(f x)`` (D values)
    followed by ``cos(f x)`` (D values).

    forward(x: [..., D]) -> [..., D * (include_input + 2 * n_freqs)]. With the originals'
    ``multires = m`` (``max_freq_log2 = m - 1``, ``n_freqs = m``): m=10 over 2-D -> 42,
    m=4 over 6-D -> 54, m=8 over 2-D -> 34, m=3 over 6-D -> 42.
    """

    def __init__(
        self,
        input_dim: int = 3,
        max_freq_log2: float = 9,
        n_freqs: int = 10,
        include_input: bool = True,
        log_sampling: bool = True,
    ):
        super().__init__()
        self.input_dim, self.n_freqs, self.include_input = input_dim, n_freqs, include_input
        self.max_freq_log2 = max_freq_log2
        if log_sampling:
            bands = 2.0 ** torch.linspace(0.0, max_freq_log2, n_freqs, dtype=torch.float64)
        else:
            bands = torch.linspace(1.0, 2.0**max_freq_log2, n_freqs, dtype=torch.float64)
        self.freq_bands = [float(f) for f in bands]
        self.output_dim = input_dim * (int(include_input) + 2 * n_freqs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [..., D] -> [..., output_dim]."""
        if x.shape[-1] != self.input_dim:
            raise ValueError(f"expected [..., {self.input_dim}], got {tuple(x.shape)}")
        parts = [x] if self.include_input else []
        for f in self.freq_bands:
            parts.append(torch.sin(x * f))
            parts.append(torch.cos(x * f))
        return torch.cat(parts, dim=-1)

    def extra_repr(self) -> str:
        return (
            f"input_dim={self.input_dim}, n_freqs={self.n_freqs}, "
            f"max_freq_log2={self.max_freq_log2}, output_dim={self.output_dim}"
        )
