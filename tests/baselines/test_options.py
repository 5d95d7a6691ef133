"""The originals' remaining options: --bound 2, -O off, --emb, --ind_dim 0, --train_camera,
--att 0/1, each with a value derived by hand, and the checkpoints they leave behind."""

from __future__ import annotations

import pytest
import torch

from lokitalk_plugins.baselines.er_nerf.network import ERNeRF
from lokitalk_plugins.baselines.manifest import compare_with_manifest, load_manifest
from lokitalk_plugins.baselines.rad_nerf.network import RADNeRF
from lokitalk_plugins.data.audio import audio_window
from lokitalk_plugins.signals.audio import encode_audio
from lokitalk_plugins.train.checkpoint import CheckpointError
from lokitalk_plugins.train.preflight import DataMismatchError, check_data
from lokitalk_plugins.train.weights import load_model_weights

BACKBONES = [(RADNeRF, "rad_nerf"), (ERNeRF, "er_nerf")]
OPTIONS = dict(exp_eye=False, emb=True, ind_dim=0, train_camera=True)


def _checkpoint(name: str, like: dict) -> dict:
    """An original-shaped ``ngp.pth`` from a manifest (random floats, ``like``'s int buffers
    where the shapes agree)."""
    g = torch.Generator().manual_seed(0)
    state = {}
    for key, shape in load_manifest(name)["state_dict"].items():
        ref = like.get(key)
        if ref is not None and not ref.is_floating_point():  # grid offsets, bitfield, counter
            same = list(ref.shape) == list(shape)
            state[key] = ref.clone() if same else torch.zeros(shape, dtype=ref.dtype)
        else:
            state[key] = torch.rand(shape, generator=g)
    return {"model": state}


def test_rad_nerf_bound_2_grid_sizes():
    # 3D tiled grid, base 16, 16 levels, cap 2^16 entries per level; entries (res + 1)^3
    # rounded up to 8. finest 4096: s = 2^(8/15); res 16, 24, 34 then capped:
    # 17^3 -> 4920, 25^3 = 15625 -> 15632, 35^3 = 42875 -> 42880, 13 x 65536.
    model = RADNeRF(audio_in_dim=29, torso=True, bound=2.0)
    assert model.encoder.embeddings.shape == (4920 + 15632 + 42880 + 13 * 65536, 2)
    # the ambient and torso grids span [-1, 1] at finest 2048 whatever the bound
    ref = load_manifest("rad_nerf_k29_torso")["state_dict"]
    assert list(model.encoder_ambient.embeddings.shape) == ref["encoder_ambient.embeddings"]
    assert list(model.torso_encoder.embeddings.shape) == ref["torso_encoder.embeddings"]


@pytest.mark.parametrize(("cls", "name"), BACKBONES)
def test_bound_2_checkpoint_loads_without_its_cascaded_grid(cls, name):
    model = cls(audio_in_dim=29, torso=True, bound=2.0)
    manifest = load_manifest(f"{name}_k29_torso_bound2")
    # only the occupancy grid differs: the original keeps 2 cascades, ours recomputes one
    assert compare_with_manifest(model.state_dict(), manifest) == [
        "shape of density_bitfield: [262144], the original has [524288]",
        "shape of density_grid: [1, 2097152], the original has [2, 2097152]",
    ]
    ckpt = _checkpoint(f"{name}_k29_torso_bound2", model.state_dict())
    info = load_model_weights(model, ckpt)
    assert sorted(info["skipped"]) == ["density_bitfield", "density_grid"]
    assert torch.equal(model.sigma_net.net[0].weight, ckpt["model"]["sigma_net.net.0.weight"])
    with pytest.raises(CheckpointError, match="another --bound"):
        load_model_weights(cls(audio_in_dim=29, torso=True), ckpt)


@pytest.mark.parametrize(("cls", "name"), BACKBONES)
def test_options_checkpoint_loads_and_a_default_model_names_the_options(cls, name):
    model = cls(audio_in_dim=29, torso=True, **OPTIONS)
    manifest = load_manifest(f"{name}_k29_torso_options")
    assert compare_with_manifest(model.state_dict(), manifest) == []
    ckpt = _checkpoint(f"{name}_k29_torso_options", model.state_dict())
    assert load_model_weights(model, ckpt)["skipped"] == []
    with pytest.raises(CheckpointError) as err:
        load_model_weights(cls(audio_in_dim=29, torso=True), ckpt)
    for option in ("without -O", "exp_eye=False", "--emb", "--ind_dim 0", "--train_camera"):
        assert option in str(err.value)


