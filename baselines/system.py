"""Training and rendering a rebuilt backbone: the ``TrainableSystem`` both baselines share.

The system binds a frame's conditioning (audio windows, eye value, individual code) into a
field for the volume renderer, composites the head over the right background for the stage,
and adds the losses of the originals: per-ray MSE + 1e-4 * alpha entropy in every stage, the
backbone's own regularisers (see :meth:`regularisers` of each network), LPIPS on the lips crop
in the lips stage, and the 2D torso field in the torso stage with the head frozen.

LokiTalk's training (Table 2 and the plug-in configs) adds two options: region colour weights
(eq. 6, ``region_weights``) and LPIPS on random patches for the last 20% of a stage's steps
(``late_lpips_weight`` 5e-3, sec. 4). Trained on frames over ``bc.jpg`` (the reader's
``background='bc'``) with the head and lips stages only, the torso is part of the 3D field.
"""

from __future__ import annotations

import inspect

import torch
from torch import nn

from lokitalk_plugins.data.audio import audio_window
from lokitalk_plugins.data.sampling import (
    RayBatch,
    sample_lips_crop,
    sample_patches,
    sample_random_rays,
)
from lokitalk_plugins.losses import alpha_entropy
from lokitalk_plugins.render import VolumeRenderer
from lokitalk_plugins.train.system import STAGES, StepOutput

from .common import torso_pixel_coords
from .system_groups import parameter_groups, set_trainable
from .system_losses import LazyLPIPS, colour_loss, late_lpips_weight

__all__ = ["TalkingHeadSystem"]


def _takes_pose(model: nn.Module) -> bool:
    """True when the model's forward accepts the head pose (``pose=``, e.g. a wrapped model)."""
    return "pose" in inspect.signature(model.forward).parameters


