"""A code extractor pre-trained on studio stills with exact contrastive pairs, built once and
kept in a file: ``DHNeRF.extractor = @studio_code_extractor()`` in a gin file."""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path

import torch

from lokitalk_plugins.data.studio.factors import factor_bank
from lokitalk_plugins.errors import UserError
from lokitalk_plugins.train.runtime import cpu_model, torch_threads

from .extractor import CodeExtractor, code_names, pretrain_extractor

__all__ = ["BANK_KEYS", "BANK_KEYS_SINCE", "extractor_bank", "extractor_file_bank",
           "extractor_file_machine", "extractor_file_reads", "recorded_bank", "saved_reads",
           "studio_code_extractor"]  # fmt: skip

KIND = "dhnerf_code_extractor"


# the studio frame's window over the eyes and mouth (top, left, bottom, right), fractions of
# the frame, with room for the head's motion; C_ex reads it (``CodeExtractor.crop``)
STUDIO_CROP = (0.25, 0.2, 0.65, 0.8)


def studio_code_extractor(
    path: str | None = None,
    identities: int = 16,
    expressions: int = 3,
    lights: int = 8,
    render_size: int = 128,
    steps: int = 300,
    num_negatives: int = 10,
    seed: int = 0,
    poses: int = 16,
    grid: bool = True,
    crop=STUDIO_CROP,
    crop_codes=("ex",),
    invariance: float = 0.0,
    tau: float = 0.5,
    hardness: float = 0.0,
    relative=(),
    expression_steps: int = 0,
    expression_weight: float = 0.0,
    shift: float = 0.0,
    light_steps: int = 0,
    light_weight: float = 0.0,
    threads: int | None = 2,
    progress: bool = True,
    **dims,
) -> CodeExtractor:
    """The extractor in ``path`` when it exists (its sizes must match ``dims``), else one
    pre-trained on studio identities 1..identities x expressions x lights rendered at
    ``render_size`` px (identity 0, the studio's evaluation identity, is left out), saved to
    ``path`` when given. poses, grid: the bank's head poses and expression grid
    (:func:`~lokitalk_plugins.data.studio.factors.factor_bank`; with ``grid`` there are
    expressions**3 expressions). crop, crop_codes: the window of the frame (``STUDIO_CROP``:
    the studio's eyes and mouth) and the codes that read it (C_ex) instead of the whole
    frame; None: every code reads the whole frame. dims: the other ``CodeExtractor``
    keywords (id_dim, ex_dim, al_dim, ill_dim, size, width). tau, invariance, hardness:
    :func:`~.extractor.pretrain_extractor`'s (InfoNCE's temperature; the weight of each code's
    ``pair_alignment``, 0: off, as measured best; β of the hard-negative draw, 0: uniform).
    expression_steps, expression_weight: steps regressing C̄_ex's first three numbers on
    the bank's expression parameters before the contrastive steps, and that fit's weight
    during them (:func:`~.extractor.pretrain_extractor`; 0, 0: the pairs alone).
    light_steps, light_weight: the same for C̄_ill's first four numbers and the bank's light
    (direction, intensity), in the same steps as the expression fit (0, 0: the pairs alone).
    relative: the codes read relative to the person (``CodeExtractor``'s; ("ex",): C_ex, its
    mean over each identity's images subtracted in pre-training and over the clip's frames
    at use). shift: each pre-training step moves every bank image by up to that fraction of
    its side each way (:func:`~.extractor.pretrain_extractor`'s; 0: as rendered). threads: the
    intra-op threads the bank's rendering and the pre-training run on (the process's count
    restored after; recorded in the file with the processor's model): the same seed gives the
    same weights only at the same count on the same kind of processor, so it is fixed, 2 by
    default (what every committed table pre-trained with); None: the process's count (faster
    on a larger machine, other weights). progress: a
    bar with an ETA for the pre-training (not for a file read). A saved
    extractor must match its codes, size, crop, crop_codes and relative (a file from before
    relative existed reads every code as is); a file from before crop existed is read as it
    was built (whole frames), with one warning. The defaults are the setting
    ``benchmarks/dhnerf_extractor_probe.py`` chose."""
    side = "in [0, 0.5), a fraction of the image side"
    checks = {">= 0": lambda x: x >= 0, "> 0": lambda x: x > 0, side: lambda x: 0 <= x < 0.5}
    for name, value, wanted in (("invariance", invariance, ">= 0"), ("tau", tau, "> 0"),
                                ("hardness", hardness, ">= 0"),
                                ("expression_steps", expression_steps, ">= 0"),
                                ("expression_weight", expression_weight, ">= 0"),
                                ("light_steps", light_steps, ">= 0"),
                                ("light_weight", light_weight, ">= 0"),
                                ("shift", shift, side)):  # fmt: skip
        try:
            number = float(value)
        except (TypeError, ValueError):  # not a number: refused below (NaN fails every test)
            number = float("nan")
        if not checks[wanted](number):
            raise UserError(f"studio_code_extractor.{name} = {value!r}: give a number {wanted}")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                or threads < 1):  # fmt: skip
        raise UserError(f"studio_code_extractor.threads = {threads!r}: give a whole number >= 1, "
                        "or None for the process's count")  # fmt: skip
    dims = dict(dims, crop=crop, crop_codes=crop_codes, relative=relative)
    bank_record = extractor_bank(
        identities=identities, expressions=expressions, lights=lights,
        render_size=render_size, poses=poses, grid=grid, steps=steps,
        num_negatives=num_negatives, seed=seed, tau=tau, invariance=invariance,
        hardness=hardness, relative=relative, expression_steps=expression_steps,
        expression_weight=expression_weight, shift=shift, light_steps=light_steps,
        light_weight=light_weight,
    )  # fmt: skip
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
        saved = saved_reads(state)
        if saved is None:  # before the window (as every workspace trained then): read as built
            if extractor.crop is not None:
                said = "every code from the whole frame"
                warnings.warn(f"{path}: written before studio_code_extractor.crop existed; read "
                              f"as built, {said}", stacklevel=2)  # fmt: skip
                extractor = CodeExtractor(**dict(dims, crop=None))  # weights come from the file
            saved = dict(_reads(extractor), size=state.get("size", extractor.size), relative=[])
        if "relative" not in state and extractor.relative:  # before relative: read as built
            warnings.warn(f"{path}: written before studio_code_extractor.relative existed; "
                          "read as built, every code as is", stacklevel=2)  # fmt: skip
            with torch.random.fork_rng():  # weights come from the file; keep the caller's RNG
                extractor = CodeExtractor(**dict(dims, crop=extractor.crop, relative=()))
        reads = _reads(extractor)
        if saved != reads:
            raise UserError(
                f"{path}: built to read {_said(saved)}, not {_said(reads)}; give another "
                "path, or set studio_code_extractor.crop, crop_codes, relative and size to those "
                "it was built with"
            )
        extractor.load_state_dict(state["state_dict"])
        return extractor.eval()
    ids = list(range(1, int(identities) + 1))
    with torch_threads(threads) as used:
        bank = factor_bank(ids, expressions, lights, size=render_size, seed=seed, poses=poses,
                           grid=grid)  # fmt: skip
        history = pretrain_extractor(extractor, bank, steps, num_negatives=num_negatives,
                                     tau=tau, seed=seed, invariance=invariance,
                                     hardness=hardness, expression_steps=int(expression_steps),
                                     expression_weight=float(expression_weight),
                                     shift=float(shift), light_steps=int(light_steps),
                                     light_weight=float(light_weight),
                                     progress=progress and "code extractor")  # fmt: skip
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        torch.save({"kind": KIND, "dims": extractor.dims, **_reads(extractor),
                    "bank": bank_record, "threads": used, "cpu": cpu_model(),
                    "history": history,
                    "state_dict": extractor.state_dict()}, path)  # fmt: skip
    return extractor.eval()


