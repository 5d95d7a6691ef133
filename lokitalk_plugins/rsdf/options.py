"""The deformation plug-ins' options as config dataclasses (as ``IDAKTOptions`` is ID-AKT's).

>>> opts = RSDFOptions.parse({"hidden": 32, "id_dim": 16})   # unknown names refused
>>> field = opts.build(audio_dim=32)                           # an RSDF with those options
>>> JointDeformationOptions(hidden=0)                          # ValueError: sizes must be >= 1

Each option set is checked on its own in ``__post_init__`` (sizes, bound, grid keys); ``wrap()``
checks it against the backbone and the other plug-ins (F_a's size, F_e, F_h, ID-AKT). RSDF and
JointDeformation build theirs from their keyword arguments (``field.options``), so gin
bindings (``RSDF.hidden = 32``) keep working and are checked the same way. ``audio_dim``
None: the wrap's F_a size, filled in by ``wrap()``.
"""

from __future__ import annotations

import inspect
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .fields import point_encoder

__all__ = ["JointDeformationOptions", "RSDFOptions", "parse_options"]

GRID_KEYS = tuple(p for p in inspect.signature(point_encoder).parameters if p != "bound")


def _check(label: str, sizes: dict[str, Any], bound: float, grid: dict | None) -> None:
    bad = {k: v for k, v in sizes.items() if v is not None and (not isinstance(v, int) or v < 1)}
    if bad:
        raise ValueError(f"{label} options: sizes must be integers >= 1, got {bad}")
    if not bound > 0:
        raise ValueError(f"{label} options: bound must be > 0, got {bound}")
    if grid is not None:
        unknown = sorted(set(grid) - set(GRID_KEYS)) if isinstance(grid, dict) else [grid]
        if unknown:
            raise ValueError(
                f"{label} options: grid takes a dict of {list(GRID_KEYS)}, got {unknown}"
            )


def parse_options(cls, value, label: str):
    """``value`` as ``cls``: True -> the defaults; a dict -> its options (unknown names
    refused with the known ones); a ``cls`` as it is."""
    if isinstance(value, cls):
        return value
    if value is True:
        return cls()
    if not isinstance(value, dict):
        raise ValueError(f"{label} options: expected True, a dict or {cls.__name__}, got {value!r}")
    known = [f.name for f in fields(cls)]
    unknown = sorted(set(value) - set(known))
    if unknown:
        raise ValueError(f"{label}: unknown option(s) {unknown}; the options are {known}")
    return cls(**value)


@dataclass(frozen=True)
class RSDFOptions:
    """The keyword arguments of :class:`~lokitalk_plugins.rsdf.RSDF` (see there), checked:
    sizes >= 1 (id_dim >= 0: 0 is no ID-AKT), bound > 0, grid keys of ``point_encoder``."""

    audio_dim: int | None = None
    eye_dim: int = 1
    pose_dim: int = 6
    torso: bool = True
    hidden: int = 64
    num_layers: int = 3
    att_dim: int = 16
    att_hidden: int = 32
    shared_encoding: bool = True
    bound: float = 1.0
    grid: dict | None = field(default=None, hash=False)
    id_dim: int = 0
    torso_cascade: bool = True
    pose_norm: bool = False

    def __post_init__(self):
        names = ("audio_dim", "eye_dim", "pose_dim", "hidden", "num_layers", "att_dim")
        sizes = {n: getattr(self, n) for n in (*names, "att_hidden")}
        _check("rsdf", sizes, self.bound, self.grid)
        if not isinstance(self.id_dim, int) or self.id_dim < 0:
            raise ValueError(f"rsdf options: id_dim must be an integer >= 0, got {self.id_dim}")
        if not isinstance(self.torso_cascade, bool):
            raise ValueError(
                f"rsdf options: torso_cascade must be True or False, got {self.torso_cascade!r}"
            )
        if not isinstance(self.pose_norm, bool):
            raise ValueError(
                f"rsdf options: pose_norm must be True or False, got {self.pose_norm!r}"
            )

    @classmethod
    def parse(cls, value) -> RSDFOptions:
        return parse_options(cls, value, "rsdf")

    def build(self, **overrides):
        """The :class:`~lokitalk_plugins.rsdf.RSDF` of these options (``overrides`` win)."""
        from .rsdf import RSDF

        return RSDF(**{**asdict(self), **overrides})


@dataclass(frozen=True)
class JointDeformationOptions:
    """The keyword arguments of :class:`~lokitalk_plugins.rsdf.JointDeformation`, checked:
    sizes >= 1, bound > 0, grid keys of ``point_encoder``."""

    audio_dim: int | None = None
    eye_dim: int = 1
    pose_dim: int = 6
    hidden: int = 64
    num_layers: int = 3
    bound: float = 1.0
    grid: dict | None = field(default=None, hash=False)

    def __post_init__(self):
        names = ("audio_dim", "eye_dim", "pose_dim", "hidden", "num_layers")
        _check("joint deformation", {n: getattr(self, n) for n in names}, self.bound, self.grid)

    @classmethod
    def parse(cls, value) -> JointDeformationOptions:
        return parse_options(cls, value, "joint deformation")

    def build(self, **overrides):
        """The :class:`~lokitalk_plugins.rsdf.JointDeformation` of these options."""
        from .joint import JointDeformation

        return JointDeformation(**{**asdict(self), **overrides})
