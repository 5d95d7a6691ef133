"""The Disentangling Head NeRF's velocity loss and neural renderer in the pipeline's step:
consecutive frames at the same pixels, the trained loss of their terms, shapes of the
neural path, what trains, and a short run of each that lowers the loss (both backbones)."""

from __future__ import annotations

import functools
import json
import math
import sys
from pathlib import Path

import gin
import pytest
import torch
import torch.nn.functional as F

import lokitalk_plugins.pipeline.frames as frames_module
import lokitalk_plugins.registration  # noqa: F401  (the gin names)
from lokitalk_plugins.baselines.er_nerf.network import ERNeRF
from lokitalk_plugins.baselines.rad_nerf.network import RADNeRF
from lokitalk_plugins.cli import main
from lokitalk_plugins.data import TalkingHeadFolder
from lokitalk_plugins.data.sampling import sample_random_rays
from lokitalk_plugins.data.studio import write_identity
from lokitalk_plugins.losses import alpha_entropy, velocity_loss
from lokitalk_plugins.pipeline import TalkingHeadSystem
from lokitalk_plugins.pipeline.configured import configured_system
from lokitalk_plugins.pipeline.options import FramePlugins, OptionError
from lokitalk_plugins.render import NeuralRenderer
from lokitalk_plugins.train import parse_config_files
from lokitalk_plugins.train.checkpoint import CheckpointError
from lokitalk_plugins.train.runtime import cpu_bf16_support

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "baselines"))
from dhnerf_helpers import short_run  # noqa: E402  (the seeded Adam run the DH-NeRF tests share)

BACKBONES = {"rad_nerf": RADNeRF, "er_nerf": ERNeRF}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = write_identity(tmp_path_factory.mktemp("studio") / "id", seconds=0.6, size=32)
    return TalkingHeadFolder(folder, background="bc", preload=True, progress=False)


def make_system(data, backbone="rad_nerf", **kw):
    torch.manual_seed(0)
    k = data.audio_features.shape[1]
    model = BACKBONES[backbone](audio_in_dim=k, ind_num=len(data), grid_size=32)
    system = TalkingHeadSystem(model, num_rays=256, **kw)
    system.prepare(data)
    system.set_stage("head")
    return system


class Recorder:
    def __init__(self, fn):
        self.fn, self.calls = fn, []

    def __call__(self, *args, **kw):
        out = self.fn(*args, **kw)
        self.calls.append((args, out))
        return out


def test_velocity_step_renders_the_same_pixels_of_consecutive_frames(data, monkeypatch):
    vel = Recorder(lambda *a: velocity_loss(*a, weight=10.0))
    system = make_system(data, velocity=vel)
    render = Recorder(frames_module.render_training)
    monkeypatch.setattr(frames_module, "render_training", render)
    out = system.training_step(data[0], 0, 10, torch.Generator().manual_seed(1))
    (a, prev), (b, cur) = [(args[1], out) for args, out in render.calls]
    # frame 0 opens the clip: its pair is (0, 1); the same 256 pixels in both
    assert (a.index, b.index) == (0, 1) and data.img_ids[1] == data.img_ids[0] + 1
    assert prev.rays.index.numel() == 256 and torch.equal(prev.rays.index, cur.rays.index)
    assert not torch.equal(prev.rays.rgb, cur.rays.rgb)  # two frames' ground truth
    render.calls.clear()
    system.training_step(data[5], 0, 10, torch.Generator().manual_seed(1))
    assert [args[1].index for args, _ in render.calls] == [4, 5]
    # the trained loss: mean colour and alpha terms of both frames + λ_v L_v (eq. 7)
    colour = torch.stack([((r.rgb - r.rays.rgb) ** 2).mean() for r in (prev, cur)]).mean()
    alpha = torch.stack([alpha_entropy(r.result.weights_sum).mean() for r in (prev, cur)])
    v = velocity_loss(cur.rgb, prev.rgb, cur.rays.rgb, prev.rays.rgb, weight=10.0)
    assert math.isclose(out.logs["velocity"], float(v.detach()), rel_tol=1e-5)
    # the logs beside the terms: PSNR, the loss, the share of rays the cap cut short (both
    # frames' rays)
    cut = torch.cat([r.result.cut_short() for r in (prev, cur)]).float().mean()
    assert math.isclose(out.logs["cut_short"], float(cut), abs_tol=1e-9)
    diagnostics = ("velocity", "psnr", "loss", "cut_short")
    model_terms = sum(v for k, v in out.logs.items() if k not in diagnostics)
    want = colour + system.entropy_weight * alpha.mean() + v + model_terms
    assert math.isclose(out.logs["loss"], float(want.detach()), rel_tol=1e-4)


