"""LokiTalk's total loss (eq. 12) and its LPIPS schedule (sec. 4, implementation details).

    L = L_color + λ_Δ L_Δ + λ_att L_att + λ_α L_α + λ_lpips L_lpips        (eq. 12)

Defaults from the paper: λ_α = 1e-4, λ_Δ = 1e-5 in every step, λ_lpips = 0 for the first 80%
of the steps then 5e-3 (:func:`lpips_weight`). The paper gives no λ_att: we use 1e-4, the
weight ER-NeRF gives its own region-attention terms.
"""

from __future__ import annotations

import math

import torch

from .basic import alpha_entropy
from .region import (
    _get,
    attention_masks,
    attention_regularization,
    region_regularization,
    region_weight_map,
    weighted_color_loss,
)

__all__ = [
    "LAMBDA_ALPHA",
    "LAMBDA_ATT",
    "LAMBDA_DELTA",
    "LAMBDA_LPIPS",
    "LPIPS_START_FRACTION",
    "lokitalk_total_loss",
    "lpips_weight",
]

LAMBDA_ALPHA = 1e-4
LAMBDA_DELTA = 1e-5
LAMBDA_ATT = 1e-4  # our choice (not in the paper), as ER-NeRF's attention terms
LAMBDA_LPIPS = 5e-3
LPIPS_START_FRACTION = 0.8


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


def lokitalk_total_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    masks=None,
    maps: dict[str, torch.Tensor] | None = None,
    weights_sum: torch.Tensor | None = None,
    lpips: torch.Tensor | None = None,
    color_weights: torch.Tensor | None = None,
    lambda_delta: float = LAMBDA_DELTA,
    lambda_att: float = LAMBDA_ATT,
    lambda_alpha: float = LAMBDA_ALPHA,
    lambda_lpips: float = 0.0,
    reduction: str = "mean",
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The total loss of LokiTalk (eq. 12) from what the renderer returned.

    pred, target: [R, 3]; masks: RegionMasks (or mapping) of bool [R] at the sampled pixels,
    or None; maps: per-ray extras name -> [R] (``dx_face_norm``, ``dx_torso_norm``,
    ``att_lip``, ``att_eye``, ``att_torso``); weights_sum: [R] accumulated alpha, or None;
    lpips: a precomputed LPIPS value (scalar, e.g. from
    :class:`~lokitalk_plugins.metrics.LPIPSLoss` on a patch), or None; color_weights: [R]
    (default: :func:`region_weight_map` of ``masks`` with its default weights, or ones);
    lambda_*: weights of eq. 12 (``lambda_lpips`` from :func:`lpips_weight`); reduction: of
    the per-ray terms (``'mean'`` or ``'sum'``).

    A term is included when its inputs are given: ``delta`` needs masks and both offset
    norms, ``att`` needs masks and at least one ``att_*`` map, ``alpha`` needs weights_sum,
    ``lpips`` needs lpips and lambda_lpips > 0. Returns (total scalar, terms) where terms
    holds the unweighted value of each included term (``color``, ``delta``, ``att``,
    ``alpha``, ``lpips``); total = color + Σ λ_k term_k.
    """
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
    maps = maps or {}
    if color_weights is None:
        if masks is not None:
            color_weights = region_weight_map(masks).to(pred.device)
        else:
            color_weights = pred.new_ones(pred.shape[0])
    terms = {"color": weighted_color_loss(pred, target, color_weights, reduction)}
    total = terms["color"]
    if masks is not None and "dx_face_norm" in maps and "dx_torso_norm" in maps:
        face, torso = _get(masks, "face"), _get(masks, "torso")
        terms["delta"] = region_regularization(
            maps["dx_face_norm"], maps["dx_torso_norm"], face, torso, reduction
        )
        total = total + lambda_delta * terms["delta"]
    scores = {k: v for k, v in maps.items() if k.startswith("att_")}
    if masks is not None and scores:
        terms["att"] = attention_regularization(scores, attention_masks(masks), reduction)
        total = total + lambda_att * terms["att"]
    if weights_sum is not None:
        ent = alpha_entropy(weights_sum)
        terms["alpha"] = ent.mean() if reduction == "mean" else ent.sum()
        total = total + lambda_alpha * terms["alpha"]
    if lpips is not None and lambda_lpips > 0:
        terms["lpips"] = lpips
        total = total + lambda_lpips * lpips
    return total, terms
