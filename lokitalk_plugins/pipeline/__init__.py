"""The training pipeline: knows models only through the :class:`TalkingHeadModel` protocol.

- :class:`TalkingHeadModel`, :func:`preflight`, :class:`TrainingCallback`,
  :class:`TrainBatch`, :data:`GROUPS`: the contract and its check (:mod:`.protocol`);
- :class:`TalkingHeadSystem`: any such model made trainable (gin name ``TalkingHeadSystem``);
- :class:`MultiIdentitySystem`: ID-AKT pre-training over several identities;
- :func:`eq12_loss`: the trained loss (LokiTalk eq. 12) assembled in one place.
"""

from .multi import MultiIdentitySystem, ReferenceConditioned
from .objective import LazyLPIPS, colour_loss, eq12_loss, late_lpips_weight
from .protocol import (
    GROUPS,
    MODEL_MEMBERS,
    ModelContractError,
    TalkingHeadModel,
    TrainBatch,
    TrainingCallback,
    preflight,
)
from .system import TalkingHeadSystem

__all__ = [
    "GROUPS",
    "MODEL_MEMBERS",
    "LazyLPIPS",
    "ModelContractError",
    "MultiIdentitySystem",
    "ReferenceConditioned",
    "TalkingHeadModel",
    "TalkingHeadSystem",
    "TrainBatch",
    "TrainingCallback",
    "colour_loss",
    "eq12_loss",
    "late_lpips_weight",
    "preflight",
]