def test_velocity_needs_the_training_frames():
    model = RADNeRF(audio_in_dim=32, ind_num=4, grid_size=32)
    system = TalkingHeadSystem(model, velocity=velocity_loss)
    with pytest.raises(RuntimeError, match="the velocity loss needs .* call .*prepare"):
        frames_module._pair(system, None)


def test_more_frames_a_step_need_the_training_frames():
    model = RADNeRF(audio_in_dim=32, ind_num=4, grid_size=32)
    system = TalkingHeadSystem(model)
    with pytest.raises(RuntimeError, match="neural_frames > 1 needs .* call .*prepare"):
        frames_module.other_frames(system, None, 1, torch.Generator())


def test_neural_renderer_shapes_groups_and_stages(data):
    nr = NeuralRenderer(in_dim=67, scale=4, hidden=16, min_hidden=8)
    system = make_system(data, "er_nerf", neural_renderer=nr)
    groups = {g["name"]: g for g in system.parameter_groups()}
    own = {id(p) for p in nr.parameters()}
    assert [id(p) for p in groups["neural"]["params"]] == [id(p) for p in nr.parameters()]
    assert not own & {id(p) for p in groups["mlp"]["params"]}
    assert groups["neural"]["lr"] == 5e-4 and groups["neural"]["betas"] == (0.9, 0.99)
    out = system.training_step(data[2], 0, 10, torch.Generator().manual_seed(0))
    out.loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in nr.parameters())
    frame = system.render_frame(data[2])
    assert frame["rgb"].shape == (32, 32, 3) and frame["alpha"].shape == (32, 32)
    assert float(frame["rgb"].min()) >= 0 and float(frame["rgb"].max()) <= 1
    # each 4x4 block shares its low-res alpha
    assert torch.equal(frame["alpha"][:4, :4], frame["alpha"][0, 0].expand(4, 4))
    with pytest.raises(ValueError, match="head stage only"):
        system.set_stage("lips")


def test_the_2d_module_keeps_its_own_adam_betas_and_rate_under_any_backbone(data):
    """ER-NeRF's optimiser (AdamW, beta1 0, 'mlp' 1e-3) collapsed the 2D module in training:
    its group "neural" keeps FramePlugins.neural_betas and GroupRates.neural unless asked."""
    from lokitalk_plugins.train.optim import build_optimizer

    nr = NeuralRenderer(in_dim=68, scale=4, hidden=16, min_hidden=8, composite="full_res")
    system = make_system(data, "er_nerf", neural_renderer=nr)
    er = dict(optimizer="adamw", betas=(0.0, 0.99), lr={"grid": 1e-2, "mlp": 1e-3})
    opt = {g["name"]: g for g in build_optimizer(system.parameter_groups(), **er).param_groups}
    assert opt["neural"]["betas"] == (0.9, 0.99) and opt["neural"]["lr"] == 5e-4
    assert opt["mlp"]["betas"] == (0.0, 0.99) and opt["mlp"]["lr"] == 1e-3
    mine = build_optimizer(system.parameter_groups(), **{**er, "lr": {"neural": 2e-4}})
    assert {g["name"]: g["lr"] for g in mine.param_groups}["neural"] == 2e-4
    trainers = make_system(data, "er_nerf", neural_renderer=nr, neural_betas=None)
    opt = build_optimizer(trainers.parameter_groups(), **er)
    assert {g["name"]: g["betas"] for g in opt.param_groups}["neural"] == (0.0, 0.99)
    without = {g["name"] for g in make_system(data, "er_nerf").parameter_groups()}
    assert "neural" not in without


@pytest.mark.parametrize("betas", [(0.9,), (1.0, 0.99), ("a", 0.9), 0.9, (True, 0.9)])
def test_the_2d_module_betas_are_checked_in_one_line(betas):
    with pytest.raises(OptionError, match="FramePlugins.neural_betas must be two numbers"):
        FramePlugins(neural_betas=betas)


