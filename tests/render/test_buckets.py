"""Sample counts rounded to buckets (oneDNN on a CPU: bfloat16, or the MLPs' fused float32
calls): sizes, the padded call's outputs and gradients against the plain call, when the
renderer and the occupancy refresh pad."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lokitalk_plugins import layers
from lokitalk_plugins.render import OccupancyGrid, VolumeRenderer
from lokitalk_plugins.render.buckets import bucket_size, call_padded, padding_wanted
from lokitalk_plugins.render.upkeep import evaluate_density


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 5_000_000), st.integers(0, 5))
def test_bucket_is_the_smallest_of_its_octaves_sizes_at_or_above_n(n, bits):
    m = bucket_size(n, bits)
    assert m >= max(n, 16) and bucket_size(m, bits) == m
    if n > 16:
        assert m <= n * (1 + 2.0**-bits)  # at most 2^-bits more rows
        step = 1 << max(n.bit_length() - 1 - bits, 0)
        assert m % step == 0 and m - n < step


def test_an_octave_holds_two_to_the_bits_buckets():
    assert len({bucket_size(n, 3) for n in range(65_537, 131_073)}) == 8
    assert bucket_size(20_000, 3) == 20_480 and bucket_size(16_384, 3) == 16_384
    assert bucket_size(3) == 16 and bucket_size(17, 0) == 32
    with pytest.raises(ValueError, match="n >= 0"):
        bucket_size(-1)


@pytest.fixture
def unfused(monkeypatch):
    """The MLPs' fused oneDNN calls off: what is left to pad for is bfloat16."""
    monkeypatch.setattr(layers, "FUSED_LINEAR", False)


def _mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(6, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))


def test_padded_call_gives_the_plain_calls_outputs_and_gradients():
    net, seen = _mlp(), []

    def field(x, d):
        seen.append(x.shape[0])
        h = net(torch.cat([x, d], -1))
        return {"sigma": h[:, 0], "color": h[:, 1:], "scale": torch.tensor(2.0)}

    x, d = torch.randn(1000, 3), torch.randn(1000, 3)
    plain = field(x, d)
    (plain["sigma"].sum() + plain["color"].square().sum()).backward()
    grads = [p.grad.clone() for p in net.parameters()]
    net.zero_grad()
    padded = call_padded(field, x, d)
    (padded["sigma"].sum() + padded["color"].square().sum()).backward()
    assert seen == [1000, bucket_size(1000)] and bucket_size(1000) == 1024
    assert padded["sigma"].shape == (1000,) and padded["color"].shape == (1000, 3)
    assert padded["scale"] == 2.0  # not per point: as returned
    torch.testing.assert_close(padded["sigma"], plain["sigma"])
    torch.testing.assert_close(padded["color"], plain["color"])
    for g, p in zip(grads, net.parameters()):
        torch.testing.assert_close(p.grad, g)  # the padded rows add no gradient


def test_padding_is_wanted_under_cpu_bfloat16_autocast_only(unfused):
    assert not padding_wanted("auto") and padding_wanted("on") and not padding_wanted("off")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert padding_wanted("auto") and not padding_wanted("off")
    with torch.autocast("cpu", dtype=torch.float16):
        assert not padding_wanted("auto")
    with pytest.raises(ValueError, match="pad_samples must be one of"):
        padding_wanted("yes")
    with pytest.raises(ValueError, match="pad_samples must be one of"):
        VolumeRenderer(OccupancyGrid(resolution=8), pad_samples="always")


def _rays(n=50):
    torch.manual_seed(1)
    o = torch.zeros(n, 3)
    o[:, :2] = torch.rand(n, 2) - 0.5
    o[:, 2] = -3.0
    return o, torch.tensor([[0.0, 0.0, 1.0]]).expand(n, 3).contiguous()


