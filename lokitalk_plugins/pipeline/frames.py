"""The head stage's step with the Disentangling Head NeRF's plug-ins: the velocity loss on
consecutive frames (eq. 7) and the 2D neural renderer (§3.2).

- Velocity (``FramePlugins.velocity = @velocity_loss``): the step renders the pair of
  consecutive frames the trainer's frame belongs to (``data.consecutive.consecutive_pair``:
  j−1 and j, or j and j+1 at a clip's first frame) at the SAME pixels, each through its own
  camera and conditioning; the colour and alpha terms are the means over the two frames, the
  velocity term is ``velocity(rgb_j, rgb_{j−1}, gt_j, gt_{j−1})`` (already weighted by λ_v).
- Neural renderer (``FramePlugins.neural_renderer = @NeuralRenderer()``): rays are cast
  at 1/s of the image (one per s x s block), the field's feature (``neural_feature``, the
  backbones' 64-d ``geo_feat``) is weight-summed per ray beside the colour, and the 2D module
  upsamples [colour, feature] to the whole H x W frame, on which the colour loss is taken
  (with ``NeuralRenderer.composite = 'full_res'`` the rays' colour is the foreground over
  black, and the upsampled foreground and alpha are composited over the full-res background).
  The model's own terms see the low-res result with the full-res pixel at each block's centre
  (``render.block_centres``) as their rays. With ``FramePlugins.neural_low_res_weight`` > 0
  the rays' own image (their colour over the block-averaged background) is also compared with
  the frame's block averages (``render.block_mean``), the term "low_res". With
  ``FramePlugins.neural_jitter`` each step shifts the ray lattice by a random (dy, dx) of
  full-resolution pixels in [0, s)^2 (``jitter_shift``): the rays, the background and the
  output image move together, and every loss is taken where the shifted image still covers
  the frame (its first H - dy rows and W - dx columns; the low-res term on the blocks wholly
  inside).

Both together: the whole frames j−1 and j through the neural renderer. The model's own
``loss_terms`` are taken on the trainer's frame (so ``FramePlugins.neural_frames`` 1 and 2
are the same step there). With ``FramePlugins.neural_frames`` = k > 1 (neural renderer, no
velocity) the step renders the trainer's frame and k - 1 others drawn at random
(``other_frames``), each whole at 1/s with the step's shift; the colour, alpha and
low-resolution terms are their means.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from lokitalk_plugins.data.consecutive import consecutive_pair, consecutive_rays_at
from lokitalk_plugins.data.sampling import RayBatch, rays_at
from lokitalk_plugins.losses import alpha_entropy
from lokitalk_plugins.render import (
    averaged_background,
    block_centres,
    block_mean,
    lifted_field,
    low_res_background,
    low_res_camera,
    low_res_rays,
    neural_extra,
    neural_rgb,
)
from lokitalk_plugins.train.system import StepOutput

from .objective import colour_loss, cut_short_log, eq12_loss
from .protocol import TrainBatch

__all__ = ["Rendered", "frames_step", "jitter_shift", "neural_frame", "other_frames",
           "render_training", "shifted_pixels"]  # fmt: skip


@dataclass
class Rendered:
    """One frame of the step: ``rgb`` [R, 3] the image compared with ``rays.rgb`` [R, 3];
    ``result`` the volume renderer's RenderResult; ``loss_rays`` the RayBatch the model's
    terms see (``rays`` itself, or the block centres with a neural renderer); ``low_rgb``
    [h'*w', 3] (neural renderer only) the rays' colour over the block-averaged background on
    the blocks wholly inside the frame, ``low_target`` [h'*w', 3] the frame's block averages
    there (every block without a shift)."""

    frame: object
    rays: RayBatch
    rgb: torch.Tensor
    result: object
    loss_rays: RayBatch
    low_rgb: torch.Tensor | None = None
    low_target: torch.Tensor | None = None


def jitter_shift(system, generator) -> tuple[int, int]:
    """The step's shift (dy, dx) of the neural renderer's ray lattice in full-resolution
    pixels: uniform in [0, s)^2 with ``FramePlugins.neural_jitter``, else (0, 0)."""
    if system.neural_renderer is None or not system.neural_jitter:
        return 0, 0
    s = system.neural_renderer.scale
    d = torch.randint(s, (2,), generator=generator)
    return int(d[0]), int(d[1])


def shifted_pixels(H: int, W: int, shift: tuple[int, int]) -> tuple[torch.Tensor, tuple]:
    """Row-major indices of the full-resolution pixels (y + dy, x + dx) that the image shifted
    by ``shift`` covers (y < H - dy, x < W - dx), in the shifted image's order, and its
    shape (H - dy, W - dx)."""
    dy, dx = shift
    rows, cols = torch.arange(dy, H), torch.arange(dx, W)
    return (rows[:, None] * W + cols[None, :]).reshape(-1), (H - dy, W - dx)


def _shifted(image: torch.Tensor, shift: tuple[int, int]) -> torch.Tensor:
    """[H, W, C] -> [H, W, C]: pixel (y, x) is image's (y + dy, x + dx), the last rows and
    columns repeating the edge (where the loss never looks)."""
    dy, dx = shift
    if not (dy or dx):
        return image
    H, W = image.shape[:2]
    rows = torch.arange(dy, H + dy).clamp(max=H - 1)
    cols = torch.arange(dx, W + dx).clamp(max=W - 1)
    return image[rows][:, cols]


def _training_frames(system, why: str):
    """The system's training frames, or a one-line refusal naming ``why`` they are needed."""
    if system.dataset is None:
        raise RuntimeError(
            f"{why} needs the training frames: call TalkingHeadSystem.prepare(dataset)"
        )
    return system.dataset


