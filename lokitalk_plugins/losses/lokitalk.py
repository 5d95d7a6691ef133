"""LokiTalk's loss weights (eq. 12), its deformation terms and LPIPS schedule (sec. 4).

    L = L_color + λ_Δ L_Δ + λ_att L_att + λ_α L_α + λ_lpips L_lpips        (eq. 12)

The deformation plug-in's terms (λ_Δ L_Δ, λ_att L_att) are :func:`lokitalk_regularisers`;
the whole sum is assembled once, by :func:`lokitalk_plugins.pipeline.eq12_loss`.

Defaults from the paper: λ_α = 1e-4, λ_Δ = 1e-5 in every step, λ_lpips = 0 for the first 80%
of the steps then 5e-3 (:func:`lpips_weight`). The paper gives no λ_att: we use 1e-4, the
weight ER-NeRF gives its own region-attention terms.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch

from .region import (
    ATTENTION_REGIONS,
    _get,
    attention_masks,
    attention_regularization,
    region_regularization,
)

__all__ = [
    "ATT_TERM",
    "DELTA_TERM",
    "LAMBDA_ALPHA",
    "LAMBDA_ATT",
    "LAMBDA_DELTA",
    "LAMBDA_LPIPS",
    "LPIPS_START_FRACTION",
    "lokitalk_regularisers",
    "lpips_weight",
]

LAMBDA_ALPHA = 1e-4
LAMBDA_DELTA = 1e-5
LAMBDA_ATT = 1e-4  # our choice (not in the paper), as ER-NeRF's attention terms
LAMBDA_LPIPS = 5e-3
LPIPS_START_FRACTION = 0.8
DELTA_TERM, ATT_TERM = "lokitalk_delta", "lokitalk_att"


def lpips_weight(
    step: int,
    total: int,
    weight: float = LAMBDA_LPIPS,
    start_fraction: float = LPIPS_START_FRACTION,
) -> float:
    """λ_lpips at ``step`` (0-based) of ``total`` steps: 0 before ``start_fraction * total``,
    ``weight`` from there on (the last 20% of the steps by default). The start step is
    ``ceil(start_fraction * total)``, rounded first so 0.8 * 100 starts at step 80."""
    if total <= 0:
        raise ValueError(f"total must be positive, got {total}")
    start = math.ceil(round(start_fraction * total, 6))
    return float(weight) if step >= start else 0.0


def lokitalk_regularisers(
    maps: Mapping[str, torch.Tensor],
    masks,
    lambda_delta: float = LAMBDA_DELTA,
    lambda_att: float = LAMBDA_ATT,
) -> dict[str, torch.Tensor]:
    """The deformation plug-in's weighted terms of eq. 12 present in ``maps``.

    maps: per-ray extras name -> [R] (``dx_face_norm``, ``dx_torso_norm``, ``att_lip``,
    ``att_eye``, ``att_torso``); masks: RegionMasks (or mapping) of bool [R] with face, torso,
    lips, eyes at the rays. -> ``lokitalk_delta`` = λ_Δ L_Δ (eq. 7) when both offset norms are
    given, ``lokitalk_att`` = λ_att L_att (eqs. 8-9) when any attention score is given (a
    joint "O+D" field, with neither, gets no term); both averaged over the rays. The rest of
    eq. 12 is assembled by :func:`lokitalk_plugins.pipeline.eq12_loss`.
    """
    terms: dict[str, torch.Tensor] = {}
    if "dx_face_norm" in maps and "dx_torso_norm" in maps:
        dev = maps["dx_face_norm"].device
        face, torso = _get(masks, "face").to(dev), _get(masks, "torso").to(dev)
        reg = region_regularization(maps["dx_face_norm"], maps["dx_torso_norm"], face, torso)
        terms[DELTA_TERM] = lambda_delta * reg
    scores = {k: v for k, v in maps.items() if k in ATTENTION_REGIONS}
    if scores:
        masks_at = {k: m.to(scores[k].device) for k, m in attention_masks(masks).items()}
        terms[ATT_TERM] = lambda_att * attention_regularization(scores, masks_at)
    return terms
