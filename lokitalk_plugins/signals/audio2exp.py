"""GDRF's audio mapping (sec. 3.1): an LSTM from audio features to 3DMM expression and pose.

Eq. 2: [β̃_t, P̃_t, h_t, c_t] = L(E(a_t), h_{t-1}, c_{t-1}) over the frames t of a window.
Here a_t is frame t's audio feature window [K, T_a] (a row of the folder's ``aud.npy``:
DeepSpeech, wav2vec, HuBERT, the studio's log-mels, any K), E is the originals' AudioNet
(1D CNN, K -> audio_dim) and L an ``nn.LSTM``; a linear head reads β̃_t [E] and P̃_t [6]
from h_t. The head starts at zero, so an untrained model predicts the training clips' mean
expression and pose (buffers ``target_mean``, ``target_std``; the features are standardised
by ``audio_mean``, ``audio_std``).

:class:`Audio2ExpCondition` makes it an audio condition (F_a) for RSDF or a wrapped backbone:
the LSTM runs over a frame's 8 windows (the frames i-4 .. i+3), and the output at the frame
itself (step 4) is projected to ``dim`` channels on the principal axes of the training
frames' features (saved with the checkpoint), so F_a is deterministic and needs no training.
"""

from __future__ import annotations

import torch
from torch import nn

from lokitalk_plugins.signals.audio import AudioNet

__all__ = ["Audio2Exp", "Audio2ExpCondition", "SOURCES", "principal_axes"]

SOURCES = ("params", "hidden")  # what F_a is read from: standardised [β̃ ⊕ P̃], or h_t


