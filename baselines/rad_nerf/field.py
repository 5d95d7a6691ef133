"""RAD-NeRF's head field, the one definition: functions of a model ``m`` with the original's
submodule names, called by the rebuilt :class:`~.network.RADNeRF` and by the RAD-NeRF adapter
(which applies them to an original codebase's model too).

    enc_x   = encoder(x)                                             [N, 32] 3D tiled grid
    a       = tanh(ambient_net([enc_x, F_a]))                        [N, 2] ambient coordinate
    h       = sigma_net([enc_x, encoder_ambient(a), eye]),  sigma = trunc_exp(h_0)
    rgb     = sigmoid(color_net([encoder_dir(d), geo_feat = h_1:, code]))

The density is exponentiated in float32 even under a bfloat16 autocast (training's, or an
occupancy refresh's): in bfloat16 a density near 1 is rounded to steps of 1/128, which would
flip cells near the grid's threshold. The ambient coordinate is computed in float32 too: it
indexes the ambient hash grid.

``nets`` (optional, in :func:`density` and :func:`sigma`): a callable standing in for
``ambient_net`` by name (ID-AKT's dynamic half conditions it on the identity; see
``adapters/identity_dynamic.py``); the math is unchanged.
"""

from __future__ import annotations

import torch

from lokitalk_plugins.layers import MLP, linear_dtype, mlp_rows, trunc_exp

__all__ = ["AMBIENT_BOUND", "color", "density", "encode_points", "sigma"]

AMBIENT_BOUND = 1.0  # the ambient coordinate is a tanh, so its grid spans [-1, 1]


def encode_points(m, x: torch.Tensor, bound: float) -> torch.Tensor:
    """x: [N, 3] in [-bound, bound] -> [N, 32]."""
    return m.encoder(x, bound=bound)


def _trunk(m, enc_x: torch.Tensor, enc_a: torch.Tensor | None, eye: torch.Tensor, nets=None,
           refresh: bool = False):  # fmt: skip
    """sigma_net's output h [N, 65] and the ambient coordinate [N, 2]: what both
    :func:`density` and :func:`sigma` compute, by the same operations. refresh: an occupancy
    refresh's form (see :func:`sigma`): h's first column only, ambient None. Without audio
    the ambient grid encodes its one point once (the same values; its gradient reaches the
    grid as the sum over the points, equal up to float rounding to the points' one by one)."""
    n = enc_x.shape[0]
    if enc_a is None:  # no audio: the coordinate is 0 at every point, its encoding the same
        ambient = enc_x.new_zeros(n, int(getattr(m, "ambient_dim", 2)))
        at = ambient[:1]  # so it is encoded once (the gradient reaches the grid summed)
    else:
        net = (nets or {}).get("ambient_net", m.ambient_net)
        # in float32 under any autocast: the ambient coordinate indexes a hash grid, where a
        # bfloat16 rounding (2^-9) moves it across cells of the fine levels
        with torch.autocast(enc_x.device.type, enabled=False):
            if refresh and enc_a.shape[0] == 1 and isinstance(net, MLP):
                # one frame's F_a, the same in every row: its share of the first layer is a
                # bias computed once, not 64 of 96 columns of every row's product
                cols = enc_x.shape[1]
                ambient = torch.tanh(mlp_rows(net, enc_x.float(), net.dim_out, cols, enc_a.float()))
            else:
                x = torch.cat([enc_x.float(), enc_a.expand(n, -1).float()], -1)
                ambient = torch.tanh(net(x))
        at = ambient
    parts = [enc_x, m.encoder_ambient(at, bound=AMBIENT_BOUND).expand(n, -1)]
    if getattr(m, "exp_eye", True):
        parts.append(eye.expand(n, -1))
    if not refresh:
        return m.sigma_net(torch.cat(parts, -1)), ambient
    # the parts cast to the dtype sigma_net's first layer computes in (bfloat16 under a
    # refresh's autocast) before the concatenation, which it would round them to anyway
    dt = linear_dtype(enc_x)
    return mlp_rows(m.sigma_net, torch.cat([p.to(dt) for p in parts], -1), 1), None


def density(m, enc_x, enc_a: torch.Tensor | None, eye: torch.Tensor, nets=None) -> dict:
    """enc_x [N, 32], enc_a [1 or N, A] or None, eye [1 or N, 1] (not an input without
    ``m.exp_eye``, the originals' -O) -> sigma [N], geo_feat [N, 64], ambient [N, 2] (in
    [-1, 1]; 0 when enc_a is None, as in the original) and ambient_abs [N] (|ambient|_1, the
    map RAD-NeRF's ambient loss sums along rays). nets: see the module doc."""
    h, ambient = _trunk(m, enc_x, enc_a, eye, nets)
    return {"sigma": trunc_exp(h[..., 0].float()), "geo_feat": h[..., 1:], "ambient": ambient,
            "ambient_abs": ambient.abs().sum(-1)}  # fmt: skip


def sigma(m, enc_x, enc_a: torch.Tensor | None, eye: torch.Tensor, nets=None,
          refresh: bool = False) -> torch.Tensor:  # fmt: skip
    """The density alone (occupancy refreshes): -> sigma [N], equal bit for bit to
    ``density(...)["sigma"]`` without the ambient maps. refresh: an occupancy refresh's form,
    equal up to float rounding (tests): with one frame's enc_a [1, A] its share of
    ambient_net's first layer is a bias computed once (no [N, 96] float32 concatenation);
    sigma_net's inputs are cast to the dtype its first layer computes in before their
    concatenation, and its last layer computes the density's row alone, not geo_feat's 64."""
    h = _trunk(m, enc_x, enc_a, eye, nets, refresh=refresh)[0]
    return trunc_exp(h[..., 0].float())


def color(m, geo_feat: torch.Tensor, d: torch.Tensor, code: torch.Tensor | None) -> torch.Tensor:
    """geo_feat [N, 64], d [N, 3] unit view directions, code [1, I] or None (no codes) ->
    rgb [N, 3] in (0, 1)."""
    n = geo_feat.shape[0]
    parts = [m.encoder_dir(d), geo_feat, *([] if code is None else [code.expand(n, -1)])]
    return torch.sigmoid(m.color_net(torch.cat(parts, -1)))
