"""A tiny TrainableSystem for the trainer tests: an MLP fitting the pixel colours of a few
random images, with a per-frame code, dropout, and every kind of randomness the trainer must
restore on resume (its generator, torch's global RNG, numpy, python ``random``)."""

from __future__ import annotations

import random

import numpy as np
import torch
from torch import nn

from lokitalk_plugins.train.system import StepOutput

__all__ = ["ToyDataset", "ToySystem", "toy_dataset", "toy_system"]


class ToyDataset:
    """n frames {"index", "image" [H, W, 3] in [0, 1]} of smooth random colours."""

    def __init__(self, n: int = 4, H: int = 6, W: int = 8, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        base = torch.rand(n, 1, 1, 3, generator=g)
        ramp = torch.linspace(0, 1, W).view(1, 1, W, 1) * torch.rand(n, 1, 1, 3, generator=g)
        self.images = (0.2 + 0.6 * base * 0.5 + 0.3 * ramp).expand(n, H, W, 3).contiguous()

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, i: int) -> dict:
        return {"index": torch.tensor(i), "image": self.images[i]}


class ToySystem(nn.Module):
    """colour = MLP([x, y, code(frame)]); groups "grid" (codes) and "mlp"; stage "torso"
    freezes the MLP (the "head") and trains the codes only."""

    def __init__(self, n_frames: int = 4, hidden: int = 32, dropout: float = 0.1, rays: int = 16):
        super().__init__()
        self.codes = nn.Embedding(n_frames, 4)
        self.mlp = nn.Sequential(
            nn.Linear(6, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 3)
        )
        self.rays, self.stage = rays, "head"
        self.register_buffer("refresh", torch.zeros(3))
        self.register_buffer("refreshes", torch.zeros((), dtype=torch.int64))

    def set_stage(self, stage: str) -> None:
        self.stage = stage
        self.mlp.requires_grad_(stage != "torso")

    def parameter_groups(self) -> list[dict]:
        groups = [{"name": "grid", "params": list(self.codes.parameters()), "lr": 1e-2}]
        if self.stage != "torso":
            groups.append({"name": "mlp", "params": list(self.mlp.parameters()), "lr": 5e-3})
        return groups

    def _colour(self, xy: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        code = self.codes(index.view(1)).expand(xy.shape[0], -1)
        return torch.sigmoid(self.mlp(torch.cat([xy, code], -1)))

    def training_step(self, frame, step, total_steps, generator) -> StepOutput:
        img = frame["image"]
        H, W = img.shape[:2]
        pix = torch.randint(H * W, (self.rays,), generator=generator, device=img.device)
        ys, xs = pix // W, pix % W
        jitter = float(np.random.rand()) * 1e-3 + random.random() * 1e-3
        xy = torch.stack([xs / (W - 1), ys / (H - 1)], -1).float() + jitter
        pred = self._colour(xy, frame["index"])
        mse = ((pred - img[ys, xs]) ** 2).mean()
        value = mse.detach()
        return StepOutput(mse, {"psnr": float(-10 * torch.log10(value)), "mse": float(value)})

    def after_step(self, step, generator) -> None:
        if step % 4 == 0:
            self.refresh.copy_(torch.rand(3, generator=generator, device=self.refresh.device))
            self.refreshes += 1

    @torch.no_grad()
    def render_frame(self, frame) -> dict:
        H, W = frame["image"].shape[:2]
        ys, xs = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
        xy = torch.stack([xs / (W - 1), ys / (H - 1)], -1).float().view(-1, 2)
        rgb = self._colour(xy, frame["index"]).view(H, W, 3)
        return {"rgb": rgb, "depth": xy.norm(dim=-1).view(H, W)}


def toy_dataset(root, split: str = "train", n: int = 4) -> ToyDataset:
    """A dataset factory with the signature run_training calls: (root, split=...)."""
    return ToyDataset(n=n, seed=0 if split == "train" else 1)


def toy_system(hidden: int = 32) -> ToySystem:
    """A system factory (no arguments), as ``train.system`` is called."""
    return ToySystem(hidden=hidden)
