"""The RAD-NeRF / ER-NeRF folder files other than the frames: camera transforms, audio,
audio features, OpenFace-style AU table and 3DMM-style tracking parameters."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ...signals.features import load_wav, logmel_windows, write_wav
from .identity import rng_for

__all__ = ["WORLD_SCALE", "camera_to_world", "write_transforms", "write_audio", "write_au",
           "write_track_params"]  # fmt: skip

WORLD_SCALE = 4.0  # the loaders multiply translations by 4: model units = 4 x world units


def camera_to_world(R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Head poses (p_cam = R p_head + t, OpenGL camera, model units) -> transform_matrix
    [N, 4, 4] = camera-to-head in the originals' convention (translation in world units)."""
    n = R.shape[0]
    M = np.zeros((n, 4, 4))
    Rt = np.transpose(R, (0, 2, 1))
    M[:, :3, :3] = Rt
    M[:, :3, 3] = -np.einsum("nij,nj->ni", Rt, t) / WORLD_SCALE
    M[:, 3, 3] = 1.0
    return M


def write_transforms(folder: Path, c2w: np.ndarray, focal: float, size: int) -> None:
    """transforms_train.json (first floor(N*10/11) frames) and transforms_val.json."""
    n = c2w.shape[0]
    n_train = (n * 10) // 11
    for name, ids in (("train", range(0, n_train)), ("val", range(n_train, n))):
        frames = [
            {
                "img_id": i,
                "aud_id": i,
                "transform_matrix": [[round(float(v), 8) for v in row] for row in c2w[i]],
            }
            for i in ids
        ]
        doc = {
            "focal_len": float(focal),
            "cx": size / 2.0,
            "cy": size / 2.0,
            "h": int(size),
            "w": int(size),
            "frames": frames,
        }
        (folder / f"transforms_{name}.json").write_text(json.dumps(doc, indent=1) + "\n")


def write_audio(folder: Path, wav: np.ndarray, sr: int, fps: int, n_mels: int, n: int):
    """aud.wav (16-bit PCM) and aud.npy [n, 16, n_mels] computed from the written waveform."""
    write_wav(folder / "aud.wav", wav, sr)
    pcm, sr = load_wav(folder / "aud.wav")  # features of exactly what a reader gets
    feats = logmel_windows(pcm, sr=sr, fps=fps, n_mels=n_mels)
    if feats.shape[0] != n:
        raise RuntimeError(f"audio features have {feats.shape[0]} frames, video has {n}")
    np.save(folder / "aud.npy", feats)


def write_au(folder: Path, jaw, closure, fps: int, key) -> None:
    """au.csv like OpenFace's output: leading-space column names; ' AU45_r' from the true eye
    closure (0..~2) plus estimator noise, ' AU25_r' / ' AU26_r' from the jaw."""
    g = rng_for("au", *key)
    n = len(jaw)
    au45 = np.clip(2.0 * np.asarray(closure) + g.normal(0, 0.08, n), 0, 5)
    au26 = np.clip(2.5 * np.asarray(jaw) + g.normal(0, 0.1, n), 0, 5)
    au25 = np.clip(3.0 * (np.asarray(jaw) > 0.12) + g.normal(0, 0.15, n), 0, 5)
    au01 = np.clip(g.normal(0.3, 0.2, n), 0, 5)
    lines = ["face_id, frame, timestamp, confidence, success, AU01_r, AU25_r, AU26_r, AU45_r"]
    for i in range(n):
        lines.append(f"0, {i + 1}, {i / fps:.3f}, 0.98, 1, {au01[i]:.2f}, {au25[i]:.2f}, "
                     f"{au26[i]:.2f}, {au45[i]:.2f}")  # fmt: skip
    (folder / "au.csv").write_text("\n".join(lines) + "\n")


def write_track_params(folder: Path, euler, trans, focal, jaw, lipw, closure, key) -> None:
    """track_params.pt: id [1, 100], exp [N, 79], euler [N, 3], trans [N, 3] (world units),
    focal [1]; the expression code carries the mouth and eye state plus tracking noise."""
    import torch

    g = rng_for("track", *key)
    n = len(jaw)
    exp = g.normal(0, 0.02, (n, 79))
    exp[:, 0] += np.asarray(jaw)
    exp[:, 1] += np.asarray(lipw) - 0.5
    exp[:, 2] += np.asarray(closure)
    params = {
        "id": torch.tensor(
            rng_for("track-id", key[0]).normal(0, 0.5, (1, 100)), dtype=torch.float32
        ),
        "exp": torch.tensor(exp, dtype=torch.float32),
        "euler": torch.tensor(np.asarray(euler), dtype=torch.float32),
        "trans": torch.tensor(np.asarray(trans) / WORLD_SCALE, dtype=torch.float32),
        "focal": torch.tensor([float(focal)], dtype=torch.float32),
    }
    torch.save(params, folder / "track_params.pt")
