"""bf16 autocast on the CPU: detection, the one-line refusal, and a training run that keeps
float32 weights, optimiser state and compositing."""

import pytest
import torch

from lokitalk_plugins.baselines.er_nerf.network import ERNeRF
from lokitalk_plugins.data import TalkingHeadFolder
from lokitalk_plugins.data.studio import write_identity
from lokitalk_plugins.errors import UserError
from lokitalk_plugins.pipeline import TalkingHeadSystem
from lokitalk_plugins.render import composite
from lokitalk_plugins.train.optim import build_optimizer
from lokitalk_plugins.train.runtime import (
    CPU_AUTO_AMP,
    CPU_AUTO_AMP_FROM,
    Precision,
    cpu_bf16_support,
    cpu_model,
    default_amp_from,
    torch_threads,
)

CPU = torch.device("cpu")


@pytest.fixture
def cpuinfo(tmp_path, monkeypatch):
    """A /proc/cpuinfo stand-in with the given flags; PyTorch's capability says AVX2."""
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")

    def make(*flags):
        path = tmp_path / f"cpuinfo_{len(flags)}"
        path.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 " + " ".join(flags) + "\n")
        return path

    return make


def test_torch_threads_sets_the_count_for_the_block_and_restores_it():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch_threads(2) as used:
            assert used == torch.get_num_threads() == 2
        assert torch.get_num_threads() == 1
        with torch_threads(None) as used:  # the process's count
            assert used == 1
        with pytest.raises(RuntimeError, match="inside"), torch_threads(2):
            raise RuntimeError("inside")
        assert torch.get_num_threads() == 1  # restored after an error too
    finally:
        torch.set_num_threads(before)


def test_cpu_model_reads_the_model_name(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nvendor_id\t: X\nmodel name\t: Some CPU @ 2.0GHz\n"
                    "processor\t: 1\nmodel name\t: Some CPU @ 2.0GHz\n")  # fmt: skip
    assert cpu_model(info) == "Some CPU @ 2.0GHz"
    import platform

    fallback = platform.processor() or platform.machine()
    assert cpu_model(tmp_path / "missing") == fallback  # no cpuinfo: the platform's word
    info.write_text("processor\t: 0\nflags\t: fpu\n")
    assert cpu_model(info) == fallback


def test_detection_reads_the_cpu_flags(cpuinfo):
    assert cpu_bf16_support(cpuinfo("avx512_bf16", "amx_bf16")) == "amx_bf16"
    assert cpu_bf16_support(cpuinfo("avx512_bf16")) == "avx512_bf16"
    assert cpu_bf16_support(cpuinfo()) is None


def test_bf16_on_a_cpu_without_the_instructions_is_refused_in_one_line(cpuinfo):
    bare = cpuinfo()
    with pytest.raises(UserError) as err:
        Precision("bf16", CPU, cpuinfo=bare)
    msg = str(err.value)
    assert "\n" not in msg and "Trainer.amp" in msg and "amp = 'off'" in msg
    assert Precision("fp16", CPU, cpuinfo=bare).dtype is None  # fp16 stays CUDA-only


def test_auto_and_off_on_the_cpu(cpuinfo):
    flagged = cpuinfo("avx512_bf16")
    assert Precision("off", CPU, cpuinfo=flagged).name == "fp32"
    auto = Precision("auto", CPU, cpuinfo=flagged)
    assert CPU_AUTO_AMP == "bf16" and CPU_AUTO_AMP_FROM == 0.25  # issue 18's measured schedule
    assert auto.name == "bf16" and auto.default_from == 0.25
    explicit = Precision("bf16", CPU, cpuinfo=flagged)
    assert explicit.name == "bf16" and explicit.default_from == 0.0  # every step, as asked
    without = Precision("auto", CPU, cpuinfo=cpuinfo())
    assert without.name == "fp32" and without.default_from == 0.0
    assert default_amp_from("auto", CPU, flagged) == 0.25
    assert default_amp_from(True, CPU, flagged) == 0.25
    assert default_amp_from("off", CPU, flagged) == default_amp_from("fp16", CPU, flagged) == 0.0


