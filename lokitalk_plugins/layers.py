"""Small building blocks shared by backbones and plug-ins: the originals' bias-free MLP, a
linear layer with its activation fused where no gradient is needed, and the truncated
exponential density activation."""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import nn

from lokitalk_plugins.errors import OptionError

__all__ = ["MLP", "Float32Linear", "fused_linear_on", "fused_linear_usable", "keep_float32",
           "linear_act", "linear_dtype", "mlp_rows", "trunc_exp"]  # fmt: skip

# False: linear_act always takes the reference twin (F.linear, then the activation); tests
# flip it to hold the two equal; LOKITALK_FUSED_LINEAR=0 in the environment sets it at import
FUSED_LINEAR = os.environ.get("LOKITALK_FUSED_LINEAR", "1") != "0"
_ACTS = (None, "relu", "sigmoid")  # linear_act's activations


def _pointwise_op():
    """oneDNN's linear with a fused element-wise post-op (``torch.ops.mkldnn._linear_pointwise``,
    the op PyTorch's own CPU compiler emits) where this build of torch has it, else None."""
    if not torch.backends.mkldnn.is_available():
        return None
    try:
        return torch.ops.mkldnn._linear_pointwise
    except (AttributeError, RuntimeError):
        return None


_POINTWISE = _pointwise_op()


def fused_linear_on() -> bool:
    """Whether :func:`linear_act` may take oneDNN here: ``FUSED_LINEAR``, the op in this torch,
    oneDNN enabled, and no gradient being recorded (the fused calls are for inference and
    occupancy refreshes). oneDNN builds a kernel per input shape (about 7 ms for a new row
    count of a [~32768, 64] x [64, 64] product on this project's CPU, against 2.2 ms for the
    product itself), so callers with a varying row count pad it to a few sizes
    (:mod:`lokitalk_plugins.render.buckets`)."""
    on = FUSED_LINEAR and _POINTWISE is not None and torch.backends.mkldnn.enabled
    return on and not torch.is_grad_enabled()


def fused_linear_usable(x: torch.Tensor, *params: torch.Tensor | None) -> bool:
    """True when :func:`linear_act` on ``x`` [N, D] (N > 0) runs as one fused oneDNN call: no
    gradient to record, CPU, float32 or bfloat16 (after the CPU autocast's cast), oneDNN on,
    and ``FUSED_LINEAR``. ``params`` (the weights) are accepted for the caller's clarity and
    do not change the answer: the call casts them to x's compute dtype."""
    return _fusion(x)


def _fusion(x: torch.Tensor) -> bool:
    """Whether :func:`linear_act` runs as one fused oneDNN call: no gradient to record, CPU,
    float32 or bfloat16 (after the CPU autocast's cast), a 2-D input with rows. Where a
    gradient is recorded torch's own products stay: measured in float32 training (ER-NeRF and
    RAD-NeRF, bare and wrapped, one thread), oneDNN products for the forward (with its ReLU)
    and the input gradient, the sample counts padded, made 200-step runs 4-17% slower in three
    of the four cells (the kernel builds for each new row count) and 1000-step runs -10% to +7%
    (the MLPs' share of a step halved, the backward's grew)."""
    if not fused_linear_on() or x.device.type != "cpu" or x.dim() != 2 or x.shape[0] == 0:
        return False
    return linear_dtype(x) in (torch.float32, torch.bfloat16)


def linear_dtype(x: torch.Tensor) -> torch.dtype:
    """The dtype F.linear would compute x in: the CPU autocast's for float32 inputs when it is
    on, else x's."""
    if x.dtype == torch.float32 and torch.is_autocast_enabled("cpu"):
        return torch.get_autocast_dtype("cpu")
    return x.dtype


def linear_act(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
               act: str | None = None) -> torch.Tensor:  # fmt: skip
    """``act(x @ weight.T + bias)``: x [N, D], weight [H, D], bias [H] or None, act None,
    "relu" or "sigmoid" -> [N, H]. Where :func:`fused_linear_usable` holds (inference and
    occupancy refreshes on the CPU) one oneDNN call computes the product, the bias and the
    activation together, in the dtype F.linear would use (the CPU autocast's included);
    elsewhere the reference twin, ``F.linear`` then the activation (in place where no gradient
    flows). They agree to float rounding (tests)."""
    if act not in _ACTS:
        raise ValueError(f"act must be one of {_ACTS}, got {act!r}")
    # oneDNN takes a strided weight (a column slice of a first layer) to a reference kernel
    # hundreds of times slower (346 ms against 1.7 ms for [16384, 27] x [27, 32]): contiguous
    if _fusion(x):
        dt = linear_dtype(x)
        b = None if bias is None else bias.to(dt).contiguous()
        return _POINTWISE(x.to(dt), weight.to(dt).contiguous(), b, act or "none", [], "")
    y = F.linear(x, weight, bias)
    if act is None:
        return y
    if act == "sigmoid":
        return torch.sigmoid(y)
    return torch.relu(y) if y.requires_grad else y.relu_()


