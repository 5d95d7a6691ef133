"""LokiTalk's Fig. 5 against the studio's truth: where each driving signal changes the picture,
and how much of each plug-in map lies there.

    python benchmarks/fig5_truth.py --workspaces WS [WS ...]   # e.g. Table 2's O+D+R seeds
    python benchmarks/fig5_truth.py --workspaces WS --frames 4 --out /tmp/fig5 [--force]

Every workspace is a trained deforming model (RSDF) on a studio folder (its run's data), taken
as one seed of ``--method``. On the val frames Table 2's heat maps use (``--frames``, evenly
spaced), the studio re-renders each frame with one cause changed
(``lokitalk_plugins.data.studio.counterfactual``): the mouth (what the audio drives), the eyes,
the torso relative to the head. For each Fig. 5 map and its cause:

- ``truth_share_label``: the share of the cause's own change inside the map's Fig. 5 region
  (the studio's labels; Table 2's share measures the map against that region): what a map
  that acts exactly where its cause moves the picture would score there;
- ``map_share_label``: the map's share inside that region (Table 2's number, recomputed here);
- ``map_share_support``: the map's share inside the pixels that hold 90% of the cause's change;
- ``support_area``: those pixels' share of the image (what an evenly spread map scores there).

The torso field's pose-dependent part is measured like a map of its own
(``dx_torso_dynamic``: Σ‖Δx_torso − Δx̄_torso‖, Δx̄_torso its average over the poses of
:data:`STATIC_POSES` val frames at each point, ``field_knockout.dynamic_torso_map``) in the torso
and neck: what moves from frame to frame, without the static shift of the canonical space.

And the torso field's size against its cause: ``torso_motion`` (signals), how far points on
the neck and shoulders move against the head in the clip (the head's frame is the canonical
space RSDF deforms into: NeRF units are the studio's model units), beside ``torso_offset`` (per
workspace), the mean rendered ‖Δx_torso‖ on the torso and neck pixels and on the head's.

Writes ``<out>/fig5_truth[_<tag>].json`` + ``.md`` + ``_maps.png`` (mean maps over the frames,
each cause's change beside the model's map; refused where they exist, unless ``--force``).
The claims ledger reads the JSON as the measured cause of a missed region share.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness.common import (  # noqa: E402
    RESULTS,
    commit,
    machine,
    refuse_overwrite,
    write_report,
)
from harness.measures import SUPPORT_MASS, support  # noqa: E402

__all__ = [
    "PAIRS",
    "SUPPORT_MASS",
    "TORSO_POINTS",
    "main",
    "pose_r2",
    "shares",
    "support",
    "torso_motion",
    "torso_offsets",
]

# share key (Table 2's region_shares) -> (ray map, causes whose change it should follow)
PAIRS = {
    "att_lip": ("att_lip", ("mouth",)),
    "att_eye": ("att_eye", ("eyes",)),
    "dx_face": ("dx_face_norm", ("mouth", "eyes")),
    "dx_torso": ("dx_torso_norm", ("torso",)),
    # the torso field's pose-dependent part, ‖Δx_torso − its average over poses‖ (Fig. 5 shows
    # "dynamic deformations"; field_knockout.dynamic_torso_map), measured in Δx_torso's region
    "dx_torso_dynamic": ("dx_torso_dynamic_norm", ("torso",)),
}
REGION_KEY = {"dx_torso_dynamic": "dx_torso"}  # PAIRS key -> FIG5_REGIONS key, where not its own
STATIC_POSES = 16  # val frames whose poses the torso field's static part averages


# points on the studio's neck and shoulders, body frame (model units; ``studio.sdf`` body)
TORSO_POINTS = np.array([
    [0.0, -0.9, 0.11],  # the neck's front
    [0.8, -1.2, -0.12],  # the shoulders
    [-0.8, -1.2, -0.12],
    [0.0, -1.25, 0.27],  # the chest's top
])  # fmt: skip


def torso_offsets(pose: np.ndarray, torso_pose: np.ndarray, world_scale: float) -> np.ndarray:
    """Where :data:`TORSO_POINTS` are against their mean place in the head's frame, per frame
    and point -> [N, P, 3] model units. pose, torso_pose [N, 6]: the truth's euler (rad) and
    translation (world units); the renderer places a point p at R p + t (model units)."""
    from lokitalk_plugins.data.studio.motion import euler_to_matrix

    hR, bR = euler_to_matrix(pose[:, :3]), euler_to_matrix(torso_pose[:, :3])
    ht, bt = pose[:, 3:] * world_scale, torso_pose[:, 3:] * world_scale
    cam = np.einsum("nij,pj->npi", bR, TORSO_POINTS) + bt[:, None]
    head = np.einsum("nji,npj->npi", hR, cam - ht[:, None])  # R_h^T (p - t_h)
    return head - head.mean(0, keepdims=True)


def torso_motion(pose: np.ndarray, torso_pose: np.ndarray, world_scale: float) -> np.ndarray:
    """How far :data:`TORSO_POINTS` are from their mean place in the head's frame, per frame
    and point -> [N, P] model units (the norms of :func:`torso_offsets`)."""
    return np.linalg.norm(torso_offsets(pose, torso_pose, world_scale), axis=-1)


def pose_r2(pose: np.ndarray, offsets: np.ndarray, fit: float = 0.7, ridge: float = 1e-3) -> float:
    """How much of the torso's motion the head pose alone determines: a ridge read-out from
    the frame's head pose (pose [N, 6], standardised on the fitted frames) to the torso points'
    offsets (offsets [N, P, 3], :func:`torso_offsets`), fitted on the first ``fit`` of the
    frames -> R² on the rest (1: the pose predicts the motion; 0: no better than its mean).
    The torso field sees the head pose F_h (eq. 4); the studio's torso lags the head and
    breathes, which no function of the frame's pose can follow."""
    n = len(pose)
    cut = int(fit * n)
    if cut < 2 or n - cut < 2:
        raise ValueError(f"pose_r2 needs at least 4 frames, got {n}")
    y = offsets.reshape(n, -1)
    mu, sd = pose[:cut].mean(0), pose[:cut].std(0) + 1e-9
    x = np.concatenate([(pose - mu) / sd, np.ones((n, 1))], axis=1)
    a = x[:cut]
    w = np.linalg.solve(a.T @ a + ridge * cut * np.eye(a.shape[1]), a.T @ y[:cut])
    res = ((y[cut:] - x[cut:] @ w) ** 2).sum()
    tot = ((y[cut:] - y[cut:].mean(0)) ** 2).sum()
    return float(1.0 - res / tot) if tot > 0 else float("nan")


