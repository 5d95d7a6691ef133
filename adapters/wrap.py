"""``wrap(backbone, rsdf=..., idakt=...)``: a backbone with plug-ins, a drop-in for the trainer.

The wrapped head field of one frame, with F_a = the backbone's audio feature (or, when an
``audio2motion`` model is given, the prior mean of that Audio2Motion VAE: the motion-aware F_a of
LokiTalk sec. 3.2), F_e = the eye value, F_h = the 6-D head pose (zeros when not given):

    x' = RSDF(x; F_a, F_e, F_h).x_canonical        observation -> canonical (eqs. 3-5)
    out = backbone field at x' (through its adapter) + the RSDF's per-point maps

With ID-AKT (``idakt``, LokiTalk sec. 3.3; :mod:`.identity`) the identity's features join
RSDF's MLPs (F_id, per-identity last layers) -- on a bare backbone its own dynamic MLPs
(:mod:`.identity_dynamic`) --, the canonical point moves by Δx_id(x'), the geometry feature is
added to the point encoding and the appearance feature to the colour code.

Unified canonical space (LokiTalk sec. 3.2, eq. 5; ``static_canonical``, on by default): once a
deformation field is present the backbone's field sees no audio and no eye (the adapter's
``static_condition``: ER-NeRF's region attention and RAD-NeRF's ambient path are bypassed,
their density inputs zeros), so D and R deform one static canonical space; off, the field
keeps the backbone's own audio and eye path (the old behaviour, an ablation). Without a
deformation field (Table 2's O) the backbone keeps its own audio path either way.

Every RSDF offset and ID-AKT output is exactly zero at initialisation, so x' == x and the
wrapped model renders exactly as the bare backbone does under the same condition (its own, or
the static one). ``density(encode_points(x), enc_a, eye)`` evaluates the *undeformed*
canonical field; the occupancy refresh calls :meth:`WrappedModel.grid_density`, which with a
deformation field (and the pipeline's ``grid_deformed``, on by default) evaluates the canonical
density at the deformed point x + Δx under training frames' conditions, so cells that content
moves into (an open jaw, a lagging torso) are refreshed as occupied.
"""

from __future__ import annotations

import torch
from torch import nn

from lokitalk_plugins.losses import LAMBDA_ATT, LAMBDA_DELTA
from lokitalk_plugins.rsdf.base import DeformationField

from .contract import BackboneAdapter
from .fast_path import FastPathPlug, float32_inputs
from .identity import IdentityPlug
from .lattice_refresh import lattice_density
from .registry import adapt
from .wrap_training import TrainingPlug

__all__ = ["WrappedModel", "check_deformation"]


def check_deformation(rsdf) -> None:
    """Refuse an rsdf that is not a deformation field (RSDF, JointDeformation or another
    :class:`~lokitalk_plugins.rsdf.DeformationField`)."""
    if rsdf is not None and not isinstance(rsdf, DeformationField):
        raise ValueError(
            f"rsdf must be a DeformationField (RSDF or JointDeformation), got "
            f"{type(rsdf).__name__}: subclass lokitalk_plugins.rsdf.DeformationField"
        )


