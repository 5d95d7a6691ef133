"""Diagnostic: what each of RSDF's deformation fields does, and where in the picture.

A trained O+D+R model deforms every sample by Δx_face (eq. 3) and Δx_torso (eq. 4). This
renders the val frames of each workspace's studio folder intact and with one field's offset
set to zero (its bias-free MLP's last layer zeroed for the render, so the offset is exactly 0;
with the face field out the torso field reads Δx_face = 0 through the cascade too), and
reports each region's PSNR (head, torso + neck, background, the studio's labels) and what
knocking each field out costs there. A field that models its region's motion costs that
region most; Fig. 5's Σ‖Δx_torso‖ is meant to lie in torso and neck. ``torso_pose`` keeps the
torso field but feeds it one head pose for every frame (the val frames' mean F_h): what is
lost then is the part of Δx_torso that follows the pose, plus whatever the field's output
at that one pose differs from its average over poses (the field is not linear in the pose).
``torso_static`` replaces Δx_torso at every sample by its average over the poses of
``--static-poses`` val frames at that same point, Δx̄_torso(x) = mean_k Φ_torso(x; F_h^k,
Δx_face): the static part of the field exactly (a shift of the canonical space against the
observed one, the same in every frame); what it costs is what the pose-dependent part does.

    python benchmarks/field_knockout.py WORKSPACE [WORKSPACE ...] --out DIR
        [--fields torso face torso_pose torso_static] [--every 3] [--static-poses 16]
        [--force]

The workspaces (a row's seeds, e.g. Table 2's ``<work>/table2_default_er_nerf/ws_o_d_r*``)
must hold a model with RSDF trained on a studio folder. Writes ``field_knockout.json`` and
``.md`` to ``--out`` (refused if they exist, unless ``--force``); the occupancy grid is the
trained one (the fields it was refreshed under stay in it).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness.measures import workspace_args  # noqa: E402

__all__ = [
    "FIELDS",
    "SETTINGS",
    "knocked_out",
    "knockout_profile",
    "main",
    "markdown",
    "one_pose",
    "static_torso",
    "dynamic_torso_map",
    "DYNAMIC_MAP",
    "summarise",
]

REGIONS = ("head", "torso+neck", "background")
FIELDS = {"torso": "torso_field", "face": "face"}  # --fields name -> RSDF attribute
POSE = "torso_pose"  # the torso field fed one pose (the val frames' mean) in every frame
STATIC = "torso_static"  # Δx_torso replaced by its average over poses at each point
SETTINGS = (*FIELDS, POSE, STATIC)
LABELS = {"torso": "Δx_torso set to 0", "face": "Δx_face set to 0",
          POSE: "Δx_torso under one pose (the val frames' mean)",
          STATIC: "Δx_torso replaced by its average over poses at each point"}  # fmt: skip


@contextlib.contextmanager
def _forward_replaced(rsdf, make):
    """Within the block ``rsdf.forward`` is ``make(forward)`` (forward: what it was before);
    then what it was, so the blocks nest."""
    saved = vars(rsdf).get("forward")
    rsdf.forward = make(rsdf.forward)
    try:
        yield
    finally:
        if saved is None:
            del rsdf.forward
        else:
            rsdf.forward = saved


@contextlib.contextmanager
def one_pose(rsdf, pose):
    """Within the block RSDF sees ``pose`` [1, 6] as F_h whatever it is given (every point
    and frame), then its own forward again."""

    def make(forward):
        def fixed(x, F_a, F_e, F_h=None, *args, **kwargs):
            if F_h is not None:
                F_h = pose.to(F_h.dtype).expand(F_h.shape[0], -1)
            return forward(x, F_a, F_e, F_h, *args, **kwargs)

        return fixed

    with _forward_replaced(rsdf, make):
        yield


def _pose_mean(forward, poses, x, F_a, F_e, F_h, args, kwargs):
    """Δx_torso at the points ``x`` averaged over ``poses`` [K, 6], each fed as F_h for every
    point with the points' own signals."""
    import torch

    dx = None
    for pose in poses:
        one = pose[None].to(F_h.dtype).expand(F_h.shape[0], -1)
        got = forward(x, F_a, F_e, one, *args, **dict(kwargs, maps=False)).dx_torso
        dx = got if dx is None else dx + got
    return dx / len(poses) if dx is not None else torch.zeros_like(x)


