"""The deformation fields' fast twin: the same equations without building the concatenations.

The reference path (the fields' own ``forward``) concatenates each point's encoding with the
signals scaled by their attention scores, ``z = [h, s_lip F_a, s_eye F_e, (F_id)]``, and runs
the offset MLP on it. Its first layer is linear, so it splits by the columns of its weight:

    W z = W_h h + s_lip (W_a F_a) + s_eye (W_e F_e) + W_id F_id

With per-frame signals ([1, D]: the training step and rendering) each ``W_k F_k`` is one
[hidden] column computed once a frame, so the layer is a single product of the narrow
per-point input ``[h, s_lip, s_eye]`` with ``[W_h | W_a F_a | W_e F_e]``, the unscaled
per-frame terms (``W_id F_id``) added inside it (addmm); the torso field's ``Δx_face``
columns join its input the same way. The attention score ``<Q2 relu(Q1 h), key>`` folds the
frame's key into the query's last layer (``relu(Q1 h) (Q2_k^T key_k)``). Per-point signals
([N, D], occupancy refreshes over several frames) take the reference path. Same values up to
float rounding and the same gradients (tests hold them to the reference); parameter names
and shapes are unchanged, so checkpoints and ID-AKT's last-layer replacement are untouched.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .attention import SignalAttention, expand_signal
from .fields import check_identity

__all__ = ["attention_scores", "first_layer", "joint_offset", "per_frame", "rest_of_mlp",
           "rsdf_offsets"]  # fmt: skip


def first_layer(inputs: list, weights: list, constant=None) -> torch.Tensor:
    """One first-layer product on the inputs the layer reads per point: ``inputs`` [N, D_k]
    (the encoding, the attention scores as [N, 1] columns, ...) against ``weights``
    [H, D_k] (a score's weight is its signal's folded row ``W_k F_k``, [H, 1]); ``constant``
    [1, H] (the per-frame inputs no score scales) is added inside the product. -> [N, H]."""
    x = inputs[0] if len(inputs) == 1 else torch.cat(inputs, -1)
    w = weights[0] if len(weights) == 1 else torch.cat(weights, -1)
    if constant is None:
        return F.linear(x, w)
    return torch.addmm(constant, x, w.t())


def _row(signal, weight: torch.Tensor, dtype) -> torch.Tensor:
    """A per-frame signal [1, D] through its columns of a first layer [H, D] -> [1, H]."""
    return F.linear(signal.to(dtype), weight)


def rest_of_mlp(mlp, z: torch.Tensor, last_weight: torch.Tensor | None = None) -> torch.Tensor:
    """An MLP (``layers.MLP``, at least 2 layers) continued from its first layer's
    pre-activation ``z`` [N, H]; ``last_weight`` [out, H] replaces its last layer (ID-AKT)."""
    layers = mlp.net
    for layer in layers[1:-1]:
        z = layer(_relu(z))
    w = layers[-1].weight if last_weight is None else last_weight.to(z.dtype)
    return F.linear(_relu(z), w)


def _relu(z: torch.Tensor) -> torch.Tensor:
    """ReLU, in place where no gradient flows (z is always a fresh layer output here)."""
    return torch.relu(z) if z.requires_grad else z.relu_()


def attention_scores(att: SignalAttention, pre: torch.Tensor, signals: dict) -> dict:
    """:class:`SignalAttention` scores from its query's first-layer pre-activation ``pre``
    [N, att_hidden] and per-frame signals ([1, D_k]): name -> [N] in [0, 1]. Each frame's key
    [1, d] is folded into the query's last layer, so all scores are one [N, K] product."""
    w2, d = att.query.net[-1].weight, att.att_dim
    rows = [att.keys[k](signals[k].to(pre.dtype)) @ w2[i * d : (i + 1) * d]
            for i, k in enumerate(att.names)]  # fmt: skip
    logits = F.linear(_relu(pre), torch.cat(rows)) * (1.0 / math.sqrt(d))  # [N, K]
    return {k: torch.sigmoid(logits[:, i]) for i, k in enumerate(att.names)}


def _autocast_input(h: torch.Tensor) -> torch.Tensor:
    """The encoding cast once to the CPU autocast dtype when autocast is on (the inference
    fast path in bfloat16), so the four products that read it do not each cast a copy."""
    if h.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
        return h.to(torch.get_autocast_dtype("cpu"))
    return h


def per_frame(*signals) -> bool:
    """True when every given signal is one row ([1, D]): the fast path's case."""
    return all(f is None or f.shape[0] == 1 for f in signals)


def rsdf_offsets(rsdf, x: torch.Tensor, inside: torch.Tensor, F_a, F_e, F_h, F_id, last: dict):
    """RSDF's eqs. 3-4 on the fast path, per-frame signals ([1, D]; see :func:`per_frame`):
    x [N, 3], inside [N, 1] (1 in the box) -> (dx_face [N, 3], dx_torso [N, 3] or None,
    scores name -> [N]), the offsets masked to the box as on the reference path. Checks its
    inputs as the fields do."""
    n, face, dt = x.shape[0], rsdf.face, x.dtype
    expand_signal(F_a, n, face.audio_dim, "F_a")
    expand_signal(F_e, n, face.eye_dim, "F_e")
    F_id = check_identity(F_id, rsdf.id_dim, n)
    tor = rsdf.torso_field if rsdf.torso else None
    if tor is not None:
        if F_h is None:
            raise ValueError("F_h (head pose) is required when torso=True")
        expand_signal(F_h, n, tor.pose_dim, "F_h")
    h = _autocast_input(rsdf.encoder(x))
    p, a, e = face.point_dim, face.audio_dim, face.eye_dim
    wf = face.net.net[0].weight
    scores = attention_scores(
        face.attention, F.linear(h, face.attention.query.net[0].weight), {"lip": F_a, "eye": F_e}
    )
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
    t_scores = attention_scores(
        tor.attention, F.linear(h_t, tor.attention.query.net[0].weight), {"torso": F_h}
    )
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
