"""The Disentangling Head NeRF's field and conditioning, defined once: functions of a model
with :class:`~.network.DHNeRF`'s names (``encoder``, ``sigma_net``, ``encoder_dir``,
``color_net``, ``expression_net``, ``audio_net`` / ``audio_att_net``, ``lipsync``,
``codes_<k>`` / ``reference_<k>``, ``coded_frames``, ``dims``, ``lip_sync``), called by the
model's own methods and by its adapter (``lokitalk_plugins.adapters.DHNeRFAdapter``).

The code of a frame, [1, I] with I = d_id + d_ex + d_al + d_ill + 1:

    code = [C_id, C_ex, C_al, C_ill, w]

The codes of ``model.shared_codes`` (C_id and C_al by default) are one for the clip: every
row of their tables holds it, a frame reads the rows' mean (so all rows get the same gradient
and stay equal) and L_dis pulls that mean to the references' (equal rows too).

w is 1 for a training frame (its own learnt codes) and 0 at test time (index None), where the
field is driven by audio alone (§3.1: "the model takes a short clip ... and the speech audio";
F_lip is "the input of volume rendering", §3.2, and the lip-sync module's audio branch at
inference, §3.4). The expression the field reads is

    C_ex* = w C_ex + (1 - w) E(F_lip)

with E (``expression_net``) an MLP trained beside the field to predict each training frame's
learnt C_ex from that frame's F_lip (``dhnerf_ex_audio``: ‖E(F_lip) − sg(C_ex)‖², λ 1; the
codes are not pulled by it). With ``audio_share`` > 0 that share of the training steps reads
w = 0 as well (the frame's other codes its own), so D_θ and E are also fitted as they are read
at test time. C_id and C_al belong to the person and C_ill to the clip's
lighting: at test time they are the mean of the training frames' codes. With ``light_share``
> 0 that share of the training steps reads the training frames' mean C_ill (held fixed: no
code is pulled by such a step) in place of the frame's own, so D_θ also learns to render the
light it is read with at test time (the frame's other codes its own). Nothing of a test
frame but its audio (and camera) is read: the code extractor never sees it. Without audio
(enc_a None: a grid refresh without one, or the static canonical condition of a wrap with a
deformation field) C_ex* is the code's own C_ex (the training mean at test time).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lokitalk_plugins.errors import UserError
from lokitalk_plugins.layers import trunc_exp
from lokitalk_plugins.losses import CODE_NAMES, disentangle_loss
from lokitalk_plugins.pipeline import TrainingCallback
from lokitalk_plugins.signals.audio import encode_audio as encode_windows

from ..groups import original_param_groups

__all__ = [
    "AUDIO_WINDOW",
    "color",
    "density",
    "encode_audio",
    "encode_points",
    "expression",
    "frame_code_rows",
    "frame_codes",
    "individual_code",
    "init_codes",
    "join_code",
    "loss_terms",
    "param_groups",
    "split_code",
    "training_callbacks",
]

AUDIO_WINDOW = 8  # frames of audio windows F_lip attends over


# --- codes ----------------------------------------------------------------------------------
def frame_codes(model, index: int | None) -> dict[str, torch.Tensor]:
    """{k: [1, d_k]}: frame ``index``'s learnt codes, or (None) their mean over the coded
    (training) frames; a shared code is that mean for every frame."""
    n, shared = int(model.coded_frames), model.shared_codes
    out = {}
    for k in CODE_NAMES:
        table = getattr(model, f"codes_{k}")
        mean = index is None or k in shared
        row = table[: max(n, 1)].mean(0) if mean else table[int(index)]
        out[k] = row.unsqueeze(0)
    return out


def join_code(parts: dict[str, torch.Tensor], w: float) -> torch.Tensor:
    """{k: [1, d_k]} and the weight w of C_ex (1: the code's own, 0: from audio) -> [1, I]."""
    first = parts[CODE_NAMES[0]]
    return torch.cat([*(parts[k] for k in CODE_NAMES), first.new_full((1, 1), float(w))], -1)


def individual_code(model, index: int | None) -> torch.Tensor:
    """[1, I]: frame ``index``'s codes with w = 1, or (None, test time) the mean codes, w = 0.
    In training mode a share ``model.audio_share`` of the calls with an index (one a training
    step) give w = 0, drawn from torch's global generator: the step renders the frame's
    expression from its audio, as the test time does, with the frame's other codes; a share
    ``model.light_share`` of them (drawn after it) read the training frames' mean C_ill,
    detached, in place of the frame's own: its light as the test time renders it."""
    w = 0.0 if index is None else 1.0
    share = getattr(model, "audio_share", 0.0)
    if index is not None and share > 0 and model.training and float(torch.rand(())) < share:
        w = 0.0
    parts = frame_codes(model, index)
    light = getattr(model, "light_share", 0.0)
    if index is not None and light > 0 and model.training and float(torch.rand(())) < light:
        parts["ill"] = frame_codes(model, None)["ill"].detach()
    return join_code(parts, w)


def frame_code_rows(model, frames: torch.Tensor) -> torch.Tensor:
    """frames [M] int64 -> [M, I]: each frame's codes with w = 1, as
    :func:`individual_code` gives them one at a time (a shared code: the mean)."""
    n, rows = max(int(model.coded_frames), 1), []
    for k in CODE_NAMES:
        table = getattr(model, f"codes_{k}")
        rows.append(table[:n].mean(0).expand(len(frames), -1) if k in model.shared_codes
                    else table[frames])  # fmt: skip
    return torch.cat([*rows, rows[0].new_ones(len(frames), 1)], -1)


def split_code(model, code: torch.Tensor) -> dict[str, torch.Tensor]:
    """[1 or N, I] -> {k: [1 or N, d_k], "w": [1 or N, 1]}."""
    sizes = [*model.dims.values(), 1]
    if code.shape[-1] != sum(sizes):
        raise ValueError(
            f"a DHNeRF code has {sum(sizes)} channels (C_id, C_ex, C_al, C_ill sizes "
            f"{list(model.dims.values())} and the weight w), got {code.shape[-1]}"
        )
    return dict(zip((*CODE_NAMES, "w"), code.split(sizes, -1)))


# --- conditioning and the field -------------------------------------------------------------
def encode_audio(model, windows: torch.Tensor | None) -> torch.Tensor | None:
    """windows [B, 8, K, T] -> F_lip [B, audio_dim]: the trained lip-sync module's audio
    branch (frozen) when the model has one, else its own audio network; None -> None."""
    if windows is None:
        return None
    if model.lipsync is not None:
        with torch.no_grad():
            return model.lipsync.feature(windows)
    return encode_windows(model.audio_net, model.audio_att_net, windows, None)


def expression(model, c: dict[str, torch.Tensor], enc_a) -> torch.Tensor:
    """C_ex* = w C_ex + (1 - w) E(F_lip) [1 or N, d_ex] (see the module doc)."""
    if enc_a is None:
        return c["ex"]
    w = c["w"].to(c["ex"].dtype)
    return w * c["ex"] + (1 - w) * model.expression_net(enc_a.to(c["ex"].dtype))


def encode_points(model, x: torch.Tensor) -> torch.Tensor:
    """x [N, 3] in [-bound, bound] -> [N, 32]."""
    return model.encoder(x, bound=model.bound)


def density(model, enc_x, enc_a, code) -> dict[str, torch.Tensor]:
    """enc_x [N, 32], enc_a (F_lip) [1 or N, A] or None, code [1, I] -> sigma [N], geo_feat
    (M) [N, feature_dim]: h = sigma_net([enc(x), C_id, C_ex*, F_lip]) (eq. 1), σ = exp(h_0)."""
    n, c = enc_x.shape[0], split_code(model, code)
    parts = [enc_x, c["id"].expand(n, -1), expression(model, c, enc_a).expand(n, -1)]
    if model.lip_sync:
        f = enc_x.new_zeros(1, model.audio_dim) if enc_a is None else enc_a
        parts.append(f.expand(n, -1))
    h = model.sigma_net(torch.cat(parts, -1))
    return {"sigma": trunc_exp(h[..., 0]), "geo_feat": h[..., 1:]}


def color(model, geo_feat, d, code) -> torch.Tensor:
    """geo_feat [N, F], d [N, 3] unit, code [1, I] -> rgb [N, 3] in [0, 1]
    = sigmoid(color_net([SH(d), M, C_al, C_ill]))."""
    n, c = geo_feat.shape[0], split_code(model, code)
    h = [model.encoder_dir(d), geo_feat, c["al"].expand(n, -1), c["ill"].expand(n, -1)]
    return torch.sigmoid(model.color_net(torch.cat(h, -1)))


# --- what the pipeline asks -----------------------------------------------------------------
def param_groups(model, stage: str) -> dict[str, list]:
    """Head and lips stages: grid (the hash tables), mlp (networks, E and the codes),
    audio_att; the extractor and a lip-sync module stay frozen."""
    frozen = {id(p) for m in (model.extractor, model.lipsync) if m is not None
              for p in m.parameters()}  # fmt: skip
    groups = original_param_groups(model, stage)
    return {g: [p for p in ps if id(p) not in frozen] for g, ps in groups.items()}


def loss_terms(model, result, batch, progress: float) -> dict[str, torch.Tensor]:
    """λ_dis L_dis (eq. 6) of the batch's frame once its references exist, and E's fit to the
    frame's learnt C_ex (``dhnerf_ex_audio``, λ ``lambda_expression``) from the F_lip the
    field reads: ``batch.audio_feature`` when a wrap gives one (its ``audio_condition``), else
    the model's own encoding of the frame's audio."""
    i, terms, n = int(batch.frame.index), {}, int(model.coded_frames)
    if model.lambda_dis > 0 and n > 0:

        def row(name: str, k: str) -> torch.Tensor:  # a shared code: the rows' mean
            table = getattr(model, f"{name}_{k}")
            return table[:n].mean(0) if k in model.shared_codes else table[i]

        codes = {k: row("codes", k) for k in CODE_NAMES}
        refs = {k: row("reference", k) for k in CODE_NAMES}
        terms["dhnerf_dis"] = model.lambda_dis * disentangle_loss(codes, refs, model.dis_weights)
    if model.lambda_expression > 0:
        f_lip = batch.audio_feature
        if f_lip is None:
            f_lip = encode_audio(model, batch.frame.audio.unsqueeze(0).float())
        target = model.codes_ex[i].detach().unsqueeze(0)
        fit = F.mse_loss(model.expression_net(f_lip.to(target.dtype)), target)
        terms["dhnerf_ex_audio"] = model.lambda_expression * fit
    return terms


def training_callbacks(model) -> list[TrainingCallback]:
    """The codes from the extractor at "prepare" (none without an extractor)."""
    if model.extractor is None:
        return []
    return [TrainingCallback("prepare", lambda dataset: init_codes(model, dataset))]


@torch.no_grad()
def init_codes(model, dataset, chunk: int = 64) -> None:
    """C and C̄ of every training frame from the extractor, a shared code's rows all the
    extractor's mean over the frames, a code the extractor reads relative to the person
    (``CodeExtractor.relative``) less its mean over the frames (once: a resumed or later
    stage keeps its trained codes)."""
    n = len(dataset)
    if n < AUDIO_WINDOW:
        raise UserError(
            f"the clip has {n} training frames, shorter than the {AUDIO_WINDOW}-frame audio "
            "window F_lip reads: use a clip of at least that many frames"
        )
    if n > model.ind_num:
        raise UserError(f"{n} training frames but DHNeRF.ind_num = {model.ind_num}: raise it")
    if int(model.coded_frames) > 0:
        return
    for a in range(0, n, chunk):
        images = torch.stack([dataset[i].image for i in range(a, min(n, a + chunk))])
        for k, v in model.extractor(images.to(model.codes_id.device)).items():
            getattr(model, f"codes_{k}")[a : a + len(v)] = v
            getattr(model, f"reference_{k}")[a : a + len(v)] = v
    for k in getattr(model.extractor, "relative", ()):  # read relative to the clip's person
        for name in ("codes", "reference"):
            table = getattr(model, f"{name}_{k}")
            table[:n] = table[:n] - table[:n].mean(0)
    for k in model.shared_codes:
        for name in ("codes", "reference"):
            table = getattr(model, f"{name}_{k}")
            table[:n] = table[:n].mean(0)
    model.coded_frames.fill_(n)
