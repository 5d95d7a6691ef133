"""``TalkingHeadSystem``: any :class:`~.protocol.TalkingHeadModel` made trainable.

The system binds a frame's conditioning (audio windows, eye value, individual code, head
pose) into a field for the volume renderer, composites the head over the stage's background,
and trains the loss of :func:`~.objective.eq12_loss`: the colour term, λ_α alpha entropy (not
in the torso stage), the model's own ``loss_terms`` (not in the torso stage), LPIPS on the lips
crop or patches in the lips stage and LokiTalk's late LPIPS patches in the head stage. The
torso stage trains the 2D torso field over the static background with the head frozen.
Two of the Disentangling Head NeRF's plug-ins change the head stage's step (:mod:`.frames`):
the velocity loss on the same pixels of consecutive frames and the 2D neural renderer.

What trains, at which rate, and what runs before a stage come from the model
(``param_groups``, ``training_callbacks``); the system only sums them.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from lokitalk_plugins.data.audio import audio_window
from lokitalk_plugins.data.sampling import (
    RayBatch,
    sample_lips_crop,
    sample_patches,
    sample_random_rays,
)
from lokitalk_plugins.losses import LAMBDA_ALPHA, alpha_entropy
from lokitalk_plugins.render import VolumeRenderer, torso_pixel_coords
from lokitalk_plugins.train.system import STAGES, StepOutput

from .frames import frames_step, neural_frame
from .objective import LazyLPIPS, colour_loss, eq12_loss, late_lpips_weight
from .protocol import GROUPS, TrainBatch, preflight

__all__ = ["TalkingHeadSystem"]


class TalkingHeadSystem(nn.Module):
    """A TalkingHeadModel (a rebuilt RAD-NeRF / ER-NeRF, or ``wrap(...)`` of any backbone)
    made trainable.

    model: the model (checked by :func:`~.protocol.preflight`); num_rays: rays per step
    (65,536 in the originals; fewer on a CPU); max_samples: samples per ray in training (16);
    entropy_weight: λ_α (1e-4); lips_weight: LPIPS weight on the lips crop (0.01); lr_grid,
    lr_mlp, lr_audio_att, lr_id, lr_idakt, lr_camera: default learning rates of the groups
    "grid", "mlp", "audio_att", "id_embeddings" (a fine-tuned identity, LokiTalk: 1e-3),
    "idakt" and "camera" (the originals' learnt camera offsets, a fixed 1e-5);
    grid_fraction: share of occupancy cells refreshed per update (1.0 as the originals);
    grid_upkeep: "full" (the originals: every 16 steps, all cells, or a random ``grid_fraction``
    of them with the others only decaying) or "spread" (updates every round(16 * grid_fraction)
    steps of a ``grid_fraction`` share, decay matched so a cell's expected refresh interval and
    decay per step are the originals'; see :mod:`lokitalk_plugins.render.upkeep`) or "sparse"
    (every 16 steps the occupied cells, their neighbours and a random ``grid_fraction`` of the
    others); grid_frames: training frames whose conditions a refresh draws (at random from the
    training set; cell i takes frame i mod grid_frames; 1 = one frame, as the originals);
    grid_deformed: a model with a deformation plug-in refreshes a world cell from the canonical
    density at its deformed point under those frames' conditions (False: at the undeformed
    point, as before; no effect on a bare backbone). "full" with one frame and
    grid_deformed=False (or a bare backbone) is bit for bit the refresh before these options;
    grid_box_only: cells outside the ray-marching box are never refreshed (see
    :class:`~lokitalk_plugins.render.grid.OccupancyGrid`'s ``box_only``; False, the originals');
    eye_noise: uniform noise of that half-width on the eye value in training (ER-NeRF 0.05);
    lips_patches: > 0 alternates the lips crop with that many random lips_patch_size^2
    patches at LPIPS weight lips_patch_weight (ER-NeRF: 64 of 32x32 at 0.1); region_weights:
    None (plain MSE) or region -> colour weight (LokiTalk eq. 6); late_lpips_weight: LPIPS
    weight on ``late_lpips_patches`` random patches after ``late_lpips_start`` of the head
    stage (LokiTalk: 5e-3 after 0.8; 0 = off). velocity: None (off) or the velocity loss
    (pred, pred_prev, target, target_prev) -> λ_v L_v (``@velocity_loss``, DH-NeRF eq. 7; the
    head stage then renders consecutive frame pairs at the same pixels); neural_renderer: None
    or a ``NeuralRenderer`` (DH-NeRF §3.2: head-stage rays at 1/scale, upsampled in 2D; its
    weights train in the "mlp" group, and only the head stage exists) whose ``in_dim`` is 3 +
    the size of the field output ``neural_feature`` (the backbones' 64-d "geo_feat").
    """

    def __init__(
        self,
        model: nn.Module,
        num_rays: int = 4096,
        max_samples: int = 16,
        entropy_weight: float = LAMBDA_ALPHA,
        lips_weight: float = 0.01,
        lr_grid: float = 5e-3,
        lr_mlp: float = 5e-4,
        lr_audio_att: float = 5e-4,
        grid_fraction: float = 1.0,
        grid_upkeep: str = "full",
        grid_frames: int = 1,
        grid_deformed: bool = True,
        grid_box_only: bool = False,
        render_chunk: int = 8192,
        eye_noise: float = 0.0,
        lips_patches: int = 0,
        lips_patch_size: int = 32,
        lips_patch_weight: float = 0.1,
        region_weights: dict | None = None,
        late_lpips_weight: float = 0.0,
        late_lpips_start: float = 0.8,
        late_lpips_patches: int = 4,
        lr_id: float = 1e-3,
        lr_idakt: float = 1e-4,
        lr_camera: float = 1e-5,
        velocity: Callable | None = None,
        neural_renderer: nn.Module | None = None,
        neural_feature: str = "geo_feat",
    ):
        super().__init__()
        preflight(model)
        self.model = model
        self.num_rays, self.entropy_weight, self.lips_weight = num_rays, entropy_weight, lips_weight
        rates = (lr_grid, lr_mlp, lr_audio_att, lr_id, lr_idakt, lr_camera)
        self.lrs = dict(zip(GROUPS, rates))
        self.render_chunk, self.eye_noise = render_chunk, eye_noise
        self.lips_patches, self.lips_patch_size = lips_patches, lips_patch_size
        self.lips_patch_weight = lips_patch_weight
        self.region_weights = dict(region_weights) if region_weights is not None else None
        self.late_lpips = (float(late_lpips_weight), float(late_lpips_start), late_lpips_patches)
        if int(grid_frames) < 1:
            raise ValueError(f"grid_frames must be >= 1, got {grid_frames}")
        self.grid_frames, self.grid_deformed = int(grid_frames), bool(grid_deformed)
        model.grid.set_upkeep(grid_upkeep, grid_fraction)
        model.grid.box_only = bool(grid_box_only)
        self.renderer = VolumeRenderer(model.grid, max_samples=max_samples)
        self.velocity, self.neural_renderer = velocity, neural_renderer
        self.neural_feature = neural_feature
        self.dataset = None  # the training frames (for the velocity loss's pairs)
        self.stage = "head"
        self._audio_bank: torch.Tensor | None = None
        self._eye_bank: torch.Tensor | None = None
        self._lpips = LazyLPIPS("the lips stage trains with MSE on the lips crop only")
        self._late_lpips = LazyLPIPS("the last steps of the head stage train without LPIPS")

    # ------------------------------------------------------------------ set-up
    def prepare(self, dataset) -> None:
        """Before training: the model's "prepare" callbacks (e.g. ID-AKT's identity from the
        first frame), cells no training camera sees marked unseen, and the training frames'
        audio and eye values kept for the occupancy refreshes."""
        self.dataset = dataset
        for callback in self.model.training_callbacks():
            if callback.where == "prepare":
                callback.fn(dataset)
        self.model.grid.mark_unseen(
            dataset.poses, dataset.intrinsics.tolist(), dataset.H, dataset.W
        )
        windows = [audio_window(dataset.audio_features, a, dataset.num_audio_windows,
                                dataset.audio_att) for a in dataset.aud_ids]  # fmt: skip
        eyes = dataset.eye_values.reshape(-1, 1)
        self.set_occupancy_signals(torch.stack(windows), eyes, dataset.poses_6d)

    def set_occupancy_signals(self, windows: torch.Tensor, eyes: torch.Tensor, poses=None) -> None:
        """The audio windows [M, 8, K, T], eye values [M, 1] and head poses [M, 6] (None:
        zeros) the occupancy refresh draws its conditioning from (``grid_frames`` random
        frames per refresh)."""
        self._audio_bank, self._eye_bank = windows, eyes.reshape(-1, 1).float()
        self._pose_bank = None if poses is None else poses.reshape(-1, 6).float()

    def set_stage(self, stage: str) -> None:
        """Switch to ``stage``: what the model's ``param_groups(stage)`` returns trains, the
        rest is frozen."""
        if stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}, got {stage!r}")
        if stage == "torso" and not self.model.torso:
            raise ValueError("the torso stage needs a model built with torso=True")
        if stage != "head" and self.neural_renderer is not None:
            raise ValueError(
                f"the neural renderer trains the head stage only, not {stage!r}: set "
                "train.stages = ('head',) or unbind TalkingHeadSystem.neural_renderer"
            )
        self.stage = stage
        trained = {id(p) for ps in self.model.param_groups(stage).values() for p in ps}
        for p in self.model.parameters():
            p.requires_grad_(id(p) in trained)
        for p in self.neural_renderer.parameters() if self.neural_renderer is not None else ():
            p.requires_grad_(True)

    def parameter_groups(self) -> list[dict]:
        """The model's groups for the current stage with their default learning rates."""
        groups = dict(self.model.param_groups(self.stage))
        if self.neural_renderer is not None:
            groups["mlp"] = [*groups.get("mlp", []), *self.neural_renderer.parameters()]
        unknown = sorted(set(groups) - set(self.lrs))
        if unknown:
            raise ValueError(
                f"{type(self.model).__name__}.param_groups returned groups {unknown}; "
                f"the pipeline knows {list(GROUPS)}"
            )
        return [{"name": k, "params": list(v), "lr": self.lrs[k]} for k, v in groups.items() if v]

    # ------------------------------------------------------------------ fields
    def _conditioning(self, frame, training: bool, generator=None):
        m = self.model
        enc_a = m.encode_audio(frame.audio.unsqueeze(0).float())
        eye = frame.eye.reshape(1, 1).float()
        if training and self.eye_noise > 0:
            u = torch.rand(1, 1, generator=generator, dtype=eye.dtype)
            eye = eye + (2 * u - 1) * self.eye_noise
        code = m.individual_code(frame.index if training else None)
        return enc_a, eye, code

    def field(self, frame, training: bool, generator=None):
        """The head field of one frame: (x [S, 3], d [S, 3]) -> dict(sigma, color, ...)."""
        enc_a, eye, code = self._conditioning(frame, training, generator)
        pose = frame.pose.reshape(1, 6).to(enc_a.dtype)
        return lambda x, d: self.model(x, d, enc_a, eye, code, pose=pose)

    def _torso_background(self, frame, index: torch.Tensor, training: bool):
        """Torso (2D field) over the static background at pixels ``index`` [R] -> [R, 3]."""
        m, H, W = self.model, frame.H, frame.W
        px = torso_pixel_coords(index, H, W)
        code = m.individual_code(frame.index if training else None, torso=True)
        cond = frame.pose.reshape(1, 6) if m.torso_condition == "pose" else frame.c2w[None]
        out = m.forward_torso(px, cond, c=code)
        bc = frame.background.reshape(-1, 3)[index]
        return out["color"] * out["alpha"] + bc * (1 - out["alpha"]), out

    # ------------------------------------------------------------------ training
    def _rays(self, frame, step: int, total: int, generator) -> tuple[RayBatch, float, object]:
        """The step's rays, the LPIPS weight that goes with them and the LPIPS to use."""
        s = min(self.lips_patch_size, frame.H, frame.W)
        if self.stage == "lips":
            if self.lips_patches > 0 and step % 2:
                rays = sample_patches(frame, self.lips_patches, s, generator)
                return rays, self.lips_patch_weight, self._lpips
            return sample_lips_crop(frame), self.lips_weight, self._lpips
        weight, start, patches = self.late_lpips
        w = late_lpips_weight(step, total, weight, start) if self.stage == "head" else 0.0
        if w > 0 and self._late_lpips.get() is not None:
            return sample_patches(frame, patches, s, generator), w, self._late_lpips
        return sample_random_rays(frame, self.num_rays, generator), 0.0, None

    def training_step(self, frame, step: int, total_steps: int, generator) -> StepOutput:
        if self.stage == "head" and (self.velocity is not None or self.neural_renderer is not None):
            return frames_step(self, frame, step, total_steps, generator)
        rays, lpips_weight, lpips_term = self._rays(frame, step, total_steps, generator)
        bg = rays.background
        if self.stage == "torso":
            bg, _ = self._torso_background(frame, rays.index, training=True)
        rays_o, rays_d = self.model.camera_offset(rays.rays_o, rays.rays_d, frame.index)
        res = self.renderer.render_rays(
            rays_o, rays_d, bg, training=True,
            extras=self.model.ray_extras, field=self.field(frame, True, generator),
        )  # fmt: skip
        color, mse = colour_loss(res.rgb, rays.rgb, rays.masks, self.region_weights)
        alpha = model_terms = lpips = None
        if self.stage != "torso":
            alpha = alpha_entropy(res.weights_sum).mean()
            batch = TrainBatch(rays=rays, frame=frame)
            model_terms = self.model.loss_terms(res, batch, step / total_steps)
        lpips_fn = lpips_term.get() if lpips_term is not None and lpips_weight > 0 else None
        if lpips_fn is not None:
            shape = (-1, *rays.shape[-2:], 3)  # one crop [h, w] or P patches [P, s, s]
            lpips = lpips_fn(res.rgb.reshape(shape), rays.rgb.reshape(shape))
        loss, terms = eq12_loss(color, alpha, lpips, model_terms, self.entropy_weight,
                                lpips_weight)  # fmt: skip
        logs = {k: float(v.detach()) for k, v in terms.items() if k not in ("color", "alpha")}
        logs["psnr"] = float(-10 * torch.log10(mse.mean().detach().clamp_min(1e-10)))
        self.model.grid.record_samples(step, rays.index.numel(), res.weights.numel())
        logs["loss"] = float(loss.detach())
        return StepOutput(loss=loss, logs=logs)

    @torch.no_grad()
    def after_step(self, step: int, generator) -> None:
        """The model's "step" callbacks, then the occupancy refresh every
        ``grid.update_every`` steps (not in the torso stage)."""
        for callback in self.model.training_callbacks():
            if callback.where == "step" and step % callback.every == 0:
                callback.fn(step)
        if self.stage == "torso" or self._audio_bank is None:
            return
        if not self.model.grid.due(step):
            return
        self.model.grid.update(self.grid_density_fn(generator))

    def grid_density_fn(self, generator):
        """points [N, 3] -> sigma [N] under ``grid_frames`` random training frames'
        conditions (point i takes frame i mod grid_frames), from the model's
        ``grid_density`` (following its deformation when ``grid_deformed``)."""
        m, k = self.model, self.grid_frames
        if k == 1:  # one frame, drawn as the originals' refresh draws it
            i = torch.randint(0, self._audio_bank.shape[0], (1,), generator=generator)
        else:
            i = torch.randint(0, self._audio_bank.shape[0], (k,), generator=generator)
        enc_a = m.encode_audio(self._audio_bank[i].float())
        eye = self._eye_bank[i]
        pose = None if self._pose_bank is None else self._pose_bank[i].to(enc_a.dtype)

        def fn(x: torch.Tensor) -> torch.Tensor:
            if k == 1:
                return m.grid_density(x, enc_a, eye, pose, deformed=self.grid_deformed)
            j = torch.arange(x.shape[0], device=x.device) % k
            p = None if pose is None else pose[j]
            return m.grid_density(x, enc_a[j], eye[j], p, deformed=self.grid_deformed)

        return fn

    # ------------------------------------------------------------------ inference
    @torch.no_grad()
    def render_frame(self, frame) -> dict[str, torch.Tensor]:
        H, W = frame.H, frame.W
        bg = frame.background
        if self.model.torso and self.stage == "torso":
            index = torch.arange(H * W)
            bg = self._torso_background(frame, index, training=False)[0].reshape(H, W, 3)
        if self.neural_renderer is not None:
            return neural_frame(self, frame, bg)
        res = self.renderer.render_image(
            self.field(frame, training=False), frame.c2w, frame.intrinsics.tolist(), H, W, bg,
            chunk=self.render_chunk, progress=False,
        )  # fmt: skip
        return {"rgb": res.rgb.clamp(0, 1), "depth": res.depth, "alpha": res.weights_sum}
