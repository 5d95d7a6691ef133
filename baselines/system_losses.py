"""Loss pieces of ``TalkingHeadSystem``: the colour term (plain or region-weighted, LokiTalk
eq. 6), LPIPS loaded once with a single warning when its weights are absent, and the choice of
the step's rays for an LPIPS term (lips crop, lips patches, or LokiTalk's late patches).
"""

from __future__ import annotations

import warnings

import torch

from lokitalk_plugins.losses import lpips_weight, ray_mse, region_weight_map, weighted_color_loss

__all__ = ["LazyLPIPS", "colour_loss", "late_lpips_weight"]


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
