"""The originals' own regularisers, from the renderer's per-ray maps: one definition, used by
the rebuilt networks (their ``regularisers``) and by the adapters for an original model
(which has no such method).

Each takes ``res`` (the render result: ``rgb`` [R, 3], ``extras`` name -> [R]), ``rays``
(``index`` [R], ``rgb`` [R, 3], ``masks``), ``frame`` (``W``, ``landmarks``) and
``progress`` s = step / iters in [0, 1], and returns name -> weighted scalar.
"""

from __future__ import annotations

import torch

from lokitalk_plugins.losses import masked_mean

from .regions import in_rect, lower_face_rect

__all__ = ["er_nerf_regularisers", "rad_nerf_regularisers"]


def rad_nerf_regularisers(res, rays, frame, progress: float) -> dict[str, torch.Tensor]:
    """RAD-NeRF's ambient loss: |ambient coordinate| summed along rays outside the lower
    face, weight 0.1 * s (audio should only move the lower face)."""
    outside = ~in_rect(rays.index, frame.W, lower_face_rect(frame.landmarks))
    return {"ambient": 0.1 * progress * masked_mean(res.extras["ambient_abs"], outside)}


def er_nerf_regularisers(res, rays, frame, progress: float) -> dict[str, torch.Tensor]:
    """ER-NeRF's region-attention terms, scaled by s: the audio attention norm outside the
    lower face (1e-4 s), the eye-audio cross term inside the face (1e-4 s), and
    uncertainty-weighted rays (per-ray error / (2 u^2) + log u, u the ray's uncertainty +
    0.01, 1e-4 s; the error term detached so it only trains the head)."""
    s = progress
    inside = in_rect(rays.index, frame.W, lower_face_rect(frame.landmarks))
    aud, eye = res.extras["ambient_aud"], res.extras["ambient_eye"]
    u = res.extras["uncertainty"] + 0.01
    err = ((res.rgb.detach() - rays.rgb) ** 2).mean(-1)
    return {
        "ambient_aud": 1e-4 * s * masked_mean(aud, ~inside),
        "eye_aud": 1e-4 * s * masked_mean(aud * eye, rays.masks.face),
        "uncertainty": 1e-4 * s * (err / (2 * u**2) + torch.log(u)).mean(),
    }
