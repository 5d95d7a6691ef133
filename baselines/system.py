"""Moved to :mod:`lokitalk_plugins.pipeline`; this path stays as an alias for users' code."""

from lokitalk_plugins.pipeline.system import TalkingHeadSystem

__all__ = ["TalkingHeadSystem"]
