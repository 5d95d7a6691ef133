"""Train an Audio2Motion VAE on one folder's landmarks, evaluate it, save and load it.

>>> summary = train_audio2motion("data/obama", "a2m.pt", steps=2000)
>>> model = load_audio2motion("a2m.pt", audio_in_dim=29)
>>> f_a = model.feature(windows)     # [B, 8, 29, 16] -> [B, 32]

The checkpoint is one file written atomically (``atomic_save``) holding only tensors and plain
containers, so ``load_checkpoint`` reads it with ``weights_only=True``::

    {"kind": "audio2motion", "config": {...constructor keywords...}, "state_dict": {...},
     "stats": {"target": [68, 2], "reference": [68, 2], "iod": float, "points": [33 ints]},
     "summary": {...}}
"""

from __future__ import annotations

from pathlib import Path

import torch

from lokitalk_plugins.data.audio2motion import (
    MOTION_POINTS,
    gather_windows,
    motion_targets,
    normalise,
    padded_features,
    read_split,
)
from lokitalk_plugins.signals.audio2motion import Audio2Motion, elbo_loss
from lokitalk_plugins.train.fit import fit, loss_trend
from lokitalk_plugins.train.signal_checkpoints import load_signal_model, save_signal_checkpoint

__all__ = ["train_audio2motion", "motion_errors", "load_audio2motion", "KIND"]

KIND = "audio2motion"


@torch.no_grad()
def motion_errors(model: Audio2Motion, windows: torch.Tensor, motion: torch.Tensor) -> dict:
    """Errors of model.motion (audio only) and of predicting zero motion (the clip's mean).

    windows [N, 8, K, T], motion [N, P, 2] normalised. mse: mean squared error per coordinate;
    dist: mean Euclidean distance per point (fraction of the inter-ocular distance).
    """
    pred = torch.cat([model.motion(w) for w in windows.split(256)])
    zero = torch.zeros_like(motion)
    out = {}
    for name, p in (("model", pred), ("zero", zero)):
        out[f"{name}_mse"] = float((p - motion).pow(2).mean())
        out[f"{name}_dist"] = float((p - motion).norm(dim=-1).mean())
    out["frames"] = int(motion.shape[0])
    return out


def _split_data(root, split, padded, stats, num_windows):
    _, aud_ids, lms = read_split(root, split)
    windows = gather_windows(padded, torch.tensor(aud_ids), num_windows)
    return windows, normalise(lms, stats).float()


def train_audio2motion(
    folder: str | Path,
    out: str | Path,
    steps: int = 2000,
    batch: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
    audio_file: str = "aud.npy",
    latent_dim: int = 32,
    hidden: int = 128,
    beta: float = 1e-2,
    beta_warmup: int = 0,
    prior_weight: float = 0.0,
    progress: bool = True,
) -> dict:
    """Train on the folder's train split, evaluate on train and val, save to ``out``.

    folder: a preprocessed folder (transforms_{train,val}.json, ori_imgs/%d.lms, audio_file);
    beta: weight of the KL per latent dimension, ramped linearly from 0 over the first
    ``beta_warmup`` steps; prior_weight: weight of the loss on g(mu_p) (``elbo_loss``); lr
    decays by cosine to lr / 10. Seeded: the same arguments give the same weights (on one
    machine).
    Returns a summary {"train": errors, "val": errors, "loss_first", "loss_last", "steps",
    "out", ...} (``motion_errors``; val is None when the split has no frames).
    """
    root = Path(folder)
    num_windows = 8
    padded = padded_features(root, audio_file, num_windows)  # [N_aud + 8, K, T]
    _, aud_ids, lms = read_split(root, "train")
    motion, stats = motion_targets(lms)
    motion = motion.float()
    windows = gather_windows(padded, torch.tensor(aud_ids), num_windows)
    feats = padded[num_windows // 2 : -(num_windows - num_windows // 2)]  # [N_aud, K, T]

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Audio2Motion(padded.shape[1], latent_dim=latent_dim, hidden=hidden)
    scale = motion.pow(2).mean().sqrt().clamp_min(1e-6)
    model.set_stats(feats.mean(dim=(0, 2)), feats.std(dim=(0, 2)), scale)
    gen = torch.Generator().manual_seed(seed)
    n = windows.shape[0]

    def step_loss(step: int) -> dict:
        idx = torch.randint(0, n, (min(batch, n),), generator=gen)
        b = beta * min(1.0, (step + 1) / beta_warmup) if beta_warmup > 0 else beta
        return elbo_loss(model(windows[idx], motion[idx], gen), beta=b, prior_weight=prior_weight)

    losses = fit(model.parameters(), step_loss, steps, lr, KIND, progress, shown=("kl",))
    model.eval()
    train_err = motion_errors(model, windows, motion)
    val_w, val_m = _split_data(root, "val", padded, stats, num_windows)
    val_err = motion_errors(model, val_w, val_m) if val_m.shape[0] else None
    summary = {
        "train": train_err,
        "val": val_err,
        **loss_trend(losses, steps),
        "steps": int(steps),
        "seed": int(seed),
        "beta": float(beta),
        "prior_weight": float(prior_weight),
        "audio_file": audio_file,
        "out": str(out),
    }
    stats_out = {
        "target": stats["target"].float(),
        "reference": stats["reference"].float(),
        "iod": stats["iod"],
        "points": list(MOTION_POINTS),
    }
    save_signal_checkpoint(out, KIND, model, summary, stats=stats_out)
    return summary


def load_audio2motion(
    path: str | Path, audio_in_dim: int | None = None, map_location="cpu"
) -> Audio2Motion:
    """Load a checkpoint of ``train_audio2motion`` (weights-only) into a model in eval mode.

    audio_in_dim: the K of the features you will feed it; a checkpoint trained on other
    features is refused. Raises CheckpointError naming the file when it is not an
    Audio2Motion checkpoint, its config is incomplete, or its weights do not fit the config.
    """
    return load_signal_model(path, KIND, Audio2Motion, "an Audio2Motion", "lokitalk audio2motion",
                             audio_in_dim, map_location)  # fmt: skip
