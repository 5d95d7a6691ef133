"""Where does the DH-NeRF's PSNR go? Its training frames rendered under the codes it is
scored with and under the codes it learnt for them, on trained DH-NeRF workspaces.

    python benchmarks/dhnerf_gap.py --workspaces WS [WS ...] [--reference WS [WS ...]]
                                    [--frames 8] [--out DIR] [--tag T]

At test time the DH-NeRF renders every frame with the training frames' mean codes and its
expression from the audio (C_ex* = E(F_lip), w = 0; ``baselines/dhnerf/field.py``). The
training frames each have their own learnt C_ex and C_ill. Rendering the same training frames
(the table's "PSNR on train frames": ``FIT_FRAMES`` evenly spaced, over the table's val
background) four ways splits what the model fits from what its test-time condition costs:

- ``test time``: the mean codes, C_ex from the audio (the table's figure, to 1e-6 dB);
- ``own C_ill``: the same with the frame's own learnt C_ill (its light);
- ``own C_ex``: the frame's own learnt C_ex (w = 1), the mean C_ill;
- ``own codes``: the frame's own learnt C_ex and C_ill (w = 1): what the field fits.

(C_id and C_al are one code for the clip by default, the same in all four.) ``--reference``
workspaces (e.g. Table 1's ER-NeRF seeds on the same folder) are rendered on the same frames
as the table renders them, so the DH-NeRF's four figures stand beside the reference's fit.
Each figure is also split by the studio's regions where the folder has its truth. Writes
``dhnerf_gap[_<tag>].json`` + ``.md``.
"""

from __future__ import annotations

import argparse
import functools
import shlex
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness.common import RESULTS, commit, machine, trained_folder, write_report  # noqa: E402
from harness.workers import fit_picks  # noqa: E402

__all__ = ["VARIANTS", "code_gap", "main", "reference_fit"]

# the codes a variant renders a training frame with: (C_ex from the frame (w = 1) or from the
# audio (w = 0), C_ill the frame's own or the mean)
VARIANTS = {
    "test time": (False, False),
    "own C_ill": (False, True),
    "own C_ex": (True, False),
    "own codes": (True, True),
}
REGIONS = ("psnr_head", "psnr_torso", "psnr_bg")


def _variant_code(model, index: int, own_ex: bool, own_ill: bool):
    """[1, I]: the test-time codes (the training frames' mean), with the frame's own C_ex
    (w = 1) and / or its own C_ill."""
    from lokitalk_plugins.baselines.dhnerf import join_code

    parts = model.codes(None)
    own = model.codes(int(index))
    if own_ex:
        parts["ex"] = own["ex"]
    if own_ill:
        parts["ill"] = own["ill"]
    return join_code(parts, 1.0 if own_ex else 0.0)


def _render(system, frame, code=None):
    """``frame`` rendered as the system renders a val frame (its camera, audio, eye, pose and
    background), with ``code`` in place of the test-time code when given -> [H, W, 3]."""
    import torch

    if code is None:
        return system.render_frame(frame)["rgb"]
    enc_a, eye, _ = system._conditioning(frame, False, None)
    pose = frame.pose.reshape(1, 6).to(enc_a.dtype)
    m = system.model

    def field(x, d):
        return m(x, d, enc_a, eye, code, pose=pose)

    with torch.no_grad():
        res = system.renderer.render_image(
            field, frame.c2w, frame.intrinsics.tolist(), frame.H, frame.W, frame.background,
            chunk=system.render_chunk, progress=False,
        )  # fmt: skip
    return res.rgb.clamp(0, 1)


def _score(rgbs: dict, frames: list, truth) -> dict:
    """{variant: {"psnr": mean PSNR over the frames, region keys: pooled PSNR}}."""
    from lokitalk_plugins.metrics.image import psnr

    out = {}
    for name, images in rgbs.items():
        row = {"psnr": float(np.mean([psnr(rgb, f.image) for rgb, f in zip(images, frames)]))}
        if truth is not None:
            from harness.measures import REGION_PSNR_KEYS, pooled_psnr, region_errors

            sums: dict = {}
            for rgb, f in zip(images, frames):
                for k, (e, n) in region_errors(rgb, f, truth).items():
                    s = sums.setdefault(k, [0.0, 0])
                    s[0] += e
                    s[1] += n
            row.update({REGION_PSNR_KEYS[k]: pooled_psnr(e, n) if n else None
                        for k, (e, n) in sums.items()})  # fmt: skip
        out[name] = row
    return out


