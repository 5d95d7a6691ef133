"""``lokitalk render``: drive a trained workspace with other audio and write an mp4."""

from __future__ import annotations

__all__ = ["HELP", "configure", "run"]

HELP = "Render a trained workspace driven by audio features or a wav to an mp4 at 25 fps."


def configure(parser) -> None:
    parser.add_argument("--workspace", required=True, help="folder written by lokitalk train")
    parser.add_argument("--out", required=True, help="output .mp4")
    parser.add_argument("--audio-features", default=None, help="[M, 16, K] or [M, 2, 1024] .npy")
    parser.add_argument("--audio", default=None,
                        help="speech .wav: featurized like the training data when the model "
                             "was trained on studio features; muxed into the video")  # fmt: skip
    parser.add_argument("--side-by-side", action="store_true", help="add the ground truth")
    parser.add_argument("--depth", action="store_true", help="add the depth map")
    parser.add_argument("--max-frames", type=int, default=None)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    from pathlib import Path

    import numpy as np

    from lokitalk_plugins.train import render_video
    from lokitalk_plugins.train.drive import prepare_audio

    from .workspace import load_dataset, load_system

    feats = None
    if args.audio_features:  # layout and finite values checked before the model is loaded
        prepare_audio(args.audio_features)
        feats = np.load(args.audio_features, allow_pickle=False)
    system, run_info, stage = load_system(Path(args.workspace))
    data = load_dataset(run_info, stage, "train", progress=not args.quiet)
    render_video(
        system, data, args.out, audio_features=feats, audio_wav=args.audio,
        featurizer=run_info.get("featurizer"), side_by_side=args.side_by_side,
        depth=args.depth, max_frames=args.max_frames, progress=not args.quiet,
    )  # fmt: skip
    print(f"wrote {args.out}")
    return 0