@pytest.mark.parametrize(("cls", "name"), BACKBONES)
def test_without_exp_eye_the_eye_is_not_an_input(cls, name):
    torch.manual_seed(0)
    model = cls(audio_in_dim=29, ind_num=4, exp_eye=False, encoder_backend="torch")
    assert model.sigma_net.net[0].weight.shape[1] == {"rad_nerf": 64, "er_nerf": 68}[name]
    enc = model.encode_points(torch.rand(5, 3) - 0.5)
    enc_a = torch.randn(1, model.audio_dim)
    a = model.density(enc, enc_a, torch.zeros(1, 1))
    b = model.density(enc, enc_a, torch.ones(1, 1))
    assert torch.equal(a["sigma"], b["sigma"])
    if name == "er_nerf":
        assert torch.equal(a["ambient_eye"], torch.zeros(5))


def test_rad_nerf_without_audio_the_ambient_coordinate_is_zero():
    torch.manual_seed(0)
    model = RADNeRF(audio_in_dim=29, ind_num=4, encoder_backend="torch")
    enc, eye = model.encode_points(torch.rand(5, 3) - 0.5), torch.ones(1, 1)
    out = model.density(enc, model.encode_audio(None), eye)
    assert torch.equal(out["ambient"], torch.zeros(5, 2))
    # the same as an ambient net whose output is 0 (tanh(0) = 0) with any audio
    with torch.no_grad():
        model.ambient_net.net[-1].weight.zero_()
    ref = model.density(enc, torch.randn(1, 64), eye)
    assert torch.allclose(out["sigma"], ref["sigma"]) and torch.equal(
        out["ambient"], ref["ambient"]
    )


@pytest.mark.parametrize(("cls", "name"), BACKBONES)
def test_emb_replaces_each_audio_frame_by_its_class_embedding(cls, name):
    torch.manual_seed(0)
    model = cls(audio_in_dim=29, ind_num=4, emb=True)
    with torch.no_grad():
        model.embedding.weight.copy_(torch.eye(29))  # class c -> the one-hot vector of c
    windows = torch.randn(1, 8, 29, 16)
    labels = windows.argmax(dim=2)  # [1, 8, 16]
    one_hot = torch.nn.functional.one_hot(labels, 29).float().transpose(-1, -2)
    expected = encode_audio(model.audio_net, model.audio_att_net, one_hot)
    assert torch.allclose(model.encode_audio(windows), expected)
    assert torch.allclose(model.encode_audio(labels), expected)  # integer labels as given


@pytest.mark.parametrize(("cls", "name"), BACKBONES)
def test_ind_dim_0_has_no_codes(cls, name):
    model = cls(audio_in_dim=29, ind_num=4, ind_dim=0, torso=True, ind_dim_torso=0)
    keys = model.state_dict().keys()
    assert "individual_codes" not in keys and "individual_codes_torso" not in keys
    assert model.individual_code(3).shape == (1, 0)
    assert model.color_net.net[0].weight.shape[1] == 16 + 64
    out = model(torch.rand(4, 3) - 0.5, torch.eye(3)[[0, 1, 2, 0]], torch.randn(1, model.audio_dim),
                torch.ones(1, 1), model.individual_code(None))  # fmt: skip
    assert out["color"].shape == (4, 3)


