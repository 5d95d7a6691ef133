"""Where a table's identities come from: the studio (default), or a user's preprocessed folders.

``--data studio`` trains and scores studio identity 0 and pre-trains on studio identities 1..;
``--data DIR [AUX ...]`` trains and scores DIR, and pre-trains (tables 1, 3, 4) on the further
folders AUX, or on studio identities when none are given, which needs DIR's audio features to
have the studio's channels. Nothing is ever written inside a user's folder: the shares of its
training frames (tables 3, 4) and the bundles live under the work folder.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["STUDIO_AUDIO_DIM", "DataSource", "audio_in_dim", "resolve_data"]

# channels of the studio's aud.npy (mel bands, lokitalk synth --n-mels default)
STUDIO_AUDIO_DIM = 32


def audio_in_dim(folder: Path) -> int:
    """K, the channels of a folder's audio features: the last axis of aud.npy ([N, 16, K]
    windows, or [N, 2, 1024] HuBERT pairs, or [N, K])."""
    import numpy as np

    return int(np.load(Path(folder) / "aud.npy", mmap_mode="r").shape[-1])


@dataclass
class DataSource:
    """The identity a table trains and scores, and the folders it pre-trains on.

    studio: True for the synthetic studio (ground truth: mouth/eye errors, lip sync,
    cross-driving); data: the folder; aux: user pre-training folders (empty: studio identities);
    label: how reports name the data; key: a short tag of the user's folders for cache names;
    variant: for a studio written with other options than the tables' (``--studio-blinks``,
    ``--studio-torso-follow``),
    the tag its result files and caches carry ("" for the tables' studio).
    """

    studio: bool
    data: Path
    aux: list[Path] = field(default_factory=list)
    label: str = ""
    key: str = "studio"
    variant: str = ""

    @property
    def audio_dim(self) -> int:
        return STUDIO_AUDIO_DIM if self.studio else audio_in_dim(self.data)

    def pretrain_folders(self, work: Path, count: int, prof: dict) -> list[Path]:
        """``count`` pre-training identities (fewer when fewer user folders were given)."""
        if self.aux:
            return self.aux[:count]
        if self.audio_dim != STUDIO_AUDIO_DIM:
            raise SystemExit(
                f"{self.data}: its audio features have {self.audio_dim} channels, the studio's "
                f"{STUDIO_AUDIO_DIM}, so it cannot fine-tune from studio pre-training; pass "
                "pre-training folders with the same audio features after it: --data DIR AUX1 "
                "AUX2 ..."
            )
        from .idakt_runs import aux_identities

        return aux_identities(work, count, prof["size"], prof["aux_seconds"])

    def pretrain_label(self, count: int) -> str:
        if self.aux:
            return f"{min(count, len(self.aux))} of the given folders ({len(self.aux)} given)"
        return f"studio identities 1..{count}"

    @property
    def suffix(self) -> str:
        """Added to a result file's stem for a user's folder, so the studio's results stay."""
        return self.variant if self.studio else f"_{self.data.name}"

    def portrait_box(self, *more: Path) -> tuple | None:
        """A user's folder's portrait box for ``configs/lokitalk_loss.gin`` (its PORTRAIT_AABB,
        through :func:`~.experiments.run_bindings`): the box
        :func:`~lokitalk_plugins.data.portrait.portrait_box` derives from its cameras and
        neck/torso parsing (and from ``more`` folders, e.g. the pre-training ones); None for
        the studio, whose box the config holds."""
        if self.studio:
            return None
        from lokitalk_plugins.data.portrait import portrait_box

        boxes = [portrait_box(f) for f in (self.data, *more)]
        box = tuple(min(b[i] for b in boxes) for i in range(3))
        return box + tuple(max(b[i] for b in boxes) for i in range(3, 6))

    def work_dir(self, work: Path, name: str) -> Path:
        """A folder under ``work`` private to this data source (bundles, frame shares)."""
        return Path(work) / (name + self.variant if self.studio else f"{name}_{self.key}")


def _check_folder(path: Path) -> Path:
    path = Path(path).resolve()
    missing = [n for n in ("transforms_train.json", "transforms_val.json", "aud.npy")
               if not (path / n).is_file()]  # fmt: skip
    if missing:
        raise SystemExit(
            f"--data {path}: not a preprocessed talking-head folder (missing {', '.join(missing)}"
            "); `lokitalk validate DIR` says what a folder needs"
        )
    return path


def resolve_data(
    args_data: list[str],
    work: Path,
    prof: dict,
    blink_gap: tuple | None = None,
    torso_follow: float | None = None,
    light_frame: str | None = None,
) -> DataSource:
    """``--data`` -> DataSource: ``["studio"]`` writes/reuses studio identity 0 under ``work``
    (with blinks ``blink_gap`` = (lo, hi) s apart instead of 2-6 s when given: an isolating
    ablation of the eye feature's map; with the torso following the head ``torso_follow`` of
    the way: one of the torso field's; with the key light attached to the head, ``light_frame``
    'head': another); folders are checked (train/val transforms and
    aud.npy), and every pre-training folder must have the first folder's audio channels."""
    from .common import blink_tag, light_tag, studio_identity, torso_tag

    options = ((blink_gap, "--studio-blinks", "blinks"),
               (torso_follow, "--studio-torso-follow", "torso's motion"),
               (light_frame, "--studio-light-frame", "light"))  # fmt: skip
    for value, flag, why in options:
        if value is not None and list(args_data) != ["studio"]:
            raise SystemExit(f"{flag}: only with --data studio (the {why} of a user's folder "
                             "are in its video)")  # fmt: skip
    if list(args_data) == ["studio"]:
        data = studio_identity(work, 0, prof["size"], prof["seconds"], blink_gap, torso_follow,
                               light_frame)  # fmt: skip
        what, variant = [], ""
        if blink_gap is not None:
            what.append("blinks every {:g}-{:g} s".format(*blink_gap))
            variant += blink_tag(blink_gap)
        if torso_follow is not None:
            what.append(f"the torso following the head {torso_follow:g} of the way")
            variant += torso_tag(torso_follow)
        if light_tag(light_frame):
            what.append(f"the key light attached to the {light_frame}")
            variant += light_tag(light_frame)
        label = "the studio (" + ", ".join(["identity 0"] + what) + ")"
        return DataSource(True, data, label=label, variant=variant)
    if "studio" in args_data:
        raise SystemExit("--data: give 'studio' alone, or folders only")
    folders = [_check_folder(Path(d)) for d in args_data]
    data, aux = folders[0], folders[1:]
    k = audio_in_dim(data)
    for a in aux:
        if audio_in_dim(a) != k:
            raise SystemExit(
                f"--data: {a} has {audio_in_dim(a)} audio channels, {data} has {k}: every "
                "folder needs the same audio features"
            )
    if data in aux:
        raise SystemExit(f"--data: {data} is both the identity to score and a pre-training one")
    key = hashlib.sha1("\n".join(str(f) for f in folders).encode()).hexdigest()[:10]
    return DataSource(False, data, aux, label=str(data), key=f"{data.name}_{key}")
