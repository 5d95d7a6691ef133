"""Mask primitives: polygon fill on pixel centres, outlines of closed eyes, parsing classes."""

from __future__ import annotations

import numpy as np

from lokitalk_plugins.data.masks import (
    PARSING_CLASSES,
    classify_parsing,
    dilate,
    outline_mask,
    polygon_mask,
    region_masks,
)


def test_polygon_fill_hand_computed():
    square = np.array([[2.0, 2.0], [6.0, 2.0], [6.0, 5.0], [2.0, 5.0]])
    mask = polygon_mask(square, H=8, W=8)
    expected = np.zeros((8, 8), dtype=bool)
    expected[2:5, 2:6] = True  # pixel centres (i + 0.5, j + 0.5) inside
    assert np.array_equal(mask, expected)
    tri = polygon_mask(np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]]), 4, 4)
    # centres (i + 0.5, j + 0.5) with x + y < 4, i.e. i + j < 3: 3 + 2 + 1 pixels
    assert tri.sum() == 6
    assert tri[:, 0].tolist() == [True, True, True, False] and tri[0].tolist() == tri[:, 0].tolist()


def test_closed_eye_still_has_a_mask_and_dilation_grows():
    line = np.array([[3.0, 4.5], [4.0, 4.5], [5.0, 4.5], [6.0, 4.5], [5.0, 4.5], [4.0, 4.5]])
    assert polygon_mask(line, 10, 10).sum() == 0
    out = outline_mask(line, 10, 10)
    assert out[4, 3:7].all() and out.sum() == 4
    grown = dilate(out, 1)
    assert grown.sum() == 4 + 2 * 4 + 2  # a row above, a row below, one pixel at each end
    assert np.array_equal(dilate(out, 0), out)


def test_parsing_classes_and_tolerance():
    rgb = np.array([[[255, 255, 255], [0, 0, 255], [0, 255, 0], [255, 0, 0], [20, 10, 240]]])
    rgb = np.concatenate([rgb, [[[128, 0, 128]] * 5]], axis=0).astype(np.uint8)
    labels, unknown = classify_parsing(rgb, max_distance=64)
    names = [PARSING_CLASSES[i] for i in labels[0]]
    assert names == ["background", "head", "neck", "torso", "head"]
    assert not unknown[0].any() and unknown[1].all()


def test_region_masks_from_parsing_and_landmarks():
    H, W = 16, 16
    par = np.full((H, W, 3), 255, np.uint8)
    par[2:10, 4:12] = (0, 0, 255)
    par[10:12, 6:10] = (0, 255, 0)
    par[12:, :] = (255, 0, 0)
    lms = np.zeros((68, 2))
    lms[36:42] = [[5, 5], [6, 4.5], [7, 4.5], [8, 5], [7, 5.5], [6, 5.5]]
    lms[42:48] = lms[36:42] + [4, 0]
    lms[48:60] = np.stack([8 + 3 * np.cos(np.arange(12) / 12 * 2 * np.pi),
                           8 + 1.5 * np.sin(np.arange(12) / 12 * 2 * np.pi)], -1)  # fmt: skip
    m = region_masks(par, lms, eye_dilation=1)
    assert m.face.sum() == 64 and m.torso.sum() == 8 + 4 * 16
    assert m.lips.any() and m.lips[8, 6:10].all() and not m.lips[:6].any()
    assert m.eyes[5, 5:13].any() and not m.eyes[10:].any()