def test_compositing_stays_float32_under_autocast():
    g = torch.Generator().manual_seed(0)
    sig = torch.rand(12, generator=g).bfloat16()
    rays = torch.arange(3).repeat_interleave(4)
    ts = torch.linspace(0, 1, 12)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        c = composite(sig, torch.full((12,), 0.1), ts, rays, 3,
                      {"color": torch.rand(12, 3, generator=g).bfloat16()})  # fmt: skip
    assert c.weights.dtype == c.weights_sum.dtype == c.sums["color"].dtype == torch.float32
    ref = composite(sig.float(), torch.full((12,), 0.1), ts, rays, 3)
    torch.testing.assert_close(c.weights, ref.weights)


def test_er_nerf_head_bf16_forward_agrees_with_float32():
    """Tolerance: bfloat16 keeps 8 significant bits (relative 2^-8 per rounding); through
    three layers and exp, sigma within 5% + 1e-3 and colour within 0.02."""
    torch.manual_seed(0)
    m = ERNeRF(audio_in_dim=16, ind_num=2, grid_size=16)
    with torch.no_grad():
        for n, p in m.named_parameters():
            if n.endswith("embeddings"):
                p.normal_(0, 0.5)
    x, d = torch.rand(2000, 3) * 2 - 1, torch.nn.functional.normalize(torch.randn(2000, 3), dim=-1)
    enc_a, eye = m.encode_audio(torch.randn(1, 8, 16, 16)), torch.rand(1, 1)
    code = m.individual_code(0)
    with torch.no_grad():
        ref = m(x, d, enc_a, eye, code)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = m(x, d, enc_a, eye, code)
            assert m.sigma_net(torch.randn(4, m.sigma_net.dim_in)).dtype == torch.bfloat16
    torch.testing.assert_close(out["sigma"].float(), ref["sigma"], rtol=0.05, atol=1e-3)
    torch.testing.assert_close(out["color"].float(), ref["color"], rtol=0, atol=0.02)


def test_bf16_training_lowers_the_loss_and_keeps_float32_state(tmp_path, cpuinfo):
    folder = write_identity(tmp_path / "id", seconds=1.0, size=32)
    data = TalkingHeadFolder(folder, background="bc", preload=True, progress=False)
    torch.manual_seed(0)
    system = TalkingHeadSystem(ERNeRF(audio_in_dim=32, ind_num=len(data), grid_size=32),
                               num_rays=512)  # fmt: skip
    system.prepare(data)
    system.set_stage("head")
    opt = build_optimizer(system.parameter_groups(), "adam", lr={"grid": 1e-2, "mlp": 1e-3})
    precision = Precision("bf16", CPU, cpuinfo=cpuinfo("amx_bf16"))
    frame, gen = data[0], torch.Generator().manual_seed(0)
    losses = []
    for step in range(40):
        with precision.autocast():
            out = system.training_step(frame, step, 40, gen)
        opt.zero_grad(set_to_none=True)
        precision.backward_and_step(out.loss, opt)
        losses.append(float(out.loss.detach()))
    assert out.loss.dtype == torch.float32
    assert sum(losses[-5:]) < 0.7 * sum(losses[:5])
    assert all(p.dtype == torch.float32 for p in system.parameters())
    state = [t for s in opt.state.values() for t in s.values() if t.is_floating_point()]
    assert state and all(t.dtype == torch.float32 for t in state if t.dim() > 0)


