"""Backbone registry: adapter classes keyed by name, with third-party entry points.

Built in: ``rad_nerf`` (:class:`RADNeRFAdapter`), ``er_nerf`` (:class:`ERNeRFAdapter`) and
``dhnerf`` (:class:`DHNeRFAdapter`, the Disentangling Head NeRF).
A third-party package registers its backbone by declaring, in its pyproject.toml::

    [project.entry-points."lokitalk_plugins.backbones"]
    my_nerf = "my_package.adapter:MyNeRFAdapter"

The group is read lazily, once, the first time a name is not found or a model is detected;
each entry point's name is the backbone name and its object a :class:`BackboneAdapter`
subclass. A name is registered once: a duplicate (built in, registered or from an entry
point) is refused with ValueError.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from .contract import BackboneAdapter
from .dhnerf import DHNeRFAdapter
from .er_nerf import ERNeRFAdapter
from .rad_nerf import RADNeRFAdapter

__all__ = [
    "ENTRY_POINT_GROUP",
    "adapt",
    "available_backbones",
    "get_adapter",
    "register_backbone",
]

ENTRY_POINT_GROUP = "lokitalk_plugins.backbones"

_REGISTRY: dict[str, type[BackboneAdapter]] = {}
_entry_points_loaded = False


def register_backbone(name: str, adapter_cls: type[BackboneAdapter]) -> type[BackboneAdapter]:
    """Register ``adapter_cls`` (a :class:`BackboneAdapter` subclass) under ``name``.

    Raises ValueError when the name is taken, TypeError when adapter_cls is not an adapter
    class. Returns adapter_cls (usable as a decorator through functools.partial).
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"a backbone name must be a non-empty string, got {name!r}")
    if not (isinstance(adapter_cls, type) and issubclass(adapter_cls, BackboneAdapter)):
        raise TypeError(f"{name!r}: expected a BackboneAdapter subclass, got {adapter_cls!r}")
    if name in _REGISTRY:
        raise ValueError(
            f"backbone {name!r} is already registered (by {_REGISTRY[name].__qualname__}); "
            "choose another name"
        )
    _REGISTRY[name] = adapter_cls
    return adapter_cls


def _load_entry_points() -> None:
    """Register every adapter of the ``lokitalk_plugins.backbones`` group (once)."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            adapter_cls = ep.load()
        except Exception as err:  # a broken plug-in package: say which one
            raise ImportError(
                f"entry point {ep.name!r} = {ep.value!r} of group {ENTRY_POINT_GROUP!r} "
                f"failed to load: {err}"
            ) from err
        register_backbone(ep.name, adapter_cls)


def available_backbones() -> list[str]:
    """Sorted names of every registered backbone (entry points included)."""
    _load_entry_points()
    return sorted(_REGISTRY)


def get_adapter(name_or_model) -> type[BackboneAdapter]:
    """The adapter class for a backbone name (``"rad_nerf"``) or a model object.

    A model is matched by its submodule names: every adapter whose ``required`` names the
    model has fits; the one requiring the most names wins (the most specific). KeyError for
    an unknown name; ValueError when no adapter (or two equally specific ones) fit a model.
    """
    if isinstance(name_or_model, str):
        name = name_or_model
        if name not in _REGISTRY:
            _load_entry_points()
        if name not in _REGISTRY:
            raise KeyError(f"unknown backbone {name!r}; registered: {sorted(_REGISTRY)}")
        return _REGISTRY[name]
    _load_entry_points()
    model = name_or_model
    fits = [cls for cls in _REGISTRY.values() if cls.matches(model)]
    if not fits:
        raise ValueError(
            f"no registered backbone adapter fits {type(model).__name__}: "
            f"registered {sorted(_REGISTRY)}, each needs its original submodule names"
        )
    best = max(len(cls.required) for cls in fits)
    top = [cls for cls in fits if len(cls.required) == best]
    if len(top) > 1:
        names = sorted(cls.name or cls.__qualname__ for cls in top)
        raise ValueError(f"{type(model).__name__} fits several adapters equally: {names}")
    return top[0]


def adapt(model, backbone: str | None = None) -> BackboneAdapter:
    """An adapter instance bound to ``model``: by ``backbone`` name, else detected."""
    return get_adapter(backbone if backbone is not None else model)(model)


register_backbone(RADNeRFAdapter.name, RADNeRFAdapter)
register_backbone(ERNeRFAdapter.name, ERNeRFAdapter)
register_backbone(DHNeRFAdapter.name, DHNeRFAdapter)
