"""Wall-clock phases of training steps, measured from outside the library (for
benchmarks/train_speed.py): module forward hooks for encoders and MLPs, wrappers around the
renderer's marching and compositing, the pipeline's ray sampling, the occupancy update, the
backward pass and the optimiser step, and validation (kept apart, not a training phase).

A phase entered while another one runs counts for the outer one (an occupancy update's
encoders and MLPs are grid upkeep), so the phases never overlap and "other" is the rest of
the training wall time. A name missing from the installed library (an older checkout) is
skipped: its time lands in "other".
"""

from __future__ import annotations

import importlib
import time

__all__ = ["PHASES", "PhaseClock"]

PHASES = ("ray_sampling", "encoders", "mlps", "compositing", "backward", "optimizer",
          "grid_upkeep", "other")  # fmt: skip

# (module, attribute, phase): functions replaced by timed wrappers in that module
FUNCTIONS = (
    ("lokitalk_plugins.render.renderer", "march_rays", "ray_sampling"),
    ("lokitalk_plugins.render.renderer", "composite", "compositing"),
    ("lokitalk_plugins.pipeline.system", "sample_random_rays", "ray_sampling"),
    ("lokitalk_plugins.pipeline.system", "sample_patches", "ray_sampling"),
    ("lokitalk_plugins.train.trainer", "validate_frame", "validation"),
)
# (module, class, method, phase): methods replaced by timed wrappers on the class
METHODS = (("lokitalk_plugins.render.grid", "OccupancyGrid", "update", "grid_upkeep"),)
ENCODERS = ("GridEncoder", "FrequencyEncoder", "SHEncoder")


class PhaseClock:
    """Seconds per phase since :meth:`reset`; :meth:`install` puts the probes in place."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self._active: str | None = None
        self._start = 0.0

    def reset(self) -> None:
        self.seconds, self._active = {}, None

    def enter(self, phase: str) -> bool:
        if self._active is not None:
            return False
        self._active, self._start = phase, time.perf_counter()
        return True

    def leave(self) -> None:
        if self._active is not None:
            dt = time.perf_counter() - self._start
            self.seconds[self._active] = self.seconds.get(self._active, 0.0) + dt
            self._active = None

    def timed(self, phase: str, fn):
        def wrapper(*args, **kwargs):
            outer = self.enter(phase)
            try:
                return fn(*args, **kwargs)
            finally:
                if outer:
                    self.leave()

        return wrapper

    def shares(self, total: float) -> dict[str, float]:
        """Share of ``total`` seconds per phase of PHASES ("other" = the rest), sums to 1."""
        out = {p: self.seconds.get(p, 0.0) / total for p in PHASES if p != "other"}
        out["other"] = max(0.0, 1.0 - sum(out.values()))
        return out

    @classmethod
    def install(cls) -> PhaseClock:
        import torch

        clock = cls()
        for module, name, phase in FUNCTIONS:
            mod = _module(module)
            if mod is not None and hasattr(mod, name):
                setattr(mod, name, clock.timed(phase, getattr(mod, name)))
        for module, klass, name, phase in METHODS:
            owner = getattr(_module(module), klass, None)
            if owner is not None:
                setattr(owner, name, clock.timed(phase, getattr(owner, name)))
        clock._hook_modules(torch)
        clock._hook_backward(torch)
        return clock

    def _hook_modules(self, torch) -> None:
        kinds = []
        enc = _module("lokitalk_plugins.encoding")
        kinds += [(getattr(enc, n), "encoders") for n in ENCODERS if hasattr(enc, n)]
        layers = _module("lokitalk_plugins.layers")
        if layers is not None and hasattr(layers, "MLP"):
            kinds.append((layers.MLP, "mlps"))
        entered: dict[int, bool] = {}

        def pre(module, _inputs):
            for klass, phase in kinds:
                if isinstance(module, klass):
                    entered[id(module)] = self.enter(phase)

        def post(module, _inputs, _output):
            if entered.pop(id(module), False):
                self.leave()

        torch.nn.modules.module.register_module_forward_pre_hook(pre)
        torch.nn.modules.module.register_module_forward_hook(post)

    def _hook_backward(self, torch) -> None:
        """Time Tensor.backward and Optimizer.step (every optimiser's step goes through the
        class's own ``step``, so the Adam / AdamW subclasses are wrapped)."""
        torch.Tensor.backward = self.timed("backward", torch.Tensor.backward)
        for klass in (torch.optim.Adam, torch.optim.AdamW):
            klass.step = self.timed("optimizer", klass.step)


def _module(name: str):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None
