"""The Disentangling Head NeRF's 2D neural renderer (§3.2): a feature image -> full-res RGB.

Rays are cast at 1/s of the image resolution (``low_res_camera``, ``low_res_rays``), the
field returns a density and a feature vector M(x) (256-d in the paper) instead of a colour,
and the volume renderer weight-sums the features per ray (``VolumeRenderer.render_rays(...,
extras=("feature",))``). The resulting feature image [B, C, h, w] goes through
``NeuralRenderer``: Conv2D + leaky ReLU layers that double the resolution log2(s) times,
as in StyleNeRF and HeadNeRF, to the RGB image [B, 3, s h, s w]. ``render_neural`` does the
whole path for one frame. Two ways to meet the background (``NeuralRenderer.composite``):

- "low_res" (the default): the neural renderer sees the features and, as its first three
  channels, the low-resolution colour composited over the (block-averaged) background, and
  returns the whole frame (``in_dim`` = feature size + 3): the background reaches the output
  only through the 1/s image, so its detail must be re-created by the upsampler;
- "full_res": the neural renderer sees the low-resolution foreground (the colour composited
  over black), its alpha and the features (``in_dim`` = feature size + 4) and returns the
  foreground colour and alpha at full resolution; the frame is ``fg + (1 - alpha) * bg`` with
  the background at full resolution, so pixels the head does not cover show it exactly.

Layout of ``NeuralRenderer`` (ours; the paper gives the layer kinds, not their sizes):
a 1x1 convolution C -> hidden; then per 2x step: an upsampling of the features, two 3x3
convolutions with leaky ReLU (slope 0.2), the width halved (never below ``min_hidden``);
an RGB head (1x1 convolution) at every resolution whose output is added to the bilinearly
upsampled RGB of the level before (a progressive skip), and a sigmoid at the end. The
features' upsampling (``NeuralRenderer.upsample``): "bilinear" (interpolated, as StyleNeRF
does) or "pixel_shuffle" (a sub-pixel convolution, as ESPCN does: a 3x3 convolution to 4x
the channels whose groups become the four pixels of each 2 x 2 block), which lets a ray's
feature place detail inside its own block instead of spreading it over its neighbours.

A wider feature than the field's (``NeuralRenderer.lift`` = L > 0, ours): a per-sample layer
(linear C -> L, leaky ReLU) lifts each sample's feature before the volume renderer sums it
along the ray (:func:`lifted_field`), so the composited L-d feature is a non-linear summary
of the samples of the ray, not the weighted mean of the C-d ones (``in_dim`` is then L + 3,
or L + 4 with "full_res"). The paper's M(x) is 256-d; the backbones' ``geo_feat`` is 64-d.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .rays import get_rays

__all__ = [
    "COMPOSITES",
    "UPSAMPLES",
    "NeuralRenderer",
    "averaged_background",
    "block_centres",
    "block_mean",
    "low_res_background",
    "low_res_camera",
    "low_res_rays",
    "lifted_field",
    "neural_extra",
    "neural_rgb",
    "render_neural",
    "support_mask",
]


def _check_scale(scale: int) -> int:
    s = int(scale)
    if s < 1 or s & (s - 1):
        raise ValueError(f"scale must be a power of two (1, 2, 4, 8, ...), got {scale}")
    return s


def low_res_camera(intrinsics, H: int, W: int, scale: int) -> tuple[tuple, int, int]:
    """The camera that casts one ray per s x s block of an H x W image.

    intrinsics: (fx, fy, cx, cy) pixels of the full image; scale: s, a power of two that
    divides H and W. Returns ((fx/s, fy/s, cx/s, cy/s), H/s, W/s): low-res pixel k's centre
    is the centre of full-res block k (pixel centres at integer + 0.5 in both).
    """
    s = _check_scale(scale)
    if H % s or W % s:
        raise ValueError(f"scale {s} must divide the image size {H}x{W}")
    fx, fy, cx, cy = (float(v) for v in intrinsics)
    return (fx / s, fy / s, cx / s, cy / s), H // s, W // s


def low_res_rays(c2w: torch.Tensor, intrinsics, H: int, W: int, scale: int):
    """Rays of the low-resolution camera: rays_o, rays_d [h*w, 3] row-major, and (h, w)."""
    k, h, w = low_res_camera(intrinsics, H, W, scale)
    rays_o, rays_d = get_rays(c2w, k, h, w)
    return rays_o, rays_d, (h, w)


COMPOSITES = ("low_res", "full_res")
UPSAMPLES = ("bilinear", "pixel_shuffle")


class NeuralRenderer(nn.Module):
    """Feature image [B, C, h, w] -> RGB [B, 3, s h, s w] in [0, 1] (s = ``scale``).

    in_dim: C, the field's feature size (256 in the paper); scale: s, a power of two (1
    keeps the resolution: convolutions only); hidden: width at the low resolution, halved
    at each 2x step down to min_hidden; slope: leaky ReLU slope. Channels-last input
    [B, h, w, C] or [h, w, C] is accepted with ``channels_last=True`` (output then
    [B, s h, s w, 3] or [s h, s w, 3]). composite: "low_res" (3 output channels, the frame)
    or "full_res" (4: the foreground colour and its alpha, composited over the full-res
    background by :func:`neural_rgb`); upsample: how the features double in size,
    "bilinear" or "pixel_shuffle" (see the module doc); lift: L > 0 lifts each sample's
    ``lift_in``-d field feature to L dimensions before compositing (see the module doc;
    0: the field's feature as it is); depth: residual blocks (3x3 convolution, leaky ReLU,
    3x3 convolution, added to their input) at the rays' resolution after the stem, before
    the first 2x step (0: none, the module as it was; each runs on 1/s^2 of the output's pixels
    at ``hidden`` channels); support: with composite "full_res", r > 0 confines the output's
    foreground and alpha to the rays' support: both are multiplied by the largest low-res alpha
    within r rays (a (2r + 1)^2 neighbourhood, repeated over each s x s block), so a pixel no
    ray near it saw shows the full-resolution background exactly instead of a sigmoid's
    small leak (0: off, the module as it was).
    """

    def __init__(
        self,
        in_dim: int = 256,
        scale: int = 4,
        hidden: int = 128,
        min_hidden: int = 32,
        slope: float = 0.2,
        composite: str = "low_res",
        upsample: str = "bilinear",
        lift: int = 0,
        lift_in: int = 64,
        depth: int = 0,
        support: int = 0,
    ):
        super().__init__()
        if composite not in COMPOSITES:
            raise ValueError(
                f"NeuralRenderer.composite must be one of {COMPOSITES}, got {composite!r}"
            )
        if upsample not in UPSAMPLES:
            raise ValueError(
                f"NeuralRenderer.upsample must be one of {UPSAMPLES}, got {upsample!r}"
            )
        self.composite, self.upsample = composite, upsample
        if int(support) < 0 or (int(support) and composite != "full_res"):
            raise ValueError(
                f"NeuralRenderer.support must be >= 0 (0: off), and > 0 only with composite "
                f"'full_res' (it gates the alpha), got {support} with {composite!r}"
            )
        self.support = int(support)
        self.out_dim = 3 if composite == "low_res" else 4
        self.in_dim, self.scale, self.hidden = int(in_dim), _check_scale(scale), int(hidden)
        self.min_hidden, self.slope = int(min_hidden), float(slope)
        self.steps = int(math.log2(self.scale))
        self.stem = nn.Conv2d(self.in_dim, self.hidden, 1)
        if int(depth) < 0:
            raise ValueError(f"NeuralRenderer.depth must be >= 0 (0: none), got {depth}")
        self.depth = int(depth)
        # residual blocks at the rays' resolution: 1/s^2 of the output's pixels, but at the full
        # width (RAD-NeRF's neural path with and without two blocks at 128 channels, side by
        # side with volume rendering: benchmarks/results/neural_renderer_one_frame.md and
        # neural_renderer_wide_jitter.md)
        self.low_blocks = nn.ModuleList(
            nn.ModuleList([nn.Conv2d(self.hidden, self.hidden, 3, padding=1),
                           nn.Conv2d(self.hidden, self.hidden, 3, padding=1)])
            for _ in range(self.depth)
        )  # fmt: skip
        widths = [
            max(self.hidden >> k, min(self.min_hidden, self.hidden)) for k in range(self.steps + 1)
        ]
        # with "pixel_shuffle" the first convolution of a step runs at the lower resolution
        # and returns the four sub-pixels of each of its c_out channels
        grow = 4 if upsample == "pixel_shuffle" else 1
        self.blocks = nn.ModuleList(
            nn.ModuleList(
                [
                    nn.Conv2d(c_in, c_out * grow, 3, padding=1),
                    nn.Conv2d(c_out, c_out, 3, padding=1),
                ]
            )
            for c_in, c_out in zip(widths[:-1], widths[1:])
        )
        self.to_rgb = nn.ModuleList(nn.Conv2d(c, self.out_dim, 1) for c in widths)
        self.lift_dim = int(lift)
        if self.lift_dim < 0 or int(lift_in) < 1:
            raise ValueError(
                f"NeuralRenderer.lift must be >= 0 (0: no lift) and lift_in >= 1, got lift "
                f"{lift}, lift_in {lift_in}"
            )
        self.lift = None
        if self.lift_dim:
            if self.in_dim != self.lift_dim + self.out_dim:
                raise ValueError(
                    f"NeuralRenderer.in_dim must be lift + {self.out_dim} = "
                    f"{self.lift_dim + self.out_dim} with lift {self.lift_dim} and composite "
                    f"{self.composite!r}, got {self.in_dim}"
                )
            self.lift = nn.Linear(int(lift_in), self.lift_dim)

    def _act(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(x, self.slope)

    def forward(self, features: torch.Tensor, channels_last: bool = False) -> torch.Tensor:
        x = features
        squeeze = x.ndim == 3
        if squeeze:
            x = x.unsqueeze(0)
        if x.ndim != 4:
            raise ValueError(
                f"NeuralRenderer expects a feature image [B, C, h, w], got {list(features.shape)}"
            )
        if channels_last:
            x = x.permute(0, 3, 1, 2)
        if x.shape[1] != self.in_dim:
            raise ValueError(
                f"NeuralRenderer was built for {self.in_dim}-d features, got {x.shape[1]} "
                f"channels: set in_dim to the field's feature size + {self.out_dim} "
                f"(composite {self.composite!r})"
            )
        x = self._act(self.stem(x))
        for conv_a, conv_b in self.low_blocks:
            x = x + conv_b(self._act(conv_a(x)))
        rgb = self.to_rgb[0](x)
        for (conv_a, conv_b), head in zip(self.blocks, self.to_rgb[1:]):
            if self.upsample == "pixel_shuffle":
                x = F.pixel_shuffle(conv_a(x), 2)
            else:
                x = conv_a(F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))
            x = self._act(conv_b(self._act(x)))
            up = F.interpolate(rgb, scale_factor=2, mode="bilinear", align_corners=False)
            rgb = up + head(x)
        out = torch.sigmoid(rgb)
        if channels_last:
            out = out.permute(0, 2, 3, 1)
        return out.squeeze(0) if squeeze else out


LIFTED = "neural_lift"  # the per-sample output :func:`lifted_field` adds


def neural_extra(neural: NeuralRenderer, feature: str) -> str:
    """The per-sample output the volume renderer composites for ``neural``: the field's
    ``feature``, or the lifted one when ``neural.lift`` is set."""
    return feature if neural.lift is None else LIFTED


def lifted_field(neural: NeuralRenderer, field, feature: str):
    """``field`` whose outputs also hold ``neural_lift`` = leaky ReLU(lift(out[feature]))
    [S, L] when ``neural.lift`` is set (else ``field`` itself). The wrapper keeps the field's
    ``runs_bfloat16`` flag for the renderer."""
    if neural.lift is None:
        return field

    def lifted(x, d):
        out = dict(field(x, d))
        f = out[feature]
        if f.shape[-1] != neural.lift.in_features:
            raise ValueError(
                f"NeuralRenderer.lift_in is {neural.lift.in_features}, but the field's "
                f"{feature!r} has {f.shape[-1]} channels: set NeuralRenderer.lift_in = "
                f"{f.shape[-1]}"
            )
        out[LIFTED] = neural._act(neural.lift(f.to(neural.lift.weight.dtype)))
        return out

    lifted.runs_bfloat16 = getattr(field, "runs_bfloat16", False)
    return lifted


def block_mean(image: torch.Tensor, scale: int) -> torch.Tensor:
    """[H, W, C] -> [H/s, W/s, C]: the mean of each s x s block (a background at 1/s)."""
    s = _check_scale(scale)
    x = image.permute(2, 0, 1)[None]
    return F.avg_pool2d(x, s)[0].permute(1, 2, 0)


def block_centres(H: int, W: int, scale: int) -> torch.Tensor:
    """Row-major indices [H/s * W/s] of the full-res pixel at the centre of each s x s block
    (row and column ``s // 2`` inside it), in the low-res image's order."""
    s = _check_scale(scale)
    rows = torch.arange(s // 2, H, s)
    cols = torch.arange(s // 2, W, s)
    return (rows[:, None] * W + cols[None, :]).reshape(-1)


def low_res_background(neural: NeuralRenderer, bg):
    """The background the 1/s rays composite over: black with composite "full_res" (the
    rays carry the foreground alone), else ``bg`` averaged per s x s block when it is an
    image [H, W, 3] (-> [H/s, W/s, 3]); a colour [3], a scalar or None as it is."""
    if neural.composite == "full_res":
        return 0.0
    return averaged_background(bg, neural.scale)


def averaged_background(bg, scale: int):
    """``bg`` averaged per s x s block when it is an image [H, W, 3] (-> [H/s, W/s, 3]); a
    colour [3] or a scalar as it is; None (black) -> 0.0."""
    if bg is None:
        return 0.0
    if isinstance(bg, torch.Tensor) and bg.dim() == 3:
        return block_mean(bg, scale)
    return bg


def support_mask(alpha: torch.Tensor, h: int, w: int, scale: int, radius: int) -> torch.Tensor:
    """alpha [h*w] of the low-res rays -> [s h, s w, 1]: at each full-res pixel, the largest
    alpha of the rays within ``radius`` of its block's ray (``NeuralRenderer.support``)."""
    a = alpha.reshape(1, 1, h, w)
    m = F.max_pool2d(a, 2 * radius + 1, stride=1, padding=radius)
    m = m.repeat_interleave(scale, 2).repeat_interleave(scale, 3)
    return m[0].permute(1, 2, 0)


def neural_rgb(
    neural: NeuralRenderer,
    low_rgb: torch.Tensor,
    features: torch.Tensor,
    h: int,
    w: int,
    alpha: torch.Tensor | None = None,
    background=None,
) -> torch.Tensor:
    """The neural renderer on one low-res frame -> RGB [s h, s w, 3].

    "low_res": low_rgb [h*w, 3] (colour composited over the block-averaged background) and
    features [h*w, C] (weight-summed M(x)), C + 3 = ``neural.in_dim``. "full_res": low_rgb the
    foreground (composited over black), alpha [h*w] its opacity, C + 4 = ``neural.in_dim``;
    the output's foreground and alpha are composited over ``background`` at full resolution
    ([s h, s w, 3], [3], a scalar or None = black)."""
    parts = [low_rgb.reshape(h * w, 3)]
    if neural.composite == "full_res":
        if alpha is None:
            raise ValueError("NeuralRenderer(composite='full_res') needs the low-res alpha")
        parts.append(alpha.reshape(h * w, 1))
    image = torch.cat([*parts, features.reshape(h * w, -1)], dim=-1)
    # float32 from here (a no-op unless the module ran under a bfloat16 autocast): the
    # composite over the full-resolution background is not rounded
    out = neural(image.reshape(h, w, -1), channels_last=True).float()
    if neural.composite == "low_res":
        return out
    fg, a = out[..., :3], out[..., 3:]
    if neural.support:
        m = support_mask(alpha.float(), h, w, neural.scale, neural.support)
        fg, a = fg * m, a * m
    bg = 0.0 if background is None else background
    if isinstance(bg, torch.Tensor):
        bg = bg.to(fg.dtype)
    return fg + (1.0 - a) * bg


def render_neural(
    volume,
    neural: NeuralRenderer,
    field,
    c2w: torch.Tensor,
    intrinsics,
    H: int,
    W: int,
    bg=None,
    training: bool = True,
    feature: str = "feature",
) -> dict:
    """One frame through rays at 1/s (s = ``neural.scale``), the volume renderer and the
    neural renderer.

    volume: a ``VolumeRenderer``; field: (x [S, 3], d [S, 3]) -> dict(sigma, color, feature
    [S, C], ...) with C + 3 (C + 4 with composite "full_res") = ``neural.in_dim``; bg:
    [H, W, 3] (averaged per block, or at full res with "full_res"), [3], a scalar or None.
    training: marching with gradients (else inference rounds).
    Returns {"rgb": [H, W, 3], "low_rgb": [h, w, 3], "alpha": [h, w], "result": the
    low-resolution RenderResult}.
    """
    rays_o, rays_d, (h, w) = low_res_rays(c2w, intrinsics, H, W, neural.scale)
    low = low_res_background(neural, bg)
    if isinstance(low, torch.Tensor) and low.dim() == 3:
        low = low.reshape(h * w, -1)
    extra = neural_extra(neural, feature)
    res = volume.render_rays(rays_o, rays_d, low, training=training, extras=(extra,),
                             field=lifted_field(neural, field, feature))  # fmt: skip
    rgb = neural_rgb(neural, res.rgb, res.extras[extra], h, w, res.weights_sum, bg)
    return {
        "rgb": rgb,
        "low_rgb": res.rgb.reshape(h, w, 3),
        "alpha": res.weights_sum.reshape(h, w),
        "result": res,
    }