@pytest.mark.skipif(cpu_bf16_support() is None, reason="this CPU has no bfloat16 instructions")
def test_the_2d_module_renders_in_bfloat16_at_inference_only(data):
    def built(precision):
        torch.manual_seed(1)
        nr = NeuralRenderer(in_dim=68, scale=4, hidden=16, min_hidden=8, composite="full_res")
        return make_system(data, "rad_nerf", neural_renderer=nr, neural_precision=precision)

    ref, low = built("float32"), built("bfloat16")  # same seed: the same weights
    assert low.neural_dtype == torch.bfloat16 and ref.neural_dtype is None
    calls = []
    low.neural_renderer.register_forward_hook(
        lambda m, i, o: calls.append((torch.is_autocast_enabled("cpu"), o.dtype))
    )
    a, b = ref.render_frame(data[2])["rgb"], low.render_frame(data[2])["rgb"]
    assert calls == [(True, torch.bfloat16)] and b.dtype == torch.float32
    diff = (a - b).abs()
    assert 0 < float(diff.max()) < 2e-2  # rounded, not another image
    # training keeps the trainer's precision: the same loss, bit for bit
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    la = ref.training_step(data[2], 0, 10, g()).loss
    lb = low.training_step(data[2], 0, 10, g()).loss
    assert torch.equal(la, lb) and calls[-1] == (False, torch.float32)


@pytest.mark.skipif(cpu_bf16_support() is None, reason="this CPU has no bfloat16 instructions")
def test_the_2d_module_trains_in_bfloat16_when_asked(data):
    """FramePlugins.neural_train_precision = 'bfloat16': the 2D module's forward (and so its
    backward) under the CPU autocast in training; its weights and gradients stay float32, the
    loss is the float32 one rounded, not another; inference keeps neural_precision's."""

    def built(precision):
        torch.manual_seed(1)
        nr = NeuralRenderer(in_dim=68, scale=4, hidden=16, min_hidden=8, composite="full_res")
        return make_system(data, "rad_nerf", neural_renderer=nr, neural_train_precision=precision)

    ref, low = built("float32"), built("bfloat16")
    assert low.neural_train_dtype == torch.bfloat16 and ref.neural_train_dtype is None
    assert low.neural_dtype is None  # inference: neural_precision's float32
    calls = []
    low.neural_renderer.register_forward_hook(
        lambda m, i, o: calls.append((torch.is_autocast_enabled("cpu"), o.dtype))
    )
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    la = ref.training_step(data[2], 0, 10, g()).loss
    lb = low.training_step(data[2], 0, 10, g()).loss
    assert calls == [(True, torch.bfloat16)] and lb.dtype == torch.float32
    assert la != lb and math.isclose(float(la), float(lb), rel_tol=2e-2)
    la.backward()
    lb.backward()
    for (name, pa), pb in zip(ref.neural_renderer.named_parameters(),
                              low.neural_renderer.parameters()):  # fmt: skip
        assert pb.dtype == torch.float32 and pb.grad.dtype == torch.float32, name
        cos = F.cosine_similarity(pa.grad.flatten(), pb.grad.flatten(), dim=0)
        assert float(cos) > 0.95, name
    field_grads = [p.grad for p in low.model.parameters() if p.grad is not None]
    assert field_grads and all(g.dtype == torch.float32 for g in field_grads)
    low.render_frame(data[2])
    assert calls[-1] == (False, torch.float32)


@pytest.mark.parametrize("name", ["neural_precision", "neural_train_precision"])
def test_the_2d_module_precision_is_checked_in_one_line(name):
    with pytest.raises(OptionError, match=f"FramePlugins.{name} must be one of"):
        FramePlugins(**{name: "half"})


