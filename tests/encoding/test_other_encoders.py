"""Tri-plane, frequency and spherical-harmonics encoders, the factory and the tcnn mapping."""

import math

import numpy as np
import pytest
import torch

from lokitalk_plugins.encoding import (
    FrequencyEncoder,
    GridEncoder,
    SHEncoder,
    TcnnGridEncoder,
    TriPlane,
    get_encoder,
    tcnn_grid_config,
    triplane_project,
)


def test_triplane_order_and_projection():
    torch.manual_seed(0)
    tri = TriPlane(
        num_levels=3, level_dim=2, base_resolution=4, log2_hashmap_size=8, desired_resolution=16
    )
    for enc in (tri.encoder_xy, tri.encoder_yz, tri.encoder_xz):
        with torch.no_grad():
            enc.embeddings.uniform_(-1, 1)
    x = torch.rand(7, 3) * 2 - 1
    xy, yz, xz = triplane_project(x)
    torch.testing.assert_close(xz, torch.stack([x[:, 0], x[:, 2]], -1))
    torch.testing.assert_close(yz, x[:, 1:])
    out = tri(x)
    assert out.shape == (7, 18) and tri.output_dim == 18
    expected = torch.cat([tri.encoder_xy(xy), tri.encoder_yz(yz), tri.encoder_xz(xz)], -1)
    torch.testing.assert_close(out, expected)
    assert not torch.allclose(out[:, :6], out[:, 6:12])


@pytest.mark.parametrize(
    "dim,multires,width", [(2, 10, 42), (6, 4, 54), (2, 8, 34), (6, 3, 42), (3, 6, 39)]
)
def test_frequency_dims(dim, multires, width):
    enc = get_encoder("frequency", input_dim=dim, multires=multires)
    assert enc.output_dim == width
    assert enc(torch.zeros(5, dim)).shape == (5, width)


def test_frequency_order():
    enc = FrequencyEncoder(input_dim=2, max_freq_log2=2, n_freqs=3)
    x = torch.tensor([[0.3, -0.7]], dtype=torch.float64)
    out = enc(x)[0]
    expected = [0.3, -0.7]
    for f in (1.0, 2.0, 4.0):
        expected += [math.sin(0.3 * f), math.sin(-0.7 * f), math.cos(0.3 * f), math.cos(-0.7 * f)]
    torch.testing.assert_close(out, torch.tensor(expected, dtype=torch.float64))
    assert FrequencyEncoder(2, 2, 3, include_input=False).output_dim == 12


def test_sh_orthonormal_by_exact_quadrature():
    # Gauss-Legendre in z (exact to degree 15) x uniform in phi (exact to trig degree 15)
    z, wz = np.polynomial.legendre.leggauss(8)
    phi = np.arange(16) * 2 * np.pi / 16
    zz, pp = np.meshgrid(z, phi, indexing="ij")
    r = np.sqrt(1 - zz**2)
    d = torch.tensor(np.stack([r * np.cos(pp), r * np.sin(pp), zz], -1).reshape(-1, 3))
    w = torch.tensor(np.repeat(wz, 16) * (2 * np.pi / 16))
    y = SHEncoder(degree=4)(d)
    assert y.shape == (128, 16)
    gram = (y * w[:, None]).T @ y
    torch.testing.assert_close(gram, torch.eye(16, dtype=torch.float64), atol=1e-12, rtol=0)


def test_sh_closed_form_values():
    enc = get_encoder("sphere_harmonics", input_dim=3, degree=4)
    assert enc.output_dim == 16
    up = enc(torch.tensor([[0.0, 0.0, 1.0]], dtype=torch.float64))[0]
    c0, c1 = 0.5 / math.sqrt(math.pi), math.sqrt(3 / (4 * math.pi))
    expected = torch.zeros(16, dtype=torch.float64)
    expected[0], expected[2] = c0, c1
    expected[6] = math.sqrt(5 / math.pi) / 2  # (3z^2 - 1) / 4 * sqrt(5 / pi)
    expected[12] = math.sqrt(7 / math.pi) / 2  # z(5z^2 - 3) / 4 * sqrt(7 / pi)
    torch.testing.assert_close(up, expected)
    x = enc(torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64))[0]
    assert x[3].item() == pytest.approx(-c1)  # band 1 is (-c1 y, c1 z, -c1 x)
    assert x[8].item() == pytest.approx(0.25 * math.sqrt(15 / math.pi))  # x^2 - y^2
    assert x[15].item() == pytest.approx(-0.25 * math.sqrt(35 / (2 * math.pi)))  # x(3y^2-x^2)


def test_factory():
    g = get_encoder(
        "hashgrid",
        input_dim=2,
        num_levels=12,
        level_dim=1,
        base_resolution=64,
        log2_hashmap_size=14,
        desired_resolution=512,
    )
    assert isinstance(g, GridEncoder) and g.gridtype == "hash" and g.embeddings.shape[0] == 163584
    t = get_encoder("tiledgrid", input_dim=3, log2_hashmap_size=16, desired_resolution=2048)
    assert t.gridtype == "tiled" and t.embeddings.shape == (903480, 2) and t.output_dim == 32
    assert isinstance(get_encoder("triplane"), TriPlane)
    with pytest.raises(ValueError, match="unknown encoder"):
        get_encoder("fourier")


def test_tcnn_config_mapping():
    cfg = tcnn_grid_config(
        num_levels=16,
        level_dim=2,
        base_resolution=16,
        log2_hashmap_size=16,
        desired_resolution=2048,
        gridtype="tiled",
    )
    assert cfg == {
        "otype": "Grid",
        "type": "Tiled",
        "n_levels": 16,
        "n_features_per_level": 2,
        "log2_hashmap_size": 16,
        "base_resolution": 16,
        "per_level_scale": pytest.approx(2 ** (7 / 15)),
        "interpolation": "Linear",
    }
    assert tcnn_grid_config(gridtype="hash")["type"] == "Hash"
    with pytest.raises(ValueError):
        tcnn_grid_config(level_dim=3)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_tcnn_encoder_on_cuda():
    pytest.importorskip("tinycudann")
    enc = get_encoder(
        "hashgrid",
        input_dim=3,
        num_levels=16,
        level_dim=2,
        backend="tcnn",
        log2_hashmap_size=16,
        desired_resolution=2048,
    )
    assert isinstance(enc, TcnnGridEncoder)
    x = (torch.rand(1024, 3, device="cuda") * 2.2 - 1.1).requires_grad_()
    out = enc(x)
    assert out.shape == (1024, 32) and out.dtype == torch.float32
    outside = (x.abs() > 1).any(-1)
    assert torch.all(out[outside] == 0)
    out.square().sum().backward()
    assert torch.isfinite(x.grad).all() and any(p.grad is not None for p in enc.parameters())
