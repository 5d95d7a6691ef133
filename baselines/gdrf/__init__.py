"""GDRF's few-shot feature-volume field (Dang et al.): a TalkingHeadModel the pipeline trains
like the rebuilt backbones (``TalkingHeadSystem(GDRF(...))``, gin name ``GDRF``)."""

from .network import DESCRIPTORS, GDRF, LAMBDA_LSTM
from .references import GDRFDataError

__all__ = ["DESCRIPTORS", "GDRF", "GDRFDataError", "LAMBDA_LSTM"]
