"""``lokitalk synth``: write synthetic studio identities (folders + ground truth + previews)."""

from __future__ import annotations

from lokitalk_plugins.errors import OptionError

__all__ = ["HELP", "configure", "run"]

HELP = "Render synthetic talking-head identities into RAD-NeRF/ER-NeRF folders with ground truth."


def configure(parser) -> None:
    parser.add_argument("--identities", type=int, default=3, help="number of identities")
    parser.add_argument("--first", type=int, default=0, help="seed of the first identity")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each video")
    parser.add_argument("--size", type=int, default=128, help="image size in pixels (square)")
    parser.add_argument("--fps", type=int, default=25, help="video frame rate")
    parser.add_argument("--n-mels", type=int, default=32, help="mel bands of aud.npy")
    parser.add_argument("--seed", type=int, default=0, help="seed of motion, blinks and speech")
    parser.add_argument("--out", required=True, help="output directory (gets id000, id001, ...)")
    parser.add_argument("--preview", action="store_true",
                        help="also write <out>/idNNN.preview.png contact sheets")  # fmt: skip
    parser.add_argument("--workers", type=int, default=1,
                        help="parallel processes, one identity each (one per core)")  # fmt: skip
    parser.add_argument("--lighting", action="store_true",
                        help="a moving key light (its track in the truth files)")  # fmt: skip
    parser.add_argument("--blink-gap", type=float, nargs=2, metavar=("LO", "HI"), default=None,
                        help="seconds between blinks, drawn uniformly in LO..HI (default 2 6); "
                        "kept in the truth files")  # fmt: skip
    parser.add_argument("--torso-follow", type=float, metavar="K", default=None,
                        help="the torso follows the head K of the way (0..1; 1: carried by the "
                        "head), so it moves (1 - K) as much against the head; kept in the truth "
                        "files")  # fmt: skip
    parser.add_argument("--light-frame", choices=["camera", "head"], default=None,
                        help="what the fixed key light is attached to: the camera (default; "
                        "the head's shading changes as it turns) or the head (it does not); "
                        "kept in the truth files")  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    from .studio.motion import check_blink_gap, check_torso_follow
    from .studio.preview import write_preview
    from .studio.synth import synth

    if args.blink_gap is not None:
        try:
            check_blink_gap(args.blink_gap)
        except ValueError as e:
            raise OptionError(f"--blink-gap: {e}".replace("blink_gap: ", "")) from None
    if args.torso_follow is not None:
        try:
            check_torso_follow(args.torso_follow)
        except ValueError as e:
            raise OptionError(f"--torso-follow: {e}".replace("torso_follow: ", "")) from None

    if args.light_frame == "head" and args.lighting:
        raise OptionError("--light-frame head attaches the fixed light to the head and "
                          "--lighting moves the light: give one of them")  # fmt: skip

    folders = synth(
        args.out,
        identities=args.identities,
        seconds=args.seconds,
        size=args.size,
        seed=args.seed,
        fps=args.fps,
        n_mels=args.n_mels,
        first=args.first,
        progress=not args.quiet,
        workers=args.workers,
        lighting=args.lighting,
        blink_gap=args.blink_gap,
        torso_follow=args.torso_follow,
        light_frame=args.light_frame,
    )
    for folder in folders:
        line = f"wrote {folder} (ground truth: {folder}.truth)"
        if args.preview:
            line += f", preview: {write_preview(folder)}"
        print(line)
    return 0