def _pair(system, frame) -> list:
    dataset = _training_frames(system, "the velocity loss")
    j0, j1 = consecutive_pair(dataset.img_ids, int(frame.index))
    return [frame if j == frame.index else dataset[j] for j in (j0, j1)]


# TalkingHeadSystem.head_background: "frame" (the originals'), "random" (the head's pixels over
# a random colour), "random_body" (the head's, the neck's and the torso's: for a 3D field that
# draws the torso, over the plain background image)
HEAD_BACKGROUNDS = ("frame", "random", "random_body")


def head_colours(system, rays: RayBatch, generator) -> torch.Tensor | None:
    """The step's random colours [R, 3] in [0, 1] under the head's pixels
    (``TalkingHeadSystem.head_background = 'random'`` or ``'random_body'``, drawn from the
    step's generator), or None (``'frame'``: every ray keeps its frame's background, the
    originals')."""
    if system.head_background == "frame":
        return None
    n = rays.background.shape[0]
    return torch.rand(n, 3, generator=generator, dtype=rays.background.dtype)


def over_head_colours(rays: RayBatch, colours: torch.Tensor | None, body: bool = False) -> RayBatch:
    """``rays`` with their background replaced by ``colours`` where the pixel is head in the
    frame's parsing (``masks.face``; with ``body`` also neck and torso, ``masks.torso``): the
    truth there is the subject itself, so any background fits it and a translucent head (or
    torso) cannot borrow the frame's background colour; every other ray keeps the frame's
    background (its truth shows it). None: ``rays`` unchanged."""
    if colours is None:
        return rays
    subject = rays.masks.face | rays.masks.torso if body else rays.masks.face
    return replace(rays, background=torch.where(subject.reshape(-1, 1), colours, rays.background))


def _autocast_2d(device_type: str, dtype: torch.dtype | None) -> torch.autocast:
    """The 2D module's autocast at ``dtype`` (None: off, float32); its weights and the rays
    stay float32 and :func:`neural_rgb` returns float32."""
    return torch.autocast(device_type, dtype=dtype or torch.bfloat16, enabled=dtype is not None)


