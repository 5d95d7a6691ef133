"""Expose an owned occupancy grid's buffers under the originals' top-level names.

The originals keep ``aabb_train``, ``aabb_infer``, ``density_grid``, ``density_bitfield`` and
``step_counter`` directly on the model. A backbone built on our modules owns an
:class:`~lokitalk_plugins.render.grid.OccupancyGrid` as a submodule (so ``.to()`` and
``load_state_dict`` handle it) and calls :func:`expose_grid_buffers` once: its state_dict then
shows the grid buffers at the top level, and a checkpoint with top-level names loads into the
grid (strict loading included).
"""

from __future__ import annotations

from torch import nn

__all__ = ["GRID_BUFFERS", "expose_grid_buffers"]

GRID_BUFFERS = ("aabb_train", "aabb_infer", "density_grid", "density_bitfield", "step_counter")


def expose_grid_buffers(owner: nn.Module, attr: str = "grid") -> None:
    """Rename ``{attr}.{buffer}`` <-> ``{buffer}`` in owner's state_dict save and load.

    owner: the module holding the grid as ``owner.<attr>``. Keys already in the ``attr.``
    form still load, so our own checkpoints and the originals' both work.
    """
    if not isinstance(getattr(owner, attr, None), nn.Module):
        raise AttributeError(f"{type(owner).__name__} has no submodule {attr!r} to expose")

    def save_hook(module, state_dict, prefix, local_metadata):
        for name in GRID_BUFFERS:
            inner = f"{prefix}{attr}.{name}"
            if inner in state_dict:
                state_dict[f"{prefix}{name}"] = state_dict.pop(inner)

    def load_hook(module, state_dict, prefix, *args):
        for name in GRID_BUFFERS:
            outer = f"{prefix}{name}"
            if outer in state_dict:
                state_dict[f"{prefix}{attr}.{name}"] = state_dict.pop(outer)

    owner.register_state_dict_post_hook(save_hook)
    owner.register_load_state_dict_pre_hook(load_hook)
