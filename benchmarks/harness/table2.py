"""LokiTalk Table 2 on the studio: the backbone (O), one joint deformation field (O+D) and the
Region-Specific Deformation Fields (O+D+R), same identity, data, steps and seed.

All three train the same way (``configs/lokitalk_loss.gin``): frames over ``bc.jpg`` with the
torso in the 3D field, head then lips stages, region-weighted colour, LPIPS in the last 20%
(where its weights exist). Then, in this process and one method after the other: rendering
speed (the plug-ins' overhead as a ratio to O), and the heat maps of Σ||Δx_face||,
Σ||Δx_torso|| (Fig. 5) and the attention scores, averaged over val frames.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .common import cell, fmt
from .experiments import config, gin_method, run_bindings
from .measures import (
    SYNC_HEADER,
    fig5_lines,
    lmd_note,
    max_offset_text,
    reference_lines,
    row_sync_cell,
)
from .motion_prior import f_a_note
from .plots import bar_chart, frame_strip, training_curves
from .seeds import seeds_note
from .workers import FIT_FRAMES

__all__ = [
    "LSTM_ROW",
    "METRICS",
    "PAPER",
    "build_methods",
    "lstm_method",
    "lstm_path",
    "lstm_task",
    "frames_side_by_side",
    "heat_maps",
    "markdown",
    "plots",
    "render_speed",
]

# the paper's Table 2 (PSNR, LPIPS, LMD, Sync)
PAPER = {
    "O+D+R": (30.464, 0.051, 3.132, 5.423),
    "O+D": (29.203, 0.055, 3.299, 4.728),
    "O": (28.125, 0.074, 3.592, 3.410),
}
# each row's gin file under benchmarks/gin-configs/table2/<backbone>/
SETTINGS = {"O": "o", "O+D": "o_d", "O+D+R": "o_d_r"}
# what each row reports from its evaluation (issue14b's columns join here)
METRICS = ("psnr", "fit_psnr", "psnr_head", "psnr_torso", "psnr_bg", "ssim", "lpips", "lmd",
           "lmd_eyes", "mouth_error", "eye_error", "lip_sync", "size_mb")  # fmt: skip
# our ablation row, not in the paper: O+D+R with GDRF's audio-to-expression LSTM as RSDF's F_a
LSTM_ROW = "O+D+R, F_a = LSTM"
# --ablations: rows that isolate a cause of a missed claim (benchmarks/claims reads ``ablation``),
# trained for seed 0 only unless --ablation-seeds says otherwise (:func:`ablation_seeds`):
# row name -> (the row it changes, the gin file added after the row's
# own, under benchmarks/gin-configs, what it isolates)
CAP = "the cap of occupied samples a ray, 16 -> 32, in training and at inference"
UNCAPPED = ("no cap of occupied samples a ray (16 -> none), in training and at inference: "
            "does the head's pose-dependent deformation make up for rays cut short")  # fmt: skip
CAP_BF16 = ("32 samples a ray and bf16 autocast in training together (float32 weights, optimiser "
            "state and grid tables)")  # fmt: skip
FOLLOW_CAP = ("the cap of occupied samples a ray follows the rays it cuts short "
              "(configs/sample_cap.gin with SampleCap.limit = 64: from 16, +16 while a "
              "200-step window's cut_short is above 0.1, up to 64), in training and at "
              "inference")  # fmt: skip
FOLLOW_CAP_32 = ("the cap of occupied samples a ray follows the rays it cuts short up to 32 "
                 "(configs/sample_cap.gin, SampleCap.limit = 32: 16 -> 32 once a 200-step "
                 "window's cut_short is above 0.1), in training and at inference")  # fmt: skip
COARSE = "the deformation field's hash grid up to 64 cells a side instead of 256"
AUDIO = "the backbone's own audio and eye path kept beside the deformation (no static canonical)"
FROZEN = ("the deformation field never trains (wrap.train_deformation = False): the static "
          "canonical field alone, neither audio nor eye nor a deformation")  # fmt: skip
ENTROPY = ("the alpha-entropy term 100x stronger (λ_α 1e-4 -> 1e-2, "
           "TalkingHeadSystem.entropy_weight): each ray's alpha pushed to 0 or 1")  # fmt: skip
BF16 = "bf16 autocast in training (float32 weights, optimiser state and grid tables)"
BF16_BACKBONE = ("bf16 autocast in training for the backbone only, the deformation field in "
                 "float32 (wrap.plugins_float32)")  # fmt: skip
TORSO_2D = ("the torso out of the head's 3D field: the originals' head box and a 2D torso "
            "field on the head pose, trained in a third stage")  # fmt: skip
REGION_LOSSES = "the region losses' weights, λ_Δ 1e-5 -> 1e-2 and λ_att 1e-4 -> 1e-3"
CAP_REGION = ("32 samples a ray and the region losses' weights, λ_Δ 1e-5 -> 1e-2 and λ_att "
              "1e-4 -> 1e-3, together: does L_Δ remove the torso field's static offset on the "
              "head once the cap no longer makes the field reach it")  # fmt: skip
CAP_DELTA_ONLY = ("32 samples a ray with λ_Δ 1e-5 -> 1e-2 alone (λ_att stays 1e-4): the "
                  "torso field's static offset, the lips' attention left on the chin")  # fmt: skip
CAP_DELTA = ("32 samples a ray with λ_Δ 1e-5 -> 1e-1 and λ_att 1e-4 -> 1e-3 (a dose point "
             "above 1e-2)")  # fmt: skip
F_A_BACKBONE = ("RSDF's F_a from the backbone's own audio feature instead of the Audio2Motion "
                "prior mean")  # fmt: skip
EYE_AU45 = ("the eye value from AU45 (0 open .. 1 closed, ER-NeRF's source) instead of the "
            "landmarks' aspect ratio (about 0.6 open on the studio, 0 closed)")  # fmt: skip
EYE_WEIGHT = "the eyes' colour weight (eq. 6), 2 -> 50 (the eyes' share of the colour loss)"
EYE_WEIGHT_10 = "the eyes' colour weight (eq. 6), 2 -> 10 (a dose point below 50x)"
NO_CASCADE = ("the torso field without the cascade: zeros in place of Δx_face at its input "
              "(eq. 4 feeds it Δx_face)")  # fmt: skip
POSE_NORM = ("the torso field fed the head pose standardised by the training frames' mean and "
             "std (RSDF.pose_norm) instead of as given")  # fmt: skip
UNDEFORMED = ("the occupancy refresh at each cell's undeformed point (the old rule) instead of "
              "the canonical density at its deformed point")  # fmt: skip
FAST_UPKEEP = (
    "the occupancy refresh of configs/fast_upkeep.gin (lattice jitter, bfloat16 density "
    "where the CPU has it, occupied cells and neighbours plus a random quarter, every "
    "32 steps) instead of the tables' (every 16 steps, a random quarter of all cells)"
)
FAST_UPKEEP_16 = (
    "configs/fast_upkeep.gin's refresh every 16 steps (lattice jitter, bfloat16 density where "
    "the CPU has it, occupied cells and neighbours plus a random quarter, none outside the "
    "ray-marching box) instead of the tables' (every 16 steps, a random quarter of all cells)"
)
FAST_UPKEEP_16_LATTICE = (
    "configs/fast_upkeep.gin's refresh every 16 steps, none outside the ray-marching box, with "
    "the deformed refresh on the lattice (RSDF read from 33^3 vertices, the canonical density "
    "at the lattice point of the cell a deformed point lands in) instead of the tables' "
    "(every 16 steps, a random quarter of all cells, RSDF and the density at each cell's point)"
)
BF16_DENSITY = (
    "bf16 autocast in training with the backbone's density output layer in float32 "
    "(TalkingHeadSystem.float32_layers)"
)
BF16_FINISH = (
    "bf16 autocast for the first 3/4 of each stage's steps, float32 for the last 1/4 "
    "(Trainer.amp_until 0.75: a precision schedule)"
)
BF16_START = (
    "float32 for the first 1/4 of each stage's steps, bf16 autocast for the last 3/4 "
    "(Trainer.amp_from 0.25: a precision schedule)"
)
HEAD_BACKGROUND = ("in training, a random colour each step under the rays whose pixel is head "
                   "(TalkingHeadSystem.head_background = 'random') instead of the frame's "
                   "background: whether a translucent face, which the studio's plain background "
                   "lets fit, costs the row PSNR")  # fmt: skip
BODY_BACKGROUND = ("in training, a random colour each step under the rays whose pixel is head, "
                   "neck or torso (TalkingHeadSystem.head_background = 'random_body') instead "
                   "of the frame's background: whether a translucent face or torso, which the "
                   "studio's plain background lets fit, costs the row PSNR")  # fmt: skip
UPKEEP_ONE = ("one setting of configs/fast_upkeep.gin alone in the tables' refresh (every 16 "
              "steps, a random quarter of all cells): ")  # fmt: skip
ABLATIONS = {
    "O, 32 samples a ray": ("O", "table2/ablations/samples_32", CAP),
    "O+D, 32 samples a ray": ("O+D", "table2/ablations/samples_32", CAP),
    "O+D+R, 32 samples a ray": ("O+D+R", "table2/ablations/samples_32", CAP),
    "O+D+R, no sample cap": ("O+D+R", "table2/ablations/samples_uncapped", UNCAPPED),
    "O, cap follows cut_short": ("O", "table2/ablations/sample_cap", FOLLOW_CAP),
    "O+D, cap follows cut_short": ("O+D", "table2/ablations/sample_cap", FOLLOW_CAP),
    "O+D+R, cap follows cut_short": ("O+D+R", "table2/ablations/sample_cap", FOLLOW_CAP),
    "O+D, cap follows cut_short up to 32": ("O+D", "table2/ablations/sample_cap_32",
                                            FOLLOW_CAP_32),
    "O+D+R, cap follows cut_short up to 32": ("O+D+R", "table2/ablations/sample_cap_32",
                                              FOLLOW_CAP_32),
    "O+D, deformation grid to 64": ("O+D", "table2/ablations/coarse_deformation", COARSE),
    "O+D, backbone keeps its audio": ("O+D", "table2/ablations/backbone_audio", AUDIO),
    "O+D+R, backbone keeps its audio": ("O+D+R", "table2/ablations/backbone_audio", AUDIO),
    "O+D, deformation frozen": ("O+D", "table2/ablations/deformation_frozen", FROZEN),
    "O, alpha entropy 1e-2": ("O", "table2/ablations/alpha_entropy", ENTROPY),
    "O+D, alpha entropy 1e-2": ("O+D", "table2/ablations/alpha_entropy", ENTROPY),
    "O+D+R, alpha entropy 1e-2": ("O+D+R", "table2/ablations/alpha_entropy", ENTROPY),
    "O, bf16": ("O", "table2/ablations/bf16", BF16),
    "O+D+R, bf16": ("O+D+R", "table2/ablations/bf16", BF16),
    "O+D+R, bf16 backbone": ("O+D+R", "table2/ablations/bf16_backbone", BF16_BACKBONE),
    "O+D+R, 32 samples a ray, bf16": ("O+D+R", "table2/ablations/samples_32_bf16", CAP_BF16),
    "O, torso as the originals train it": ("O", "table2/ablations/torso_2d", TORSO_2D),
    "O+D+R, strong region losses": ("O+D+R", "table2/ablations/region_losses", REGION_LOSSES),
    "O+D+R, 32 samples a ray, strong region losses": (
        "O+D+R",
        "table2/ablations/samples_32_region_losses",
        CAP_REGION,
    ),
    "O+D+R, 32 samples a ray, lambda_delta 1e-2": (
        "O+D+R",
        "table2/ablations/samples_32_delta_1e-2",
        CAP_DELTA_ONLY,
    ),
    "O+D+R, 32 samples a ray, lambda_delta 1e-1": (
        "O+D+R",
        "table2/ablations/samples_32_region_delta_1e-1",
        CAP_DELTA,
    ),
    "O+D, undeformed refresh": ("O+D", "table2/ablations/undeformed_refresh", UNDEFORMED),
    "O+D+R, undeformed refresh": ("O+D+R", "table2/ablations/undeformed_refresh", UNDEFORMED),
    "O+D+R, F_a from the backbone": ("O+D+R", "table2/ablations/f_a_backbone", F_A_BACKBONE),
    "O+D+R, eye value from AU45": ("O+D+R", "table2/ablations/eye_au45", EYE_AU45),
    "O+D+R, torso without the cascade": ("O+D+R", "table2/ablations/torso_no_cascade", NO_CASCADE),
    "O+D+R, head pose standardised": ("O+D+R", "table2/ablations/pose_norm", POSE_NORM),
    "O+D+R, eyes weighted 50x": ("O+D+R", "table2/ablations/eye_weight", EYE_WEIGHT),
    "O+D+R, eyes weighted 10x": ("O+D+R", "table2/ablations/eye_weight_10", EYE_WEIGHT_10),
    "O+D+R, fast upkeep": ("O+D+R", "table2/ablations/fast_upkeep", FAST_UPKEEP),
    "O+D+R, fast upkeep every 16": ("O+D+R", "table2/ablations/fast_upkeep_every16",
                                    FAST_UPKEEP_16),
    "O+D+R, fast upkeep every 16, deformed lattice": (
        "O+D+R",
        "table2/ablations/fast_upkeep_every16_lattice",
        FAST_UPKEEP_16_LATTICE,
    ),
    "O+D+R, bf16, density float32": (
        "O+D+R",
        "table2/ablations/bf16_density_float32",
        BF16_DENSITY,
    ),
    "O+D+R, bf16, float32 finish": (
        "O+D+R",
        "table2/ablations/bf16_float32_finish",
        BF16_FINISH,
    ),
    "O, float32 start, bf16": ("O", "table2/ablations/bf16_float32_start", BF16_START),
    "O+D, float32 start, bf16": ("O+D", "table2/ablations/bf16_float32_start", BF16_START),
    "O+D+R, float32 start, bf16": (
        "O+D+R",
        "table2/ablations/bf16_float32_start",
        BF16_START,
    ),
    "O+D+R, upkeep lattice": ("O+D+R", "table2/ablations/upkeep_lattice",
                              UPKEEP_ONE + "lattice jitter, one jitter per grid line"),
    "O+D+R, upkeep bf16": ("O+D+R", "table2/ablations/upkeep_bf16",
                           UPKEEP_ONE + "the refresh's density in bfloat16"),
    "O+D+R, upkeep sparse": ("O+D+R", "table2/ablations/upkeep_sparse",
                             UPKEEP_ONE + "the occupied cells and neighbours plus a random "
                             "quarter of the others"),
    "O+D+R, upkeep every 32": ("O+D+R", "table2/ablations/upkeep_every32",
                               UPKEEP_ONE + "a refresh every 32 steps, the decay per step kept"),
    "O, random background under the head": ("O", "table2/ablations/random_head_background",
                                            HEAD_BACKGROUND),
    "O+D, random background under the head": ("O+D", "table2/ablations/random_head_background",
                                              HEAD_BACKGROUND),
    "O+D+R, random background under the head": (
        "O+D+R", "table2/ablations/random_head_background", HEAD_BACKGROUND),
    "O, random background under head and torso": (
        "O", "table2/ablations/random_body_background", BODY_BACKGROUND),
    "O+D+R, random background under head and torso": (
        "O+D+R", "table2/ablations/random_body_background", BODY_BACKGROUND),
}  # fmt: skip
# which claims each ablation's gin file speaks to (none: a measurement for a default, not a
# cause of a missed claim)
ABLATION_CLAIMS = {"table2/ablations/samples_32": ["t2_target", "t2_d", "t2_r"],
                   "table2/ablations/sample_cap": ["t2_target", "t2_d", "t2_r"],
                   "table2/ablations/sample_cap_32": ["t2_target", "t2_d", "t2_r"],
                   "table2/ablations/samples_uncapped": ["fig5_dx_torso", "t2_r", "t2_target"],
                   "table2/ablations/coarse_deformation": ["t2_d"],
                   "table2/ablations/backbone_audio": ["t2_d", "t2_target"],
                   "table2/ablations/deformation_frozen": ["t2_d"],
                   "table2/ablations/alpha_entropy": ["t2_d", "t2_r", "t2_target"],
                   "table2/ablations/bf16": [],
                   "table2/ablations/bf16_backbone": [],
                   "table2/ablations/samples_32_bf16": [],
                   "table2/ablations/torso_2d": ["t2_d", "t2_target"],
                   "table2/ablations/region_losses": ["fig5_att_lip", "fig5_att_eye",
                                                      "fig5_dx_torso"],
                   "table2/ablations/samples_32_region_losses": ["fig5_att_lip", "fig5_att_eye",
                                                                 "fig5_dx_torso"],
                   "table2/ablations/samples_32_delta_1e-2": ["fig5_dx_torso"],
                   "table2/ablations/samples_32_region_delta_1e-1": ["fig5_dx_torso"],
                   "table2/ablations/undeformed_refresh": ["t2_d", "t2_r",
                                                           "t2_target"],
                   "table2/ablations/f_a_backbone": ["t2_r", "t2_target"],
                   "table2/ablations/eye_au45": ["fig5_att_eye"],
                   "table2/ablations/torso_no_cascade": ["fig5_dx_torso"],
                   "table2/ablations/pose_norm": ["fig5_dx_torso"],
                   "table2/ablations/eye_weight": ["fig5_att_eye"],
                   "table2/ablations/eye_weight_10": ["fig5_att_eye"],
                   "table2/ablations/fast_upkeep": [],
                   "table2/ablations/fast_upkeep_every16": [],
                   "table2/ablations/fast_upkeep_every16_lattice": [],
                   "table2/ablations/bf16_density_float32": [],
                   "table2/ablations/bf16_float32_finish": [],
                   "table2/ablations/bf16_float32_start": [],
                   "table2/ablations/upkeep_lattice": [],
                   "table2/ablations/upkeep_bf16": [],
                   "table2/ablations/upkeep_sparse": [],
                   "table2/ablations/upkeep_every32": [],
                   "table2/ablations/random_head_background": ["t2_d", "t2_r",
                                                               "t2_target"],
                   "table2/ablations/random_body_background": ["t2_r", "t2_target"]}  # fmt: skip


def ablation_methods(methods: list[dict], ablations: dict | None = None,
                     claims: dict | None = None) -> list[dict]:  # fmt: skip
    """The ``ablations`` rows (default: this table's :data:`ABLATIONS`, their claims from
    ``claims``, default :data:`ABLATION_CLAIMS`) built from their base rows in ``methods``
    (those present), each with the ``ablation`` record the claims ledger reads."""
    ablations = ABLATIONS if ablations is None else ablations
    claims = ABLATION_CLAIMS if claims is None else claims
    by_name, out = {m["name"]: m for m in methods}, []
    for name, (base, extra, isolates) in ablations.items():
        if base in by_name:
            m = by_name[base]
            record = {"claims": claims[extra], "isolates": isolates, "baseline": base}
            out.append(dict(m, name=name, configs=[*m["configs"], config(extra)], ablation=record))
    return out


def ablation_lines(report: dict) -> list[str]:
    """Markdown lines naming each ablation row of ``report``, what it isolates, its base row
    and the claims it speaks to (none without ablation rows)."""
    abl = [r for r in report["results"] if "ablation" in r]
    if not abl:
        return []
    return ["", "Ablation rows (`--ablations`; what each isolates, against its base row):", "",
            *(f"- {r['method']}: {r['ablation']['isolates']} (base row: "
              f"'{r['ablation']['baseline']}'; speaks to "
              f"{', '.join(r['ablation']['claims']) or 'no claim of the ledger'})"
              for r in abl)]  # fmt: skip


def seeded_rows(report: dict) -> str:
    """Which rows the seeds note speaks of: every row, or every row but the ablation rows
    trained with fewer seeds (named, with their count)."""
    n = len(report.get("seeds", [0]))
    fewer = {k: v for k, v in (report.get("ablation_seeds") or {}).items() if v != n}
    if not fewer:
        return "Every row"
    named = ", ".join(f"'{k}' ({'seed 0 only' if v == 1 else f'{v} seeds'})"
                      for k, v in fewer.items())  # fmt: skip
    return f"Every row but {named}"


def ablation_seeds(spec: list[str] | None, names: list[str]) -> dict[str, int]:
    """Seeds of each ablation row in ``names`` from ``--ablation-seeds``: a number for every
    row and/or ``'ROW=K'`` for one row (the later entry wins); 1 where nothing is said.
    Raises ValueError with the option's name for a malformed entry, an unknown row or K < 1."""
    counts = dict.fromkeys(names, 1)
    for item in spec or []:
        row, sep, k = item.rpartition("=")
        try:
            n = int(k)
        except ValueError:
            n = 0
        if n < 1:
            raise ValueError(f"--ablation-seeds: {item!r} is not a number of seeds >= 1 or "
                             "'ROW=K' (e.g. 3 or 'O+D, backbone keeps its audio=3')")  # fmt: skip
        if sep and row not in counts:
            raise ValueError(f"--ablation-seeds: no ablation row named {row!r} in this run; "
                             f"its ablation rows are {names}")  # fmt: skip
        counts.update({row: n} if sep else dict.fromkeys(names, n))
    return counts