@pytest.mark.parametrize("training", [True, False])
def test_renderer_pads_the_fields_calls_and_renders_the_same(training):
    net = _mlp()

    def field(x, d):
        field.sizes.append(x.shape[0])
        h = net(torch.cat([x, d], -1))
        return {"sigma": torch.nn.functional.softplus(h[:, 0]), "color": h[:, 1:].sigmoid()}

    results = {}
    for mode in ("off", "on"):
        field.sizes = []
        r = VolumeRenderer(OccupancyGrid(resolution=8), max_samples=23, pad_samples=mode)
        res = r.render_rays(*_rays(), training=training, perturb=False, field=field)
        results[mode] = (res, field.sizes)
    (off, off_sizes), (on, on_sizes) = results["off"], results["on"]
    assert all(s == bucket_size(s) for s in on_sizes)
    assert any(s != bucket_size(s) for s in off_sizes)  # the plain counts are not buckets
    torch.testing.assert_close(on.rgb, off.rgb)
    torch.testing.assert_close(on.weights_sum, off.weights_sum)
    torch.testing.assert_close(on.depth, off.depth)


def test_auto_pads_under_bfloat16_autocast_and_not_in_float32(unfused):
    net, sizes = _mlp(), []

    def field(x, d):
        sizes.append(x.shape[0])
        h = net(torch.cat([x, d], -1))
        return {"sigma": h[:, 0].float().exp(), "color": h[:, 1:].float().sigmoid()}

    r = VolumeRenderer(OccupancyGrid(resolution=8), max_samples=23)
    r.render_rays(*_rays(), perturb=False, field=field)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        r.render_rays(*_rays(), perturb=False, field=field)
    assert sizes[0] != bucket_size(sizes[0]) and sizes[1] == bucket_size(sizes[0])


def test_refresh_pads_its_last_chunk_in_bfloat16_only(unfused):
    net, sizes = _mlp(), []

    def density(p):
        sizes.append(p.shape[0])
        return net(torch.cat([p, p], -1))[:, 0]

    points = torch.rand(1000, 3)
    plain = evaluate_density(density, points, 384, torch.float32)
    assert sizes == [384, 384, 232]
    sizes.clear()
    bf16 = evaluate_density(density, points, 384, torch.float32, torch.bfloat16)
    assert sizes == [384, 384, bucket_size(232)] and bf16.dtype == torch.float32
    torch.testing.assert_close(bf16, plain, atol=0.05, rtol=0.05)


def test_auto_pads_a_field_that_runs_bfloat16_inside(unfused):
    """A wrapped model's bfloat16 fast path autocasts inside its forward, out of the
    renderer's sight: the field says so (runs_bfloat16) and "auto" pads for it."""
    net, sizes = _mlp(), []

    def field(x, d):
        sizes.append(x.shape[0])
        h = net(torch.cat([x, d], -1))
        return {"sigma": h[:, 0].exp(), "color": h[:, 1:].sigmoid()}

    for mode, flag in (("auto", False), ("auto", True), ("off", True)):
        field.runs_bfloat16 = flag
        r = VolumeRenderer(OccupancyGrid(resolution=8), max_samples=23, pad_samples=mode)
        r.render_rays(*_rays(), perturb=False, field=field)
    assert sizes[0] != bucket_size(sizes[0])
    assert sizes[1] == bucket_size(sizes[0]) and sizes[2] == sizes[0]


@pytest.mark.skipif(layers._POINTWISE is None, reason="no oneDNN linear in this torch")
def test_auto_pads_in_float32_on_the_cpu_while_the_fused_linear_calls_are_on(monkeypatch):
    """The MLPs' fused float32 calls are oneDNN's too, which builds a kernel per row count:
    "auto" pads on the CPU (the renderer and the refresh's last chunk) while they are on,
    that is where no gradient is recorded (renders, refreshes), not in a training step."""
    assert not layers.fused_linear_on() and not padding_wanted("auto")  # gradients on here
    net, sizes = _mlp(), []

    def density(p):
        sizes.append(p.shape[0])
        return net(torch.cat([p, p], -1))[:, 0]

    with torch.no_grad():
        assert layers.fused_linear_on() and padding_wanted("auto")
        assert not padding_wanted("auto", device="cuda")
        evaluate_density(density, torch.rand(1000, 3), 384, torch.float32)
        assert sizes == [384, 384, bucket_size(232)]
        monkeypatch.setattr(layers, "FUSED_LINEAR", False)
        assert not layers.fused_linear_on() and not padding_wanted("auto")