class Audio2Exp(nn.Module):
    """frames [B, L, K, T_a] -> expression β̃ [B, L, exp_dim] and pose P̃ [B, L, pose_dim].

    audio_in_dim: K; exp_dim: E (79 for ``track_params.pt``); pose_dim: 6 (euler, trans);
    audio_dim: width of E(a_t); hidden: LSTM width H; layers: LSTM layers; seq_len: the
    training window T (frames), kept with the model.
    """

    def __init__(
        self,
        audio_in_dim: int,
        exp_dim: int = 79,
        pose_dim: int = 6,
        audio_dim: int = 64,
        hidden: int = 128,
        layers: int = 1,
        seq_len: int = 16,
    ):
        super().__init__()
        self.audio_in_dim, self.exp_dim, self.pose_dim = audio_in_dim, exp_dim, pose_dim
        self.audio_dim, self.hidden, self.layers, self.seq_len = audio_dim, hidden, layers, seq_len
        self.audio_net = AudioNet(audio_in_dim, audio_dim)
        self.lstm = nn.LSTM(audio_dim, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, exp_dim + pose_dim)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.register_buffer("audio_mean", torch.zeros(audio_in_dim))
        self.register_buffer("audio_std", torch.ones(audio_in_dim))
        self.register_buffer("target_mean", torch.zeros(exp_dim + pose_dim))
        self.register_buffer("target_std", torch.ones(exp_dim + pose_dim))

    def config(self) -> dict:
        """Constructor keywords (plain ints), as saved in a checkpoint."""
        keys = ("audio_in_dim", "exp_dim", "pose_dim", "audio_dim", "hidden", "layers", "seq_len")
        return {k: int(getattr(self, k)) for k in keys}

    def set_stats(self, audio_mean, audio_std, target_mean, target_std) -> None:
        """Feature standardisation [K] each; target mean and scale [exp_dim + pose_dim] each."""
        self.audio_mean.copy_(audio_mean)
        self.audio_std.copy_(audio_std.clamp_min(1e-6))
        self.target_mean.copy_(target_mean)
        self.target_std.copy_(target_std.clamp_min(1e-6))

    def forward(self, frames: torch.Tensor, state=None) -> dict:
        """frames [B, L, K, T_a] raw features; state: (h, c) [layers, B, H] each, or None
        (zeros). Returns {"exp" [B, L, E], "pose" [B, L, 6], "params" [B, L, E + 6] (the
        standardised head output), "hidden" [B, L, H], "state" (h, c) after the last frame}.
        """
        if frames.ndim != 4:
            raise ValueError(f"Audio2Exp expects frames [B, L, K, T], got {list(frames.shape)}")
        if frames.shape[2] != self.audio_in_dim:
            raise ValueError(
                f"Audio2Exp was built for audio features of K={self.audio_in_dim} channels, got "
                f"K={frames.shape[2]}: use the same features (audio file) it was trained on"
            )
        B, L = frames.shape[:2]
        x = (frames - self.audio_mean[:, None]) / self.audio_std[:, None]
        enc = self.audio_net(x.flatten(0, 1)).view(B, L, -1)
        hidden, state = self.lstm(enc, state)
        params = self.head(hidden)
        y = params * self.target_std + self.target_mean
        return {
            "exp": y[..., : self.exp_dim],
            "pose": y[..., self.exp_dim :],
            "params": params,
            "hidden": hidden,
            "state": state,
        }

    def stream(self, frames: torch.Tensor, chunk: int = 256, state=None) -> dict:
        """One clip's frames [N, K, T_a] in chunks of ``chunk`` frames, the LSTM state carried
        from chunk to chunk: the same outputs as one pass, [N, ...] each (batch axis dropped)."""
        if chunk < 1:
            raise ValueError(f"chunk must be positive, got {chunk}")
        parts = []
        for piece in frames.split(chunk):
            out = self(piece.unsqueeze(0), state)
            state = out.pop("state")
            parts.append(out)
        if not parts:
            raise ValueError("Audio2Exp.stream got no frames")
        merged = {k: torch.cat([p[k][0] for p in parts]) for k in parts[0]}
        merged["state"] = state
        return merged

    def window_features(self, windows: torch.Tensor, source: str = "params") -> torch.Tensor:
        """A frame's windows [B, W, K, T_a] (frames i - W//2 .. i + W - W//2 - 1) -> the
        ``source`` output at frame i, from zero state: [B, E + 6] or [B, H]."""
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
        return self(windows)[source][:, windows.shape[1] // 2]


def principal_axes(features: torch.Tensor) -> dict[str, torch.Tensor]:
    """PCA of features [N, D]: {"mean" [D], "axes" [D, D] (columns, by decreasing variance),
    "variance" [D]}; each axis' sign makes its largest-magnitude entry positive."""
    x = features.double()
    mean = x.mean(dim=0)
    xc = x - mean
    cov = xc.T @ xc / max(x.shape[0] - 1, 1)
    var, axes = torch.linalg.eigh(cov)
    var, axes = var.flip(0).clamp_min(0.0), axes.flip(1)
    sign = torch.sign(axes.gather(0, axes.abs().argmax(dim=0, keepdim=True)))
    axes = axes * torch.where(sign == 0, torch.ones_like(sign), sign)
    return {"mean": mean.float(), "axes": axes.float(), "variance": var.float()}


class Audio2ExpCondition(nn.Module):
    """F_a from a trained Audio2Exp: windows [B, 8, K, T_a] -> [B, dim].

    F_a = (s - mean) @ axes[:, :dim] / scale, s = ``model.window_features(windows, source)``,
    the principal axes of s over the training frames, scale = the RMS of the projected
    training features (so F_a has unit RMS there). ``latent_dim`` = dim, so a wrap takes it
    where it takes an Audio2Motion (``wrap(..., audio2motion=condition)``).
    """

    def __init__(self, model: Audio2Exp, axes: dict, source: str = "params", dim: int = 32):
        super().__init__()
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
        full = axes["axes"].shape[1]
        if not 1 <= int(dim) <= full:
            raise ValueError(
                f"Audio2ExpCondition dim={dim}: the {source!r} features have {full} channels; "
                f"choose 1 <= dim <= {full}"
            )
        self.model, self.source, self.latent_dim = model, source, int(dim)
        var = axes["variance"][:dim]
        scale = var.mean().sqrt().clamp_min(1e-6)
        self.register_buffer("mean", axes["mean"].clone())
        self.register_buffer("projection", axes["axes"][:, :dim] / scale)

    @property
    def audio_in_dim(self) -> int:
        return self.model.audio_in_dim

    def feature(self, windows: torch.Tensor) -> torch.Tensor:
        """F_a: windows [B, W, K, T_a] -> [B, dim] (deterministic, differentiable)."""
        s = self.model.window_features(windows, self.source)
        return (s - self.mean) @ self.projection

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        return self.feature(windows)
