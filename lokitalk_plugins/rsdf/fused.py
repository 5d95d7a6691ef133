"""The deformation fields' fast twin: the same equations without building the concatenations.

The reference path (the fields' own ``forward``) concatenates each point's encoding with the
signals scaled by their attention scores, ``z = [h, s_lip F_a, s_eye F_e, (F_id)]``, and runs
the offset MLP on it. Its first layer is linear, so it splits by the columns of its weight:

    W z = W_h h + s_lip (W_a F_a) + s_eye (W_e F_e) + W_id F_id

With per-frame signals ([1, D]: the training step and rendering) each ``W_k F_k`` is one
[hidden] column computed once a frame, so the layer is a single product of the narrow
per-point input ``[h, s_lip, s_eye]`` with ``[W_h | W_a F_a | W_e F_e]``, the unscaled
per-frame terms (``W_id F_id``) as its bias; the torso field's ``Δx_face``
columns join its input the same way. The attention score ``<Q2 relu(Q1 h), key>`` folds the
frame's key into the query's last layer (``relu(Q1 h) (Q2_k^T key_k)``). Per-point signals
([N, D], occupancy refreshes over several frames) take the reference path. Same values up to
float rounding and the same gradients (tests hold them to the reference); parameter names
and shapes are unchanged, so checkpoints and ID-AKT's last-layer replacement are untouched.

Where no gradient is recorded on the CPU (inference, occupancy refreshes) with per-frame
signals, :func:`rsdf_offsets_inference` runs the same equations as fewer, fused calls
(:func:`~lokitalk_plugins.layers.linear_act`: each product with its bias and ReLU or sigmoid
in one oneDNN call): both fields' query layers read the shared encoding in one product, all
three attention logits (the frames' keys folded in, the 1/sqrt(d) scale in the weights) and
their sigmoids in one more, and each offset MLP's first layer takes its per-frame constant
as the product's bias. Same values up to float rounding (tests hold it to
:func:`rsdf_offsets`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from lokitalk_plugins.layers import fused_linear_usable, linear_act

from .attention import SignalAttention, expand_signal
from .fields import check_identity

__all__ = ["attention_scores", "first_layer", "joint_offset", "per_frame", "rest_of_mlp",
           "rsdf_offsets", "rsdf_offsets_inference"]  # fmt: skip


def first_layer(inputs: list, weights: list, constant=None, act: str | None = "relu"):
    """One first-layer product on the inputs the layer reads per point: ``inputs`` [N, D_k]
    (the encoding, the attention scores as [N, 1] columns, ...) against ``weights``
    [H, D_k] (a score's weight is its signal's folded row ``W_k F_k``, [H, 1]); ``constant``
    [1, H] (the per-frame inputs no score scales) is the product's bias; ``act`` (ReLU by
    default: what the MLP applies next) joins the call. -> [N, H], through
    :func:`~lokitalk_plugins.layers.linear_act`."""
    x = inputs[0] if len(inputs) == 1 else torch.cat(inputs, -1)
    w = weights[0] if len(weights) == 1 else torch.cat(weights, -1)
    return linear_act(x, w, None if constant is None else constant.reshape(-1), act)


def _row(signal, weight: torch.Tensor, dtype) -> torch.Tensor:
    """A per-frame signal [1, D] through its columns of a first layer [H, D] -> [1, H]."""
    return F.linear(signal.to(dtype), weight)


def rest_of_mlp(mlp, a: torch.Tensor, last_weight: torch.Tensor | None = None) -> torch.Tensor:
    """An MLP (``layers.MLP``, at least 2 layers) continued from its first layer's activation
    ``a`` = ReLU(z) [N, H]; ``last_weight`` [out, H] replaces its last layer (ID-AKT)."""
    layers = mlp.net
    for layer in layers[1:-1]:
        a = linear_act(a, layer.weight, None, "relu")
    w = layers[-1].weight if last_weight is None else last_weight.to(a.dtype)
    return linear_act(a, w)


def attention_scores(att: SignalAttention, hidden: torch.Tensor, signals: dict) -> dict:
    """:class:`SignalAttention` scores from its query's first-layer activation ``hidden`` =
    ReLU(Q1 h) [N, att_hidden] and per-frame signals ([1, D_k]): name -> [N] in [0, 1]. Each
    frame's key [1, d] is folded into the query's last layer, so all scores are one [N, K]
    product."""
    w2, d = att.query.net[-1].weight, att.att_dim
    rows = [att.keys[k](signals[k].to(hidden.dtype)) @ w2[i * d : (i + 1) * d]
            for i, k in enumerate(att.names)]  # fmt: skip
    logits = linear_act(hidden, torch.cat(rows)) * (1.0 / math.sqrt(d))  # [N, K]
    return {k: torch.sigmoid(logits[:, i]) for i, k in enumerate(att.names)}


def _query(att: SignalAttention, h: torch.Tensor) -> torch.Tensor:
    """ReLU(Q1 h): the query's first layer and its activation, one call."""
    return linear_act(h, att.query.net[0].weight, None, "relu")