@pytest.mark.parametrize("composite", ["low_res", "full_res"])
def test_the_low_res_term_compares_the_rays_image_with_block_averages(data, composite, monkeypatch):
    """FramePlugins.neural_low_res_weight: λ * MSE(the rays' colour over the block-averaged
    background, the frame's 4 x 4 block averages), in the trained total; 0: no term."""
    from lokitalk_plugins.render import block_mean

    def system_with(weight):
        nr = NeuralRenderer(in_dim=67 + (composite == "full_res"), scale=4, hidden=16,
                            min_hidden=8, composite=composite)  # fmt: skip
        return make_system(data, "er_nerf", neural_renderer=nr, neural_low_res_weight=weight)

    render = Recorder(frames_module.render_training)
    monkeypatch.setattr(frames_module, "render_training", render)
    out = system_with(0.5).training_step(data[2], 0, 10, torch.Generator().manual_seed(0))
    (args, part), = render.calls  # fmt: skip
    frame, res = args[1], part.result
    gt = block_mean(frame.image, 4)  # [8, 8, 3]
    torch.testing.assert_close(gt[1, 2], frame.image[4:8, 8:12].mean(dim=(0, 1)))
    # the rays' colour over the block-averaged background, with either composite (with
    # 'full_res' the rays carry the foreground over black; the step composites it, and the
    # result the model's terms read holds that: test_the_models_terms_see_the_rays_over_...)
    low = res.rgb
    torch.testing.assert_close(part.low_rgb, res.rgb)
    want = 0.5 * ((low - gt.reshape(-1, 3)) ** 2).mean()
    assert math.isclose(out.logs["low_res"], float(want.detach()), rel_tol=1e-5)
    # the total: colour on the upsampled frame + α entropy + the model's terms + low_res
    colour = ((part.rgb - part.rays.rgb) ** 2).mean()
    alpha = alpha_entropy(res.weights_sum).mean()
    others = sum(v for k, v in out.logs.items() if k not in ("psnr", "loss", "cut_short"))
    system = system_with(0.0)
    total = colour + system.entropy_weight * alpha + others
    assert math.isclose(out.logs["loss"], float(total.detach()), rel_tol=1e-4)
    assert "low_res" not in system.training_step(data[2], 0, 10, torch.Generator()).logs
    with pytest.raises(ValueError, match="neural_low_res_weight must be >= 0"):
        system_with(-1.0)


def test_jitter_shifts_the_ray_lattice_the_background_and_the_loss_together(data, monkeypatch):
    """FramePlugins.neural_jitter: a step with shift (dy, dx) renders what an unshifted step
    renders of the frame moved by (dy, dx) (its image and background shifted, its principal
    point moved by the shift), and takes the losses on the pixels the moved image covers."""
    import dataclasses

    from lokitalk_plugins.data.sampling import rays_at
    from lokitalk_plugins.render import block_mean

    nr = NeuralRenderer(in_dim=68, scale=4, hidden=16, min_hidden=8, composite="full_res",
                        upsample="pixel_shuffle")  # fmt: skip
    system = make_system(data, "er_nerf", neural_renderer=nr, neural_low_res_weight=1.0,
                         neural_jitter=True)  # fmt: skip
    draws = {frames_module.jitter_shift(system, torch.Generator().manual_seed(i))
             for i in range(40)}  # fmt: skip
    assert draws <= {(y, x) for y in range(4) for x in range(4)} and len(draws) > 8
    system.neural_jitter = False
    assert frames_module.jitter_shift(system, torch.Generator()) == (0, 0)
    system.neural_jitter = True
    dy, dx = 1, 3
    monkeypatch.setattr(frames_module, "jitter_shift", lambda *a: (dy, dx))
    render = Recorder(frames_module.render_training)
    monkeypatch.setattr(frames_module, "render_training", render)
    frame = data[2]
    torch.manual_seed(3)
    system.training_step(frame, 0, 10, torch.Generator().manual_seed(0))
    (args, part), = render.calls  # fmt: skip
    H, W = frame.H, frame.W
    rows, cols = torch.meshgrid(torch.arange(dy, H), torch.arange(dx, W), indexing="ij")
    assert torch.equal(part.rays.index, (rows * W + cols).reshape(-1))
    assert part.rgb.shape == ((H - dy) * (W - dx), 3) and part.rays.shape == (H - dy, W - dx)
    hh, ww = (H - dy) // 4, (W - dx) // 4  # the blocks wholly inside: 7 x 7
    assert part.low_rgb.shape == part.low_target.shape == (hh * ww, 3)
    want = block_mean(frame.image[dy : dy + 4 * hh, dx : dx + 4 * ww], 4).reshape(-1, 3)
    torch.testing.assert_close(part.low_target, want)

    # the same step, unshifted, of the frame moved by (dy, dx)
    def moved(t):
        r = torch.arange(dy, H + dy).clamp(max=H - 1)
        c = torch.arange(dx, W + dx).clamp(max=W - 1)
        return t[r][:, c]

    fx, fy, cx, cy = frame.intrinsics.tolist()
    other = dataclasses.replace(frame, image=moved(frame.image), background=moved(frame.background),
                                intrinsics=torch.tensor([fx, fy, cx - dx, cy - dy]))  # fmt: skip
    torch.manual_seed(3)
    unshifted = render.fn(system, other, rays_at(other, torch.arange(H * W), (H, W)),
                          torch.Generator().manual_seed(0))  # fmt: skip
    torch.manual_seed(3)
    again = render.fn(system, frame, part.rays, torch.Generator().manual_seed(0), (dy, dx))
    torch.testing.assert_close(again.rgb, unshifted.rgb.reshape(H, W, 3)[: H - dy, : W - dx]
                               .reshape(-1, 3))  # fmt: skip
    torch.testing.assert_close(again.low_rgb, unshifted.low_rgb.reshape(8, 8, 3)[:hh, :ww]
                               .reshape(-1, 3))  # fmt: skip