@functools.lru_cache(maxsize=2)  # read once for all the workspaces of one folder
def _train_frames(data: Path, background: str, frames: int):
    """The training frames of ``data`` (over ``background``) the tables' "PSNR on train
    frames" renders: ``frames`` evenly spaced over the whole split (``workers.fit_picks``)."""
    from lokitalk_plugins.data import TalkingHeadFolder

    train = TalkingHeadFolder(data, split="train", background=background, progress=False)
    return [train[i] for i in fit_picks(len(train), frames)]


@functools.lru_cache(maxsize=2)
def _truth(data: Path):
    from lokitalk_plugins.data.studio import load_truth

    return load_truth(data) if Path(f"{data}.truth").is_dir() else None


def code_gap(workspace, data, frames: int = 8, background: str = "torso") -> dict:
    """The DH-NeRF of ``workspace`` on ``frames`` evenly spaced training frames of ``data``
    (over ``background``) under each of :data:`VARIANTS` -> {variant: {"psnr", regions}};
    a ValueError naming the workspace when its model is not a volume-rendered DH-NeRF."""
    import torch

    from lokitalk_plugins.baselines.dhnerf import DHNeRF
    from lokitalk_plugins.commands.workspace import load_system

    system = load_system(Path(workspace))[0]
    m = system.model
    if not isinstance(m, DHNeRF):
        raise ValueError(f"{workspace}: its model is a {type(m).__name__}, not a DH-NeRF")
    if system.neural_renderer is not None:
        raise ValueError(f"{workspace}: it renders through the 2D neural renderer; the code "
                         "gap is measured on volume-rendered DH-NeRFs")  # fmt: skip
    picked = _train_frames(Path(data), background, frames)
    n = int(m.coded_frames)
    if any(int(f.index) >= n for f in picked):
        raise ValueError(
            f"{workspace}: its model coded {n} training frames, fewer than the training split "
            f"of {Path(data).name}: trained on another folder?"
        )
    rgbs = {name: [] for name in VARIANTS}
    with torch.no_grad():
        for f in picked:
            for name, (own_ex, own_ill) in VARIANTS.items():
                code = None if name == "test time" else _variant_code(m, f.index, own_ex, own_ill)
                rgbs[name].append(_render(system, f, code))
    return _score(rgbs, picked, _truth(Path(data)))


def reference_fit(workspace, data, frames: int = 8, background: str = "torso") -> dict:
    """Any trained workspace's training frames rendered as its val frames are (the tables'
    "PSNR on train frames") -> {"psnr", regions}."""
    import torch

    from lokitalk_plugins.commands.workspace import load_system

    system = load_system(Path(workspace))[0]
    picked = _train_frames(Path(data), background, frames)
    with torch.no_grad():
        rgbs = [_render(system, f) for f in picked]
    return _score({"fit": rgbs}, picked, _truth(Path(data)))["fit"]


def _mean_std(values: list) -> str:
    vals = [v for v in values if v is not None]
    if not vals:
        return "n/a"
    std = f" ± {np.std(vals, ddof=1):.2f}" if len(vals) > 1 else ""
    return f"{np.mean(vals):.2f}{std}"


