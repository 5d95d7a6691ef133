"""Audio2Motion: a conditional VAE from audio windows to lip and jaw motion; F_a = prior mean.

LokiTalk drives the lips with "a VAE-based Audio2Motion feature" F_a. Here:

- audio encoder: AudioNet on each of the 8 windows, AudioAttNet across them -> h [B, A];
- prior p(z | audio) = N(mu_p(h), exp(logvar_p(h))), used at inference;
- posterior q(z | audio, motion) = N(mu_q, exp(logvar_q)) from [h, motion], for training;
- decoder motion = g(z) [B, P, 2]. The decoder sees z only, not the audio: a decoder given h
  could ignore z (posterior collapse), leaving the prior mean without motion information;
  here everything the predicted motion knows passes through z, so F_a carries it.

Loss (``elbo_loss``) = MSE(g(z_q), m) + prior_weight * MSE(g(mu_p), m)
+ beta * KL(q || p) / latent_dim, with z_q a reparameterised posterior sample and m the
normalised motion (:mod:`lokitalk_plugins.data.audio2motion`) divided by the model's
``motion_scale`` (the train RMS), so the terms are O(1). The second term trains the inference
path g(mu_p) directly (the "hybrid" CVAE objective); it is off by default: on a 20 s studio clip it
lowered the train error but raised the val error (over-fitting), while beta = 1e-2 without
it gave the lowest val error of the settings tried. F_a = ``feature(windows)`` = mu_p: deterministic
and differentiable w.r.t. the windows.
"""

from __future__ import annotations

import torch
from torch import nn

from lokitalk_plugins.signals.audio import AudioAttNet, AudioNet, encode_audio

__all__ = ["Audio2Motion", "gaussian_kl", "elbo_loss"]


def gaussian_kl(
    mu_q: torch.Tensor, logvar_q: torch.Tensor, mu_p: torch.Tensor, logvar_p: torch.Tensor
) -> torch.Tensor:
    """KL(N(mu_q, e^logvar_q) || N(mu_p, e^logvar_p)) of diagonal Gaussians, summed: [B, D] -> [B].

    Per dimension: 0.5 (logvar_p - logvar_q + (e^logvar_q + (mu_q - mu_p)^2) / e^logvar_p - 1).
    """
    ratio = torch.exp(logvar_q - logvar_p)
    d2 = (mu_q - mu_p) ** 2 * torch.exp(-logvar_p)
    return 0.5 * (ratio + d2 - 1.0 - (logvar_q - logvar_p)).sum(dim=-1)


def _mlp(d_in: int, hidden: int, d_out: int, layers: int = 2) -> nn.Sequential:
    mods: list[nn.Module] = []
    d = d_in
    for _ in range(layers):
        mods += [nn.Linear(d, hidden), nn.LeakyReLU(0.02)]
        d = hidden
    mods.append(nn.Linear(d, d_out))
    return nn.Sequential(*mods)


