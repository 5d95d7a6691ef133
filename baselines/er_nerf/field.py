"""ER-NeRF's head field, the one definition: functions of a model ``m`` with the original's
submodule names, called by the rebuilt :class:`~.network.ERNeRF` and by the ER-NeRF adapter
(which applies them to an original codebase's model too).

    enc_x   = [encoder_xy(x_xy), encoder_yz(x_yz), encoder_xz(x_xz)]     [N, 36]
    enc_w   = F_a * aud_ch_att_net(enc_x)                                 audio channel attention
    e       = eye * sigmoid(eye_att_net(enc_x))                           eye attention
    h       = sigma_net([enc_x, enc_w, e]),  sigma = exp(h_0), geo_feat = h_1:
    u       = softplus(unc_net(enc_x, detached))                          uncertainty
    rgb     = sigmoid(color_net([encoder_dir(d), geo_feat, code])) * 1.002 - 0.001

The density is exponentiated in float32 even under a bfloat16 autocast (training's, or an
occupancy refresh's): in bfloat16 a density near 1 is rounded to steps of 1/128, which would
flip cells near the grid's threshold.

``nets`` (optional, in :func:`density` and :func:`sigma`): callables standing in for the
region-attention MLPs ``aud_ch_att_net`` / ``eye_att_net`` by name (ID-AKT's dynamic half
conditions them on the identity; see ``adapters/identity_dynamic.py``); the math is unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lokitalk_plugins.encoding import triplane_project
from lokitalk_plugins.layers import mlp_rows

__all__ = [
    "COLOR_STRETCH",
    "color",
    "density",
    "encode_points",
    "lattice_encoder",
    "sigma",
    "static_sigma",
]

COLOR_STRETCH = 0.001  # ER-NeRF's colour is a sigmoid stretched to [-0.001, 1.001]


def encode_points(m, x: torch.Tensor, bound: float) -> torch.Tensor:
    """x: [N, 3] in [-bound, bound] -> [N, 36] (xy, yz, xz planes)."""
    xy, yz, xz = triplane_project(x)
    return torch.cat([m.encoder_xy(xy, bound=bound), m.encoder_yz(yz, bound=bound),
                      m.encoder_xz(xz, bound=bound)], -1)  # fmt: skip


def lattice_encoder(m, axes: torch.Tensor, bound: float, dtype: torch.dtype | None = None):
    """The planes of a lattice of points, encoded once: axes [3, r] (the coordinates of the
    grid lines on x, y, z) -> a function ijk [K, 3] (int64 line indices) -> enc_x [K, 36],
    equal bit for bit to :func:`encode_points` at (axes[0, i], axes[1, j], axes[2, k]): each
    plane's feature depends on two coordinates only, so the r^3 points of an occupancy
    refresh need r^2 encodings per plane (ER-NeRF's xy, yz and xz planes). dtype: the
    table cast to it once (None: as encoded), so every gather reads it in that dtype."""
    r, planes = axes.shape[1], []
    for enc, (a, b) in ((m.encoder_xy, (0, 1)), (m.encoder_yz, (1, 2)), (m.encoder_xz, (0, 2))):
        uv = torch.stack(torch.meshgrid(axes[a], axes[b], indexing="ij"), -1).reshape(-1, 2)
        planes.append(enc(uv, bound=bound))  # [r * r, C], row i * r + j
    width = planes[0].shape[-1]
    table = torch.cat(planes, 0)  # [3 r^2, C]: the xy plane's rows, then yz's, then xz's
    if dtype is not None:
        table = table.to(dtype)

    def encode(ijk: torch.Tensor) -> torch.Tensor:
        i, j, k = ijk.unbind(-1)
        rows = torch.stack([i * r + j, r * r + j * r + k, 2 * r * r + i * r + k], -1)
        return table.index_select(0, rows.reshape(-1)).view(-1, 3 * width)

    return encode


def _trunk(m, enc_x: torch.Tensor, enc_a: torch.Tensor | None, eye: torch.Tensor | None, nets=None,
           refresh: bool = False):  # fmt: skip
    """sigma_net's output h [N, 65], the audio channel attention [N, A] and the eye
    attention [N] (zeros without ``m.exp_eye``): what both :func:`density` and :func:`sigma`
    compute, by the same operations (so sigma is bit-identical in both). enc_a and eye None:
    the static condition (one canonical space, LokiTalk eq. 5): sigma_net gets zeros in their
    place, the attention nets do not run and their maps are zeros. refresh: an occupancy
    refresh's form (see :func:`sigma`): h's first column only, the condition's products cast
    to enc_x's dtype."""
    n, nets = enc_x.shape[0], nets or {}
    net = (lambda x: mlp_rows(m.sigma_net, x, 1)) if refresh else m.sigma_net
    exp_eye = getattr(m, "exp_eye", True)
    if enc_a is None and (eye is None or not exp_eye):
        width = m.sigma_net.net[0].weight.shape[1] - enc_x.shape[1]  # [F_a, eye] or [F_a]
        h = net(torch.cat([enc_x, enc_x.new_zeros(n, width)], -1))
        return h, enc_x.new_zeros(n, 1), enc_x.new_zeros(n)
    if enc_a is None or (eye is None and exp_eye):
        raise ValueError("ER-NeRF's field takes enc_a and eye both or neither (None: static)")
    # refresh: the products cast to enc_x's dtype (a bfloat16 refresh's table), so the
    # concatenation casts nothing; the first layer would round each of them to it anyway
    low = (lambda t: t.to(enc_x.dtype)) if refresh else (lambda t: t)
    aud_ch_att = nets.get("aud_ch_att_net", m.aud_ch_att_net)(enc_x)
    parts = [enc_x, low(enc_a.expand(n, -1) * aud_ch_att)]
    if exp_eye:
        eye_att = torch.sigmoid(nets.get("eye_att_net", m.eye_att_net)(enc_x))[..., 0]
        parts.append(low(eye.expand(n, -1) * eye_att[:, None]))
    else:
        eye_att = enc_x.new_zeros(n)
    return net(torch.cat(parts, -1)), aud_ch_att, eye_att


def density(m, enc_x: torch.Tensor, enc_a: torch.Tensor, eye: torch.Tensor, nets=None) -> dict:
    """enc_x [N, 36], enc_a [1 or N, A], eye [1 or N, 1] -> sigma [N], geo_feat [N, 64],
    ambient_aud [N] (norm of the audio channel attention), ambient_eye [N] (the eye
    attention; zeros without ``m.exp_eye`` (the originals' -O), whose density has no eye
    input), uncertainty [N]. nets: see the module doc."""
    h, aud_ch_att, eye_att = _trunk(m, enc_x, enc_a, eye, nets)
    unc = F.softplus(m.unc_net(enc_x.detach()))[..., 0]
    return {
        "sigma": torch.exp(h[..., 0].float()),
        "geo_feat": h[..., 1:],
        "ambient_aud": aud_ch_att.norm(dim=-1),
        "ambient_eye": eye_att,
        "uncertainty": unc,
    }


def sigma(m, enc_x: torch.Tensor, enc_a: torch.Tensor, eye: torch.Tensor, nets=None,
          refresh: bool = False):  # fmt: skip
    """The density alone (occupancy refreshes): enc_x [N, 36], enc_a [1 or N, A], eye
    [1 or N, 1] -> sigma [N], equal bit for bit to ``density(...)["sigma"]`` without the
    uncertainty head and the attention norms. refresh: the lattice refresh's form
    (:meth:`~.network.ERNeRF.grid_density_lattice`): sigma_net's last layer computes the
    density's row alone, not geo_feat's 64 (equal up to float rounding; tests), and the
    condition's products with their attention are cast to enc_x's dtype (a bfloat16
    refresh's table) before the concatenation, which then casts none of the parts to float32
    and back: sigma_net's first layer rounds its input to that dtype anyway, so the values
    are the same."""
    h = _trunk(m, enc_x, enc_a, eye, nets, refresh=refresh)[0]
    return torch.exp(h[..., 0].float())


def static_sigma(m, enc_x: torch.Tensor) -> torch.Tensor:
    """The static condition's density alone, for occupancy refreshes that read it (a wrapped
    ER-NeRF with one static canonical space): enc_x [N, 36] -> sigma [N], equal to
    ``sigma(m, enc_x, None, None)`` up to float rounding. The columns of sigma_net's first
    layer that meet the condition's zeros and the rows of its last that make geo_feat are
    skipped (the layers are bias-free), so no zeros are concatenated and the last product has
    one output instead of 65."""
    h = mlp_rows(m.sigma_net, enc_x, 1, cols=enc_x.shape[1])
    return torch.exp(h[..., 0].float())


def color(m, geo_feat: torch.Tensor, d: torch.Tensor, code: torch.Tensor | None) -> torch.Tensor:
    """geo_feat [N, 64], d [N, 3] unit directions, code [1, I] or None (no codes) ->
    rgb [N, 3] in [-0.001, 1.001] (the original's stretched sigmoid)."""
    n = geo_feat.shape[0]
    parts = [m.encoder_dir(d), geo_feat, *([] if code is None else [code.expand(n, -1)])]
    return (
        torch.sigmoid(m.color_net(torch.cat(parts, -1))) * (1 + 2 * COLOR_STRETCH) - COLOR_STRETCH
    )
