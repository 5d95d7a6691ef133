"""How well a code extractor's C̄_ex reads the expression of studio people it never saw.

How well the pre-trained C̄_ex reads a new person's expression (jaw, lip width, eye closure)
depends on the seed of its pre-training as much as on the recipe. Studio identities beyond
the bank are people the extractor never saw and, unlike identity 0 (the tables' test
person), are never read by the tables: ``validation_clips`` renders a short lit clip of each,
and ``expression_read`` is the held-out R² of a ridge linear map from C̄_ex to the clip's
jaw, lip width and eye closure, fitted on the first 70% of the frames and read on the last
30% (one block, as the tables' probes: no read frame has a fitted neighbour), the mean over
the three factors and the clips. ``benchmarks/dhnerf_extractor_probe.py --validate`` reports
it beside the test person's read."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lokitalk_plugins.metrics.probe import r2_probe

__all__ = ["FACTORS", "HELD_OUT", "VALIDATION_SECONDS", "ValidationClip", "expression_read",
           "expression_reads", "validation_clips"]  # fmt: skip

VALIDATION_SECONDS = 10.0  # each validation person's clip
HELD_OUT = 0.3  # the share of a clip's (last) frames the read is measured on
FACTORS = ("jaw", "lip_width", "eye_closure")


@dataclass
class ValidationClip:
    """One person's clip: the training split's frames [F, H, W, 3] in [0, 1] as a
    ``TalkingHeadFolder`` gives them, and their true (jaw, lip width, eye closure) [F, 3]."""

    identity: int
    images: torch.Tensor
    factors: np.ndarray


def validation_clips(identities, size: int, seconds: float = VALIDATION_SECONDS
                     ) -> list[ValidationClip]:  # fmt: skip
    """A lit studio clip of each of ``identities`` (seconds long, ``size`` px, seed 0, the
    studio's writer into a temporary folder, read back through ``TalkingHeadFolder`` as a
    user's clip is; nothing is kept on disk)."""
    from lokitalk_plugins.data import TalkingHeadFolder
    from lokitalk_plugins.data.studio import load_truth, write_identity

    clips = []
    with tempfile.TemporaryDirectory(prefix="lokitalk_validation_") as tmp:
        for k in identities:
            folder = write_identity(Path(tmp) / f"id{int(k):03d}", identity=int(k),
                                    seconds=float(seconds), size=int(size), seed=0,
                                    lighting=True)  # fmt: skip
            ds = TalkingHeadFolder(folder, split="train", progress=False)
            ids = np.asarray(ds.img_ids)
            truth = load_truth(folder)
            images = torch.stack([ds[i].image for i in range(len(ds))])
            factors = np.stack([np.asarray(getattr(truth, f))[ids] for f in FACTORS], 1)
            clips.append(ValidationClip(int(k), images, factors))
    return clips


def expression_reads(extractor, clips: list[ValidationClip]) -> list[float]:
    """Each clip's read: the mean over ``FACTORS`` of the held-out R² of a ridge linear map
    from the extractor's C̄_ex of each frame to that factor (``r2_probe``, ridge 1, fitted on
    the first 1 - ``HELD_OUT`` of the frames). C̄_ex is read as the extractor gives it: a code
    read relative to the person differs by one offset over a clip, which the map's intercept
    absorbs."""
    was = extractor.training
    extractor.eval()
    reads = []
    try:
        for clip in clips:
            with torch.no_grad():
                codes = extractor(clip.images)["ex"].numpy()
            n = len(codes)
            fit = np.arange(n) < int(round(n * (1 - HELD_OUT)))
            reads.append(float(np.mean([r2_probe(codes, clip.factors[:, [j]], fit)
                                        for j in range(len(FACTORS))])))  # fmt: skip
    finally:
        extractor.train(was)
    return reads


def expression_read(extractor, clips: list[ValidationClip]) -> float:
    """The mean of :func:`expression_reads` over ``clips`` (at least one)."""
    if not clips:
        raise ValueError("expression_read needs at least one validation clip")
    return float(np.mean(expression_reads(extractor, clips)))