def mlp_rows(mlp: nn.Module, x: torch.Tensor, rows: int, cols: int | None = None,
             rest: torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
    """Part of an MLP of bias-free layers with ReLU between them (``mlp.net``: :class:`MLP`'s
    layout and the originals'): x [N, cols] -> [N, rows], the first ``rows`` outputs of the
    last layer, reading only the first ``cols`` inputs of the first layer (None: all of
    them; fewer: the other inputs taken as zeros, or as ``rest`` [1, D - cols] in every row
    when it is given). Equal to ``mlp(cat([x, zeros or rest]))[:, :rows]`` up to float
    rounding (tests), without the concatenation and the other outputs' products: the density
    alone of a layer whose other outputs are features (ER-NeRF's geo_feat); a condition shared
    by every row (one frame's audio) enters the first layer as its bias."""
    if rest is not None and cols is None:
        raise ValueError("mlp_rows: rest is the first layer's inputs after cols; give cols")
    net = mlp.net
    h, last = x, len(net) - 1
    for i, layer in enumerate(net):
        w, bias = layer.weight, None
        if i == 0 and cols is not None:
            if rest is not None:  # the shared inputs' share of the first layer, once
                bias = F.linear(rest.to(w.dtype), w[:, cols:])[0]
            w = w[:, :cols]
        if i == last:
            w, bias = w[:rows], None if bias is None else bias[:rows]
        h = linear_act(h, w, bias, None if i == last else "relu")
    return h


class MLP(nn.Module):
    """``num_layers`` bias-free linear layers with ReLU between them (none after the last).

    Parameter names ``net.{i}.weight`` match the originals, so their checkpoints load.
    x: [..., dim_in] -> [..., dim_out]. Where no gradient flows (inference, occupancy
    refreshes) each layer and its ReLU are one fused oneDNN call on 2-D CPU inputs (see
    :func:`linear_act`), elsewhere the ReLUs run in place on the fresh layer outputs (same
    values without a new tensor per layer; ``torch.relu`` is the reference twin, tests hold
    them equal).
    """

    def __init__(self, dim_in: int, dim_out: int, dim_hidden: int, num_layers: int):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        self.dim_in, self.dim_out = dim_in, dim_out
        self.dim_hidden, self.num_layers = dim_hidden, num_layers
        dims = [dim_in] + [dim_hidden] * (num_layers - 1) + [dim_out]
        self.net = nn.ModuleList(
            nn.Linear(dims[i], dims[i + 1], bias=False) for i in range(num_layers)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if _fusion(x):  # every output row: each layer and its ReLU one fused call
            return mlp_rows(self, x, self.dim_out)
        for i, layer in enumerate(self.net):
            x = layer(x)
            if i != self.num_layers - 1:
                x = torch.relu(x) if x.requires_grad else x.relu_()
        return x


class Float32Linear(nn.Linear):
    """An ``nn.Linear`` whose product steps out of an autocast that is on: its input cast up,
    the product, the bias and the output in float32 (outside any autocast: ``nn.Linear``'s).
    :func:`keep_float32` turns chosen layers of a model into it; names and weights unchanged."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kind = x.device.type
        if torch.is_autocast_enabled(kind):
            with torch.autocast(kind, enabled=False):
                return F.linear(x.float(), self.weight, self.bias)
        return super().forward(x)


def keep_float32(model: nn.Module, names, option: str = "TalkingHeadSystem.float32_layers"):
    """Make the linear layers of ``model`` named in ``names`` (e.g.
    ``"backbone.sigma_net.net.2"``, the density output of a wrapped ER-NeRF) compute in
    float32 under a training autocast (:class:`Float32Linear`; the state dict is unchanged).
    An unknown name or a module that is not ``nn.Linear`` is refused in one line naming
    ``option``."""
    for name in names:
        try:
            layer = model.get_submodule(name)
        except AttributeError:
            raise OptionError(f"{option}: the model has no layer {name!r}; name a linear layer "
                              "as model.named_modules() does") from None  # fmt: skip
        if not isinstance(layer, nn.Linear):
            raise OptionError(f"{option}: {name!r} is a {type(layer).__name__}, not a linear "
                              "layer (nn.Linear)")  # fmt: skip
        layer.__class__ = Float32Linear


class _TruncExp(torch.autograd.Function):
    """exp(x) whose gradient uses exp(clamp(x, -15, 15)), so a large pre-activation cannot
    produce an infinite gradient (the originals' density activation: the gradient is
    exp(15) above 15 and exp(-15) below -15)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return torch.exp(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad * torch.exp(x.clamp(-15, 15))


def trunc_exp(x: torch.Tensor) -> torch.Tensor:
    """exp with its gradient clamped to [exp(-15), exp(15)]: x [...] -> [...]."""
    return _TruncExp.apply(x)