@contextlib.contextmanager
def static_torso(rsdf, poses):
    """Within the block RSDF's Δx_torso at every point is its average over ``poses`` [K, 6]
    (each fed as F_h for all points, with the point's own Δx_face and signals): the field's
    static part; Δx_face and the maps as RSDF gives them. Then its own forward again."""
    from lokitalk_plugins.rsdf.rsdf import RSDFOutput

    def make(forward):
        def averaged(x, F_a, F_e, F_h=None, *args, **kwargs):
            out = forward(x, F_a, F_e, F_h, *args, **kwargs)
            if F_h is None:
                return out
            dx = _pose_mean(forward, poses, x, F_a, F_e, F_h, args, kwargs)
            return RSDFOutput(x + out.dx_face + dx, out.dx_face, dx, out.maps)

        return averaged

    with _forward_replaced(rsdf, make):
        yield


DYNAMIC_MAP = "dx_torso_dynamic_norm"  # ‖Δx_torso - its average over poses‖ per point


@contextlib.contextmanager
def dynamic_torso_map(rsdf, poses):
    """Within the block RSDF's maps (when it gives maps) hold one more per-point map,
    :data:`DYNAMIC_MAP` = ‖Δx_torso − Δx̄_torso‖, Δx̄_torso the average over ``poses`` [K, 6]
    at the same point (:func:`static_torso`): the pose-dependent part of the torso field,
    what moves from frame to frame (LokiTalk's Fig. 5 shows 'dynamic deformations'). The
    deformation itself is unchanged. Then its own forward again."""
    import torch

    from lokitalk_plugins.rsdf.rsdf import RSDFOutput

    def make(forward):
        def with_map(x, F_a, F_e, F_h=None, *args, **kwargs):
            out = forward(x, F_a, F_e, F_h, *args, **kwargs)
            if F_h is None or not out.maps:
                return out
            dx = _pose_mean(forward, poses, x, F_a, F_e, F_h, args, kwargs)
            dyn = torch.linalg.vector_norm(out.dx_torso - dx, dim=-1)
            maps = dict(out.maps, **{DYNAMIC_MAP: dyn})
            return RSDFOutput(out.x_canonical, out.dx_face, out.dx_torso, maps)

        return with_map

    with _forward_replaced(rsdf, make):
        yield


@contextlib.contextmanager
def knocked_out(rsdf, field: str | None):
    """Within the block, ``field``'s offset (``'torso'`` or ``'face'``; None: none) is exactly
    zero: its MLP's last layer (bias-free) is zeroed, then restored."""
    if field is None:
        yield
        return
    import torch

    layer = getattr(rsdf, FIELDS[field]).net.net[-1]
    saved = layer.weight.detach().clone()
    with torch.no_grad():
        layer.weight.zero_()
    try:
        yield
    finally:
        with torch.no_grad():
            layer.weight.copy_(saved)


def _psnr(err: float, n: int) -> float | None:
    return float(-10 * np.log10(max(err / n, 1e-10))) if n else None


def knockout_profile(system, val, truth, fields, every: int = 3, static_poses: int = 16) -> dict:
    """setting ('none' and each of ``fields``) -> region (and 'frame') -> PSNR over every
    ``every``-th frame of ``val``; the regions pool their pixels over the frames. The static
    part of Δx_torso averages the poses of ``static_poses`` val frames spread evenly."""
    import torch
    from harness.measures import region_masks_of

    rsdf = system.model.rsdf
    settings = ["none", *fields]
    sums = {s: {r: [0.0, 0] for r in (*REGIONS, "frame")} for s in settings}
    all_poses = torch.as_tensor(val.poses_6d).float()
    mean_pose = all_poses.mean(0, keepdim=True)
    pick = np.linspace(0, len(all_poses) - 1, max(1, min(static_poses, len(all_poses))))
    some_poses = all_poses[np.unique(pick.round().astype(int))]
    with torch.no_grad():
        for i in range(0, len(val), every):
            frame = val[i]
            masks = region_masks_of(frame, truth)
            for s in settings:
                if s == POSE:
                    block = one_pose(rsdf, mean_pose)
                elif s == STATIC:
                    block = static_torso(rsdf, some_poses)
                else:
                    block = knocked_out(rsdf, None if s == "none" else s)
                with block:
                    out = system.render_frame(frame)
                err = ((out["rgb"] - frame.image) ** 2).mean(-1).numpy()
                for reg in REGIONS:
                    sums[s][reg][0] += float(err[masks[reg]].sum())
                    sums[s][reg][1] += int(masks[reg].sum())
                sums[s]["frame"][0] += float(err.sum())
                sums[s]["frame"][1] += int(err.size)
    return {s: {r: _psnr(e, n) for r, (e, n) in regs.items()} for s, regs in sums.items()}


