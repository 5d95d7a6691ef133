"""Parity of the fused C++ kernel with the pure-PyTorch reference: outputs, table gradients and
input gradients, on random points plus points on the box faces/corners and just outside."""

import itertools

import pytest
import torch

from lokitalk_plugins.encoding import grid_encode_cpp, grid_encode_torch, grid_layout, load_kernel

pytestmark = pytest.mark.skipif(load_kernel() is None, reason="fused C++ kernel not buildable")


def make_points(n, dim, dtype, seed):
    """[n + extras, dim] normalised coordinates: random, on faces, on corners, just outside."""
    g = torch.Generator().manual_seed(seed)
    u = torch.rand(n, dim, generator=g, dtype=torch.float64)
    faces = torch.rand(n // 4, dim, generator=g, dtype=torch.float64)
    col = torch.randint(0, dim, (n // 4,), generator=g)
    faces[torch.arange(n // 4), col] = torch.randint(0, 2, (n // 4,), generator=g).double()
    corners = torch.tensor(list(itertools.product([0.0, 1.0], repeat=dim)), dtype=torch.float64)
    outside = torch.rand(8, dim, generator=g, dtype=torch.float64)
    outside[:4, 0] = -1e-6
    outside[4:, -1] = 1 + 1e-6
    return torch.cat([u, faces, corners, outside]).to(dtype)


def run(fn, u, emb, layout, gout, interpolation="linear", **kw):
    u = u.clone().requires_grad_()
    emb = emb.clone().requires_grad_()
    out = fn(u, emb, layout, interpolation, **kw)
    gu, ge = torch.autograd.grad(out, [u, emb], gout)
    return out.detach(), ge, gu


def check(layout, dtype, interpolation="linear", n=1500, seed=0, strategy=0):
    u = make_points(n, layout.input_dim, dtype, seed)
    g = torch.Generator().manual_seed(seed + 1)
    emb = torch.rand(layout.total, layout.level_dim, generator=g, dtype=torch.float64) * 2 - 1
    emb = emb.to(dtype)
    gout = torch.randn(u.shape[0], layout.output_dim, generator=g, dtype=torch.float64).to(dtype)
    ref = run(grid_encode_torch, u, emb, layout, gout, interpolation)
    fused = run(grid_encode_cpp, u, emb, layout, gout, interpolation, strategy=strategy)
    tight = dtype == torch.float64
    for name, a, b in zip(("out", "grad_emb", "grad_u"), fused, ref):
        scale = b.abs().max().item() or 1.0
        rtol = 1e-10 if tight else 1e-5
        atol = scale * (1e-12 if tight else 2e-6)
        torch.testing.assert_close(
            a, b, rtol=rtol, atol=atol, msg=lambda m, name=name: f"{name}: {m}"
        )
    # the points just outside the box give zeros and zero input gradients
    assert torch.all(fused[0][-8:] == 0) and torch.all(fused[2][-8:] == 0)
    assert fused[0][:n].abs().sum() > 0 and fused[2][:n].abs().sum() > 0


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("gridtype", ["hash", "tiled"])
@pytest.mark.parametrize("levels", [1, 4, 16])
@pytest.mark.parametrize("channels", [1, 2, 4])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_parity(dim, gridtype, levels, channels, dtype):
    layout = grid_layout(
        dim,
        levels,
        channels,
        base_resolution=8,
        log2_hashmap_size=11,
        desired_resolution=256 if levels > 1 else None,
        gridtype=gridtype,
    )
    check(layout, dtype, seed=levels * 10 + channels)


@pytest.mark.parametrize("strategy", [1, 2])
def test_parity_backward_strategies(strategy):
    layout = grid_layout(3, 4, 2, base_resolution=16, log2_hashmap_size=12, desired_resolution=512)
    check(layout, torch.float64, strategy=strategy)
    check(layout, torch.float32, strategy=strategy, seed=3)


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_parity_smoothstep_and_align_corners(dim):
    smooth = grid_layout(dim, 3, 2, base_resolution=8, log2_hashmap_size=10, desired_resolution=64)
    check(smooth, torch.float64, interpolation="smoothstep")
    aligned = grid_layout(
        dim,
        3,
        2,
        base_resolution=8,
        log2_hashmap_size=10,
        desired_resolution=64,
        align_corners=True,
    )
    check(aligned, torch.float64)


@pytest.mark.parametrize("name", ["rad_nerf", "er_nerf"])
def test_parity_original_sizes(name):
    if name == "rad_nerf":
        layout = grid_layout(
            3,
            16,
            2,
            base_resolution=16,
            log2_hashmap_size=16,
            desired_resolution=2048,
            gridtype="tiled",
        )
    else:
        layout = grid_layout(
            2, 12, 1, base_resolution=64, log2_hashmap_size=14, desired_resolution=512
        )
    check(layout, torch.float32, n=3000)


def test_parity_single_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        layout = grid_layout(
            3, 4, 2, base_resolution=8, log2_hashmap_size=10, desired_resolution=128
        )
        check(layout, torch.float64, seed=5)
    finally:
        torch.set_num_threads(threads)