def _autocast_input(h: torch.Tensor) -> torch.Tensor:
    """The encoding cast once to the CPU autocast dtype when autocast is on (the inference
    fast path in bfloat16), so the four products that read it do not each cast a copy."""
    if h.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
        return h.to(torch.get_autocast_dtype("cpu"))
    return h


def per_frame(*signals) -> bool:
    """True when every given signal is one row ([1, D]): the fast path's case."""
    return all(f is None or f.shape[0] == 1 for f in signals)


def _check_signals(rsdf, n: int, F_a, F_e, F_h, F_id):
    """The fields' checks of the signals -> (F_id or None, the torso field or None)."""
    face = rsdf.face
    expand_signal(F_a, n, face.audio_dim, "F_a")
    expand_signal(F_e, n, face.eye_dim, "F_e")
    F_id = check_identity(F_id, rsdf.id_dim, n)
    tor = rsdf.torso_field if rsdf.torso else None
    if tor is not None:
        if F_h is None:
            raise ValueError("F_h (head pose) is required when torso=True")
        expand_signal(F_h, n, tor.pose_dim, "F_h")
    return F_id, tor


def rsdf_offsets(rsdf, x: torch.Tensor, inside: torch.Tensor, F_a, F_e, F_h, F_id, last: dict):
    """RSDF's eqs. 3-4 on the fast path, per-frame signals ([1, D]; see :func:`per_frame`):
    x [N, 3], inside [N, 1] (1 in the box) -> (dx_face [N, 3], dx_torso [N, 3] or None,
    scores name -> [N]), the offsets masked to the box as on the reference path. Checks its
    inputs as the fields do. Where no gradient is recorded on the CPU, the fused calls of
    :func:`rsdf_offsets_inference` (same values up to float rounding)."""
    n, face, dt = x.shape[0], rsdf.face, x.dtype
    F_id, tor = _check_signals(rsdf, n, F_a, F_e, F_h, F_id)
    h = _autocast_input(rsdf.encoder(x))
    if fused_linear_usable(h):
        return _offsets_inference(rsdf, h, x, inside, F_a, F_e, F_h, F_id, last)
    p, a, e = face.point_dim, face.audio_dim, face.eye_dim
    wf = face.net.net[0].weight
    scores = attention_scores(face.attention, _query(face.attention, h), {"lip": F_a, "eye": F_e})
    lip, eye = scores["lip"][:, None], scores["eye"][:, None]
    const = None if F_id is None else _row(F_id, wf[:, p + a + e :], dt)
    z = first_layer([h, lip, eye],
                    [wf[:, :p], _row(F_a, wf[:, p:p + a], dt).t(),
                     _row(F_e, wf[:, p + a:p + a + e], dt).t()], const)  # fmt: skip
    dx_face = rest_of_mlp(face.net, z, last.get("face")) * inside
    if tor is None:
        return dx_face, None, scores
    h_t = h if rsdf.shared_encoding else _autocast_input(rsdf.encoder_torso(x))
    wt, k = tor.net.net[0].weight, tor.pose_dim
    t_scores = attention_scores(tor.attention, _query(tor.attention, h_t), {"torso": F_h})
    const = None if F_id is None else _row(F_id, wt[:, p + k + 3 :], dt)
    z = first_layer([h_t, t_scores["torso"][:, None], rsdf.cascade_input(dx_face)],
                    [wt[:, :p], _row(F_h, wt[:, p:p + k], dt).t(), wt[:, p + k:p + k + 3]],
                    const)  # fmt: skip
    dx_torso = rest_of_mlp(tor.net, z, last.get("torso")) * inside
    return dx_face, dx_torso, dict(scores, **t_scores)


