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

import torch
from torch import nn

from lokitalk_plugins.data.audio import audio_window
from lokitalk_plugins.data.sampling import (
    RayBatch,
    sample_lips_crop,
    sample_patches,
    sample_random_rays,
)
from lokitalk_plugins.errors import OptionError
from lokitalk_plugins.layers import keep_float32
from lokitalk_plugins.losses import LAMBDA_ALPHA, alpha_entropy
from lokitalk_plugins.render import VolumeRenderer, torso_pixel_coords
from lokitalk_plugins.train.system import STAGES, StepOutput

from .frames import HEAD_BACKGROUNDS, frames_step, head_colours, neural_frame, over_head_colours
from .objective import LazyLPIPS, colour_loss, cut_short_log, eq12_loss, late_lpips_weight
from .options import (
    FramePlugins,
    GridUpkeep,
    GroupRates,
    LateLPIPS,
    LipsSampling,
    SampleCap,
    apply_flat,
    cpu_autocast_dtype,
    refresh_dtype,
)
from .protocol import GROUPS, TrainBatch, optional_members, preflight
from .sample_cap import SampleCapState

__all__ = ["TalkingHeadSystem"]


# the constructor's keywords (besides the former flat ones, options.FLAT_NAMES)
OPTIONS = ("model", "num_rays", "max_samples", "entropy_weight", "render_chunk", "eye_noise",
           "region_weights", "rates", "grid", "lips", "late_lpips", "frames",
           "pad_samples", "float32_layers", "head_background", "sample_cap")  # fmt: skip


