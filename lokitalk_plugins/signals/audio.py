"""Audio encoders of the originals: a per-window 1D CNN and attention over 8 windows.

A frame's audio input is a stack of 8 consecutive feature windows [8, K, T] (T = 16 audio
frames at 50 Hz for DeepSpeech / wav2vec / log-mel features, T = 2 for HuBERT).
Parameter names match RAD-NeRF and ER-NeRF so their checkpoints load.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["AudioNet", "AudioAttNet", "encode_audio"]


class AudioNet(nn.Module):
    """One feature window [B, K, T] -> [B, dim_aud].

    Four Conv1d(kernel 3, stride 2, padding 1): K -> 32 -> 32 -> 64 -> 64 with LeakyReLU(0.02),
    halving T each time (16 -> 1); the time axis left is averaged; then Linear 64 -> 64 ->
    dim_aud with LeakyReLU between.
    """

    def __init__(self, dim_in: int = 29, dim_aud: int = 64):
        super().__init__()
        self.dim_in, self.dim_aud = dim_in, dim_aud
        chans = [dim_in, 32, 32, 64, 64]
        layers: list[nn.Module] = []
        for c_in, c_out in zip(chans[:-1], chans[1:]):
            layers += [nn.Conv1d(c_in, c_out, 3, stride=2, padding=1), nn.LeakyReLU(0.02, True)]
        self.encoder_conv = nn.Sequential(*layers)
        self.encoder_fc1 = nn.Sequential(
            nn.Linear(64, 64), nn.LeakyReLU(0.02, True), nn.Linear(64, dim_aud)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2] != self.dim_in:
            raise ValueError(
                f"audio window has {x.shape[-2]} feature channels, the model expects "
                f"{self.dim_in}: [B, K={self.dim_in}, T]"
            )
        h = self.encoder_conv(x).mean(dim=-1)
        return self.encoder_fc1(h)


class AudioAttNet(nn.Module):
    """Attention over the 8 windows of a frame: [B, 8, dim_aud] -> [B, dim_aud].

    Conv1d over the window axis dim_aud -> 16 -> 8 -> 4 -> 2 -> 1 (kernel 3, LeakyReLU 0.02),
    then Linear(8, 8) and a softmax give one weight per window; the output is the weighted sum.
    """

    def __init__(self, dim_aud: int = 64, seq_len: int = 8):
        super().__init__()
        self.dim_aud, self.seq_len = dim_aud, seq_len
        chans = [dim_aud, 16, 8, 4, 2, 1]
        layers: list[nn.Module] = []
        for c_in, c_out in zip(chans[:-1], chans[1:]):
            layers += [nn.Conv1d(c_in, c_out, 3, stride=1, padding=1), nn.LeakyReLU(0.02, True)]
        self.attentionConvNet = nn.Sequential(*layers)
        self.attentionNet = nn.Sequential(nn.Linear(seq_len, seq_len), nn.Softmax(dim=1))

    def weights(self, x: torch.Tensor) -> torch.Tensor:
        """x: [B, 8, dim_aud] -> attention weights [B, 8] summing to 1."""
        y = self.attentionConvNet(x.transpose(1, 2)).view(x.shape[0], self.seq_len)
        return self.attentionNet(y)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.weights(x).unsqueeze(-1) * x).sum(dim=1)


def encode_audio(
    audio_net: AudioNet,
    audio_att_net: AudioAttNet | None,
    windows: torch.Tensor | None,
    embedding: nn.Embedding | None = None,
) -> torch.Tensor | None:
    """F_a of a frame: windows [B, 8, K, T] -> [B, dim_aud] (None -> None).

    AudioNet on every window, then AudioAttNet across the 8 windows, or the centre window
    alone when there is no attention net. A function rather than a module, so a backbone
    keeps the originals' attribute names ``audio_net`` and ``audio_att_net``.

    embedding: the originals' ``--emb`` mode, an ``nn.Embedding(K, K)``: each audio frame is
    reduced to its class (the argmax over K of float windows [B, 8, K, T], or integer labels
    [B, 8, T] as given) and replaced by that class's learnt K-vector before AudioNet.
    """
    if windows is None:
        return None
    if embedding is not None:
        labels = windows if not windows.is_floating_point() else windows.argmax(dim=-2)
        windows = embedding(labels.long()).transpose(-1, -2)
    B, W = windows.shape[:2]
    enc = audio_net(windows.flatten(0, 1)).view(B, W, -1)
    if audio_att_net is None:
        return enc[:, W // 2]
    return audio_att_net(enc)
