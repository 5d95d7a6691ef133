"""The torso branches compute the originals' function: values derived by hand on a tiny input.

The MLPs are set so that one output is ``scale * relu(one input)`` (the other weights zero)
and the torso grid holds 0.25 everywhere, so every number below follows on paper from the
torso facts: x scaled by torso_shrink, raw deformation, clamp to [-1, 1], ``torso_net`` fed
[grid(x + dx), h] with h the deformation net's input, stretched sigmoids in ER-NeRF.
"""

from __future__ import annotations

import math

import pytest
import torch

from lokitalk_plugins.baselines.common import torso_pixel_coords
from lokitalk_plugins.baselines.er_nerf.network import ERNeRF
from lokitalk_plugins.baselines.manifest import load_manifest
from lokitalk_plugins.baselines.rad_nerf.network import RADNeRF
from lokitalk_plugins.train.weights import load_model_weights


def _sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


def _route(state: dict, prefix: str, routes: dict[int, tuple[int, float]]) -> None:
    """Set a 3-layer MLP in ``state`` so output k = scale * relu(input i) for k: (i, scale)."""
    w = [state[f"{prefix}.net.{i}.weight"] for i in range(3)]
    for t in w:
        t.zero_()
    for k, (i, scale) in routes.items():
        w[0][k, i], w[1][k, k], w[2][k, k] = 1.0, 1.0, scale


def _original_checkpoint(cls, name: str) -> dict:
    """A state_dict with the original's keys and shapes (the manifest), random values, and the
    torso nets routed: dx_0 = 2 relu(enc(x)_0); alpha logit = 5 relu(h_0); colour logits =
    4 relu(grid(x + dx)_0); the torso grid 0.25 everywhere."""
    g = torch.Generator().manual_seed(0)
    own = cls(audio_in_dim=29, ind_num=10000, torso=True).state_dict()
    state = {}
    for key, shape in load_manifest(name)["state_dict"].items():
        if own[key].is_floating_point():
            state[key] = torch.rand(shape, generator=g) - 0.5
        else:
            state[key] = own[key].clone()
    _route(state, "torso_deform_net", {0: (0, 2.0)})
    grid_dim = 32  # torso_encoder: 16 levels x 2 features; h starts right after it
    _route(state, "torso_net", {0: (grid_dim, 5.0), 1: (0, 4.0), 2: (0, 4.0), 3: (0, 4.0)})
    state["torso_encoder.embeddings"].fill_(0.25)
    return {"model": state, "optimizer": {}, "stats": {}}


CASES = [(ERNeRF, "er_nerf_k29_torso", 0.001), (RADNeRF, "rad_nerf_k29_torso", 0.0)]


def _torso(model, px, code):
    if isinstance(model, RADNeRF):
        return model.forward_torso(px, torch.zeros(1, 6), torch.zeros(1, 64), code)
    c2w = torch.eye(4)
    c2w[2, 3] = -3.0
    return model.forward_torso(px, c2w[None], code)


@pytest.mark.parametrize(("cls", "name", "stretch"), CASES)
def test_an_original_torso_checkpoint_renders_the_hand_derived_values(cls, name, stretch):
    model = cls(audio_in_dim=29, torso=True, encoder_backend="torch")
    info = load_model_weights(model, _original_checkpoint(cls, name))
    assert info["prefix"] == "" and not info["unexpected"] and not info["skipped"]
    px = torch.tensor([[0.5, 0.0], [-0.5, 0.3]])
    with torch.no_grad():
        out = _torso(model, px, model.individual_code(3, torso=True))

    def act(v):
        return _sigmoid(v) * (1 + 2 * stretch) - stretch

    # pixel 0: x' = 0.8 * 0.5 = 0.4; dx = 2 * 0.4 = 0.8 (raw, no tanh); x' + dx = 1.2 is
    # clamped to 1, inside the grid -> colour logit 4 * 0.25 = 1; alpha logit 5 * 0.4 = 2
    # (h_0 is the encoding of the undeformed x': its first entry is x' itself).
    # pixel 1: x' = (-0.4, 0.24): relu kills both routes -> dx = 0, alpha logit 0, colour 1.
    expected_alpha = torch.tensor([[act(2.0)], [act(0.0)]])
    expected_color = torch.tensor([[act(1.0)] * 3, [act(1.0)] * 3])
    assert torch.allclose(out["deform"], torch.tensor([[0.8, 0.0], [0.0, 0.0]]), atol=1e-6)
    assert torch.allclose(out["alpha"], expected_alpha, atol=1e-6)
    assert torch.allclose(out["color"], expected_color, atol=1e-6)


