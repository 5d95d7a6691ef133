"""The grouped options of :class:`~.system.TalkingHeadSystem`: small frozen dataclasses, each
gin-configurable under its own name (``configs/base.gin`` binds ``TalkingHeadSystem.grid =
@GridUpkeep()`` and the others, so ``GridUpkeep.fraction = 0.25`` takes effect).

The system's former flat keywords stay valid, in Python and in gin files
(``TalkingHeadSystem.grid_fraction = 0.25``, ``TalkingHeadSystem.lips_patches = 4``):
:data:`FLAT_NAMES` maps each onto its group's field, and :func:`apply_flat` applies them over
the groups (a flat keyword wins over its group's value).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import torch
from torch import nn

from lokitalk_plugins.errors import OptionError

__all__ = ["FLAT_NAMES", "REFRESH_PRECISIONS", "FramePlugins", "GridUpkeep", "GroupRates",
           "LateLPIPS", "LipsSampling", "SampleCap", "apply_flat", "cpu_autocast_dtype",
           "refresh_dtype"]  # fmt: skip

REFRESH_PRECISIONS = ("float32", "bfloat16", "auto")  # also FramePlugins.neural_*precision's
REFRESH_CODES = ("test", "frames", "both")  # GridUpkeep.codes


@dataclass(frozen=True)
class GroupRates:
    """Default learning rates of the groups a model's ``param_groups`` returns: "grid" 5e-3,
    "mlp" 5e-4, "audio_att" 5e-4, "id_embeddings" 1e-3 (a fine-tuned identity, LokiTalk),
    "idakt" 1e-4 and "camera" 1e-5 (the originals' learnt camera offsets), and of the
    system's own group "neural" 5e-4 (the neural renderer's 2D module,
    ``FramePlugins.neural_renderer``, whatever the backbone's rates); ``Trainer.lr`` overrides
    them per stage."""

    grid: float = 5e-3
    mlp: float = 5e-4
    audio_att: float = 5e-4
    id_embeddings: float = 1e-3
    idakt: float = 1e-4
    camera: float = 1e-5
    neural: float = 5e-4

    def as_dict(self) -> dict[str, float]:
        """{group name: learning rate}, in the pipeline's order of groups."""
        return {name: float(v) for name, v in asdict(self).items()}


@dataclass(frozen=True)
class GridUpkeep:
    """How the occupancy grid is refreshed while training.

    mode: "full" (the originals: every 16 steps, all cells, or a random ``fraction`` of them
    with the others only decaying), "spread" (updates every round(16 * fraction) steps of a
    ``fraction`` share, decay matched so a cell's expected refresh interval and decay per step
    are the originals'; :mod:`lokitalk_plugins.render.upkeep`) or "sparse" (every 16 steps the
    occupied cells, their neighbours and a random ``fraction`` of the others); fraction: share
    of cells refreshed per update (1.0 as the originals); frames: training frames whose
    conditions a refresh draws (cell i takes frame i mod frames; 1 = one frame, as the
    originals); deformed: a model with a deformation plug-in refreshes a world cell from the
    canonical density at its deformed point (False: at the undeformed point; no effect on a
    bare backbone); box_only: cells outside the ray-marching box are never refreshed (False,
    the originals'); lattice: the refresh's jitter is drawn once per grid line of each axis,
    not once per cell (each cell's point is still uniform inside it at every refresh, see
    :func:`~lokitalk_plugins.render.upkeep.lattice_axes`), so a model with
    ``grid_density_lattice`` (ER-NeRF's tri-planes) encodes r^2 points per plane instead of
    r^3 points (False, the originals'); precision: the refresh's density in "float32" (the
    originals'), "bfloat16" (autocast on a CPU with bfloat16 instructions, or CUDA; the
    grid's values stay float32) or "auto" (bfloat16 where a CPU has the instructions);
    every: steps between two updates of "full" and "sparse" (16, the originals'; "spread"
    scales its own interval by every / 16), with the decay per update raised to
    decay^(every / 16) so a cell's decay per training step stays the originals'
    (:meth:`~lokitalk_plugins.render.grid.OccupancyGrid.set_every`); codes: the frame
    conditions the density is read under, "test" (the model's test-time condition, as
    ``grid_density`` gives it; the originals'), "frames" (the drawn training frames' own
    conditions, as training renders them: a model whose per-frame codes change its density,
    DH-NeRF's C_ex, must offer ``grid_density_frames``) or "both" (the larger of the two
    densities, so a cell either condition fills stays sampled); deformed_lattice: None (off,
    the default) or, with ``lattice`` and a deformation plug-in on a backbone whose encoding
    a lattice can share (a wrapped ER-NeRF), the deformed refresh on the lattice: each cell's
    lattice point x is deformed to x' and the cell reads the backbone's density at the lattice
    point of the canonical cell x' falls in (the planes encoded once per refresh, as the
    undeformed lattice path does) instead of at x' itself, i.e. at a point at most one cell
    diagonal from x' and, like x', uniform inside a cell; 0 deforms every cell's point
    exactly, R >= 2 reads the deformation by trilinear interpolation from its values at the
    R^3 vertices of a lattice over the grid's cube, evaluated once per refresh (e.g. 33: a
    vertex every 4 cells of a 128^3 grid); elsewhere (no deformation plug-in, ID-AKT's
    identity offset, a backbone without a lattice encoder) it changes nothing
    (:meth:`~lokitalk_plugins.adapters.wrap.WrappedModel.grid_density_lattice`).
    lean: the density by the model's ``grid_density_lean`` where it has one (False, the
    originals'): equal to ``grid_density`` up to float rounding, cheaper (the rebuilt RAD-NeRF
    and ER-NeRF compute the density's row of sigma_net's last layer alone, and RAD-NeRF
    takes one frame's F_a into ambient_net's first layer as a bias instead of concatenating
    it to every point's encoding; a wrapped backbone under one static canonical space reads
    its adapter's ``static_sigma``); the lattice path (``lattice``) has its own lean form.
    "full" with one frame, deformed=False (or a bare backbone), lattice False, lean False and
    float32 is bit for bit the originals' refresh."""

    mode: str = "full"
    fraction: float = 1.0
    frames: int = 1
    deformed: bool = True
    box_only: bool = False
    lattice: bool = False
    precision: str = "float32"
    every: int = 16
    codes: str = "test"
    deformed_lattice: int | None = None
    lean: bool = False

    def __post_init__(self):  # the mode is checked by the grid (OccupancyGrid.set_upkeep)
        if int(self.frames) < 1:
            raise ValueError(f"grid_frames must be >= 1, got {self.frames}")
        if isinstance(self.every, bool) or int(self.every) != self.every or self.every < 1:
            raise OptionError(f"GridUpkeep.every must be a whole number of steps >= 1, got "
                              f"{self.every!r} (16: the originals')")  # fmt: skip
        object.__setattr__(self, "every", int(self.every))
        object.__setattr__(self, "frames", int(self.frames))
        if self.precision not in REFRESH_PRECISIONS:
            raise OptionError(
                f"GridUpkeep.precision must be one of {REFRESH_PRECISIONS}, got {self.precision!r}"
            )
        v = self.deformed_lattice
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v == 1 or v < 0):
            raise OptionError(f"GridUpkeep.deformed_lattice must be None (off), 0 (the exact "
                              f"deformation) or vertices per axis >= 2, got {v!r}")  # fmt: skip
        if v is not None and not self.lattice:
            raise OptionError(f"GridUpkeep.deformed_lattice = {v} reads the lattice's "
                              "canonical cells: set GridUpkeep.lattice = True as well")  # fmt: skip
        if self.codes not in REFRESH_CODES:
            raise OptionError(f"GridUpkeep.codes must be one of {REFRESH_CODES}, got "
                              f"{self.codes!r} ('test': the originals')")  # fmt: skip


