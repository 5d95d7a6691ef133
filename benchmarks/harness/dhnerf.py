"""The Disentangling Head NeRF's tables on the studio (with its lighting option on, so that
illumination is a cause of its own): the methods of Table 1 and Table 2 as gin files +
bindings, the shared assets (the code extractor, the lip-sync module), and the
disentanglement probes (linear maps from each learned code to the studio's true factors).

Table 1: RAD-NeRF, ER-NeRF, LokiTalk (RSDF on ER-NeRF with its loss, no ID-AKT pre-training)
and the DH-NeRF, head stage only, same identity, steps, rays and seed. Table 2: the full
DH-NeRF, without the lip-sync module (no F_lip input), without the disentangling loss
(λ_dis 0). Every DH-NeRF row trains with the velocity loss (configs/velocity.gin), as eq. 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .experiments import gin_method, run_bindings

__all__ = [
    "ABLATIONS",
    "ABLATION_CLAIMS",
    "OWN_AUDIO",
    "PAPER1",
    "PAPER2",
    "assets",
    "check_extractor_file",
    "probed",
    "lit_studio",
    "probe_codes",
    "table1_methods",
    "table2_methods",
]

# the paper's tables (PSNR, SSIM, FID, Sync score, LMD), on its real test videos
PAPER1 = {
    "Wav2lip": (29.03, 0.849, 70.938, 7.329, 3.875),
    "LSP": (29.37, 0.917, 33.961, 5.039, 4.268),
    "AD-NeRF": (29.97, 0.919, 33.281, 4.579, 4.266),
    "Geneface": (30.14, 0.934, 29.286, 5.346, 3.571),
    "Ours": (30.16, 0.937, 30.294, 5.236, 3.559),
}
PAPER2 = {
    "full model": (30.16, 0.937, 30.294, 5.236, 3.559),
    "w/o lip-sync module": (29.58, 0.916, 34.562, 4.593, 4.245),
    "w/o disentangling loss": (29.31, 0.904, 35.732, 4.682, 3.958),
}
# dhnerf-table2 --ablations: rows that isolate why the lip-sync module costs the DH-NeRF PSNR
# (the ledger's dh_lip_psnr; harness.table2.ablation_methods builds them): row name -> (the row
# it changes, the gin file added after the row's own, under benchmarks/gin-configs, what it
# isolates)
OWN_AUDIO = "full model, F_lip from its own audio network"
ABLATIONS = {
    OWN_AUDIO: (
        "full model", "dhnerf/ablations/own_audio",
        "F_lip from the model's own audio network, trained with the field, instead of the "
        "frozen lip-sync module's audio branch"),
    "full model, occupancy from 8 frames' audio": (
        "full model", "dhnerf/ablations/refresh_frames",
        "each occupancy refresh under 8 training frames' F_lip instead of one frame's"),
    "full model, occupancy under the frames' own codes too": (
        "full model", "dhnerf/ablations/refresh_codes",
        "each occupancy refresh under the drawn training frame's own codes as well as the "
        "test-time code (the larger density; GridUpkeep.codes 'both') instead of the "
        "test-time code alone"),
    "full model, C_ex weights at default init": (
        "full model", "dhnerf/ablations/ex_init_default",
        "C_ex's weights in D_θ's first layer at PyTorch's default initialisation (the field "
        "reads every frame's C_ex through random weights from the first step) instead of at "
        "zero (DHNeRF.ex_init, 'zero' by default)"),
    "full model, half the steps driven by audio": (
        "full model", "dhnerf/ablations/audio_share",
        "half of the training steps render the frame with its expression from its audio "
        "(C_ex* = E(F_lip), as at test time; DHNeRF.audio_share 0.5) instead of every step "
        "with the frame's own C_ex"),
    "w/o lip-sync module, half the steps driven by audio": (
        "w/o lip-sync module", "dhnerf/ablations/audio_share",
        "the same change on the row without the lip-sync module (its C_ex* = E(F_lip) reads "
        "the model's own audio network), so the lip-sync module's cost can be read with it"),
    "full model, half the steps under the mean light": (
        "full model", "dhnerf/ablations/light_share",
        "half of the training steps render the frame under the training frames' mean C_ill "
        "(detached; DHNeRF.light_share 0.5), the light every val frame is rendered with, "
        "instead of every step under the frame's own C_ill"),
    "full model, w/o velocity loss": (
        "full model", "dhnerf/ablations/no_velocity",
        "no velocity loss (eq. 7; velocity_loss.weight 0: the step still renders the frame "
        "and its neighbour at the same pixels, with the colour loss on both) instead of "
        "λ_v 10"),
    "w/o lip-sync module, w/o velocity loss": (
        "w/o lip-sync module", "dhnerf/ablations/no_velocity",
        "the same change on the row without the lip-sync module, so the module's cost can be "
        "read without the velocity loss"),
    "full model, velocity loss at λ_v 3": (
        "full model", "dhnerf/ablations/velocity_3",
        "the velocity loss at λ_v 3 instead of the paper's 10 (between the rows without it and "
        "the table's): whether a weaker term keeps the sync it gives without its PSNR cost"),
    "w/o lip-sync module, velocity loss at λ_v 3": (
        "w/o lip-sync module", "dhnerf/ablations/velocity_3",
        "the same change on the row without the lip-sync module, whose sync the velocity loss "
        "carries (0.40 at offset +15 without it)"),
    "full model, bf16 after the first quarter": (
        "full model", "dhnerf/ablations/bf16_start",
        "float32 for the first quarter of each stage's steps and bfloat16 autocast after "
        "(configs/bf16.gin) instead of float32 throughout: whether the CPU's bf16 schedule "
        "holds on the DH-NeRF (issue 18)"),
    "full model, the frame's background under the head": (
        "full model", "dhnerf/ablations/frame_head_background",
        "in training, the head's pixels composited over the frame's background "
        "(TalkingHeadSystem.head_background 'frame', the originals' and the default before "
        "the recipe switch) instead of a random colour each step"),
    "w/o lip-sync module, the frame's background under the head": (
        "w/o lip-sync module", "dhnerf/ablations/frame_head_background",
        "the same change on the row without the lip-sync module"),
    "w/o disentangling loss, the frame's background under the head": (
        "w/o disentangling loss", "dhnerf/ablations/frame_head_background",
        "the same change on the row without the disentangling loss, so Table 2's three rows "
        "can be read under it"),
    "full model, F_lip weights at default init": (
        "full model", "dhnerf/ablations/lip_default_init",
        "F_lip's weights in D_θ's first layer at PyTorch's default initialisation (read from "
        "the first step) instead of at zero"),
}  # fmt: skip
ABLATION_CLAIMS = {"dhnerf/ablations/own_audio": ["dh_lip_psnr"],
                   "dhnerf/ablations/refresh_frames": ["dh_lip_psnr"],
                   "dhnerf/ablations/lip_default_init": ["dh_lip_psnr"],
                   "dhnerf/ablations/refresh_codes": [],
                   "dhnerf/ablations/audio_share": ["dh_lip_psnr"],
                   "dhnerf/ablations/light_share": [],
                   "dhnerf/ablations/no_velocity": ["dh_lip_psnr"],
                   "dhnerf/ablations/velocity_3": ["dh_lip_psnr"],
                   "dhnerf/ablations/bf16_start": [],
                   "dhnerf/ablations/frame_head_background": ["dh_lip_psnr",
                                                               "dh_dis_psnr"],
                   "dhnerf/ablations/ex_init_default": []}  # fmt: skip
EXTRACTOR_STEPS = {"micro": 40, "quick": 200, "default": 300, "full": 300}
# the micro profile (a check, not a result) pre-trains on a smaller bank: 4 identities at 32 px
# in 4 poses under 4 lights instead of studio_code_extractor's 16 at 128 px in 16 under 8 (the
# same crop and codes; 4 identities are the fewest whose C_id anchors have N = 10 negatives:
# 3 other people x 4 lights)
EXTRACTOR_BANK = {"micro": {"identities": 4, "render_size": 32, "poses": 4, "lights": 4}}
# the recipe configs/dhnerf.gin binds (C_ex relative to the person, the expression fit before
# and during the pairs, shifted bank images), its expression steps the profile's extractor
# steps; run.py --extractor '{"relative": [], "expression_steps": 0, "expression_weight": 0,
# "shift": 0}' pre-trains from the pairs alone, the default before the switch
EXTRACTOR_RECIPE = {"relative": ["ex"], "expression_weight": 10.0, "shift": 0.04}
# the pre-training record's keys a report's markdown names as the extractor's recipe (the
# rest is the bank: people, lights, poses, size)
RECIPE_KEYS = ("steps", "seed", "relative", "expression_steps", "expression_weight", "shift",
               "light_steps", "light_weight", "tau", "invariance", "hardness")  # fmt: skip
# CodeExtractor's keywords that decide how a saved extractor is read (checked when the rows'
# gin reads the file, which binds only its path and relative): not for --extractor
READ_KEYWORDS = ("size", "width", "crop", "crop_codes", "id_dim", "ex_dim", "al_dim", "ill_dim")
LIPSYNC_STEPS = {"micro": 30, "quick": 300, "default": 300, "full": 300}


def lit_studio(work: Path, prof: dict, lighting: bool = True) -> Path:
    """Studio identity 0 with the moving key light (written once, then reused); lighting
    False: without it (``run.py --studio-unlit``), the studio of tables 1-4 (``common.
    studio_identity``'s folder, shared with them)."""
    from lokitalk_plugins.data.studio import write_identity

    from .common import studio_identity

    if not lighting:
        return studio_identity(work, 0, prof["size"], prof["seconds"])
    folder = Path(work) / f"studio_lit_{prof['size']}px_{prof['seconds']:.0f}s" / "id000"
    if not (folder / "transforms_val.json").exists():
        write_identity(folder, identity=0, seconds=prof["seconds"], size=prof["size"], seed=0,
                       lighting=True)  # fmt: skip
    return folder


def assets(work: Path, profile: str, data: Path, extractor_kw: dict | None = None,
           tag: str = "") -> dict:  # fmt: skip
    """The code extractor (pre-trained once per profile on studio identities 1-16, 1-4 in the
    micro profile: ``studio_code_extractor``'s bank, ``EXTRACTOR_BANK``, with the recipe of
    ``configs/dhnerf.gin``, ``EXTRACTOR_RECIPE``; ``extractor_kw``:
    its keywords over those, ``run.py --extractor``, but none of ``READ_KEYWORDS``) and,
    when the clip is long enough for its N = 10 negatives, the lip-sync module trained on it
    (``dhnerf_lipsync_<profile><tag>.pt``: ``tag`` names the clip when it is not the lit
    studio's, "_unlit" for ``--studio-unlit``); ->
    {"extractor": path, "lipsync": path or None, "notes": [...], "relative": the codes the
    extractor reads relative to the person, which the DH-NeRF rows read it with, "threads",
    "cpu": the thread count and processor it was pre-trained on (None: not recorded), "bank": its
    whole pre-training record (``extractor_bank``: every keyword, defaults included, so a
    report names the recipe it trained whatever the defaults later become)}."""
    from lokitalk_plugins.baselines.dhnerf import studio_code_extractor
    from lokitalk_plugins.baselines.dhnerf.pretrain import extractor_bank, extractor_file_machine
    from lokitalk_plugins.errors import UserError
    from lokitalk_plugins.train.lipsync import train_lipsync

    work.mkdir(parents=True, exist_ok=True)
    extractor = work / f"dhnerf_extractor_{profile}.pt"
    kw = dict(extractor_kw or {})
    bank = {
        "steps": EXTRACTOR_STEPS[profile],
        **EXTRACTOR_BANK.get(profile, {}),
        **EXTRACTOR_RECIPE,
        "expression_steps": EXTRACTOR_STEPS[profile],
        **kw,
    }
    if "path" in kw:
        raise SystemExit("error: --extractor: the tables keep the extractor in --work; leave "
                         "out 'path'")  # fmt: skip
    read = sorted(set(kw) & set(READ_KEYWORDS))
    if read:
        raise SystemExit(f"error: --extractor: {', '.join(read)} would change how the DH-NeRF "
                         "rows read the extractor (their gin sets only its path and relative); "
                         "leave it out")  # fmt: skip
    try:
        record = extractor_bank(**bank)
        check_extractor_file(extractor, record, _threads(bank))
        studio_code_extractor(path=str(extractor), **bank)
    except (TypeError, ValueError, UserError) as e:
        raise SystemExit(f"error: --extractor {json.dumps(kw)}: {e}") from None
    lipsync, notes = work / f"dhnerf_lipsync_{profile}{tag}.pt", []
    if not lipsync.exists():
        try:
            train_lipsync(data, lipsync, steps=LIPSYNC_STEPS[profile], progress=False)
        except ValueError as e:  # a clip too short for the module's negatives
            notes.append(f"lip-sync module not trained ({e}); F_lip: the model's audio network")
            lipsync = None
    return {"extractor": str(extractor), "lipsync": lipsync and str(lipsync), "notes": notes,
            "relative": record["relative"], "bank": record,
            **extractor_file_machine(extractor)}  # fmt: skip


def _threads(bank: dict) -> int | None:
    """The intra-op threads ``studio_code_extractor(**bank)`` pre-trains on (its default
    when ``bank`` names none; None given: the process's count); None where the value is not a
    count (the pre-training refuses it in one line)."""
    import inspect

    import torch

    from lokitalk_plugins.baselines.dhnerf import studio_code_extractor

    default = inspect.signature(studio_code_extractor).parameters["threads"].default
    threads = bank.get("threads", default)
    if threads is None:
        return torch.get_num_threads()
    return threads if isinstance(threads, int) and not isinstance(threads, bool) else None


def check_extractor_file(path: Path, bank: dict | None = None,
                         threads: int | None = None) -> None:  # fmt: skip
    """Refuse a cached extractor the package would read while the tables report today's
    setting: one from before the window existed (5f3da90; read as built, from whole frames),
    or, given ``bank`` (``extractor_bank`` of what the tables pre-train now), one pre-trained
    on another bank or recipe, or without its bank recorded (files from before the record;
    the package reads any file as trained), or, given ``threads``, one that records another
    thread count (a file from before the record is taken as it is). Nothing is deleted:
    the user decides."""
    import torch

    from lokitalk_plugins.baselines.dhnerf.pretrain import recorded_bank, saved_reads

    if not path.exists():
        return
    state = torch.load(path, map_location="cpu", weights_only=True)  # read once for both checks
    if saved_reads(state) is None:
        raise SystemExit(
            f"error: {path}: a code extractor from before 5f3da90 (whole frames; the tables' "
            "now reads the eyes-and-mouth window): delete it to pre-train today's, or give "
            "another --work"
        )
    recorded = state.get("threads")
    if threads is not None and recorded is not None and recorded != threads:
        raise SystemExit(f"error: {path}: a code extractor pre-trained with threads {recorded} "
                         f"(now {threads}; the same seed gives other weights): delete it to "
                         "pre-train today's, or give another --work")  # fmt: skip
    saved = recorded_bank(state)
    if bank is None or saved == bank:
        return
    if saved is None:
        raise SystemExit(
            f"error: {path}: a code extractor whose pre-training bank is not recorded (the "
            "tables may now pre-train on another): delete it to pre-train today's, or give "
            "another --work"
        )
    differ = ", ".join(f"{k} {saved.get(k)!r} (now {bank[k]!r})" for k in bank
                       if saved.get(k) != bank[k])  # fmt: skip
    raise SystemExit(f"error: {path}: a code extractor pre-trained with {differ}: delete it to "
                     "pre-train today's, or give another --work")  # fmt: skip


def _dhnerf(name: str, profile: str, a: dict, ablation: str | None) -> dict:
    """A DH-NeRF row: ``dhnerf/dhnerf.gin`` (with the velocity loss), the budget and the
    profile's, the lip-sync module when the harness trained one, the row's ablation file."""
    files = ["dhnerf/lipsync"] if a["lipsync"] else []
    files += [ablation] if ablation else []
    m = gin_method(name, "dhnerf/dhnerf", "dhnerf/budget", "profiles/" + profile, *files,
                   dhnerf=True)  # fmt: skip
    binds = run_bindings(code_extractor=a["extractor"], lipsync=a["lipsync"],
                         extractor_relative=a.get("relative", ()))  # fmt: skip
    return dict(m, bindings=binds)


def probed(methods: list[dict]) -> list[bool]:
    """Which methods are DH-NeRF rows, whose learned codes the probes read (the rows
    :func:`_dhnerf` builds, flagged ``dhnerf``)."""
    return [bool(m.get("dhnerf")) for m in methods]


# the head stage only: every row is scored over the studio's torso image (the head alone,
# as GDRF's tables do), not over bc.jpg, where the untrained torso would be the error
VAL_BACKGROUND = "torso"


def table1_methods(profile: str, a: dict) -> list[dict]:
    shared = ("dhnerf/budget", "profiles/" + profile)
    rows = [
        gin_method("RAD-NeRF", "dhnerf/rad_nerf", *shared),
        gin_method("ER-NeRF", "dhnerf/er_nerf", *shared),
        gin_method("LokiTalk (RSDF)", "dhnerf/lokitalk_rsdf", *shared),
        _dhnerf("DH-NeRF", profile, a, None),
    ]
    return [dict(m, val_background=VAL_BACKGROUND) for m in rows]


def table2_methods(profile: str, a: dict) -> list[dict]:
    rows = [
        _dhnerf("full model", profile, a, None),
        _dhnerf("w/o lip-sync module", profile, a, "dhnerf/no_lip_sync"),
        _dhnerf("w/o disentangling loss", profile, a, "dhnerf/no_dis"),
    ]
    return [dict(m, val_background=VAL_BACKGROUND) for m in rows]


def __getattr__(name: str):
    """``r2_probe`` and ``held_out_r2`` (``lokitalk_plugins.metrics.probe``), imported when
    first asked for: importing the harness stays free of torch."""
    if name in ("r2_probe", "held_out_r2"):
        from lokitalk_plugins.metrics import probe

        return getattr(probe, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def probe_codes(codes: dict, truth, img_ids: np.ndarray, held_out: float = 0.3) -> dict:
    """R² of each code -> expression (jaw, lip width, eye closure) and -> light (direction,
    intensity), fitted on the first training frames and measured on the last ``held_out`` of
    them: one block, so that no held-out frame has a fitted neighbour (interleaved frames let
    any code that drifts smoothly with time "predict" the slow light track; on a 1 s micro
    clip the block has too little spread for R² to mean anything).
    codes: name -> [F, d] of the training frames img_ids [F]. A clip without a light track
    (the studio without its moving key light) has no light to read: its light R² are None."""
    expr = np.stack([truth.jaw, truth.lip_width, truth.eye_closure], 1)[img_ids]
    lit = getattr(truth, "light_dir", None) is not None
    light = (np.concatenate([truth.light_dir, truth.light_intensity[:, None]], 1)[img_ids]
             if lit else None)  # fmt: skip
    fit = np.arange(len(img_ids)) < int(round(len(img_ids) * (1 - held_out)))
    from lokitalk_plugins.metrics.probe import r2_probe

    return {k: {"expression": r2_probe(c, expr, fit),
                "light": r2_probe(c, light, fit) if lit else None}
            for k, c in codes.items()}  # fmt: skip
