"""What a wrapped model answers the training pipeline: the backbone's and each plug-in's
parameter groups, loss terms and callbacks, summed (the part of
:class:`~.wrap.WrappedModel` that :class:`~lokitalk_plugins.pipeline.TalkingHeadModel` asks).

- ``param_groups(stage)``: the backbone's (through its adapter), the deformation field's
  (unless ``train_deformation`` is False),
  ID-AKT's, and the Audio2Motion VAE's when it trains (``train_audio2motion``, "mlp");
- ``loss_terms(result, batch, progress)``: the backbone's regularisers (through the adapter)
  and, with a deformation field, LokiTalk's λ_Δ L_Δ and λ_att L_att (λ's bound on ``wrap``);
- ``training_callbacks()``: the backbone's own (through the adapter), RSDF's head-pose scale
  from the training frames (``RSDF.pose_norm``, "prepare", once) and ID-AKT's identity from
  the first training frame ("prepare"), when the wrap fine-tunes from a bundle.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from lokitalk_plugins.losses import lokitalk_regularisers
from lokitalk_plugins.pipeline import TrainBatch, TrainingCallback

__all__ = ["TrainingPlug"]


def merge_groups(*parts: dict[str, list[nn.Parameter]]) -> dict[str, list[nn.Parameter]]:
    """Group name -> the parameters every part gives it, in order."""
    out: dict[str, list[nn.Parameter]] = {}
    for part in parts:
        for name, params in part.items():
            out.setdefault(name, []).extend(params)
    return out


class TrainingPlug:
    """Mixin of WrappedModel: needs ``adapter``, ``rsdf``, ``idakt``, ``audio2motion``,
    ``train_audio2motion``, ``train_deformation``, ``lambda_delta``, ``lambda_att`` and the
    pending encoder."""

    def param_groups(self, stage: str) -> dict[str, list[nn.Parameter]]:
        """What trains in ``stage``, by learning-rate group."""
        parts = [self.adapter.param_groups(stage)]
        if self.rsdf is not None and self.train_deformation:
            parts.append(self.rsdf.param_groups(stage))
        if self.idakt is not None:
            parts.append(self.idakt.param_groups(stage))
        if self.audio2motion is not None and self.train_audio2motion and stage != "torso":
            parts.append({"mlp": list(self.audio2motion.parameters())})
        return merge_groups(*parts)

    def loss_terms(self, result, batch: TrainBatch, progress: float) -> dict[str, torch.Tensor]:
        """The backbone's regularisers + λ_Δ L_Δ and λ_att L_att from the per-ray maps
        ``result.extras`` and the masks ``batch.rays.masks`` (with a deformation field). With
        an ``audio_condition`` the backbone's terms see its feature of the frame
        (``batch.audio_feature``), the F_a its field reads."""
        if self.audio_condition is not None and batch.audio_feature is None:
            windows = batch.frame.audio.unsqueeze(0).float()
            with torch.no_grad():  # the condition the field reads (frozen)
                feature = self.audio_condition.feature(windows)
            batch = dataclasses.replace(batch, audio_feature=feature)
        terms = dict(self.adapter.loss_terms(result, batch, progress))
        if self.rsdf is not None:
            extra = lokitalk_regularisers(
                result.extras, batch.rays.masks, self.lambda_delta, self.lambda_att
            )
            clash = set(extra) & set(terms)
            if clash:
                raise ValueError(f"regulariser names clash with the backbone's: {sorted(clash)}")
            terms.update(extra)
        return terms

    def regularisers(self, res, rays, frame, progress: float) -> dict[str, torch.Tensor]:
        """:meth:`loss_terms` with rays and frame apart (the earlier name)."""
        return self.loss_terms(res, TrainBatch(rays=rays, frame=frame), progress)

    def training_callbacks(self) -> list[TrainingCallback]:
        """The backbone's own (through the adapter: the DH-NeRF's codes from its extractor)
        and ID-AKT's identity initialisation from the first frame, while it is pending."""
        own = list(self.adapter.training_callbacks())
        if self.rsdf is not None and getattr(self.rsdf, "pose_norm", False):
            own.append(TrainingCallback("prepare", self.fit_pose))
        if self.pending_identity:
            return [*own, TrainingCallback("prepare", self.init_identity)]
        return own

    def fit_pose(self, dataset) -> None:
        """RSDF's ``pose_norm`` scale from the training frames' head poses
        (``dataset.poses_6d``), once (:meth:`~lokitalk_plugins.rsdf.RSDF.fit_pose`)."""
        poses = getattr(dataset, "poses_6d", None)
        if poses is None:
            raise ValueError("RSDF.pose_norm needs the training frames' head poses "
                             "(dataset.poses_6d); this dataset has none")  # fmt: skip
        self.rsdf.fit_pose(poses)
