"""lokitalk_plugins.layers: ``linear_act`` (one fused oneDNN call where no gradient is
recorded on the CPU) equals its reference twin (F.linear, then the activation) in float32 and
under the CPU bfloat16 autocast, with and without a bias, and is the twin itself where a
gradient is recorded; ``MLP``'s paths equal the reference and leave their input untouched."""

import pytest
import torch
import torch.nn.functional as F

from lokitalk_plugins import layers
from lokitalk_plugins.layers import MLP, fused_linear_usable, linear_act, mlp_rows

needs_onednn = pytest.mark.skipif(
    layers._POINTWISE is None, reason="this torch has no oneDNN linear with a fused post-op"
)


def reference(mlp: MLP, x: torch.Tensor) -> torch.Tensor:
    for i, layer in enumerate(mlp.net):
        x = layer(x)
        if i != mlp.num_layers - 1:
            x = torch.relu(x)
    return x


def _twin(x, w, b, act):
    y = F.linear(x, w, b)
    return {None: y, "relu": torch.relu(y), "sigmoid": torch.sigmoid(y)}[act]


@pytest.fixture
def unfused(monkeypatch):
    monkeypatch.setattr(layers, "FUSED_LINEAR", False)


def test_mlp_no_grad_path_without_fusion_equals_the_reference_bit_for_bit(unfused):
    torch.manual_seed(0)
    mlp = MLP(69, 65, 64, 3)
    x = torch.randn(500, 69)
    keep = x.clone()
    with torch.no_grad():
        fast = mlp(x)
        ref = reference(mlp, x)
    assert torch.equal(fast, ref) and torch.equal(x, keep)
    assert (ref[:, :1] != 0).any()  # the values are not trivially zero


@pytest.mark.parametrize("cols", [None, 40])
def test_mlp_rows_is_the_first_outputs_with_the_other_inputs_zero(cols):
    torch.manual_seed(2)
    mlp = MLP(69, 65, 64, 3)
    x = torch.randn(500, cols or 69)
    full = torch.cat([x, x.new_zeros(500, 69 - x.shape[1])], -1)
    with torch.no_grad():
        ref = reference(mlp, full)
        for rows in (1, 3):
            got = mlp_rows(mlp, x, rows, cols)
            assert got.shape == (500, rows)
            torch.testing.assert_close(got, ref[:, :rows], atol=1e-5, rtol=1e-5)
    assert (ref[:, 0] != ref[0, 0]).any()  # not a constant output


@pytest.mark.parametrize("layers", [1, 3])
def test_mlp_rows_takes_a_shared_condition_as_the_first_layers_bias(layers):
    torch.manual_seed(3)
    mlp = MLP(96, 2, 64, layers)
    x, rest = torch.randn(500, 32), torch.randn(1, 64)
    with torch.no_grad():
        ref = reference(mlp, torch.cat([x, rest.expand(500, -1)], -1))
        for grad in (False, True):  # the fused call and the reference twin
            with torch.set_grad_enabled(grad):
                got = mlp_rows(mlp, x, 2, 32, rest)
            torch.testing.assert_close(got, ref, atol=1e-5, rtol=1e-5)
        zeros = mlp_rows(mlp, x, 2, 32)  # without it the other inputs are zeros: not the same
    assert not torch.allclose(zeros, ref, atol=1e-3) and (ref[:, 0] != ref[0, 0]).any()
    with pytest.raises(ValueError, match="give cols"):
        mlp_rows(mlp, x, 2, None, rest)


@needs_onednn
def test_mlp_fused_no_grad_path_equals_the_reference_and_grad_takes_the_twin():
    torch.manual_seed(0)
    mlp = MLP(69, 65, 64, 3)
    x = torch.randn(500, 69)
    keep = x.clone()
    with torch.no_grad():
        assert fused_linear_usable(x, *mlp.parameters())
        fast = mlp(x)
        ref = reference(mlp, x)
    torch.testing.assert_close(fast, ref, atol=1e-5, rtol=1e-5)
    assert torch.equal(x, keep) and (ref[:, :1] != 0).any()
    assert not fused_linear_usable(x, *mlp.parameters())  # a gradient is recorded here
    graded = mlp(x)  # with gradients: the reference path, bit for bit
    assert graded.requires_grad and torch.equal(graded.detach(), ref)
    graded.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in mlp.parameters())