class Audio2Motion(nn.Module):
    """Conditional VAE: audio windows [B, 8, K, T] (K = audio_in_dim) -> motion [B, P, 2].

    audio_in_dim: K of the audio features; latent_dim: size of z and of F_a; hidden: width
    of the MLPs; audio_dim: width of the audio encoding h; num_points: P (33: jaw 2-14 and
    lips 48-67); num_windows: windows per frame (8). Buffers: audio_mean, audio_std [K]
    standardise the features (set from the training clip), motion_scale [] the motion unit.
    """

    def __init__(
        self,
        audio_in_dim: int,
        latent_dim: int = 32,
        hidden: int = 128,
        audio_dim: int = 64,
        num_points: int = 33,
        num_windows: int = 8,
    ):
        super().__init__()
        self.audio_in_dim, self.latent_dim, self.hidden = audio_in_dim, latent_dim, hidden
        self.audio_dim, self.num_points, self.num_windows = audio_dim, num_points, num_windows
        self.audio_net = AudioNet(audio_in_dim, audio_dim)
        self.audio_att_net = AudioAttNet(audio_dim, num_windows)
        self.prior_net = _mlp(audio_dim, hidden, 2 * latent_dim)
        self.posterior_net = _mlp(audio_dim + 2 * num_points, hidden, 2 * latent_dim)
        self.decoder = _mlp(latent_dim, hidden, 2 * num_points)
        self.register_buffer("audio_mean", torch.zeros(audio_in_dim))
        self.register_buffer("audio_std", torch.ones(audio_in_dim))
        self.register_buffer("motion_scale", torch.ones(()))

    def config(self) -> dict:
        """Constructor keywords (plain ints), as saved in a checkpoint."""
        keys = ("audio_in_dim", "latent_dim", "hidden", "audio_dim", "num_points", "num_windows")
        return {k: int(getattr(self, k)) for k in keys}

    def set_stats(self, audio_mean: torch.Tensor, audio_std: torch.Tensor, motion_scale) -> None:
        """Set the feature standardisation ([K] each) and the motion unit (a positive float)."""
        self.audio_mean.copy_(audio_mean)
        self.audio_std.copy_(audio_std.clamp_min(1e-6))
        self.motion_scale.fill_(float(motion_scale))

    def encode_audio(self, windows: torch.Tensor) -> torch.Tensor:
        """windows [B, 8, K, T] raw features -> h [B, audio_dim]."""
        if windows.ndim != 4 or windows.shape[1] != self.num_windows:
            raise ValueError(
                f"Audio2Motion expects windows [B, {self.num_windows}, K, T], "
                f"got {list(windows.shape)}"
            )
        if windows.shape[2] != self.audio_in_dim:
            raise ValueError(
                f"Audio2Motion was built for audio features of K={self.audio_in_dim} channels, "
                f"got windows with K={windows.shape[2]}: use the same features (audio file) it "
                "was trained on"
            )
        x = (windows - self.audio_mean[:, None]) / self.audio_std[:, None]
        return encode_audio(self.audio_net, self.audio_att_net, x)

    def prior(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """h [B, A] -> (mu_p, logvar_p) [B, latent_dim] each."""
        mu, logvar = self.prior_net(h).chunk(2, dim=-1)
        return mu, logvar

    def posterior(self, h: torch.Tensor, motion: torch.Tensor):
        """h [B, A], motion [B, P, 2] normalised -> (mu_q, logvar_q) [B, latent_dim] each."""
        m = (motion / self.motion_scale).flatten(1)
        mu, logvar = self.posterior_net(torch.cat([h, m], dim=-1)).chunk(2, dim=-1)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z [B, latent_dim] -> motion [B, P, 2] in units of motion_scale."""
        return self.decoder(z).view(z.shape[0], self.num_points, 2)

    def feature(self, windows: torch.Tensor) -> torch.Tensor:
        """F_a: windows [B, 8, K, T] -> prior mean [B, latent_dim] (deterministic)."""
        return self.prior(self.encode_audio(windows))[0]

    def motion(self, windows: torch.Tensor) -> torch.Tensor:
        """Predicted normalised motion from audio alone: [B, 8, K, T] -> [B, P, 2]."""
        return self.decode(self.feature(windows)) * self.motion_scale

    def forward(self, windows: torch.Tensor, motion: torch.Tensor, generator=None) -> dict:
        """Training pass: windows [B, 8, K, T], motion [B, P, 2] normalised.

        Returns {"recon": g(z_q), "prior_recon": g(mu_p)} (in motion_scale units, [B, P, 2]),
        "target" (motion / motion_scale), and mu_q, logvar_q, mu_p, logvar_p [B, latent_dim].
        """
        h = self.encode_audio(windows)
        mu_p, logvar_p = self.prior(h)
        mu_q, logvar_q = self.posterior(h, motion)
        eps = torch.randn(mu_q.shape, generator=generator, device=mu_q.device, dtype=mu_q.dtype)
        z = mu_q + torch.exp(0.5 * logvar_q) * eps
        return {
            "recon": self.decode(z),
            "prior_recon": self.decode(mu_p),
            "target": motion / self.motion_scale,
            "mu_q": mu_q,
            "logvar_q": logvar_q,
            "mu_p": mu_p,
            "logvar_p": logvar_p,
        }


def elbo_loss(out: dict, beta: float = 1e-2, prior_weight: float = 0.0) -> dict:
    """Loss of a forward pass: {"loss", "recon", "prior_recon", "kl"} (scalars).

    recon = mean squared error of g(z_q) over points and coordinates, prior_recon the same of
    g(mu_p), kl = KL(q || p) averaged over the batch and divided by latent_dim.
    loss = recon + prior_weight * prior_recon + beta * kl.
    """
    recon = (out["recon"] - out["target"]).pow(2).mean()
    prior_recon = (out["prior_recon"] - out["target"]).pow(2).mean()
    kl = gaussian_kl(out["mu_q"], out["logvar_q"], out["mu_p"], out["logvar_p"]).mean()
    kl = kl / out["mu_q"].shape[-1]
    loss = recon + prior_weight * prior_recon + beta * kl
    return {"loss": loss, "recon": recon, "prior_recon": prior_recon, "kl": kl}
