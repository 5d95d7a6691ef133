"""The Disentangling Head NeRF (§3.2-3.3) as a backbone of the pipeline.

    D_θ(x, v, P_cam, C, F_lip) = (σ(x), M(x))                                   (eq. 1)
    h = sigma_net([enc(x), C_id, C_ex*, F_lip]);  σ = exp(h_0);  M = h_1:  (feature_dim)
    rgb = sigmoid(color_net([SH(v), M, C_al, C_ill]))

P_cam is the frame's camera: it enters through the rays. C = (C_id, C_ex, C_al, C_ill) are
learnable codes (``codes_<k>`` [ind_num, d_k]), initialised from a pre-trained
``CodeExtractor`` on each training frame at "prepare", whose outputs are also the referential
codes C̄ of L_dis (eq. 6; ``reference_<k>``). The codes named in ``shared_codes`` (default
C_id and C_al, the person's, as HeadNeRF shares them over a subject's images) are one code
for the whole clip: the extractor's mean over the training frames, every frame reading (and
training) that one code; C_ex and C_ill stay per frame. F_lip is the audio condition
(``encode_audio``: the audio network with attention over the 8 windows, or a trained lip-sync
module's audio branch, frozen); ``lip_sync=False`` drops it from D_θ (the ablation without
the lip-sync module). The model's own loss terms are λ_dis L_dis ("dhnerf_dis") and the fit of the
audio-to-expression net E ("dhnerf_ex_audio"); the pipeline adds the photometric term
(λ_rec 1) and, with configs/velocity.gin, λ_v L_v; M is the feature
configs/neural_renderer.gin upsamples (``neural_feature = 'geo_feat'``). The perceptual part
of L_rec needs VGG16 weights, which are not on this machine: it is not trained (n/a).

At test time (index None) the model is driven by audio alone: C_ex* = E(F_lip) and C_id,
C_al, C_ill are the training frames' mean (the code layout and the choice: :mod:`.field`, where
the math is defined once, for this model and its adapter).
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from lokitalk_plugins.encoding import GridEncoder, SHEncoder
from lokitalk_plugins.errors import OptionError, UserError
from lokitalk_plugins.layers import MLP
from lokitalk_plugins.losses import CODE_NAMES, LAMBDA_DIS

from ..common import TalkingHeadBase, attach_occupancy_grid
from . import field

__all__ = ["DHNeRF", "CodeSizeError", "LIP_INITS"]

LIP_INITS = ("zero", "default")  # how F_lip's (lip_init) and C_ex's (ex_init) weights in D_θ's
# first layer start


class CodeSizeError(UserError, ValueError):
    """A checkpoint's codes have other sizes than the model's."""


class DHNeRF(TalkingHeadBase):
    """The disentangled head NeRF. audio_in_dim: K of the feature windows; audio_dim: F_lip
    size (32, the lip-sync module's); ind_num: frames with codes; id_dim, ex_dim, al_dim,
    ill_dim: code sizes (the extractor's); feature_dim: M(x); extractor: a pre-trained
    ``CodeExtractor`` (None: random codes and no L_dis); lipsync: a trained lip-sync module
    whose ``feature(windows)`` is F_lip (frozen), else the own audio network; lambda_dis:
    λ_dis (5; 0 = the ablation without the disentangling loss); dis_weights: λ_k of eq. 6;
    lambda_expression: weight of E's fit to the learnt C_ex (0: E is not trained and the
    test-time expression is E's initial output; keep it); lip_init: "zero" (F_lip's columns
    of D_θ's first layer start at 0: at initialisation the field is the model without the
    lip-sync input, and F_lip's weight grows only as far as the fit asks) or "default"
    (PyTorch's initialisation of the whole layer, the field reads F_lip from the first step;
    the ablation row that measured its PSNR cost); ex_init: the same choice for C_ex's columns
    of D_θ's first layer ("zero", the default, measured in
    benchmarks/results/dhnerf_table2_ex_init*: at initialisation the density does not read
    C_ex, whose weights grow only as far as the fit asks; "default": PyTorch's, so the field
    reads every frame's C_ex through random weights from the first step); shared_codes: the
    codes that are one for the clip (see the module doc; () gives every frame its own four
    codes); audio_share: the share of training steps (drawn in training mode from torch's
    seeded global generator, as dropout draws) that render the frame as the test time does,
    its expression from its audio (w = 0: C_ex* = E(F_lip), the photometric loss reaching E),
    the other codes its own; 0, the default: every step reads the frame's own C_ex;
    light_share: the same for the light, the share of training steps that read the training
    frames' mean C_ill (detached), as the test time renders every frame, instead of the
    frame's own (0, the default: every step its own C_ill).
    """

    ray_extras: tuple[str, ...] = ()
    torso_condition = "pose"
    audio_window = field.AUDIO_WINDOW  # frames of audio windows F_lip attends over

    def __init__(
        self,
        audio_in_dim: int = 32,
        audio_dim: int = 32,
        ind_num: int = 10000,
        id_dim: int = 16,
        ex_dim: int = 16,
        al_dim: int = 8,
        ill_dim: int = 8,
        feature_dim: int = 64,
        grid_size: int = 128,
        bound: float = 1.0,
        encoder_backend: str = "auto",
        lip_sync: bool = True,
        extractor: nn.Module | None = None,
        lipsync: nn.Module | None = None,
        lambda_dis: float = LAMBDA_DIS,
        dis_weights: dict | None = None,
        lambda_expression: float = 1.0,
        lip_init: str = "zero",
        ex_init: str = "zero",
        shared_codes: tuple = ("id", "al"),
        audio_share: float = 0.0,
        light_share: float = 0.0,
    ):
        super().__init__(audio_in_dim, audio_dim, 2, ind_num, 0, 0, False, bound, False)
        self.dims = dict(zip(CODE_NAMES, (int(id_dim), int(ex_dim), int(al_dim), int(ill_dim))))
        self.ind_num, self.lip_sync, self.lambda_dis = int(ind_num), bool(lip_sync), lambda_dis
        self.dis_weights, self.lambda_expression = dict(dis_weights or {}), lambda_expression
        shared = (shared_codes,) if isinstance(shared_codes, str) else tuple(shared_codes)
        if any(k not in CODE_NAMES for k in shared):
            raise OptionError(f"DHNeRF.shared_codes must name some of {list(CODE_NAMES)}, got "
                              f"{shared_codes!r}")  # fmt: skip
        self.shared_codes = tuple(k for k in CODE_NAMES if k in shared)
        for k, d in self.dims.items():
            self.register_parameter(f"codes_{k}", nn.Parameter(torch.randn(ind_num, d) * 0.1))
            self.register_buffer(f"reference_{k}", torch.zeros(ind_num, d))
        self.register_buffer("coded_frames", torch.zeros((), dtype=torch.long))
        self.encoder = GridEncoder(
            input_dim=3, num_levels=16, level_dim=2, base_resolution=16, log2_hashmap_size=16,
            desired_resolution=2048 * bound, gridtype="tiled", bound=bound,
            backend=encoder_backend,
        )  # fmt: skip
        lip = audio_dim if self.lip_sync else 0
        geo_in = self.encoder.output_dim + self.dims["id"] + self.dims["ex"] + lip
        self.sigma_net = MLP(geo_in, 1 + feature_dim, 64, 3)
        if lip_init not in LIP_INITS:
            raise OptionError(f"DHNeRF.lip_init must be one of {LIP_INITS}, got {lip_init!r}")
        if ex_init not in LIP_INITS:
            raise OptionError(f"DHNeRF.ex_init must be one of {LIP_INITS}, got {ex_init!r}")
        self.lip_init, self.ex_init = lip_init, ex_init
        if not 0.0 <= float(audio_share) <= 1.0:
            raise OptionError(f"DHNeRF.audio_share is a share of the training steps, in [0, 1]: "
                              f"got {audio_share!r}")  # fmt: skip
        self.audio_share = float(audio_share)
        if not 0.0 <= float(light_share) <= 1.0:
            raise OptionError(f"DHNeRF.light_share is a share of the training steps, in [0, 1]: "
                              f"got {light_share!r}")  # fmt: skip
        self.light_share = float(light_share)
        with torch.no_grad():
            if lip and lip_init == "zero":
                self.sigma_net.net[0].weight[:, geo_in - lip :] = 0.0
            if ex_init == "zero":
                ex_end = geo_in - lip
                self.sigma_net.net[0].weight[:, ex_end - self.dims["ex"] : ex_end] = 0.0
        self.encoder_dir = SHEncoder(degree=4)
        col_in = self.encoder_dir.output_dim + feature_dim + self.dims["al"] + self.dims["ill"]
        self.color_net = MLP(col_in, 3, 64, 2)
        self.expression_net = nn.Sequential(  # E: F_lip -> C_ex (with biases: C_ex has a mean)
            nn.Linear(audio_dim, 64), nn.ReLU(), nn.Linear(64, self.dims["ex"])
        )
        attach_occupancy_grid(self, grid_size, False, bound)
        if extractor is not None and dict(extractor.dims) != self.dims:
            raise OptionError(
                f"DHNeRF codes {self.dims} differ from the extractor's {dict(extractor.dims)}: "
                "set id_dim, ex_dim, al_dim and ill_dim to the extractor's sizes"
            )
        self.extractor, self.lipsync = extractor, lipsync
        for frozen in (extractor, lipsync):
            for p in frozen.parameters() if frozen is not None else ():
                p.requires_grad_(False)
        self._register_load_state_dict_pre_hook(self._check_code_sizes)

    # --- codes ------------------------------------------------------------------------
    def codes(self, index: int | None) -> dict[str, torch.Tensor]:
        """{k: [1, d_k]}: frame ``index``'s codes, or (None) the mean over the coded frames."""
        return field.frame_codes(self, index)

    def individual_code(self, index: int | None, torso: bool = False) -> torch.Tensor:
        """[1, I] = [C_id, C_ex, C_al, C_ill, w] of frame ``index`` (w 1; 0 on the training
        steps ``audio_share`` draws; the mean C_ill on those ``light_share`` draws), or (None)
        the mean codes with w 0: C_ex from the audio (see :mod:`.field`)."""
        return field.individual_code(self, index)

    def split_code(self, code: torch.Tensor) -> dict[str, torch.Tensor]:
        """[1 or N, I] -> {k: [1 or N, d_k], "w": [1 or N, 1]}."""
        return field.split_code(self, code)

    # --- the field (defined once in .field) -------------------------------------------------
    def encode_audio(self, windows):
        """windows [B, 8, K, T] -> F_lip [B, audio_dim] (the lip-sync module's when given)."""
        return field.encode_audio(self, windows)

    def encode_points(self, x: torch.Tensor) -> torch.Tensor:
        """x [N, 3] in [-bound, bound] -> [N, 32]."""
        return field.encode_points(self, x)

    def density(self, enc_x, enc_a, eye, code=None) -> dict[str, torch.Tensor]:
        """enc_x [N, 32], enc_a (F_lip) [1 or N, A] or None, eye: unused (C_ex holds the eyes),
        code [1, I] (None: the test-time code) -> sigma [N], geo_feat (M) [N, feature_dim]."""
        code = self.individual_code(None) if code is None else code
        return field.density(self, enc_x, enc_a, code)

    def grid_density_frames(self, x, frames, enc_a, eye, pose=None, deformed: bool = True):
        """Occupancy refreshes under the training frames' own codes (``GridUpkeep.codes``):
        x [N, 3], frames [1 or N] int64 (point i takes frame frames[i]), enc_a [1 or N, A] ->
        sigma [N]; eye, pose and deformed are unused."""
        code = field.frame_code_rows(self, frames.reshape(-1))
        return field.density(self, self.encode_points(x), enc_a, code)["sigma"]

    def color(self, geo_feat, d, code) -> torch.Tensor:
        """geo_feat [N, F], d [N, 3] unit, code [1, I] -> rgb [N, 3] in [0, 1]."""
        return field.color(self, geo_feat, d, code)

    def forward(self, x, d, enc_a, eye, code, pose=None) -> dict[str, torch.Tensor]:
        """x, d [N, 3], enc_a [1, A], eye [1, 1], code [1, I] -> sigma [N], color [N, 3],
        geo_feat [N, F] (eq. 1); pose: unused (the camera carries P_cam)."""
        out = self.density(self.encode_points(x), enc_a, eye, code)
        out["color"] = self.color(out["geo_feat"], d, code)
        return out

    def forward_torso(self, x, cond, c=None):
        raise ValueError("DHNeRF has no torso field: train the head stage (train.stages)")

    # --- what the pipeline asks -----------------------------------------------------------
    def param_groups(self, stage: str) -> dict[str, list[nn.Parameter]]:
        """Head and lips stages: grid, mlp (networks, E and the codes), audio_att; the
        extractor and a lip-sync module stay frozen."""
        return field.param_groups(self, stage)

    def loss_terms(self, result, batch, progress: float) -> dict[str, torch.Tensor]:
        """λ_dis L_dis (eq. 6) and E's fit to the frame's C_ex (see :func:`.field.loss_terms`)."""
        return field.loss_terms(self, result, batch, progress)

    def training_callbacks(self) -> list:
        return field.training_callbacks(self)

    def init_codes(self, dataset, chunk: int = 64) -> None:
        """C and C̄ of every training frame from the extractor (once)."""
        field.init_codes(self, dataset, chunk)

    def _check_code_sizes(self, state, prefix, *args) -> None:
        for k in CODE_NAMES:
            saved, own = state.get(f"{prefix}codes_{k}"), getattr(self, f"codes_{k}")
            if saved is not None and tuple(saved.shape) != tuple(own.shape):
                raise CodeSizeError(
                    f"the checkpoint's codes C_{k} are {list(saved.shape)} but this DHNeRF's "
                    f"are {list(own.shape)}: set DHNeRF.ind_num and {k}_dim as in its run"
                )
        n = state.get(f"{prefix}coded_frames")
        n = int(n) if n is not None else 0
        own = [k for k in self.shared_codes if f"{prefix}codes_{k}" in state and n > 1
               and not torch.equal(state[f"{prefix}codes_{k}"][:n],
                                   state[f"{prefix}codes_{k}"][:1].expand(n, -1))]  # fmt: skip
        if own:  # a checkpoint of per-frame codes (before 4316609): val frames read the mean
            warnings.warn(  # anyway, so only a training frame's own rendering differs
                f"the checkpoint gives every frame its own {', '.join('C_' + k for k in own)} "
                "but this DHNeRF shares them over the clip (its rows' mean is read): bind "
                "DHNeRF.shared_codes = () to read it as trained",
                stacklevel=2,
            )
        if f"{prefix}codes_ex" in state and f"{prefix}expression_net.0.weight" not in state:
            raise CodeSizeError(
                "the checkpoint has no expression_net (E, which drives C_ex from audio at test "
                "time; DHNeRF checkpoints written before it lack it): train the model again"
            )