def joint_offset(field, h: torch.Tensor, F_a, F_e, F_h) -> torch.Tensor:
    """JointDeformation's Δx on the fast path (per-frame signals): h [N, P] (its encoding)
    -> [N, 3], unmasked. The signals' share of the first layer is one [1, H] row."""
    w, p, dt = field.net.net[0].weight, h.shape[1], h.dtype
    a, e = field.audio_dim, field.eye_dim
    const = (_row(F_a, w[:, p:p + a], dt) + _row(F_e, w[:, p + a:p + a + e], dt)
             + _row(F_h, w[:, p + a + e:], dt))  # fmt: skip
    return rest_of_mlp(field.net, first_layer([h], [w[:, :p]], const))


def rsdf_offsets_inference(rsdf, x: torch.Tensor, inside: torch.Tensor, F_a, F_e, F_h, F_id,
                           last: dict):  # fmt: skip
    """:func:`rsdf_offsets` as fused calls (see the module doc), whatever the grad mode (the
    caller decides; :func:`rsdf_offsets` takes it where no gradient is recorded on the CPU):
    the same inputs and outputs."""
    F_id, _ = _check_signals(rsdf, x.shape[0], F_a, F_e, F_h, F_id)
    h = _autocast_input(rsdf.encoder(x))
    return _offsets_inference(rsdf, h, x, inside, F_a, F_e, F_h, F_id, last)


def _folded_keys(att: SignalAttention, signals: dict, dtype) -> torch.Tensor:
    """The frame's keys folded into the query's last layer and scaled by 1/sqrt(d):
    [K, att_hidden], row k = (W_k F_k + b_k) Q2_k / sqrt(d)."""
    w2, d = att.query.net[-1].weight, att.att_dim
    rows = [att.keys[k](signals[k].to(w2.dtype)) @ w2[i * d : (i + 1) * d]
            for i, k in enumerate(att.names)]  # fmt: skip
    return (torch.cat(rows) * (1.0 / math.sqrt(d))).to(dtype)


def _all_scores(fields: list, h: torch.Tensor) -> dict:
    """Every attention score of ``fields`` [(SignalAttention, signals)] that read the same
    encoding h [N, P], in two fused calls: the query layers side by side (ReLU), then one
    block-diagonal product of the folded keys (sigmoid) -> name -> [N]."""
    w1 = torch.cat([att.query.net[0].weight for att, _ in fields]).to(h.dtype)
    pre = linear_act(h, w1, None, "relu")  # [N, sum of att_hidden]
    keys = [_folded_keys(att, sig, h.dtype) for att, sig in fields]
    block = torch.block_diag(*keys) if len(keys) > 1 else keys[0]
    scores = linear_act(pre, block, None, "sigmoid")  # [N, K]
    names = [k for att, _ in fields for k in att.names]
    return {k: scores[:, i] for i, k in enumerate(names)}


def _offsets_inference(rsdf, h, x, inside, F_a, F_e, F_h, F_id, last):
    face, tor, dt, ft = rsdf.face, rsdf.torso_field if rsdf.torso else None, h.dtype, x.dtype
    fields = [(face.attention, {"lip": F_a, "eye": F_e})]
    shared = tor is not None and rsdf.shared_encoding
    if shared:
        fields.append((tor.attention, {"torso": F_h}))
    scores = _all_scores(fields, h)
    p, a, e = face.point_dim, face.audio_dim, face.eye_dim
    wf = face.net.net[0].weight
    bias = None if F_id is None else _row(F_id, wf[:, p + a + e :], ft)[0]
    w0 = torch.cat([wf[:, :p], _row(F_a, wf[:, p:p + a], ft).t(),
                    _row(F_e, wf[:, p + a:p + a + e], ft).t()], -1)  # fmt: skip
    z0 = torch.cat([h, scores["lip"][:, None], scores["eye"][:, None]], -1)
    dx_face = rest_of_mlp(face.net, linear_act(z0, w0, bias, "relu"), last.get("face")) * inside
    if tor is None:
        return dx_face, None, scores
    h_t = h
    if not shared:
        h_t = _autocast_input(rsdf.encoder_torso(x))
        scores.update(_all_scores([(tor.attention, {"torso": F_h})], h_t))
    wt, k = tor.net.net[0].weight, tor.pose_dim
    bias = None if F_id is None else _row(F_id, wt[:, p + k + 3 :], ft)[0]
    w0 = torch.cat([wt[:, :p], _row(F_h, wt[:, p : p + k], ft).t(), wt[:, p + k : p + k + 3]], -1)
    z0 = torch.cat([h_t, scores["torso"][:, None].to(dt), rsdf.cascade_input(dx_face).to(dt)], -1)
    dx_torso = rest_of_mlp(tor.net, linear_act(z0, w0, bias, "relu"), last.get("torso")) * inside
    return dx_face, dx_torso, scores
