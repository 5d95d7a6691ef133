"""The Disentangling Head NeRF's disentangled loss (eq. 6) and the weights of its total (eq. 2).

    L_dis = λ_id ‖C_id − C̄_id‖² + λ_ex ‖C_ex − C̄_ex‖² + λ_al ‖C_al − C̄_al‖²
            + λ_ill ‖C_ill − C̄_ill‖²                                          (eq. 6)
    L_total = λ_rec L_rec + λ_dis L_dis + λ_v L_v,  λ_rec 1, λ_dis 5, λ_v 10     (eq. 2)

C_k: a frame's learnable code k; C̄_k: the referential code the pre-trained code extractor
gives for that frame. The paper does not give the λ_k: 1 each by default. For a batch of
frames the squared norms are averaged over the frames.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

__all__ = ["CODE_NAMES", "LAMBDA_DIS", "LAMBDA_REC", "disentangle_loss"]

CODE_NAMES = ("id", "ex", "al", "ill")
LAMBDA_REC, LAMBDA_DIS = 1.0, 5.0


def disentangle_loss(
    codes: Mapping[str, torch.Tensor],
    reference: Mapping[str, torch.Tensor],
    weights: Mapping[str, float] | None = None,
) -> torch.Tensor:
    """L_dis (eq. 6) -> scalar (not multiplied by λ_dis).

    codes, reference: name -> [B, d_k] (or [d_k]) for the names of CODE_NAMES present in
    ``codes``; weights: name -> λ_k (missing names: 1). Raises ValueError when a reference
    is missing or its shape differs from its code's.
    """
    weights = dict(weights or {})
    total = None
    for name, c in codes.items():
        ref = reference.get(name)
        if ref is None or ref.shape != c.shape:
            got = None if ref is None else list(ref.shape)
            raise ValueError(
                f"code C_{name} {list(c.shape)} has no reference of its shape (got {got})"
            )
        sq = (c - ref).pow(2).sum(-1).mean()
        term = float(weights.get(name, 1.0)) * sq
        total = term if total is None else total + term
    if total is None:
        raise ValueError("disentangle_loss needs at least one code")
    return total
