"""GDRF's few-shot dynamic radiance field (Dang et al., sec. 3.2-3.4) as a TalkingHeadModel.

    β̃, P̃   = LSTM(audio windows of the frame)              eq. 2 (signals.audio2exp)
    z       = M(α ⊕ β̃ ⊕ P̃)                                  eq. 7, the motion descriptor (F_a)
    Ṽ_i     = S(V_i, W(V_i, z)),  V_i = E_c(I_i)             eqs. 6, 8, 9 (.warp)
    f       = Attn_i Bil(Proj(x, K_i, R_i, T_i), Ṽ_i)        eq. 10 (.project)
    σ, c    = f_θ(γ(x), γ(d), z, f)                          eq. 11
    L       = L_r + λ_l L_l                                  eqs. 13-14 (L_r: the pipeline's)
            (+ λ_s L_s, our option: the accumulated alpha against the head mask, off by default)

The references (N frames spread over the training split, with their cameras) and the
identity α come from the folder at the "prepare" callback and are saved in the state_dict,
so a checkpoint renders without its folder; fine-tuning on a new identity picks new ones.
Neck, shoulders and background are the frame's background image (``background='torso'``).
``descriptor``: "identity" (the full eq. 7), "lstm" (no α) or "audio" (WarpNet alone: z from
the audio encoding, no LSTM), the rows of GDRF's Table 6. ``warp_space="image"`` warps the
reference images before E_c instead of the feature volumes: our stand-in for DFRF's 2D
image-space warping (labelled as such in the tables).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lokitalk_plugins.data.audio2exp import window_starts
from lokitalk_plugins.encoding import FrequencyEncoder
from lokitalk_plugins.errors import UserError
from lokitalk_plugins.layers import MLP, trunc_exp
from lokitalk_plugins.losses.audio2exp import audio2exp_loss
from lokitalk_plugins.pipeline.protocol import TrainingCallback
from lokitalk_plugins.signals.audio2exp import Audio2Exp
from lokitalk_plugins.train.audio2exp import load_audio2exp_model

from ..common import attach_occupancy_grid
from .bundle import LEGACY_FEATURE_STRIDE, load_gdrf_bundle, read_gdrf_bundle
from .project import AttentionAggregator, project_points, sample_features
from .references import GDRFDataError, check_references, read_references, read_track_clip
from .warp import FeatureEncoder, WarpNet, warp_features

__all__ = [
    "DESCRIPTORS",
    "GDRF",
    "GDRFCheckpointError",
    "LAMBDA_LSTM",
    "WARP_SPACES",
    "neck_loss",
    "silhouette_loss",
]

DESCRIPTORS = ("identity", "lstm", "audio")
WARP_SPACES = ("feature", "image")  # GDRF's warp of V_i; "image": of I_i (our DFRF stand-in)
LAMBDA_LSTM = 0.1  # λ_l of eq. 14 (the paper gives no value)
# V_i at H/2: the paper gives no size; gdrf_table1_halfres measured H/2 0.6 dB above H/4
FEATURE_STRIDE = 2
_REFERENCE_BUFFERS = ("ref_images", "ref_c2w", "ref_intrinsics", "identity")


class GDRFCheckpointError(UserError, RuntimeError):
    """GDRF weights trained at another feature stride than the model's (one line: the option
    to bind)."""


def silhouette_loss(alpha: torch.Tensor, head: torch.Tensor) -> torch.Tensor:
    """Mean over rays of (accumulated alpha − head mask)²: alpha [R] in [0, 1], head bool [R]."""
    return (alpha - head.to(alpha.dtype)).square().mean()


def neck_loss(alpha: torch.Tensor, torso: torch.Tensor) -> torch.Tensor:
    """Mean over rays of (accumulated alpha)² on the rays whose pixel the parsing labels neck or
    torso (0 elsewhere): alpha [R] in [0, 1], torso bool [R]."""
    return (alpha * torso.to(alpha.dtype)).square().mean()


class GDRF(nn.Module):
    """The few-shot field. audio_in_dim: K of the feature windows; num_references: N (4);
    channels: C of the feature volumes; z_dim: width of z; descriptor: see the module doc;
    exp_dim, id_dim: widths of β (79) and α (100) in ``track_params.pt``; hidden: f_θ width;
    lstm_hidden, seq_len: the LSTM's width and training window (frames); lambda_lstm: λ_l;
    grid_size, bound: the occupancy grid over the head box; warp_space: "feature" (GDRF) or
    "image" (the DFRF stand-in); feature_stride: the feature volumes' downsampling of the
    references (2: H/2, the default since the ablation of gdrf_table1_halfres, 0.6 dB above H/4
    at 3 % more fine-tune time; 4: H/4, E_c's size before; None: the ``pretrained`` bundle's,
    else 2); pretrained: a base model bundle (``lokitalk gdrf-pretrain``)
    to start from; audio2exp_init: a ``lokitalk audio2exp`` checkpoint for the LSTM;
    lambda_silhouette: λ_s of a silhouette term L_s = mean over rays of (accumulated alpha −
    head mask)², the head mask being the parsing's head class (our option, not the paper's:
    GDRF draws neck, shoulders and background as the background image, so its alpha should be
    1 on the head and 0 elsewhere; 0, the default, is the paper's loss); lambda_neck: λ_n of a
    term L_n = mean over rays of alpha² on the parsing's neck and torso pixels only, which the
    paper draws as the background image (our option: without it the field draws most of the
    neck, worse than the background image, gdrf_region_neck_h2; at 0.1 it leaves the neck but
    the head loses 0.18 dB, gdrf_table1_neck; 0, the default, is the paper's loss).
    """

    ray_extras: tuple[str, ...] = ()
    torso = False
    torso_condition = "pose"

    def __init__(
        self,
        audio_in_dim: int = 32,
        num_references: int = 4,
        channels: int = 32,
        z_dim: int = 64,
        descriptor: str = "identity",
        exp_dim: int = 79,
        id_dim: int = 100,
        hidden: int = 128,
        lstm_hidden: int = 128,
        seq_len: int = 16,
        lambda_lstm: float = LAMBDA_LSTM,
        grid_size: int = 32,
        bound: float = 1.0,
        warp_space: str = "feature",
        feature_stride: int | None = None,
        pretrained: str | None = None,
        audio2exp_init: str | None = None,
        lambda_silhouette: float = 0.0,
        lambda_neck: float = 0.0,
    ):
        super().__init__()
        for name, value in (("lambda_silhouette", lambda_silhouette), ("lambda_neck", lambda_neck)):
            if value < 0:
                raise ValueError(f"GDRF.{name} must be >= 0, got {value}")
        self.lambda_silhouette = float(lambda_silhouette)
        self.lambda_neck = float(lambda_neck)
        if descriptor not in DESCRIPTORS:
            raise ValueError(f"GDRF.descriptor must be one of {DESCRIPTORS}, got {descriptor!r}")
        if warp_space not in WARP_SPACES:
            raise ValueError(f"GDRF.warp_space must be one of {WARP_SPACES}, got {warp_space!r}")
        if num_references < 1:
            raise ValueError(f"GDRF.num_references must be >= 1, got {num_references}")
        self.audio_in_dim, self.num_references, self.descriptor = (
            audio_in_dim,
            num_references,
            descriptor,
        )
        bundle = read_gdrf_bundle(pretrained) if pretrained is not None else None
        # a checkpoint without volume_stride: fine-tuned from this bundle, it has the
        # bundle's stride; without a bundle, it is from before H/2 was possible (H/4)
        self._legacy_stride = (bundle.config["gdrf"]["feature_stride"] if bundle
                               else LEGACY_FEATURE_STRIDE)  # fmt: skip
        if feature_stride is None:
            feature_stride = bundle.config["gdrf"]["feature_stride"] if bundle else FEATURE_STRIDE
        self.bound, self.lambda_lstm, self.z_dim = bound, float(lambda_lstm), z_dim
        self._config = dict(audio_in_dim=audio_in_dim, channels=channels, z_dim=z_dim,
                            descriptor=descriptor, exp_dim=exp_dim, id_dim=id_dim, hidden=hidden,
                            lstm_hidden=lstm_hidden, seq_len=seq_len, bound=bound,
                            warp_space=warp_space, feature_stride=feature_stride)  # fmt: skip
        self.warp_space = warp_space
        self.audio2exp = Audio2Exp(audio_in_dim, exp_dim, 6, hidden=lstm_hidden, seq_len=seq_len)
        m_in = {"identity": id_dim + exp_dim + 6, "lstm": exp_dim + 6, "audio": 64}[descriptor]
        self.mapping = MLP(m_in, z_dim, z_dim, 2)  # M of eq. 7
        self.encoder = FeatureEncoder(channels, stride=feature_stride)
        self.warp = WarpNet(channels, z_dim)
        self.aggregate = AttentionAggregator(channels, channels)
        self.pos_enc = FrequencyEncoder(3, max_freq_log2=5, n_freqs=6)
        self.dir_enc = FrequencyEncoder(3, max_freq_log2=3, n_freqs=4)
        self.sigma_net = MLP(self.pos_enc.output_dim + z_dim + channels, 1 + hidden, hidden, 3)
        self.color_net = MLP(hidden + self.dir_enc.output_dim, 3, hidden // 2, 2)
        for name, shape in zip(_REFERENCE_BUFFERS, [(0, 3, 1, 1), (0, 4, 4), (0, 4), (1, id_dim)]):
            self.register_buffer(name, torch.zeros(shape))
        self.register_buffer("lstm_ready", torch.zeros(()))
        # the feature volumes' stride, in every checkpoint and bundle: the encoder's weights
        # have the same shapes at either stride, so only this tells what they were trained at
        self.register_buffer("volume_stride", torch.tensor(feature_stride))
        attach_occupancy_grid(self, grid_size, False, bound)
        self._clip = None
        if audio2exp_init is not None:  # a `lokitalk audio2exp` checkpoint of the same sizes
            lstm = load_audio2exp_model(audio2exp_init, audio_in_dim)
            if lstm.config() != self.audio2exp.config():
                raise GDRFDataError(
                    f"{audio2exp_init}: an Audio2Exp of {lstm.config()}, GDRF's is "
                    f"{self.audio2exp.config()}: bind GDRF.lstm_hidden, seq_len, exp_dim to match"
                )
            self.audio2exp.load_state_dict(lstm.state_dict())
            self.lstm_ready.fill_(1)
        if pretrained is not None:  # a base model (lokitalk gdrf-pretrain), then fine-tuned
            load_gdrf_bundle(self, pretrained, bundle=bundle)

    def config(self) -> dict:
        """The constructor keywords that shape the weights (a bundle's ``config``)."""
        return dict(self._config)

    @staticmethod
    def identity_key(key: str) -> bool:
        """True for a state_dict key of one identity (references, α, occupancy grid): such
        keys are not in a bundle."""
        return key in _REFERENCE_BUFFERS or key.startswith(("grid.", "aabb_", "density_", "step_"))

    # --- references and tracking -------------------------------------------------------------
    def set_references(self, images, c2w, intrinsics, identity=None) -> None:
        """images [N, 3, H, W] in [0, 1], c2w [N, 4, 4], intrinsics [N, 4] (one camera);
        identity: α [1, id_dim] or None (kept)."""
        check_references(images, c2w, intrinsics, self.num_references)
        n, like = self.num_references, self.mapping.net[0].weight  # the model's device, dtype
        self.ref_images, self.ref_c2w = images[:n].to(like), c2w[:n].to(like)
        self.ref_intrinsics = intrinsics[:n].to(like)
        if identity is not None:
            self.identity = identity.reshape(1, -1).to(like)

    def read_context(self, dataset) -> dict:
        """What GDRF takes from a TalkingHeadFolder split: {"images", "c2w", "intrinsics" (the
        references), "clip" (an Audio2Exp Clip with α as ``id``), "starts" (LSTM windows)}."""
        clip = read_track_clip(dataset, self.audio2exp.seq_len, self.descriptor == "identity")
        refs = read_references(dataset, self.num_references)
        return dict(refs, clip=clip, starts=window_starts(clip, self.audio2exp.seq_len))

    def bind_context(self, context: dict) -> None:
        """Condition the next calls on one identity's references, α and clip."""
        clip = context["clip"]
        self.set_references(context["images"], context["c2w"], context["intrinsics"], clip.id)
        self._clip = (clip, context["starts"])

    def fit_lstm_stats(self, clips) -> None:
        """The LSTM's feature and target standardisation from ``clips`` (once: a pre-trained
        or already prepared model keeps its own)."""
        if bool(self.lstm_ready):
            return
        feats = torch.cat([c.frames.transpose(1, 2).reshape(-1, c.frames.shape[1]) for c in clips])
        target = torch.cat([torch.cat([c.exp, c.pose], dim=1) for c in clips])
        self.audio2exp.set_stats(feats.mean(0), feats.std(0), target.mean(0), target.std(0))
        self.lstm_ready.fill_(1)

    def prepare(self, dataset) -> None:
        """The "prepare" callback: references, α and the clip of ``dataset`` (a
        TalkingHeadFolder split); the LSTM's standardisation from the clip unless it is set."""
        context = self.read_context(dataset)
        self.fit_lstm_stats([context["clip"]])
        self.bind_context(context)

    def legacy_state(self) -> dict:
        """What a file written before ``volume_stride`` was recorded holds in its place
        (``load_model_weights`` reads a missing entry so): the stride of the bundle this
        model fine-tunes, else H/4, the only size before H/2 became the default."""
        return {"volume_stride": torch.tensor(self._legacy_stride)}

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        key, own = prefix + "volume_stride", int(self.volume_stride)
        saved = int(state_dict.get(key, self._legacy_stride))
        if saved != own:  # the same weight shapes: refused here or never
            raise GDRFCheckpointError(
                f"these GDRF weights were trained with GDRF.feature_stride = {saved} (here "
                f"{own}): bind GDRF.feature_stride = {saved} (a file without it has its base "
                "model's, or H/4 without one)"
            )
        state_dict[key] = self.volume_stride.clone()
        for name in _REFERENCE_BUFFERS:  # the saved references' sizes, not the empty ones
            if prefix + name in state_dict:
                setattr(self, name, torch.zeros_like(state_dict[prefix + name]))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # --- conditioning ------------------------------------------------------------------------
    def encode_audio(self, windows: torch.Tensor) -> torch.Tensor:
        """windows [B, W, K, T_a] (the frame's 8 windows) -> z [B, z_dim] (eq. 7)."""
        if self.descriptor == "audio":
            a = self.audio2exp
            x = (windows[:, windows.shape[1] // 2] - a.audio_mean[:, None]) / a.audio_std[:, None]
            return self.mapping(a.audio_net(x))
        params = self.audio2exp.window_features(windows, "params")  # standardised β̃ ⊕ P̃
        if self.descriptor == "identity":
            params = torch.cat([self.identity.expand(params.shape[0], -1), params], dim=-1)
        return self.mapping(params)

    def individual_code(self, index: int | None, torso: bool = False) -> torch.Tensor:
        """No per-frame codes: [1, 0]."""
        return self.identity.new_zeros(1, 0)

    # --- the field ---------------------------------------------------------------------------
    def warped_volumes(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z [1, z_dim] -> (Ṽ [N, C, H/s, W/s], flow [N, 2, H/s, W/s]) of the references (s:
        ``feature_stride``)."""
        if self.ref_images.shape[0] == 0:
            raise RuntimeError("GDRF has no references: train it (prepare) or load a checkpoint")
        volumes = self.encoder(self.ref_images)
        flow = self.warp(volumes, z)
        if self.warp_space == "image":  # warp the pixels, then encode (DFRF's 2D warping)
            size = self.ref_images.shape[-2:]
            up = F.interpolate(flow, size=size, mode="bilinear", align_corners=False)
            return self.encoder(warp_features(self.ref_images, up)), flow
        return warp_features(volumes, flow), flow

    def encode_points(self, x: torch.Tensor) -> torch.Tensor:
        """x [S, 3] -> x (the references are sampled in ``density``, which knows z)."""
        return x

    def grid_density(self, x, enc_a, eye=None, pose=None, deformed: bool = True) -> torch.Tensor:
        """Occupancy refreshes: x [N, 3], enc_a = z [1 or N, z_dim] (rows repeat: one per
        training frame drawn) -> sigma [N]; eye, pose and deformed are unused (the warping is
        inside the density)."""
        if enc_a.shape[0] == 1:
            return self.density(x, enc_a)["sigma"]
        frames, which = torch.unique(enc_a, dim=0, return_inverse=True)
        sigma = x.new_empty(x.shape[0])
        for k in range(frames.shape[0]):
            mask = which == k
            sigma[mask] = self.density(x[mask], frames[k : k + 1])["sigma"]
        return sigma

    def density(self, enc_x, enc_a, eye=None) -> dict[str, torch.Tensor]:
        """enc_x = x [S, 3], enc_a = z [1, z_dim], eye: unused -> sigma [S], geo_feat
        [S, hidden], attention [S, N] (the references' weights)."""
        volumes, _ = self.warped_volumes(enc_a)
        uv, depth = project_points(enc_x, self.ref_c2w, self.ref_intrinsics)
        H, W = self.ref_images.shape[-2:]
        f_i, inside = sample_features(volumes, uv, H, W)
        f, attention = self.aggregate(f_i, inside & (depth > 0))
        n = enc_x.shape[0]
        h = self.sigma_net(
            torch.cat([self.pos_enc(enc_x / self.bound), enc_a.expand(n, -1), f], -1)
        )
        return {"sigma": trunc_exp(h[..., 0]), "geo_feat": h[..., 1:], "attention": attention}

    def forward(self, x, d, enc_a, eye, code, pose=None) -> dict[str, torch.Tensor]:
        """x [S, 3], d [S, 3] unit, enc_a = z [1, z_dim]; eye, code, pose unused -> sigma
        [S], color [S, 3], geo_feat, attention (eq. 11)."""
        out = self.density(x, enc_a, eye)
        out["color"] = torch.sigmoid(
            self.color_net(torch.cat([out["geo_feat"], self.dir_enc(d)], -1))
        )
        return out

    def forward_torso(self, x, cond, c=None):
        raise ValueError("GDRF draws neck and shoulders as the background image: no torso stage")

    def camera_offset(self, rays_o, rays_d, index: int):
        """No learnt camera offsets: the rays unchanged."""
        return rays_o, rays_d

    # --- what trains -------------------------------------------------------------------------
    def param_groups(self, stage: str) -> dict[str, list[nn.Parameter]]:
        """Every weight in "mlp" (Adam at the system's lr_mlp; GDRF: 1e-4) in the head and
        lips stages; nothing in the torso stage."""
        return {} if stage == "torso" else {"mlp": list(self.parameters())}

    def loss_terms(self, result, batch, progress: float) -> dict[str, torch.Tensor]:
        """λ_l L_l (eq. 5) of the LSTM over the ``seq_len`` consecutive frames of the clip
        nearest the batch's frame (none with descriptor "audio" or λ_l 0), and λ_s L_s, the
        silhouette term, and λ_n L_n, the neck term, where their λ is above 0 (they need the
        rays' masks)."""
        terms = {}
        if self.lambda_silhouette > 0:
            terms["silhouette"] = self.lambda_silhouette * silhouette_loss(
                result.weights_sum, batch.rays.masks.face
            )
        if self.lambda_neck > 0:
            terms["neck"] = self.lambda_neck * neck_loss(result.weights_sum, batch.rays.masks.torso)
        if self.descriptor == "audio" or self.lambda_lstm <= 0 or self._clip is None:
            return terms
        clip, starts = self._clip
        T = self.audio2exp.seq_len
        s = int(starts[(starts + T // 2 - int(batch.frame.index)).abs().argmin()])
        out = self.audio2exp(clip.frames[None, s : s + T].to(self.identity))
        lstm = audio2exp_loss(out["exp"], out["pose"], clip.exp[None, s : s + T].to(out["exp"]),
                               clip.pose[None, s : s + T].to(out["pose"]))  # fmt: skip
        return {**terms, "lstm": self.lambda_lstm * lstm["loss"]}

    def training_callbacks(self) -> list[TrainingCallback]:
        """The references, α and the clip from the training split before each stage."""
        return [TrainingCallback("prepare", self.prepare)]