def render_training(system, frame, rays: RayBatch, generator, shift=(0, 0)) -> Rendered:
    """Render ``rays`` of ``frame`` with gradients: through the volume renderer at those
    pixels, or (neural renderer) the whole frame at 1/s upsampled, its ray lattice shifted by
    ``shift`` (dy, dx) full-resolution pixels, ``rays`` the pixels it covers
    (:func:`shifted_pixels`)."""
    model, field = system.model, system.field(frame, True, generator)
    neural = system.neural_renderer
    if neural is None:
        o, d = model.camera_offset(rays.rays_o, rays.rays_d, frame.index)
        res = system.renderer.render_rays(o, d, rays.background, training=True,
                                          extras=model.ray_extras, field=field)  # fmt: skip
        return Rendered(frame, rays, res.rgb, res, rays)
    H, W, s = frame.H, frame.W, neural.scale
    (dy, dx), full_bg = shift, _shifted(frame.background, shift)
    fx, fy, cx, cy = frame.intrinsics.tolist()
    o, d, (h, w) = low_res_rays(frame.c2w, (fx, fy, cx - dx, cy - dy), H, W, s)
    o, d = model.camera_offset(o, d, frame.index)
    bg = low_res_background(neural, full_bg)
    if isinstance(bg, torch.Tensor):
        bg = bg.reshape(h * w, 3)
    extra = neural_extra(neural, system.neural_feature)
    res = system.renderer.render_rays(
        o,
        d,
        bg,
        training=True,
        extras=(*model.ray_extras, extra),
        field=lifted_field(neural, field, system.neural_feature),
    )
    with _autocast_2d(o.device.type, system.neural_train_dtype):  # (neural_train_precision)
        rgb = neural_rgb(neural, res.rgb, res.extras[extra], h, w, res.weights_sum, full_bg)
    low_rgb = res.rgb
    if neural.composite == "full_res":  # the rays carry the foreground over black
        over = averaged_background(full_bg, s)
        if isinstance(over, torch.Tensor):
            over = (over.reshape(-1, 3) if over.dim() == 3 else over).to(low_rgb.dtype)
        low_rgb = low_rgb + (1.0 - res.weights_sum[:, None]) * over
        # the model's own terms (ER-NeRF's uncertainty compares the rays' colour with the
        # block centres' pixels) see the rays over the background, as those pixels show it
        res = replace(res, rgb=low_rgb)
    # the blocks wholly inside the frame, and the full-res pixel at each block's centre
    hh, ww = (H - dy) // s, (W - dx) // s
    low_rgb = low_rgb.reshape(h, w, 3)[:hh, :ww].reshape(-1, 3)
    target = block_mean(_shifted(frame.image, shift)[: hh * s, : ww * s], s).reshape(-1, 3)
    centres = block_centres(H, W, s)
    if dy or dx:
        centres = (centres // W + dy).clamp(max=H - 1) * W + (centres % W + dx).clamp(max=W - 1)
    rgb = rgb[: H - dy, : W - dx].reshape(-1, 3)
    return Rendered(frame, rays, rgb, res, rays_at(frame, centres), low_rgb, target)


def _low_res_term(system, parts: list[Rendered]) -> torch.Tensor | None:
    """λ_low * mean over the frames of MSE(rays' image, the frame's s x s block averages)."""
    if system.neural_renderer is None or system.neural_low_res_weight <= 0:
        return None
    terms = [((p.low_rgb - p.low_target.to(p.low_rgb.dtype)) ** 2).mean() for p in parts]
    return system.neural_low_res_weight * torch.stack(terms).mean()


def other_frames(system, frame, k: int, generator) -> list:
    """``k`` training frames other than ``frame``, drawn at random without repeats by
    ``generator`` (``FramePlugins.neural_frames`` - 1 of them a step); fewer when the clip has
    fewer."""
    dataset = _training_frames(system, "FramePlugins.neural_frames > 1")
    n = len(dataset)
    draw = torch.randperm(n - 1, generator=generator)[: min(k, n - 1)]
    own = int(frame.index)
    return [dataset[int(j) + (int(j) >= own)] for j in draw]


def frames_step(system, frame, step: int, total_steps: int, generator) -> StepOutput:
    """The head-stage step with velocity and/or the neural renderer (see the module doc)."""
    H, W, shift = frame.H, frame.W, jitter_shift(system, generator)
    if system.velocity is not None:  # its consecutive pair (the step's two frames)
        frames = _pair(system, frame)
    elif system.neural_frames > 1:  # (one frame draws nothing more from the generator)
        frames = [frame, *other_frames(system, frame, system.neural_frames - 1, generator)]
    else:
        frames = [frame]
    if system.neural_renderer is not None:
        pixels, shape = shifted_pixels(H, W, shift)
    else:
        pixels = torch.randperm(H * W, generator=generator)[: min(system.num_rays, H * W)]
        shape = None
    if system.velocity is not None:
        ray_sets = consecutive_rays_at(frames[0], frames[1], pixels, shape)
    else:
        ray_sets = tuple(rays_at(f, pixels, shape) for f in frames)
    colours = head_colours(system, ray_sets[0], generator)  # one draw for both frames' pixels
    body = system.head_background == "random_body"
    ray_sets = tuple(over_head_colours(r, colours, body) for r in ray_sets)
    parts = [render_training(system, f, r, generator, shift) for f, r in zip(frames, ray_sets)]
    own = next(p for p in parts if p.frame is frame)
    losses = [colour_loss(p.rgb, p.rays.rgb, p.rays.masks, system.region_weights) for p in parts]
    color = torch.stack([c for c, _ in losses]).mean()
    alpha = torch.stack([alpha_entropy(p.result.weights_sum).mean() for p in parts]).mean()
    batch = TrainBatch(rays=own.loss_rays, frame=frame)
    model_terms = system.model.loss_terms(own.result, batch, step / total_steps)
    velocity = None
    if system.velocity is not None:
        prev, cur = parts
        velocity = system.velocity(cur.rgb, prev.rgb, cur.rays.rgb, prev.rays.rgb)
    loss, terms = eq12_loss(color, alpha, None, model_terms, system.entropy_weight,
                            velocity=velocity, low_res=_low_res_term(system, parts))  # fmt: skip
    logs = {k: float(v.detach()) for k, v in terms.items() if k not in ("color", "alpha")}
    mse = losses[parts.index(own)][1]
    logs["psnr"] = float(-10 * torch.log10(mse.mean().detach().clamp_min(1e-10)))
    rays_n = sum(p.result.weights_sum.numel() for p in parts)
    system.model.grid.record_samples(step, rays_n, sum(p.result.weights.numel() for p in parts))
    logs.update(cut_short_log([p.result for p in parts]))
    logs["loss"] = float(loss.detach())
    return StepOutput(loss=loss, logs=logs)


@torch.no_grad()
def neural_frame(system, frame, bg) -> dict[str, torch.Tensor]:
    """Inference through the neural renderer: bg [H, W, 3] -> {"rgb" [H, W, 3], "depth",
    "alpha" [H, W] (the low-res ones, repeated over each s x s block)}."""
    neural, H, W = system.neural_renderer, frame.H, frame.W
    k, h, w = low_res_camera(frame.intrinsics.tolist(), H, W, neural.scale)
    extra = neural_extra(neural, system.neural_feature)
    field = lifted_field(neural, system.field(frame, training=False), system.neural_feature)
    res = system.renderer.render_image(
        field, frame.c2w, k, h, w, low_res_background(neural, bg),
        chunk=system.render_chunk, extras=(extra,), progress=False,
    )  # fmt: skip
    with _autocast_2d(res.rgb.device.type, system.neural_dtype):  # (neural_precision)
        rgb = neural_rgb(neural, res.rgb, res.extras[extra], h, w, res.weights_sum, bg)

    def up(t):
        return t.repeat_interleave(neural.scale, 0).repeat_interleave(neural.scale, 1)

    return {"rgb": rgb.clamp(0, 1), "depth": up(res.depth), "alpha": up(res.weights_sum)}