class TalkingHeadSystem(nn.Module):
    """A RAD-NeRF or ER-NeRF model made trainable.

    model: the network (``RADNeRF`` / ``ERNeRF``); num_rays: rays per step (65,536 in the
    originals; fewer on a CPU); max_samples: samples per ray in training (16);
    entropy_weight: 1e-4; lips_weight: LPIPS weight on the lips crop (0.01); lr_grid, lr_mlp,
    lr_audio_att: learning rates of the parameter groups; grid_fraction: share of occupancy
    cells refreshed every 16 steps (1.0 as the originals; less is cheaper on a CPU);
    eye_noise: uniform noise of that half-width added to the eye value in training (ER-NeRF:
    0.05); lips_patches: when > 0, the lips stage alternates the lips crop with that many
    random lips_patch_size^2 patches (ER-NeRF: 64 of 32x32, LPIPS weight lips_patch_weight
    0.1); 0 keeps the lips crop on every step (RAD-NeRF); region_weights: None (plain MSE)
    or region -> colour weight (LokiTalk eq. 6, keys face, eyes, lips, torso, background);
    late_lpips_weight: LPIPS weight on ``late_lpips_patches`` random patches of
    ``lips_patch_size``^2 for the steps after ``late_lpips_start`` of the head stage (LokiTalk:
    5e-3 after 0.8; 0 = off). A model's ``frozen_prefixes`` (e.g. a frozen Audio2Motion) stay
    frozen in every stage; lr_id: learning rate of a fine-tuned ID-AKT identity's embeddings
    (the "id_embeddings" group, LokiTalk sec. 4: 1e-3 while the rest runs at 1e-4).
    """

    def __init__(
        self,
        model: nn.Module,
        num_rays: int = 4096,
        max_samples: int = 16,
        entropy_weight: float = 1e-4,
        lips_weight: float = 0.01,
        lr_grid: float = 5e-3,
        lr_mlp: float = 5e-4,
        lr_audio_att: float = 5e-4,
        grid_fraction: float = 1.0,
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
    ):
        super().__init__()
        self.model = model
        self.num_rays, self.entropy_weight, self.lips_weight = num_rays, entropy_weight, lips_weight
        self.lrs = {"grid": lr_grid, "mlp": lr_mlp, "audio_att": lr_audio_att,
                    "id_embeddings": lr_id, "idakt": lr_idakt}  # fmt: skip
        self.render_chunk, self.eye_noise = render_chunk, eye_noise
        self.lips_patches, self.lips_patch_size = lips_patches, lips_patch_size
        self.lips_patch_weight = lips_patch_weight
        self.region_weights = dict(region_weights) if region_weights is not None else None
        self.late_lpips = (float(late_lpips_weight), float(late_lpips_start), late_lpips_patches)
        self._frozen = tuple(getattr(model, "frozen_prefixes", ()))
        model.grid.fraction = grid_fraction
        self.renderer = VolumeRenderer(model.grid, max_samples=max_samples)
        self._pose_arg = _takes_pose(model)  # checked once, not on every step
        self.stage = "head"
        self._audio_bank: torch.Tensor | None = None
        self._eye_bank: torch.Tensor | None = None
        self._lpips = LazyLPIPS("the lips stage trains with MSE on the lips crop only")
        self._late_lpips = LazyLPIPS("the last steps of the head stage train without LPIPS")

    # ------------------------------------------------------------------ set-up
    def prepare(self, dataset) -> None:
        """Before training: cells no training camera sees are marked unseen, and the audio and
        eye values of the training frames are kept for the occupancy refreshes. A wrap
        fine-tuning from a pre-trained ID-AKT bundle takes its identity from the first frame."""
        if hasattr(self.model, "init_identity"):
            self.model.init_identity(dataset)
        grid = self.model.grid
        grid.mark_unseen(dataset.poses, dataset.intrinsics.tolist(), dataset.H, dataset.W)
        att = getattr(dataset, "audio_att", 2)
        windows = [audio_window(dataset.audio_features, a, dataset.num_audio_windows, att)
                   for a in dataset.aud_ids]  # fmt: skip
        self._audio_bank = torch.stack(windows)
        self._eye_bank = dataset.eye_values.reshape(-1, 1).float()

    def set_stage(self, stage: str) -> None:
        if stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}, got {stage!r}")
        if stage == "torso" and not getattr(self.model, "torso", False):
            raise ValueError("the torso stage needs a model built with torso=True")
        self.stage = stage
        set_trainable(self.model, stage, self._frozen)

    def parameter_groups(self) -> list[dict]:
        return parameter_groups(self.model, self.lrs)

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
        if self._pose_arg:
            pose = frame.pose.reshape(1, 6).to(enc_a.dtype)
            return lambda x, d: self.model(x, d, enc_a, eye, code, pose=pose)
        return lambda x, d: self.model(x, d, enc_a, eye, code)

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
        rays, lpips_weight, lpips_term = self._rays(frame, step, total_steps, generator)
        bg, logs = rays.background, {}
        if self.stage == "torso":
            bg, torso = self._torso_background(frame, rays.index, training=True)
        rays_o, rays_d = rays.rays_o, rays.rays_d
        if getattr(self.model, "train_camera", False):  # the original's --train_camera
            rays_o, rays_d = self.model.camera_offset(rays_o, rays_d, frame.index)
        res = self.renderer.render_rays(
            rays_o, rays_d, bg, training=True,
            extras=self.model.ray_extras, field=self.field(frame, True, generator),
        )  # fmt: skip
        loss, mse = colour_loss(res.rgb, rays.rgb, rays.masks, self.region_weights)
        logs["psnr"] = float(-10 * torch.log10(mse.mean().detach().clamp_min(1e-10)))
        if self.stage != "torso":
            ent = alpha_entropy(res.weights_sum).mean()
            loss = loss + self.entropy_weight * ent
            for name, term in self.model.regularisers(res, rays, frame, step / total_steps).items():
                loss = loss + term
                logs[name] = float(term.detach())
        if lpips_term is not None and lpips_weight > 0:
            lpips = lpips_term.get()
            if lpips is not None:
                shape = (-1, *rays.shape[-2:], 3)  # one crop [h, w] or P patches [P, s, s]
                pred, target = res.rgb.reshape(shape), rays.rgb.reshape(shape)
                term = lpips_weight * lpips(pred, target)
                loss = loss + term
                logs["lpips"] = float(term.detach())
        self.model.grid.record_samples(step, rays.index.numel(), res.weights.numel())
        logs["loss"] = float(loss.detach())
        return StepOutput(loss=loss, logs=logs)

    @torch.no_grad()
    def after_step(self, step: int, generator) -> None:
        if self.stage == "torso" or self._audio_bank is None:
            return
        if step % self.model.grid.update_every:
            return
        i = int(torch.randint(0, self._audio_bank.shape[0], (1,), generator=generator))
        enc_a = self.model.encode_audio(self._audio_bank[i : i + 1].float())
        eye = self._eye_bank[i : i + 1]
        m = self.model
        self.model.grid.update(lambda x: m.density(m.encode_points(x), enc_a, eye)["sigma"])

    # ------------------------------------------------------------------ inference
    @torch.no_grad()
    def render_frame(self, frame) -> dict[str, torch.Tensor]:
        H, W = frame.H, frame.W
        bg = frame.background
        if getattr(self.model, "torso", False) and self.stage == "torso":
            index = torch.arange(H * W)
            bg = self._torso_background(frame, index, training=False)[0].reshape(H, W, 3)
        res = self.renderer.render_image(
            self.field(frame, training=False), frame.c2w, frame.intrinsics.tolist(), H, W, bg,
            chunk=self.render_chunk, progress=False,
        )  # fmt: skip
        return {"rgb": res.rgb.clamp(0, 1), "depth": res.depth, "alpha": res.weights_sum}
