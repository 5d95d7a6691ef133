"""A code extractor pre-trained on studio stills with exact contrastive pairs, built once and
kept in a file: ``DHNeRF.extractor = @studio_code_extractor()`` in a gin file."""

from __future__ import annotations

from pathlib import Path

import torch

from lokitalk_plugins.data.studio.factors import factor_bank
from lokitalk_plugins.errors import UserError

from .extractor import CodeExtractor, pretrain_extractor

__all__ = ["studio_code_extractor"]

KIND = "dhnerf_code_extractor"


def studio_code_extractor(
    path: str | None = None,
    identities: int = 4,
    expressions: int = 8,
    lights: int = 4,
    render_size: int = 32,
    steps: int = 300,
    num_negatives: int = 10,
    seed: int = 0,
    poses: int = 0,
    grid: bool = False,
    **dims,
) -> CodeExtractor:
    """The extractor in ``path`` when it exists (its sizes must match ``dims``), else one
    pre-trained on studio identities 1..identities x expressions x lights rendered at
    ``render_size`` px (identity 0, the studio's evaluation identity, is left out), saved to
    ``path`` when given. poses, grid: the bank's head poses and expression grid
    (:func:`~lokitalk_plugins.data.studio.factors.factor_bank`; with ``grid`` there are
    expressions**3 expressions). dims: the ``CodeExtractor`` keywords (id_dim, ex_dim,
    al_dim, ill_dim, size, width)."""
    with torch.random.fork_rng():  # the initial weights follow ``seed`` too
        torch.manual_seed(int(seed))
        extractor = CodeExtractor(**dims)
    if path is not None and Path(path).exists():
        state = torch.load(path, map_location="cpu", weights_only=True)
        if state.get("kind") != KIND or state.get("dims") != extractor.dims:
            raise UserError(
                f"{path}: not a code extractor with codes {extractor.dims} (it has "
                f"{state.get('dims')}); give another path or the sizes it was built with"
            )
        extractor.load_state_dict(state["state_dict"])
        return extractor.eval()
    ids = list(range(1, int(identities) + 1))
    bank = factor_bank(ids, expressions, lights, size=render_size, seed=seed, poses=poses,
                       grid=grid)  # fmt: skip
    history = pretrain_extractor(extractor, bank, steps, num_negatives=num_negatives, seed=seed)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        torch.save({"kind": KIND, "dims": extractor.dims, "history": history,
                    "state_dict": extractor.state_dict()}, path)  # fmt: skip
    return extractor.eval()
