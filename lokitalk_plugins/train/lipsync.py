"""Train the lip-sync module (DH-NeRF §3.4) on one folder, score it, save and load it.

>>> summary = train_lipsync("data/obama", "lipsync.pt", steps=1000)
>>> model = load_lipsync("lipsync.pt", audio_in_dim=29)
>>> f_a = model.feature(windows)     # [B, 8, 29, 16] -> [B, 32], unit vectors

The loop (``train.fit``) and checkpoint (``train.signal_checkpoints``) are Audio2Motion's: one
weights-only file ``{"kind": "lipsync", "config": {...}, "state_dict": {...}, "lips_box":
{"half": [2] pixels (x, y), "margin": float}, "summary": {...}}``.

Crops and clip checks: ``lokitalk_plugins.data.lipsync``.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from lokitalk_plugins.data.audio2motion import padded_features, read_split
from lokitalk_plugins.data.lipsync import check_clip, crop_at, read_lipsync_split
from lokitalk_plugins.signals.lipsync import (
    NEGATIVES,
    TAU,
    LipSync,
    draw_negatives,
    info_nce,
    negative_candidates,
)
from lokitalk_plugins.train.fit import fit, loss_trend
from lokitalk_plugins.train.signal_checkpoints import load_signal_model, save_signal_checkpoint

__all__ = ["KIND", "lipsync_scores", "train_lipsync", "load_lipsync"]

KIND = "lipsync"


@torch.no_grad()
def lipsync_scores(model: LipSync, crops, windows, candidates, negatives, tau=TAU, seed=0,
                   draws: int = 10):  # fmt: skip
    """InfoNCE and top-1 retrieval of every frame as the anchor, each against ``draws`` sets
    of ``negatives`` drawn with ``seed``, averaged: {"loss", "top1", "chance", "frames"};
    top1 = share of anchors whose own audio is strictly the most similar of the N + 1; chance =
    1 / (N + 1)."""
    n = crops.shape[0]
    gen = torch.Generator().manual_seed(seed)
    anchors = torch.arange(n).repeat(draws)
    neg = draw_negatives(candidates, anchors, negatives, gen)  # [draws * n, N]
    f_lip, f_al = model.encode_lips(crops)[anchors], model.encode_audio(windows)
    loss = info_nce(f_lip, f_al[anchors], f_al[neg], tau)
    sims = torch.cat([f_al[anchors][:, None], f_al[neg]], 1)
    sims = torch.einsum("bd,bnd->bn", F.normalize(f_lip, dim=-1), F.normalize(sims, dim=-1))
    top1 = (sims[:, :1] > sims[:, 1:]).all(dim=1).float().mean()  # a tie is no success
    return {"loss": float(loss.mean()), "top1": float(top1), "chance": 1.0 / (negatives + 1),
            "frames": int(n)}  # fmt: skip


def train_lipsync(
    folder: str | Path,
    out: str | Path,
    steps: int = 1000,
    batch: int = 32,
    lr: float = 1e-3,
    seed: int = 0,
    audio_file: str = "aud.npy",
    dim: int = 32,
    negatives: int = NEGATIVES,
    min_gap: int = 8,
    tau: float = TAU,
    crop: tuple[int, int] = (16, 24),
    margin: float = 0.15,
    jitter: float = 0.0,
    audio_noise: float = 0.0,
    progress: bool = True,
) -> dict:
    """Train on the folder's train split with InfoNCE (eq. 8), score train (and val when it
    has enough frames), save to ``out``. Seeded: the same arguments give the same weights.

    negatives: N per anchor (10); min_gap: frames between an anchor and its negatives (8);
    tau: temperature (0.5); dim: size of F_lip, F_al; lr decays by cosine to lr / 10;
    jitter: the anchors' lips box moves by up to this fraction of its half-size (uniform);
    audio_noise: Gaussian noise added to the windows, in standard deviations per channel.
    Raises ValueError for a train split shorter than the audio window, or too short for N
    negatives. Returns {"train": scores, "val": scores or None, "loss_first", "loss_last",
    "steps", "out", ...} (``lipsync_scores``).
    """
    root, num_windows = Path(folder), 8
    _, aud_ids, _ = read_split(root, "train")
    cand = check_clip(root, aud_ids, num_windows, negatives, min_gap)
    padded = padded_features(root, audio_file, num_windows)
    crops, windows, _, (images, centre, half) = read_lipsync_split(
        root, "train", padded, crop, margin, num_windows
    )
    feats = padded[num_windows // 2 : -(num_windows - num_windows // 2)]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LipSync(padded.shape[1], dim=dim, crop=crop)
    model.set_stats(feats.mean(dim=(0, 2)), feats.std(dim=(0, 2)),
                    crops.mean(dim=(0, 2, 3)), crops.std(dim=(0, 2, 3)))  # fmt: skip
    gen = torch.Generator().manual_seed(seed)
    n = crops.shape[0]

    def step_loss(step: int) -> dict:
        idx = torch.randint(0, n, (min(batch, n),), generator=gen)
        neg = draw_negatives(cand, idx, negatives, gen)  # [B, N]
        # each frame's audio encoded once per step, however often it is drawn
        ids, inv = torch.unique(torch.cat([idx, neg.flatten()]), return_inverse=True)
        w = windows[ids]
        if audio_noise > 0:  # Gaussian noise of audio_noise standard deviations per channel
            eps = torch.randn(w.shape, generator=gen)
            w = w + audio_noise * eps * model.audio_std[:, None]
        f_al = model.encode_audio(w)[inv]
        pos, neg_f = f_al[: idx.numel()], f_al[idx.numel() :].view(*neg.shape, -1)
        anchors = crops[idx]
        if jitter > 0:  # the box moves by up to jitter * its half-size, per anchor
            u = torch.rand(idx.numel(), 2, generator=gen) * 2 - 1
            anchors = crop_at(images[idx], centre[idx] + jitter * u * half, half, crop)
        return {"loss": info_nce(model.encode_lips(anchors), pos, neg_f, tau).mean()}

    losses = fit(model.parameters(), step_loss, steps, lr, "lipsync", progress)
    model.eval()
    val_crops, val_windows, val_aud, _ = read_lipsync_split(
        root, "val", padded, crop, margin, num_windows, half
    )
    val = None
    if val_crops is not None:
        val_cand = negative_candidates(torch.as_tensor(val_aud), min_gap)
        if int(val_cand.sum(dim=1).min()) >= negatives:
            val = lipsync_scores(model, val_crops, val_windows, val_cand, negatives, tau, seed)
    summary = {
        "train": lipsync_scores(model, crops, windows, cand, negatives, tau, seed),
        "val": val,
        **loss_trend(losses, steps),
        "steps": int(steps), "seed": int(seed), "negatives": int(negatives),
        "min_gap": int(min_gap), "tau": float(tau), "jitter": float(jitter),
        "audio_noise": float(audio_noise), "audio_file": audio_file, "out": str(out),
    }  # fmt: skip
    box = {"half": half, "margin": float(margin)}
    save_signal_checkpoint(out, KIND, model, summary, lips_box=box)
    return summary


def load_lipsync(path: str | Path, audio_in_dim: int | None = None, map_location="cpu"):
    """Load a ``train_lipsync`` checkpoint (weights-only) into a LipSync in eval mode.

    audio_in_dim: the K of the features you will feed it (a checkpoint trained on other
    features is refused). Raises CheckpointError naming the file when it is not a lip-sync
    checkpoint, or its config or weights do not fit.
    """
    return load_signal_model(
        path, KIND, LipSync, "a lip-sync", "lokitalk lipsync", audio_in_dim, map_location
    )