def refresh_dtype(precision: str, cpuinfo="/proc/cpuinfo") -> torch.dtype | None:
    """GridUpkeep.precision -> the refresh's autocast dtype (None: float32); see
    :func:`cpu_autocast_dtype`."""
    return cpu_autocast_dtype(precision, "GridUpkeep.precision", cpuinfo)


def cpu_autocast_dtype(precision: str, option: str, cpuinfo="/proc/cpuinfo") -> torch.dtype | None:
    """A precision option ("float32", "bfloat16" or "auto") -> the CPU autocast dtype (None:
    float32). "bfloat16" on a CPU without bfloat16 instructions is refused in one line naming
    ``option``; "auto" takes bfloat16 only where
    :func:`~lokitalk_plugins.train.runtime.cpu_bf16_support` finds them."""
    from lokitalk_plugins.train.runtime import BF16_CPU_FLAGS, cpu_bf16_support

    if precision == "float32":
        return None
    if cpu_bf16_support(cpuinfo) is not None:
        return torch.bfloat16
    if precision == "bfloat16":
        raise OptionError(
            f"{option} = 'bfloat16': this CPU has no bfloat16 instructions "
            f"({' / '.join(BF16_CPU_FLAGS)} not in {cpuinfo}); use 'float32' or 'auto'"
        )
    return None


@dataclass(frozen=True)
class LipsSampling:
    """The lips stage's rays: the lips crop at LPIPS ``weight`` (0.01), alternating, when
    ``patches`` > 0, with that many random ``patch_size``^2 patches at LPIPS ``patch_weight``
    (ER-NeRF: 64 of 32x32 at 0.1)."""

    weight: float = 0.01
    patches: int = 0
    patch_size: int = 32
    patch_weight: float = 0.1


