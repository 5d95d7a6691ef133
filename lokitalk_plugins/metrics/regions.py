"""Region shares of per-pixel maps (LokiTalk's Fig. 5 as numbers).

A deformation or attention map summed along each ray gives one value per pixel; its *share*
inside a region is the sum of the map over the region's pixels divided by its sum over the
whole image, accumulated over frames (each frame with its own region labels). A share of 1
means the map lives only in its region; a map spread evenly has the region's area fraction.

The region labels are integer ids per pixel (e.g. the studio's ``Truth.labels``); which ids
make a region is the caller's choice (``regions`` below), so this module knows no data set.
"""

from __future__ import annotations

import numpy as np

__all__ = ["RegionShares"]


class RegionShares:
    """Accumulates ``share = Σ map inside region / Σ map`` over frames.

    regions: share key -> (map name, label ids), e.g.
    ``{"att_lip": ("att_lip", (3,)), "dx_torso": ("dx_torso_norm", (7, 8))}``.
    ``add(maps, labels)``: maps name -> [H, W] non-negative (numpy or torch), labels [H, W]
    int; maps absent from ``maps`` are skipped. ``result()`` -> key -> share in [0, 1], or
    None when its map never came or summed to zero.
    """

    def __init__(self, regions: dict):
        self.regions = {k: (str(name), tuple(int(i) for i in ids))
                        for k, (name, ids) in regions.items()}  # fmt: skip
        self.inside = dict.fromkeys(self.regions, 0.0)
        self.total = dict.fromkeys(self.regions, 0.0)

    def add(self, maps: dict, labels) -> None:
        labels = np.asarray(labels)
        for key, (name, ids) in self.regions.items():
            if name not in maps:
                continue
            m = maps[name]
            m = np.asarray(m.detach().cpu() if hasattr(m, "detach") else m, dtype=np.float64)
            if m.shape != labels.shape:
                raise ValueError(f"map {name!r} is {m.shape} but the labels are {labels.shape}")
            if (m < 0).any():
                raise ValueError(f"map {name!r} has negative values: shares need m >= 0")
            self.inside[key] += float(m[np.isin(labels, ids)].sum())
            self.total[key] += float(m.sum())

    def result(self) -> dict:
        return {k: (self.inside[k] / self.total[k] if self.total[k] > 0 else None)
                for k in self.regions}  # fmt: skip
