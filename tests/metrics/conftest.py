"""A studio clip shared by the studio-metric and sync tests (written once per session)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lokitalk_plugins.data.studio import load_truth, write_identity


@pytest.fixture(scope="session")
def clip(tmp_path_factory):
    """(frames [100, 64, 64, 3] uint8, Truth) of studio identity 1, 4 s at 64 px, seed 2."""
    folder = write_identity(tmp_path_factory.mktemp("m") / "id", identity=1, seconds=4.0,
                            size=64, seed=2)  # fmt: skip
    truth = load_truth(folder)
    frames = np.stack([np.asarray(Image.open(folder / "gt_imgs" / f"{i}.jpg"))
                       for i in range(len(truth))])  # fmt: skip
    return frames, truth
