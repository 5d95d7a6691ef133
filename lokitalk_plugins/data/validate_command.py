"""``lokitalk validate DIR``: check a preprocessed folder and list every problem."""

from __future__ import annotations

import argparse

__all__ = ["HELP", "configure", "run"]

HELP = "Check a preprocessed talking-head folder (RAD-NeRF / ER-NeRF layout) before training."


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", help="the preprocessed folder")
    parser.add_argument(
        "--audio-file",
        default="aud.npy",
        help="audio features under DIR: aud.npy, aud_ds.npy, aud_eo.npy, aud_hu.npy or any "
        "name (default aud.npy)",
    )
    parser.add_argument(
        "--eye-source",
        default="landmarks",
        choices=["landmarks", "area", "au45", "auto"],
        help="where the eye value comes from; au45 also checks au.csv (default landmarks)",
    )
    parser.add_argument(
        "--pose-source",
        default="camera",
        choices=["camera", "track"],
        help="where the head pose comes from; track also checks track_params.pt",
    )
    parser.add_argument(
        "--no-parsing-colours", action="store_true", help="skip decoding the parsing images"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lokitalk_plugins.data.audio import audio_layout
    from lokitalk_plugins.data.frame_signals import describe_eye_source
    from lokitalk_plugins.data.readers import image_size
    from lokitalk_plugins.data.transforms import load_transforms
    from lokitalk_plugins.data.validate import SPLITS, audio_shape, validate_folder

    root = Path(args.dir)
    problems = validate_folder(
        root,
        audio_file=args.audio_file,
        eye_source=args.eye_source,
        pose_source=args.pose_source,
        check_parsing=not args.no_parsing_colours,
        progress=not args.quiet,
    )
    if problems:
        print(f"{len(problems)} problem(s) in {root}:")
        for p in problems:
            print(f"  - {p.message}")
        return 1
    counts = {s: len(load_transforms(root / name).frames) for s, name in SPLITS.items()}
    first = load_transforms(root / SPLITS["train"]).frames[0].img_id
    H, W = image_size(root / f"gt_imgs/{first}.jpg")
    shape = audio_shape(root / args.audio_file)
    layout = "HuBERT " if audio_layout(shape) == "hubert" else ""
    print(
        f"OK: {sum(counts.values())} frames ({counts['train']} train, {counts['val']} val), "
        f"{H}x{W}, audio {layout}[{', '.join(str(d) for d in shape)}]"
    )
    img_ids = [f.img_id for name in SPLITS.values() for f in load_transforms(root / name).frames]
    source, warning = describe_eye_source(root, args.eye_source, img_ids)
    print(f"eye source: {source}" + (" (AU45_r of au.csv)" if source == "au45" else ""))
    if warning:
        print(f"warning: {warning}")
    return 0
