"""Pieces both rebuilt backbones share: the occupancy buffers every original checkpoint holds,
the per-frame individual codes, and the audio path."""

from __future__ import annotations

import torch
from torch import nn

from lokitalk_plugins.render import OccupancyGrid, expose_grid_buffers
from lokitalk_plugins.signals.audio import AudioAttNet, AudioNet, encode_audio

from .groups import original_param_groups

__all__ = ["AUDIO_DIMS", "attach_occupancy_grid", "TalkingHeadBase"]

# feature file -> K: DeepSpeech, wav2vec (esperanto), HuBERT, anything else
AUDIO_DIMS = {"deepspeech": 29, "esperanto": 44, "hubert": 1024, "default": 32}


def attach_occupancy_grid(
    module: nn.Module, grid_size: int = 128, torso: bool = False, bound: float = 1.0
) -> None:
    """The originals' ray-marching state, under their names.

    ``module.grid`` is an :class:`OccupancyGrid` over the head box (x in [-b, b], y in
    [-b/2, b/2], z in [-b, b]) whose buffers (aabb_train, aabb_infer, density_grid [1, G^3],
    density_bitfield [G^3 // 8], step_counter [16, 2]) show at the top level of the state_dict,
    as in the originals; with ``torso`` also density_grid_torso [G^2].
    """
    aabb = (-bound, -bound / 2, -bound, bound, bound / 2, bound)
    module.grid = OccupancyGrid(resolution=grid_size, bound=bound, aabb=aabb)
    expose_grid_buffers(module, "grid")
    if torso:
        module.register_buffer("density_grid_torso", torch.zeros(grid_size**2))


class TalkingHeadBase(nn.Module):
    """Audio network, audio attention and individual codes, named as in both originals; the
    training answers of :class:`~lokitalk_plugins.pipeline.TalkingHeadModel`
    (``param_groups``, ``loss_terms`` from the network's ``regularisers``, no callbacks)."""

    def __init__(
        self,
        audio_in_dim: int,
        audio_dim: int,
        att: int = 2,
        ind_num: int = 10000,
        ind_dim: int = 4,
        ind_dim_torso: int = 8,
        torso: bool = False,
        bound: float = 1.0,
    ):
        super().__init__()
        self.audio_in_dim, self.audio_dim, self.att = audio_in_dim, audio_dim, att
        self.bound, self.torso, self.ind_dim, self.ind_dim_torso = (
            bound,
            torso,
            ind_dim,
            ind_dim_torso,
        )
        self.audio_net = AudioNet(audio_in_dim, audio_dim)
        self.audio_att_net = AudioAttNet(audio_dim) if att > 0 else None
        self.individual_codes = nn.Parameter(torch.randn(ind_num, ind_dim) * 0.1)
        if torso:
            self.individual_codes_torso = nn.Parameter(torch.randn(ind_num, ind_dim_torso) * 0.1)

    def encode_audio(self, windows: torch.Tensor) -> torch.Tensor:
        """windows [B, 8, K, T] -> F_a [B, audio_dim]."""
        return encode_audio(self.audio_net, self.audio_att_net, windows)

    def individual_code(self, index: int | None, torso: bool = False) -> torch.Tensor:
        """The per-frame code [1, ind_dim]; code 0 when ``index`` is None (test time)."""
        codes = self.individual_codes_torso if torso else self.individual_codes
        return codes[0 if index is None else int(index)].unsqueeze(0)

    # --- what the training pipeline asks every model ----------------------------------------
    def param_groups(self, stage: str) -> dict[str, list[nn.Parameter]]:
        """What trains in ``stage`` by learning-rate group (see :mod:`..groups`)."""
        return original_param_groups(self, stage)

    def loss_terms(self, result, batch, progress: float) -> dict[str, torch.Tensor]:
        """The backbone's own regularisers on the render ``result`` of ``batch`` (rays and
        frame) at ``progress`` in [0, 1] of the stage."""
        return self.regularisers(result, batch.rays, batch.frame, progress)

    def training_callbacks(self) -> list:
        """None: the pipeline refreshes the occupancy grid itself."""
        return []