def markdown(report: dict) -> str:
    seeds, refs = report["seeds"], report.get("reference", [])
    names = list(VARIANTS) + (["reference"] if refs else [])
    rows = []
    for name in names:
        cells = [s["variants"][name] for s in seeds] if name in VARIANTS else \
            [r["fit"] for r in refs]  # fmt: skip
        label = f"{report['reference_method']} (as the table renders it)" if name == "reference" \
            else f"DH-NeRF, {name}"  # fmt: skip
        rows.append(f"| {label} | {len(cells)} | "
                    + " | ".join(_mean_std([c.get(k) for c in cells]) for k in ("psnr", *REGIONS))
                    + " |")  # fmt: skip
    per_seed = "; ".join(
        f"`{Path(s['workspace']).name}` " + ", ".join(f"{k} {v['psnr']:.2f}"
                                                     for k, v in s["variants"].items())
        for s in seeds
    )  # fmt: skip
    gains = {k: [s["variants"][k]["psnr"] - s["variants"]["test time"]["psnr"] for s in seeds]
             for k in VARIANTS if k != "test time"}  # fmt: skip
    lines = [
        f"# Where the DH-NeRF's PSNR goes: {report['method']} ({len(seeds)} workspace(s))",
        "",
        f"`{report['command']}` at commit `{report['commit'][:12]}`, on `{report['data']}`; "
        f"{report['frames']} evenly spaced training frames (the tables' PSNR on train frames), "
        f"over the `{report['background']}` background, one thread.",
        "",
        "| rendered with | workspaces | PSNR | head | torso + neck | background |",
        "| --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
        "Test time: the training frames' mean codes and C_ex from the audio (E(F_lip), w = 0), "
        "as every val frame is rendered; own C_ill / own C_ex: that code the frame's own "
        "learnt one (own C_ex: w = 1); own codes: both. C_id and C_al are one code for the "
        "clip. Paired gain over test time, per workspace: "
        + "; ".join(
            f"{k} " + ", ".join(f"{g:+.2f}" for g in v) + f" (mean {np.mean(v):+.2f})"
            for k, v in gains.items()
        )  # fmt: skip
        + ".",
        "",
        f"Per workspace: {per_seed}.",
    ]
    return "\n".join(lines) + "\n"


def _gaps(workspaces, data, frames: int, background: str) -> list[dict]:
    """:func:`code_gap` of each workspace on one thread, each said as it ends."""
    import torch

    torch.set_num_threads(1)
    out = []
    for ws in workspaces:
        variants = code_gap(ws, data, frames, background)
        out.append({"workspace": str(ws), "variants": variants})
        said = ", ".join(f"{k} {v['psnr']:.2f}" for k, v in variants.items())
        print(f"{Path(ws).name}: {said}", flush=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workspaces", nargs="+", required=True,
                    help="trained DH-NeRF workspaces on one folder (a row's seeds)")  # fmt: skip
    ap.add_argument("--reference", nargs="*", default=[],
                    help="trained workspaces of another method on the same folder")  # fmt: skip
    ap.add_argument("--method", default="DH-NeRF", help="the row the workspaces train")
    ap.add_argument("--reference-method", default="ER-NeRF", help="the reference's row")
    ap.add_argument("--frames", type=int, default=8, help="training frames rendered (8)")
    ap.add_argument(
        "--background",
        choices=["torso", "bc"],
        default="torso",
        help="the val background the table scores over (the DH-NeRF tables: torso)",
    )
    ap.add_argument("--out", default=str(RESULTS), help="where the JSON and markdown go")
    ap.add_argument("--tag", default="", help="suffix of the file names")
    args = ap.parse_args(argv)
    if args.frames < 1:
        print(f"error: --frames {args.frames}: give at least 1 training frame", file=sys.stderr)
        return 2
    data, error = trained_folder(args.workspaces, "--workspaces")
    if error is None and args.reference:
        ref_data, error = trained_folder(args.reference, "--reference")
        if error is None and ref_data != data:
            error = (f"--reference trains on {ref_data}, --workspaces on {data}; give workspaces "
                     "of one folder")  # fmt: skip
    if error is not None:
        print(f"error: {error}", file=sys.stderr)
        return 2
    import lokitalk_plugins.registration  # noqa: F401

    start = time.perf_counter()
    try:
        seeds = _gaps(args.workspaces, data, args.frames, args.background)
    except ValueError as e:
        print(f"error: --workspaces {e}; give a trained DH-NeRF workspace", file=sys.stderr)
        return 2
    refs = [{"workspace": str(ws), "fit": reference_fit(ws, data, args.frames, args.background)}
            for ws in args.reference]  # fmt: skip
    report = {
        "benchmark": "dhnerf_gap",
        "command": shlex.join(["python", "benchmarks/dhnerf_gap.py"] + sys.argv[1:])
        if argv is None else shlex.join(["python", "benchmarks/dhnerf_gap.py", *argv]),
        "commit": commit(), "machine": machine(1, 1), "method": args.method,
        "reference_method": args.reference_method, "data": str(data), "frames": args.frames,
        "background": args.background, "seeds": seeds, "reference": refs,
        "wall_seconds": time.perf_counter() - start,
    }  # fmt: skip
    stem = "dhnerf_gap" + (f"_{args.tag}" if args.tag else "")
    md = markdown(report)
    write_report(report, md, Path(args.out), stem)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