def shares(maps: list, changes: list, labels: list, region_ids) -> dict:
    """Accumulated over frames: a map's and its cause's change's shares (module doc).
    maps, changes: [H, W] per frame; labels: [H, W] per frame; region_ids: label ids."""
    acc = dict.fromkeys(("m_label", "m_support", "m", "c_label", "c", "area", "px"), 0.0)
    for m, c, lab in zip(maps, changes, labels):
        region, sup = np.isin(lab, region_ids), support(c)
        acc["m_label"] += float(m[region].sum())
        acc["m_support"] += float(m[sup].sum())
        acc["m"] += float(m.sum())
        acc["c_label"] += float(c[region].sum())
        acc["c"] += float(c.sum())
        acc["area"] += float(sup.sum())
        acc["px"] += float(sup.size)
    ratio = lambda a, b: acc[a] / acc[b] if acc[b] > 0 else None  # noqa: E731
    return {
        "map_share_label": ratio("m_label", "m"),
        "map_share_support": ratio("m_support", "m"),
        "truth_share_label": ratio("c_label", "c"),
        "support_area": ratio("area", "px"),
    }


def _mean_std(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return None, None
    return float(np.mean(vals)), (float(np.std(vals, ddof=1)) if len(vals) > 1 else None)


def measure(workspace: Path, frames: int, cache: dict | None = None) -> dict:
    """One workspace: its Fig. 5 maps and the studio's cause changes on ``frames`` val frames
    -> dict(workspace, data, img_ids, shares: key -> shares(), mean_maps, mean_changes).
    ``cache``: the cause changes already rendered, by (folder, frames): the seeds of a row
    share them."""
    import torch
    from field_knockout import DYNAMIC_MAP, dynamic_torso_map
    from harness.measures import FIG5_REGIONS
    from harness.table2 import _val_frames, map_names, ray_maps

    from lokitalk_plugins.commands.workspace import load_system
    from lokitalk_plugins.data.studio import BACKGROUND
    from lokitalk_plugins.data.studio.counterfactual import cause_maps

    system, run, _ = load_system(workspace)
    data = Path(run["data"])
    names = map_names(system)
    missing = [m for m, _ in PAIRS.values() if m not in (*names, DYNAMIC_MAP)]
    if missing:
        raise SystemExit(f"--workspaces {workspace}: its model gives no {missing} maps (a "
                         "model with RSDF, e.g. Table 2's O+D+R, has them)")  # fmt: skip
    sample = _val_frames(data, frames)
    ids = [int(f.img_id) for f in sample]
    cache, key = ({} if cache is None else cache), (str(data.resolve()), tuple(ids))
    if key not in cache:
        cache[key] = cause_maps(data, ids)
    changes, labels = cache[key]
    poses = torch.stack([f.pose.float() for f in _val_frames(data, STATIC_POSES)])
    with dynamic_torso_map(system.model.rsdf, poses):
        maps = [ray_maps(system, f, [*names, DYNAMIC_MAP]) for f in sample]
    torso_ids = FIG5_REGIONS["dx_torso"][1]
    on = {"torso_neck": [], "head": []}
    for m, lab in zip(maps, labels):
        where = np.isin(lab, torso_ids)
        on["torso_neck"].append(m["dx_torso_norm"][where])
        on["head"].append(m["dx_torso_norm"][(lab != BACKGROUND) & ~where])
    torso_offset = {k: float(np.concatenate(v).mean()) for k, v in on.items()}
    out = {}
    for key, (name, causes) in PAIRS.items():
        region = FIG5_REGIONS[REGION_KEY.get(key, key)][1]
        change = [sum(changes[c][i] for c in causes) for i in range(len(ids))]
        out[key] = shares([m[name] for m in maps], change, list(labels), region)
    mean_maps = {name: np.mean([m[name] for m in maps], 0) for name, _ in PAIRS.values()}
    mean_changes = {c: changes[c].mean(0) for c in ("mouth", "eyes", "torso")}
    frame = sample[len(sample) // 2].image.numpy()
    return dict(workspace=str(workspace), data=str(data), img_ids=ids, shares=out,
                torso_offset=torso_offset, mean_maps=mean_maps, mean_changes=mean_changes,
                frame=frame)  # fmt: skip


def signal_stats(data: Path) -> dict:
    """How often and how large each cause is in the studio clip (all its frames): the share
    of frames with the eyes closed (closure > 0.5), the blinks, the eyes' and lips' pixel
    shares, the jaw's mean and spread, the torso's mean turn against the head (degrees)."""
    from lokitalk_plugins.data.studio import EYES, LIPS, load_truth
    from lokitalk_plugins.data.studio.motion import CAMERA_DISTANCE

    t = load_truth(data)
    turn = np.degrees(np.abs(t.pose[:, :3] - t.torso_pose[:, :3]).sum(-1))
    cam = t.meta["camera"]
    offsets = torso_offsets(t.pose, t.torso_pose, float(cam["world_scale"]))
    moved = np.linalg.norm(offsets, axis=-1)
    return {
        "torso_follow": t.meta.get("torso_follow"),
        "light_frame": t.meta.get("light_frame", "camera"),
        "torso_motion": {
            "median": float(np.median(moved)),
            "p95": float(np.percentile(moved, 95)),
            "px_per_unit": float(cam["focal"]) / CAMERA_DISTANCE,
            "pose_r2": pose_r2(t.pose, offsets),
        },
        "frames": len(t),
        "eyes_closed_frames": float((t.eye_closure > 0.5).mean()),
        "blinks": len(t.meta.get("blinks", [])),
        "eyes_pixels": float((t.labels == EYES).mean()),
        "lips_pixels": float((t.labels == LIPS).mean()),
        "jaw_mean": float(t.jaw.mean()),
        "jaw_std": float(t.jaw.std()),
        "torso_turn_deg_mean": float(turn.mean()),
    }


def summarise(rows: list[dict]) -> dict:
    """key -> {stat: {"mean", "std", "seeds": [...]}} over the workspaces (seeds)."""
    out = {}
    for key in PAIRS:
        out[key] = {}
        for stat in ("map_share_label", "map_share_support", "truth_share_label",
                     "support_area"):  # fmt: skip
            vals = [r["shares"][key][stat] for r in rows]
            mean, std = _mean_std(vals)
            out[key][stat] = {"mean": mean, "std": std, "seeds": vals}
    out["torso_offset"] = {}
    for where in ("torso_neck", "head"):
        vals = [r["torso_offset"][where] for r in rows]
        mean, std = _mean_std(vals)
        out["torso_offset"][where] = {"mean": mean, "std": std, "seeds": vals}
    return out


def _cell(s: dict, digits: int = 2) -> str:
    if s["mean"] is None:
        return "n/a"
    std = "" if s["std"] is None else f" ± {s['std']:.{digits}f}"
    return f"{s['mean']:.{digits}f}{std}"


WHAT = {
    "att_lip": ("att_lip", "the mouth (audio)", "lips"),
    "att_eye": ("att_eye", "the eyes", "eyes"),
    "dx_face": ("Σ‖Δx_face‖", "mouth and eyes", "face"),
    "dx_torso": ("Σ‖Δx_torso‖", "the torso against the head", "torso and neck"),
    "dx_torso_dynamic": (
        "Σ‖Δx_torso − Δx̄_torso‖ (its pose-dependent part)",
        "the torso against the head",
        "torso and neck",
    ),
}


def markdown(report: dict) -> str:
    s, n = report["summary"], len(report["workspaces"])
    lines = [
        f"# Fig. 5 against the studio's truth ({report['method']}, {n} seed(s))",
        "",
        f"`{report['command']}` at commit `{report['commit'][:12]}`, {report['frames']} val "
        "frames per workspace. Each cause's change: the studio frame re-rendered with that "
        "cause alone changed (`lokitalk_plugins/data/studio/counterfactual.py`); its support: "
        f"the fewest pixels holding {SUPPORT_MASS:.0%} of the change.",
        "",
        "| map | cause | the cause's change inside the region (truth) | the map inside the "
        "region (Table 2's share) | the map inside the cause's support | the support's area "
        "(an even map) |",
        "|---|---|---|---|---|---|",
    ]
    for key, (label, cause, region) in WHAT.items():
        x = s.get(key)
        if x is None:  # a report from before the map existed
            continue
        lines.append(f"| {label} | {cause} | {_cell(x['truth_share_label'])} in {region} | "
                     f"{_cell(x['map_share_label'])} | {_cell(x['map_share_support'])} | "
                     f"{_cell(x['support_area'])} |")  # fmt: skip
    g = report["signals"]
    lines += [
        "",
        "Mean ± std over the workspaces (seeds); the truth column is the same for every seed "
        "of one studio folder. Δx̄_torso: the torso field's output at the same point averaged "
        f"over the head poses of {STATIC_POSES} val frames (its static part, a shift of the "
        "canonical space that is the same in every frame); what is left moves with the pose.",
        "",
        f"The causes in this clip ({g['frames']} frames): the eyes are closed in "
        f"{g['eyes_closed_frames']:.1%} of the frames ({g['blinks']} blinks) and cover "
        f"{g['eyes_pixels']:.2%} of the pixels; the lips cover {g['lips_pixels']:.2%}; the jaw "
        f"opens {g['jaw_mean']:.2f} ± {g['jaw_std']:.2f} (0 closed .. 1); the torso turns "
        f"{g['torso_turn_deg_mean']:.1f}° against the head on average"
        + (
            ""
            if g.get("torso_follow") is None
            else f" (the torso follows the head {g['torso_follow']:g} of the way)"
        )
        + ("; the key light is attached to the head" if g.get("light_frame") == "head" else "")
        + ".",
        "",
        _torso_line(g["torso_motion"], s["torso_offset"]),
        "",
        f"Maps: `{report['files']['maps']}`.",
    ]
    return "\n".join(lines) + "\n"


def _torso_line(need: dict, got: dict) -> str:
    px = need["px_per_unit"]
    t, h = got["torso_neck"], got["head"]
    return (
        f"The torso field's size beside its cause: points on the neck and shoulders move "
        f"{need['median']:.3f} (median) / {need['p95']:.3f} (95th percentile) model units "
        f"({need['median'] * px:.1f} / {need['p95'] * px:.1f} px) from their mean place in the "
        f"head's frame, the canonical space; the learned ‖Δx_torso‖ averages {_cell(t, 3)} "
        f"({t['mean'] * px:.1f} px) on the torso and neck pixels and {_cell(h, 3)} "
        f"({h['mean'] * px:.1f} px) on the head's, "
        f"{t['mean'] / need['median']:.2f}x the median motion on the torso."
        + (f" A linear read-out from the frame's head pose (what F_h tells the torso field) "
           f"predicts R² {need['pose_r2']:.2f} of that motion on the last 30% of the frames "
           f"(fitted on the rest)." if need.get("pose_r2") is not None else "")
    )  # fmt: skip


def plot(row: dict, path: Path) -> Path:
    from harness.plots import _plt

    plt = _plt()
    cols = [("val frame", row["frame"], None)]
    for key, (name, causes) in PAIRS.items():
        if key == "dx_face":
            continue
        cols.append((f"change: {causes[0]}", row["mean_changes"][causes[0]], "magma"))
        cols.append((WHAT[key][0], row["mean_maps"][name], "inferno"))
    fig, axes = plt.subplots(1, len(cols), figsize=(2.4 * len(cols), 2.8), squeeze=False)
    for ax, (title, img, cmap) in zip(axes[0], cols):
        im = ax.imshow(img, cmap=cmap)
        ax.set_title(title, fontsize=8)
        ax.axis("off")
        if cmap:
            fig.colorbar(im, ax=ax, fraction=0.046)
    fig.suptitle(f"mean over {len(row['img_ids'])} val frames: where each cause changes the "
                 "picture (truth) beside the map meant to follow it", fontsize=9)  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--workspaces", nargs="+", required=True,
        help="trained RSDF workspaces on one studio folder (the seeds of a row)",
    )  # fmt: skip
    ap.add_argument("--method", default="O+D+R", help="the row the workspaces train")
    ap.add_argument("--frames", type=int, default=8, help="val frames per workspace")
    ap.add_argument("--out", default=str(RESULTS), help="where the JSON, markdown, PNG go")
    ap.add_argument("--tag", default="", help="suffix of the file names (e.g. rad_nerf)")
    ap.add_argument("--force", action="store_true",
                    help="overwrite the result files of an earlier run in --out")  # fmt: skip
    args = ap.parse_args(argv)
    for ws in args.workspaces:
        if not (Path(ws) / "checkpoints" / "latest.pt").is_file():
            print(f"error: --workspaces {ws}: no checkpoints/latest.pt there; give a trained "
                  "workspace (lokitalk train)", file=sys.stderr)  # fmt: skip
            return 2
    if args.frames < 1:
        print("error: --frames must be at least 1", file=sys.stderr)
        return 2
    stem = "fig5_truth" + (f"_{args.tag}" if args.tag else "")
    refuse_overwrite(ap, Path(args.out), stem, args.force)  # before anything is measured
    import torch

    torch.set_num_threads(1)
    start = time.perf_counter()
    cache: dict = {}
    rows = [measure(Path(ws), args.frames, cache) for ws in args.workspaces]
    datas = {r["data"] for r in rows}
    if len(datas) > 1:
        print(f"error: --workspaces train on different folders {sorted(datas)}; give the "
              "seeds of one row on one folder", file=sys.stderr)  # fmt: skip
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    maps = plot(rows[0], out / f"{stem}_maps.png")
    report = {
        "benchmark": "fig5_truth",
        "command": shlex.join(["python", "benchmarks/fig5_truth.py"] + sys.argv[1:]),
        "commit": commit(),
        "machine": machine(1, 1),
        "method": args.method,
        "frames": args.frames,
        "support_mass": SUPPORT_MASS,
        "data": rows[0]["data"],
        "workspaces": [r["workspace"] for r in rows],
        "per_workspace": [
            {k: r[k] for k in ("workspace", "img_ids", "shares", "torso_offset")} for r in rows
        ],  # fmt: skip
        "summary": summarise(rows),
        "signals": signal_stats(Path(rows[0]["data"])),
        "wall_seconds": time.perf_counter() - start,
        "files": {"maps": maps.name},
    }
    md = markdown(report)
    write_report(report, md, out, stem)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
