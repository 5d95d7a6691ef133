"""The system a parsed gin config trains: whatever ``train.system`` binds (configs/base.gin:
``@TalkingHeadSystem``), so ``eval``, ``render`` and ``pretrain`` build what ``train`` built
without naming a class."""

from __future__ import annotations

import gin

__all__ = ["configured_system"]


def configured_system():
    """Build the system ``train.system`` binds in the parsed config (with its bindings);
    the pipeline's TalkingHeadSystem when nothing is bound."""
    try:
        ref = gin.query_parameter("train.system")
    except ValueError:
        ref = None
    if ref is None:
        return gin.get_configurable("TalkingHeadSystem")()
    return ref.scoped_configurable_fn()