def test_amp_from_and_until_choose_the_steps_under_autocast(tmp_path, monkeypatch):
    """Trainer.amp_until = 0.75 of 8 steps: steps 0-5 under bf16 autocast, 6-7 in float32;
    amp_from = 0.25: steps 0-1 in float32, then autocast (precision schedules); both shares
    are in the summary and the checkpoint's settings; a share outside [0, 1], or amp_from after
    amp_until, is refused in one line naming the option."""
    from toy_system import ToyDataset, ToySystem

    from lokitalk_plugins.train import runtime
    from lokitalk_plugins.train.checkpoint import LATEST, load_checkpoint
    from lokitalk_plugins.train.trainer import Trainer
    from lokitalk_plugins.train.trainer_config import TrainerConfig

    monkeypatch.setattr(runtime, "cpu_bf16_support", lambda cpuinfo=None: "amx_bf16")
    seen = []

    class Probe(ToySystem):
        def training_step(self, frame, step, total_steps, generator):
            seen.append((step, torch.is_autocast_enabled("cpu")))
            return super().training_step(frame, step, total_steps, generator)

    for shares, on in (({"amp_until": 0.75}, range(0, 6)), ({"amp_from": 0.25}, range(2, 8))):
        seen.clear()
        torch.manual_seed(0)
        ws = tmp_path / str(len(shares) + on.start)
        trainer = Trainer(Probe(), ToyDataset(), ws, 8, amp="bf16", progress=False,
                          val_every=None, ckpt_every=None, **shares)  # fmt: skip
        summary = trainer.run()
        assert seen == [(s, s in on) for s in range(8)]
        want = {"amp_from": 0.0, "amp_until": 1.0, **shares}
        assert summary["precision"] == "bf16"
        assert {k: summary[k] for k in want} == want
        settings = load_checkpoint(ws / "checkpoints" / LATEST)["settings"]
        assert {k: settings[k] for k in want} == want
    default = TrainerConfig(steps=3)  # amp_from: the precision's own; every step to the end
    assert (default.amp_from, default.amp_until) == (None, 1.0)
    # not given: "auto" on a CPU with the instructions trains its first quarter in float32,
    # an explicit "bf16" every step, "auto" without the instructions float32 throughout
    for amp, flags, on, start in (("auto", "amx_bf16", range(2, 8), 0.25),
                                  ("bf16", "amx_bf16", range(0, 8), 0.0),
                                  ("auto", None, range(0), 0.0)):  # fmt: skip
        monkeypatch.setattr(runtime, "cpu_bf16_support", lambda cpuinfo=None, f=flags: f)
        seen.clear()
        ws = tmp_path / f"default_{amp}_{flags}"
        summary = Trainer(Probe(), ToyDataset(), ws, 8, amp=amp, progress=False, val_every=None,
                          ckpt_every=None).run()  # fmt: skip
        assert seen == [(s, s in on) for s in range(8)], (amp, flags)
        assert summary["amp_from"] == start
        assert summary["precision"] == ("bf16" if flags else "fp32")
    monkeypatch.setattr(runtime, "cpu_bf16_support", lambda cpuinfo=None: "amx_bf16")
    short = Trainer(Probe(), ToyDataset(), tmp_path / "short", 8, amp="auto", amp_until=0.125,
                    progress=False, val_every=None, ckpt_every=None)  # fmt: skip
    assert (short.amp_from, short.amp_until) == (0.125, 0.125)  # not after amp_until
    for name in ("amp_from", "amp_until"):
        for bad in (1.5, -0.1, True, "half"):
            with pytest.raises(UserError, match=rf"Trainer.{name} must be a share .* in \[0, 1\]"):
                TrainerConfig(steps=3, **{name: bad})
    with pytest.raises(UserError, match=r"Trainer.amp_from \(0.8\) is after Trainer.amp_until"):
        TrainerConfig(steps=3, amp_from=0.8, amp_until=0.5)


def test_the_bf16_config_sets_the_measured_schedule():
    """configs/bf16.gin: bf16 autocast with the first quarter of each stage in float32."""
    import gin

    import lokitalk_plugins.registration  # noqa: F401  (the gin names)
    from lokitalk_plugins.train import parse_config_files
    from lokitalk_plugins.train.trainer_config import TrainerConfig

    parse_config_files(["configs/er_nerf.gin", "configs/studio_quick.gin", "configs/bf16.gin"])
    try:
        with gin.config_scope("head"):
            config = gin.get_configurable("Trainer")()
    finally:
        gin.clear_config()
    assert isinstance(config, TrainerConfig)
    assert (config.amp, config.amp_from, config.amp_until) == ("bf16", 0.25, 1.0)
