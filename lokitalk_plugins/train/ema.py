"""Exponential moving average of trained parameters, by name, as the originals keep it.

After every optimiser step each tracked parameter's shadow moves towards it:

    d_t = min(decay, (1 + t) / (10 + t))   with warmup (t = updates so far), else decay
    shadow <- d_t * shadow + (1 - d_t) * param

Evaluation renders with the shadow swapped in (``with ema.swapped(): ...``); the raw weights
come back afterwards, bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import torch
from torch import nn

__all__ = ["EMA"]


class EMA:
    """Shadow copies of ``named_params`` (``(name, parameter)`` pairs, e.g. trainable ones).

    decay: in (0, 1), 0.95 in RAD-NeRF and ER-NeRF; warmup: use the smaller decay
    (1 + t) / (10 + t) for the first updates (t counts updates), as the originals' EMA does.
    The shadow lives on each parameter's device, in float32 or the parameter's dtype.
    """

    def __init__(
        self,
        named_params: Iterable[tuple[str, nn.Parameter]],
        decay: float = 0.95,
        warmup: bool = True,
    ):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}")
        self.decay, self.warmup = float(decay), bool(warmup)
        self.params: dict[str, nn.Parameter] = dict(named_params)
        self.shadow: dict[str, torch.Tensor] = {
            n: p.detach().clone() for n, p in self.params.items()
        }
        self.num_updates = 0

    def current_decay(self) -> float:
        """The decay the next ``update`` uses."""
        if not self.warmup:
            return self.decay
        t = self.num_updates
        return min(self.decay, (1.0 + t) / (10.0 + t))

    @torch.no_grad()
    def update(self) -> None:
        """shadow <- d * shadow + (1 - d) * param for every tracked parameter."""
        d = self.current_decay()
        for name, p in self.params.items():
            self.shadow[name].lerp_(p.detach().to(self.shadow[name].dtype), 1.0 - d)
        self.num_updates += 1

    @contextmanager
    def swapped(self) -> Iterator[None]:
        """Within the block the parameters hold the shadow values; restored on exit."""
        backup = {n: p.detach().clone() for n, p in self.params.items()}
        with torch.no_grad():
            for n, p in self.params.items():
                p.copy_(self.shadow[n])
        try:
            yield
        finally:
            with torch.no_grad():
                for n, p in self.params.items():
                    p.copy_(backup[n])

    @torch.no_grad()
    def copy_to_params(self) -> None:
        """Overwrite the parameters with the shadow (e.g. to export EMA weights)."""
        for n, p in self.params.items():
            p.copy_(self.shadow[n])

    def state_dict(self) -> dict:
        """Tensors and numbers only (loads with ``torch.load(weights_only=True)``)."""
        return {
            "decay": self.decay,
            "warmup": self.warmup,
            "num_updates": self.num_updates,
            "shadow": {n: t.detach().clone() for n, t in self.shadow.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        names, saved = set(self.shadow), set(state["shadow"])
        if names != saved:
            missing, extra = sorted(names - saved), sorted(saved - names)
            raise KeyError(
                f"EMA state does not match the parameters: missing {missing}, unexpected {extra}"
            )
        for n, t in state["shadow"].items():
            self.shadow[n].copy_(t)
        self.num_updates = int(state["num_updates"])
