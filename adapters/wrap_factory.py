"""``wrap(backbone, rsdf=..., idakt=..., pretrained=...)``: the one way to build a wrapped
backbone (see :class:`~.wrap.WrappedModel`)."""

from __future__ import annotations

from torch import nn

from lokitalk_plugins.losses import LAMBDA_ATT, LAMBDA_DELTA

from .identity_bundle import load_identity_bundle
from .registry import adapt
from .wrap import WrappedModel, check_deformation

__all__ = ["EYE_DIM", "POSE_DIM", "check_deformation", "check_identity_field", "wrap"]

# what the pipeline feeds a deformation field: F_e the eye value [1, 1], F_h the head pose [1, 6]
EYE_DIM, POSE_DIM = 1, 6


def wrap(
    backbone: nn.Module,
    rsdf: nn.Module | None = None,
    idakt=None,
    backbone_name: str | None = None,
    lambda_delta: float = LAMBDA_DELTA,
    lambda_att: float = LAMBDA_ATT,
    audio2motion: nn.Module | None = None,
    train_audio2motion: bool = False,
    pretrained: str | None = None,
    static_canonical: bool = True,
    audio_condition: nn.Module | None = None,
    plugins_float32: bool = False,
    train_deformation: bool = True,
) -> WrappedModel:
    """A backbone with plug-ins: ``wrap(model, rsdf=RSDF(audio_dim=model.audio_dim))``.

    backbone: the model; rsdf: a DeformationField, RSDF or JointDeformation (None: none), or
    its options (an :class:`~lokitalk_plugins.rsdf.RSDFOptions` or
    :class:`~lokitalk_plugins.rsdf.JointDeformationOptions`, True or a dict of RSDF options),
    built here with F_a's size (audio_dim None) and, with ID-AKT, id_dim 0 -> dynamic_dim or 16;
    a field whose F_a, F_e or F_h size does not fit, or with id_dim but no ID-AKT, is refused;
    idakt: ID-Aware Knowledge Transfer for pre-training: an
    :class:`~lokitalk_plugins.idakt.IDAKT` (or FrozenIdentity) built to this wrap's sizes, or
    True, a dict or an :class:`~lokitalk_plugins.idakt.IDAKTOptions` of the options whose
    sizes (appearance, geometry, hyper layers, dynamic = rsdf.id_dim) are filled in here
    (on a bare backbone both halves apply; the option ``dynamic=False`` keeps the static one);
    invalid options and combinations (ID-AKT with the joint field) are refused here;
    pretrained: a bundle folder or Hub repo id to fine-tune from (the shared weights load
    now; the identity comes from the first training frame); backbone_name:
    a registered name (detected when None); lambda_delta, lambda_att: weights of the LokiTalk
    regularisers; audio2motion, train_audio2motion: the Audio2Motion VAE whose prior mean is
    RSDF's F_a (see :class:`WrappedModel`); static_canonical: with a deformation field the
    backbone's field sees no audio or eye, one static canonical space (LokiTalk eq. 5, the
    default); False keeps the backbone's own audio and eye path (an ablation);
    audio_condition: a frozen signal (``feature(windows)``, ``latent_dim`` = the backbone's
    audio_dim) in place of the backbone's audio network: GDRF's LSTM (``load_audio2exp``) or
    the lip-sync module's audio branch (``load_lipsync``); plugins_float32: under a training
    autocast (``Trainer.amp = 'bf16'``) the plug-ins run in float32 and only the backbone under
    the autocast (False: all of it); train_deformation: False keeps the deformation field as
    built or loaded (at its zero start: the static canonical field alone, an ablation).
    """
    from lokitalk_plugins.idakt import IDAKT, IDAKTOptions  # the Hub client: on use only

    if idakt is not None and pretrained is not None:
        raise ValueError("give idakt (pre-training) or pretrained (fine-tuning), not both")
    options = None
    if idakt is True or isinstance(idakt, (dict, IDAKTOptions)):
        options = IDAKTOptions.parse(idakt)
    elif not (idakt is None or isinstance(idakt, nn.Module)):
        raise ValueError(
            f"idakt must be None, True, a dict of IDAKT options, an IDAKTOptions or an IDAKT "
            f"module, got {type(idakt).__name__}"
        )
    identity = idakt is not None or pretrained is not None
    adapter = adapt(backbone, backbone_name)
    f_a = int(audio2motion.latent_dim) if audio2motion is not None else adapter.audio_dim
    dynamic = options.dynamic_dim if options is not None else None
    rsdf = deformation_field(rsdf, f_a, identity, dynamic)
    model = WrappedModel(backbone, rsdf, adapter, lambda_delta, lambda_att, audio2motion,
                         train_audio2motion, static_canonical=static_canonical,
                         audio_condition=audio_condition,
                         plugins_float32=plugins_float32,
                         train_deformation=train_deformation)  # fmt: skip
    if options is not None:
        if not options.dynamic and rsdf is not None:
            raise ValueError(
                "idakt dynamic=False (the static half only) is for a bare backbone: with a "
                "deformation field ID-AKT's dynamic half conditions its MLPs; leave it out"
            )
        sizes = model.identity_sizes(dynamic=options.dynamic)
        if options.dynamic_dim is not None:  # a bare backbone: F_id's size as given
            sizes["dynamic_dim"] = options.dynamic_dim
        id_dim = rsdf.id_dim if rsdf is not None else 0
        if options.dynamic_dim is not None and id_dim and options.dynamic_dim != id_dim:
            raise ValueError(
                f"idakt dynamic_dim={options.dynamic_dim} but rsdf.id_dim={id_dim}: give "
                "them the same size (or leave dynamic_dim out)"
            )
        idakt = IDAKT(**{**options.kwargs(), **sizes, "bound": model.bound})
    if idakt is not None:
        model.attach_identity(idakt)
    if pretrained is not None:
        load_identity_bundle(model, pretrained)
    return model