def lstm_method(odr: dict, checkpoint: Path, backbone: str = "er_nerf") -> dict:
    """The O+D+R method with F_a from GDRF's LSTM ``checkpoint`` (``train_audio2exp`` on the
    table's folder), frozen: ``table2/<backbone>/o_d_r_lstm.gin`` in place of O+D+R's file."""
    configs = [config(f"table2/{backbone}/o_d_r_lstm"), *odr["configs"][1:]]
    return dict(odr, name=LSTM_ROW, configs=configs,
                bindings=[*odr["bindings"], *run_bindings(audio2exp=checkpoint)])  # fmt: skip


def lstm_path(data: Path, out: Path) -> Path | None:
    """Where GDRF's LSTM of ``data`` is cached (``out``, trained or not yet), or None when the
    folder has no ``track_params.pt`` (the row is then left out)."""
    return Path(out) if (Path(data) / "track_params.pt").is_file() else None


def lstm_task(data: Path, out: Path, steps: int) -> tuple | None:
    """The harness pool's task (:func:`~.workers.run_pool`) that trains GDRF's LSTM on
    ``data``'s train split to ``out``, or None when ``out`` is already there."""
    if Path(out).is_file():
        return None
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    return (f"training GDRF's LSTM on {data}", _train_lstm, (str(data), str(out), steps))


