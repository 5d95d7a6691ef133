"""``lokitalk eval``: metrics of a trained workspace on the val split, saved as JSON."""

from __future__ import annotations

from .fast_path_options import add_fast_path_options, apply_fast_path, fast_path_settings
from .workspace_configs import add_import_option, add_render_bind_option, trust_imports

__all__ = ["HELP", "configure", "run"]

HELP = "Evaluate a trained workspace on the val split (PSNR, SSIM, LPIPS, LMD, FPS, size)."


def configure(parser) -> None:
    parser.add_argument("--workspace", required=True, help="folder written by lokitalk train")
    parser.add_argument("--max-frames", type=int, default=None, help="evaluate fewer frames")
    parser.add_argument("--out", default=None, help="JSON path (default WORKSPACE/eval.json)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_import_option(parser)
    add_render_bind_option(parser)
    add_fast_path_options(parser)


def run(args) -> int:
    from pathlib import Path

    from lokitalk_plugins.train.eval_report import save_eval
    from lokitalk_plugins.train.evaluate import evaluate

    from .workspace import load_dataset, load_system

    trust_imports(args)
    system, run_info, stage = load_system(Path(args.workspace), args.bind)
    problem = apply_fast_path(system, args)
    if problem:
        print(f"error: {problem}")
        return 2
    data = Path(run_info["data"])
    val = load_dataset(run_info, stage, "val", progress=not args.quiet)
    truth = None
    try:
        from lokitalk_plugins.data.studio import load_truth

        truth = load_truth(data)
    except FileNotFoundError:
        pass  # a user's folder: studio-only metrics are n/a
    result = evaluate(system, val, truth=truth, max_frames=args.max_frames,
                      progress=not args.quiet)  # fmt: skip
    result["stage"] = stage
    if args.bind:
        result["render_bindings"] = list(args.bind)
    if fast_path_settings(args) is not None:
        result["fast_path"] = fast_path_settings(args)
    out = Path(args.out) if args.out else Path(args.workspace) / "eval.json"
    save_eval(result, out, out.with_suffix(".md"))
    print(out.with_suffix(".md").read_text())
    return 0