def test_train_camera_moves_the_training_rays():
    model = RADNeRF(audio_in_dim=29, ind_num=4, train_camera=True)
    with torch.no_grad():
        model.camera_dT[2] = torch.tensor([1.0, 2.0, 3.0])
        model.camera_dR[2] = torch.tensor([0.0, 0.0, 90.0])  # degrees about z
    rays_o, rays_d = torch.zeros(2, 3), torch.tensor([[1.0, 0, 0], [0, 0, 1]])
    o, d = model.camera_offset(rays_o, rays_d, 2)
    # d @ Rz(90 deg): (1, 0, 0) -> (0, -1, 0); (0, 0, 1) stays
    assert torch.allclose(o, torch.tensor([[1.0, 2, 3], [1, 2, 3]]))
    assert torch.allclose(d, torch.tensor([[0.0, -1, 0], [0, 0, 1]]), atol=1e-6)
    o, d = model.camera_offset(rays_o, rays_d, 1)  # untouched frame: no offset
    assert torch.equal(o, rays_o) and torch.allclose(d, rays_d)
    with torch.no_grad():
        model.camera_dR[3] = torch.tensor([3.0, -7.0, 11.0])
    ref = model.camera_offset(rays_o, rays_d, 3)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # a bf16 training step: same rays
        o, d = model.camera_offset(rays_o, rays_d, 3)
    assert d.dtype == torch.float32 and torch.equal(d, ref[1]) and torch.equal(o, ref[0])


def test_att_1_windows_are_the_eight_before_the_frame():
    feats = (torch.arange(10).float() + 1).view(10, 1, 1).expand(10, 2, 3)  # row n holds n + 1
    before = audio_window(feats, 3, att=1)[:, 0, 0]  # windows -5 .. 2
    assert before.tolist() == [0, 0, 0, 0, 0, 1, 2, 3]
    around = audio_window(feats, 3)[:, 0, 0]  # windows -1 .. 6
    assert around.tolist() == [0, 1, 2, 3, 4, 5, 6, 7]


class _Frames:
    def __init__(self, audio_att: int):
        self.audio_att = audio_att

    def __len__(self) -> int:
        return 3


def test_att_mismatch_between_model_and_data_is_refused():
    model = ERNeRF(audio_in_dim=29, ind_num=4, att=1)
    check_data(model, _Frames(1))
    with pytest.raises(DataMismatchError, match=r"att=1 .* audio_att=2; bind TalkingHeadFolder"):
        check_data(model, _Frames(2))
    check_data(ERNeRF(audio_in_dim=29, ind_num=4, att=0), _Frames(2))
    with pytest.raises(ValueError, match="att must be 0, 1 or 2"):
        RADNeRF(att=3)


def test_hint_names_code_sizes_audio_channels_and_torso():
    from lokitalk_plugins.baselines.options import checkpoint_option_hint

    own = RADNeRF(audio_in_dim=29, ind_num=10).state_dict()
    saved = RADNeRF(audio_in_dim=44, ind_num=20, ind_dim=6, torso=True).state_dict()
    hint = checkpoint_option_hint(own, saved)
    assert "--ind_dim 6: build the model with ind_dim=6" in hint
    assert "--ind_num 20" in hint and "audio_in_dim=44" in hint and "torso=True" in hint
    assert checkpoint_option_hint(own, own) == ""


def test_the_options_bind_with_gin_under_the_originals_names():
    import gin

    from lokitalk_plugins.registration import CONFIGURABLES

    bindings = [
        "ERNeRF.torso_shrink = 0.7",
        "ERNeRF.exp_eye = False",
        "ERNeRF.emb = True",
        "ERNeRF.ind_dim = 0",
        "ERNeRF.train_camera = True",
        "ERNeRF.att = 1",
        "TalkingHeadFolder.audio_att = 1",
    ]
    gin.clear_config()
    try:
        gin.parse_config(bindings)
        model = CONFIGURABLES["ERNeRF"](audio_in_dim=29, ind_num=4, torso=True)
        assert gin.query_parameter("TalkingHeadFolder.audio_att") == 1
    finally:
        gin.clear_config()
    assert (model.torso_shrink, model.exp_eye, model.emb, model.att) == (0.7, False, True, 1)
    assert "individual_codes" not in model.state_dict() and model.train_camera


def test_readme_backbone_options_example_runs(capsys):
    from pathlib import Path

    text = (Path(__file__).parents[2] / "README.md").read_text()
    section = text[text.index("### Backbone options") :]
    code = section[section.index("```python") + len("```python") : section.index("```\n", 10)]
    exec(compile(code, "README.md (Backbone options)", "exec"), {})
    printed = capsys.readouterr().out
    assert "--ind_dim 0" in printed and "exp_eye=False" in printed