@dataclass(frozen=True)
class LateLPIPS:
    """LokiTalk's late LPIPS: at ``weight`` on ``patches`` random patches after ``start`` of
    the head stage (LokiTalk: 5e-3 after 0.8; weight 0 = off)."""

    weight: float = 0.0
    start: float = 0.8
    patches: int = 4


@dataclass(frozen=True)
class FramePlugins:
    """The Disentangling Head NeRF's plug-ins that change the head stage's step (:mod:`.frames`).

    velocity: None (off) or the velocity loss (pred, pred_prev, target, target_prev) -> λ_v L_v
    (``@velocity_loss``, DH-NeRF eq. 7; the head stage then renders consecutive frame pairs at
    the same pixels); neural_renderer: None or a ``NeuralRenderer`` (DH-NeRF §3.2: head-stage
    rays at 1/scale, upsampled in 2D; its weights train in the "mlp" group, and only the head
    stage exists) whose ``in_dim`` is 3 + the size of the field output ``neural_feature`` (the
    backbones' 64-d "geo_feat"); neural_low_res_weight: the weight of a colour term on the
    rays themselves (0: off, the paper's loss): the low-resolution image (the rays' colour,
    over the block-averaged background) against the block averages of the frame, so the
    field's colour and density get a gradient of their own besides the one through the 2D
    module; neural_jitter: False (the rays at the blocks' centres at every step, as at
    inference) or True: each training step shifts the whole low-resolution ray lattice by a
    random whole number of full-resolution pixels (dy, dx) in [0, scale)^2, and the frame, its
    background and the loss with it (the pixels the shifted image still covers), so the field
    is trained through every pixel of each block instead of its centre alone; inference
    casts the unshifted lattice; neural_precision: the 2D module's precision at inference
    (rendering, evaluation), "float32", "bfloat16" (CPU autocast; refused on a CPU without
    bfloat16 instructions) or "auto" (bfloat16 where the CPU has the instructions): the
    convolutions then run on the CPU's bfloat16 units, the module's weights and the volume
    rendering stay float32; neural_train_precision: the 2D module's precision in training, the
    same choices ("float32": the trainer's precision; "bfloat16"/"auto": its convolutions under
    a CPU bfloat16 autocast, forward and backward, its weights, gradients, the rays and the
    loss float32); neural_frames: whole frames each head-stage step renders through the
    neural renderer (1: the trainer's frame alone; k > 1: it and k - 1 other training frames
    drawn at random by the step's generator, the same ray lattice and shift in each, the
    colour, alpha and low-resolution terms their means, the model's own terms on the
    trainer's frame): the field then sees k (h x w) rays a step, e.g. as many as a
    volume-rendered run's ``num_rays``; only with a neural renderer; with the velocity loss
    the step renders its consecutive pair at 1 or 2 (more is refused); neural_betas: the 2D
    module's Adam betas in its parameter group "neural" ((0.9, 0.99), RAD-NeRF's, whatever
    the backbone's optimiser: under ER-NeRF's beta1 = 0 at twice the rate the module
    collapsed in training; None: the trainer's ``Trainer.betas``)."""

    velocity: Callable | None = None
    neural_renderer: nn.Module | None = None
    neural_feature: str = "geo_feat"
    neural_low_res_weight: float = 0.0
    neural_jitter: bool = False
    neural_precision: str = "float32"
    neural_train_precision: str = "float32"
    neural_frames: int = 1
    neural_betas: tuple | None = (0.9, 0.99)

    def __post_init__(self):
        betas = self.neural_betas
        if betas is not None:
            ok = isinstance(betas, (tuple, list)) and len(betas) == 2
            if not ok or not all(
                isinstance(b, (int, float)) and not isinstance(b, bool) and 0 <= b < 1
                for b in betas
            ):
                raise OptionError(
                    "FramePlugins.neural_betas must be two numbers in [0, 1) (Adam's beta1, "
                    f"beta2) or None (the trainer's), got {betas!r}"
                )
            object.__setattr__(self, "neural_betas", tuple(float(b) for b in betas))
        if (
            isinstance(self.neural_frames, bool)
            or not isinstance(self.neural_frames, int)
            or self.neural_frames < 1
        ):
            raise OptionError(
                f"FramePlugins.neural_frames must be a whole number >= 1 (1: the "
                f"trainer's frame alone), got {self.neural_frames!r}"
            )
        if self.neural_frames > 1 and self.neural_renderer is None:
            raise OptionError(
                f"FramePlugins.neural_frames = {self.neural_frames} needs "
                "FramePlugins.neural_renderer: without it raise "
                "TalkingHeadSystem.num_rays instead"
            )
        if self.neural_frames > 2 and self.velocity is not None:
            raise OptionError(
                f"FramePlugins.neural_frames = {self.neural_frames} cannot be "
                "used with FramePlugins.velocity (which renders its own pair of "
                "frames a step): bind neural_frames = 1 or 2"
            )
        precisions = {"neural_precision": self.neural_precision,
                      "neural_train_precision": self.neural_train_precision}  # fmt: skip
        for name, value in precisions.items():
            if value not in REFRESH_PRECISIONS:
                raise OptionError(
                    f"FramePlugins.{name} must be one of {REFRESH_PRECISIONS}, got {value!r}"
                )