def _train_lstm(data: str, out: str, steps: int) -> None:
    from lokitalk_plugins.train.audio2exp import train_audio2exp

    train_audio2exp([data], out, steps=steps, progress=False)


def build_methods(backbone: str, profile: str, run: list[str], studio: bool) -> list[dict]:
    """The three settings of one backbone: each row's gin file, the shared budget and data
    files, the profile's, and a user's folder's own (its eye source); ``run``: the run's
    bindings (:func:`~.experiments.run_bindings`: the audio width, a user's portrait box)."""
    shared = ["shared/budget", "shared/data", "profiles/" + profile]
    if not studio:  # a user's folder: the studio's landmark eye ratio may be absent
        shared.append("shared/user_folder")
    return [
        dict(gin_method(name, f"table2/{backbone}/{row}", *shared), bindings=list(run))
        for name, row in SETTINGS.items()
    ]


def _val_frames(data: Path, count: int):
    from lokitalk_plugins.data import TalkingHeadFolder

    val = TalkingHeadFolder(data, split="val", background="bc", progress=False)
    idx = np.linspace(0, len(val) - 1, min(count, len(val))).round().astype(int)
    return [val[int(i)] for i in sorted(set(idx.tolist()))]


def render_speed(rows: list[dict], data: Path, frames: int = 10) -> dict:
    """Frames per second of each method's render_frame, measured one after the other in this
    process with one thread, after a warm-up render. -> method -> fps."""
    import torch

    from lokitalk_plugins.commands.workspace import load_system

    torch.set_num_threads(1)
    sample, fps = _val_frames(data, frames), {}
    for row in rows:
        system, _, _ = load_system(Path(row["workspace"]))
        system.render_frame(sample[0])
        t0 = time.perf_counter()
        for frame in sample:
            system.render_frame(frame)
        fps[row["method"]] = len(sample) / (time.perf_counter() - t0)
    return fps


