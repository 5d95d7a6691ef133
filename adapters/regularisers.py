"""LokiTalk's deformation regularisers for a wrapped model, from the renderer's per-ray maps.

    λ_Δ L_Δ     (eq. 7: offsets outside their region, λ_Δ = 1e-5)
    λ_att L_att (eqs. 8-9: attention scores outside their region, λ_att = 1e-4)

both averaged over the step's rays (see :mod:`lokitalk_plugins.losses.region`).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from lokitalk_plugins.losses import (
    ATTENTION_REGIONS,
    LAMBDA_ATT,
    LAMBDA_DELTA,
    attention_masks,
    attention_regularization,
    region_regularization,
)

__all__ = ["DELTA_TERM", "ATT_TERM", "lokitalk_regularisers"]

DELTA_TERM, ATT_TERM = "lokitalk_delta", "lokitalk_att"


def lokitalk_regularisers(
    maps: Mapping[str, torch.Tensor],
    masks,
    lambda_delta: float = LAMBDA_DELTA,
    lambda_att: float = LAMBDA_ATT,
) -> dict[str, torch.Tensor]:
    """The weighted LokiTalk terms present in ``maps``.

    maps: per-ray extras name -> [R] (``dx_face_norm``, ``dx_torso_norm``, ``att_lip``,
    ``att_eye``, ``att_torso``); masks: RegionMasks (or mapping) of bool [R] with face, torso,
    lips, eyes at the rays. -> ``lokitalk_delta`` = λ_Δ L_Δ when both offset norms are given,
    ``lokitalk_att`` = λ_att L_att when any attention score is given (a joint "O+D" field,
    with neither, gets no term).
    """
    terms: dict[str, torch.Tensor] = {}
    if "dx_face_norm" in maps and "dx_torso_norm" in maps:
        dev = maps["dx_face_norm"].device
        face, torso = _mask(masks, "face").to(dev), _mask(masks, "torso").to(dev)
        reg = region_regularization(maps["dx_face_norm"], maps["dx_torso_norm"], face, torso)
        terms[DELTA_TERM] = lambda_delta * reg
    scores = {k: v for k, v in maps.items() if k in ATTENTION_REGIONS}
    if scores:
        masks_at = {k: m.to(scores[k].device) for k, m in attention_masks(masks).items()}
        terms[ATT_TERM] = lambda_att * attention_regularization(scores, masks_at)
    return terms


def _mask(masks, name: str) -> torch.Tensor:
    return masks[name] if isinstance(masks, Mapping) else getattr(masks, name)