# what a saved extractor records of its pre-training (``extractor_bank``): the bank and the recipe
BANK_KEYS = ("identities", "expressions", "lights", "render_size", "poses", "grid", "steps",
             "num_negatives", "seed", "tau", "invariance", "hardness", "relative",
             "expression_steps", "expression_weight", "shift", "light_steps",
             "light_weight")  # fmt: skip
# keys the record gained later, with the value every file written before them was trained with
BANK_KEYS_SINCE = {"hardness": 0.0, "relative": [], "expression_steps": 0,
                   "expression_weight": 0.0, "shift": 0.0, "light_steps": 0,
                   "light_weight": 0.0}  # fmt: skip


def extractor_bank(**kwargs) -> dict:
    """The pre-training record ``studio_code_extractor(**kwargs)`` would write (``BANK_KEYS``,
    its defaults where ``kwargs`` names none; other keywords are ignored): a cache can be
    compared with what would be trained now. Reading a file never checks it: an extractor
    is used as trained, whatever bank it saw."""
    bound = inspect.signature(studio_code_extractor).bind_partial(
        **{k: v for k, v in kwargs.items() if k in BANK_KEYS}
    )
    bound.apply_defaults()
    a = bound.arguments
    kinds = {"grid": bool, "tau": float, "invariance": float, "hardness": float,
             "relative": lambda v: list(code_names(v, "relative")),
             "expression_weight": float, "shift": float, "light_weight": float}  # fmt: skip
    return {k: kinds.get(k, int)(a[k]) for k in BANK_KEYS}


