"""ER-NeRF in the unified canonical space (LokiTalk eq. 5): the static condition (enc_a and
eye None) gives sigma_net zeros for the audio and eye inputs without running the region
attention, so the field equals the one fed zero audio and eye, the attention nets get no
gradient and their maps (and the originals' attention terms) are zeros."""

from __future__ import annotations

import pytest
import torch
from adapter_helpers import SMALL_GRID, make_backbone

from lokitalk_plugins.adapters import wrap
from lokitalk_plugins.baselines.er_nerf import field as er_field


@pytest.mark.parametrize("exp_eye", [True, False], ids=["eye", "no-eye"])
def test_static_condition_equals_zero_inputs_without_the_attention_nets(exp_eye):
    # the originals' -O model has an eye input; without it, none
    model = make_backbone("er_nerf", exp_eye=exp_eye)
    g = torch.Generator().manual_seed(3)
    x = torch.rand(64, 3, generator=g) * 1.6 - 0.8
    enc_x = er_field.encode_points(model, x, model.bound)
    zeros_a, zeros_eye = torch.zeros(1, model.audio_dim), torch.zeros(1, 1)
    ref = er_field.density(model, enc_x, zeros_a, zeros_eye)
    out = er_field.density(model, enc_x, None, None)
    torch.testing.assert_close(out["sigma"], ref["sigma"], rtol=0, atol=0)
    torch.testing.assert_close(out["geo_feat"], ref["geo_feat"], rtol=0, atol=0)
    assert torch.equal(out["ambient_aud"], torch.zeros(64))
    assert torch.equal(out["ambient_eye"], torch.zeros(64))
    assert torch.equal(er_field.sigma(model, enc_x, None, None), out["sigma"])
    # the attention nets take no part: no gradient reaches them, sigma_net's does
    out["sigma"].sum().backward()
    assert model.sigma_net.net[0].weight.grad.abs().sum() > 0
    for net in (model.aud_ch_att_net, model.eye_att_net):
        assert all(p.grad is None for p in net.parameters())


def test_half_a_static_condition_is_refused():
    model = make_backbone("er_nerf")
    enc_x = er_field.encode_points(model, torch.zeros(4, 3), model.bound)
    with pytest.raises(ValueError, match="enc_a and eye both or neither"):
        er_field.density(model, enc_x, None, torch.zeros(1, 1))


def test_a_wrapped_er_nerf_in_the_static_space_has_no_attention_terms():
    """With a deformation field (static_canonical, the default) the backbone's field reads
    neither audio nor eye: its attention maps are zeros at every sample, so ER-NeRF's
    attention regularisers are zero; with the backbone's own path kept they are not."""
    model = make_backbone("er_nerf")
    x = torch.rand(32, 3) * 1.6 - 0.8
    d = torch.nn.functional.normalize(torch.randn(32, 3), dim=-1)
    enc_a, eye, code = torch.randn(1, model.audio_dim), torch.rand(1, 1), model.individual_code(0)
    static = wrap(model, rsdf={"hidden": 16, "grid": SMALL_GRID})
    own = wrap(make_backbone("er_nerf"), rsdf={"hidden": 16, "grid": SMALL_GRID},
               static_canonical=False)  # fmt: skip
    out = static(x, d, enc_a, eye, code)
    assert torch.equal(out["ambient_aud"], torch.zeros(32))
    assert torch.equal(out["ambient_eye"], torch.zeros(32))
    kept = own(x, d, enc_a, eye, code)
    assert kept["ambient_aud"].abs().sum() > 0 and kept["ambient_eye"].abs().sum() > 0
    # the static field is the backbone's under zero audio and eye
    with torch.no_grad():
        ref = model(x, d, torch.zeros_like(enc_a), torch.zeros_like(eye), code)
        torch.testing.assert_close(static(x, d, enc_a, eye, code)["sigma"], ref["sigma"])
