"""Hand-computed grid encodings: bilinear interpolation on a tiny dense grid, a hashed corner,
out-of-box zeros, and finite-difference gradients of both backends."""

import pytest
import torch

from lokitalk_plugins.encoding import GridEncoder, corner_indices, grid_layout, load_kernel


@pytest.fixture(params=["torch", "cpp"])
def backend(request):
    if request.param == "cpp" and load_kernel() is None:
        pytest.skip("the fused C++ kernel cannot be built here")
    return request.param


def test_dense_bilinear_by_hand(backend):
    # 1 level, base 4: scale 3, grid R = 4, (R+1)^2 = 25 entries (32 with the rounding)
    enc = GridEncoder(
        input_dim=2, num_levels=1, level_dim=1, base_resolution=4, gridtype="tiled", backend=backend
    ).double()
    assert enc.embeddings.shape == (32, 1)
    with torch.no_grad():  # value at node (cx, cy) = cx + 5 * cy (its dense index)
        enc.embeddings.copy_(torch.arange(32, dtype=torch.float64)[:, None])
    u = torch.tensor([[0.3, 0.6], [0.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    out = enc(2 * u - 1)
    # p = 3u + 0.5: (1.4, 2.3) -> corner (1, 2), weights (0.4, 0.3):
    by_hand = 0.6 * 0.7 * 11 + 0.4 * 0.7 * 12 + 0.6 * 0.3 * 16 + 0.4 * 0.3 * 17
    assert by_hand == pytest.approx(12.9)
    # (0, 0) -> p (0.5, 0.5): mean of nodes 0, 1, 5, 6; (1, 1) -> p (3.5, 3.5): nodes 18, 19, 23, 24
    expected = torch.tensor([[by_hand], [3.0], [21.0]], dtype=torch.float64)
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)


def test_hashed_corner_by_hand(backend):
    # 3D, base 64: scale 63, R = 64, 65^3 > 4096 entries -> the level hashes
    lay = grid_layout(3, 1, 1, base_resolution=64, log2_hashmap_size=12, gridtype="hash")
    corner = torch.tensor([[3, 5, 7]])
    # 3*1 ^ (5*2654435761 mod 2^32 = 387276917) ^ (7*805459861 mod 2^32 = 1343251731)
    assert 3 ^ 387276917 ^ 1343251731 == 1191511397
    assert corner_indices(corner, 0, lay).item() == 1191511397 % 4096 == 1381
    # tiled: no hash, dense index accumulated while the stride fits: 3 + 5 * 65 (65^2 > 4096)
    tiled = grid_layout(3, 1, 1, base_resolution=64, log2_hashmap_size=12, gridtype="tiled")
    assert corner_indices(corner, 0, tiled).item() == 3 + 5 * 65
    enc = GridEncoder(
        input_dim=3,
        num_levels=1,
        level_dim=1,
        base_resolution=64,
        log2_hashmap_size=12,
        backend=backend,
    ).double()
    with torch.no_grad():
        enc.embeddings.zero_()
        enc.embeddings[1381] = 2.5
    u = (corner.double() - 0.5) / 63  # p = corner exactly: all weight on that corner
    torch.testing.assert_close(enc(2 * u - 1), torch.tensor([[2.5]], dtype=torch.float64))


def test_outside_box_is_zero_with_zero_grads(backend):
    torch.manual_seed(0)
    enc = GridEncoder(
        input_dim=3, num_levels=4, level_dim=2, log2_hashmap_size=10, backend=backend, bound=0.5
    )
    with torch.no_grad():
        enc.embeddings.uniform_(-1, 1)
    x = torch.tensor(
        [
            [0.5, 0.5, -0.5],
            [0.5001, 0.0, 0.0],
            [0.1, -0.6, 0.2],
            [float("nan"), 0.0, 0.0],
            [0.1, 0.2, 0.3],
        ],
        requires_grad=True,
    )
    out = enc(x)
    assert out.shape == (5, 8)
    assert out[0].abs().sum() > 0 and out[4].abs().sum() > 0
    assert torch.all(out[1:4] == 0)
    out.sum().backward()
    assert torch.all(x.grad[1:4] == 0) and x.grad[4].abs().sum() > 0
    assert torch.isfinite(enc.embeddings.grad).all()


def test_batch_shape_and_bound_override(backend):
    torch.manual_seed(1)
    enc = GridEncoder(input_dim=2, num_levels=3, level_dim=2, log2_hashmap_size=8, backend=backend)
    x = torch.rand(4, 5, 2) * 2 - 1
    out = enc(x)
    assert out.shape == (4, 5, 6)
    torch.testing.assert_close(out.reshape(20, 6), enc(x.reshape(20, 2)))
    torch.testing.assert_close(enc(3 * x, bound=3.0), out)


def test_gradcheck_inputs_and_table(backend):
    torch.manual_seed(2)
    enc = GridEncoder(
        input_dim=3,
        num_levels=2,
        level_dim=2,
        base_resolution=4,
        per_level_scale=1.5,
        log2_hashmap_size=6,
        backend=backend,
    ).double()
    with torch.no_grad():
        enc.embeddings.uniform_(-1, 1)
    x = (torch.rand(6, 3, dtype=torch.float64) * 1.6 - 0.8).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda p, e: _encode_with(enc, p, e), (x, enc.embeddings), eps=1e-7, atol=1e-6
    )


def _encode_with(enc, x, emb):
    from lokitalk_plugins.encoding import grid_encode_cpp, grid_encode_torch

    u = (x + 1) / 2
    fn = grid_encode_cpp if enc.backend == "cpp" else grid_encode_torch
    return fn(u, emb, enc.layout)


def test_bfloat16_table_uses_the_reference(backend):
    torch.manual_seed(3)
    enc = GridEncoder(input_dim=2, num_levels=2, level_dim=2, log2_hashmap_size=8, backend=backend)
    with torch.no_grad():
        enc.embeddings.copy_(enc.embeddings.bfloat16().float())  # exactly representable
    x = torch.rand(10, 2) * 2 - 1
    expected = enc(x).bfloat16()  # float32 weights, rounded at the end
    out = enc.to(torch.bfloat16)(x)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out, expected, rtol=1e-2, atol=1e-7)


def test_empty_batch(backend):
    enc = GridEncoder(input_dim=3, num_levels=4, level_dim=2, log2_hashmap_size=10, backend=backend)
    x = torch.zeros(0, 3, requires_grad=True)
    out = enc(x)
    out.sum().backward()
    assert out.shape == (0, 8) and x.grad.shape == (0, 3)
    assert torch.all(enc.embeddings.grad == 0)