class WrappedModel(FastPathPlug, TrainingPlug, IdentityPlug, nn.Module):
    """A backbone (``.backbone``) with an observation-to-canonical deformation (``.rsdf``) and
    ID-Aware Knowledge Transfer (``.idakt``; see :class:`~.identity.IdentityPlug`).

    backbone: the model (our RAD-NeRF / ER-NeRF, or an original codebase's model);
    rsdf: an :class:`~lokitalk_plugins.rsdf.RSDF` or
    :class:`~lokitalk_plugins.rsdf.JointDeformation` (or None: the bare field);
    adapter: the :class:`BackboneAdapter` bound to backbone (detected when None);
    lambda_delta, lambda_att: weights of L_Δ (1e-5) and L_att (1e-4) in :meth:`regularisers`;
    audio2motion: an :class:`~lokitalk_plugins.signals.Audio2Motion` whose prior mean is the
    plug-in's F_a (None: the backbone's audio feature); train_audio2motion: False keeps it
    frozen (:meth:`param_groups` leaves it out); static_canonical: with a deformation field,
    the backbone's field sees no audio or eye (see the module doc; True: the paper's setting);
    plugins_float32: under a training autocast (``Trainer.amp = 'bf16'``) the deformation
    field and ID-AKT's Δx_id run in float32 (the autocast off, their inputs cast to float32)
    while the backbone keeps the autocast; False (the default) autocasts them too;
    train_deformation: False keeps the deformation field as it is (:meth:`param_groups`
    leaves it out): a field trained elsewhere, or one at its zero start, which with
    ``static_canonical`` leaves the static canonical field alone (an ablation).

    audio_condition: a frozen signal whose ``feature(windows)`` [B, latent_dim = A] replaces
    the backbone's own audio feature (GDRF's LSTM, ``load_audio2exp(dim=A)``; the lip-sync
    module's audio branch, ``load_lipsync``), for the backbone's field and, without
    audio2motion, for the plug-in (None: the backbone's audio network).

    With audio2motion, :meth:`encode_audio` returns [B, A + L]: the backbone's F_a then the
    VAE's; the backbone sees the first A channels, the plug-in the last L. idakt: an
    :class:`~lokitalk_plugins.idakt.IDAKT` (pre-training; bind a reference frame first) or a
    :class:`~lokitalk_plugins.idakt.FrozenIdentity` (fine-tuning), or None.

    A :class:`~lokitalk_plugins.pipeline.TalkingHeadModel`: forward, encode_audio,
    individual_code, encode_points, density, grid, ray_extras, torso, torso_condition,
    forward_torso, audio_in_dim (through the adapter, which supplies what a foreign backbone
    lacks) and param_groups, loss_terms, training_callbacks (:class:`~.wrap_training.
    TrainingPlug`: the backbone's, RSDF's and ID-AKT's answers summed).
    """

    def __init__(
        self,
        backbone: nn.Module,
        rsdf: nn.Module | None = None,
        adapter: BackboneAdapter | None = None,
        lambda_delta: float = LAMBDA_DELTA,
        lambda_att: float = LAMBDA_ATT,
        audio2motion: nn.Module | None = None,
        train_audio2motion: bool = False,
        idakt: nn.Module | None = None,
        static_canonical: bool = True,
        audio_condition: nn.Module | None = None,
        plugins_float32: bool = False,
        train_deformation: bool = True,
    ):
        super().__init__()
        check_deformation(rsdf)
        self.plugins_float32 = bool(plugins_float32)
        self.backbone = backbone
        self.add_module("rsdf", rsdf)
        self.add_module("audio2motion", audio2motion)
        self.add_module("audio_condition", audio_condition)
        self.train_audio2motion = bool(train_audio2motion)
        self.train_deformation = bool(train_deformation)
        self.adapter = adapter if adapter is not None else adapt(backbone)
        if self.adapter.model is not backbone:
            raise ValueError("the adapter is bound to another model than the backbone")
        if self.adapter.owns_grid:  # a foreign backbone: the adapter's grid, saved here
            self.occupancy = self.adapter.grid
        self.lambda_delta, self.lambda_att = float(lambda_delta), float(lambda_att)
        self.static_canonical = bool(static_canonical) and rsdf is not None
        if audio_condition is not None and int(audio_condition.latent_dim) != self.audio_dim:
            raise ValueError(
                f"audio_condition gives {audio_condition.latent_dim} channels but the backbone's "
                f"F_a has {self.audio_dim}: build it with {self.audio_dim} (load_audio2exp.dim)"
            )
        if audio2motion is not None and rsdf is None:
            raise ValueError("audio2motion gives the plug-in's F_a: it needs an rsdf")
        if rsdf is not None:
            f_a = self.plugin_audio_dim
            source = "the Audio2Motion latent" if audio2motion is not None else "the backbone's"
            if int(rsdf.audio_dim) != f_a:
                raise ValueError(
                    f"rsdf.audio_dim={rsdf.audio_dim} but F_a ({source} audio feature) has "
                    f"{f_a} channels: build RSDF(audio_dim={f_a}, ...)"
                )
            clash = set(rsdf.map_names) & set(self.adapter.ray_extras)
            if clash:
                raise ValueError(f"RSDF map names clash with the backbone's: {sorted(clash)}")
        self.attach_identity(idakt)

    # --- delegated attributes ----------------------------------------------------------------
    @property
    def grid(self):
        """The backbone's occupancy grid, or the adapter's for a backbone without one (the
        same object; not registered twice)."""
        return self.adapter.grid

    @property
    def torso(self) -> bool:
        return self.adapter.torso

    @property
    def torso_condition(self) -> str:
        return self.adapter.torso_condition

    @property
    def audio_dim(self) -> int:
        return self.adapter.audio_dim

    @property
    def audio_in_dim(self) -> int:
        return self.adapter.audio_in_dim

    @property
    def plugin_audio_dim(self) -> int:
        """Size of the plug-in's F_a: the Audio2Motion latent, else the backbone's F_a."""
        if self.audio2motion is not None:
            return int(self.audio2motion.latent_dim)
        return self.adapter.audio_dim

    @property
    def frozen_prefixes(self) -> tuple[str, ...]:
        """Parameter-name prefixes that never train (a frozen Audio2Motion, a deformation field
        with ``train_deformation`` False); informational: :meth:`param_groups` leaves those
        parameters out."""
        frozen = []
        if self.audio2motion is not None and not self.train_audio2motion:
            frozen.append("audio2motion.")
        if self.rsdf is not None and not self.train_deformation:
            frozen.append("rsdf.")
        return tuple(frozen)

    @property
    def bound(self) -> float:
        return self.adapter.bound

    @property
    def ray_extras(self) -> tuple[str, ...]:
        """The backbone's per-point maps, then the plug-in's (weight-summed per ray)."""
        maps = tuple(self.rsdf.map_names) if self.rsdf is not None else ()
        return tuple(self.adapter.ray_extras) + maps

    # --- conditioning and the canonical field (through the adapter) --------------------
    def encode_audio(self, windows: torch.Tensor) -> torch.Tensor:
        """windows [B, 8, K, T] -> F_a [B, audio_dim] (with audio2motion: [B, audio_dim + L],
        the backbone's F_a then the VAE's prior mean)."""
        if self.audio_condition is None:
            enc = self.adapter.encode_audio(windows)
        else:  # frozen: never in param_groups
            with torch.no_grad():
                enc = self.audio_condition.feature(windows)
        if self.audio2motion is None:
            return enc
        with torch.set_grad_enabled(self.train_audio2motion and torch.is_grad_enabled()):
            f_a = self.audio2motion.feature(windows.to(enc.dtype))
        return torch.cat([enc, f_a.to(enc.dtype)], dim=-1)

    def split_audio(self, enc_a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """What :meth:`encode_audio` returned -> (the backbone's F_a, the plug-in's F_a)."""
        if self.audio2motion is None:
            return enc_a, enc_a
        a = self.adapter.audio_dim
        return enc_a[..., :a], enc_a[..., a:]

    def individual_code(self, index: int | None, torso: bool = False) -> torch.Tensor:
        """[1, ind_dim] code of a frame (code 0 when index is None)."""
        return self.adapter.individual_code(index, torso=torso)

    def encode_points(self, x: torch.Tensor) -> torch.Tensor:
        """x [N, 3] canonical points -> backbone encoding [N, C] (no deformation; with ID-AKT
        the identity's canonical offset and geometry feature when they are available)."""
        ident = self.identity_outputs(required=False)
        if ident is None:
            return self.adapter.encode_points(x)
        return self.identity_encoding(x, ident)

    def backbone_condition(self, enc_a, eye):
        """What the backbone's field is given: enc_a (the backbone's F_a [1, A]) and eye
        [1, 1] as they are, or the adapter's static condition with ``static_canonical``."""
        if self.static_canonical:
            return self.adapter.static_condition(enc_a, eye)
        return enc_a, eye

    def density(self, enc_x, enc_a, eye) -> dict[str, torch.Tensor]:
        """The undeformed canonical density (for occupancy refreshes; see the module doc)."""
        nets = self.identity_nets(self.identity_outputs(required=False))
        return self.adapter.density(
            enc_x, *self.backbone_condition(self.split_audio(enc_a)[0], eye), **nets
        )

    def color(self, geo_feat, d, code) -> torch.Tensor:
        return self.adapter.color(geo_feat, d, code)

    def grid_density(self, x, enc_a, eye, pose=None, deformed: bool = True) -> torch.Tensor:
        """Occupancy refreshes: x [N, 3] world points, enc_a / eye / pose [1 or N, ...] the
        conditions of training frames -> sigma [N], the backbone's density alone. With a
        deformation plug-in and ``deformed``, at the canonical point the renderer samples for
        those conditions, x + Δx(x, F_a, F_e, F_h); else at x (the undeformed refresh)."""
        return self._grid_density(x, enc_a, eye, pose, deformed, lean=False)

    def grid_density_lean(self, x, enc_a, eye, pose=None, deformed: bool = True):
        """:meth:`grid_density` in the refresh's lean form (``GridUpkeep.lean``; the
        contract's optional member): under one static canonical space the adapter's
        ``static_sigma`` reads the backbone's density (equal to its ``sigma`` under the static
        condition up to float rounding, cheaper); elsewhere the same as grid_density."""
        return self._grid_density(x, enc_a, eye, pose, deformed, lean=True)

    def _grid_density(self, x, enc_a, eye, pose, deformed: bool, lean: bool) -> torch.Tensor:
        enc_a, f_a = self.split_audio(enc_a)
        ident = self.identity_outputs(required=False)
        if deformed and self.rsdf is not None:
            x = self.deform(x, f_a, eye, pose, ident, maps=False).x_canonical
        enc_x = self.adapter.encode_points(x) if ident is None else self.identity_encoding(x, ident)
        if lean and self.static_canonical:  # the condition and its nets unused there
            return self.adapter.static_sigma(enc_x, enc_a, eye)
        nets = self.identity_nets(ident)
        return self.adapter.sigma(enc_x, *self.backbone_condition(enc_a, eye), **nets)

    def grid_density_lattice(self, axes, enc_a, eye, pose=None, deformed: bool = True,
                             deformed_lattice: int | None = None):  # fmt: skip
        """The lattice refresh (``GridUpkeep.lattice``; the contract's optional member):
        axes [3, r] -> a function ijk [K, 3] -> sigma [K] equal to :meth:`grid_density` at the
        lattice points where the model does not deform; with a deformation plug-in, the
        canonical density read on the lattice as ``GridUpkeep.deformed_lattice`` says (None:
        not here, the caller evaluates the points); None where the backbone's encoding has no
        lattice form or ID-AKT's identity is bound (:mod:`.lattice_refresh`)."""
        return lattice_density(self, axes, enc_a, eye, pose, deformed, deformed_lattice)

    def deform(self, x: torch.Tensor, enc_a, eye, pose=None, ident=None, maps: bool = True):
        """x [N, 3] observation points -> RSDFOutput (None when there is no plug-in).
        enc_a: the plug-in's F_a [1 or N, rsdf.audio_dim]; pose: [1 or N, 6] head pose F_h,
        zeros when None; ident: ID-AKT's IdentityOutputs (F_id and the last layers) or None;
        maps: False asks the field for no per-point maps (the inference fast path)."""
        if self.rsdf is None:
            return None
        if pose is None:
            pose = x.new_zeros(1, int(self.rsdf.pose_dim))
        if ident is None:
            return self.rsdf(x, enc_a, eye, pose.to(x.dtype), maps=maps)
        f_id = ident.dynamic if self.rsdf.id_dim else None
        return self.rsdf(
            x, enc_a, eye, pose.to(x.dtype), F_id=f_id, last_weights=ident.hyper, maps=maps
        )

    def forward(self, x, d, enc_a, eye, code, pose=None) -> dict[str, torch.Tensor]:
        """x [N, 3], d [N, 3], enc_a [1, audio_dim], eye [1, 1], code [1, ind_dim],
        pose [1, 6] or None -> the backbone's outputs at the canonical points (sigma [N],
        color [N, 3], geo_feat, its maps) plus the plug-in's per-point maps [N]."""
        enc_a, f_a = self.split_audio(enc_a)
        ident = self.identity_outputs()
        fast = self.fast_path_active  # no maps, baked Δx_id (adapters/fast_path.py)
        if self.plugins_float32_now:  # the plug-ins' inputs, made under the autocast
            f_a, eye, pose, plug_ident = float32_inputs(f_a, eye, pose, ident)
        else:
            plug_ident = ident
        frames, warp = self.frame_bake, None  # the per-frame bake (adapters/frame_bake.py)
        if frames is not None:  # the whole point map, Δx_id included, from the frame's lattice
            xc = frames(self, x, f_a, eye, pose, plug_ident)
        else:
            with self.plugin_autocast():  # the plug-ins' precision (fast path, plugins_float32)
                warp = self.deform(x, f_a, eye, pose, plug_ident, maps=not fast)
            xc = x if warp is None else warp.x_canonical
        enc_a, eye_b = self.backbone_condition(enc_a, eye)
        if ident is None:
            out = self.adapter.field(xc, d, enc_a, eye_b, code)
        else:  # ID-aware canonical space, geometry and appearance features (sec. 3.3)
            if frames is not None:  # Δx_id is in the baked map already
                enc_x = self.adapter.encode_points(xc) + ident.geometry.to(xc.dtype)
            else:
                enc_x = self.identity_encoding(xc, ident)
            nets = self.identity_nets(ident)
            out = self.adapter.frame_density(enc_x, enc_a, eye_b, code, **nets)
            out["color"] = self.adapter.color(out["geo_feat"], d, code + ident.appearance)
        if warp is not None and not fast:
            out.update(warp.maps)
        return out

    # --- camera and torso (the backbone's, through the adapter; not deformed) ---------------
    def camera_offset(self, rays_o, rays_d, index: int):
        """Training rays of frame ``index`` with the backbone's learnt camera offset (the
        originals' --train_camera; unchanged without)."""
        return self.adapter.camera_offset(rays_o, rays_d, index)

    def forward_torso(self, x, cond, c=None) -> dict[str, torch.Tensor]:
        """x [N, 2] in [-1, 1], cond (see :attr:`torso_condition`), c [1, I_t] or None ->
        dict(alpha [N, 1], color [N, 3], ...): the backbone's 2D torso field."""
        return self.adapter.forward_torso(x, cond, c)