def test_neural_frames_render_the_trainers_frame_and_others_with_one_shift(data, monkeypatch):
    """FramePlugins.neural_frames = 3: the step renders the trainer's frame and two other
    training frames (drawn without repeats), each whole at 1/4 with the step's one shift; the
    colour, alpha and low-resolution terms are their means, the model's own terms the
    trainer's frame's. At 1 the step draws nothing more from the generator than before."""
    from lokitalk_plugins.pipeline.objective import colour_loss

    nr = NeuralRenderer(in_dim=68, scale=4, hidden=16, min_hidden=8, composite="full_res",
                        upsample="pixel_shuffle")  # fmt: skip
    render = Recorder(frames_module.render_training)
    monkeypatch.setattr(frames_module, "render_training", render)
    system = make_system(data, "er_nerf", neural_renderer=nr, neural_low_res_weight=1.0,
                         neural_jitter=True, neural_frames=3)  # fmt: skip
    frame = data[4]
    out = system.training_step(frame, 0, 10, torch.Generator().manual_seed(2))
    parts = [p for _, p in render.calls]
    shifts = [args[4] for args, _ in render.calls]
    indices = [p.frame.index for p in parts]
    assert indices[0] == 4 and len(set(indices)) == 3 and all(0 <= i < len(data) for i in indices)
    assert len(set(shifts)) == 1
    assert all(torch.equal(p.rays.index, parts[0].rays.index) for p in parts)
    assert not torch.equal(parts[1].rays.rgb, parts[0].rays.rgb)  # another frame's truth
    colour = torch.stack([colour_loss(p.rgb, p.rays.rgb, p.rays.masks, None)[0] for p in parts])
    alpha = torch.stack([alpha_entropy(p.result.weights_sum).mean() for p in parts])
    low = torch.stack([((p.low_rgb - p.low_target) ** 2).mean() for p in parts])
    assert math.isclose(out.logs["low_res"], float(low.mean()), rel_tol=1e-5)
    model_terms = sum(v for k, v in out.logs.items()
                      if k not in ("psnr", "loss", "cut_short", "low_res"))  # fmt: skip
    want = colour.mean() + system.entropy_weight * alpha.mean() + low.mean() + model_terms
    assert math.isclose(out.logs["loss"], float(want), rel_tol=1e-4)
    own_mse = colour_loss(parts[0].rgb, parts[0].rays.rgb, parts[0].rays.masks, None)[1]
    assert math.isclose(out.logs["psnr"], float(-10 * torch.log10(own_mse.mean())), rel_tol=1e-5)
    # the draws: without repeats, never the trainer's frame, fewer when the clip is short
    g = torch.Generator().manual_seed(0)
    drawn = [f.index for f in frames_module.other_frames(system, frame, len(data), g)]
    assert sorted(drawn) == [i for i in range(len(data)) if i != 4]
    # at 1, one draw (the shift) from the generator, as before the option
    system.neural_frames = 1
    g = torch.Generator().manual_seed(2)
    render.calls.clear()
    system.training_step(frame, 0, 10, g)
    assert len(render.calls) == 1
    ref = torch.Generator().manual_seed(2)
    frames_module.jitter_shift(system, ref)
    assert torch.equal(g.get_state(), ref.get_state())
    # with the velocity loss the step's two frames are its consecutive pair
    vel = functools.partial(velocity_loss, weight=10.0)
    pair = make_system(data, "er_nerf", neural_renderer=nr, velocity=vel, neural_frames=2)
    render.calls.clear()
    pair.training_step(data[5], 0, 10, torch.Generator().manual_seed(2))
    assert [p.frame.index for _, p in render.calls] == [4, 5]