class TalkingHeadSystem(nn.Module):
    """A TalkingHeadModel (a rebuilt RAD-NeRF / ER-NeRF, or ``wrap(...)`` of any backbone)
    made trainable.

    model: the model (checked by :func:`~.protocol.preflight`); num_rays: rays per step
    (65,536 in the originals; fewer on a CPU); max_samples: samples per ray in training (16);
    entropy_weight: λ_α (1e-4); render_chunk: rays per chunk when rendering an image;
    eye_noise: uniform noise of that half-width on the eye value in training (ER-NeRF 0.05);
    region_weights: None (plain MSE) or region -> colour weight (LokiTalk eq. 6). The grouped
    options (:mod:`.options`, None: their defaults): rates (:class:`~.options.GroupRates`, the
    groups' default learning rates), grid (:class:`~.options.GridUpkeep`, the occupancy
    refresh), lips (:class:`~.options.LipsSampling`, the lips stage's crop and patches),
    late_lpips (:class:`~.options.LateLPIPS`) and frames (:class:`~.options.FramePlugins`, the
    DH-NeRF's velocity loss and neural renderer). pad_samples: "auto" (the field sees its
    sample count rounded up to a bucket under CPU bfloat16 autocast, where a new shape costs a
    kernel build: :mod:`lokitalk_plugins.render.buckets`), "on" or "off". ``flat``: the
    former one-level keywords (``lr_grid``, ``grid_fraction``, ``lips_patches``,
    ``late_lpips_weight``, ``velocity``, ... : :data:`~.options.FLAT_NAMES`), applied over the
    groups; any other name is refused. float32_layers: names of the model's linear layers
    (``model.named_modules()``) that compute in float32 under a training autocast
    (:func:`~lokitalk_plugins.layers.keep_float32`; e.g. ``("backbone.sigma_net.net.2",)``,
    a wrapped ER-NeRF's density output). head_background: "frame" (every training ray over
    its frame's background, the originals') or "random" (in the head and lips stages, the rays
    whose pixel is head in the parsing composite over a random colour drawn each step, so the
    fit pins the head's alpha: over a plain static background a translucent head with a
    compensated colour fits the frames as well as an opaque one; see
    :func:`~.frames.over_head_colours`) or "random_body" (the head's, neck's and torso's
    pixels: for a field that draws the torso, over ``TalkingHeadFolder.background = 'bc'``;
    refused in :meth:`prepare` over the torso images, whose torso is the background).
    Rendering and validation are unchanged. sample_cap: a :class:`~.options.SampleCap`
    (None: the cap stays ``max_samples``): with a ``limit`` the head stage raises the cap
    while the training rays it cuts short stay above the rule's share (:mod:`.sample_cap`);
    the cap reached is saved with the weights (``sample_cap.value``) and used at inference.
    """

    def __init__(
        self,
        model: nn.Module,
        num_rays: int = 4096,
        max_samples: int = 16,
        entropy_weight: float = LAMBDA_ALPHA,
        render_chunk: int = 8192,
        eye_noise: float = 0.0,
        region_weights: dict | None = None,
        rates: GroupRates | None = None,
        grid: GridUpkeep | None = None,
        lips: LipsSampling | None = None,
        late_lpips: LateLPIPS | None = None,
        frames: FramePlugins | None = None,
        pad_samples: str = "auto",
        float32_layers: tuple = (),
        head_background: str = "frame",
        sample_cap: SampleCap | None = None,
        **flat,
    ):
        super().__init__()
        groups = dict(rates=rates or GroupRates(), grid=grid or GridUpkeep(),
                      lips=lips or LipsSampling(), late_lpips=late_lpips or LateLPIPS(),
                      frames=frames or FramePlugins())  # fmt: skip
        groups = apply_flat(groups, flat, list(OPTIONS))
        preflight(model)
        keep_float32(model, tuple(float32_layers))
        self.model = model
        self.optional = optional_members(model)  # the contract's optional members it offers
        self.num_rays, self.entropy_weight = num_rays, entropy_weight
        self.lrs = groups["rates"].as_dict()
        self.render_chunk, self.eye_noise = render_chunk, eye_noise
        self.lips = groups["lips"]
        self.lips_weight = self.lips.weight
        self.region_weights = dict(region_weights) if region_weights is not None else None
        self.late_lpips = groups["late_lpips"]
        upkeep = self.grid_upkeep = groups["grid"]
        model.grid.set_upkeep(upkeep.mode, upkeep.fraction)
        model.grid.set_every(upkeep.every)
        model.grid.box_only = bool(upkeep.box_only)
        model.grid.lattice = bool(upkeep.lattice)
        model.grid.compute_dtype = refresh_dtype(upkeep.precision)
        if upkeep.codes != "test" and "grid_density_frames" not in self.optional:
            raise OptionError(
                f"GridUpkeep.codes = {upkeep.codes!r}: {type(model).__name__} has no "
                "grid_density_frames (its density does not follow per-frame codes); use 'test'"
            )
        self.renderer = VolumeRenderer(model.grid, max_samples=max_samples,
                                       pad_samples=pad_samples)  # fmt: skip
        rule = sample_cap or SampleCap()
        if rule.limit and max_samples is None:
            raise OptionError(f"SampleCap.limit = {rule.limit} raises a cap, but "
                              "TalkingHeadSystem.max_samples = None has none: bind a cap (16, "
                              "the originals') or SampleCap.limit = 0")  # fmt: skip
        if rule.limit and rule.limit < max_samples:
            raise OptionError(f"SampleCap.limit = {rule.limit} is below "
                              f"TalkingHeadSystem.max_samples = {max_samples}: bind a limit "
                              "above it, or 0 to keep the cap")  # fmt: skip
        self.sample_cap = SampleCapState(max_samples, rule, self.renderer)
        self._total_steps = 0
        frames = groups["frames"]
        self.velocity, self.neural_renderer = frames.velocity, frames.neural_renderer
        self.neural_feature = frames.neural_feature
        self.neural_low_res_weight = float(frames.neural_low_res_weight)
        self.neural_jitter = bool(frames.neural_jitter)
        self.neural_frames, self.neural_betas = frames.neural_frames, frames.neural_betas
        self.neural_dtype = cpu_autocast_dtype(frames.neural_precision,
                                               "FramePlugins.neural_precision")  # fmt: skip
        self.neural_train_dtype = cpu_autocast_dtype(
            frames.neural_train_precision, "FramePlugins.neural_train_precision"
        )
        if self.neural_low_res_weight < 0:
            raise ValueError(
                "FramePlugins.neural_low_res_weight must be >= 0 (0 turns the term off), got "
                f"{frames.neural_low_res_weight}"
            )
        if head_background not in HEAD_BACKGROUNDS:
            raise OptionError(f"TalkingHeadSystem.head_background must be one of "
                              f"{HEAD_BACKGROUNDS}, got {head_background!r}")  # fmt: skip
        if head_background != "frame" and self.neural_renderer is not None:
            raise OptionError(f"TalkingHeadSystem.head_background = {head_background!r} renders "
                              "rays over their own background: unbind "
                              "FramePlugins.neural_renderer or keep 'frame'")  # fmt: skip
        self.head_background = head_background
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
        if self.head_background == "random_body" and dataset.background == "torso":
            raise OptionError("TalkingHeadSystem.head_background = 'random_body' puts the neck and "
                              "torso over random colours, but TalkingHeadFolder.background = "
                              "'torso' draws them from the torso images: bind 'bc' (the torso in "
                              "the 3D field) or use 'random' (the head alone)")  # fmt: skip
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
                "train.stages = ('head',) or unbind FramePlugins.neural_renderer"
            )
        self.stage = stage
        trained = {id(p) for ps in self.model.param_groups(stage).values() for p in ps}
        for p in self.model.parameters():
            p.requires_grad_(id(p) in trained)
        for p in self.neural_renderer.parameters() if self.neural_renderer is not None else ():
            p.requires_grad_(True)

    def parameter_groups(self) -> list[dict]:
        """The model's groups for the current stage with their default learning rates, then
        the neural renderer's "neural" group (``GroupRates.neural``, with
        ``FramePlugins.neural_betas`` as its Adam betas unless None)."""
        groups = dict(self.model.param_groups(self.stage))
        unknown = sorted(set(groups) - set(GROUPS))
        if unknown:
            raise ValueError(
                f"{type(self.model).__name__}.param_groups returned groups {unknown}; "
                f"the pipeline knows {list(GROUPS)}"
            )
        out = [{"name": k, "params": list(v), "lr": self.lrs[k]} for k, v in groups.items() if v]
        if self.neural_renderer is not None:  # the system's own group, its own Adam betas
            neural = {"name": "neural", "params": list(self.neural_renderer.parameters()),
                      "lr": self.lrs["neural"]}  # fmt: skip
            if self.neural_betas is not None:
                neural["betas"] = self.neural_betas
            out.append(neural)
        return out

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

        def head_field(x, d):
            return self.model(x, d, enc_a, eye, code, pose=pose)

        # a wrapped model's bfloat16 fast path autocasts inside: the renderer pads for it too
        inside = "fast_path_precision" in self.optional
        head_field.runs_bfloat16 = inside and self.model.fast_path_precision == "bfloat16"
        return head_field

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
        lips, late = self.lips, self.late_lpips
        s = min(lips.patch_size, frame.H, frame.W)
        if self.stage == "lips":
            if lips.patches > 0 and step % 2:
                rays = sample_patches(frame, lips.patches, s, generator)
                return rays, lips.patch_weight, self._lpips
            return sample_lips_crop(frame), lips.weight, self._lpips
        w = late_lpips_weight(step, total, late.weight, late.start) if self.stage == "head" else 0.0
        if w > 0 and self._late_lpips.get() is not None:
            return sample_patches(frame, late.patches, s, generator), w, self._late_lpips
        return sample_random_rays(frame, self.num_rays, generator), 0.0, None

    def training_step(self, frame, step: int, total_steps: int, generator) -> StepOutput:
        """One training step of the current stage: the loss and its logs (in the head stage
        with ``SampleCap.limit`` also ``sample_cap``, the cap the step ran with)."""
        if self.stage == "head" and (self.velocity is not None or self.neural_renderer is not None):
            out = frames_step(self, frame, step, total_steps, generator)
        else:
            out = self._plain_step(frame, step, total_steps, generator)
        if self.stage == "head" and self.sample_cap.follows:
            self.sample_cap.note(out.logs["cut_short"])
            out.logs["sample_cap"] = float(self.sample_cap.cap)
            self._total_steps = total_steps
        return out

    def _plain_step(self, frame, step: int, total_steps: int, generator) -> StepOutput:
        rays, lpips_weight, lpips_term = self._rays(frame, step, total_steps, generator)
        if self.stage != "torso":
            body = self.head_background == "random_body"
            rays = over_head_colours(rays, head_colours(self, rays, generator), body)
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
        logs.update(cut_short_log([res]))
        logs["loss"] = float(loss.detach())
        return StepOutput(loss=loss, logs=logs)

    @torch.no_grad()
    def after_step(self, step: int, generator) -> None:
        """The model's "step" callbacks, the sample cap's check (head stage, with
        ``SampleCap.limit``), then the occupancy refresh every ``grid.update_every`` steps (not
        in the torso stage)."""
        for callback in self.model.training_callbacks():
            if callback.where == "step" and step % callback.every == 0:
                callback.fn(step)
        if self.stage == "head" and self.sample_cap.follows:
            self.sample_cap.check(step, self._total_steps)
        if self.stage == "torso" or self._audio_bank is None:
            return
        if not self.model.grid.due(step):
            return
        self.model.grid.update(self.grid_density_fn(generator))

    def grid_density_fn(self, generator):
        """points [N, 3] -> sigma [N] under ``GridUpkeep.frames`` random training frames'
        conditions (point i takes frame i mod frames), from the model's ``grid_density`` (its
        ``grid_density_lean`` with ``GridUpkeep.lean``, where it has one)
        (following its deformation when ``GridUpkeep.deformed``), its
        ``grid_density_frames`` (the frames' own codes, ``GridUpkeep.codes`` "frames") or the
        larger of the two ("both")."""
        m, upkeep = self.model, self.grid_upkeep
        k, deformed, codes = upkeep.frames, upkeep.deformed, upkeep.codes
        lean = upkeep.lean and "grid_density_lean" in self.optional  # GridUpkeep.lean's form
        density = m.grid_density_lean if lean else m.grid_density
        i = torch.randint(0, self._audio_bank.shape[0], (k,), generator=generator)
        enc_a = m.encode_audio(self._audio_bank[i].float())
        eye = self._eye_bank[i]
        pose = None if self._pose_bank is None else self._pose_bank[i].to(enc_a.dtype)

        def fn(x: torch.Tensor) -> torch.Tensor:
            if k == 1:
                a, e, p, f = enc_a, eye, pose, i
            else:
                j = torch.arange(x.shape[0], device=x.device) % k
                a, e, p, f = enc_a[j], eye[j], None if pose is None else pose[j], i[j]
            test = None if codes == "frames" else density(x, a, e, p, deformed=deformed)
            if codes == "test":
                return test
            own = m.grid_density_frames(x, f, a, e, p, deformed=deformed)
            return own if test is None else torch.maximum(test, own)

        if k == 1 and codes == "test" and "grid_density_lattice" in self.optional:
            extra = {}  # GridUpkeep.deformed_lattice, passed only when set (older models)
            if upkeep.deformed_lattice is not None:
                extra["deformed_lattice"] = upkeep.deformed_lattice
            fn.lattice = lambda axes: m.grid_density_lattice(  # GridUpkeep.lattice's path
                axes, enc_a, eye, pose, deformed=deformed, **extra
            )
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
