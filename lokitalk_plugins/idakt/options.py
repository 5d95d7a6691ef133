"""``IDAKTOptions``: the options of ID-AKT a user chooses, checked before anything is built.

``wrap(backbone, rsdf=..., idakt=...)`` takes ``idakt=True`` (the defaults), a dict of these
options (e.g. from a gin file: ``wrap.idakt = {'feature_dim': 128, 'offset_dim': 16}``) or an
``IDAKTOptions``; the sizes that must fit the backbone and the deformation field (appearance,
geometry, hyper layers, dynamic = rsdf.id_dim) are filled in by ``wrap`` itself.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

__all__ = ["IDAKTOptions"]


@dataclass(frozen=True)
class IDAKTOptions:
    """feature_dim: the ID-Encoder's output (128); offset_dim: the canonical-offset code
    (16); dynamic_dim: F_id (None: rsdf.id_dim, or 16; when given it must equal
    rsdf.id_dim for a field that takes F_id); encoder:
    further IDEncoder keyword arguments; offset_freqs, offset_hidden, offset_layers: the
    shared canonical offset field; dynamic: on a bare backbone (no deformation field), True
    applies the dynamic half too (F_id and hyper-network last layers in the backbone's own
    dynamic MLPs, the paper's whole ID-AKT), False only the static half (an ablation); with
    RSDF the dynamic half always conditions RSDF's MLPs, so False is refused there."""

    feature_dim: int = 128
    offset_dim: int = 16
    dynamic_dim: int | None = None
    encoder: dict = field(default_factory=dict)
    offset_freqs: int = 4
    offset_hidden: int = 32
    offset_layers: int = 3
    dynamic: bool = True

    def __post_init__(self):
        names = ("feature_dim", "offset_dim", "offset_hidden", "offset_layers")
        sizes = {f: getattr(self, f) for f in names}
        if self.dynamic_dim is not None:
            sizes["dynamic_dim"] = self.dynamic_dim
        bad = {k: v for k, v in sizes.items() if not isinstance(v, int) or v < 1}
        if bad or not isinstance(self.offset_freqs, int) or self.offset_freqs < 0:
            raise ValueError(
                f"idakt options: sizes must be integers >= 1 (offset_freqs >= 0), got "
                f"{bad or {'offset_freqs': self.offset_freqs}}"
            )
        if not isinstance(self.dynamic, bool):
            raise ValueError(f"idakt option dynamic must be True or False, got {self.dynamic!r}")

    @classmethod
    def parse(cls, value) -> IDAKTOptions:
        """True -> the defaults; a dict -> its options (unknown names refused with the list
        of known ones); an IDAKTOptions as it is."""
        if isinstance(value, cls):
            return value
        if value is True:
            return cls()
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise ValueError(
                f"idakt: unknown option(s) {unknown}; the options are {known} (the sizes "
                "appearance_dim, geometry_dim, hyper_layers come from the backbone and rsdf)"
            )
        return cls(**value)

    def kwargs(self) -> dict:
        """The options as IDAKT keyword arguments (dynamic_dim left out when None; dynamic is
        the wrap's choice of layers, not an IDAKT argument)."""
        out = asdict(self)
        del out["dynamic"]
        if out["dynamic_dim"] is None:
            del out["dynamic_dim"]
        return out