def test_the_models_terms_see_the_rays_over_the_background(data, monkeypatch):
    """With composite 'full_res' the rays carry the foreground over black; the result the
    model's own terms read (ER-NeRF's uncertainty compares its colour with the block centres'
    pixels) holds the rays' colour over the block-averaged background, as the low-res term
    does, and its other outputs unchanged."""
    from lokitalk_plugins.render import block_mean

    nr = NeuralRenderer(in_dim=68, scale=4, hidden=16, min_hidden=8, composite="full_res",
                        upsample="pixel_shuffle")  # fmt: skip
    system = make_system(data, "er_nerf", neural_renderer=nr, neural_low_res_weight=1.0)
    render = Recorder(frames_module.render_training)
    monkeypatch.setattr(frames_module, "render_training", render)
    terms = Recorder(system.model.loss_terms)
    monkeypatch.setattr(system.model, "loss_terms", terms)
    frame = data[3]
    system.training_step(frame, 0, 10, torch.Generator().manual_seed(0))
    ((_, part),), ((args, _),) = render.calls, terms.calls
    seen = args[0]
    assert seen is part.result
    bg = block_mean(frame.background, 4).reshape(-1, 3)
    alpha = seen.weights_sum[:, None]
    torch.testing.assert_close(seen.rgb, part.low_rgb)  # no shift: every block inside
    # the foreground over black, recovered from it, is what the rays rendered: in [0, alpha]
    fg = seen.rgb - (1 - alpha) * bg
    assert float(fg.min()) >= -1e-3 and bool((fg <= alpha + 2e-3).all())
    assert {"ambient_aud", "ambient_eye", "uncertainty"} <= set(seen.extras)


def test_neural_frames_are_refused_where_they_mean_nothing():
    nr = NeuralRenderer(in_dim=67, scale=4, hidden=16, min_hidden=8)
    with pytest.raises(OptionError, match="neural_frames must be a whole number >= 1"):
        FramePlugins(neural_renderer=nr, neural_frames=0)
    with pytest.raises(OptionError, match="neural_frames = 2 needs FramePlugins.neural_renderer"):
        FramePlugins(neural_frames=2)
    with pytest.raises(OptionError, match="cannot be used with FramePlugins.velocity"):
        FramePlugins(neural_renderer=nr, velocity=velocity_loss, neural_frames=3)
    assert FramePlugins(neural_renderer=nr, neural_frames=2).neural_frames == 2
    # with the velocity loss its consecutive pair is the step's two frames
    assert FramePlugins(neural_renderer=nr, velocity=velocity_loss, neural_frames=2)


def held_out_loss(system, frames):
    # the mean over several frames: one frame's 256 rays alone make a noisy yardstick
    with torch.no_grad():
        g = torch.Generator().manual_seed(7)
        return sum(system.training_step(f, 0, 1, g).logs["loss"] for f in frames) / len(frames)


@pytest.mark.parametrize(
    "backbone,plugin",
    [("rad_nerf", "velocity"), ("er_nerf", "velocity"), ("rad_nerf", "neural"),
     ("er_nerf", "neural"), ("er_nerf", "neural_full_res"), ("rad_nerf", "neural_shuffle"),
     ("rad_nerf", "neural_lift"), ("er_nerf", "neural_jitter"), ("rad_nerf", "neural_support"),
     ("er_nerf", "velocity_random_head_background")],
)  # fmt: skip
def test_a_short_run_with_each_plugin_lowers_the_loss(data, backbone, plugin):
    # the velocity term as configs/velocity.gin binds it: λ_v 10, squared per-pixel error
    vel = functools.partial(velocity_loss, weight=10.0, squared=True)
    kw = {"velocity": vel} if plugin.startswith("velocity") else {}
    if plugin.endswith("random_head_background"):
        kw["head_background"] = "random"
    if plugin == "neural":
        kw["neural_renderer"] = NeuralRenderer(in_dim=67, scale=4, hidden=32, min_hidden=16)
    if plugin == "neural_full_res":  # the foreground and its alpha: 64 + 3 + 1 channels
        kw["neural_renderer"] = NeuralRenderer(in_dim=68, scale=4, hidden=32, min_hidden=16,
                                               composite="full_res")  # fmt: skip
    if plugin in ("neural_shuffle", "neural_jitter", "neural_support"):  # sub-pixel
        # upsampling, and then the rays' own colour term, or the ray lattice shifted at random
        # each step (and the output confined to the rays' support)
        kw["neural_renderer"] = NeuralRenderer(in_dim=68, scale=4, hidden=32, min_hidden=16,
                                               composite="full_res", upsample="pixel_shuffle",
                                               support=int(plugin == "neural_support"))  # fmt: skip
        kw["neural_" + ("low_res_weight" if plugin == "neural_shuffle" else "jitter")] = 1.0
    if plugin == "neural_lift":  # each sample's 64-d geo_feat lifted to 96-d before the sum
        kw["neural_renderer"] = NeuralRenderer(in_dim=100, scale=4, hidden=32, min_hidden=16,
                                               composite="full_res", lift=96)  # fmt: skip
    system = make_system(data, backbone, lr_mlp=2e-3, **kw)
    frames = [data[i] for i in (1, 3, 5, 8)]
    before = held_out_loss(system, frames)
    short_run(system, data, 80)
    after = held_out_loss(system, frames)
    assert after < 0.8 * before, (before, after)


