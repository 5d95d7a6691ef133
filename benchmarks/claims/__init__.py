"""The claims ledger: a registry of quantitative claims judged from result JSON files.

``core`` holds the registry and the rules; ``lokitalk``, ``gdrf`` and ``dhnerf`` register each
paper's claims (and the issues' targets). Another paper adds a module that registers its own
with ``@claim`` and is listed in ``MODULES``.
"""

from __future__ import annotations

import importlib

from .core import (
    CLAIMS,
    VERDICTS,
    Claim,
    Pair,
    Sample,
    Verdict,
    claim,
    compare,
    contest,
    find_cause,
    row_sample,
    sample,
    threshold,
)

__all__ = [
    "CLAIMS",
    "MODULES",
    "VERDICTS",
    "Claim",
    "Pair",
    "Sample",
    "Verdict",
    "claim",
    "compare",
    "contest",
    "find_cause",
    "load_all",
    "row_sample",
    "sample",
    "threshold",
]

MODULES = ("claims.lokitalk", "claims.gdrf", "claims.dhnerf")


def load_all() -> list[Claim]:
    """Import every claims module (registering its claims once) and return the registry."""
    for name in MODULES:
        importlib.import_module(name)
    return CLAIMS