def _reads(extractor: CodeExtractor) -> dict:
    """What an extractor reads, as its file records it: the image size, the crop window, the
    codes that read it (files without these keys read whole images) and the codes read
    relative to the person (files without the key: none)."""
    crop = None if extractor.crop is None else list(extractor.crop)
    return {"size": extractor.size, "crop": crop, "crop_codes": list(extractor.crop_codes),
            "relative": list(extractor.relative)}  # fmt: skip


def _said(reads: dict) -> str:
    rel = reads.get("relative") or []
    said = f", {'/'.join(rel)} relative to the person" if rel else ""
    if reads["crop"] is None:
        return f"whole images at {reads['size']} px{said}"
    window = ", ".join(f"{v:g}" for v in reads["crop"])
    return f"crop ({window}) for {'/'.join(reads['crop_codes'])} at {reads['size']} px{said}"


def saved_reads(state: dict) -> dict | None:
    """What an extractor file's ``state`` (``torch.load`` of it) records it reads (``_reads``'s
    keys; a file from before ``relative`` reads every code as is: []), or None for a file
    written before the window existed (5f3da90: whole frames)."""
    if "crop" not in state:
        return None
    reads = {k: state.get(k) for k in ("size", "crop", "crop_codes")}
    return dict(reads, relative=list(state.get("relative", [])))


def extractor_file_bank(path) -> dict | None:
    """The bank and recipe the extractor file at ``path`` was pre-trained with
    (``BANK_KEYS``), or None for a file written before they were recorded; a key the record
    gained later (``BANK_KEYS_SINCE``) reads as what the file was trained with."""
    return recorded_bank(torch.load(path, map_location="cpu", weights_only=True))


def recorded_bank(state: dict) -> dict | None:
    """The bank record of an extractor file's ``state``, with the keys it predates
    (``BANK_KEYS_SINCE``) at the value it was trained with; None when it records none."""
    bank = state.get("bank")
    return None if bank is None else {**BANK_KEYS_SINCE, **bank}


def extractor_file_machine(path) -> dict:
    """{"threads": the intra-op threads, "cpu": the processor's model} the extractor file at
    ``path`` was pre-trained on, each None where the file predates its record (pre-trained
    at the process's count)."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    return {"threads": state.get("threads"), "cpu": state.get("cpu")}


def extractor_file_reads(path) -> dict | None:
    """``saved_reads`` of the extractor file at ``path``."""
    return saved_reads(torch.load(path, map_location="cpu", weights_only=True))
