"""Region-Specific Deformation Fields (LokiTalk section 3.2).

- :class:`RSDF`: face field (eq. 3) cascaded into the torso field (eq. 4), warping
  observation points to one canonical space (eq. 5); returns :class:`RSDFOutput` with the
  offsets and per-point maps (attention scores, offset norms) for the losses.
- :class:`FaceDeformation`, :class:`TorsoDeformation`: the two fields on a point encoding.
- :class:`SignalAttention`: per-point sigmoid cross-attention scores between a point and
  each driving signal (lip/audio, eye, torso/pose).
- :class:`DeformationField`: the base class of both (contract, parameter groups).
- :class:`JointDeformation`: the "O+D" ablation, one field conditioned on all signals.
- :class:`RSDFOptions`, :class:`JointDeformationOptions`: their options as checked config
  dataclasses (``wrap(backbone, rsdf=RSDFOptions(...))`` builds the field to the wrap's F_a).
"""

from .attention import SignalAttention, expand_signal
from .base import DeformationField
from .fields import FaceDeformation, TorsoDeformation, offset_mlp, point_encoder
from .joint import JointDeformation
from .options import JointDeformationOptions, RSDFOptions
from .rsdf import MAP_NAMES, RSDF, RSDFOutput, inside_box

__all__ = [
    "MAP_NAMES",
    "RSDF",
    "DeformationField",
    "FaceDeformation",
    "JointDeformation",
    "JointDeformationOptions",
    "RSDFOptions",
    "RSDFOutput",
    "SignalAttention",
    "TorsoDeformation",
    "expand_signal",
    "inside_box",
    "offset_mlp",
    "point_encoder",
]
