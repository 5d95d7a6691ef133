"""Pre-train Audio2Exp on several folders, fine-tune it on one, evaluate, save and load it.

>>> train_audio2exp(["id001", "id002", "id003"], "a2e_pre.pt", steps=2000)   # pre-training
>>> train_audio2exp(["id000"], "a2e.pt", init="a2e_pre.pt", steps=500, lr=2e-4)  # fine-tuning
>>> cond = load_audio2exp("a2e.pt", dim=32)      # F_a: windows [B, 8, K, T] -> [B, 32]

The checkpoint is one weights-only file (``atomic_save``)::

    {"kind": "audio2exp", "config": {...constructor keywords...}, "state_dict": {...},
     "axes": {"params": {"mean", "axes", "variance"}, "hidden": {...}}, "summary": {...}}

``axes`` are the principal axes of the condition's features over the training frames
(:class:`~lokitalk_plugins.signals.audio2exp.Audio2ExpCondition`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from lokitalk_plugins.data.audio2exp import Clip, read_clip, runs, window_starts
from lokitalk_plugins.data.audio2motion import gather_windows, padded_features
from lokitalk_plugins.losses.audio2exp import (
    LAMBDA_EXP_SMOOTH,
    LAMBDA_POSE,
    LAMBDA_POSE_SMOOTH,
    audio2exp_loss,
)
from lokitalk_plugins.signals.audio2exp import (
    SOURCES,
    Audio2Exp,
    Audio2ExpCondition,
    principal_axes,
)
from lokitalk_plugins.train.checkpoint import CheckpointError
from lokitalk_plugins.train.fit import fit, loss_trend
from lokitalk_plugins.train.signal_checkpoints import (
    load_signal_checkpoint,
    load_signal_model,
    save_signal_checkpoint,
)

__all__ = ["KIND", "train_audio2exp", "param_errors", "load_audio2exp_model", "load_audio2exp"]

KIND = "audio2exp"


@torch.no_grad()
def param_errors(model: Audio2Exp, clip: Clip) -> dict | None:
    """Mean squared errors of β̃ and P̃ per coefficient over a clip, the LSTM streamed over
    each run of consecutive frames, next to those of predicting the training mean
    (``model.target_mean``). None for a clip without frames."""
    if len(clip) == 0:
        return None
    preds = [model.stream(clip.frames[a:b]) for a, b in runs(clip.img_ids)]
    exp = torch.cat([p["exp"] for p in preds])
    pose = torch.cat([p["pose"] for p in preds])
    mean = model.target_mean
    return {
        "frames": len(clip),
        "model_exp_mse": float((exp - clip.exp).pow(2).mean()),
        "mean_exp_mse": float((mean[: model.exp_dim] - clip.exp).pow(2).mean()),
        "model_pose_mse": float((pose - clip.pose).pow(2).mean()),
        "mean_pose_mse": float((mean[model.exp_dim :] - clip.pose).pow(2).mean()),
    }


def _check_same_sizes(clips: list[Clip]) -> None:
    first = clips[0]
    for c in clips[1:]:
        if c.frames.shape[1:] != first.frames.shape[1:] or c.exp.shape[1] != first.exp.shape[1]:
            raise ValueError(
                f"{c.root}: audio windows {list(c.frames.shape[1:])} and exp width "
                f"{c.exp.shape[1]} differ from {first.root}'s {list(first.frames.shape[1:])} "
                f"and {first.exp.shape[1]}: train on folders with the same features and tracker"
            )


@torch.no_grad()
def _condition_axes(model: Audio2Exp, clips: list[Clip], audio_file: str) -> dict:
    """Principal axes of each source's condition features over the clips' frames."""
    feats = {s: [] for s in SOURCES}
    for c in clips:
        windows = gather_windows(padded_features(c.root, audio_file), c.aud_ids)
        for w in windows.split(256):
            for s in SOURCES:
                feats[s].append(model.window_features(w, s))
    return {s: principal_axes(torch.cat(v)) for s, v in feats.items()}


def _build(init, clips, seed, seq_len, audio_dim, hidden, layers) -> Audio2Exp:
    k, e = clips[0].frames.shape[1], clips[0].exp.shape[1]
    if init is not None:
        model = load_audio2exp_model(init, audio_in_dim=k)
        if model.exp_dim != e:
            raise ValueError(f"{init}: the model predicts exp of {model.exp_dim} coefficients, "
                             f"{clips[0].root}'s tracking has {e}")  # fmt: skip
        model.seq_len = seq_len or model.seq_len
        return model.train()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Audio2Exp(k, exp_dim=e, audio_dim=audio_dim, hidden=hidden, layers=layers,
                          seq_len=seq_len or 16)  # fmt: skip
    frames = torch.cat([c.frames for c in clips])
    targets = torch.cat([torch.cat([c.exp, c.pose], 1) for c in clips])
    model.set_stats(frames.mean(dim=(0, 2)), frames.std(dim=(0, 2)),
                    targets.mean(dim=0), targets.std(dim=0))  # fmt: skip
    return model


def train_audio2exp(
    folders: Sequence[str | Path],
    out: str | Path,
    init: str | Path | None = None,
    steps: int = 2000,
    batch: int = 16,
    seq_len: int | None = None,
    lr: float = 1e-3,
    seed: int = 0,
    audio_file: str = "aud.npy",
    audio_dim: int = 64,
    hidden: int = 128,
    layers: int = 1,
    lambda_pose: float = LAMBDA_POSE,
    lambda_exp_smooth: float = LAMBDA_EXP_SMOOTH,
    lambda_pose_smooth: float = LAMBDA_POSE_SMOOTH,
    progress: bool = True,
) -> dict:
    """Train on the folders' train splits (windows of ``seq_len`` consecutive frames, loss of
    eqs. 3-5), evaluate each folder's train and val split, save to ``out``.

    folders: preprocessed folders (transforms_{train,val}.json, track_params.pt, audio_file),
    several for pre-training; init: a checkpoint to fine-tune (its sizes, standardisation and
    window unless seq_len is given; audio_dim, hidden, layers are then ignored); seq_len:
    the window T (16 frames for a new model); lr decays by cosine to lr / 10. Seeded.
    Returns {"clips": [{"root", "train": errors, "val": errors}] (``param_errors``),
    "loss_first", "loss_last", "steps", "seq_len", "init", "out", ...}.
    """
    if not folders:
        raise ValueError("train_audio2exp needs at least one folder")
    if steps < 0 or batch < 1 or (seq_len is not None and seq_len < 1):
        raise ValueError(f"train_audio2exp: steps must be >= 0, batch and seq_len positive; got "
                         f"steps={steps}, batch={batch}, seq_len={seq_len}")  # fmt: skip
    clips = [read_clip(f, "train", audio_file) for f in folders]
    _check_same_sizes(clips)
    model = _build(init, clips, seed, seq_len, audio_dim, hidden, layers)
    length = model.seq_len
    offsets = torch.tensor([0] + [len(c) for c in clips[:-1]]).cumsum(0)
    starts = torch.cat([window_starts(c, length) + o for c, o in zip(clips, offsets)])
    frames = torch.cat([c.frames for c in clips])
    exp, pose = torch.cat([c.exp for c in clips]), torch.cat([c.pose for c in clips])
    gen = torch.Generator().manual_seed(seed)
    steps_in_window = torch.arange(length)

    def step_loss(step: int) -> dict:
        pick = torch.randint(0, starts.numel(), (batch,), generator=gen)
        idx = starts[pick][:, None] + steps_in_window  # [B, T] frames
        pred = model(frames[idx])
        return audio2exp_loss(pred["exp"], pred["pose"], exp[idx], pose[idx], lambda_pose,
                              lambda_exp_smooth, lambda_pose_smooth)  # fmt: skip

    losses = fit(model.parameters(), step_loss, steps, lr, KIND, progress, shown=("exp",))
    model.eval()
    per_clip = []
    for c in clips:
        val = read_clip(c.root, "val", audio_file)
        per_clip.append({"root": str(c.root), "train": param_errors(model, c),
                         "val": param_errors(model, val)})  # fmt: skip
    summary = {
        "clips": per_clip,
        **loss_trend(losses, steps),
        "steps": int(steps),
        "seed": int(seed),
        "seq_len": int(length),
        "windows": int(starts.numel()),
        "init": None if init is None else str(init),
        "lambdas": [float(lambda_pose), float(lambda_exp_smooth), float(lambda_pose_smooth)],
        "audio_file": audio_file,
        "out": str(out),
    }
    save_signal_checkpoint(
        out, KIND, model, summary, axes=_condition_axes(model, clips, audio_file)
    )
    return summary


def load_audio2exp_model(
    path: str | Path, audio_in_dim: int | None = None, map_location="cpu"
) -> Audio2Exp:
    """The Audio2Exp of a ``train_audio2exp`` checkpoint, in eval mode (CheckpointError
    naming the file when it is another kind, does not fit, or was trained on another K)."""
    return load_signal_model(path, KIND, Audio2Exp, "an Audio2Exp", "lokitalk audio2exp",
                             audio_in_dim, map_location)  # fmt: skip


def load_audio2exp(
    path: str | Path,
    dim: int = 32,
    source: str = "params",
    audio_in_dim: int | None = None,
    map_location="cpu",
) -> Audio2ExpCondition:
    """A trained Audio2Exp as an audio condition F_a [B, dim] (eval mode): ``source`` "params"
    (the standardised β̃ ⊕ P̃) or "hidden" (the LSTM state h), on its first ``dim`` principal
    axes. Bind it as RSDF's F_a with ``configs/audio2exp.gin``."""
    model, ckpt = load_signal_checkpoint(
        path, KIND, Audio2Exp, "an Audio2Exp", "lokitalk audio2exp", audio_in_dim, map_location
    )
    axes = ckpt.get("axes")
    if not isinstance(axes, dict) or source not in axes:
        raise CheckpointError(f"{path}: no principal axes for source {source!r} (choose one "
                              f"of {SOURCES}, or re-train with lokitalk audio2exp)")  # fmt: skip
    try:
        return Audio2ExpCondition(model, axes[source], source=source, dim=dim).eval()
    except ValueError as err:
        raise CheckpointError(f"{path}: {err}") from None
