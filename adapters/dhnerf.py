"""DH-NeRF adapter: the Backbone contract on the Disentangling Head NeRF's names, so that
``wrap(DHNeRF(...), rsdf=...)`` puts LokiTalk's plug-ins in front of it.

The field's math is defined once, in :mod:`lokitalk_plugins.baselines.dhnerf.field`
(functions of a model with DHNeRF's names), which DHNeRF's own methods call too. Unlike
RAD-NeRF's and ER-NeRF's, its density reads the frame's code (C_id and C_ex* enter D_θ,
eq. 1), hence :meth:`DHNeRFAdapter.frame_density`; the code carries the weight w of the
frame's own C_ex (0 at test time: C_ex from F_lip, see the field module).

Unified canonical space (a deformation field, ``static_canonical``): F_lip is not an input of
D_θ (as RAD-NeRF's ambient path, it is bypassed) and C_ex* is the code's own C_ex, the
training frames' mean at test time; the deformation field carries the audio.
"""

from __future__ import annotations

import torch

from lokitalk_plugins.baselines.dhnerf import field as dh_field

from .contract import BackboneAdapter

__all__ = ["DHNeRFAdapter"]


class DHNeRFAdapter(BackboneAdapter):
    """The DH-NeRF's field from ``encoder``, ``sigma_net``, ``encoder_dir``, ``color_net``,
    ``expression_net``, ``audio_net`` (or its ``lipsync`` module) and the codes
    ``codes_id``, ``codes_ex``, ``codes_al``, ``codes_ill``. density returns sigma [N] and
    geo_feat (M) [N, feature_dim]; no per-point maps."""

    name = "dhnerf"
    required = (
        "encoder",
        "sigma_net",
        "encoder_dir",
        "color_net",
        "expression_net",
        "audio_net",
        "codes_id",
        "codes_ex",
        "codes_al",
        "codes_ill",
    )
    ray_extras = ()
    torso_condition_default = "pose"

    # --- conditioning -------------------------------------------------------------------
    def encode_audio(self, windows: torch.Tensor) -> torch.Tensor:
        """windows [B, 8, K, T] -> F_lip [B, audio_dim] (the lip-sync module's when given)."""
        return dh_field.encode_audio(self.model, windows)

    def individual_code(self, index: int | None, torso: bool = False) -> torch.Tensor:
        """[1, I] = [C_id, C_ex, C_al, C_ill, w] of frame ``index``, or the test-time code."""
        return dh_field.individual_code(self.model, index)

    def static_condition(self, enc_a, eye):
        """No F_lip (bypassed) and eye 0 (DH-NeRF reads no eye value)."""
        return None, torch.zeros_like(eye)

    # --- the field ------------------------------------------------------------------------
    def encode_points(self, x: torch.Tensor) -> torch.Tensor:
        """x: [N, 3] in [-bound, bound] -> [N, 32]."""
        return dh_field.encode_points(self.model, x)

    def density(self, enc_x, enc_a, eye, **nets) -> dict[str, torch.Tensor]:
        """enc_x [N, 32], enc_a (F_lip) [1 or N, A] or None, eye: unused -> sigma [N],
        geo_feat [N, F] under the test-time code (C_ex from enc_a): occupancy refreshes."""
        return self.frame_density(enc_x, enc_a, eye, self.individual_code(None), **nets)

    def frame_density(self, enc_x, enc_a, eye, code, **nets) -> dict[str, torch.Tensor]:
        """:meth:`density` under the frame's code [1, I]. ``nets`` is always empty: the adapter
        declares no ``dynamic_mlps`` (ID-AKT's static half only)."""
        return dh_field.density(self.model, enc_x, enc_a, code)

    def color(self, geo_feat: torch.Tensor, d: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """geo_feat [N, F], d [N, 3], code [1, I] (C_al, C_ill read) -> rgb [N, 3] in [0, 1]."""
        return dh_field.color(self.model, geo_feat, d, code)

    # --- what trains ----------------------------------------------------------------------
    def param_groups(self, stage: str) -> dict[str, list]:
        """The DH-NeRF's groups (its extractor and lip-sync module stay frozen)."""
        return dh_field.param_groups(self.model, stage)

    def loss_terms(self, result, batch, progress: float) -> dict[str, torch.Tensor]:
        """λ_dis L_dis and E's fit to the frame's C_ex (``dhnerf_dis``, ``dhnerf_ex_audio``)."""
        return dh_field.loss_terms(self.model, result, batch, progress)

    def training_callbacks(self) -> list:
        """The codes from the model's extractor at "prepare"."""
        return dh_field.training_callbacks(self.model)
