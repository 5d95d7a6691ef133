"""The loss the pipeline trains, assembled in one place (LokiTalk eq. 12):

    L = L_color + λ_α L_α + λ_lpips L_lpips + λ_v L_v + Σ_k (the model's terms: λ_Δ L_Δ,
                                             λ_att L_att, a backbone's own regularisers)

L_color: plain MSE (the originals) or region-weighted (eq. 6); L_α: alpha entropy of the
accumulated weights (λ_α = 1e-4, ``TalkingHeadSystem.entropy_weight``); L_lpips: LPIPS on the
lips crop or patches with its stage's weight. The model's terms come weighted from the model
(``loss_terms``; λ_Δ, λ_att bound on ``wrap``). λ_v L_v: the Disentangling Head NeRF's
velocity loss (its eq. 7) on consecutive frames, weighted by ``velocity_loss.weight``
(``configs/velocity.gin``; the step that renders the frames is in :mod:`.frames`).
Also: the colour term, LokiTalk's late-LPIPS schedule, LPIPS loaded once with a single
warning when its weights are absent, and the step's ``cut_short`` log (the share of training
rays the cap of occupied samples a ray cut before they turned opaque: a soft field under a
deformation plug-in spends the cap in front of the surface; raise
``TalkingHeadSystem.max_samples`` when it stays high).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import torch

from lokitalk_plugins.losses import (
    LAMBDA_ALPHA,
    lpips_weight,
    ray_mse,
    region_weight_map,
    weighted_color_loss,
)

__all__ = ["LazyLPIPS", "colour_loss", "cut_short_log", "eq12_loss", "late_lpips_weight"]


def eq12_loss(
    color: torch.Tensor,
    alpha: torch.Tensor | None = None,
    lpips: torch.Tensor | None = None,
    model_terms: Mapping[str, torch.Tensor] | None = None,
    lambda_alpha: float = LAMBDA_ALPHA,
    lambda_lpips: float = 0.0,
    velocity: torch.Tensor | None = None,
    low_res: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The trained total (eq. 12) and its weighted terms.

    color: L_color scalar; alpha: L_α scalar (None: no term, e.g. the torso stage); lpips:
    L_lpips scalar (None or lambda_lpips == 0: no term); model_terms: name -> weighted scalar
    (the model's ``loss_terms``); velocity: λ_v L_v, already weighted (None: no term);
    low_res: the neural renderer's low-resolution colour term, already weighted (None: no
    term). -> (total scalar, {"color", "alpha", "lpips", "velocity", "low_res", model names:
    the weighted value each adds}); total == sum of the returned terms. A model term named
    like one of the pipeline's is refused (ValueError)."""
    terms = {"color": color}
    if alpha is not None:
        terms["alpha"] = lambda_alpha * alpha
    if lpips is not None and lambda_lpips > 0:
        terms["lpips"] = lambda_lpips * lpips
    if velocity is not None:
        terms["velocity"] = velocity
    if low_res is not None:
        terms["low_res"] = low_res
    for name, value in (model_terms or {}).items():
        if name in terms:
            raise ValueError(f"the model's loss term {name!r} clashes with the pipeline's")
        terms[name] = value
    total = terms["color"]
    for name, value in terms.items():
        if name != "color":
            total = total + value
    return total, terms


def colour_loss(pred: torch.Tensor, target: torch.Tensor, masks, region_weights=None):
    """pred, target [R, 3] -> (loss scalar, per-ray squared error [R]).

    region_weights: None (the originals' mean squared error) or region -> weight (eq. 6 with
    :func:`~lokitalk_plugins.losses.region_weight_map` at the rays' masks, e.g. eyes and lips
    2.0); the weighted loss is a mean over rays, so unit weights give the plain MSE."""
    mse = ray_mse(pred, target)
    if region_weights is None:
        return mse.mean(), mse
    weights = region_weight_map(masks, **dict(region_weights)).to(pred.device)
    return weighted_color_loss(pred, target, weights), mse


def cut_short_log(results) -> dict[str, float]:
    """The training renders of one step ([RenderResult]) -> {"cut_short": the share of their
    rays the cap of occupied samples a ray cut while their alpha stayed below
    :data:`~lokitalk_plugins.render.CUT_SHORT_ALPHA`}; {} when no march was capped."""
    masks = [m for m in (r.cut_short() for r in results) if m is not None]
    cut = torch.cat(masks) if masks else None
    if cut is None or cut.numel() == 0:
        return {}
    return {"cut_short": float(cut.float().mean())}


def late_lpips_weight(step: int, total: int, weight: float, start_fraction: float) -> float:
    """LokiTalk's schedule (sec. 4): 0 for the first ``start_fraction`` of the stage's steps,
    ``weight`` after (0 everywhere when weight is 0)."""
    if weight <= 0:
        return 0.0
    return lpips_weight(step, total, weight, start_fraction)


class LazyLPIPS:
    """LPIPS (AlexNet trunk) built on first use; None, with one warning, when the trunk's
    weights are not on this machine. ``what`` completes the warning: what trains instead."""

    def __init__(self, what: str):
        self.what, self._loss = what, None

    def get(self):
        if self._loss is None:
            from lokitalk_plugins.metrics import LPIPSLoss

            try:
                self._loss = LPIPSLoss(net="alex")
            except FileNotFoundError:
                warnings.warn(
                    f"LPIPS backbone weights are absent: {self.what} (set "
                    "LOKITALK_LPIPS_BACKBONE to AlexNet weights to add LPIPS)",
                    stacklevel=3,
                )
                self._loss = False
        return self._loss or None
