"""Fig. 5 as numbers: the share of a map inside its region, accumulated over frames."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lokitalk_plugins.metrics.regions import RegionShares


def test_shares_are_the_map_mass_inside_the_region():
    labels = np.zeros((4, 4), np.uint8)
    labels[:2] = 3  # top half: region 3
    m = np.zeros((4, 4))
    m[0, 0], m[3, 3] = 3.0, 1.0  # 3 inside, 1 outside
    acc = RegionShares({"lip": ("att_lip", (3,)), "other": ("dx", (1, 2)), "none": ("z", (3,))})
    acc.add({"att_lip": m, "dx": torch.ones(4, 4)}, labels)
    assert acc.result() == {"lip": 0.75, "other": 0.0, "none": None}
    # a second frame with other labels: the mass adds up over frames
    acc.add({"att_lip": torch.from_numpy(m)}, np.full((4, 4), 3))
    assert acc.result()["lip"] == pytest.approx((3 + 4) / 8)


def test_an_even_map_has_the_area_fraction_and_bad_maps_are_refused():
    labels = np.zeros((10, 10), int)
    labels[:, :3] = 7
    acc = RegionShares({"torso": ("dx_torso_norm", (7, 8))})
    acc.add({"dx_torso_norm": np.full((10, 10), 0.2)}, labels)
    assert acc.result()["torso"] == pytest.approx(0.3)
    with pytest.raises(ValueError, match="labels are"):
        acc.add({"dx_torso_norm": np.ones((5, 5))}, labels)
    with pytest.raises(ValueError, match="negative"):
        acc.add({"dx_torso_norm": -np.ones((10, 10))}, labels)
