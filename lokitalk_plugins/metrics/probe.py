"""Linear probes: how much of a known factor a learnt representation carries, read as the
held-out R² of a ridge linear map from it (the disentanglement measures of the DH-NeRF's
codes, and its code extractor's read of people it never saw)."""

from __future__ import annotations

import numpy as np

__all__ = ["held_out_r2", "r2_probe"]


def r2_probe(x: np.ndarray, y: np.ndarray, fit: np.ndarray, ridge: float = 1.0) -> float:
    """R² (mean over the columns of y) on the frames not in ``fit`` of a ridge linear map
    x [F, d] -> y [F, t] fitted on the frames in ``fit`` (bool [F]); x is standardised with
    the fitted frames' mean and spread first, so ``ridge`` (λ of ‖w‖²) has one scale for
    every code, and a code of more dimensions than fitted frames does not interpolate noise.
    A code that does not vary over the frames (one shared by the clip's frames, as DHNeRF's
    ``shared_codes``) carries nothing about y: 0."""
    if not np.ptp(x, axis=0).any():
        return 0.0
    mu, sd = x[fit].mean(0), x[fit].std(0) + 1e-8
    xs = (x - mu) / sd
    xa = np.concatenate([xs, np.ones((len(x), 1))], 1)
    a, b = xa[fit], y[fit]
    reg = ridge * np.eye(a.shape[1])
    reg[-1, -1] = 0.0  # the intercept is not shrunk
    w = np.linalg.solve(a.T @ a + reg, a.T @ b)
    return held_out_r2(y[~fit], xa[~fit] @ w)


def held_out_r2(held: np.ndarray, pred: np.ndarray) -> float:
    """Mean R² over the columns of ``held`` [F, t] predicted by ``pred``, leaving out the
    columns that do not vary over the held-out frames (R² has no meaning there: any
    prediction would score 1 or minus a huge number); NaN when no column varies."""
    ss_res = ((held - pred) ** 2).sum(0)
    ss_tot = ((held - held.mean(0)) ** 2).sum(0)
    varies = ss_tot > 1e-12 * max(1.0, float(np.abs(held).max(initial=0.0)) ** 2) * len(held)
    if not varies.any():
        return float("nan")
    return float(np.mean(1 - ss_res[varies] / ss_tot[varies]))