def _mean_std(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return {"mean": None, "std": None, "seeds": vals}
    std = float(np.std(vals, ddof=1)) if len(vals) > 1 else None
    return {"mean": float(np.mean(vals)), "std": std, "seeds": vals}


def summarise(profiles: list[dict], fields) -> dict:
    """Over the workspaces (seeds): each region's intact PSNR and, per field, the PSNR lost
    when it is knocked out (intact minus knocked out; > 0: the field helps there)."""
    where = (*REGIONS, "frame")
    out = {"none": {r: _mean_std([p["none"][r] for p in profiles]) for r in where}}
    for f in fields:
        out[f] = {r: _mean_std([p["none"][r] - p[f][r] for p in profiles
                                if p["none"][r] is not None and p[f][r] is not None])
                  for r in where}  # fmt: skip
    return out


def _cell(s: dict) -> str:
    if s["mean"] is None:
        return "n/a"
    return f"{s['mean']:.2f}" + ("" if s["std"] is None else f" ± {s['std']:.2f}")


def markdown(report: dict) -> str:
    s, fields = report["summary"], report["fields"]
    n = len(report["results"])
    lines = [
        f"# What each deformation field does, and where ({n} workspace(s))",
        "",
        f"`{report['command']}` at commit `{report['commit']}` ({report['machine']}).",
        "",
        "| setting | head | torso + neck | background | whole frame |",
        "|---|---|---|---|---|",
        "| intact: PSNR (dB) | "
        + " | ".join(_cell(s["none"][r]) for r in (*REGIONS, "frame"))
        + " |",
    ]
    for f in fields:
        lines.append(f"| {LABELS[f]}: PSNR lost (dB) | "
                     + " | ".join(_cell(s[f][r]) for r in (*REGIONS, "frame")) + " |")  # fmt: skip
    lines += [
        "",
        f"Mean ± std over the workspaces (seeds); each pools the pixels of every "
        f"{report['every']}-th val frame of its studio folder, by the studio's labels. PSNR "
        "lost: intact minus the render with that field's offset exactly zero (its last layer "
        "zeroed; the occupancy grid as trained); > 0 where the field helps, < 0 where the "
        "picture is better without it.",
        "",
        "Per workspace: "
        + "; ".join(
            f"`{r['label']}` " + ", ".join(
                f"{LABELS[f]}: head {r['profile']['none']['head'] - r['profile'][f]['head']:+.2f}, "
                f"torso + neck "
                f"{r['profile']['none']['torso+neck'] - r['profile'][f]['torso+neck']:+.2f}"
                for f in fields)
            for r in report["results"]
        )
        + ".",
        "",
    ]  # fmt: skip
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    workspace_args(p, "O+D+R workspaces", "field_knockout")
    p.add_argument("--fields", nargs="+", choices=SETTINGS, default=list(SETTINGS),
                   help="what to knock out, one at a time: a field (torso, face) or the torso "
                        "field's pose (torso_pose), or its pose-dependent part (torso_static: "
                        "Δx_torso averaged over poses at each point)")  # fmt: skip
    p.add_argument("--static-poses", type=int, default=16, metavar="K",
                   help="torso_static averages Δx_torso over the poses of K val frames spread "
                        "evenly (default 16)")  # fmt: skip
    args = p.parse_args(argv)
    if args.static_poses < 1:
        p.error(f"--static-poses must be >= 1, got {args.static_poses}")
    from harness.measures import studio_workspaces, write_diagnostic

    results = []
    for ws, system, stage, truth, val in studio_workspaces(p, args, "field_knockout"):
        rsdf = getattr(system.model, "rsdf", None)
        if rsdf is None or ({"torso", POSE, STATIC} & set(args.fields) and not rsdf.torso):
            p.error(f"{ws}: its model has no RSDF with a torso field (an O+D+R or LokiTalk "
                    "workspace has); pass --fields face for a face-only RSDF")  # fmt: skip
        prof = knockout_profile(system, val, truth, args.fields, args.every, args.static_poses)
        results.append({"workspace": str(ws), "label": ws.name, "stage": stage, "profile": prof})
        print(f"{ws.name}: " + ", ".join(
            f"{LABELS[f]} costs head {prof['none']['head'] - prof[f]['head']:+.2f} dB, torso + "
            f"neck {prof['none']['torso+neck'] - prof[f]['torso+neck']:+.2f} dB"
            for f in args.fields))  # fmt: skip
    write_diagnostic("field_knockout", argv, args.out, markdown, fields=args.fields,
                     every=args.every, static_poses=args.static_poses, results=results,
                     summary=summarise([r["profile"] for r in results], args.fields))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
