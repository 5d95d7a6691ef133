"""With the [landmarks] extra, MediaPipe finds the studio's faces, so LMD is measurable there
(its mapped mouth points lie within a few pixels of the studio's own landmark projection)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from PIL import Image

from lokitalk_plugins.data.studio import load_truth, write_identity
from lokitalk_plugins.metrics import lmd

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("mediapipe") is None, reason="needs the [landmarks] extra"
)


def test_mediapipe_detects_every_studio_face(tmp_path):
    from lokitalk_plugins.metrics.mediapipe_landmarks import MediaPipeLandmarks

    folder = write_identity(tmp_path / "id", identity=0, seconds=1.0, size=64, seed=0)
    truth = load_truth(folder)
    frames = np.stack([np.asarray(Image.open(folder / "gt_imgs" / f"{i}.jpg"))
                       for i in range(len(truth))])  # fmt: skip
    detector = MediaPipeLandmarks()
    try:
        found = detector(frames)
    finally:
        detector.close()
    assert not np.isnan(found[:, 36:68]).any()  # a face in every frame
    assert lmd(found, found) == 0.0
    assert lmd(found, truth.landmarks) < 3.0  # px at 64 px: the mapping's bias, not a miss