def deformation_field(rsdf, f_a: int, identity: bool, dynamic_dim: int | None = None):
    """The deformation module of ``wrap(rsdf=...)``: built from options (audio_dim None ->
    ``f_a``; with ``identity``, id_dim 0 -> ``dynamic_dim`` or 16), then checked against what
    the pipeline feeds it (F_e [1, 1], F_h [1, 6]) and against ID-AKT; None stays None."""
    from lokitalk_plugins.rsdf import JointDeformationOptions, RSDFOptions

    if rsdf is True or isinstance(rsdf, dict):
        rsdf = RSDFOptions.parse(rsdf)
    if isinstance(rsdf, (RSDFOptions, JointDeformationOptions)):
        fill = {"audio_dim": f_a if rsdf.audio_dim is None else rsdf.audio_dim}
        if identity and isinstance(rsdf, RSDFOptions) and not rsdf.id_dim:
            fill["id_dim"] = dynamic_dim or 16
        rsdf = rsdf.build(**fill)
    check_deformation(rsdf)
    if rsdf is None:
        return None
    name = type(rsdf).__name__
    for what, size, want in (
        ("eye_dim", rsdf.eye_dim, EYE_DIM),
        ("pose_dim", rsdf.pose_dim, POSE_DIM),
    ):
        if int(size) != want:
            signal = "F_e (the eye value)" if what == "eye_dim" else "F_h (the head pose)"
            raise ValueError(
                f"{name}.{what}={size} but the pipeline feeds {signal} with {want} channel(s): "
                f"build {name}({what}={want}, ...) or leave {what} out"
            )
    if identity:
        check_identity_field(rsdf)
    elif rsdf.id_dim:
        raise ValueError(
            f"{name}.id_dim={rsdf.id_dim} needs ID-AKT's F_id, but neither idakt= nor pretrained= "
            "is given: add one (configs/idakt.gin, wrap.pretrained = '<bundle>') or set id_dim=0"
        )
    return rsdf


def check_identity_field(rsdf) -> None:
    """ID-AKT feeds the deformation field F_id and per-identity last layers: refuse a field
    that takes neither (the joint O+D field), saying what to change."""
    if rsdf is not None and not rsdf.takes_identity:
        raise ValueError(
            f"ID-AKT (idakt=/pretrained=) conditions the deformation field, but "
            f"{type(rsdf).__name__} takes no identity: use rsdf=RSDF(..., id_dim=16) with "
            "ID-AKT, or leave idakt/pretrained out for the joint O+D field"
        )
