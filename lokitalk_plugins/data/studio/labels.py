"""Region labels of the studio's ground truth and their parsing colours.

``labels [N, H, W] uint8`` hold one of these ids per pixel. The parsing colours are the
values of ``parsing/%d.png`` read as RGB (the originals write them in BGR order).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "BACKGROUND",
    "FACE",
    "HAIR",
    "LIPS",
    "MOUTH",
    "TEETH",
    "EYES",
    "NECK",
    "TORSO",
    "LABEL_NAMES",
    "HEAD_LABELS",
    "PARSING_RGB",
    "parsing_image",
]

BACKGROUND, FACE, HAIR, LIPS, MOUTH, TEETH, EYES, NECK, TORSO = range(9)
LABEL_NAMES = ("background", "face", "hair", "lips", "mouth", "teeth", "eyes", "neck", "torso")
# classes that the originals' face parsing calls "head" (hair and mouth included)
HEAD_LABELS = (FACE, HAIR, LIPS, MOUTH, TEETH, EYES)

# label id -> RGB colour of parsing/%d.png when read as RGB
PARSING_RGB = np.full((len(LABEL_NAMES), 3), 255, dtype=np.uint8)
PARSING_RGB[list(HEAD_LABELS)] = (0, 0, 255)
PARSING_RGB[NECK] = (0, 255, 0)
PARSING_RGB[TORSO] = (255, 0, 0)


def parsing_image(labels: np.ndarray) -> np.ndarray:
    """labels [H, W] uint8 -> parsing colours [H, W, 3] uint8 (RGB as read back)."""
    return PARSING_RGB[labels]