@dataclass(frozen=True)
class SampleCap:
    """Whether the cap of occupied samples a ray (``TalkingHeadSystem.max_samples``, 16 as the
    originals) rises while it cuts training rays short (:mod:`.sample_cap`).

    limit: 0 (the cap stays, the originals') or the largest cap; target: the share of a
    window's rays cut short (``cut_short``: the cap cut them while their alpha was below 0.95)
    above which the cap rises by ``max_samples``; window: head-stage steps per check; warmup:
    the share of the head stage before the first check (the grid and the field settle)."""

    limit: int = 0
    target: float = 0.1
    window: int = 200
    warmup: float = 0.1

    def __post_init__(self):
        if isinstance(self.limit, bool) or int(self.limit) != self.limit or self.limit < 0:
            raise OptionError(f"SampleCap.limit must be a whole number of samples >= 0 (0: the "
                              f"cap stays), got {self.limit!r}")  # fmt: skip
        if isinstance(self.window, bool) or int(self.window) != self.window or self.window < 1:
            raise OptionError(f"SampleCap.window must be a whole number of steps >= 1, got "
                              f"{self.window!r}")  # fmt: skip
        if not 0.0 < float(self.target) < 1.0:
            raise OptionError(f"SampleCap.target must be a share of rays in (0, 1), got "
                              f"{self.target!r}")  # fmt: skip
        if not 0.0 <= float(self.warmup) < 1.0:
            raise OptionError(f"SampleCap.warmup must be a share of the stage in [0, 1), got "
                              f"{self.warmup!r}")  # fmt: skip
        object.__setattr__(self, "limit", int(self.limit))
        object.__setattr__(self, "window", int(self.window))


# the system's former flat keyword -> (its group's keyword, the field)
FLAT_NAMES = {
    "lr_grid": ("rates", "grid"),
    "lr_mlp": ("rates", "mlp"),
    "lr_audio_att": ("rates", "audio_att"),
    "lr_id": ("rates", "id_embeddings"),
    "lr_idakt": ("rates", "idakt"),
    "lr_camera": ("rates", "camera"),
    "grid_upkeep": ("grid", "mode"),
    "grid_fraction": ("grid", "fraction"),
    "grid_frames": ("grid", "frames"),
    "grid_deformed": ("grid", "deformed"),
    "grid_box_only": ("grid", "box_only"),
    "lips_weight": ("lips", "weight"),
    "lips_patches": ("lips", "patches"),
    "lips_patch_size": ("lips", "patch_size"),
    "lips_patch_weight": ("lips", "patch_weight"),
    "late_lpips_weight": ("late_lpips", "weight"),
    "late_lpips_start": ("late_lpips", "start"),
    "late_lpips_patches": ("late_lpips", "patches"),
    "velocity": ("frames", "velocity"),
    "neural_renderer": ("frames", "neural_renderer"),
    "neural_feature": ("frames", "neural_feature"),
    "neural_low_res_weight": ("frames", "neural_low_res_weight"),
    "neural_jitter": ("frames", "neural_jitter"),
    "neural_precision": ("frames", "neural_precision"),
    "neural_train_precision": ("frames", "neural_train_precision"),
    "neural_frames": ("frames", "neural_frames"),
    "neural_betas": ("frames", "neural_betas"),
}


def apply_flat(groups: dict[str, object], flat: dict, known: list[str]) -> dict[str, object]:
    """``groups`` (group keyword -> its dataclass) with the ``flat`` keywords applied; an
    unknown keyword raises TypeError naming the close ones among ``known`` and the flat
    names."""
    unknown = sorted(set(flat) - set(FLAT_NAMES))
    if unknown:
        names = [*known, *FLAT_NAMES]
        close = sorted({c for u in unknown for c in difflib.get_close_matches(u, names, n=3)})
        hint = f" (did you mean {close}?)" if close else ""
        raise TypeError(
            f"TalkingHeadSystem: unknown option(s) {unknown}{hint}; the options are {names}"
        )
    changes: dict[str, dict] = {}
    for name, value in flat.items():
        group, field = FLAT_NAMES[name]
        changes.setdefault(group, {})[field] = value
    return {k: replace(v, **changes[k]) if k in changes else v for k, v in groups.items()}
