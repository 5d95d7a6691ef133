"""The claims ledger: a registry of quantitative claims judged from result JSON files.

``core`` holds the registry and the rules; ``lokitalk`` registers LokiTalk's claims. Another
paper's tables (GDRF, DH-NeRF) add a module that registers its own with ``@claim`` and is
listed in ``MODULES``.
"""

from __future__ import annotations

import importlib

from .core import CLAIMS, Claim, Sample, Verdict, claim, compare, find_cause, sample, threshold

__all__ = [
    "CLAIMS",
    "MODULES",
    "Claim",
    "Sample",
    "Verdict",
    "claim",
    "compare",
    "find_cause",
    "load_all",
    "sample",
    "threshold",
]

MODULES = ("claims.lokitalk",)


def load_all() -> list[Claim]:
    """Import every claims module (registering its claims once) and return the registry."""
    for name in MODULES:
        importlib.import_module(name)
    return CLAIMS