@pytest.mark.parametrize(("cls", "name", "stretch"), CASES)
def test_torso_shrink_option(cls, name, stretch):
    model = cls(audio_in_dim=29, torso=True, torso_shrink=0.5, encoder_backend="torch")
    load_model_weights(model, _original_checkpoint(cls, name))
    with torch.no_grad():
        out = _torso(model, torch.tensor([[0.5, 0.0]]), model.individual_code(0, torso=True))
    # x' = 0.25, dx = 0.5, x' + dx = 0.75 inside; alpha logit 5 * 0.25 = 1.25
    assert out["deform"][0, 0].item() == pytest.approx(0.5, abs=1e-6)
    alpha = _sigmoid(1.25) * (1 + 2 * stretch) - stretch
    assert out["alpha"].item() == pytest.approx(alpha, abs=1e-6)


def test_er_nerf_anchors_divide_by_their_w_then_z():
    model = ERNeRF(audio_in_dim=29, ind_num=4, torso=True, encoder_backend="torch")
    with torch.no_grad():
        model.anchor_points.copy_(torch.tensor([[1.0, 2, 4, 2], [2, 2, 2, 1], [-1, 1, 1, 0.5]]))
    c2w = torch.eye(4)
    c2w[2, 3] = -2.0  # camera at z = -2: a point's camera z is z + 2 w
    # (1, 2, 4, 2) -> z 8 -> (1/2/8, 2/2/8); (2, 2, 2, 1) -> z 4 -> (2/4, 2/4);
    # (-1, 1, 1, 0.5) -> z 2 -> (-1/0.5/2, 1/0.5/2)
    expected = torch.tensor([[0.0625, 0.125, 0.5, 0.5, -1.0, 1.0]])
    assert torch.allclose(model.anchor_features(c2w), expected, atol=1e-6)
    assert torch.allclose(model.anchor_features(c2w[None]), expected, atol=1e-6)
    # a quarter turn about z: camera coordinates (x, y) -> (y, -x)
    c2w[:3, :3] = torch.tensor([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])
    turned = model.anchor_features(c2w)
    assert torch.allclose(turned[0, :2], torch.tensor([0.125, -0.0625]), atol=1e-6)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # a bf16 training step: same anchors
        same = model.anchor_features(c2w)
    assert same.dtype == torch.float32 and torch.equal(same, turned)
    turned.sum().backward()  # the anchors are learnt
    assert model.anchor_points.grad.abs().sum() > 0


def test_rad_nerf_forward_torso_takes_enc_a_and_ignores_it():
    torch.manual_seed(0)
    model = RADNeRF(audio_in_dim=29, ind_num=4, torso=True, encoder_backend="torch")
    px, pose = torch.rand(6, 2) * 2 - 1, torch.rand(1, 6)
    code = model.individual_code(1, torso=True)
    a = model.forward_torso(px, pose, torch.randn(1, 64), code)
    b = model.forward_torso(px, pose, None, c=code)
    assert torch.equal(a["alpha"], b["alpha"]) and torch.equal(a["color"], b["color"])
    other = model.forward_torso(px, pose, c=model.individual_code(2, torso=True))
    assert not torch.equal(other["alpha"], a["alpha"])  # the code (keyword c) is used


def test_torso_pixel_coordinates_are_the_originals():
    # a 3 x 5 image, row-major: pixel 7 is row 1, col 2 -> the centre; the corners are +-1
    xy = torso_pixel_coords(torch.tensor([0, 4, 7, 10, 14]), H=3, W=5)
    expected = torch.tensor([[-1.0, -1.0], [-1.0, 1.0], [0.0, 0.0], [1.0, -1.0], [1.0, 1.0]])
    assert torch.equal(xy, expected)
