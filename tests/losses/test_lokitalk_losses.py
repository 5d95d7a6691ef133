"""Hand-computed values of LokiTalk's losses (eqs. 6-12) and the LPIPS schedule."""

from __future__ import annotations

import math

import pytest
import torch

from lokitalk_plugins.data.masks import RegionMasks
from lokitalk_plugins.losses import (
    REGION_WEIGHTS,
    alpha_entropy,
    attention_masks,
    attention_regularization,
    lokitalk_regularisers,
    lpips_weight,
    ray_mse,
    region_regularization,
    region_weight_map,
    weighted_color_loss,
)
from lokitalk_plugins.pipeline import colour_loss, eq12_loss

T, F = True, False


def b(*v):
    return torch.tensor(v, dtype=torch.bool)


PRED = torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
TARGET = torch.tensor([[0.3, 0.0, 0.0], [0.4, 1.0, 1.0]])  # channel-mean errors 0.03, 0.12


def test_weighted_color_loss_hand_values():
    w = torch.tensor([1.0, 2.0])
    assert torch.allclose(weighted_color_loss(PRED, TARGET, w, "none"), torch.tensor([0.03, 0.24]))
    assert math.isclose(weighted_color_loss(PRED, TARGET, w).item(), 0.135, rel_tol=1e-6)
    assert math.isclose(weighted_color_loss(PRED, TARGET, w, "sum").item(), 0.27, rel_tol=1e-6)
    # unit weights: exactly the backbones' colour loss
    ones = torch.ones(2)
    assert torch.equal(weighted_color_loss(PRED, TARGET, ones), ray_mse(PRED, TARGET).mean())
    with pytest.raises(ValueError):
        weighted_color_loss(PRED, TARGET, w, "max")


def test_region_weight_map_most_specific_region_wins():
    # background, torso, face, eye (in face), lips (in face), lips and eyes
    masks = RegionMasks(
        face=b(F, F, T, T, T, T), torso=b(F, T, F, F, F, F),
        lips=b(F, F, F, F, T, T), eyes=b(F, F, F, T, F, T),
    )  # fmt: skip
    kw = dict(face=1.0, eyes=2.0, lips=3.0, torso=0.5, background=0.25)
    expected = torch.tensor([0.25, 0.5, 1.0, 2.0, 3.0, 3.0])
    assert torch.equal(region_weight_map(masks, **kw), expected)
    as_dict = {k: getattr(masks, k) for k in ("face", "torso", "lips", "eyes")}
    assert torch.equal(region_weight_map(as_dict, **kw), expected)
    # defaults: 1 everywhere except 2 on eyes and lips
    assert torch.equal(region_weight_map(masks), torch.tensor([1.0, 1, 1, 2, 2, 2]))


def test_region_regularization_hand_values():
    face_n = torch.tensor([0.2, 0.4, 0.0])
    torso_n = torch.tensor([0.1, 0.0, 0.3])
    face, torso = b(T, F, F), b(F, F, T)
    # ray 0: face offset inside the face (free) + torso offset outside the torso (0.1)
    # ray 1: face offset outside the face (0.4); ray 2: torso offset inside the torso (free)
    per_ray = region_regularization(face_n, torso_n, face, torso, reduction="none")
    assert torch.allclose(per_ray, torch.tensor([0.1, 0.4, 0.0]))
    assert math.isclose(region_regularization(face_n, torso_n, face, torso).item(), 0.5 / 3,
                        rel_tol=1e-6)  # fmt: skip
    assert math.isclose(
        region_regularization(face_n, torso_n, face, torso, reduction="sum").item(), 0.5,
        rel_tol=1e-6,
    )  # fmt: skip


def test_attention_regularization_hand_values_and_gradient():
    lip = torch.tensor([0.5, 0.8], requires_grad=True)
    scores = {"att_lip": lip, "att_eye": torch.tensor([0.2, 0.6]),
              "att_torso": torch.tensor([1.0, 0.3])}  # fmt: skip
    masks = RegionMasks(face=b(T, F), torso=b(F, T), lips=b(T, F), eyes=b(F, F))
    m = attention_masks(masks)
    assert set(m) == {"att_lip", "att_eye", "att_torso"} and torch.equal(m["att_lip"], b(T, F))
    # lip: [0, 0.8]; eye: [0.2, 0.6]; torso: [1.0, 0]  -> per ray [1.2, 1.4]
    per_ray = attention_regularization(scores, m, reduction="none")
    assert torch.allclose(per_ray, torch.tensor([1.2, 1.4]))
    assert math.isclose(attention_regularization(scores, m, "sum").item(), 2.6, rel_tol=1e-6)
    loss = attention_regularization(scores, m)
    assert math.isclose(loss.item(), 1.3, rel_tol=1e-6)
    loss.backward()
    assert torch.allclose(lip.grad, torch.tensor([0.0, 0.5]))  # only outside the lips
    with pytest.raises(KeyError, match="att_lip"):
        attention_regularization({"att_lip": lip}, {"att_eye": b(T, F)})


