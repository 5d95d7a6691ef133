"""The synthetic studio: talking heads whose every cause is known.

``write_identity`` renders one identity (a seed) saying an utterance (a seed) into the
RAD-NeRF/ER-NeRF folder layout, with the ground truth (jaw, lip width, eye closure, pose,
landmarks, region labels) in the sibling folder ``<folder>.truth``; ``synth`` writes several;
``load_truth`` reads the ground truth back.
"""

from .identity import Identity, make_identity
from .labels import (
    BACKGROUND,
    EYES,
    FACE,
    HAIR,
    HEAD_LABELS,
    LABEL_NAMES,
    LIPS,
    MOUTH,
    NECK,
    TEETH,
    TORSO,
)
from .synth import synth
from .truth import Truth, load_truth, truth_dir
from .writer import default_utterance, write_identity

__all__ = [
    "write_identity",
    "synth",
    "load_truth",
    "Truth",
    "truth_dir",
    "default_utterance",
    "Identity",
    "make_identity",
    "BACKGROUND",
    "FACE",
    "HAIR",
    "LIPS",
    "MOUTH",
    "TEETH",
    "EYES",
    "NECK",
    "TORSO",
    "HEAD_LABELS",
    "LABEL_NAMES",
]
