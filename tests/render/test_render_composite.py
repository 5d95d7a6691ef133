import pytest
import torch
from render_reference import loop_composite, loop_exclusive_cumsum, random_packed

from lokitalk_plugins.render import (
    composite,
    composite_background,
    has_torch_scatter,
    resolve_backend,
    segment_exclusive_cumsum,
    segment_sum,
)

NATIVE = ["index_add", "segment_reduce"]


def indptr_of(ray_indices, R):
    c = torch.bincount(ray_indices, minlength=R)
    return torch.cat([c.new_zeros(1), c.cumsum(0)])


def test_exclusive_cumsum_matches_loop():
    sig, dl, ts, ri, _ = random_packed(12, 7, seed=1)
    out = segment_exclusive_cumsum(sig, ri, indptr_of(ri, 12), 12)
    torch.testing.assert_close(out, loop_exclusive_cumsum(sig, ri, 12))


@pytest.mark.parametrize("backend", NATIVE)
def test_composite_matches_loop_forward_and_backward(backend):
    sig, dl, ts, ri, col = random_packed(10, 6, seed=2, dtype=torch.float64)
    mag = torch.rand(sig.shape[0], dtype=torch.float64)
    leaves = [sig.requires_grad_(), col.requires_grad_(), mag.requires_grad_()]
    comp = composite(sig, dl, ts, ri, 10, {"color": col, "mag": mag}, backend=backend)
    ref_w, ref_ws, ref_d, ref_s = loop_composite(sig, dl, ts, ri, 10, {"color": col, "mag": mag})
    torch.testing.assert_close(comp.weights, ref_w)
    torch.testing.assert_close(comp.weights_sum, ref_ws)
    torch.testing.assert_close(comp.depth, ref_d)
    torch.testing.assert_close(comp.sums["color"], ref_s["color"])
    torch.testing.assert_close(comp.sums["mag"], ref_s["mag"])
    assert comp.weights_sum[0] == 0  # the empty ray
    g = torch.randn(10, 3, dtype=torch.float64)
    loss = (comp.sums["color"] * g).sum() + comp.depth.sum() + comp.sums["mag"].pow(2).sum()
    ref_loss = (ref_s["color"] * g).sum() + ref_d.sum() + ref_s["mag"].pow(2).sum()
    grads = torch.autograd.grad(loss, leaves)
    ref_grads = torch.autograd.grad(ref_loss, leaves)
    for a, b in zip(grads, ref_grads):
        torch.testing.assert_close(a, b)


def test_native_backends_agree():
    sig, dl, ts, ri, col = random_packed(64, 16, seed=3)
    a = composite(sig, dl, ts, ri, 64, {"color": col}, backend="index_add")
    b = composite(sig, dl, ts, ri, 64, {"color": col}, backend="segment_reduce")
    torch.testing.assert_close(a.sums["color"], b.sums["color"])
    torch.testing.assert_close(a.depth, b.depth)


def test_torch_scatter_parity():
    pytest.importorskip("torch_scatter")
    sig, dl, ts, ri, col = random_packed(64, 16, seed=4, dtype=torch.float64)
    col.requires_grad_()
    a = composite(sig, dl, ts, ri, 64, {"color": col}, backend="torch_scatter")
    b = composite(sig, dl, ts, ri, 64, {"color": col}, backend="index_add")
    torch.testing.assert_close(a.sums["color"], b.sums["color"])
    ga = torch.autograd.grad(a.sums["color"].sum() + a.depth.sum(), col)[0]
    gb = torch.autograd.grad(b.sums["color"].sum() + b.depth.sum(), col)[0]
    torch.testing.assert_close(ga, gb)


def test_backend_resolution():
    assert resolve_backend("auto") == ("torch_scatter" if has_torch_scatter() else "index_add")
    with pytest.raises(ValueError, match="unknown segment backend"):
        resolve_backend("cuda_magic")
    if not has_torch_scatter():
        with pytest.raises(ImportError, match="torch_scatter"):
            segment_sum(torch.ones(3), torch.zeros(3, dtype=torch.long), torch.tensor([0, 3]), 1,
                        backend="torch_scatter")  # fmt: skip


def test_gradcheck_tiny_composite():
    torch.manual_seed(0)
    ri = torch.tensor([0, 0, 0, 2, 2])  # ray 1 is empty
    dl = torch.tensor([0.1, 0.2, 0.1, 0.3, 0.05], dtype=torch.float64)
    ts = torch.tensor([1.0, 1.2, 1.4, 0.5, 0.8], dtype=torch.float64)
    sig = (torch.rand(5, dtype=torch.float64) * 5).requires_grad_()
    col = torch.rand(5, 3, dtype=torch.float64).requires_grad_()

    def f(s, c):
        comp = composite(s, dl, ts, ri, 3, {"color": c}, backend="index_add")
        return comp.sums["color"], comp.weights_sum, comp.depth

    assert torch.autograd.gradcheck(f, (sig, col))


def test_early_stop_within_threshold_of_full_composite():
    sig, dl, ts, ri, col = random_packed(40, 30, seed=5, dtype=torch.float64)
    sig = sig * 10  # opaque rays
    full = composite(sig, dl, ts, ri, 40, {"color": col})
    stop = composite(sig, dl, ts, ri, 40, {"color": col}, stop_transmittance=1e-4)
    _, ref_ws, _, ref_s = loop_composite(sig, dl, ts, ri, 40, {"color": col}, stop=1e-4)
    torch.testing.assert_close(stop.weights_sum, ref_ws)
    torch.testing.assert_close(stop.sums["color"], ref_s["color"])
    assert (stop.weights == 0).any()  # something was actually stopped
    assert (full.weights_sum - stop.weights_sum).abs().max() <= 1e-4
    assert (full.sums["color"] - stop.sums["color"]).abs().max() <= 1e-4
    assert (torch.exp(-stop.optical_depth) < 1e-4).any()


def test_background_compositing():
    rgb = torch.tensor([[0.2, 0.3, 0.4], [0.0, 0.0, 0.0]])
    ws = torch.tensor([0.5, 0.0])
    bg = torch.tensor([1.0, 0.0, 0.5])
    out = composite_background(rgb, ws, bg)
    torch.testing.assert_close(out, torch.tensor([[0.7, 0.3, 0.65], [1.0, 0.0, 0.5]]))
    assert composite_background(rgb, ws, None) is rgb
