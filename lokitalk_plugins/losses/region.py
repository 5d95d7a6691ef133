"""LokiTalk's region-aware losses (sec. 3.4): weighted colour (eq. 6), region regularisation of
the deformation offsets (eq. 7) and attention regularisation (eqs. 8-9).

All work on per-ray values ([R], as the renderer returns them: per-point maps weight-summed
along each ray) and boolean region masks at the sampled pixels ([R]). ``reduction`` is
``'mean'`` (default: over rays, so the weights λ of eq. 12 do not depend on the batch size),
``'sum'`` (the paper's literal sum over pixels) or ``'none'`` (the per-ray values [R]).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

__all__ = [
    "ATTENTION_REGIONS",
    "REGION_WEIGHTS",
    "attention_masks",
    "attention_regularization",
    "region_regularization",
    "region_weight_map",
    "weighted_color_loss",
]

# default colour weights per region (eq. 6): the paper weights the slow-converging eyes and
# mouth more without giving numbers; 2x is our choice
REGION_WEIGHTS = {"background": 1.0, "torso": 1.0, "face": 1.0, "eyes": 2.0, "lips": 2.0}

# attention score name -> the region mask it is allowed to be non-zero in (eq. 8)
ATTENTION_REGIONS = {"att_lip": "lips", "att_eye": "eyes", "att_torso": "torso"}


def _reduce(values: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    if reduction == "none":
        return values
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _get(masks, name: str) -> torch.Tensor:
    return masks[name] if isinstance(masks, Mapping) else getattr(masks, name)


def weighted_color_loss(
    pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    """Weighted colour error (LokiTalk eq. 6): L = Σ_i w_i · e_i over rays i.

    pred, target: [R, 3]; weights: [R] (e.g. :func:`region_weight_map`). e_i is the squared
    error averaged over the 3 channels (as :func:`~lokitalk_plugins.losses.ray_mse` and the
    backbones' MSE; the literal ||C_i - Ĉ_i||² of eq. 6 is 3 e_i), so with unit weights and
    ``reduction='mean'`` this is exactly the backbones' colour loss. -> scalar, or [R] for
    ``reduction='none'``.
    """
    err = ((pred - target) ** 2).mean(dim=-1)
    return _reduce(weights.to(err.dtype) * err, reduction)


def region_weight_map(
    masks,
    face: float = REGION_WEIGHTS["face"],
    eyes: float = REGION_WEIGHTS["eyes"],
    lips: float = REGION_WEIGHTS["lips"],
    torso: float = REGION_WEIGHTS["torso"],
    background: float = REGION_WEIGHTS["background"],
) -> torch.Tensor:
    """The weight matrix w of eq. 6 at the sampled pixels.

    masks: a :class:`~lokitalk_plugins.data.masks.RegionMasks` or mapping with bool ``face``,
    ``torso``, ``lips``, ``eyes`` [R] (or any common shape). Each pixel takes the weight of its
    most specific region: lips, then eyes, then face, then torso, else background.
    -> float [R].
    """
    face_m, torso_m = _get(masks, "face"), _get(masks, "torso")
    w = torch.full(face_m.shape, float(background), device=face_m.device)
    w = torch.where(torso_m.bool(), torch.full_like(w, torso), w)
    w = torch.where(face_m.bool(), torch.full_like(w, face), w)
    w = torch.where(_get(masks, "eyes").bool(), torch.full_like(w, eyes), w)
    return torch.where(_get(masks, "lips").bool(), torch.full_like(w, lips), w)


def region_regularization(
    dx_face_norm: torch.Tensor,
    dx_torso_norm: torch.Tensor,
    face_mask: torch.Tensor,
    torso_mask: torch.Tensor,
    reduction: str = "mean",
) -> torch.Tensor:
    """Region regularisation L_Δ (LokiTalk eq. 7): offsets outside their region cost.

    L_Δ = Σ_i ( ||Δx_face||_i (1 - w_face,i) + ||Δx_torso||_i (1 - w_torso,i) )
    dx_face_norm, dx_torso_norm: [R] per-ray offset magnitudes (per-point ||Δx|| weight-summed
    along the ray); face_mask, torso_mask: bool [R] (w = 1 inside the region, 0 elsewhere).
    -> scalar (``'mean'`` over rays by default), or [R] for ``reduction='none'``.
    """
    outside_face = 1.0 - face_mask.to(dx_face_norm.dtype)
    outside_torso = 1.0 - torso_mask.to(dx_torso_norm.dtype)
    return _reduce(dx_face_norm * outside_face + dx_torso_norm * outside_torso, reduction)


def attention_masks(masks) -> dict[str, torch.Tensor]:
    """Region masks -> the mask of each attention score (``att_lip``: lips, ``att_eye``: eyes,
    ``att_torso``: torso). masks: RegionMasks or mapping of bool [R]."""
    return {att: _get(masks, region) for att, region in ATTENTION_REGIONS.items()}


def attention_regularization(
    scores: Mapping[str, torch.Tensor],
    masks: Mapping[str, torch.Tensor],
    reduction: str = "mean",
) -> torch.Tensor:
    """Attention regularisation L_att (LokiTalk eqs. 8-9): scores outside their region cost.

    L_att-k = Σ_i |f_k,i (1 - m_k,i)|  (eq. 8);  L_att = Σ_k L_att-k  (eq. 9, eye + lip + torso)
    scores: name -> [R] per-ray attention scores (e.g. ``att_lip``, ``att_eye``,
    ``att_torso``); masks: the same names -> bool [R] (see :func:`attention_masks`). Every score
    needs a mask (KeyError otherwise); extra masks are ignored. -> scalar, or [R] for
    ``reduction='none'``.
    """
    if not scores:
        raise ValueError("attention_regularization needs at least one score")
    total = None
    for name, f in scores.items():
        if name not in masks:
            raise KeyError(f"no mask for attention score {name!r}; masks has {sorted(masks)}")
        term = (f * (1.0 - masks[name].to(f.dtype))).abs()
        total = term if total is None else total + term
    return _reduce(total, reduction)
