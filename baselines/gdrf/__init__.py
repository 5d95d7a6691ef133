"""GDRF's few-shot feature-volume field (Dang et al.): a TalkingHeadModel the pipeline trains
like the rebuilt backbones (``TalkingHeadSystem(GDRF(...))``, gin name ``GDRF``)."""

from .bundle import load_gdrf_bundle, save_gdrf_bundle
from .network import DESCRIPTORS, GDRF, LAMBDA_LSTM, GDRFCheckpointError
from .pretrain import GDRFPretraining
from .references import GDRFDataError

__all__ = [
    "DESCRIPTORS", "GDRF", "GDRFCheckpointError", "GDRFDataError", "GDRFPretraining", "LAMBDA_LSTM",
    "load_gdrf_bundle", "save_gdrf_bundle",
]  # fmt: skip
