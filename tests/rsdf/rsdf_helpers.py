"""Small RSDF settings and helpers shared by the rsdf tests (a tiny grid, reference backend)."""

from __future__ import annotations

import torch

SMALL_GRID = dict(
    num_levels=4,
    level_dim=2,
    base_resolution=8,
    desired_resolution=32,
    log2_hashmap_size=10,
    backend="torch",
)
A = 8  # audio feature size in the tests

__all__ = ["A", "SMALL_GRID", "points", "randomise_grids", "randomise_last_layers", "signals"]


def points() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.rand(64, 3, generator=g) * 1.8 - 0.9


def signals() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return (
        torch.randn(1, A, generator=g),
        torch.rand(1, 1, generator=g),
        torch.randn(1, 6, generator=g),
    )


def randomise_last_layers(module: torch.nn.Module, std: float = 0.1, seed: int = 0) -> None:
    """Give every zero-initialised offset layer random weights (a trained-like state)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            if p.dim() == 2 and not p.any():
                p.copy_(torch.randn(p.shape, generator=g) * std)


def randomise_grids(module: torch.nn.Module, std: float = 0.5, seed: int = 1) -> None:
    """Grid tables far from their 1e-4 initialisation, so point features matter."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("embeddings"):
                p.copy_(torch.randn(p.shape, generator=g) * std)