@pytest.mark.parametrize(
    "step, total, expected",
    [(0, 100, 0.0), (79, 100, 0.0), (80, 100, 5e-3), (99, 100, 5e-3), (100, 100, 5e-3),
     (799, 1000, 0.0), (800, 1000, 5e-3)],
)  # fmt: skip
def test_lpips_weight_schedule(step, total, expected):
    assert lpips_weight(step, total) == expected


@pytest.mark.parametrize("fraction, start", [(0.07, 7), (0.57, 57), (0.29, 29)])
def test_lpips_weight_start_survives_rounding(fraction, start):
    # fraction * 100 is 7.000000000000001, 56.99999999999999, 28.999999999999996
    assert lpips_weight(start - 1, 100, start_fraction=fraction) == 0.0
    assert lpips_weight(start, 100, start_fraction=fraction) == 5e-3


def test_lpips_weight_custom_weight_and_bad_total():
    assert lpips_weight(90, 100, weight=0.1) == 0.1
    assert lpips_weight(50, 100, weight=0.1, start_fraction=0.5) == 0.1
    with pytest.raises(ValueError):
        lpips_weight(0, 0)


def _frame():
    masks = RegionMasks(face=b(T, F), torso=b(F, T), lips=b(T, F), eyes=b(F, F))
    maps = {
        "dx_face_norm": torch.tensor([0.2, 0.4]),
        "dx_torso_norm": torch.tensor([0.1, 0.0]),
        "att_lip": torch.tensor([0.5, 0.8]),
        "att_eye": torch.tensor([0.2, 0.6]),
        "att_torso": torch.tensor([1.0, 0.3]),
    }
    return masks, maps


def test_total_loss_hand_values():
    """Eq. 12 from its pieces: the region-weighted colour, the plug-in's λ_Δ L_Δ and λ_att
    L_att (lokitalk_regularisers), λ_α L_α and λ_lpips L_lpips, summed by eq12_loss."""
    masks, maps = _frame()
    color, _ = colour_loss(PRED, TARGET, masks, REGION_WEIGHTS)
    plugin = lokitalk_regularisers(maps, masks)
    alpha = alpha_entropy(torch.tensor([0.5, 0.5])).mean()
    total, terms = eq12_loss(color, alpha, torch.tensor(0.2), plugin,
                             lambda_lpips=lpips_weight(90, 100))  # fmt: skip
    # colour: default weights lips 2, torso 1 -> (2 * 0.03 + 0.12) / 2 = 0.09
    # delta: ray 0 torso offset outside torso 0.1, ray 1 face offset outside face 0.4 -> 0.25
    # att: 1.3 (see above); alpha: H(0.5) = log 2; lpips: 0.2
    expected = {"color": 0.09, "lokitalk_delta": 1e-5 * 0.25, "lokitalk_att": 1e-4 * 1.3,
                "alpha": 1e-4 * math.log(2), "lpips": 5e-3 * 0.2}  # fmt: skip
    assert set(terms) == set(expected)
    for k, v in expected.items():
        assert math.isclose(terms[k].item(), v, rel_tol=1e-4), k
    assert math.isclose(total.item(), sum(expected.values()), rel_tol=1e-5)


def test_total_loss_omitted_terms_and_clashes():
    masks, maps = _frame()
    # no alpha, an lpips with a zero weight: the colour term alone
    color = ray_mse(PRED, TARGET).mean()
    total, terms = eq12_loss(color, lpips=torch.tensor(1.0))
    assert set(terms) == {"color"} and torch.equal(total, color)
    # a joint field's maps (no offsets split by region, no attention): no plug-in term
    assert lokitalk_regularisers({"dx_norm": torch.tensor([0.1, 0.2])}, masks) == {}
    # λ's reach the terms
    terms = lokitalk_regularisers(maps, masks, lambda_delta=1.0, lambda_att=0.0)
    assert math.isclose(terms["lokitalk_delta"].item(), 0.25, rel_tol=1e-6)
    assert terms["lokitalk_att"].item() == 0.0
    with pytest.raises(ValueError, match="'alpha' clashes"):
        eq12_loss(color, color, model_terms={"alpha": color})