def map_names(system) -> list[str]:
    """The deformation and attention maps a trained system's model can sum along rays."""
    return [n for n in getattr(system.model, "ray_extras", ()) if n.startswith(("dx_", "att_"))]


def ray_maps(system, frame, names) -> dict:
    """The per-pixel maps ``names`` of one frame (each summed along its rays, weighted as
    the colour is) -> name -> [H, W] float numpy."""
    import torch

    with torch.no_grad():
        res = system.renderer.render_image(
            system.field(frame, training=False), frame.c2w, frame.intrinsics.tolist(),
            frame.H, frame.W, frame.background, chunk=system.render_chunk, extras=names,
            progress=False,
        )  # fmt: skip
    return {n: res.extras[n].reshape(frame.H, frame.W).float().numpy() for n in names}


def heat_maps(rows: list[dict], data: Path, path: Path, frames: int = 8, labels=None) -> dict:
    """Per-pixel maps of each deforming method averaged over ``frames`` val frames, saved as
    one PNG (a row per method). -> method -> {map: mean over pixels}. With ``labels`` (the
    studio's [N, H, W] region ids), each such row also gets ``region_shares`` (Fig. 5 as
    numbers, ``measures.FIG5_REGIONS``) over the same frames."""

    from lokitalk_plugins.commands.workspace import load_system

    from .measures import fig5_shares
    from .plots import _plt

    sample, found = _val_frames(data, frames), {}
    for row in rows:
        system, _, _ = load_system(Path(row["workspace"]))
        names = map_names(system)
        if not names:
            continue
        acc, shares = {n: 0.0 for n in names}, fig5_shares()
        for f in sample:
            maps = ray_maps(system, f, names)
            for n in names:
                acc[n] = acc[n] + maps[n]
            if labels is not None:
                shares.add(maps, labels[int(f.img_id)])
        found[row["method"]] = {n: v / len(sample) for n, v in acc.items()}
        if labels is not None:
            row["region_shares"] = shares.result()
    if not found:
        return {}
    plt = _plt()
    cols = max(len(m) for m in found.values()) + 1
    fig, axes = plt.subplots(
        len(found), cols, figsize=(2.3 * cols, 2.5 * len(found)), squeeze=False
    )
    for r, (method, maps) in enumerate(found.items()):
        axes[r, 0].imshow(sample[len(sample) // 2].image.numpy())
        axes[r, 0].set_title(f"{method}: val frame", fontsize=8)
        for c, (n, m) in enumerate(maps.items(), start=1):
            im = axes[r, c].imshow(m, cmap="inferno")
            label = {
                "dx_face_norm": "Σ||Δx_face||",
                "dx_torso_norm": "Σ||Δx_torso||",
                "dx_norm": "Σ||Δx|| (joint)",
            }.get(n, n)
            axes[r, c].set_title(label, fontsize=8)
            fig.colorbar(im, ax=axes[r, c], fraction=0.046)
        for ax in axes[r]:
            ax.axis("off")
    fig.suptitle(f"deformation and attention maps, mean of {len(sample)} val frames", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return {m: {n: float(v.mean()) for n, v in maps.items()} for m, maps in found.items()}


def frames_side_by_side(rows: list[dict], data: Path, path: Path) -> Path:
    """The ground truth of a val frame beside each method's render of it (a PNG)."""
    from lokitalk_plugins.commands.workspace import load_system

    frame = _val_frames(data, 3)[1]
    cols = [("ground truth", frame.image.numpy())]
    for row in rows:
        system, _, _ = load_system(Path(row["workspace"]))
        cols.append((row["method"], system.render_frame(frame)["rgb"].numpy()))
    return frame_strip(cols, path, "a val frame")


def plots(rows: list[dict], data: Path, out: Path, stem: str, label: str = "the studio") -> dict:
    """Training curves, a bar chart and a side-by-side frame strip; -> name -> file name."""
    files = {}
    p = training_curves(rows, out / f"{stem}_curves.png")
    if p:
        files["training_curves"] = p.name
    metrics = [
        ("psnr", "PSNR (dB) ↑"),
        ("mouth_error", "mouth error ↓"),
        ("sync_conf", "sync confidence ↑"),
        ("train_minutes", "train time (min)"),
    ]
    files["bars"] = bar_chart(rows, metrics, out / f"{stem}_bars.png", f"Table 2 on {label}").name
    files["frames"] = frames_side_by_side(rows, data, out / f"{stem}_frames.png").name
    return files


def markdown(report: dict) -> str:
    p, m = report["settings"], report["machine"]
    lines = [
        f"# LokiTalk Table 2 on {report['data_label']} ({report['profile']} profile)",
        "",
        f"`{report['command']}` at commit `{report['commit'][:12]}`; backbone "
        f"{report['backbone']}; {p['size']} px, {p['seconds']:.0f} s of video; head/lips steps "
        f"{p['head']}/{p['lips']}, {p['rays']} rays a step; methods trained {m['jobs_in_parallel']}"
        f" at a time, one thread each, on {m['cpu_count']} cores ({m['platform']}, torch "
        f"{m['torch']}); load {report['load_at_start']} at start.",
        "",
        f"| method | PSNR ↑ | PSNR on train frames | LPIPS ↓ | LMD ↓ | {SYNC_HEADER} "
        "| mouth err ↓ | eye err ↓ | train (min) | FPS | frame time vs O (whole pipeline) "
        "| size (MB) | paper PSNR / LPIPS / LMD / Sync |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["results"]:
        x, paper = r["metrics"], PAPER.get(r["method"], ("n/a",) * 4)
        lines.append(
            f"| {r['method']} | {cell(r, 'psnr')} | {cell(r, 'fit_psnr')} | {cell(r, 'lpips', 3)} "
            f"| {cell(r, 'lmd')} "
            f"| {row_sync_cell(r)} | {cell(r, 'mouth_error')} | {cell(r, 'eye_error')} "
            f"| {x['train_minutes']:.1f} | {fmt(x['fps'], 2)} | {fmt(x['render_ratio'])}x "
            f"| {fmt(x['size_mb'])} | {' / '.join(str(v) for v in paper)} |"
        )
    lines += reference_lines(report.get("references", []), 13, 5)
    if report.get("resumed_rows"):
        lines += [
            "",
            f"Rows trained by an earlier, stopped run of this command (same gin files, "
            f"bindings and folder; `--resume`): {'; '.join(report['resumed_rows'])}.",
        ]
    lines += f_a_note(report, "O+D+R")
    lines[-1] += " O keeps the backbone's own audio path."
    lines += seeds_note(report, seeded_rows(report), "; train minutes are the mean; FPS, the "
                        "render time ratio and the maps are measured on seed 0")  # fmt: skip
    lines += [
        "",
        f"PSNR on train frames: {FIT_FRAMES} evenly spaced training frames rendered as the val "
        "frames are; PSNR minus it is the gap to unseen audio and poses. "
        "LPIPS is n/a without AlexNet weights on the machine. Sync: a mouth-opening signal in "
        "one fixed window, cross-correlated with the ground truth's over ±"
        f"{max_offset_text(report)} frames (metrics.sync); confidence = peak minus median, offset "
        "in frames (0 = in sync); the italic rows are the ceiling and floor of the measure on "
        "these val frames. Paper Sync is SyncNet's confidence: compare orderings, not values.",
        "",
        lmd_note(report),
        "",
    ]
    lines += region_lines(report)
    lines += fig5_lines(report)
    return "\n".join(lines)


def region_lines(report: dict) -> list[str]:
    """PSNR inside the studio's regions (``measures.region_psnr``), a row per method; nothing
    on a folder without the studio's labels."""
    rows = [r for r in report["results"] if r["metrics"].get("psnr_head") is not None]
    if not rows:
        return []
    lines = ["PSNR by region of the val frames (every third frame; the studio's labels):", "",
             "| method | head | torso + neck | background |", "|---|---|---|---|"]  # fmt: skip
    for r in rows:
        cells = [cell(r, k) for k in ("psnr_head", "psnr_torso", "psnr_bg")]
        lines.append(f"| {r['method']} | " + " | ".join(cells) + " |")
    return lines + [""]
