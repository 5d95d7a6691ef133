"""ID-AKT's dynamic half on a bare backbone (LokiTalk sec. 3.3, Table 4: no deformation field).

The paper feeds the identity's dynamic feature F_id, concatenated with the driving signal,
into "the MLPs which learn the deformation fields" and replaces their last layer by a
hyper-network. A bare backbone has no deformation field; its dynamics live in the MLPs through
which the driving signals reach the canonical field, and those are the ones ID-AKT conditions
(each adapter names them in ``dynamic_mlps``):

- ER-NeRF: ``aud_ch_att_net`` and ``eye_att_net``, the region attention: they decide, per
  point, how much of each audio channel and of the eye value acts there (the original's only
  dynamic path into the density). ``sigma_net`` and ``color_net`` are the static decoders,
  which the static half already conditions (geometry and appearance features). The audio
  encoder (``audio_net``, ``audio_att_net``) is left identity-free: it makes the driving
  signal F_a, which the paper concatenates with F_id rather than conditions, and it stays the
  same signal as in the RSDF setting.
- RAD-NeRF: ``ambient_net``, whose input is already the point encoding with F_a (the
  ambient coordinate of the audio-driven topology): F_id joins that input. Its eye value goes
  straight into ``sigma_net``, with no MLP of its own.

How (the backbone's math stays in ``baselines/*/field.py``, which takes the conditioned MLPs
as stand-ins by name): for an MLP of bias-free layers W_0 .. W_L (ReLU between),

    h_0 = W_0 x + C F_id,   h_L = (W_L + ΔW) h_{L-1},   ΔW = hyper-network(f) [out, in]

where C [width_0, Dd] are ID-AKT's F_id input columns (``id_inputs``). C and ΔW start at
zero, so the wrapped backbone renders exactly as the bare one at initialisation. In the
fine-tune form ΔW is the identity's baked weight (``FrozenIdentity.hyper``), F_id its code.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["conditioned_mlp", "dynamic_input_widths", "dynamic_last_layers"]


def _layers(model: nn.Module, name: str) -> list[nn.Module]:
    mlp = getattr(model, name)
    layers = list(getattr(mlp, "net", ()))
    if not layers or not all(isinstance(layer, nn.Linear) for layer in layers):
        raise ValueError(
            f"{type(model).__name__}.{name}: ID-AKT's dynamic half needs an MLP whose .net holds "
            "its Linear layers (the originals' MLP)"
        )
    return layers


def dynamic_last_layers(model: nn.Module, names) -> dict[str, tuple[int, int]]:
    """name -> (in_features, out_features) of the last layer of each named MLP of ``model``."""
    out = {}
    for n in names:
        w = _layers(model, n)[-1].weight
        out[n] = (int(w.shape[1]), int(w.shape[0]))
    return out


def dynamic_input_widths(model: nn.Module, names) -> dict[str, int]:
    """name -> output width of the first layer of each named MLP (F_id's columns join it)."""
    return {n: int(_layers(model, n)[0].weight.shape[0]) for n in names}


def conditioned_mlp(
    mlp: nn.Module, f_id: torch.Tensor, column: torch.Tensor, delta: torch.Tensor
) -> Callable[[torch.Tensor], torch.Tensor]:
    """The MLP ``mlp`` (layers in ``mlp.net``, ReLU between) with F_id at its input and a
    per-identity last layer: f_id [1, Dd], column [width_0, Dd], delta [out, in] ->
    a function x [N, in_0] -> [N, out] (equal to ``mlp(x)`` when column and delta are 0)."""
    layers = list(mlp.net)
    last = len(layers) - 1

    def run(x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(layers):
            w = layer.weight + delta.to(layer.weight) if i == last else layer.weight
            x = F.linear(x, w, layer.bias)
            if i == 0:
                x = x + F.linear(f_id.to(x.dtype), column.to(x.dtype))
            if i != last:
                x = torch.relu(x)
        return x

    return run