@needs_onednn
@pytest.mark.parametrize("act", [None, "relu", "sigmoid"])
@pytest.mark.parametrize("bias", [False, True])
def test_linear_act_fused_equals_its_twin_in_float32(act, bias):
    g = torch.Generator().manual_seed(1)
    x, w = torch.randn(300, 22, generator=g), torch.randn(64, 22, generator=g)
    b = torch.randn(64, generator=g) if bias else None
    with torch.no_grad():
        y = linear_act(x, w, b, act)
    assert y.shape == (300, 64) and y.dtype == torch.float32
    torch.testing.assert_close(y, _twin(x, w, b, act), atol=1e-5, rtol=1e-5)
    if act == "relu":
        assert (y == 0).any() and (y > 0).any()


@needs_onednn
@pytest.mark.parametrize("act", [None, "relu", "sigmoid"])
def test_linear_act_under_the_bfloat16_autocast_computes_in_bfloat16(act):
    g = torch.Generator().manual_seed(2)
    x, w, b = torch.randn(300, 20, generator=g), torch.randn(48, 20, generator=g), torch.randn(48)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        y, ref = linear_act(x, w, b, act), _twin(x, w, b, act)
    assert y.dtype == ref.dtype == torch.bfloat16
    exact = _twin(x, w, b, act)
    torch.testing.assert_close(y.float(), exact, atol=0.1, rtol=0.02)
    torch.testing.assert_close(y.float(), ref.float(), atol=0.1, rtol=0.02)


@pytest.mark.parametrize("act", ["relu", "sigmoid"])
def test_linear_act_with_a_gradient_takes_the_twin_and_refuses_unknown_activations(act):
    g = torch.Generator().manual_seed(3)
    x = torch.randn(40, 5, generator=g)
    w = torch.randn(7, 5, generator=g, requires_grad=True)
    assert not layers.fused_linear_on()  # a gradient is recorded here
    y = linear_act(x, w, None, act)
    assert y.requires_grad and torch.equal(y, _twin(x, w, None, act))
    y.sum().backward()
    assert w.grad is not None and w.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="act must be one of"):
        linear_act(x, w, None, "tanh")
    with torch.no_grad():  # no rows, or a float64 input: the twin
        assert not fused_linear_usable(x[:0], w) and not fused_linear_usable(x.double(), w)
        assert linear_act(x[:0], w, None, "relu").shape == (0, 7)


@needs_onednn
def test_linear_act_takes_a_strided_weight_and_bias_as_their_contiguous_copies():
    """A column slice of a first layer's weight (as the fields pass it): the same values as
    F.linear (oneDNN would otherwise run a reference kernel hundreds of times slower)."""
    g = torch.Generator().manual_seed(5)
    x, full = torch.randn(200, 27, generator=g), torch.randn(32, 43, generator=g)
    w, b = full[:, :27], torch.randn(32, 2, generator=g)[:, 0]
    assert not w.is_contiguous() and not b.is_contiguous()
    with torch.no_grad():
        y = linear_act(x, w, b, "relu")
    torch.testing.assert_close(y, torch.relu(F.linear(x, w, b)), atol=1e-5, rtol=1e-5)


def test_keep_float32_layers_compute_in_float32_under_a_bf16_autocast_names_unchanged():
    import pytest

    from lokitalk_plugins.errors import OptionError
    from lokitalk_plugins.layers import Float32Linear, keep_float32

    torch.manual_seed(0)
    mlp = MLP(7, 5, 16, 3)
    keys = list(mlp.state_dict())
    x = torch.randn(33, 7, requires_grad=True)
    ref = mlp(x)
    keep_float32(mlp, ["net.2"])
    assert type(mlp.net[2]) is Float32Linear and type(mlp.net[0]) is torch.nn.Linear
    assert list(mlp.state_dict()) == keys
    assert torch.equal(mlp(x), ref)  # outside an autocast: nn.Linear's
    with torch.autocast("cpu", dtype=torch.bfloat16):
        hidden = torch.relu(mlp.net[1](torch.relu(mlp.net[0](x))))
        out = mlp(x)
    assert hidden.dtype == torch.bfloat16 and out.dtype == torch.float32
    exact = hidden.float() @ mlp.net[2].weight.T  # the last product in float32
    assert torch.equal(out, exact)
    out.sum().backward()
    assert x.grad is not None and mlp.net[2].weight.grad.dtype == torch.float32
    with pytest.raises(OptionError, match="no layer 'net.9'"):
        keep_float32(mlp, ["net.9"])
    with pytest.raises(OptionError, match="'net' is a ModuleList, not a linear"):
        keep_float32(mlp, ["net"])