def test_a_random_background_goes_under_the_head_pixels_only(data, monkeypatch):
    """head_background 'random': the rays whose pixel is head in the parsing composite over a
    colour drawn from the step's generator (the same for both frames of a velocity pair),
    every other ray over its frame's background; 'frame' is the originals' (untouched)."""
    vel = functools.partial(velocity_loss, weight=10.0, squared=True)
    render = Recorder(frames_module.render_training)
    monkeypatch.setattr(frames_module, "render_training", render)
    for velocity in (None, vel):
        seen = {}
        for mode in ("frame", "random"):
            system = make_system(data, velocity=velocity, head_background=mode)
            render.calls.clear()
            if velocity is None:  # the plain step: record what the renderer is given
                calls = Recorder(system.renderer.render_rays)
                monkeypatch.setattr(system.renderer, "render_rays", calls)
                system.training_step(data[5], 0, 10, torch.Generator().manual_seed(1))
                seen[mode] = [args[2] for args, _ in calls.calls]
            else:
                system.training_step(data[5], 0, 10, torch.Generator().manual_seed(1))
                seen[mode] = [args[2] for args, _ in render.calls]  # their RayBatch
        if velocity is None:  # the step's rays come first from the generator, then colours
            rays = sample_random_rays(data[5], 256, torch.Generator().manual_seed(1))
            (f0,), (r0,) = seen["frame"], seen["random"]
            assert torch.equal(f0, rays.background)
            pairs = [(f0, r0, rays.masks.face)]
        else:
            (f0, f1), (r0, r1) = [[b.background for b in seen[m]] for m in ("frame", "random")]
            heads = [b.masks.face for b in seen["random"]]
            pairs = [(f0, r0, heads[0]), (f1, r1, heads[1])]
            both = heads[0] & heads[1]
            assert both.any() and torch.equal(r0[both], r1[both])  # one draw for the pair
        for f, r, head in pairs:
            assert head.any() and (~head).any()
            assert torch.equal(r[~head], f[~head])  # the frame's background off the head
            assert not torch.isclose(r[head], f[head]).all(-1).any()
            assert ((r >= 0) & (r <= 1)).all()
    with pytest.raises(OptionError, match="head_background must be one of"):
        make_system(data, head_background="noise")
    neural = NeuralRenderer(in_dim=67, scale=4, hidden=32, min_hidden=16)
    with pytest.raises(OptionError, match="unbind FramePlugins.neural_renderer"):
        make_system(data, head_background="random", neural_renderer=neural)


def test_a_random_body_background_goes_under_head_neck_and_torso(data, monkeypatch):
    """head_background 'random_body': the head's, neck's and torso's pixels over the step's
    random colours (the colours 'random' draws), the rest over the frame's background; refused
    in one line over the torso images, whose torso is the background."""
    seen = {}
    for mode in ("random", "random_body"):
        system = make_system(data, head_background=mode)
        calls = Recorder(system.renderer.render_rays)
        monkeypatch.setattr(system.renderer, "render_rays", calls)
        system.training_step(data[5], 0, 10, torch.Generator().manual_seed(1))
        seen[mode] = calls.calls[0][0][2]
    rays = sample_random_rays(data[5], 256, torch.Generator().manual_seed(1))
    head, torso = rays.masks.face, rays.masks.torso
    body = head | torso
    assert torso.any() and (~body).any()
    assert torch.equal(seen["random_body"][~body], rays.background[~body])
    assert torch.equal(seen["random_body"][head], seen["random"][head])  # the same draw
    assert not torch.isclose(seen["random_body"][torso], rays.background[torso]).all(-1).any()
    assert torch.equal(seen["random"][torso], rays.background[torso])  # 'random': head only
    folder = Path(data.root)
    over_torso = TalkingHeadFolder(folder, background="torso", progress=False)
    with pytest.raises(OptionError, match="bind 'bc'"):
        make_system(over_torso, head_background="random_body")


