"""``wrap(backbone, rsdf=..., idakt=..., pretrained=...)``: the one way to build a wrapped
backbone (see :class:`~.wrap.WrappedModel`)."""

from __future__ import annotations

from torch import nn

from lokitalk_plugins.losses import LAMBDA_ATT, LAMBDA_DELTA

from .identity_bundle import load_identity_bundle
from .registry import adapt
from .wrap import WrappedModel

__all__ = ["wrap"]


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
) -> WrappedModel:
    """A backbone with plug-ins: ``wrap(model, rsdf=RSDF(audio_dim=model.audio_dim))``.

    backbone: the model; rsdf: RSDF or JointDeformation (None: none); idakt: ID-Aware
    Knowledge Transfer for pre-training: an :class:`~lokitalk_plugins.idakt.IDAKT` (or
    FrozenIdentity) built to this wrap's sizes, or a dict of IDAKT keyword arguments whose
    sizes (appearance, geometry, hyper layers, dynamic = rsdf.id_dim) are filled in here, or
    True for the defaults; pretrained: a bundle folder or Hub repo id to fine-tune from (the
    shared weights load now; the identity comes from the first training frame); backbone_name:
    a registered name (detected when None); lambda_delta, lambda_att: weights of the LokiTalk
    regularisers; audio2motion, train_audio2motion: the Audio2Motion VAE whose prior mean is
    RSDF's F_a (see :class:`WrappedModel`).
    """
    if not (idakt is None or idakt is True or isinstance(idakt, (dict, nn.Module))):
        raise ValueError(
            f"idakt must be None, True, a dict of IDAKT arguments or an IDAKT module, got "
            f"{type(idakt).__name__}"
        )
    if idakt is not None and pretrained is not None:
        raise ValueError("give idakt (pre-training) or pretrained (fine-tuning), not both")
    adapter = adapt(backbone, backbone_name)
    model = WrappedModel(backbone, rsdf, adapter, lambda_delta, lambda_att, audio2motion,
                         train_audio2motion)  # fmt: skip
    if idakt is True or isinstance(idakt, dict):
        from lokitalk_plugins.idakt import IDAKT

        kwargs = {} if idakt is True else dict(idakt)
        sizes = model.identity_sizes()
        if kwargs.get("dynamic_dim", sizes["dynamic_dim"]) != sizes["dynamic_dim"] and (
            getattr(rsdf, "id_dim", 0)
        ):
            raise ValueError(f"idakt dynamic_dim must equal rsdf.id_dim={rsdf.id_dim}")
        kwargs.update(sizes)
        kwargs.setdefault("bound", model.bound)
        idakt = IDAKT(**kwargs)
    if idakt is not None:
        model.attach_identity(idakt)
    if pretrained is not None:
        load_identity_bundle(model, pretrained)
    return model
