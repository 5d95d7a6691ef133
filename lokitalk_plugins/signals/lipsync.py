"""The Disentangling Head NeRF's lip-sync module (§3.4): lips and audio meet in one space.

A lip-expression encoder maps the lips crop of a frame to F_lip; an audio encoder maps the
frame's audio windows to F_al. Trained with InfoNCE (eq. 8): the frame's lips are the
anchor, its own audio the positive, the audio of N = 10 unrelated frames the negatives,

    L_lips = −log( e^{d(F_lip, F_al⁺)/τ} / (e^{d(F_lip, F_al⁺)/τ} + Σ_N e^{d(F_lip, F_al⁻)/τ}) )

with d the cosine similarity (eq. 9) and τ = 0.5. Once trained, the audio branch alone gives
the lip condition at inference: ``LipSync.feature(windows)`` (the unit F_al), usable as the
audio condition F_a of a wrapped backbone (``configs/lipsync.gin``).

Unrelated frames (``draw_negatives``): frames whose audio id is at least ``min_gap`` away
from the anchor's (8 by default: the anchor's 8 feature windows and theirs share no
feature frame), drawn uniformly without replacement.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lokitalk_plugins.signals.audio import AudioAttNet, AudioNet, encode_audio

__all__ = ["LipSync", "info_nce", "negative_candidates", "draw_negatives", "TAU", "NEGATIVES"]

TAU = 0.5
NEGATIVES = 10


def info_nce(
    anchor: torch.Tensor, positive: torch.Tensor, negatives: torch.Tensor, tau: float = TAU
) -> torch.Tensor:
    """InfoNCE of eq. 8 with cosine similarity (eq. 9), per anchor: -> [B].

    anchor, positive: [B, D]; negatives: [B, N, D]; tau: temperature. Equals
    logsumexp([s⁺, s⁻_1..N] / τ) − s⁺/τ. Identical embeddings everywhere give log(N + 1);
    a positive equal to the anchor and negatives orthogonal to it give log(1 + N e^{−1/τ}).
    """
    if (
        anchor.shape != positive.shape
        or negatives.ndim != 3
        or negatives.shape[::2] != anchor.shape
    ):
        raise ValueError(
            f"info_nce needs anchor and positive [B, D] and negatives [B, N, D], got "
            f"{list(anchor.shape)}, {list(positive.shape)}, {list(negatives.shape)}"
        )
    a = F.normalize(anchor, dim=-1)
    pos = (a * F.normalize(positive, dim=-1)).sum(-1, keepdim=True)  # [B, 1]
    neg = torch.einsum("bd,bnd->bn", a, F.normalize(negatives, dim=-1))  # [B, N]
    logits = torch.cat([pos, neg], dim=1) / tau
    return torch.logsumexp(logits, dim=1) - logits[:, 0]


def negative_candidates(aud_ids: torch.Tensor, min_gap: int) -> torch.Tensor:
    """Which frames may be a frame's negatives: aud_ids [n] -> bool [n, n], True where
    |aud_id_j − aud_id_i| >= min_gap (row i: the anchor, column j: a candidate)."""
    a = aud_ids.reshape(-1).to(torch.long)
    return (a[None, :] - a[:, None]).abs() >= int(min_gap)


def draw_negatives(
    candidates: torch.Tensor, anchors: torch.Tensor, n: int, generator=None
) -> torch.Tensor:
    """``n`` distinct candidate frames per anchor, uniformly: -> [B, n] frame positions.

    candidates: bool [F, F] (``negative_candidates``); anchors: [B] frame positions. Every
    anchor must have at least n candidates (``train_lipsync`` checks the clip first).
    """
    rows = candidates[anchors]  # [B, F]
    if int(rows.sum(dim=1).min()) < n:
        raise ValueError(f"an anchor has fewer than {n} unrelated frames to draw negatives from")
    scores = torch.rand(rows.shape, generator=generator, device=rows.device)
    scores = torch.where(rows, scores, torch.full_like(scores, -1.0))
    return scores.topk(n, dim=1).indices


def _cnn(channels: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for c_in, c_out in zip(channels[:-1], channels[1:]):
        layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.LeakyReLU(0.2)]
    return nn.Sequential(*layers)


class LipSync(nn.Module):
    """Lip-expression encoder (lips crops [B, 3, h, w] -> F_lip [B, dim]) and audio encoder
    (windows [B, 8, K, T] -> F_al [B, dim]).

    audio_in_dim: K of the audio features; dim: size of F_lip and F_al (= F_a's size);
    crop: (h, w) of the lips crops (multiples of 8); audio_dim: width of the audio encoding
    (AudioNet on each window, AudioAttNet across the 8); hidden: width of the heads;
    num_windows: windows per frame (8). Buffers set from the training clip (``set_stats``):
    audio_mean, audio_std [K], crop_mean, crop_std [3].
    """

    def __init__(
        self,
        audio_in_dim: int,
        dim: int = 32,
        crop: tuple[int, int] = (16, 24),
        audio_dim: int = 64,
        hidden: int = 128,
        num_windows: int = 8,
    ):
        super().__init__()
        h, w = (int(c) for c in crop)
        if h % 8 or w % 8 or h <= 0 or w <= 0:
            raise ValueError(f"crop must be (h, w) multiples of 8, got {tuple(crop)}")
        self.audio_in_dim, self.dim, self.crop = int(audio_in_dim), int(dim), (h, w)
        self.audio_dim, self.hidden, self.num_windows = int(audio_dim), int(hidden), num_windows
        self.lip_conv = _cnn([3, 16, 32, 64])
        self.lip_head = nn.Sequential(
            nn.Flatten(), nn.Linear(64 * (h // 8) * (w // 8), hidden), nn.LeakyReLU(0.2),
            nn.Linear(hidden, self.dim),
        )  # fmt: skip
        self.audio_net = AudioNet(self.audio_in_dim, self.audio_dim)
        self.audio_att_net = AudioAttNet(self.audio_dim, num_windows)
        self.audio_head = nn.Sequential(
            nn.Linear(self.audio_dim, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, self.dim)
        )
        self.register_buffer("audio_mean", torch.zeros(self.audio_in_dim))
        self.register_buffer("audio_std", torch.ones(self.audio_in_dim))
        self.register_buffer("crop_mean", torch.zeros(3))
        self.register_buffer("crop_std", torch.ones(3))

    @property
    def latent_dim(self) -> int:
        """Size of F_a when the audio branch conditions a backbone (``wrap``)."""
        return self.dim

    def config(self) -> dict:
        """Constructor keywords (plain values), as saved in a checkpoint."""
        return {"audio_in_dim": self.audio_in_dim, "dim": self.dim, "crop": list(self.crop),
                "audio_dim": self.audio_dim, "hidden": self.hidden,
                "num_windows": int(self.num_windows)}  # fmt: skip

    def set_stats(self, audio_mean, audio_std, crop_mean, crop_std) -> None:
        """Standardisation of the audio features ([K] each) and of the crops ([3] each)."""
        self.audio_mean.copy_(audio_mean)
        self.audio_std.copy_(audio_std.clamp_min(1e-6))
        self.crop_mean.copy_(crop_mean)
        self.crop_std.copy_(crop_std.clamp_min(1e-6))

    def encode_lips(self, crops: torch.Tensor) -> torch.Tensor:
        """F_lip: lips crops [B, 3, h, w] in [0, 1] -> [B, dim]."""
        if crops.ndim != 4 or tuple(crops.shape[1:]) != (3, *self.crop):
            raise ValueError(
                f"LipSync expects lips crops [B, 3, {self.crop[0]}, {self.crop[1]}], "
                f"got {list(crops.shape)}"
            )
        x = (crops - self.crop_mean[:, None, None]) / self.crop_std[:, None, None]
        return self.lip_head(self.lip_conv(x))

    def encode_audio(self, windows: torch.Tensor) -> torch.Tensor:
        """F_al: windows [B, 8, K, T] raw features -> [B, dim]."""
        if windows.ndim != 4 or windows.shape[1] != self.num_windows:
            raise ValueError(
                f"LipSync expects windows [B, {self.num_windows}, K, T], got {list(windows.shape)}"
            )
        if windows.shape[2] != self.audio_in_dim:
            raise ValueError(
                f"LipSync was trained on audio features of K={self.audio_in_dim} channels, got "
                f"K={windows.shape[2]}: use the same features (audio file) it was trained on"
            )
        x = (windows - self.audio_mean[:, None]) / self.audio_std[:, None]
        return self.audio_head(encode_audio(self.audio_net, self.audio_att_net, x))

    def feature(self, windows: torch.Tensor) -> torch.Tensor:
        """The lip condition from audio alone: windows [B, 8, K, T] -> unit F_al [B, dim]."""
        return F.normalize(self.encode_audio(windows), dim=-1)

    def forward(self, crops, windows, negative_windows, tau: float = TAU) -> torch.Tensor:
        """Mean InfoNCE of a batch: crops [B, 3, h, w] (anchors), windows [B, 8, K, T]
        (positives), negative_windows [B, N, 8, K, T] -> scalar."""
        B, N = negative_windows.shape[:2]
        neg = self.encode_audio(negative_windows.flatten(0, 1)).view(B, N, -1)
        return info_nce(self.encode_lips(crops), self.encode_audio(windows), neg, tau).mean()