def test_the_gin_files_turn_each_plugin_on(data):
    files = ["configs/rad_nerf.gin", "configs/studio_quick.gin", "configs/velocity.gin",
             "configs/neural_renderer.gin"]  # fmt: skip
    parse_config_files(files, ["RADNeRF.ind_num = 4"])
    try:
        system = configured_system()
        assert gin.query_parameter("train.stages") == ("head",)
        zero = torch.zeros(2, 3)  # λ_v 10 x the squared per-pixel error 3 x 0.1²
        assert float(system.velocity(zero + 0.1, zero, zero, zero)) == pytest.approx(0.3)
    finally:
        gin.clear_config()
    assert isinstance(system.neural_renderer, NeuralRenderer)
    nr = system.neural_renderer
    assert (nr.in_dim, nr.scale, nr.composite, nr.upsample) == (68, 4, "full_res", "pixel_shuffle")
    assert (nr.hidden, nr.min_hidden, nr.depth, nr.support) == (128, 32, 2, 0)
    assert system.neural_low_res_weight == 1.0 and system.neural_jitter
    assert system.neural_frames == 2  # two whole frames a step
    # 'auto': the 2D module in bfloat16 at inference and in training where the CPU has the
    # instructions
    assert system.neural_dtype == (torch.bfloat16 if cpu_bf16_support() else None)
    assert system.neural_train_dtype == system.neural_dtype


@pytest.mark.slow
@pytest.mark.parametrize("lift", [[], ["NeuralRenderer.lift = 32", "NeuralRenderer.in_dim = 36"]])
def test_lokitalk_train_with_both_plugins_saves_and_reloads_the_neural_renderer(
    data, tmp_path, lift
):
    from lokitalk_plugins.commands.workspace import load_system, write_run
    from lokitalk_plugins.train.run import train_from_config

    files = ["configs/rad_nerf.gin", "configs/studio_quick.gin", "configs/velocity.gin",
             "configs/neural_renderer.gin"]  # fmt: skip
    short = ["head/Trainer.steps = 3", "Trainer.val_every = 3", "RADNeRF.grid_size = 32",
             "RADNeRF.ind_num = 16", "NeuralRenderer.hidden = 16", *lift]  # fmt: skip
    write_run(tmp_path, data.root, files, short, "aud.npy")
    out = train_from_config(files, short, data=data.root, workspace=tmp_path, progress=False)
    assert out["stages"]["head"]["final_loss"] is not None
    system, _, stage = load_system(tmp_path)
    assert stage == "head" and isinstance(system.neural_renderer, NeuralRenderer)
    saved = torch.load(tmp_path / "checkpoints" / "latest.pt", weights_only=False)["model"]
    assert any(k.startswith("neural_renderer.") for k in saved)
    assert ("neural_renderer.lift.weight" in saved) == bool(lift)
    assert system.neural_renderer.lift_dim == (32 if lift else 0)
    frame = system.render_frame(data[0])
    assert frame["rgb"].shape == (32, 32, 3)
    # render-only settings after the run's own: the 2D module in bfloat16 at inference
    bf16 = "FramePlugins.neural_precision = 'auto'"
    again, _, _ = load_system(tmp_path, [bf16])
    assert again.neural_dtype == (None if cpu_bf16_support() is None else torch.bfloat16)
    assert torch.equal(again.neural_renderer.stem.weight, system.neural_renderer.stem.weight)
    with pytest.raises(CheckpointError, match=r"change the trained weights.*how it renders"):
        load_system(tmp_path, ["NeuralRenderer.hidden = 32"])
    assert main(["eval", "--workspace", str(tmp_path), "--max-frames", "2", "--quiet",
                 "--bind", bf16, "--out", str(tmp_path / "bf16.json")]) == 0  # fmt: skip
    assert json.loads((tmp_path / "bf16.json").read_text())["render_bindings"] == [bf16]
