"""ID-Aware Knowledge Transfer (LokiTalk section 3.3) and Hub loading.

- :class:`IDAKT`: the pre-training form (ID-Encoder on one reference frame, heads for the
  dynamic, appearance and geometry features and the canonical-offset code, hyper-networks for
  the last layers of the MLPs that model the dynamics -- RSDF's, or a bare backbone's own --,
  the shared canonical offset field);
  :class:`FrozenIdentity`: the fine-tuning form (one identity's outputs as parameters).
- :func:`save_pretrained`, :func:`from_pretrained`, :func:`push_to_hub`: the bundle on disk or
  on the Hugging Face Hub (safetensors, config.json, model card).
"""

from .encoder import MIN_IMAGE_SIZE, IDEncoder
from .frozen import EMBEDDING_GROUP, FrozenIdentity
from .hub import (
    BUNDLE_FORMAT,
    BUNDLE_VERSION,
    Bundle,
    BundleNotFoundError,
    BundleVersionError,
    ComponentMismatchError,
    CorruptBundleError,
    HubBundleError,
    MissingBundleFileError,
    from_pretrained,
    push_to_hub,
    save_pretrained,
)
from .hyper import HyperLinear, apply_weight
from .module import HEAD_NAMES, IDAKT, CanonicalOffsetField, IdentityOutputs, check_hyper_layers
from .options import IDAKTOptions

__all__ = [
    "IDAKTOptions",
    "BUNDLE_FORMAT",
    "BUNDLE_VERSION",
    "Bundle",
    "BundleNotFoundError",
    "BundleVersionError",
    "CanonicalOffsetField",
    "ComponentMismatchError",
    "CorruptBundleError",
    "EMBEDDING_GROUP",
    "FrozenIdentity",
    "HEAD_NAMES",
    "HubBundleError",
    "HyperLinear",
    "IDAKT",
    "IDEncoder",
    "IdentityOutputs",
    "MIN_IMAGE_SIZE",
    "MissingBundleFileError",
    "apply_weight",
    "check_hyper_layers",
    "from_pretrained",
    "push_to_hub",
    "save_pretrained",
]
