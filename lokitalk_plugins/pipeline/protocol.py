"""The one written contract between the training pipeline and a model: ``TalkingHeadModel``.

The pipeline (:class:`~.system.TalkingHeadSystem`) calls only these members; a bare rebuilt
backbone, a wrapped backbone (``wrap(...)``) and an adapted foreign model all provide them.

Radiance field and conditioning:

- ``encode_audio(windows [B, 8, K, T]) -> F_a [B, A]``, ``audio_in_dim: int`` (K)
- ``individual_code(index | None, torso=False) -> [1, I]``
- ``forward(x [N, 3], d [N, 3], enc_a [1, A], eye [1, 1], code [1, I], pose [1, 6] | None)
  -> dict`` with ``sigma`` [N], ``color`` [N, 3] and every name of ``ray_extras`` [N]
- ``encode_points(x) -> enc_x`` and ``density(enc_x, enc_a, eye) -> dict(sigma, ...)``,
  ``grid_density(x [N, 3], enc_a [1 or N, A], eye [1 or N, 1], pose [1 or N, 6] | None,
  deformed: bool) -> sigma [N]`` (the occupancy refresh: the density alone at world points;
  a model with a deformation follows it when ``deformed``), ``grid``: the
  :class:`~lokitalk_plugins.render.OccupancyGrid`,
  ``ray_extras: tuple[str, ...]`` (per-point maps the renderer sums along rays).
  Optional (:data:`OPTIONAL_MEMBERS`, found by :func:`optional_members`):
  ``grid_density_lattice(axes [3, r], enc_a [1, A], eye [1, 1], pose, deformed)
  -> fn(ijk [K, 3] int64) -> sigma [K]``, ``grid_density`` at the lattice points
  (axes[0, i], axes[1, j], axes[2, k]) for a field that can share work across a lattice
  (ER-NeRF encodes its planes once), or None for a refresh it has no lattice form of (the
  points are then evaluated by ``grid_density``); used by ``GridUpkeep.lattice`` refreshes,
  which pass ``deformed_lattice=`` too when ``GridUpkeep.deformed_lattice`` is set (a
  deforming model's canonical density read on the lattice, see
  ``adapters/lattice_refresh.py``; a model without a deformation ignores it);
  ``grid_density_frames(x [N, 3], frames [1 or N] int64, enc_a, eye, pose, deformed)
  -> sigma [N]``, ``grid_density`` under the training frames' own conditions (the frame
  ``frames[i]``'s codes, as training renders it) for a model whose per-frame codes change its
  density (DH-NeRF's C_ex); used by ``GridUpkeep.codes`` "frames" and "both";
  ``grid_density_lean(x, enc_a, eye, pose, deformed) -> sigma [N]``, ``grid_density`` in a
  cheaper form equal to it up to float rounding (RAD-NeRF's ambient net takes one frame's
  F_a as a bias; no feature rows of the last layer); used by ``GridUpkeep.lean``;
  ``fast_path_precision: str``, ``"bfloat16"`` while the model's forward runs its products
  under bfloat16 autocast of its own (a wrapped model's bfloat16 fast path), else
  ``"float32"``; the renderer then pads the sample count (``TalkingHeadSystem.pad_samples``)

Torso (a 2D field over the image): ``torso: bool``; ``torso_condition``: ``"pose"`` (the
[1, 6] head pose) or ``"c2w"`` (the [1, 4, 4] camera-to-world matrix);
``forward_torso(x [N, 2] in [-1, 1], cond, c=[1, I_t] or None) -> dict(alpha [N, 1],
color [N, 3])``. Camera: ``camera_offset(rays_o [R, 3], rays_d [R, 3], index) -> (rays_o,
rays_d)``, a frame's training rays with a learnt camera offset (unchanged without one).

What trains (each plug-in answers for itself; the pipeline only sums):

- ``param_groups(stage) -> {group name: [parameters]}``: what trains in ``stage`` (one of
  STAGES), by learning-rate group (:data:`GROUPS`); anything not returned stays frozen;
- ``loss_terms(result, batch, progress) -> {name: weighted scalar}``: the model's own terms
  of the loss (already multiplied by their λ), from the render ``result``, the
  :class:`TrainBatch` and the stage's progress in [0, 1];
- ``training_callbacks() -> [TrainingCallback]``: work at ``"prepare"`` (before a stage,
  with the dataset) or at ``"step"`` (after steps, with the step number).

:func:`preflight` lists in one error every member a model lacks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import torch

__all__ = [
    "GROUPS",
    "MODEL_MEMBERS",
    "TORSO_CONDITIONS",
    "ModelContractError",
    "TalkingHeadModel",
    "TrainBatch",
    "TrainingCallback",
    "optional_members",
    "preflight",
]

# learning-rate groups a model may return: hash/tri-plane tables, other weights, the audio
# attention over windows, a fine-tuned identity's embeddings, the rest of ID-AKT, learnt
# camera offsets
GROUPS = ("grid", "mlp", "audio_att", "id_embeddings", "idakt", "camera")
TORSO_CONDITIONS = ("pose", "c2w")


@dataclass
class TrainBatch:
    """What a step's loss terms see: ``rays`` (a RayBatch: index, rgb, masks, ...), the
    ``frame`` they come from (a FrameSample: H, W, landmarks, ...) and ``audio_feature``: the
    backbone's F_a of the frame [1, A] when a wrap feeds it one that is not the backbone's own
    (``wrap(audio_condition=...)``), so a loss fitted to F_a sees what the field reads (None:
    the backbone encodes the frame's audio itself)."""

    rays: Any
    frame: Any
    audio_feature: Any = None


@dataclass
class TrainingCallback:
    """``fn`` run by the pipeline at ``where``: ``"prepare"`` -> fn(dataset) before a stage;
    ``"step"`` -> fn(step) after every ``every``-th step."""

    where: str
    fn: Callable[[Any], Any]
    every: int = 1

    def __post_init__(self):
        if self.where not in ("prepare", "step"):
            raise ValueError(
                f"TrainingCallback.where must be 'prepare' or 'step', got {self.where!r}"
            )
        if int(self.every) < 1:
            raise ValueError(f"TrainingCallback.every must be >= 1, got {self.every}")


@runtime_checkable
class TalkingHeadModel(Protocol):
    """What the training pipeline needs from a model (see the module doc for shapes)."""

    grid: Any
    ray_extras: tuple[str, ...]
    torso: bool
    torso_condition: str
    audio_in_dim: int

    def encode_audio(self, windows: torch.Tensor) -> torch.Tensor: ...

    def individual_code(self, index: int | None, torso: bool = False) -> torch.Tensor: ...

    def encode_points(self, x: torch.Tensor) -> torch.Tensor: ...

    def density(self, enc_x, enc_a, eye) -> dict[str, torch.Tensor]: ...

    def grid_density(self, x, enc_a, eye, pose=None, deformed: bool = True) -> torch.Tensor: ...

    def forward(self, x, d, enc_a, eye, code, pose=None) -> dict[str, torch.Tensor]: ...

    def forward_torso(self, x, cond, c=None) -> dict[str, torch.Tensor]: ...

    def camera_offset(self, rays_o, rays_d, index: int) -> tuple[torch.Tensor, torch.Tensor]: ...

    def param_groups(self, stage: str) -> dict[str, list[torch.nn.Parameter]]: ...

    def loss_terms(self, result, batch: TrainBatch, progress: float) -> dict[str, torch.Tensor]: ...

    def training_callbacks(self) -> list[TrainingCallback]: ...


# every member of the protocol, in the order preflight reports them
MODEL_MEMBERS = (
    "grid", "ray_extras", "torso", "torso_condition", "audio_in_dim", "encode_audio",
    "individual_code", "encode_points", "density", "grid_density", "forward", "forward_torso",
    "camera_offset", "param_groups", "loss_terms", "training_callbacks",
)  # fmt: skip


# members a model may offer; the pipeline uses one only where :func:`optional_members` found it
OPTIONAL_MEMBERS = ("grid_density_lattice", "grid_density_frames", "grid_density_lean",
                    "fast_path_precision")  # fmt: skip


def optional_members(model: Any) -> frozenset[str]:
    """The :data:`OPTIONAL_MEMBERS` ``model`` offers, found once (as :func:`preflight` finds
    the required ones), so the pipeline asks the contract, not the model, what it can do."""
    return frozenset(name for name in OPTIONAL_MEMBERS if name in set(dir(model)))


class ModelContractError(TypeError):
    """A model does not implement :class:`TalkingHeadModel`; the message lists every gap."""


def preflight(model: Any) -> None:
    """Raise ModelContractError naming everything ``model`` lacks of :class:`TalkingHeadModel`
    (members absent, a torso_condition outside TORSO_CONDITIONS), all in one message."""
    present = set(dir(model))
    problems = [f"no {name!r}" for name in MODEL_MEMBERS if name not in present]
    if "torso_condition" in present and model.torso_condition not in TORSO_CONDITIONS:
        problems.append(f"torso_condition={model.torso_condition!r} (one of {TORSO_CONDITIONS})")
    if problems:
        raise ModelContractError(
            f"{type(model).__name__} is not a TalkingHeadModel: {'; '.join(problems)}. Wrap it "
            "(lokitalk_plugins.adapters.wrap) or add them (see lokitalk_plugins.pipeline.protocol)"
        )
